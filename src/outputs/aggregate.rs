//! Aggregate statistics tables computed from the same scan as the extract.
//!
//! Counts are kept per table in small maps keyed by codes (their size depends on months and
//! categories, never on rows). Distinct subscribers cannot be counted that way without holding
//! every pseudonym, so each certificate's subscriber pseudonym, issue month and active months
//! are spilled to bucket files chosen by the pseudonym; a subscriber always lands in the same
//! bucket, so distinct counts per bucket add up exactly and only one bucket is in memory at a time.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::error::{Error, IoContext, Result};
use crate::outputs::export::{self, Export};
use crate::outputs::manifest::{FileFacts, Privacy, TableFacts, TableKind};
use crate::privacy::{Published, TOTAL, Table};
use crate::transform::category::{Category, UNKNOWN};
use crate::transform::generalize::Quasi;
use crate::transform::geography::{FOREIGN_BASE, prefecture_name};
use crate::transform::period::UNKNOWN_MONTH;
use crate::transform::record::{Pseudo, Record, SUBSCRIBER};
use crate::transform::revocation::{Revocation, RevocationStatus};

/// A dimension of the published tables: its column name and how codes become labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dim {
    Month,
    Year,
    ValidationType,
    Channel,
    KeyType,
    DomainClass,
    Validity,
    Prefecture,
    Reason,
}

/// Prefecture code of every subscriber abroad (the country itself is not published).
const ABROAD: u16 = FOREIGN_BASE;

impl Dim {
    fn name(self) -> &'static str {
        match self {
            Dim::Month => "month",
            Dim::Year => "year",
            Dim::ValidationType => "validation_type",
            Dim::Channel => "channel",
            Dim::KeyType => "key_type",
            Dim::DomainClass => "domain_class",
            Dim::Validity => "validity",
            Dim::Prefecture => "prefecture",
            Dim::Reason => "reason",
        }
    }

    fn quasi(self) -> Option<Quasi> {
        match self {
            Dim::ValidationType => Some(Quasi::ValidationType),
            Dim::Channel => Some(Quasi::Channel),
            Dim::KeyType => Some(Quasi::KeyType),
            Dim::DomainClass => Some(Quasi::DomainClass),
            Dim::Validity => Some(Quasi::Validity),
            Dim::Reason => Some(Quasi::Revocation),
            Dim::Month | Dim::Year | Dim::Prefecture => None,
        }
    }

    /// The code of an issued certificate in this dimension (months are issue months).
    fn of(self, r: &Record) -> u16 {
        match (self, self.quasi()) {
            (_, Some(q)) => q.generalize(r.qi[q as usize], 0),
            (Dim::Month, _) => r.issued_month,
            (Dim::Year, _) => year_of(r.issued_month),
            _ => prefecture_code(r.region),
        }
    }

    fn label(self, code: u16) -> String {
        match (self, self.quasi()) {
            (_, Some(q)) => q.label(code, 0),
            (Dim::Month, _) => Quasi::Issued.label(code, 0),
            (Dim::Year, _) if code == UNKNOWN_MONTH => "unknown".to_owned(),
            (Dim::Year, _) => (2000 + u32::from(code)).to_string(),
            _ => match (code, prefecture_name(code)) {
                (_, Some(name)) => format!("{code:02} {name}"),
                (ABROAD, None) => "abroad".to_owned(),
                _ => "unknown".to_owned(),
            },
        }
    }

    /// Whether the dimension is a time axis, published as a gap-free range of periods.
    fn is_time(self) -> bool {
        matches!(self, Dim::Month | Dim::Year)
    }

    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Dim::Month => (
                "text `YYYY-MM` (UTC), `unknown`, `TOTAL`",
                "calendar month; see the table for which event it dates",
                "generalized: exact times reduced to the month (exact times would join to CT logs)",
            ),
            Dim::Year => (
                "text `YYYY` (UTC), `unknown`, `TOTAL`",
                "calendar year of issue",
                "generalized: exact times reduced to the year",
            ),
            Dim::ValidationType => (
                "text `DV`, `OV`, `unknown`, `TOTAL`",
                "validation type of the certificate",
                "category of the certificate, not of a person",
            ),
            Dim::Channel => (
                "text `operator`, `acme`, `other`, `unknown`, `TOTAL`",
                "issuance channel: a designated operator, the ACME service, or another channel",
                "category of the certificate, not of a person",
            ),
            Dim::KeyType => (
                "text such as `RSA-2048`, `ECDSA-P256`, `other`, `unknown`, `TOTAL`",
                "public key algorithm and size",
                "category of the certificate, not of a person",
            ),
            Dim::DomainClass => (
                "text such as `co.jp`, `ac.jp`, `general.jp`, `prefecture.jp`, `other`, `unknown`, `TOTAL`",
                "class of the certificate's domain name in the .jp namespace",
                "generalized: the domain name itself is dropped (it links to CT logs)",
            ),
            Dim::Validity => (
                "text `<=47d`, `<=100d`, `<=200d`, `<=398d`, `>398d`, `unknown`, `TOTAL`",
                "validity period bucket on the CA/Browser Forum limits (notBefore through notAfter inclusive)",
                "generalized: exact validity times dropped",
            ),
            Dim::Prefecture => (
                "text `NN name` (JIS X 0401 code and name), `abroad`, `unknown`, `TOTAL`",
                "prefecture of the subscriber's address; every foreign country is `abroad`",
                "generalized: the postal address is reduced to the prefecture, the country to `abroad`",
            ),
            Dim::Reason => (
                "text RFC 5280 CRLReason name (`keyCompromise`, `superseded`, …), `unspecified`, `other`, `TOTAL`",
                "revocation reason",
                "category of the revocation, not of a person",
            ),
        }
    }
}

