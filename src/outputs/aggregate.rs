//! Aggregate statistics tables computed from the same scan as the extract.
//!
//! The scan spills each certificate as one fixed-size entry (subscriber pseudonym, the months it
//! counts in, its codes) to a bucket file chosen by the pseudonym, so a subscriber always lands
//! in one bucket. After the scan the buckets are read one at a time ([`tally`]): every count,
//! its number of distinct subscribers and the largest share one subscriber holds come out
//! exact, with one bucket in memory, and the privacy gate suppresses on all three.

mod bounded;
pub(crate) mod dp;
mod tally;

use std::collections::{BTreeMap, BTreeSet};

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::error::{IoContext, Result};
use crate::outputs::export::{self, Export};
use crate::outputs::manifest::{FileFacts, Privacy, SuppressedByRule, TableFacts, TableKind};
use crate::privacy::{Published, Rules, TOTAL, Table};
use crate::transform::category::{Category, UNKNOWN};
use crate::transform::generalize::Quasi;
use crate::transform::geography::{FOREIGN_BASE, prefecture_name};
use crate::transform::period::UNKNOWN_MONTH;
use crate::transform::record::{CERTIFICATE, Pseudo, Record, SUBSCRIBER};
use crate::transform::revocation::{Revocation, RevocationStatus};
use tally::{ACTIVE, ACTIVE_AT_END, Cells, Entry, ISSUED, KNOWN, REVOKED, TOTAL_CODE};

pub(crate) use bounded::Bound;
pub(crate) use dp::domain_labels as domain_labels_of;

/// What the aggregates of a scan publish from.
pub(crate) struct Tallied {
    /// The raw tables, for cell suppression.
    pub(crate) tables: Vec<Table>,
    /// Per contribution bound asked for, the bounded tables for differential privacy.
    pub(crate) bounded: Vec<Vec<dp::Bounded>>,
}

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

/// Number of `Dim`s: an entry holds one code per dimension.
const NDIM: usize = 9;

/// The dimensions whose code is the certificate's own (not the month of the table's event).
const CATEGORIES: [Dim; 7] = [
    Dim::ValidationType,
    Dim::Channel,
    Dim::KeyType,
    Dim::DomainClass,
    Dim::Validity,
    Dim::Prefecture,
    Dim::Reason,
];

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

/// The month code of a published `YYYY-MM`, if it is one.
pub(crate) fn month_code_of(label: &str) -> Option<u16> {
    let (year, month) = label.split_once('-')?;
    let (year, month): (u16, u16) = (year.parse().ok()?, month.parse().ok()?);
    let code = (year.checked_sub(2000)?) * 12 + month.checked_sub(1)?;
    (month <= 12 && code < UNKNOWN_MONTH && month_label(code) == label).then_some(code)
}

/// A month code as published: `YYYY-MM`.
pub(crate) fn month_label(code: u16) -> String {
    Dim::Month.label(code)
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
    unit: Unit,
    dims: &'static [Dim],
    what: &'static str,
}

/// The unit a table counts, which also dates its month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// Certificates, by issue month.
    Issued,
    /// Revocations, by revocation month.
    Revocations,
    /// Certificates active at the end of each month.
    ActiveCertificates,
    /// Subscribers with a certificate active at some point in each month.
    ActiveSubscribers,
    /// Subscribers, by the issue month of their first certificate.
    NewSubscribers,
}

impl Unit {
    /// Whether a subscriber counts once per cell however many certificates it holds there.
    fn counts_subscribers(self) -> bool {
        matches!(self, Unit::ActiveSubscribers | Unit::NewSubscribers)
    }
}

const ISSUED_POPULATION: &str = "issued_certificates";
const ISSUED_WHAT: &str = "Certificates issued, by month of issue (issuance time, else notBefore). \
     Every `issued_*` table counts the same certificates: their month totals and grand totals are the \
     same numbers, and a total suppressed in one is suppressed in all.";

