//! Which columns a file may have, judged by its kind (an extract or a table), never by the
//! lists its manifest gives: a manifest that calls nothing a quasi-identifier does not make a
//! raw name column acceptable.

use std::collections::{HashMap, HashSet};

use super::{Failures, Plan};
use crate::outputs::aggregate::dp::MARGIN;
use crate::outputs::aggregate::{is_dimension, name_columns};
use crate::outputs::export::MANIFEST;
use crate::transform::generalize::Quasi;
use crate::transform::record::PSEUDONYM_COLUMNS;

const COUNT: &str = "count";
const STATUS: &str = "status";

/// The columns of one file, by what the scan does with them.
pub(super) enum Columns {
    /// No privacy facts: rows are only counted and searched for identifiers.
    Unplanned,
    Microdata {
        /// Per column: holds pseudonyms.
        pseudonym: Vec<bool>,
        quasi: Vec<usize>,
    },
    Table {
        /// In the order of the manifest's dims.
        dims: Vec<usize>,
        /// Per dim, its name columns.
        names: Vec<Vec<usize>>,
        count: usize,
        status: usize,
        /// A differentially private table's margins of error.
        margin: Option<usize>,
    },
}

impl Columns {
    /// Sorts the header's columns out, with a failure line for each column the file's kind
    /// does not have and each it lacks; `None` when there is any.
    pub(super) fn judge(
        plan: Option<&Plan>,
        header: &[String],
        name: &str,
        out: &mut Failures,
    ) -> Option<Columns> {
        let failures_before = out.total;
        let mut position = HashMap::new();
        for (i, column) in header.iter().enumerate() {
            if position.insert(column.as_str(), i).is_some() {
                out.push(format!("{name}: column {column} appears twice"));
            }
        }
        let columns = match plan {
            None => Columns::Unplanned,
            Some(Plan::Microdata { .. }) => extract_columns(header, name, out),
            Some(Plan::Table { dims, dp, .. }) => {
                table_columns(dims, *dp, header, &position, name, out)?
            }
        };
        (out.total == failures_before).then_some(columns)
    }

    pub(super) fn is_pseudonym(&self, column: usize) -> bool {
        match self {
            Columns::Microdata { pseudonym, .. } => pseudonym[column],
            Columns::Unplanned | Columns::Table { .. } => false,
        }
    }
}

/// A research extract has pseudonym and quasi-identifier columns, nothing else; the English
/// names of a quasi-identifier's codes count as a quasi-identifier of their own.
fn extract_columns(header: &[String], name: &str, out: &mut Failures) -> Columns {
    let mut pseudonym = vec![false; header.len()];
    let mut quasi = Vec::new();
    for (i, column) in header.iter().enumerate() {
        if PSEUDONYM_COLUMNS.iter().any(|(p, ..)| p == column) {
            pseudonym[i] = true;
        } else if Quasi::ALL
            .iter()
            .any(|q| q.name() == column || q.name_column() == Some(column))
        {
            quasi.push(i);
        } else {
            out.push(format!(
                "{name}: column {column} is not one a research extract has"
            ));
        }
    }
    Columns::Microdata { pseudonym, quasi }
}

/// A table has the dimensions its manifest names, each one certanon publishes, with their name
/// columns, then `count` and `status`, and for a differentially private one its margin of error.
fn table_columns(
    dims: &[String],
    dp: bool,
    header: &[String],
    position: &HashMap<&str, usize>,
    name: &str,
    out: &mut Failures,
) -> Option<Columns> {
    let named: HashSet<&str> = dims
        .iter()
        .flat_map(|d| std::iter::once(d.as_str()).chain(name_columns(d).iter().copied()))
        .collect();
    for column in header {
        let column = column.as_str();
        if column == COUNT || column == STATUS || (dp && column == MARGIN) || named.contains(column)
        {
            continue;
        }
        if is_dimension(column) {
            out.push(format!(
                "{name}: column {column} is not among the dims {MANIFEST} lists"
            ));
        } else {
            out.push(format!(
                "{name}: column {column} is not one a statistics table has"
            ));
        }
    }
    for dim in dims.iter().filter(|d| !is_dimension(d)) {
        out.push(format!(
            "{name}: {MANIFEST} lists dim {dim}, which is not one a statistics table has"
        ));
    }
    let mut column = |col: &str| {
        let found = position.get(col).copied();
        if found.is_none() {
            out.push(format!(
                "{name}: column {col} named in {MANIFEST} is missing"
            ));
        }
        found
    };
    let codes: Vec<Option<usize>> = dims.iter().map(|d| column(d)).collect();
    let names: Vec<Option<Vec<usize>>> = dims
        .iter()
        .map(|d| name_columns(d).iter().map(|&c| column(c)).collect())
        .collect();
    let count = column(COUNT);
    let status = column(STATUS);
    let margin = dp.then(|| column(MARGIN));
    Some(Columns::Table {
        dims: codes.into_iter().collect::<Option<_>>()?,
        names: names.into_iter().collect::<Option<_>>()?,
        count: count?,
        status: status?,
        margin: margin.map(|m| m.ok_or(())).transpose().ok()?,
    })
}