fn year_of(month: u16) -> u16 {
    if month == UNKNOWN_MONTH {
        UNKNOWN_MONTH
    } else {
        month / 12
    }
}

fn prefecture_code(region: u16) -> u16 {
    match region {
        1..=47 => region,
        r if r >= FOREIGN_BASE => ABROAD,
        _ => UNKNOWN,
    }
}

/// What one published table counts.
struct Spec {
    name: &'static str,
    population: &'static str,
    dims: &'static [Dim],
    what: &'static str,
}

const ISSUED_POPULATION: &str = "issued_certificates";
const ISSUED_WHAT: &str = "Certificates issued, by month of issue (issuance time, else notBefore). \
     Every `issued_*` table counts the same certificates: their month totals and grand totals are the \
     same numbers, and a total suppressed in one is suppressed in all.";

const ISSUED: [Spec; 6] = [
    Spec {
        name: "issued_by_month_type_channel",
        population: ISSUED_POPULATION,
        dims: &[Dim::Month, Dim::ValidationType, Dim::Channel],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_month_channel",
        population: ISSUED_POPULATION,
        dims: &[Dim::Month, Dim::Channel],
        what: "Certificates issued per month by channel. The ACME (or operator) share of a month is \
               `count(month, acme) / count(month, TOTAL)`; compute it only where both are published.",
    },
    Spec {
        name: "issued_by_month_key_type",
        population: ISSUED_POPULATION,
        dims: &[Dim::Month, Dim::KeyType],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_month_domain_class",
        population: ISSUED_POPULATION,
        dims: &[Dim::Month, Dim::DomainClass],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_month_validity",
        population: ISSUED_POPULATION,
        dims: &[Dim::Month, Dim::Validity],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_year_prefecture_type",
        population: ISSUED_POPULATION,
        dims: &[Dim::Year, Dim::Prefecture, Dim::ValidationType],
        what: "Certificates issued per year by the subscriber's prefecture and validation type.",
    },
];

const ACTIVE: Spec = Spec {
    name: "active_by_month_type",
    population: "active_certificates",
    dims: &[Dim::Month, Dim::ValidationType],
    what: "Certificates active at the end of each month (the first instant of the next month): \
           notBefore <= month end < notAfter and not revoked by then. Only months that have ended \
           by the run are reported. Certificates without notBefore or notAfter are not counted.",
};

const REVOKED: Spec = Spec {
    name: "revocations_by_month_reason",
    population: "revocations",
    dims: &[Dim::Month, Dim::Reason],
    what: "Revocations by month of revocation and RFC 5280 reason (`unknown` month: a reason is \
           recorded without a revocation time).",
};

const SUBSCRIBERS_ACTIVE: Spec = Spec {
    name: "subscribers_active_by_month",
    population: "active_subscribers",
    dims: &[Dim::Month],
    what: "Distinct subscribers with a certificate active (valid and not yet revoked) at some point \
           in the month, counted on subscriber pseudonyms. The `TOTAL` row sums the months \
           (subscriber-months), it is not a distinct count over the whole period.",
};

const SUBSCRIBERS_NEW: Spec = Spec {
    name: "subscribers_new_by_month",
    population: "new_subscribers",
    dims: &[Dim::Month],
    what: "Distinct subscribers by the month of their first certificate's issue, counted on \
           subscriber pseudonyms; the `TOTAL` row is the number of distinct subscribers.",
};

fn specs() -> impl Iterator<Item = &'static Spec> {
    ISSUED
        .iter()
        .chain([&ACTIVE, &REVOKED, &SUBSCRIBERS_ACTIVE, &SUBSCRIBERS_NEW])
}

/// Counts of one table, keyed by the codes of its dimensions (unused positions are 0).
struct Counter {
    spec: &'static Spec,
    cells: FxHashMap<[u16; 3], u64>,
}

impl Counter {
    fn new(spec: &'static Spec) -> Counter {
        Counter {
            spec,
            cells: FxHashMap::default(),
        }
    }

    fn add(&mut self, key: [u16; 3], n: u64) {
        *self.cells.entry(key).or_default() += n;
    }

    /// The table with every combination of the labels seen in each dimension (time axes
    /// without gaps), zeros included: a missing row would otherwise be ambiguous.
    fn into_table(self) -> Table {
        let dims = self.spec.dims;
        let axes: Vec<Vec<u16>> = (0..dims.len())
            .map(|i| axis(dims[i], self.cells.keys().map(|key| key[i])))
            .collect();
        let mut cells = BTreeMap::new();
        let mut key = [0u16; 3];
        product(&axes, 0, &mut key, &mut |key| {
            let labels = (0..dims.len()).map(|i| dims[i].label(key[i])).collect();
            let count = self.cells.get(key).copied().unwrap_or(0);
            *cells.entry(labels).or_insert(0) += count;
        });
        Table {
            name: self.spec.name.to_owned(),
            population: self.spec.population.to_owned(),
            dims: dims.iter().map(|d| d.name().to_owned()).collect(),
            cells,
        }
    }
}

