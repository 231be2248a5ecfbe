//! One pass over a CSV file: counts its rows, looks for identifiers, and checks k-anonymity
//! of an extract or reads a table's cells back for the table checks.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use super::columns::Columns;
use super::identifiers::suspect;
use super::{Failures, Part, Plan};
use crate::outputs::aggregate::{PRIMARY, PUBLISHED, SECONDARY, names};
use crate::outputs::export::MANIFEST;
use crate::privacy::{Profiles, Published, PublishedCell, SubjectFigures, TOTAL};

pub(super) enum Scanned {
    Microdata,
    Table(Published),
    Unplanned,
}

pub(super) struct Scan {
    pub(super) header: Vec<String>,
    pub(super) rows: u64,
    pub(super) kind: Scanned,
}

/// The longest record (a row, or the header) read, in bytes: the csv crate grows its buffer to
/// whatever one record holds, so a file of one endless field would otherwise be read whole
/// into memory.
pub(super) const MAX_RECORD: u64 = 1 << 20;

/// The csv reader's own buffer, which it fills ahead of the record it parses.
pub(super) const READ_AHEAD: u64 = 64 << 10;

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
    let (mut reader, allowance) = Bounded::reader(file);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            out.push(format!("{name}: {}", csv_problem(&e)));
            return None;
        }
    };
    let columns = Columns::judge(plan.as_ref(), &header, name, out)?;
    let mut acc = Acc::new(plan.as_ref(), &columns, &header);
    let mut issues = RowIssues::default();
    let mut rows = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        allowance.set(reader.position().byte() + MAX_RECORD + READ_AHEAD);
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
            if let Some(s) = suspect(value, columns.is_pseudonym(i)) {
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
    Some(Scan { header, rows, kind })
}

/// The file, failing a read once it runs past `allowance` bytes from its start.
pub(super) struct Bounded {
    file: fs::File,
    read: u64,
    allowance: Rc<Cell<u64>>,
}

impl Bounded {
    /// A CSV reader of `file` (header row first) and its allowance, which the caller moves to
    /// `reader.position().byte() + MAX_RECORD + READ_AHEAD` before each record it reads.
    pub(super) fn reader(file: fs::File) -> (csv::Reader<Bounded>, Rc<Cell<u64>>) {
        let allowance = Rc::new(Cell::new(MAX_RECORD + READ_AHEAD));
        let reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .buffer_capacity(READ_AHEAD as usize)
            .from_reader(Bounded {
                file,
                read: 0,
                allowance: Rc::clone(&allowance),
            });
        (reader, allowance)
    }
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.allowance.get().saturating_sub(self.read);
        if left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "record too long",
            ));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The per-certificate pseudonym column: it never repeats, so it links no rows.
const CERTIFICATE_COLUMN: &str = "certificate";

/// Subjects rebuilt from the file alone: rows sharing a value in any pseudonym column (judged
/// by its name, not by the manifest) other than the certificate's are one subject (see
/// `Profiles`).
struct Subjects {
    links: Vec<usize>,
    /// Each distinct pseudonym value, numbered: values are compared whole, so a crafted file
    /// cannot merge two subjects through a hash collision.
    values: HashMap<String, u64>,
    profiles: Profiles,
}

impl Subjects {
    fn add(&mut self, record: &csv::StringRecord, class: u32) {
        let mut links = Vec::with_capacity(self.links.len());
        for &i in &self.links {
            // Empty and erased fields are no value, so they link nothing.
            let value = record.get(i).unwrap_or("");
            if value.is_empty() || value == "erased" {
                continue;
            }
            let next = self.values.len() as u64;
            let id = match self.values.get(value) {
                Some(&id) => id,
                None => *self.values.entry(value.to_owned()).or_insert(next),
            };
            links.push(id);
        }
        self.profiles.add(class, links);
    }

