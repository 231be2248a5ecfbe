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

use crate::error::{Error, IoContext, Result};
use crate::outputs::export::{self, Export};
use crate::outputs::manifest::{FileFacts, Privacy, SuppressedByRule, TableFacts, TableKind};
use crate::outputs::schema::{Field, Resource, Values};
use crate::privacy::dp::Budgeted;
use crate::privacy::{Published, PublishedCell, Rules, TOTAL, Table};
use crate::transform::category::{Category, Channel, UNKNOWN, ValidationType};
use crate::transform::domain::DomainClass;
use crate::transform::generalize::{Domain, Quasi};
use crate::transform::geography::{FOREIGN_BASE, prefecture_english, prefecture_name};
use crate::transform::key_type::KeyType;
use crate::transform::period::{UNKNOWN_MONTH, ValidityBucket};
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
            _ => match code {
                1..=47 => format!("{code:02}"),
                ABROAD => "abroad".to_owned(),
                _ => "unknown".to_owned(),
            },
        }
    }

    /// The columns after the code's that name it, for the one dimension whose codes are not
    /// words: the prefecture, named in English and in Japanese.
    fn name_columns(self) -> &'static [&'static str] {
        match self {
            Dim::Prefecture => &["prefecture_name", "prefecture_name_ja"],
            _ => &[],
        }
    }

    /// The names of a published code for [`Dim::name_columns`] (`TOTAL` is named `TOTAL`);
    /// None for a code the dimension does not publish.
    fn names(self, code: &str) -> Option<Vec<&'static str>> {
        if self != Dim::Prefecture {
            return Some(Vec::new());
        }
        let names = match code {
            TOTAL => [TOTAL, TOTAL],
            "abroad" => ["Abroad", "海外"],
            "unknown" => ["Unknown", "不明"],
            _ => {
                let n: u16 = code.parse().ok().filter(|n| format!("{n:02}") == code)?;
                [prefecture_english(n)?, prefecture_name(n)?]
            }
        };
        Some(names.to_vec())
    }

    fn named(column: &str) -> Option<Dim> {
        specs()
            .flat_map(|s| s.dims)
            .copied()
            .find(|d| d.name() == column)
    }

    /// Whether the dimension is a time axis, published as a gap-free range of periods.
    fn is_time(self) -> bool {
        matches!(self, Dim::Month | Dim::Year)
    }

    /// Every code a spilled entry can hold in the dimension, in order, on a time axis through
    /// `last_month`.
    fn codes(self, last_month: u16) -> Vec<u16> {
        match self {
            Dim::Month => (0..=last_month).chain([UNKNOWN_MONTH]).collect(),
            Dim::Year => (0..=year_of(last_month)).chain([UNKNOWN_MONTH]).collect(),
            Dim::ValidationType => codes::<ValidationType>(|_| true),
            Dim::Channel => codes::<Channel>(|_| true),
            Dim::KeyType => codes::<KeyType>(|_| true),
            Dim::DomainClass => codes::<DomainClass>(|_| true),
            Dim::Validity => codes::<ValidityBucket>(|_| true),
            Dim::Reason => codes::<Revocation>(|_| true),
            Dim::Prefecture => (UNKNOWN..=47).chain([ABROAD]).collect(),
        }
    }

    /// Its meaning and the privacy rule it meets, for the data dictionary and the data package.
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Dim::Month => (
                "calendar month (UTC) of the event the table counts",
                "generalized: exact times reduced to the month (exact times would join to CT logs)",
            ),
            Dim::Year => (
                "calendar year (UTC) of issue",
                "generalized: exact times reduced to the year",
            ),
            Dim::ValidationType => (
                "validation type of the certificate",
                "category of the certificate, not of a person",
            ),
            Dim::Channel => (
                "issuance channel: a designated operator, the ACME service, or another channel",
                "category of the certificate, not of a person",
            ),
            Dim::KeyType => (
                "public key algorithm and size",
                "category of the certificate, not of a person",
            ),
            Dim::DomainClass => (
                "class of the certificate's domain name in the .jp namespace",
                "generalized: the domain name itself is dropped (it links to CT logs)",
            ),
            Dim::Validity => (
                "validity period bucket on the CA/Browser Forum limits (notBefore through notAfter inclusive)",
                "generalized: exact validity times dropped",
            ),
            Dim::Prefecture => (
                "prefecture of the subscriber's address; every foreign country is `abroad`",
                "generalized: the postal address is reduced to the prefecture, the country to `abroad`",
            ),
            Dim::Reason => (
                "revocation reason",
                "category of the revocation, not of a person",
            ),
        }
    }

    /// The codes the dimension publishes (`TOTAL` aside).
    fn domain(self) -> Domain {
        match (self, self.quasi()) {
            (_, Some(q)) => q.domain(0),
            (Dim::Month, _) => Quasi::Issued.domain(0),
            (Dim::Year, _) => Quasi::Issued.domain(2),
            _ => Domain::OneOf(
                (1..=47)
                    .map(|code| format!("{code:02}"))
                    .chain(["abroad".to_owned(), "unknown".to_owned()])
                    .collect(),
            ),
        }
    }

    /// The columns of the dimension in a file: its code, then its names; in a totals file each
    /// can also be `TOTAL`.
    fn fields(self, totals: bool) -> Vec<Field> {
        let values = |domain: Domain| {
            let values = Values::from(domain);
            if totals { values.or(TOTAL) } else { values }
        };
        let (meaning, _) = self.describe();
        let mut fields = vec![Field::new(self.name(), meaning, values(self.domain()))];
        let Domain::OneOf(codes) = self.domain() else {
            return fields;
        };
        for (i, column) in self.name_columns().iter().enumerate() {
            let names = codes
                .iter()
                .filter_map(|code| Some(self.names(code)?[i].to_owned()))
                .collect();
            let language = if column.ends_with("_ja") {
                "Japanese"
            } else {
                "English"
            };
            fields.push(Field::new(
                column,
                format!("the {} in {language}", self.name()),
                values(Domain::OneOf(names)),
            ));
        }
        fields
    }
}