/// The codes a dimension is published with: those seen, and every period between the first and
/// the last on a time axis.
fn axis(dim: Dim, seen: impl Iterator<Item = u16>) -> Vec<u16> {
    let seen: BTreeSet<u16> = seen.collect();
    if !dim.is_time() {
        return seen.into_iter().collect();
    }
    let known = seen.range(..UNKNOWN_MONTH);
    let mut codes: Vec<u16> = match (known.clone().next(), known.last()) {
        (Some(&first), Some(&last)) => (first..=last).collect(),
        _ => Vec::new(),
    };
    if seen.contains(&UNKNOWN_MONTH) {
        codes.push(UNKNOWN_MONTH);
    }
    codes
}

fn product(axes: &[Vec<u16>], at: usize, key: &mut [u16; 3], f: &mut impl FnMut(&[u16; 3])) {
    if at == axes.len() {
        f(key);
        return;
    }
    for &code in &axes[at] {
        key[at] = code;
        product(axes, at + 1, key, f);
    }
}

/// Months as signed indexes from 2000-01, so spans reaching before 2000 can be clipped.
fn month_index(ts: DateTime<Utc>) -> i64 {
    (i64::from(ts.year()) - 2000) * 12 + i64::from(ts.month0())
}

/// The first month that starts at or after `ts`.
fn month_ceil(ts: DateTime<Utc>) -> i64 {
    let at_start = ts.day() == 1 && ts.num_seconds_from_midnight() == 0 && ts.nanosecond() == 0;
    month_index(ts) + i64::from(!at_start)
}

fn month_code(index: i64) -> u16 {
    index.clamp(0, i64::from(UNKNOWN_MONTH - 1)) as u16
}

/// Buckets of the distinct-subscriber spill.
const BUCKETS: usize = 64;
/// Spilled entry: subscriber pseudonym, issue month, first and last active month (`UNKNOWN_MONTH`
/// where absent), little-endian.
const ENTRY: usize = 16 + 2 + 2 + 2;
const NO_MONTH: u16 = UNKNOWN_MONTH;

/// The statistics of one scan.
pub(crate) struct Aggregates {
    as_of: DateTime<Utc>,
    as_of_month: i64,
    issued: Vec<Counter>,
    revoked: Counter,
    /// Change in certificates active at the end of (validation type, month).
    active_delta: FxHashMap<(u16, i64), i64>,
    spill_dir: tempfile::TempDir,
    buckets: Vec<BufWriter<File>>,
    entry: Vec<u8>,
}

impl Aggregates {
    /// `as_of` is the run time: later months are not reported. The spill files live in a
    /// hidden `.tmp-subscribers-*` directory under `spill_dir`, removed by `finish` or on drop,
    /// and by the next run's export cleanup if this one crashes.
    pub(crate) fn new(spill_dir: &Path, as_of: DateTime<Utc>) -> Result<Aggregates> {
        std::fs::create_dir_all(spill_dir).at(spill_dir)?;
        let dir = tempfile::Builder::new()
            .prefix(".tmp-subscribers-")
            .tempdir_in(spill_dir)
            .at(spill_dir)?;
        let buckets = (0..BUCKETS)
            .map(|i| {
                let path = bucket_path(dir.path(), i);
                File::create(&path)
                    .map(|f| BufWriter::with_capacity(1 << 16, f))
                    .at(&path)
            })
            .collect::<Result<_>>()?;
        Ok(Aggregates {
            as_of,
            as_of_month: month_index(as_of),
            issued: ISSUED.iter().map(Counter::new).collect(),
            revoked: Counter::new(&REVOKED),
            active_delta: FxHashMap::default(),
            spill_dir: dir,
            buckets,
            entry: Vec::with_capacity(ENTRY),
        })
    }

    /// Counts one certificate.
    pub(crate) fn add(&mut self, r: &Record) -> Result<()> {
        let issued = (r.issued_month == UNKNOWN_MONTH
            || i64::from(r.issued_month) <= self.as_of_month)
            .then_some(r.issued_month);
        if issued.is_some() {
            for counter in &mut self.issued {
                let mut key = [0u16; 3];
                for (slot, dim) in key.iter_mut().zip(counter.spec.dims) {
                    *slot = dim.of(r);
                }
                counter.add(key, 1);
            }
        }
        self.add_revocation(r);
        let ended = r.not_after.map(|a| r.revoked_at.map_or(a, |v| a.min(v)));
        let (Some(not_before), Some(ended)) = (r.not_before, ended) else {
            return self.spill(r, issued, None);
        };
        self.add_active_certificate(r, not_before, ended);
        let until = ended.min(self.as_of);
        let months = (not_before < until).then(|| {
            let first = month_index(not_before).max(0);
            let last = (month_ceil(until) - 1).min(self.as_of_month);
            (first, last)
        });
        self.spill(r, issued, months.filter(|(f, l)| f <= l))
    }

    fn add_revocation(&mut self, r: &Record) {
        let reason = Dim::Reason.of(r);
        if Revocation::from_code(reason).status() != RevocationStatus::Revoked {
            return;
        }
        let month = match r.revoked_at.map(month_index) {
            None => UNKNOWN_MONTH,
            Some(index) if index > self.as_of_month => return,
            Some(index) => month_code(index),
        };
        self.revoked.add([month, reason, 0], 1);
    }

