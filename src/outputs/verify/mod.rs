//! `certanon verify`: re-checks an export directory's checksums, k-anonymity, suppression and
//! data package, and that each Parquet file agrees with its CSV file.
//!
//! Every file is treated as possibly tampered or hostile: malformed CSV, a missing manifest or
//! missing columns become failure lines, never panics. Failure lines name files, rows, columns,
//! counts and cell keys, never a data value (a label that itself looks like an identifier is
//! redacted from cell keys too).

mod columns;
mod dp;
mod fast;
mod identifiers;
mod levels;
mod package;
mod scan;
mod tables;
#[cfg(test)]
mod tests;
mod twins;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::outputs::export::{self, MANIFEST, SUMS};
use crate::outputs::manifest::{FileEntry, FileFacts, Manifest};
use crate::outputs::schema::DATA_PACKAGE;
use crate::phase::timed;
use crate::privacy::Published;
use scan::{Scanned, scan_csv};
use tables::{audit, check_facts, check_lines};

pub(crate) use levels::Recorded;

/// What a successful verification checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VerifyReport {
    pub(crate) files: usize,
    pub(crate) csv_rows: u64,
    pub(crate) parquet_files: usize,
    pub(crate) microdata_files: usize,
    pub(crate) tables: usize,
    pub(crate) suppressed_cells: usize,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verify: ok: {} files match SHA256SUMS and manifest.json ({} CSV rows); {} Parquet \
             file(s) agree with their CSV; {} extract file(s) k-anonymous; {} table(s): every \
             count is 0 or >= k, margins add up, none of {} suppressed cells can be recovered; \
             {DATA_PACKAGE} describes every CSV file",
            self.files,
            self.csv_rows,
            self.parquet_files,
            self.microdata_files,
            self.tables,
            self.suppressed_cells
        )
    }
}

/// What a recipient asks of an export beyond what its manifest promises.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Demands<'a> {
    /// The smallest k the recipient accepts, whatever the manifest's policy says.
    pub(crate) min_k: Option<u64>,
    /// Per extract file, the levels the bookkeeping schema recorded, when a database was given.
    pub(crate) recorded: Option<&'a BTreeMap<String, Recorded>>,
}

/// Checks an export directory; `Err(Error::Verify(lines))` lists every rule it breaks.
pub(crate) fn verify(dir: &Path) -> Result<VerifyReport> {
    verify_with(dir, Demands::default())
}