/// The codes of the values of a category that `keep` keeps.
fn codes<C: Category>(keep: impl Fn(C) -> bool) -> Vec<u16> {
    C::ALL
        .iter()
        .copied()
        .filter(|&c| keep(c))
        .map(C::code)
        .collect()
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
    Dim::named(column).is_some()
}

/// The columns that name the codes of dimension `column` (none for most dimensions).
pub(crate) fn name_columns(column: &str) -> &'static [&'static str] {
    Dim::named(column).map_or(&[], Dim::name_columns)
}

/// The names a code of dimension `column` is published with, in the order of
/// [`name_columns`]; None for a code the dimension does not publish.
pub(crate) fn names(column: &str, code: &str) -> Option<Vec<&'static str>> {
    Dim::named(column)?.names(code)
}

/// What a published table counts, in the words of its data dictionary entry.
pub(crate) fn description(table: &str) -> Option<&'static str> {
    specs().find(|s| s.name == table).map(|s| s.what)
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

/// Calls `f` with every combination of one value per axis, the last axis varying fastest.
pub(crate) fn product<T: Clone>(axes: &[Vec<T>], f: &mut impl FnMut(&[T])) {
    fn walk<T: Clone>(axes: &[Vec<T>], key: &mut Vec<T>, f: &mut impl FnMut(&[T])) {
        let Some((axis, rest)) = axes.split_first() else {
            f(key);
            return;
        };
        for value in axis {
            key.push(value.clone());
            walk(rest, key, f);
            key.pop();
        }
    }
    walk(axes, &mut Vec::with_capacity(axes.len()), f);
}

