//! `certanon verify`: re-checks an export directory's checksums, k-anonymity and suppression.
//!
//! Every file is treated as possibly tampered or hostile: malformed CSV, a missing manifest or
//! missing columns become failure lines, never panics. Failure lines name files, rows, columns,
//! counts and cell keys, never a data value (a label that itself looks like an identifier is
//! redacted from cell keys too).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, IoContext, Result};
use crate::outputs::export::{self, MANIFEST, SUMS};
use crate::privacy::{self, Problem, Published, PublishedCell, TOTAL};
use crate::transform::pseudonymize::PSEUDONYM_B32_LEN;

/// What a successful verification checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub files: usize,
    pub csv_rows: u64,
    pub microdata_files: usize,
    pub tables: usize,
    pub suppressed_cells: usize,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verify: ok: {} files match SHA256SUMS and manifest.json ({} CSV rows); {} extract \
             file(s) k-anonymous; {} table(s): every count is 0 or >= k, margins add up, none of \
             {} suppressed cells can be recovered",
            self.files, self.csv_rows, self.microdata_files, self.tables, self.suppressed_cells
        )
    }
}

/// Checks an export directory; `Err(Error::Verify(lines))` lists every rule it breaks.
pub fn verify(dir: &Path) -> Result<VerifyReport> {
    let mut out = Failures::default();
    let files = list_files(dir, &mut out)?;
    let digests: BTreeMap<&str, (String, u64)> = files
        .iter()
        .filter_map(|name| match export::sha256_file(&dir.join(name)) {
            Ok(d) => Some((name.as_str(), d)),
            Err(_) => {
                out.push(format!("{name}: cannot be read"));
                None
            }
        })
        .collect();
    check_sums(dir, &files, &digests, &mut out);
    let manifest = read_manifest(dir, &files, &mut out);
    let mut report = VerifyReport {
        files: files.len(),
        ..VerifyReport::default()
    };
    if let Some(manifest) = &manifest {
        check_manifest_files(manifest, &files, &digests, &mut out);
    }
    let mut audited = Vec::new();
    for name in files.iter().filter(|n| n.ends_with(".csv")) {
        let plan = manifest.as_ref().and_then(|m| m.plan(name, &mut out));
        let Some(scan) = scan_csv(dir, name, plan, &mut out) else {
            continue;
        };
        report.csv_rows += scan.rows;
        let want = manifest.as_ref().and_then(|m| m.rows.get(name.as_str()));
        if let Some(want) = want.filter(|&&w| w != scan.rows) {
            out.push(format!(
                "{name}: manifest.json says {want} rows, the file has {}",
                scan.rows
            ));
        }
        match scan.kind {
            Scanned::Microdata => report.microdata_files += 1,
            Scanned::Table(table) => {
                report.tables += 1;
                report.suppressed_cells += table.cells.iter().filter(|c| c.count.is_none()).count();
                if check_lines(&table, &mut out) {
                    audited.push(table);
                }
            }
            Scanned::Unplanned => {}
        }
    }
    audit(&audited, &mut out);
    if let Some(m) = &manifest {
        for name in m.privacy_names() {
            if !files.contains(&name) {
                out.push(format!(
                    "manifest.json: privacy facts name {name}, which is not in the export"
                ));
            }
        }
    }
    out.into_result(report)
}

#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn push(&mut self, line: String) {
        self.0.push(line);
    }

    fn into_result<T>(self, ok: T) -> Result<T> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            Err(Error::Verify(self.0))
        }
    }
}

/// A file name the export may contain: one plain path component.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0', '\n', '\r'])
}