/// [`verify`], also holding the export to the recipient's own demands.
pub(crate) fn verify_with(dir: &Path, demands: Demands<'_>) -> Result<VerifyReport> {
    let mut out = Failures::default();
    let sizes = list_files(dir, &mut out)?;
    let files: BTreeSet<String> = sizes.keys().cloned().collect();
    let manifest = read_manifest(dir, &files, &mut out);
    if let (Some(manifest), Some(min_k)) = (&manifest, demands.min_k) {
        check_min_k(manifest, min_k, &mut out);
    }
    let listed: HashMap<&str, &FileEntry> = manifest
        .iter()
        .flat_map(|m| m.files.iter().rev())
        .map(|entry| (entry.name.as_str(), entry))
        .collect();
    // A file is read only up to the size its manifest announced, so a hostile export costs
    // what it claims to cost.
    let unread: BTreeSet<&str> = sizes
        .iter()
        .filter(|&(name, &size)| match listed.get(name.as_str()) {
            Some(entry) => size > entry.bytes,
            None if name == MANIFEST || name == SUMS => size > SMALL_FILE_LIMIT,
            None => manifest.is_some(),
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let manifest_rows = listed
        .iter()
        .map(|(name, entry)| (name.to_string(), entry.rows))
        .collect();
    let parquet = twins::start(dir, &files, &unread, manifest_rows);
    let mut report = VerifyReport {
        files: files.len(),
        ..VerifyReport::default()
    };
    // The CSV files are read first, since the scan of an extract hashes it as it reads it;
    // what they show is reported after the checksums all the same.
    let mut scanned = Failures::default();
    let mut hashed = BTreeMap::new();
    // A table's two files, merged under the name of its interior file.
    let mut tables: BTreeMap<String, (usize, Published)> = BTreeMap::new();
    let mut unreadable = BTreeSet::new();
    let mut headers = BTreeMap::new();
    let csv_files = files
        .iter()
        .filter(|n| n.ends_with(".csv") && !unread.contains(n.as_str()));
    for name in csv_files {
        let out = &mut scanned;
        let plan = manifest.as_ref().and_then(|m| plan(m, name, demands, out));
        let table = match &plan {
            Some(Plan::Table { table, .. }) => Some(table.to_string()),
            _ => None,
        };
        let Some(scan) = timed("verify: one CSV file", || scan_csv(dir, name, plan, out)) else {
            unreadable.extend(table);
            continue;
        };
        report.csv_rows += scan.rows;
        headers.insert(name.as_str(), scan.header);
        hashed.extend(scan.sha256.map(|sha| (name.as_str(), sha)));
        let want = listed.get(name.as_str()).and_then(|f| f.rows);
        if let Some(want) = want.filter(|&w| w != scan.rows) {
            out.push(format!(
                "{name}: {MANIFEST} says {want} rows, the file has {}",
                scan.rows
            ));
        }
        match scan.kind {
            Scanned::Microdata => report.microdata_files += 1,
            Scanned::Table(part) => {
                report.suppressed_cells += part.cells.iter().filter(|c| c.count.is_none()).count();
                match tables.entry(part.name.clone()) {
                    Entry::Vacant(entry) => {
                        report.tables += 1;
                        entry.insert((1, part));
                    }
                    Entry::Occupied(mut entry) => {
                        let (parts, table) = entry.get_mut();
                        *parts += 1;
                        table.cells.extend(part.cells);
                        table.primary += part.primary;
                        table.secondary += part.secondary;
                    }
                }
            }
            Scanned::Unplanned => {}
        }
    }
    let digests: BTreeMap<&str, String> = timed("verify: checksums", || {
        files
            .iter()
            .filter(|name| !unread.contains(name.as_str()))
            .filter_map(|name| match hashed.remove(name.as_str()) {
                Some(digest) => Some((name.as_str(), digest)),
                None => match export::sha256_file(&dir.join(name)) {
                    Ok((digest, _)) => Some((name.as_str(), digest)),
                    Err(_) => {
                        out.push(format!("{name}: cannot be read"));
                        None
                    }
                },
            })
            .collect()
    });
    check_sums(dir, &files, &digests, &mut out);
    if let Some(manifest) = &manifest {
        check_manifest_files(manifest, &sizes, &digests, &mut out);
    }
    out.absorb(scanned);
    let mut audited = Vec::new();
    // Half a table (its other file missing or unreadable, which already fails) is not checked:
    // it would only add noise.
    let whole = tables
        .into_iter()
        .filter(|(name, (parts, _))| *parts == 2 && !unreadable.contains(name));
    for (name, (_, table)) in whole {
        let facts = manifest.as_ref().and_then(|m| m.privacy.get(&name));
        if let Some(FileFacts::DpTable(facts)) = facts {
            let policy = manifest.as_ref().and_then(|m| m.policy.dp.as_ref());
            dp::check(&table, facts, policy, &mut out);
        }
        // A table with lines missing or broken already fails; its hidden cells are only worth
        // comparing with the manifest once every line is there.
        if check_lines(&table, &mut out) {
            match facts {
                Some(FileFacts::Table(facts)) => {
                    check_facts(&table, facts, &mut out);
                    audited.push(table);
                }
                // Nothing withheld: no suppression to audit.
                Some(FileFacts::DpTable(_)) => {}
                _ => audited.push(table),
            }
        }
    }
    if let Some(m) = &manifest {
        dp::check_spending(m, &mut out);
    }
    timed("verify: table audit", || audit(&audited, &mut out));
    report.parquet_files = twins::finish(parquet, &mut out);
    if let (Some(manifest), Some(recorded)) = (&manifest, demands.recorded) {
        for (name, facts) in &manifest.privacy {
            if let FileFacts::Microdata(m) = facts {
                let none = Recorded::default();
                let recorded = recorded.get(name).unwrap_or(&none);
                levels::check(name, &manifest.run_id, &m.levels, recorded, &mut out);
            }
        }
    }
    if !unread.contains(DATA_PACKAGE) {
        package::check(dir, &files, &headers, &mut out);
    }
    for (name, facts) in manifest.iter().flat_map(|m| &m.privacy) {
        for name in std::iter::once(name).chain(facts.totals()) {
            if !files.contains(name) {
                out.push(format!(
                    "{MANIFEST}: privacy facts name {name}, which is not in the export"
                ));
            }
        }
    }
    out.into_result(report)
}

/// The failure lines found so far, in the order found: each escaped and cut short, and only
/// the first [`MAX_LINES`] kept, so that nothing a hostile export holds can fake a line, drive
/// the terminal or flood it.
#[derive(Default)]
struct Failures {
    lines: Vec<String>,
    total: usize,
}

const MAX_LINES: usize = 100;
const MAX_LINE_CHARS: usize = 400;

impl Failures {
    fn push(&mut self, line: String) {
        self.total += 1;
        if self.lines.len() < MAX_LINES {
            self.lines.push(printable(&line, MAX_LINE_CHARS));
        }
    }

    /// Adds the lines another check found, already escaped and cut short.
    fn absorb(&mut self, other: Failures) {
        self.total += other.total;
        let room = MAX_LINES.saturating_sub(self.lines.len());
        self.lines.extend(other.lines.into_iter().take(room));
    }

    fn into_result<T>(mut self, ok: T) -> Result<T> {
        if self.total > self.lines.len() {
            self.lines.push(format!(
                "... and {} more failure(s) not shown",
                self.total - self.lines.len()
            ));
        }
        if self.lines.is_empty() {
            Ok(ok)
        } else {
            Err(Error::Verify(self.lines))
        }
    }
}

/// `text` with control, invisible and direction-changing characters (and the backslash that
/// introduces an escape) written as Rust escapes, at most `max_chars` characters of it.
fn printable(text: &str, max_chars: usize) -> String {
    let mut shown = String::with_capacity(text.len().min(max_chars));
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            shown.push_str("...");
            break;
        }
        let hidden = c.is_control()
            || matches!(c, '\\' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}')
            || matches!(c, '\u{2060}'..='\u{2069}' | '\u{feff}');
        if hidden {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// A file name the export may contain: one plain path component.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0', '\n', '\r'])
}

/// Regular files of the directory with their sizes; anything else (directories, symlinks) is a
/// failure.
fn list_files(dir: &Path, out: &mut Failures) -> Result<BTreeMap<String, u64>> {
    // The directory is named by the user, yet it is printed escaped like everything else.
    let shown = PathBuf::from(printable(&dir.to_string_lossy(), usize::MAX));
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).at(&shown)? {
        let entry = entry.at(&shown)?;
        let Ok(name) = entry.file_name().into_string() else {
            out.push("a file name is not UTF-8".to_owned());
            continue;
        };
        match entry.path().symlink_metadata() {
            Ok(meta) if meta.is_file() => {
                files.insert(name, meta.len());
            }
            Ok(_) => out.push(format!("{name}: not a regular file")),
            Err(_) => out.push(format!("{name}: cannot be read")),
        }
    }
    Ok(files)
}

/// Reads a small file whole, refusing anything larger than `limit` bytes.
fn read_small(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let file = fs::File::open(path).ok()?;
    file.take(limit + 1).read_to_end(&mut buf).ok()?;
    (buf.len() as u64 <= limit).then_some(buf)
}

const SMALL_FILE_LIMIT: u64 = 16 << 20;

fn check_sums(
    dir: &Path,
    files: &BTreeSet<String>,
    digests: &BTreeMap<&str, String>,
    out: &mut Failures,
) {
    if !files.contains(SUMS) {
        out.push(format!("{SUMS} is missing"));
        return;
    }
    let Some(text) =
        read_small(&dir.join(SUMS), SMALL_FILE_LIMIT).and_then(|b| String::from_utf8(b).ok())
    else {
        out.push(format!("{SUMS}: unreadable, not UTF-8 or too large"));
        return;
    };
    let mut listed = HashSet::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let parsed = line.split_once("  ").or_else(|| line.split_once(" *"));
        let Some((sha, name)) = parsed.filter(|(sha, name)| {
            sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) && plain_name(name)
        }) else {
            out.push(format!(
                "{SUMS} line {}: not `<sha256>  <file name>`",
                i + 1
            ));
            continue;
        };
        if !listed.insert(name) {
            out.push(format!("{SUMS} line {}: {name} is listed twice", i + 1));
        } else if name == SUMS {
            out.push(format!("{SUMS} line {}: lists itself", i + 1));
        } else if !files.contains(name) {
            out.push(format!("{SUMS} line {}: {name} is missing", i + 1));
        } else if digests
            .get(name)
            .is_some_and(|actual| !actual.eq_ignore_ascii_case(sha))
        {
            out.push(format!("{name}: checksum does not match {SUMS}"));
        }
    }
    for name in files {
        if name != SUMS && !listed.contains(name.as_str()) {
            out.push(format!("{name}: not listed in {SUMS}"));
        }
    }
}