    /// Month m's end is the start of m + 1; the certificate is active there when
    /// `not_before <= end < ended`, for months that have ended by `as_of`.
    fn add_active_certificate(
        &mut self,
        r: &Record,
        not_before: DateTime<Utc>,
        ended: DateTime<Utc>,
    ) {
        let first = (month_ceil(not_before) - 1).max(0);
        let last = (month_ceil(ended) - 2).min(self.as_of_month - 1);
        if first > last {
            return;
        }
        let vt = Dim::ValidationType.of(r);
        *self.active_delta.entry((vt, first)).or_default() += 1;
        *self.active_delta.entry((vt, last + 1)).or_default() -= 1;
    }

    fn spill(&mut self, r: &Record, issued: Option<u16>, months: Option<(i64, i64)>) -> Result<()> {
        let Pseudo::Value(subscriber) = r.pseudonyms[SUBSCRIBER] else {
            return Ok(());
        };
        let issued = issued.unwrap_or(NO_MONTH);
        if issued == NO_MONTH && months.is_none() {
            return Ok(());
        }
        let (first, last) = months.map_or((NO_MONTH, NO_MONTH), |(f, l)| {
            (month_code(f), month_code(l))
        });
        self.entry.clear();
        self.entry.extend_from_slice(&subscriber);
        for m in [issued, first, last] {
            self.entry.extend_from_slice(&m.to_le_bytes());
        }
        let bucket = usize::from(subscriber[0]) % BUCKETS;
        self.buckets[bucket]
            .write_all(&self.entry)
            .at(bucket_path(self.spill_dir.path(), bucket))
    }

    /// The raw (unsuppressed) tables, in a fixed order.
    pub(crate) fn finish(self) -> Result<Vec<Table>> {
        let Aggregates {
            as_of: _,
            as_of_month,
            issued,
            revoked,
            active_delta,
            spill_dir,
            buckets,
            entry: _,
        } = self;
        let mut tables: Vec<Table> = issued.into_iter().map(Counter::into_table).collect();
        tables.push(active_table(
            &active_delta.into_iter().collect(),
            as_of_month - 1,
        ));
        tables.push(revoked.into_table());
        let (active, new) = count_subscribers(spill_dir.path(), buckets)?;
        tables.push(active.into_table());
        tables.push(new.into_table());
        Ok(tables)
    }
}

fn bucket_path(dir: &Path, bucket: usize) -> PathBuf {
    dir.join(format!("bucket-{bucket:02}"))
}

fn active_table(delta: &BTreeMap<(u16, i64), i64>, last: i64) -> Table {
    let mut counter = Counter::new(&ACTIVE);
    let first = delta.keys().map(|&(_, m)| m).min().unwrap_or(0);
    let types: BTreeSet<u16> = delta.keys().map(|&(vt, _)| vt).collect();
    for vt in types {
        let mut active = 0i64;
        let mut changes = delta.range((vt, first)..=(vt, last)).peekable();
        for month in first..=last {
            while let Some((_, d)) = changes.next_if(|((_, m), _)| *m <= month) {
                active += d;
            }
            counter.add([month_code(month), vt, 0], active.max(0) as u64);
        }
    }
    counter.into_table()
}

/// Distinct subscribers active per month and new per month, one bucket at a time.
fn count_subscribers(dir: &Path, buckets: Vec<BufWriter<File>>) -> Result<(Counter, Counter)> {
    let mut active = Counter::new(&SUBSCRIBERS_ACTIVE);
    let mut new = Counter::new(&SUBSCRIBERS_NEW);
    let mut active_delta: BTreeMap<u16, i64> = BTreeMap::new();
    for (i, bucket) in buckets.into_iter().enumerate() {
        let path = bucket_path(dir, i);
        bucket
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        let bytes = std::fs::read(&path).at(&path)?;
        std::fs::remove_file(&path).at(&path)?;
        let mut entries: Vec<([u8; 16], u16, u16, u16)> = bytes
            .chunks_exact(ENTRY)
            .map(|e| {
                let month = |at: usize| u16::from_le_bytes([e[at], e[at + 1]]);
                let mut subscriber = [0u8; 16];
                subscriber.copy_from_slice(&e[..16]);
                (subscriber, month(18), month(20), month(16))
            })
            .collect();
        // By subscriber, then by first active month, so active spans merge in one pass.
        entries.sort_unstable();
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            if let Some(first_issue) = group.iter().map(|e| e.3).filter(|&m| m != NO_MONTH).min() {
                new.add([first_issue, 0, 0], 1);
            }
            let mut span: Option<(u16, u16)> = None;
            for &(_, first, last, _) in group.iter().filter(|e| e.1 != NO_MONTH) {
                span = match span {
                    Some((a, b)) if first <= b.saturating_add(1) => Some((a, b.max(last))),
                    done => {
                        close_span(done, &mut active_delta);
                        Some((first, last))
                    }
                };
            }
            close_span(span, &mut active_delta);
        }
    }
    if let (Some(&first), Some(&end)) = (active_delta.keys().next(), active_delta.keys().last()) {
        let mut n = 0i64;
        for month in first..end {
            n += active_delta.get(&month).copied().unwrap_or(0);
            active.add([month, 0, 0], n.max(0) as u64);
        }
    }
    Ok((active, new))
}

