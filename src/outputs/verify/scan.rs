//! One pass over a CSV file: counts its rows, looks for identifiers, and checks k-anonymity
//! of an extract or reads a table's cells back for the table checks.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::hash::Hash;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::columns::Columns;
use super::fast;
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
    /// The file's SHA-256, when the scan hashed it whole as it read it.
    pub(super) sha256: Option<String>,
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
    let mut opened = Opened::new(dir, name, plan.as_ref(), out)?;
    match scan_fast(&mut opened, fast::BLOCK, name, plan.as_ref(), out) {
        Some((rows, sha256)) => Some(Scan {
            header: opened.header,
            rows,
            kind: Scanned::Microdata,
            sha256,
        }),
        None => {
            if let Some(Plan::Microdata { .. }) = plan {
                tracing::debug!(
                    file = name,
                    "an extract not as certanon writes it: read record by record"
                );
            }
            scan_records(opened, name, plan, out)
        }
    }
}

/// A CSV file with its header read and its columns judged.
struct Opened {
    path: PathBuf,
    reader: csv::Reader<Bounded>,
    allowance: Rc<Cell<u64>>,
    header: Vec<String>,
    columns: Columns,
}

impl Opened {
    fn new(dir: &Path, name: &str, plan: Option<&Plan>, out: &mut Failures) -> Option<Opened> {
        let path = dir.join(name);
        let Ok(file) = fs::File::open(&path) else {
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
        let columns = Columns::judge(plan, &header, name, out)?;
        Some(Opened {
            path,
            reader,
            allowance,
            header,
            columns,
        })
    }
}

/// An extract's rows through the fast scan, on every core, and its checks; the rows and the
/// file's SHA-256, or `None` when the file is not an extract or not one the fast scan takes
/// (see `fast`).
fn scan_fast(
    opened: &mut Opened,
    block: usize,
    name: &str,
    plan: Option<&Plan>,
    out: &mut Failures,
) -> Option<(u64, Option<String>)> {
    let (Some(&Plan::Microdata { k, .. }), Columns::Microdata { pseudonym, quasi }) =
        (plan, &opened.columns)
    else {
        return None;
    };
    let links = link_columns(&opened.header, &opened.columns);
    let layout = fast::Layout {
        header: &opened.header,
        pseudonym,
        quasi,
        links: &links,
    };
    let start = opened.reader.position().byte();
    let end = opened.reader.get_ref().file.metadata().ok()?.len();
    let mut found = fast::scan(&opened.path, start, end, &layout, block)?;
    found.issues.report(name, out);
    check_extract(name, k, found.class_rows, &mut found.profiles, plan, out);
    Some((found.rows, found.sha256))
}

/// The rows of any CSV file, one record at a time, and the checks of its kind.
fn scan_records(
    opened: Opened,
    name: &str,
    plan: Option<Plan>,
    out: &mut Failures,
) -> Option<Scan> {
    let Opened {
        mut reader,
        allowance,
        header,
        columns,
        ..
    } = opened;
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
            if let Some(what) = issue(&header[i], value, columns.is_pseudonym(i)) {
                issues.add(what, rows);
            }
        }
        acc.add(&record, rows, &mut issues);
    }
    issues.report(name, out);
    let kind = acc.finish(name, plan, out);
    Some(Scan {
        header,
        rows,
        kind,
        sha256: None,
    })
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

/// The pseudonym columns that link rows: every one, judged by its name, but the
/// certificate's.
fn link_columns(header: &[String], columns: &Columns) -> Vec<usize> {
    (0..header.len())
        .filter(|&i| columns.is_pseudonym(i) && header[i] != CERTIFICATE_COLUMN)
        .collect()
}

/// Subjects rebuilt from the file alone: rows sharing a value in any linking column are one
/// subject (see `Profiles`).
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
}