/// The manifest of an export directory, if it holds one that parses: what a database is asked
/// about before the export is verified.
pub(crate) fn manifest_of(dir: &Path) -> Option<Manifest> {
    read_small(&dir.join(MANIFEST), SMALL_FILE_LIMIT)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

fn read_manifest(dir: &Path, files: &BTreeSet<String>, out: &mut Failures) -> Option<Manifest> {
    if !files.contains(MANIFEST) {
        out.push(format!("{MANIFEST} is missing"));
        return None;
    }
    let Some(bytes) = read_small(&dir.join(MANIFEST), SMALL_FILE_LIMIT) else {
        out.push(format!("{MANIFEST}: unreadable or too large"));
        return None;
    };
    let mut manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            // The line and column, not serde's message, which can quote the file's contents.
            let what = if e.is_data() {
                "a field is missing or has the wrong type"
            } else {
                "not valid JSON"
            };
            out.push(format!(
                "{MANIFEST}: {what} (line {}, column {})",
                e.line(),
                e.column()
            ));
            return None;
        }
    };
    if manifest.policy.k == 0 {
        out.push(format!("{MANIFEST}: policy.k is 0"));
        return None;
    }
    let mut i = 0;
    manifest.files.retain(|entry| {
        let plain = plain_name(&entry.name);
        if !plain {
            out.push(format!("{MANIFEST}: files[{i}] is not a plain file name"));
        }
        i += 1;
        plain
    });
    Some(manifest)
}