const ISSUED_TABLES: [Spec; 6] = [
    Spec {
        name: "issued_by_month_type_channel",
        population: ISSUED_POPULATION,
        unit: Unit::Issued,
        dims: &[Dim::Month, Dim::ValidationType, Dim::Channel],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_month_channel",
        population: ISSUED_POPULATION,
        unit: Unit::Issued,
        dims: &[Dim::Month, Dim::Channel],
        what: "Certificates issued per month by channel. The ACME (or operator) share of a month is \
               `count(month, acme) / count(month, TOTAL)`; compute it only where both are published.",
    },
    Spec {
        name: "issued_by_month_key_type",
        population: ISSUED_POPULATION,
        unit: Unit::Issued,
        dims: &[Dim::Month, Dim::KeyType],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_month_domain_class",
        population: ISSUED_POPULATION,
        unit: Unit::Issued,
        dims: &[Dim::Month, Dim::DomainClass],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_month_validity",
        population: ISSUED_POPULATION,
        unit: Unit::Issued,
        dims: &[Dim::Month, Dim::Validity],
        what: ISSUED_WHAT,
    },
    Spec {
        name: "issued_by_year_prefecture_type",
        population: ISSUED_POPULATION,
        unit: Unit::Issued,
        dims: &[Dim::Year, Dim::Prefecture, Dim::ValidationType],
        what: "Certificates issued per year by the subscriber's prefecture and validation type.",
    },
];

const ACTIVE_CERTIFICATES: Spec = Spec {
    name: "active_by_month_type",
    population: "active_certificates",
    unit: Unit::ActiveCertificates,
    dims: &[Dim::Month, Dim::ValidationType],
    what: "Certificates active at the end of each month (the first instant of the next month): \
           notBefore <= month end < notAfter and not revoked by then. Only months that have ended \
           by the run are reported. Certificates without notBefore or notAfter are not counted.",
};

const REVOKED_CERTIFICATES: Spec = Spec {
    name: "revocations_by_month_reason",
    population: "revocations",
    unit: Unit::Revocations,
    dims: &[Dim::Month, Dim::Reason],
    what: "Revocations by month of revocation and RFC 5280 reason (`unknown` month: a reason is \
           recorded without a revocation time).",
};

const SUBSCRIBERS_ACTIVE: Spec = Spec {
    name: "subscribers_active_by_month",
    population: "active_subscribers",
    unit: Unit::ActiveSubscribers,
    dims: &[Dim::Month],
    what: "Distinct subscribers with a certificate active (valid and not yet revoked) at some point \
           in the month, counted on subscriber pseudonyms. The `TOTAL` row sums the months \
           (subscriber-months), it is not a distinct count over the whole period.",
};

const SUBSCRIBERS_NEW: Spec = Spec {
    name: "subscribers_new_by_month",
    population: "new_subscribers",
    unit: Unit::NewSubscribers,
    dims: &[Dim::Month],
    what: "Distinct subscribers by the month of their first certificate's issue, counted on \
           subscriber pseudonyms; the `TOTAL` row is the number of distinct subscribers.",
};

/// Whether `column` is a dimension some published table has: what `verify` lets a table hold
/// besides its counts.
pub(crate) fn is_dimension(column: &str) -> bool {
    specs().flat_map(|s| s.dims).any(|d| d.name() == column)
}

fn specs() -> impl Iterator<Item = &'static Spec> {
    ISSUED_TABLES.iter().chain([
        &ACTIVE_CERTIFICATES,
        &REVOKED_CERTIFICATES,
        &SUBSCRIBERS_ACTIVE,
        &SUBSCRIBERS_NEW,
    ])
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

/// Buckets of the spill.
const BUCKETS: usize = 64;

