//! One pass over a CSV file: counts its rows, looks for identifiers, and checks k-anonymity
//! of an extract or reads a table's cells back for the table checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::identifiers::suspect;
use super::{Failures, Plan};
use crate::outputs::export::MANIFEST;
use crate::privacy::{Published, PublishedCell};

pub(super) enum Scanned {
    Microdata,
    Table(Published),
    Unplanned,
}

pub(super) struct Scan {
    pub(super) rows: u64,
    pub(super) kind: Scanned,
}

/// Reads a CSV once: counts rows, looks for identifiers, and checks k-anonymity or collects
/// the table. `None` when the file is not well-formed CSV with its columns.
pub(super) fn scan_csv(
    dir: &Path,
    name: &str,
    plan: Option<Plan>,
    out: &mut Failures,
) -> Option<Scan> {
    let Ok(file) = fs::File::open(dir.join(name)) else {
        out.push(format!("{name}: cannot be read"));
        return None;
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            out.push(format!("{name}: {}", csv_problem(&e)));
            return None;
        }
    };
    let mut acc = Acc::new(plan.as_ref(), &header, name, out)?;
    let pseudonym_cols: Vec<bool> = header
        .iter()
        .map(|h| match &plan {
            Some(Plan::Microdata { pseudonyms, .. }) => pseudonyms.contains(h),
            _ => false,
        })
        .collect();
    let mut issues = RowIssues::default();
    let mut rows = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                issues.report(name, out);
                out.push(format!("{name} row {}: {}", rows + 1, csv_problem(&e)));
                return None;
            }
        }
        rows += 1;
        for (i, value) in record.iter().enumerate() {
            if let Some(s) = suspect(value, pseudonym_cols[i]) {
                issues.add(
                    format!("in column {}: values {}", header[i], s.describe()),
                    rows,
                );
            }
        }
        acc.add(&record, rows, &mut issues);
    }
    issues.report(name, out);
    let kind = acc.finish(name, plan, out);
    Some(Scan { rows, kind })
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8".to_owned(),
        csv::ErrorKind::Io(e) => format!("cannot be read ({})", e.kind()),
        _ => "is not well-formed CSV".to_owned(),
    }
}

/// Per-row problems of one file, reported once each with how many rows and the first row.
#[derive(Default)]
struct RowIssues(BTreeMap<String, (u64, u64)>);

impl RowIssues {
    fn add(&mut self, what: String, row: u64) {
        self.0.entry(what).or_insert((0, row)).0 += 1;
    }

    fn report(self, file: &str, out: &mut Failures) {
        for (what, (n, first)) in self.0 {
            let rows = if n == 1 { "row" } else { "rows" };
            out.push(format!("{file}: {n} {rows} {what} (first: row {first})"));
        }
    }
}

/// What a CSV pass accumulates.
enum Acc {
    Unplanned,
    Microdata {
        k: u64,
        qi: Vec<usize>,
        classes: HashMap<String, u64>,
        key: String,
    },
    Table {
        k: u64,
        dims: Vec<usize>,
        count: usize,
        suppressed: usize,
        cells: Vec<PublishedCell>,
        keys: HashSet<Vec<String>>,
    },
}