fn close_span(span: Option<(u16, u16)>, delta: &mut BTreeMap<u16, i64>) {
    if let Some((first, last)) = span {
        *delta.entry(first).or_default() += 1;
        *delta.entry(last + 1).or_default() -= 1;
    }
}

/// Writes one CSV per table (long format: dimensions, `count`, `suppressed`; interior rows
/// first, then margins, each sorted) and the data dictionary describing them.
pub(crate) fn write(export: &mut Export, published: &[Published]) -> Result<()> {
    for table in published {
        let mut header: Vec<&str> = table.dims.iter().map(String::as_str).collect();
        header.extend(["count", "suppressed"]);
        let mut csv = export.csv(&file_name(&table.name), &header)?;
        let mut cells: Vec<_> = table.cells.iter().collect();
        cells.sort_by_cached_key(|c| (c.key.iter().filter(|l| *l == TOTAL).count(), c.key.clone()));
        for cell in cells {
            let count = cell.count.map(|c| c.to_string()).unwrap_or_default();
            let suppressed = if cell.count.is_some() {
                "false"
            } else {
                "true"
            };
            let row = cell
                .key
                .iter()
                .map(String::as_str)
                .chain([count.as_str(), suppressed]);
            csv.write(row)?;
        }
        export.add(csv.finish()?);
    }
    export.write(export::DICTIONARY, dictionary(published).as_bytes())
}

/// The CSV file name of a table.
pub(crate) fn file_name(table: &str) -> String {
    format!("{table}.csv")
}

/// The manifest's `privacy` object of an aggregates export: per CSV file, its dimensions, k,
/// the cells suppressed and its population (tables of one population share margins, and
/// `verify` audits them together).
pub(crate) fn privacy_facts(published: &[Published], k: u64) -> Privacy {
    published
        .iter()
        .map(|t| {
            let facts = TableFacts {
                cells: t.cells.len(),
                dims: t.dims.clone(),
                k,
                kind: TableKind::Table,
                population: t.population.clone(),
                primary_suppressed: t.primary,
                secondary_suppressed: t.secondary,
            };
            (file_name(&t.name), FileFacts::Table(facts))
        })
        .collect()
}