    /// A release that enforced `privacy.subject_k` promises every subject of the file a profile
    /// that many subjects share.
    fn check_subject_k(&mut self, name: &str, subject_k: u64, out: &mut Failures) {
        let figures = self.profiles.figures(subject_k);
        rare_profiles(name, "subject_k", subject_k, &figures, out);
    }

    fn check(&mut self, name: &str, k: u64, anonymous: bool, reported: u64, out: &mut Failures) {
        let figures = self.profiles.figures(k);
        if anonymous {
            rare_profiles(name, "k", k, &figures, out);
        }
        if figures.below_k != reported {
            out.push(format!(
                "{name}: {MANIFEST} reports {reported} subject(s) with a profile fewer than k \
                 share, the file shows {}",
                figures.below_k
            ));
        }
    }
}

/// Fails the file when some subject's profile fewer than `what`=`k` subjects share.
fn rare_profiles(name: &str, what: &str, k: u64, figures: &SubjectFigures, out: &mut Failures) {
    if figures.below_k > 0 {
        out.push(format!(
            "{name}: {} subject(s), rebuilt through the pseudonym columns, have a profile fewer \
             than {what}={k} subjects share (smallest: {})",
            figures.below_k, figures.smallest_profile_class
        ));
    }
}

pub(super) fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8".to_owned(),
        csv::ErrorKind::Io(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            format!("a record is longer than {} MiB", MAX_RECORD >> 20)
        }
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
        /// Class key → (rows, class id).
        classes: HashMap<String, (u64, u32)>,
        key: String,
        subjects: Subjects,
    },
    Table {
        k: u64,
        part: Part,
        /// Per dim: its name, its code column and its name columns.
        dims: Vec<(String, usize, Vec<usize>)>,
        count: usize,
        status: usize,
        margin: Option<usize>,
        cells: Vec<PublishedCell>,
        keys: HashSet<Vec<String>>,
    },
}

impl Acc {
    fn new(plan: Option<&Plan>, columns: &Columns, header: &[String]) -> Acc {
        match (plan, columns) {
            (Some(Plan::Microdata { k, .. }), Columns::Microdata { quasi, .. }) => Acc::Microdata {
                k: *k,
                qi: quasi.clone(),
                classes: HashMap::new(),
                key: String::new(),
                subjects: Subjects {
                    links: (0..header.len())
                        .filter(|&i| columns.is_pseudonym(i) && header[i] != CERTIFICATE_COLUMN)
                        .collect(),
                    values: HashMap::new(),
                    profiles: Profiles::default(),
                },
            },
            (
                Some(Plan::Table {
                    k,
                    part,
                    dims: named,
                    ..
                }),
                Columns::Table {
                    dims,
                    names,
                    count,
                    status,
                    margin,
                },
            ) => Acc::Table {
                k: *k,
                part: *part,
                dims: named
                    .iter()
                    .cloned()
                    .zip(dims.iter().copied())
                    .zip(names.iter().cloned())
                    .map(|((name, code), names)| (name, code, names))
                    .collect(),
                count: *count,
                status: *status,
                margin: *margin,
                cells: Vec::new(),
                keys: HashSet::new(),
            },
            _ => Acc::Unplanned,
        }
    }