/// The checks of an extract on what a scan found: the rows of each class, and the subjects.
fn check_extract<L: Hash + Eq>(
    name: &str,
    k: u64,
    class_rows: impl IntoIterator<Item = u64>,
    profiles: &mut Profiles<L>,
    plan: Option<&Plan>,
    out: &mut Failures,
) {
    let small: Vec<u64> = class_rows.into_iter().filter(|&n| n < k).collect();
    if let Some(smallest) = small.iter().min() {
        out.push(format!(
            "{name}: {} combination(s) of the quasi-identifiers occur in fewer than \
             k={k} rows (smallest: {smallest})",
            small.len()
        ));
    }
    let Some(&Plan::Microdata {
        anonymous,
        profile_below_k,
        subject_k,
        ..
    }) = plan
    else {
        return;
    };
    let figures = profiles.figures(k);
    if anonymous {
        rare_profiles(name, "k", k, &figures, out);
    }
    if figures.below_k != profile_below_k {
        out.push(format!(
            "{name}: {MANIFEST} reports {profile_below_k} subject(s) with a profile fewer than k \
             share, the file shows {}",
            figures.below_k
        ));
    }
    // A release that enforced `privacy.subject_k` promises every subject of the file a
    // profile that many subjects share.
    if let Some(subject_k) = subject_k {
        let figures = profiles.figures(subject_k);
        rare_profiles(name, "subject_k", subject_k, &figures, out);
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

/// What `value` in column `column` looks like, if anything, as a per-row problem.
pub(super) fn issue(column: &str, value: &str, pseudonym_column: bool) -> Option<String> {
    suspect(value, pseudonym_column).map(|s| format!("in column {column}: values {}", s.describe()))
}

/// Per-row problems of one file, reported once each with how many rows and the first row.
#[derive(Default)]
pub(super) struct RowIssues(BTreeMap<String, (u64, u64)>);

impl RowIssues {
    pub(super) fn add(&mut self, what: String, row: u64) {
        self.0.entry(what).or_insert((0, row)).0 += 1;
    }

    /// Adds the problems of later rows, numbered from 1 after `before` rows.
    pub(super) fn merge(&mut self, later: RowIssues, before: u64) {
        for (what, (n, first)) in later.0 {
            self.0.entry(what).or_insert((0, before + first)).0 += n;
        }
    }

    pub(super) fn report(self, file: &str, out: &mut Failures) {
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
                    links: link_columns(header, columns),
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
                let class_rows = classes.values().map(|&(n, _)| n);
                check_extract(
                    name,
                    k,
                    class_rows,
                    &mut subjects.profiles,
                    plan.as_ref(),
                    out,
                );
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const HEADER: &str = "certificate,subscriber,subscriber_email,region,issued";

    fn pseudonym(key_id: &str, i: u32) -> String {
        let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
        let b32: String = (0..26u32)
            .map(|j| char::from(alphabet[((i >> (j % 5)) as usize + j as usize * 7) % 32]))
            .collect();
        format!("{key_id}_{b32}")
    }

    /// An extract file of `rows`: (subscriber, e-mail: 0 empty, 1 erased, else a value, region,
    /// month), the certificate pseudonym numbered by the row; the region of row `odd` looks
    /// like a phone number and its certificate is no pseudonym.
    fn extract(rows: &[(u32, u32, u8, u8)], odd: Option<usize>) -> String {
        let mut text = format!("{HEADER}\r\n");
        for (n, &(subscriber, email, region, month)) in rows.iter().enumerate() {
            let email = match email {
                0 => String::new(),
                1 => "erased".to_owned(),
                e => pseudonym("k1", 1_000_000 + e),
            };
            let (certificate, region) = match odd {
                Some(at) if at == n => ("c-1".to_owned(), "03-1234-5678".to_owned()),
                _ => (
                    pseudonym("k1", 2_000_000 + n as u32),
                    format!("{region:02}"),
                ),
            };
            text.push_str(&format!(
                "{certificate},{},{email},{region},2026-{month:02}\r\n",
                pseudonym("k1", subscriber),
            ));
        }
        text
    }

    /// Rows (`None` for a file refused as CSV) and failure lines.
    type Outcome = (Option<u64>, Vec<String>);

    /// The fast scan's outcome, `None` when it declines; and the record scan's.
    fn both_ways(text: &[u8], block: usize, plan: Plan) -> (Option<Outcome>, Outcome) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e.csv"), text).unwrap();
        let mut out = Failures::default();
        let mut opened = Opened::new(dir.path(), "e.csv", Some(&plan), &mut out).unwrap();
        let fast =
            scan_fast(&mut opened, block, "e.csv", Some(&plan), &mut out).map(|(rows, sha256)| {
                let whole = crate::outputs::export::sha256_file(&dir.path().join("e.csv"));
                assert_eq!(sha256, Some(whole.unwrap().0), "the file hashed whole");
                (Some(rows), std::mem::take(&mut out.lines))
            });
        let mut out = Failures::default();
        let opened = Opened::new(dir.path(), "e.csv", Some(&plan), &mut out).unwrap();
        let rows = scan_records(opened, "e.csv", Some(plan), &mut out).map(|s| s.rows);
        (fast, (rows, out.lines))
    }

    proptest! {
        /// On the files it takes, whatever their blocks, the fast scan finds what the record
        /// scan finds, failure lines included.
        #[test]
        fn fast_scan_agrees_with_the_record_scan(
            rows in proptest::collection::vec((0u32..12, 0u32..6, 1u8..4, 1u8..3), 0..80),
            block in 120usize..600,
            k in 1u64..4,
            anonymous: bool,
            profile_below_k in 0u64..5,
            subject_k in proptest::option::of(1u64..4),
            odd in proptest::option::of(0usize..80),
        ) {
            let plan = Plan::Microdata { k, anonymous, profile_below_k, subject_k };
            let (fast, records) = both_ways(extract(&rows, odd).as_bytes(), block, plan);
            prop_assert_eq!(fast, Some(records));
        }
    }

    #[test]
    fn the_fast_scan_declines_what_it_does_not_read_as_the_record_scan_does() {
        let good = extract(&[(1, 2, 1, 1), (1, 1, 2, 1), (3, 2, 1, 2)], None);
        let plan = Plan::Microdata {
            k: 2,
            anonymous: true,
            profile_below_k: 0,
            subject_k: None,
        };
        assert!(both_ways(good.as_bytes(), 4096, plan).0.is_some());
        let mut invalid_utf8 = good.clone().into_bytes();
        let at = invalid_utf8.len() - 3;
        invalid_utf8[at] = 0xff;
        let defects = [
            (
                "a quoted field",
                good.replacen(",01,", ",\"01\",", 1).into_bytes(),
            ),
            ("a bare LF", good.replacen("\r\n", "\n", 2).into_bytes()),
            ("a bare CR", good.replacen(",01,", ",0\r1,", 1).into_bytes()),
            (
                "an empty line",
                good.replacen("\r\n", "\r\n\r\n", 2).into_bytes(),
            ),
            ("no final line end", good.trim_end().as_bytes().to_vec()),
            (
                "a missing field",
                good.replacen(",01,", ",", 1).into_bytes(),
            ),
            (
                "a link that is not a pseudonym",
                good.replacen(",erased,", ",x,", 1).into_bytes(),
            ),
            (
                "a second key id",
                good.replacen(",k1_", ",k2_", 2).into_bytes(),
            ),
            ("invalid UTF-8", invalid_utf8),
        ];
        for (what, text) in defects {
            assert_ne!(text, good.as_bytes(), "{what}: the defect is made");
            assert!(both_ways(&text, 4096, plan).0.is_none(), "{what}");
        }
        assert!(
            both_ways(good.as_bytes(), 64, plan).0.is_none(),
            "a line longer than a block"
        );
    }
}