fn check_manifest_files(
    manifest: &Manifest,
    sizes: &BTreeMap<String, u64>,
    digests: &BTreeMap<&str, String>,
    out: &mut Failures,
) {
    let mut listed = HashSet::new();
    for entry in &manifest.files {
        let name = &entry.name;
        if !listed.insert(name.as_str()) {
            out.push(format!("{MANIFEST}: {name} is listed twice"));
            continue;
        }
        let Some(&actual_bytes) = sizes.get(name) else {
            out.push(format!("{MANIFEST}: {name} is missing"));
            continue;
        };
        if actual_bytes != entry.bytes {
            out.push(format!(
                "{name}: {actual_bytes} bytes, {MANIFEST} says {}",
                entry.bytes
            ));
        }
        let digest = digests.get(name.as_str());
        if digest.is_some_and(|actual| !actual.eq_ignore_ascii_case(&entry.sha256)) {
            out.push(format!("{name}: checksum does not match {MANIFEST}"));
        }
    }
    for name in sizes.keys() {
        if name != MANIFEST && name != SUMS && !listed.contains(name.as_str()) {
            out.push(format!("{name}: not listed in {MANIFEST}"));
        }
    }
}

/// What the manifest says a CSV file is, and so what its scan checks. Which columns it may
/// have follows from its kind alone, never from the manifest's lists.
#[derive(Clone, Copy)]
enum Plan<'a> {
    Microdata {
        k: u64,
        /// An anonymous release promises every subject's profile is shared by k subjects.
        anonymous: bool,
        /// Subjects below k the manifest reports, which the file must bear out.
        profile_below_k: u64,
        /// `privacy.subject_k` the release enforced: no subject of the file may be below it.
        subject_k: Option<u64>,
    },
    Table {
        k: u64,
        /// The name of the table's interior file, under which the manifest lists it.
        table: &'a str,
        part: Part,
        dims: &'a [String],
        population: &'a str,
        /// Differentially private: noisy counts with their margins of error, nothing
        /// withheld, no k to meet.
        dp: bool,
    },
}