/// DATA_DICTIONARY.md for the tables: every column, its meaning and the privacy rule it meets.
pub(crate) fn dictionary(published: &[Published]) -> String {
    let mut md = String::from(
        "# Data dictionary: aggregate statistics\n\n\
         Every file is a table in long format (RFC 4180 CSV, UTF-8, header row): one column per \
         dimension, then `count` and `suppressed`. Rows holding `TOTAL` in a dimension are \
         marginal totals over that dimension; the row with `TOTAL` everywhere is the grand total.\n\n\
         Privacy rules (APPI anonymously processed information; k is `policy.k` in manifest.json):\n\n\
         - No person appears: rows count certificates, revocations or subscribers; names, \
         addresses, e-mail addresses, phone numbers, serial numbers, domain names and exact times \
         are not published.\n\
         - Every published count is 0 or at least k (primary suppression).\n\
         - Further cells are suppressed so that no suppressed cell can be recovered from the \
         published counts and totals, alone or combined (secondary suppression, checked by a \
         linear-programming audit).\n\
         - Distinct-subscriber counts are taken on keyed pseudonyms, never on raw identifiers.\n",
    );
    for table in published {
        let spec = specs().find(|s| s.name == table.name);
        let _ = write!(md, "\n## {}\n\n", file_name(&table.name));
        if let Some(spec) = spec {
            let _ = writeln!(md, "{}\n", spec.what);
        }
        let _ = writeln!(
            md,
            "Cells suppressed: {} primary, {} secondary.\n",
            table.primary, table.secondary
        );
        md.push_str("| column | type | meaning | privacy rule |\n|---|---|---|---|\n");
        for name in &table.dims {
            let dim = spec.and_then(|s| s.dims.iter().find(|d| d.name() == name));
            let (kind, meaning, rule) = dim
                .map_or(("text", "dimension", "generalized category"), |d| {
                    d.describe()
                });
            let _ = writeln!(md, "| `{name}` | {kind} | {meaning} | {rule} |");
        }
        md.push_str(
            "| `count` | integer; empty when suppressed | number counted in the cell | 0 or ≥ k; \
             suppressed cells are empty |\n\
             | `suppressed` | `true` / `false` | whether the cell's count is withheld | primary \
             or secondary cell suppression |\n",
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::manifest::Manifest;
    use crate::privacy::PublishedCell;
    use crate::transform::category::{Channel, SubscriberKind, ValidationType};
    use crate::transform::domain::DomainClass;
    use crate::transform::key_type::KeyType;
    use crate::transform::period::{self, ValidityBucket};
    use crate::transform::record::NPSEUDO;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn utc(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap()
    }

    /// A DV, ACME, RSA-2048, co.jp certificate for subscriber `s`, valid 90 days from `nb`.
    fn cert(s: u8, nb: DateTime<Utc>) -> Record {
        let mut qi = [0u16; crate::transform::record::NQI];
        qi[Quasi::SubscriberKind as usize] = SubscriberKind::Individual.code();
        qi[Quasi::Region as usize] = 13;
        qi[Quasi::Channel as usize] = Channel::Acme.code();
        qi[Quasi::ValidationType as usize] = ValidationType::Dv.code();
        qi[Quasi::Issued as usize] = period::month_code(nb);
        qi[Quasi::Validity as usize] = ValidityBucket::D100.code();
        qi[Quasi::KeyType as usize] = KeyType::Rsa2048.code();
        qi[Quasi::DomainClass as usize] = DomainClass::CoJp.code();
        qi[Quasi::Revocation as usize] = Revocation::NotRevoked.code();
        let mut pseudonyms = [Pseudo::Null; NPSEUDO];
        pseudonyms[SUBSCRIBER] = Pseudo::Value([
            s.wrapping_mul(37),
            s,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            13,
            14,
        ]);
        Record {
            qi,
            pseudonyms,
            issued_month: period::month_code(nb),
            not_before: Some(nb),
            not_after: Some(nb + chrono::Duration::days(90)),
            revoked_at: None,
            region: 13,
        }
    }

    fn set(r: &mut Record, q: Quasi, code: u16) {
        r.qi[q as usize] = code;
    }

    fn run(records: &[Record], as_of: DateTime<Utc>) -> BTreeMap<String, Table> {
        let dir = tempfile::tempdir().unwrap();
        let task_dir = dir.path().join("task");
        let mut agg = Aggregates::new(&task_dir, as_of).unwrap();
        for r in records {
            agg.add(r).unwrap();
        }
        let tables = agg.finish().unwrap();
        assert_eq!(
            std::fs::read_dir(&task_dir).unwrap().count(),
            0,
            "finish removes the spill files"
        );
        tables.into_iter().map(|t| (t.name.clone(), t)).collect()
    }

    fn cell(t: &Table, key: &[&str]) -> u64 {
        let key: Vec<String> = key.iter().map(|s| s.to_string()).collect();
        *t.cells
            .get(&key)
            .unwrap_or_else(|| panic!("{} has no cell {key:?}", t.name))
    }

    fn nonzero(t: &Table) -> BTreeMap<Vec<String>, u64> {
        t.cells
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(k, c)| (k.clone(), *c))
            .collect()
    }

    #[test]
    fn quasi_discriminants_index_the_record() {
        for (i, q) in Quasi::ALL.iter().enumerate() {
            assert_eq!(*q as usize, i);
        }
    }

    #[test]
    fn issued_tables_count_by_month_and_category() {
        let mut ov = cert(2, utc(2026, 1, 20, 0));
        set(&mut ov, Quasi::ValidationType, ValidationType::Ov.code());
        set(&mut ov, Quasi::Channel, Channel::Operator.code());
        ov.region = FOREIGN_BASE + 20 * 26 + 18;
        let mut unknown_region = cert(3, utc(2026, 3, 2, 0));
        unknown_region.region = UNKNOWN;
        let future = cert(4, utc(2026, 5, 1, 0));
        let records = [
            cert(1, utc(2026, 1, 5, 0)),
            cert(1, utc(2026, 1, 31, 23)),
            ov,
            unknown_region,
            future,
        ];
        let t = run(&records, utc(2026, 4, 10, 0));
        let by_type = &t["issued_by_month_type_channel"];
        assert_eq!(by_type.dims, ["month", "validation_type", "channel"]);
        assert_eq!(cell(by_type, &["2026-01", "DV", "acme"]), 2);
        assert_eq!(cell(by_type, &["2026-01", "OV", "operator"]), 1);
        // Gap-free months, every combination of the labels seen, zeros included.
        assert_eq!(cell(by_type, &["2026-02", "DV", "acme"]), 0);
        assert_eq!(cell(by_type, &["2026-03", "OV", "acme"]), 0);
        assert_eq!(
            by_type.cells.len(),
            3 * 2 * 2,
            "May is after the run and not reported"
        );
        assert_eq!(by_type.cells.values().sum::<u64>(), 4);
        let by_channel = &t["issued_by_month_channel"];
        assert_eq!(cell(by_channel, &["2026-01", "acme"]), 2);
        assert_eq!(cell(by_channel, &["2026-03", "acme"]), 1);
        assert_eq!(
            cell(&t["issued_by_month_key_type"], &["2026-01", "RSA-2048"]),
            3
        );
        assert_eq!(
            cell(&t["issued_by_month_domain_class"], &["2026-03", "co.jp"]),
            1
        );
        assert_eq!(
            cell(&t["issued_by_month_validity"], &["2026-01", "<=100d"]),
            3
        );
        let pref = &t["issued_by_year_prefecture_type"];
        assert_eq!(pref.dims, ["year", "prefecture", "validation_type"]);
        assert_eq!(cell(pref, &["2026", "13 東京都", "DV"]), 2);
        assert_eq!(cell(pref, &["2026", "abroad", "OV"]), 1);
        assert_eq!(cell(pref, &["2026", "unknown", "DV"]), 1);
        for name in ISSUED.map(|s| s.name) {
            assert_eq!(t[name].population, "issued_certificates");
            assert_eq!(
                t[name].cells.values().sum::<u64>(),
                4,
                "{name}: same certificates"
            );
        }
    }

    #[test]
    fn unknown_issue_month_is_its_own_row() {
        let mut r = cert(1, utc(2025, 6, 1, 0));
        r.issued_month = UNKNOWN_MONTH;
        let t = run(&[r, cert(2, utc(2025, 7, 1, 0))], utc(2026, 1, 1, 0));
        let by_channel = &t["issued_by_month_channel"];
        assert_eq!(cell(by_channel, &["unknown", "acme"]), 1);
        assert_eq!(cell(by_channel, &["2025-07", "acme"]), 1);
        assert_eq!(
            cell(
                &t["issued_by_year_prefecture_type"],
                &["unknown", "13 東京都", "DV"]
            ),
            1
        );
        assert_eq!(
            nonzero(&t["subscribers_new_by_month"]).len(),
            1,
            "no issue month, not new"
        );
    }

    #[test]
    fn active_at_month_end_edges() {
        let jan15 = utc(2026, 1, 15, 0);
        let mut expires_at_end_of_feb = cert(1, jan15);
        expires_at_end_of_feb.not_after = Some(utc(2026, 3, 1, 0));
        let mut revoked_mid_feb = cert(2, jan15);
        revoked_mid_feb.not_after = Some(utc(2026, 12, 1, 0));
        revoked_mid_feb.revoked_at = Some(utc(2026, 2, 10, 0));
        let mut revoked_at_month_end = cert(3, jan15);
        revoked_at_month_end.revoked_at = Some(utc(2026, 2, 1, 0));
        let mut starts_at_month_end = cert(4, utc(2026, 2, 1, 0));
        starts_at_month_end.not_after = Some(utc(2027, 1, 1, 0));
        let mut no_not_after = cert(5, jan15);
        no_not_after.not_after = None;
        let records = [
            expires_at_end_of_feb,
            revoked_mid_feb,
            revoked_at_month_end,
            starts_at_month_end,
            no_not_after,
        ];
        let t = run(&records, utc(2026, 4, 15, 0));
        let active = &t["active_by_month_type"];
        // End of January (Feb 1): 1, 2 and 4 (4 starts exactly then); 3 was revoked then.
        assert_eq!(cell(active, &["2026-01", "DV"]), 3);
        // End of February (Mar 1): 1 expired exactly then, 2 revoked, only 4.
        assert_eq!(cell(active, &["2026-02", "DV"]), 1);
        assert_eq!(cell(active, &["2026-03", "DV"]), 1);
        assert!(
            !active.cells.keys().any(|k| k[0] == "2026-04"),
            "April has not ended at the run"
        );
    }

    #[test]
    fn revocations_by_month_and_reason() {
        let mut a = cert(1, utc(2026, 1, 1, 0));
        a.revoked_at = Some(utc(2026, 2, 3, 0));
        set(&mut a, Quasi::Revocation, Revocation::KeyCompromise.code());
        let mut b = cert(2, utc(2026, 1, 1, 0));
        set(&mut b, Quasi::Revocation, Revocation::Superseded.code());
        let mut later = cert(3, utc(2026, 1, 1, 0));
        later.revoked_at = Some(utc(2026, 9, 1, 0));
        set(&mut later, Quasi::Revocation, Revocation::Superseded.code());
        let t = run(
            &[a, b, later, cert(4, utc(2026, 1, 1, 0))],
            utc(2026, 3, 1, 0),
        );
        let revoked = &t["revocations_by_month_reason"];
        assert_eq!(
            nonzero(revoked),
            BTreeMap::from([
                (vec!["2026-02".to_string(), "keyCompromise".to_string()], 1),
                (vec!["unknown".to_string(), "superseded".to_string()], 1),
            ])
        );
    }

    #[test]
    fn write_emits_long_format_with_margins_last_and_a_dictionary() {
        let published = Published {
            name: "issued_by_month_channel".into(),
            population: ISSUED_POPULATION.into(),
            dims: vec!["month".into(), "channel".into()],
            cells: [
                (["TOTAL", "TOTAL"], Some(12)),
                (["2026-01", "acme"], Some(7)),
                (["2026-01", "TOTAL"], Some(12)),
                (["2026-01", "operator"], None),
                (["TOTAL", "acme"], Some(7)),
                (["TOTAL", "operator"], None),
            ]
            .into_iter()
            .map(|(key, count)| PublishedCell {
                key: key.map(String::from).to_vec(),
                count,
                primary: count.is_none(),
                secondary: false,
            })
            .collect(),
            primary: 2,
            secondary: 0,
        };
        let root = tempfile::tempdir().unwrap();
        let mut export = Export::begin(root.path(), "stats", "r1").unwrap();
        write(&mut export, std::slice::from_ref(&published)).unwrap();
        let dir = export.commit_unverified(Manifest::example()).unwrap();
        let csv = std::fs::read_to_string(dir.join("issued_by_month_channel.csv")).unwrap();
        assert_eq!(
            csv,
            "month,channel,count,suppressed\r\n\
             2026-01,acme,7,false\r\n\
             2026-01,operator,,true\r\n\
             2026-01,TOTAL,12,false\r\n\
             TOTAL,acme,7,false\r\n\
             TOTAL,operator,,true\r\n\
             TOTAL,TOTAL,12,false\r\n"
        );
        let md = std::fs::read_to_string(dir.join(export::DICTIONARY)).unwrap();
        assert!(md.contains("## issued_by_month_channel.csv"));
        assert!(md.contains("| `channel` |") && md.contains("| `suppressed` |"));
        assert!(md.contains("count(month, acme) / count(month, TOTAL)"));
        let facts = privacy_facts(&[published], 5);
        assert!(matches!(
            facts["issued_by_month_channel.csv"],
            FileFacts::Table(TableFacts {
                primary_suppressed: 2,
                ..
            })
        ));
    }

    /// The whole path of the statistics: scan, gate, CSV files, and `certanon verify` agreeing.
    #[test]
    fn suppressed_tables_written_out_pass_verify() {
        let operator = Channel::Operator.code();
        let ov = ValidationType::Ov.code();
        let records: Vec<Record> = (0..600u32)
            .map(|i| {
                let nb = utc(2025, 10, 1, 0) + chrono::Duration::hours(i64::from(i * 7919 % 6000));
                let mut r = cert((i % 90) as u8, nb);
                if i % 3 == 0 {
                    set(&mut r, Quasi::Channel, operator);
                }
                if i % 11 == 0 {
                    set(&mut r, Quasi::ValidationType, ov);
                }
                if i % 17 == 0 {
                    r.revoked_at = Some(nb + chrono::Duration::days(i64::from(i % 40)));
                    set(
                        &mut r,
                        Quasi::Revocation,
                        Revocation::of(true, Some((i % 6) as i16)).code(),
                    );
                }
                r.region = [13, 13, 27, 14, 1, 47, 0, FOREIGN_BASE + 5][(i % 8) as usize];
                r
            })
            .collect();
        let tables = run(&records, utc(2026, 4, 15, 0));
        let tables: Vec<Table> = tables.into_values().collect();
        let published = crate::privacy::suppress_tables(&tables, 5).unwrap();
        assert!(
            published.iter().map(|p| p.primary).sum::<usize>() > 0,
            "the data has small cells to suppress"
        );
        let root = tempfile::tempdir().unwrap();
        let mut export = Export::begin(root.path(), "stats", "r1").unwrap();
        write(&mut export, &published).unwrap();
        let mut manifest = Manifest::example();
        manifest.privacy = privacy_facts(&published, 5);
        let dir = export.commit(manifest).unwrap();
        let report = crate::outputs::verify::verify(&dir).unwrap();
        assert_eq!(report.tables, tables.len());
        assert!(report.suppressed_cells > 0);
    }

    /// Start of month `index` (months since 2000-01, may be negative).
    fn month_start(index: i64) -> DateTime<Utc> {
        let (y, m) = (2000 + index.div_euclid(12), index.rem_euclid(12) + 1);
        utc(y as i32, m as u32, 1, 0)
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Month starts exactly, or somewhere inside a month, 1999-07 .. 2027-06.
        (-6i64..330, prop_oneof![Just(0i64), 0i64..28 * 86_400])
            .prop_map(|(m, s)| month_start(m) + chrono::Duration::seconds(s))
    }

    fn record() -> impl Strategy<Value = Record> {
        (
            prop_oneof![9 => (0u8..40).prop_map(Some), 1 => Just(None)],
            instant(),
            0i64..800,
            proptest::option::of(instant()),
            proptest::option::weighted(0.9, instant()),
        )
            .prop_map(|(s, nb, days, revoked, issued)| {
                let mut r = cert(s.unwrap_or(0), nb);
                if s.is_none() {
                    r.pseudonyms[SUBSCRIBER] = Pseudo::Null;
                }
                r.not_after = Some(nb + chrono::Duration::days(days));
                r.revoked_at = revoked;
                r.issued_month = issued.map_or(UNKNOWN_MONTH, period::month_code);
                r
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn distinct_subscribers_match_a_naive_count(
            records in proptest::collection::vec(record(), 0..60),
            as_of in instant(),
        ) {
            let t = run(&records, as_of);
            let as_of_month = month_index(as_of);
            let mut active: BTreeMap<Vec<String>, HashSet<Pseudo>> = BTreeMap::new();
            let mut first_issue: std::collections::HashMap<Pseudo, u16> = Default::default();
            for r in records.iter().filter(|r| r.pseudonyms[SUBSCRIBER] != Pseudo::Null) {
                let s = r.pseudonyms[SUBSCRIBER];
                let (nb, na) = (r.not_before.unwrap(), r.not_after.unwrap());
                let end = [Some(na), r.revoked_at, Some(as_of)].into_iter().flatten().min().unwrap();
                for m in 0..=as_of_month {
                    if nb < end && nb < month_start(m + 1) && end > month_start(m) {
                        active.entry(vec![Dim::Month.label(m as u16)]).or_default().insert(s);
                    }
                }
                if r.issued_month != UNKNOWN_MONTH && i64::from(r.issued_month) <= as_of_month {
                    let e = first_issue.entry(s).or_insert(r.issued_month);
                    *e = (*e).min(r.issued_month);
                }
            }
            let want_active: BTreeMap<_, _> =
                active.into_iter().map(|(k, v)| (k, v.len() as u64)).collect();
            prop_assert_eq!(nonzero(&t["subscribers_active_by_month"]), want_active);
            let mut want_new = BTreeMap::new();
            for m in first_issue.values() {
                *want_new.entry(vec![Dim::Month.label(*m)]).or_insert(0u64) += 1;
            }
            prop_assert_eq!(nonzero(&t["subscribers_new_by_month"]), want_new);
        }
    }
}