impl Acc {
    /// Finds the columns the plan names; `None`, with a failure line for each missing one,
    /// when any is missing.
    fn new(plan: Option<&Plan>, header: &[String], name: &str, out: &mut Failures) -> Option<Acc> {
        let column = |col: &str, out: &mut Failures| {
            let found = header.iter().position(|h| h == col);
            if found.is_none() {
                out.push(format!(
                    "{name}: column {col} named in {MANIFEST} is missing"
                ));
            }
            found
        };
        let columns = |cols: &[String], out: &mut Failures| -> Option<Vec<usize>> {
            let found: Vec<Option<usize>> = cols.iter().map(|c| column(c, out)).collect();
            found.into_iter().collect()
        };
        Some(match plan {
            None => Acc::Unplanned,
            Some(Plan::Microdata {
                k,
                quasi_identifiers,
                ..
            }) => Acc::Microdata {
                k: *k,
                qi: columns(quasi_identifiers, out)?,
                classes: HashMap::new(),
                key: String::new(),
            },
            Some(Plan::Table { k, dims, .. }) => {
                let dim_cols = columns(dims, out);
                let count = column("count", out);
                let suppressed = column("suppressed", out);
                Acc::Table {
                    k: *k,
                    dims: dim_cols?,
                    count: count?,
                    suppressed: suppressed?,
                    cells: Vec::new(),
                    keys: HashSet::new(),
                }
            }
        })
    }

    fn add(&mut self, record: &csv::StringRecord, row: u64, issues: &mut RowIssues) {
        let field = |i: usize| record.get(i).unwrap_or("");
        match self {
            Acc::Unplanned => {}
            Acc::Microdata {
                qi, classes, key, ..
            } => {
                // Length-prefixed values, so no two classes share a key whatever the fields
                // hold; the buffer is reused so a row of a known class allocates nothing.
                key.clear();
                for &i in qi.iter() {
                    let value = field(i);
                    let _ = write!(key, "{}:{value}", value.len());
                }
                match classes.get_mut(key.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        classes.insert(key.clone(), 1);
                    }
                }
            }
            Acc::Table {
                k,
                dims,
                count,
                suppressed,
                cells,
                keys,
            } => {
                let key: Vec<String> = dims.iter().map(|&i| field(i).to_owned()).collect();
                let count = match (field(*suppressed), field(*count)) {
                    ("true", "") => None,
                    ("true", _) => {
                        issues.add("are suppressed but show a count".to_owned(), row);
                        return;
                    }
                    ("false", text) => match text.parse::<u64>() {
                        Ok(n) => Some(n),
                        Err(_) => {
                            issues.add("have a count that is not a whole number".to_owned(), row);
                            return;
                        }
                    },
                    _ => {
                        issues.add("have `suppressed` other than true/false".to_owned(), row);
                        return;
                    }
                };
                if count.is_some_and(|n| (1..*k).contains(&n)) {
                    issues.add(format!("publish a count between 1 and k-1={}", *k - 1), row);
                }
                if !keys.insert(key.clone()) {
                    issues.add("repeat a cell".to_owned(), row);
                    return;
                }
                cells.push(PublishedCell {
                    key,
                    count,
                    primary: false,
                    secondary: count.is_none(),
                });
            }
        }
    }

    /// The extract's classes smaller than k, or the table read back for the table checks.
    fn finish(self, name: &str, plan: Option<Plan>, out: &mut Failures) -> Scanned {
        match self {
            Acc::Unplanned => Scanned::Unplanned,
            Acc::Microdata { k, classes, .. } => {
                let small: Vec<u64> = classes.values().copied().filter(|&n| n < k).collect();
                if let Some(smallest) = small.iter().min() {
                    out.push(format!(
                        "{name}: {} combination(s) of the quasi-identifiers occur in fewer than \
                         k={k} rows (smallest: {smallest})",
                        small.len()
                    ));
                }
                Scanned::Microdata
            }
            Acc::Table { cells, .. } => {
                let (dims, population) = match plan {
                    Some(Plan::Table {
                        dims, population, ..
                    }) => (dims.to_vec(), population.to_owned()),
                    _ => (Vec::new(), String::new()),
                };
                // The file does not say why a cell is suppressed; the audit does not need to
                // know.
                let suppressed = cells.iter().filter(|c| c.count.is_none()).count();
                Scanned::Table(Published {
                    name: name.to_owned(),
                    population,
                    dims,
                    cells,
                    primary: 0,
                    by_rule: Default::default(),
                    secondary: suppressed,
                })
            }
        }
    }
}