/// Which of a table's two files a CSV is: its interior cells, which hold no `TOTAL`, or its
/// totals, each of which does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Interior,
    Totals,
}

fn plan<'a>(
    manifest: &'a Manifest,
    name: &str,
    demands: Demands<'_>,
    out: &mut Failures,
) -> Option<Plan<'a>> {
    let totals_of = manifest
        .privacy
        .iter()
        .find(|(_, facts)| facts.totals().is_some_and(|t| t == name));
    let (table, part, facts) = match (manifest.privacy.get_key_value(name), totals_of) {
        (Some((table, facts)), None) => (table, Part::Interior, facts),
        (None, Some((table, facts))) => (table, Part::Totals, facts),
        (Some(_), Some(_)) => {
            out.push(format!(
                "{name}: {MANIFEST} lists it both as a table and as another table's totals"
            ));
            return None;
        }
        (None, None) => {
            out.push(format!(
                "{name}: {MANIFEST} has no privacy facts for it, so k and suppression cannot be \
                 checked"
            ));
            return None;
        }
    };
    // The policy's k, a larger one the file claims, or a larger one the recipient demands.
    let k = manifest.policy.k.max(demands.min_k.unwrap_or(0));
    match facts {
        FileFacts::Microdata(m) => Some(Plan::Microdata {
            k: m.k.max(k),
            anonymous: manifest.policy.mode == "anonymous",
            profile_below_k: m.subjects.profile_below_k,
            subject_k: m.subjects.subject_k.map(|s| s.k),
        }),
        FileFacts::Table(t) if t.dims.is_empty() => {
            out.push(format!("{name}: {MANIFEST} lists no dims"));
            None
        }
        FileFacts::Table(t) => Some(Plan::Table {
            k: t.k.max(k),
            table,
            part,
            dims: &t.dims,
            population: &t.population,
            dp: false,
        }),
        FileFacts::DpTable(t) => Some(Plan::Table {
            k: 1,
            table,
            part,
            dims: &t.dims,
            population: &t.population,
            dp: true,
        }),
    }
}

/// Every k the manifest states against the recipient's `--min-k`; the files themselves are
/// checked against it too (see [`plan`]).
fn check_min_k(manifest: &Manifest, min_k: u64, out: &mut Failures) {
    let mut below = |what: String, k: u64| {
        if k < min_k {
            out.push(format!("{what} is {k}, below --min-k {min_k}"));
        }
    };
    below(format!("{MANIFEST}: policy.k"), manifest.policy.k);
    for (name, facts) in &manifest.privacy {
        match facts {
            FileFacts::Microdata(m) => {
                below(format!("{name}: k"), m.k);
                below(format!("{name}: achieved k"), m.achieved_k);
            }
            FileFacts::Table(t) => below(format!("{name}: k"), t.k),
            FileFacts::DpTable(_) => {}
        }
    }
}