    fn add(&mut self, record: &csv::StringRecord, row: u64, issues: &mut RowIssues) {
        let field = |i: usize| record.get(i).unwrap_or("");
        match self {
            Acc::Unplanned => {}
            Acc::Microdata {
                qi,
                classes,
                key,
                subjects,
                ..
            } => {
                // Length-prefixed values, so no two classes share a key whatever the fields
                // hold; the buffer is reused so a row of a known class allocates nothing.
                key.clear();
                for &i in qi.iter() {
                    let value = field(i);
                    let _ = write!(key, "{}:{value}", value.len());
                }
                let class = match classes.get_mut(key.as_str()) {
                    Some((n, id)) => {
                        *n += 1;
                        *id
                    }
                    None => {
                        let id = classes.len() as u32;
                        classes.insert(key.clone(), (1, id));
                        id
                    }
                };
                subjects.add(record, class);
            }
            Acc::Table {
                k,
                part,
                dims,
                count,
                status,
                margin,
                cells,
                keys,
            } => {
                let key: Vec<String> = dims.iter().map(|(_, i, _)| field(*i).to_owned()).collect();
                if margin.is_some_and(|m| field(m).parse::<u64>().is_err()) {
                    issues.add(
                        "have a margin of error that is not a whole number".to_owned(),
                        row,
                    );
                }
                for ((dim, _, columns), code) in dims.iter().zip(&key) {
                    if columns.is_empty() {
                        continue;
                    }
                    match names(dim, code) {
                        None => issues.add(format!("have a {dim} code that is not published"), row),
                        Some(names)
                            if columns.iter().map(|&i| field(i)).ne(names.iter().copied()) =>
                        {
                            issues.add(format!("have {dim} names that do not match the code"), row)
                        }
                        Some(_) => {}
                    }
                }
                let totals = key.iter().filter(|l| *l == TOTAL).count();
                match part {
                    Part::Interior if totals > 0 => issues.add(
                        "hold a total, which belongs in the totals file".to_owned(),
                        row,
                    ),
                    Part::Totals if totals == 0 => issues.add(
                        "hold an interior cell, which belongs in the table's other file".to_owned(),
                        row,
                    ),
                    _ => {}
                }
                let (count, primary) = match (field(*status), field(*count)) {
                    (PRIMARY | SECONDARY, "") => (None, field(*status) == PRIMARY),
                    (PRIMARY | SECONDARY, _) => {
                        issues.add("are withheld but show a count".to_owned(), row);
                        return;
                    }
                    (PUBLISHED, text) => match text.parse::<u64>() {
                        Ok(n) => (Some(n), false),
                        Err(_) => {
                            issues.add("have a count that is not a whole number".to_owned(), row);
                            return;
                        }
                    },
                    _ => {
                        issues.add(
                            format!("have a `status` other than {PUBLISHED}/{PRIMARY}/{SECONDARY}"),
                            row,
                        );
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
                    primary,
                    secondary: count.is_none() && !primary,
                });
            }
        }
    }

    /// The extract's classes smaller than k, or the table read back for the table checks.
    fn finish(self, name: &str, plan: Option<Plan>, out: &mut Failures) -> Scanned {
        match self {
            Acc::Unplanned => Scanned::Unplanned,
            Acc::Microdata {
                k,
                classes,
                mut subjects,
                ..
            } => {
                let small: Vec<u64> = classes
                    .values()
                    .map(|&(n, _)| n)
                    .filter(|&n| n < k)
                    .collect();
                if let Some(smallest) = small.iter().min() {
                    out.push(format!(
                        "{name}: {} combination(s) of the quasi-identifiers occur in fewer than \
                         k={k} rows (smallest: {smallest})",
                        small.len()
                    ));
                }
                if let Some(Plan::Microdata {
                    anonymous,
                    profile_below_k,
                    subject_k,
                    ..
                }) = plan
                {
                    subjects.check(name, k, anonymous, profile_below_k, out);
                    if let Some(subject_k) = subject_k {
                        subjects.check_subject_k(name, subject_k, out);
                    }
                }
                Scanned::Microdata
            }
            Acc::Table { cells, .. } => {
                let (table, dims, population) = match plan {
                    Some(Plan::Table {
                        table,
                        dims,
                        population,
                        ..
                    }) => (table.to_owned(), dims.to_vec(), population.to_owned()),
                    _ => (name.to_owned(), Vec::new(), String::new()),
                };
                // The file says which cells are primary, not which rule hid them; the audit
                // needs neither.
                let primary = cells.iter().filter(|c| c.primary).count();
                let secondary = cells.iter().filter(|c| c.secondary).count();
                Scanned::Table(Published {
                    name: table,
                    population,
                    dims,
                    cells,
                    primary,
                    by_rule: Default::default(),
                    secondary,
                })
            }
        }
    }
}