/// A cell's codes as the tally packs them: unused dimensions are 0.
fn codes_of(key: &[u16]) -> [u32; 3] {
    std::array::from_fn(|d| key.get(d).map_or(0, |&c| u32::from(c)))
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
            .map_err(|err| Error::io(tally::bucket_path(self.spill_dir.path(), bucket), err))
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
        let (tallied, bounded) = tally::tally(
            self.spill_dir.path(),
            self.buckets,
            &specs,
            month_code(self.as_of_month),
            bounds,
        )?;
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
        .map(|&(key, stat)| (tally::unpack(key), stat.count))
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
    product(&axes, &mut |key| {
        let labels = (0..dims.len()).map(|d| dims[d].label(key[d])).collect();
        cells.insert(labels, interior.get(&codes_of(key)).copied().unwrap_or(0));
    });
    let contributors = tallied
        .iter()
        .map(|&(key, stat)| {
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

const COUNT: &str = "count";
const STATUS: &str = "status";

/// The values of a cell's `status` column.
pub(crate) const PUBLISHED: &str = "published";
pub(crate) const PRIMARY: &str = "primary";
pub(crate) const SECONDARY: &str = "secondary";

/// Writes each table as two CSV files, its interior cells and its totals (so that summing a
/// file's `count` never counts a certificate twice), each with its Parquet file, and the data
/// dictionary describing them.
/// Each dimension's code column is followed by its name columns, then come `count` and
/// `status`; rows are sorted by their codes, totals by how many dimensions they sum over first.
pub(crate) fn write(export: &mut Export, published: &[Published]) -> Result<()> {
    write_tables(export, published, None)?;
    export.write(export::DICTIONARY, dictionary(published)?.as_bytes())
}

/// The CSV files of [`write`]. Differentially private tables come with `budgets`, their noise
/// per table, and get a last column with each count's margin of error.
fn write_tables(
    export: &mut Export,
    published: &[Published],
    budgets: Option<&[Budgeted]>,
) -> Result<()> {
    for (i, table) in published.iter().enumerate() {
        let budget = budgets.and_then(|b| b.get(i));
        // Counted once per table: a totals row's margin depends on how many cells it sums.
        let noise = budget.map(|b| (b, dp::axis_lengths(table)));
        let dims = dims_of(table)?;
        let mut cells: Vec<_> = table.cells.iter().collect();
        cells.sort_by_cached_key(|c| (c.key.iter().filter(|l| *l == TOTAL).count(), c.key.clone()));
        let (interior, totals): (Vec<_>, Vec<_>) = cells
            .into_iter()
            .partition(|c| !c.key.iter().any(|l| l == TOTAL));
        for (cells, is_totals) in [(interior, false), (totals, true)] {
            let mut files = export.table(resource(table, &dims, is_totals, budget.is_some()))?;
            for cell in cells {
                let mut fields = row(&table.name, &dims, cell)?;
                if let Some((budget, lengths)) = &noise {
                    let summed = dp::cells_summed(lengths, &cell.key);
                    fields.push(budget.margin_of_error(summed).to_string());
                }
                files.write(&fields)?;
            }
            files.finish(export)?;
        }
    }
    Ok(())
}

fn dims_of(table: &Published) -> Result<Vec<Dim>> {
    table
        .dims
        .iter()
        .map(|d| {
            Dim::named(d).ok_or_else(|| {
                Error::Other(format!("table {}: {d} is not a dimension", table.name))
            })
        })
        .collect()
}

/// The schema of one of a table's two files; `dp`: of a differentially private table.
fn resource(table: &Published, dims: &[Dim], totals: bool, dp: bool) -> Resource {
    let what = description(&table.name).unwrap_or("");
    let (file, part) = if totals {
        (
            totals_file_name(&table.name),
            "Marginal totals (`TOTAL` in each dimension summed over) and the grand total.",
        )
    } else {
        (
            file_name(&table.name),
            "Interior cells, one per combination of the codes; no totals, so counts can be summed.",
        )
    };
    let mut fields: Vec<Field> = dims.iter().flat_map(|d| d.fields(totals)).collect();
    let count = if dp {
        Field::new(
            COUNT,
            "number counted in the cell with noise added, 0 where that came out negative; a \
             total is the sum of its cells",
            Values::Count,
        )
    } else {
        Field::new(
            COUNT,
            "number counted in the cell; empty when withheld (see `status`)",
            Values::Count,
        )
        .optional()
    };
    fields.push(count);
    fields.push(Field::new(
        STATUS,
        "`published`: the count is given; `primary`: withheld because the cell itself breaks a \
         rule; `secondary`: withheld so that no primary cell can be worked out from the others",
        Values::OneOf([PUBLISHED, PRIMARY, SECONDARY].map(String::from).to_vec()),
    ));
    if dp {
        fields.push(Field::new(
            dp::MARGIN,
            "95 % margin of error of the count's noise (before negatives are set to 0)",
            Values::Count,
        ));
    }
    Resource {
        file,
        description: format!("{part} {what}").trim_end().to_owned(),
        fields,
        primary_key: dims.iter().map(|d| d.name().to_owned()).collect(),
    }
}

/// The privacy rule a column meets, for the data dictionary.
fn rule(column: &str) -> &'static str {
    match Dim::named(column) {
        Some(dim) => dim.describe().1,
        None if column == COUNT => "0, or ≥ k from ≥ k subscribers none dominant",
        None if column == STATUS => "cell suppression, primary and secondary",
        None => "a name of the code before it",
    }
}

/// One cell's CSV fields: codes and their names, the count (empty when withheld), the status.
fn row(table: &str, dims: &[Dim], cell: &PublishedCell) -> Result<Vec<String>> {
    let mut fields = Vec::with_capacity(dims.len() * 3 + 2);
    for (dim, code) in dims.iter().zip(&cell.key) {
        let names = dim.names(code).ok_or_else(|| {
            Error::Other(format!(
                "table {table}: {} has a code it does not publish",
                dim.name()
            ))
        })?;
        fields.push(code.clone());
        fields.extend(names.into_iter().map(str::to_owned));
    }
    fields.push(cell.count.map(|c| c.to_string()).unwrap_or_default());
    fields.push(status(cell).to_owned());
    Ok(fields)
}

/// Why a count is or is not published.
fn status(cell: &PublishedCell) -> &'static str {
    match (cell.count, cell.primary) {
        (Some(_), _) => PUBLISHED,
        (None, true) => PRIMARY,
        (None, false) => SECONDARY,
    }
}

/// The CSV file name of a table's interior cells, under which the manifest lists its facts.
pub(crate) fn file_name(table: &str) -> String {
    format!("{table}.csv")
}

/// The CSV file name of a table's marginal totals and grand total.
pub(crate) fn totals_file_name(table: &str) -> String {
    format!("{table}_totals.csv")
}

/// The manifest's `privacy` object of an aggregates export: per table, under the name of its
/// interior file, its totals file, its dimensions, the rules, the cells each rule suppressed
/// and its population (tables of one population share margins, and `verify` audits them
/// together).
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
                totals: totals_file_name(&t.name),
            };
            (file_name(&t.name), FileFacts::Table(facts))
        })
        .collect()
}

