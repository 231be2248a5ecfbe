//! Privacy gate: k-anonymity level search for microdata, primary and secondary cell suppression for tables.
//!
//! Pure computation, no I/O: the extract and aggregate modules feed it histograms and tables,
//! `verify` feeds it tables read back from disk.

mod kanon;

pub use kanon::{Choice, Dimension, Release, choose_levels, released_classes};