/// The statistics of one scan.
pub(crate) struct Aggregates {
    as_of: DateTime<Utc>,
    as_of_month: i64,
    spill_dir: tempfile::TempDir,
    buckets: Vec<BufWriter<File>>,
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
                let path = tally::bucket_path(dir.path(), i);
                File::create(&path)
                    .map(|f| BufWriter::with_capacity(1 << 16, f))
                    .at(&path)
            })
            .collect::<Result<_>>()?;
        Ok(Aggregates {
            as_of,
            as_of_month: month_index(as_of),
            spill_dir: dir,
            buckets,
        })
    }

    /// Counts one certificate: spills its entry, unless no table counts it.
    pub(crate) fn add(&mut self, r: &Record) -> Result<()> {
        let mut e = Entry::default();
        if let Pseudo::Value(subscriber) = r.pseudonyms[SUBSCRIBER] {
            e.subscriber = subscriber;
            e.flags |= KNOWN;
        }
        if let Pseudo::Value(certificate) = r.pseudonyms[CERTIFICATE] {
            e.rank = u64::from_le_bytes(certificate[..8].try_into().expect("8 bytes"));
        }
        for dim in CATEGORIES {
            e.codes[dim as usize] = dim.of(r);
        }
        if r.issued_month == UNKNOWN_MONTH || i64::from(r.issued_month) <= self.as_of_month {
            e.flags |= ISSUED;
            e.issued = r.issued_month;
        }
        if let Some(month) = self.revocation_month(r) {
            e.flags |= REVOKED;
            e.revoked = month;
        }
        let ended = r.not_after.map(|a| r.revoked_at.map_or(a, |v| a.min(v)));
        if let (Some(not_before), Some(ended)) = (r.not_before, ended) {
            // Month m's end is the start of m + 1; the certificate is active there when
            // `not_before <= end < ended`, for months that have ended by `as_of`.
            let first = (month_ceil(not_before) - 1).max(0);
            let last = (month_ceil(ended) - 2).min(self.as_of_month - 1);
            if first <= last {
                e.flags |= ACTIVE_AT_END;
                e.at_end = [month_code(first), month_code(last)];
            }
            let until = ended.min(self.as_of);
            let first = month_index(not_before).max(0);
            let last = (month_ceil(until) - 1).min(self.as_of_month);
            if not_before < until && first <= last {
                e.flags |= ACTIVE;
                e.active = [month_code(first), month_code(last)];
            }
        }
        if e.flags & !KNOWN == 0 {
            return Ok(());
        }
        let bucket = usize::from(e.subscriber[0]) % BUCKETS;
        self.buckets[bucket]
            .write_all(&e.encode())
            .at(tally::bucket_path(self.spill_dir.path(), bucket))
    }

    /// The month a revocation is counted in, if it is counted.
    fn revocation_month(&self, r: &Record) -> Option<u16> {
        let reason = Dim::Reason.of(r);
        if Revocation::from_code(reason).status() != RevocationStatus::Revoked {
            return None;
        }
        match r.revoked_at.map(month_index) {
            None => Some(UNKNOWN_MONTH),
            Some(index) if index > self.as_of_month => None,
            Some(index) => Some(month_code(index)),
        }
    }

    /// The raw (unsuppressed) tables with their contributors, in a fixed order, and the
    /// tables bounded by each of `bounds`.
    pub(crate) fn finish(self, bounds: &[Bound]) -> Result<Tallied> {
        let specs: Vec<&'static Spec> = specs().collect();
        let (tallied, bounded) = tally::tally(self.spill_dir.path(), self.buckets, &specs, bounds)?;
        // Months that ended with nothing active are still reported, as zeros.
        let last_ended = month_code(self.as_of_month - 1);
        let tables = specs
            .iter()
            .zip(&tallied)
            .map(|(spec, cells)| {
                let until = (spec.unit == Unit::ActiveCertificates).then_some(last_ended);
                into_table(spec, cells, until)
            })
            .collect();
        let bounded = bounds
            .iter()
            .zip(&bounded)
            .map(|(bound, counts)| dp::bounded(bound, counts))
            .collect();
        Ok(Tallied { tables, bounded })
    }

    /// The release window of a differentially private task: the `months` complete months
    /// before the run's.
    pub(crate) fn window(&self, months: u32) -> (u16, u16) {
        let last = self.as_of_month - 1;
        let first = last - i64::from(months) + 1;
        (month_code(first), month_code(last))
    }
}