/// Starts a table's section of a data dictionary: its files and what it counts.
fn dictionary_heading(md: &mut String, table: &str) {
    let _ = write!(
        md,
        "\n## {} and {}\n\n",
        file_name(table),
        totals_file_name(table)
    );
    if let Some(what) = description(table) {
        let _ = writeln!(md, "{what}\n");
    }
}

/// DATA_DICTIONARY.md for the tables: every column, its meaning and the privacy rule it meets.
pub(crate) fn dictionary(published: &[Published]) -> Result<String> {
    let mut md = String::from(
        "# Data dictionary: aggregate statistics\n\n\
         Every table is published as two files in long format (RFC 4180 CSV, UTF-8, header \
         row): `NAME.csv` holds the interior cells, one per combination of the dimensions' \
         codes, so its counts can be summed; `NAME_totals.csv` holds the marginal totals, \
         `TOTAL` in the code and name columns of each dimension summed over, and the grand \
         total, `TOTAL` everywhere. Each dimension has a code column, followed for the \
         prefecture by its English and Japanese names; then `count` and `status`. The tables \
         below list the interior file's columns; the totals file has the same columns, where \
         each code and name can also be `TOTAL`. `datapackage.json` describes the same \
         columns for software (Frictionless Table Schema).\n\n\
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
        dictionary_heading(&mut md, &table.name);
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
        for field in resource(table, &dims_of(table)?, false, false).fields {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                field.name,
                field.type_text(),
                field.description,
                rule(&field.name)
            );
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests;
