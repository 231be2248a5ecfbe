//! Privacy gate: k-anonymity level search for microdata, primary and secondary cell suppression for tables.
//!
//! Pure computation, no I/O: the extract and aggregate modules feed it histograms and tables,
//! `verify` feeds it tables read back from disk.

mod audit;
mod cells;
mod disclosure;
pub(crate) mod dp;
mod grid;
mod kanon;
mod subjects;
mod table;

pub(crate) use audit::audit_linked;
pub(crate) use cells::suppress_tables;
pub(crate) use kanon::{Choice, Dimension, Release, Tally, choose_levels, released_classes};
pub(crate) use subjects::{Profiles, SubjectFigures};
pub(crate) use table::{Contributors, Problem, Published, PublishedCell, Rules, TOTAL, Table};