/// Regular files of the directory; anything else (directories, symlinks) is a failure.
fn list_files(dir: &Path, out: &mut Failures) -> Result<BTreeSet<String>> {
    let mut files = BTreeSet::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let Ok(name) = entry.file_name().into_string() else {
            out.push("a file name is not UTF-8".to_owned());
            continue;
        };
        match entry.path().symlink_metadata() {
            Ok(meta) if meta.is_file() => {
                files.insert(name);
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
    digests: &BTreeMap<&str, (String, u64)>,
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
            .is_some_and(|(actual, _)| !actual.eq_ignore_ascii_case(sha))
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

/// What verify needs from manifest.json.
struct Manifest {
    k: u64,
    files: Vec<(String, Option<u64>, u64, String)>,
    rows: HashMap<String, u64>,
    privacy: serde_json::Map<String, Value>,
}

fn read_manifest(dir: &Path, files: &BTreeSet<String>, out: &mut Failures) -> Option<Manifest> {
    if !files.contains(MANIFEST) {
        out.push(format!("{MANIFEST} is missing"));
        return None;
    }
    let bytes = read_small(&dir.join(MANIFEST), SMALL_FILE_LIMIT);
    let value: Value = match bytes.map(|b| serde_json::from_slice(&b)) {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            // The line and column, not serde's message, which can quote the file's contents.
            out.push(format!(
                "{MANIFEST}: not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ));
            return None;
        }
        None => {
            out.push(format!("{MANIFEST}: unreadable or too large"));
            return None;
        }
    };
    let mut bad = |what: &str| out.push(format!("{MANIFEST}: {what}"));
    let k = value.pointer("/policy/k").and_then(Value::as_u64);
    let k = match k {
        Some(k) if k >= 1 => k,
        _ => {
            bad("policy.k is missing or not a positive integer");
            return None;
        }
    };
    let Some(entries) = value.get("files").and_then(Value::as_array) else {
        bad("files is missing or not a list");
        return None;
    };
    let mut manifest = Manifest {
        k,
        files: Vec::new(),
        rows: HashMap::new(),
        privacy: value
            .get("privacy")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    };
    if value.get("privacy").and_then(Value::as_object).is_none() {
        bad("privacy is missing or not an object");
    }
    for (i, entry) in entries.iter().enumerate() {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| plain_name(n));
        let bytes = entry.get("bytes").and_then(Value::as_u64);
        let sha = entry.get("sha256").and_then(Value::as_str);
        let rows = entry.get("rows").filter(|r| !r.is_null());
        let (Some(name), Some(bytes), Some(sha)) = (name, bytes, sha) else {
            bad(&format!("files[{i}] lacks a plain name, bytes or sha256"));
            continue;
        };
        let rows = match rows.map(Value::as_u64) {
            Some(Some(r)) => Some(r),
            Some(None) => {
                bad(&format!("files[{i}].rows is not a count"));
                continue;
            }
            None => None,
        };
        if let Some(r) = rows {
            manifest.rows.insert(name.to_owned(), r);
        }
        manifest
            .files
            .push((name.to_owned(), rows, bytes, sha.to_owned()));
    }
    Some(manifest)
}

fn check_manifest_files(
    manifest: &Manifest,
    files: &BTreeSet<String>,
    digests: &BTreeMap<&str, (String, u64)>,
    out: &mut Failures,
) {
    let mut listed = HashSet::new();
    for (name, _, bytes, sha) in &manifest.files {
        if !listed.insert(name.as_str()) {
            out.push(format!("{MANIFEST}: {name} is listed twice"));
            continue;
        }
        if !files.contains(name) {
            out.push(format!("{MANIFEST}: {name} is missing"));
            continue;
        }
        if let Some((actual, actual_bytes)) = digests.get(name.as_str()) {
            if actual_bytes != bytes {
                out.push(format!(
                    "{name}: {actual_bytes} bytes, {MANIFEST} says {bytes}"
                ));
            }
            if !actual.eq_ignore_ascii_case(sha) {
                out.push(format!("{name}: checksum does not match {MANIFEST}"));
            }
        }
    }
    for name in files {
        if name != MANIFEST && name != SUMS && !listed.contains(name.as_str()) {
            out.push(format!("{name}: not listed in {MANIFEST}"));
        }
    }
}

/// What the manifest says a CSV file is.
enum Plan {
    Microdata {
        k: u64,
        quasi_identifiers: Vec<String>,
        pseudonyms: Vec<String>,
    },
    Table {
        k: u64,
        dims: Vec<String>,
        population: String,
    },
}

impl Manifest {
    /// The privacy facts of a file: `privacy[name]`, or `privacy.files[name]`.
    fn facts(&self, name: &str) -> Option<&serde_json::Map<String, Value>> {
        self.privacy
            .get(name)
            .or_else(|| self.privacy.get("files").and_then(|f| f.get(name)))
            .and_then(Value::as_object)
    }

    fn privacy_names(&self) -> BTreeSet<String> {
        let nested = self.privacy.get("files").and_then(Value::as_object);
        self.privacy
            .iter()
            .chain(nested.into_iter().flatten())
            .filter(|(_, v)| v.get("kind").is_some())
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn plan(&self, name: &str, out: &mut Failures) -> Option<Plan> {
        let Some(facts) = self.facts(name) else {
            out.push(format!(
                "{name}: {MANIFEST} has no privacy facts for it, so k and suppression cannot be checked"
            ));
            return None;
        };
        let strings = |key: &str| -> Option<Vec<String>> {
            facts
                .get(key)?
                .as_array()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        // The policy's k, or a larger one the file claims.
        let k = facts
            .get("k")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .max(self.k);
        match facts.get("kind").and_then(Value::as_str) {
            Some("microdata") => match strings("quasi_identifiers") {
                Some(quasi_identifiers) => Some(Plan::Microdata {
                    k,
                    quasi_identifiers,
                    pseudonyms: strings("pseudonym_columns").unwrap_or_default(),
                }),
                None => {
                    out.push(format!("{name}: {MANIFEST} lists no quasi_identifiers"));
                    None
                }
            },
            Some("table") => match strings("dims") {
                Some(dims) if !dims.is_empty() => Some(Plan::Table {
                    k,
                    dims,
                    // Without a population the table is audited on its own.
                    population: facts
                        .get("population")
                        .and_then(Value::as_str)
                        .map_or_else(|| name.to_owned(), str::to_owned),
                }),
                _ => {
                    out.push(format!("{name}: {MANIFEST} lists no dims"));
                    None
                }
            },
            _ => {
                out.push(format!(
                    "{name}: {MANIFEST} privacy kind is neither microdata nor table"
                ));
                None
            }
        }
    }
}

/// What looks like a direct identifier or a linking code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Suspect {
    Email,
    Phone,
    Serial,
    NotPseudonym,
}

impl Suspect {
    fn describe(self) -> &'static str {
        match self {
            Suspect::Email => "look like e-mail addresses",
            Suspect::Phone => "look like phone numbers",
            Suspect::Serial => "look like serial numbers or other long hex codes",
            Suspect::NotPseudonym => "in a pseudonym column are not pseudonyms",
        }
    }
}

fn suspect(value: &str, pseudonym_column: bool) -> Option<Suspect> {
    if value.contains(['@', '＠']) {
        return Some(Suspect::Email);
    }
    if pseudonym_column {
        return (!is_pseudonym(value)).then_some(Suspect::NotPseudonym);
    }
    if is_phone(value) {
        return Some(Suspect::Phone);
    }
    has_hex_run(value).then_some(Suspect::Serial)
}

/// Empty (NULL), `erased`, or `key_id_` and 26 lower-case base32 characters.
fn is_pseudonym(value: &str) -> bool {
    if value.is_empty() || value == "erased" {
        return true;
    }
    let Some((key_id, b32)) = value.rsplit_once('_') else {
        return false;
    };
    !key_id.is_empty()
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && b32.len() == PSEUDONYM_B32_LEN
        && b32.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'))
}

/// Seven or more digits (ASCII or full-width) written with phone separators, and nothing else;
/// an ISO date is not a phone number.
fn is_phone(value: &str) -> bool {
    let (mut digits, mut separators) = (0, 0);
    for c in value.chars() {
        match c {
            '0'..='9' | '０'..='９' => digits += 1,
            '-' | ' ' | '(' | ')' | '+' | '.' | '－' | '‐' | '−' | 'ー' | '（' | '）' | '＋'
            | '　' => separators += 1,
            _ => return false,
        }
    }
    let iso_date = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    digits >= 7 && separators > 0 && !iso_date
}

/// A run of 16 or more hex digits, colons between them allowed (`04:a3:…`).
fn has_hex_run(value: &str) -> bool {
    let mut run = 0;
    for b in value.bytes() {
        if b.is_ascii_hexdigit() {
            run += 1;
            if run >= 16 {
                return true;
            }
        } else if b != b':' {
            run = 0;
        }
    }
    false
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

enum Scanned {
    Microdata,
    Table(Published),
    Unplanned,
}

struct Scan {
    rows: u64,
    kind: Scanned,
}

/// Reads a CSV once: counts rows, looks for identifiers, and checks k-anonymity or collects
/// the table. `None` when the file is not well-formed CSV with its columns.
fn scan_csv(dir: &Path, name: &str, plan: Option<Plan>, out: &mut Failures) -> Option<Scan> {
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
    let mut acc = match &plan {
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
    };
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
    let kind = match acc {
        Acc::Unplanned => Scanned::Unplanned,
        Acc::Microdata { k, classes, .. } => {
            let small: Vec<u64> = classes.values().copied().filter(|&n| n < k).collect();
            if let Some(smallest) = small.iter().min() {
                out.push(format!(
                    "{name}: {} combination(s) of the quasi-identifiers occur in fewer than k={k} \
                     rows (smallest: {smallest})",
                    small.len()
                ));
            }
            Scanned::Microdata
        }
        Acc::Table { cells, .. } => {
            let (dims, population) = match plan {
                Some(Plan::Table {
                    dims, population, ..
                }) => (dims, population),
                _ => (Vec::new(), String::new()),
            };
            // The file does not say why a cell is suppressed; the audit does not need to know.
            let suppressed = cells.iter().filter(|c| c.count.is_none()).count();
            Scanned::Table(Published {
                name: name.to_owned(),
                population,
                dims,
                cells,
                primary: 0,
                secondary: suppressed,
            })
        }
    };
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
}

/// A cell key for a failure line; labels that look like identifiers are not repeated.
fn show_key(key: &[String]) -> String {
    let labels: Vec<&str> = key
        .iter()
        .map(|l| {
            if l.chars().count() > 64 || suspect(l, false).is_some() {
                "<redacted>"
            } else {
                l.as_str()
            }
        })
        .collect();
    format!("({})", labels.join(", "))
}

/// Margins present and adding up, no cell recoverable by subtraction along one line; true when
/// the table passes and can go to the LP audit (which would only repeat these findings).
fn check_lines(table: &Published, out: &mut Failures) -> bool {
    let file = &table.name;
    let failures_before = out.0.len();
    let mut missing = 0usize;
    let mut first_missing = None;
    for d in 0..table.dims.len() {
        // Lines along dimension d: the cells that agree everywhere but at d.
        let mut lines: BTreeMap<Vec<&str>, (Option<usize>, Vec<usize>)> = BTreeMap::new();
        for (i, cell) in table.cells.iter().enumerate() {
            let Some(label) = cell.key.get(d) else {
                continue;
            };
            let rest: Vec<&str> = cell
                .key
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != d)
                .map(|(_, l)| l.as_str())
                .collect();
            let line = lines.entry(rest).or_default();
            if label == TOTAL {
                line.0 = Some(i);
            } else {
                line.1.push(i);
            }
        }
        for (margin, members) in lines.values() {
            let Some(margin) = *margin else {
                missing += 1;
                first_missing.get_or_insert_with(|| {
                    let mut key = table.cells[members[0]].key.clone();
                    key[d] = TOTAL.to_owned();
                    key
                });
                continue;
            };
            let line = members.iter().chain([&margin]).map(|&i| &table.cells[i]);
            let hidden: Vec<&PublishedCell> = line.clone().filter(|c| c.count.is_none()).collect();
            match hidden.as_slice() {
                [] if !members.is_empty() => {
                    let sum: u128 = members
                        .iter()
                        .map(|&i| u128::from(table.cells[i].count.unwrap_or(0)))
                        .sum();
                    let total = table.cells[margin].count.unwrap_or(0);
                    if sum != u128::from(total) {
                        out.push(format!(
                            "{file}: total {} is {total} but its cells along {} add up to {sum}",
                            show_key(&table.cells[margin].key),
                            table.dims[d]
                        ));
                    }
                }
                [only] if !members.is_empty() => {
                    out.push(format!(
                        "{file}: suppressed cell {} can be recovered by subtraction along {}",
                        show_key(&only.key),
                        table.dims[d]
                    ));
                }
                _ => {}
            }
        }
    }
    if let Some(key) = first_missing {
        out.push(format!(
            "{file}: {missing} marginal total(s) missing, e.g. {}",
            show_key(&key)
        ));
    }
    out.0.len() == failures_before
}

/// The gate's LP audit over the tables read back, those of one population together as they
/// were suppressed: it finds cells that several lines combined pin down.
fn audit(tables: &[Published], out: &mut Failures) {
    for finding in privacy::audit_linked(tables) {
        let what = match &finding.problem {
            Problem::Pinned { min, max } => format!(
                "suppressed cell can be worked out from the published counts (between {min} and {max})"
            ),
            Problem::SmallCount { count, k } => format!("published count {count} is below k={k}"),
            Problem::Inconsistent(why) => format!("inconsistent: {why}"),
            Problem::Malformed(why) => format!("malformed: {why}"),
            Problem::Unverified(why) => format!("could not be audited: {why}"),
        };
        out.push(format!(
            "{}: cell {}: {what}",
            finding.table,
            show_key(&finding.key)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::aggregate;
    use crate::outputs::export::{Export, Manifest, PolicyFacts};
    use proptest::prelude::*;
    use std::path::PathBuf;

    const EXTRACT: &str = "research_extract.csv";
    const TABLE: &str = "issued_by_month_channel.csv";

    fn pseudonym(i: usize) -> String {
        let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
        let b32: String = (0..26)
            .map(|j| char::from(alphabet[(i * 7 + j * 3) % 32]))
            .collect();
        format!("k1_{b32}")
    }

    fn cells(rows: &[(&str, &str, Option<u64>)]) -> Vec<PublishedCell> {
        rows.iter()
            .map(|&(month, channel, count)| PublishedCell {
                key: vec![month.to_owned(), channel.to_owned()],
                count,
                primary: false,
                secondary: count.is_none(),
            })
            .collect()
    }

    /// Issued per month × channel, with a safe pattern of four suppressed cells: each of the
    /// suppressed cells can be anything from 1 to 10 given what is published.
    fn good_table() -> Vec<PublishedCell> {
        cells(&[
            ("2026-01", "acme", Some(20)),
            ("2026-01", "operator", None),
            ("2026-01", "other", None),
            ("2026-02", "acme", Some(25)),
            ("2026-02", "operator", None),
            ("2026-02", "other", None),
            ("2026-01", TOTAL, Some(30)),
            ("2026-02", TOTAL, Some(35)),
            (TOTAL, "acme", Some(45)),
            (TOTAL, "operator", Some(11)),
            (TOTAL, "other", Some(9)),
            (TOTAL, TOTAL, Some(65)),
        ])
    }

    fn good_extract() -> Vec<[String; 5]> {
        (0..10)
            .map(|i| {
                let (region, vt) = if i < 5 { ("13", "DV") } else { ("27", "OV") };
                [
                    pseudonym(i),
                    pseudonym(100 + i % 3),
                    region.into(),
                    "2026-03".into(),
                    vt.into(),
                ]
            })
            .collect()
    }

    /// A committed export holding a research extract and one table, as the run writes them.
    fn export(extract: &[[String; 5]], table: Vec<PublishedCell>) -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let mut export = Export::begin(root.path(), "t", "r1").unwrap();
        let mut csv = export
            .csv(
                EXTRACT,
                &[
                    "certificate",
                    "subscriber",
                    "region",
                    "issued",
                    "validation_type",
                ],
            )
            .unwrap();
        for row in extract {
            csv.write(row).unwrap();
        }
        export.add(csv.finish().unwrap());
        let published = Published {
            name: "issued_by_month_channel".into(),
            population: "issued_certificates".into(),
            dims: vec!["month".into(), "channel".into()],
            cells: table,
            primary: 2,
            secondary: 2,
        };
        aggregate::write(&mut export, std::slice::from_ref(&published)).unwrap();
        let mut privacy = aggregate::privacy_facts(&[published], 5);
        privacy[EXTRACT] = serde_json::json!({
            "kind": "microdata",
            "k": 5,
            "quasi_identifiers": ["region", "issued", "validation_type"],
            "pseudonym_columns": ["certificate", "subscriber"],
        });
        let manifest = Manifest {
            run_id: "r1".into(),
            task: "t".into(),
            kind: "research_extract".into(),
            created: "2026-11-01T03:00:00Z".into(),
            snapshot: "1:1:".into(),
            tool_version: "0".into(),
            policy: PolicyFacts {
                k: 5,
                max_suppression: 0.05,
                key_id: "k1".into(),
                mode: "pseudonymous".into(),
                config_sha256: "00".into(),
            },
            privacy,
            files: vec![],
        };
        let dir = export.commit(manifest).unwrap();
        (root, dir)
    }

    fn failures(dir: &Path) -> Vec<String> {
        match verify(dir) {
            Err(Error::Verify(lines)) => lines,
            other => panic!("expected verification failures, got {other:?}"),
        }
    }

    fn has(lines: &[String], needle: &str) -> bool {
        lines.iter().any(|l| l.contains(needle))
    }

    #[test]
    fn passes_on_a_good_export() {
        let (_root, dir) = export(&good_extract(), good_table());
        let report = verify(&dir).unwrap();
        assert_eq!(
            report,
            VerifyReport {
                files: 5,
                csv_rows: 10 + 12,
                microdata_files: 1,
                tables: 1,
                suppressed_cells: 4,
            }
        );
        assert!(report.to_string().starts_with("verify: ok"));
    }

    #[test]
    fn fails_on_a_published_count_below_k() {
        let mut table = good_table();
        table[1].count = Some(3);
        table[2].count = Some(7);
        table[4].count = Some(8);
        table[5].count = Some(2);
        let (_root, dir) = export(&good_extract(), table);
        let lines = failures(&dir);
        assert!(
            has(
                &lines,
                &format!("{TABLE}: 2 rows publish a count between 1 and k-1=4")
            ),
            "{lines:?}"
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
    }

    #[test]
    fn fails_on_a_cell_recoverable_by_subtraction() {
        // Publishing January's `other` (7) leaves one suppressed cell in the January row
        // (30 - 20 - 7 = 3) and one in the `other` column (9 - 7 = 2).
        let mut table = good_table();
        table[2].count = Some(7);
        let (_root, dir) = export(&good_extract(), table);
        let lines = failures(&dir);
        assert_eq!(
            lines,
            [
                format!(
                    "{TABLE}: suppressed cell (2026-02, other) can be recovered by subtraction along month"
                ),
                format!(
                    "{TABLE}: suppressed cell (2026-01, operator) can be recovered by subtraction along channel"
                ),
            ]
        );
    }

    #[test]
    fn fails_on_a_cell_pinned_only_by_bounds() {
        // Every line holds two suppressed cells, but January's two add up to 2 and each is at
        // least 1: both are 1, and February's follow. Only the LP audit sees it.
        let table = cells(&[
            ("2026-01", "acme", Some(20)),
            ("2026-01", "operator", None),
            ("2026-01", "other", None),
            ("2026-02", "acme", Some(20)),
            ("2026-02", "operator", None),
            ("2026-02", "other", None),
            ("2026-01", TOTAL, Some(22)),
            ("2026-02", TOTAL, Some(38)),
            (TOTAL, "acme", Some(40)),
            (TOTAL, "operator", Some(10)),
            (TOTAL, "other", Some(10)),
            (TOTAL, TOTAL, Some(60)),
        ]);
        let (_root, dir) = export(&good_extract(), table);
        let lines = failures(&dir);
        assert!(
            has(
                &lines,
                &format!("{TABLE}: cell (2026-01, operator): suppressed cell can be worked out")
            ),
            "{lines:?}"
        );
        assert!(
            lines.iter().all(|l| !l.contains("subtraction")),
            "{lines:?}"
        );
    }

    #[test]
    fn fails_when_margins_do_not_add_up_or_are_missing() {
        let mut table = good_table();
        table[8].count = Some(46);
        table.retain(|c| c.key != [TOTAL, "other"]);
        table.retain(|c| c.key != [TOTAL, "operator"]);
        let (_root, dir) = export(&good_extract(), table);
        let lines = failures(&dir);
        assert!(
            has(
                &lines,
                "total (TOTAL, acme) is 46 but its cells along month add up to 45"
            ),
            "{lines:?}"
        );
        assert!(
            has(
                &lines,
                "2 marginal total(s) missing, e.g. (TOTAL, operator)"
            ),
            "{lines:?}"
        );
    }

    #[test]
    fn fails_on_a_tampered_file() {
        let (_root, dir) = export(&good_extract(), good_table());
        let path = dir.join(TABLE);
        let body = fs::read_to_string(&path)
            .unwrap()
            .replace("2026-01,acme,20", "2026-01,acme,21");
        fs::write(&path, body).unwrap();
        let extract = fs::read_to_string(dir.join(EXTRACT)).unwrap();
        let first_row = extract.lines().nth(1).unwrap().to_owned();
        fs::write(dir.join(EXTRACT), format!("{extract}{first_row}\r\n")).unwrap();
        let lines = failures(&dir);
        assert!(has(
            &lines,
            &format!("{EXTRACT}: manifest.json says 10 rows, the file has 11")
        ));
        assert!(
            has(
                &lines,
                &format!("{TABLE}: checksum does not match SHA256SUMS")
            ),
            "{lines:?}"
        );
        assert!(
            has(
                &lines,
                &format!("{TABLE}: checksum does not match manifest.json")
            ),
            "{lines:?}"
        );
        assert!(has(
            &lines,
            "total (TOTAL, acme) is 45 but its cells along month add up to 46"
        ));
    }

    #[test]
    fn fails_on_a_missing_or_extra_file() {
        let (_root, dir) = export(&good_extract(), good_table());
        fs::remove_file(dir.join(TABLE)).unwrap();
        fs::write(dir.join("notes.txt"), "x").unwrap();
        let lines = failures(&dir);
        assert!(
            has(&lines, &format!("SHA256SUMS line 2: {TABLE} is missing")),
            "{lines:?}"
        );
        assert!(
            has(&lines, &format!("manifest.json: {TABLE} is missing")),
            "{lines:?}"
        );
        assert!(has(
            &lines,
            &format!("manifest.json: privacy facts name {TABLE}, which is not in the export")
        ));
        assert!(
            has(&lines, "notes.txt: not listed in SHA256SUMS"),
            "{lines:?}"
        );
        assert!(
            has(&lines, "notes.txt: not listed in manifest.json"),
            "{lines:?}"
        );
    }

    #[test]
    fn fails_on_an_extract_class_smaller_than_k() {
        let mut extract = good_extract();
        extract[9][4] = "DV".into();
        let (_root, dir) = export(&extract, good_table());
        let lines = failures(&dir);
        assert_eq!(
            lines,
            [format!(
                "{EXTRACT}: 2 combination(s) of the quasi-identifiers occur in fewer than k=5 rows (smallest: 1)"
            )]
        );
    }

    #[test]
    fn fails_on_identifier_looking_values_without_quoting_them() {
        let mut extract = good_extract();
        for row in extract.iter_mut().take(5) {
            row[3] = "taro.yamada@example.co.jp".into();
        }
        extract[5][3] = "03-1234-5678".into();
        extract[6][3] = "04:a3:5f:91:0c:77:e2:18:aa".into();
        extract[7][0] = "1234567".into();
        let (_root, dir) = export(&extract, good_table());
        let lines = failures(&dir);
        assert!(
            has(
                &lines,
                &format!(
                    "{EXTRACT}: 5 rows in column issued: values look like e-mail addresses (first: row 1)"
                )
            ),
            "{lines:?}"
        );
        assert!(has(
            &lines,
            "1 row in column issued: values look like phone numbers (first: row 6)"
        ));
        assert!(has(
            &lines,
            "1 row in column issued: values look like serial numbers"
        ));
        assert!(has(
            &lines,
            "1 row in column certificate: values in a pseudonym column are not pseudonyms"
        ));
        let all = lines.join("\n");
        for secret in ["taro", "1234-5678", "a3:5f", "1234567"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
    }

    #[test]
    fn identifier_heuristics() {
        assert_eq!(suspect("a@b", false), Some(Suspect::Email));
        assert_eq!(suspect("ｔａｒｏ＠example.jp", false), Some(Suspect::Email));
        assert_eq!(suspect("+81 3 1234 5678", false), Some(Suspect::Phone));
        assert_eq!(
            suspect("０３（１２３４）５６７８", false),
            Some(Suspect::Phone)
        );
        assert_eq!(suspect("0123456789abcdef", false), Some(Suspect::Serial));
        assert_eq!(suspect(&pseudonym(3), true), None);
        assert_eq!(suspect("erased", true), None);
        assert_eq!(suspect("", true), None);
        assert_eq!(suspect("k1_short", true), Some(Suspect::NotPseudonym));
        for fine in [
            "2026-03",
            "2026-03-15",
            "13 東京都",
            "1234567",
            "<=398d",
            "ECDSA-P256",
            "TOTAL",
            "65",
        ] {
            assert_eq!(suspect(fine, false), None, "{fine}");
        }
    }

    #[test]
    fn hostile_files_give_failure_lines() {
        let (_root, dir) = export(&good_extract(), good_table());
        fs::write(dir.join(EXTRACT), "certificate,subscriber\r\na,b,c\r\n").unwrap();
        fs::write(dir.join(TABLE), "month,count\r\n2026-01,5\r\n").unwrap();
        let lines = failures(&dir);
        assert!(
            has(
                &lines,
                &format!("{EXTRACT}: column region named in manifest.json is missing")
            ),
            "{lines:?}"
        );
        assert!(
            has(
                &lines,
                &format!("{TABLE}: column suppressed named in manifest.json is missing")
            ),
            "{lines:?}"
        );
        fs::write(
            dir.join(TABLE),
            "month,channel,count,suppressed\r\n2026-01,acme,5\r\n",
        )
        .unwrap();
        assert!(has(
            &failures(&dir),
            &format!("{TABLE} row 1: has 3 fields where the header has 4")
        ));
        fs::write(
            dir.join(TABLE),
            b"month,channel,count,suppressed\r\n\xff,acme,5,false\r\n",
        )
        .unwrap();
        assert!(has(
            &failures(&dir),
            &format!("{TABLE} row 1: is not UTF-8")
        ));
        fs::write(
            dir.join(TABLE),
            "month,channel,count,suppressed\r\nx,y,-1,maybe\r\nx,z,5,true\r\n",
        )
        .unwrap();
        let lines = failures(&dir);
        assert!(
            has(&lines, "1 row have `suppressed` other than true/false"),
            "{lines:?}"
        );
        assert!(
            has(&lines, "1 row are suppressed but show a count"),
            "{lines:?}"
        );
        fs::write(dir.join(MANIFEST), "{\"policy\": [").unwrap();
        assert!(has(
            &failures(&dir),
            "manifest.json: not valid JSON (line 1"
        ));
        fs::write(dir.join(MANIFEST), "{\"policy\": {\"k\": \"five\"}}").unwrap();
        assert!(has(
            &failures(&dir),
            "manifest.json: policy.k is missing or not a positive integer"
        ));
        fs::remove_file(dir.join(MANIFEST)).unwrap();
        fs::write(dir.join(SUMS), "garbage\n").unwrap();
        let lines = failures(&dir);
        assert!(has(&lines, "manifest.json is missing"));
        assert!(has(
            &lines,
            "SHA256SUMS line 1: not `<sha256>  <file name>`"
        ));
        fs::create_dir(dir.join("sub")).unwrap();
        assert!(has(&failures(&dir), "sub: not a regular file"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn never_panics_on_arbitrary_contents(
            table in proptest::collection::vec(any::<u8>(), 0..200),
            table_text in "[a-z0-9,\"\r\nTOTAL]{0,200}",
            manifest_text in "\\PC{0,100}",
        ) {
            let (_root, dir) = export(&good_extract(), good_table());
            fs::write(dir.join(TABLE), &table).unwrap();
            prop_assert!(verify(&dir).is_err());
            fs::write(dir.join(TABLE), format!("month,channel,count,suppressed\r\n{table_text}")).unwrap();
            let _ = verify(&dir);
            fs::write(dir.join(MANIFEST), &manifest_text).unwrap();
            prop_assert!(verify(&dir).is_err());
        }
    }
}
