//! The tables the privacy gate works on: a table of counts to publish, the same table as
//! published (margins included, some cells suppressed), and what can be wrong with a published
//! cell. Suppression produces these, the audit checks them.

use std::collections::BTreeMap;

/// The label of a dimension summed over.
pub(crate) const TOTAL: &str = "TOTAL";

/// A table to publish: counts of `population`, by one label per dimension.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Table {
    pub name: String,
    /// What is counted. Tables of one population share their common margins.
    pub population: String,
    pub dims: Vec<String>,
    /// Interior cells only; combinations not listed are zero.
    pub cells: BTreeMap<Vec<String>, u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PublishedCell {
    /// One label per dimension, TOTAL in the dimensions summed over.
    pub key: Vec<String>,
    /// None: suppressed.
    pub count: Option<u64>,
    pub primary: bool,
    pub secondary: bool,
}

/// A table as published: every combination of labels and every margin, in key order (TOTAL
/// after the labels of its dimension).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Published {
    pub name: String,
    pub population: String,
    pub dims: Vec<String>,
    pub cells: Vec<PublishedCell>,
    pub primary: usize,
    pub secondary: usize,
}

/// One problem found in a published cell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Problem {
    /// A suppressed cell whose feasible range holds a single integer.
    Pinned { min: f64, max: f64 },
    /// Published counts that do not add up, or admit no values at all for the suppressed cells.
    Inconsistent(String),
    /// The table cannot be read as a table: wrong key length, a duplicate or missing cell.
    Malformed(String),
    /// The solver could not bound this cell, so it cannot be shown safe.
    Unverified(String),
}