/// The table with every combination of the labels seen in each dimension (time axes without
/// gaps, through `until` if given), zeros included: a missing row would otherwise be ambiguous.
fn into_table(spec: &Spec, tallied: &Cells, until: Option<u16>) -> Table {
    let dims = spec.dims;
    let interior: BTreeMap<[u32; 3], u64> = tallied
        .iter()
        .map(|(&key, stat)| (tally::unpack(key), stat.count))
        .filter(|(codes, _)| !codes[..dims.len()].contains(&TOTAL_CODE))
        .collect();
    let code = |c: u32| c as u16;
    let axes: Vec<Vec<u16>> = (0..dims.len())
        .map(|i| {
            let seen = interior.keys().map(|codes| code(codes[i]));
            let extra = until.filter(|_| dims[i].is_time() && !interior.is_empty());
            axis(dims[i], seen.chain(extra))
        })
        .collect();
    let label = |d: usize, c: u32| {
        if c == TOTAL_CODE {
            TOTAL.to_owned()
        } else {
            dims[d].label(code(c))
        }
    };
    let mut cells = BTreeMap::new();
    product(&axes, 0, &mut [0u16; 3], &mut |key| {
        let labels = (0..dims.len()).map(|d| dims[d].label(key[d])).collect();
        let codes = key.map(u32::from);
        cells.insert(labels, interior.get(&codes).copied().unwrap_or(0));
    });
    let contributors = tallied
        .iter()
        .map(|(&key, stat)| {
            let codes = tally::unpack(key);
            (
                (0..dims.len()).map(|d| label(d, codes[d])).collect(),
                stat.who,
            )
        })
        .collect();
    Table {
        name: spec.name.to_owned(),
        population: spec.population.to_owned(),
        dims: dims.iter().map(|d| d.name().to_owned()).collect(),
        cells,
        contributors,
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

/// The manifest's `privacy` object of an aggregates export: per CSV file, its dimensions, the
/// rules, the cells each rule suppressed and its population (tables of one population share
/// margins, and `verify` audits them together).
pub(crate) fn privacy_facts(published: &[Published], rules: Rules) -> Privacy {
    published
        .iter()
        .map(|t| {
            let facts = TableFacts {
                cells: t.cells.len(),
                dims: t.dims.clone(),
                dominance: Some(rules.dominance),
                k: rules.k,
                kind: TableKind::Table,
                population: t.population.clone(),
                primary_suppressed: t.primary,
                secondary_suppressed: t.secondary,
                suppressed_by_rule: Some(SuppressedByRule {
                    dominance: t.by_rule.dominance,
                    few_subscribers: t.by_rule.few_contributors,
                    secondary: t.secondary,
                    small_count: t.by_rule.small_count,
                }),
            };
            (file_name(&t.name), FileFacts::Table(facts))
        })
        .collect()
}

/// Starts a table's section of a data dictionary: its file name and what it counts.
fn dictionary_heading(md: &mut String, table: &str) -> Option<&'static Spec> {
    let spec = specs().find(|s| s.name == table);
    let _ = write!(md, "\n## {}\n\n", file_name(table));
    if let Some(spec) = spec {
        let _ = writeln!(md, "{}\n", spec.what);
    }
    spec
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
         - Every published count is 0 or at least k, comes from at least k distinct subscribers, \
         and no single subscriber holds more than `dominance` (manifest.json) of it; other counts \
         are suppressed (primary suppression). Marginal totals meet the same rules.\n\
         - Further cells are suppressed so that no suppressed cell can be recovered from the \
         published counts and totals, alone or combined (secondary suppression, checked by a \
         linear-programming audit).\n\
         - Distinct-subscriber counts are taken on keyed pseudonyms, never on raw identifiers.\n",
    );
    for table in published {
        let spec = dictionary_heading(&mut md, &table.name);
        let _ = writeln!(
            md,
            "Cells suppressed: {} primary ({} small count, {} too few subscribers, {} one \
             subscriber dominant), {} secondary.\n",
            table.primary,
            table.by_rule.small_count,
            table.by_rule.few_contributors,
            table.by_rule.dominance,
            table.secondary
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
            "| `count` | integer; empty when suppressed | number counted in the cell | 0, or ≥ k from \
             ≥ k subscribers none dominant; suppressed cells are empty |\n\
             | `suppressed` | `true` / `false` | whether the cell's count is withheld | primary \
             or secondary cell suppression |\n",
        );
    }
    md
}

#[cfg(test)]
mod tests;
