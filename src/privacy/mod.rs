//! Privacy gate: k-anonymity level search for microdata, primary and secondary cell suppression for tables.
//!
//! Pure computation, no I/O: the extract and aggregate modules feed it histograms and tables,
//! `verify` feeds it tables read back from disk.

mod audit;
mod cells;
mod grid;
mod kanon;

pub use audit::{AuditFinding, Problem, audit, audit_linked, check_primary};
pub use cells::{Published, PublishedCell, TOTAL, Table, suppress_tables};
pub use kanon::{Choice, Dimension, Release, choose_levels, released_classes};
