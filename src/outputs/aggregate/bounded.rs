//! The contribution bound of the differentially private tables: what one subscriber may add
//! to one table. A subscriber counts with at most `max_certificates` certificates per table,
//! the same ones in every run under one key (those of smallest keyed rank); a subscriber
//! counts as active in at most `max_months` months, and a certificate at most at
//! `max_certificate_months` month ends, again chosen by a keyed hash. Only the months of the
//! release window count. This fixes the L1 sensitivity of each table's interior cells, which
//! the noise is scaled to.

use rustc_hash::FxHashMap;

use super::tally::Entry;
use super::{Spec, Unit};
use crate::transform::period::UNKNOWN_MONTH;

/// Bounded interior counts of one table, by packed cell key.
pub(super) type Counts = FxHashMap<u64, u64>;

/// One DP task's contribution bound and release window (months as codes, both inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bound {
    pub max_certificates: u32,
    pub max_months: u32,
    pub max_certificate_months: u32,
    pub first: u16,
    pub last: u16,
}

impl Bound {
    /// How far adding or removing one subscriber moves the interior cells of a table counting
    /// `unit`, in L1: one cell per certificate kept for events, one per certificate and month
    /// for active certificates, one per month for active subscribers, one cell for new ones.
    pub(super) fn sensitivity(&self, unit: Unit) -> u64 {
        let c = u64::from(self.max_certificates);
        match unit {
            Unit::Issued | Unit::Revocations => c,
            Unit::ActiveCertificates => c * u64::from(self.max_certificate_months),
            Unit::ActiveSubscribers => self.max_months.into(),
            Unit::NewSubscribers => 1,
        }
    }

    /// Whether a unit dated `month` is in the release: a month of the window, or the unknown
    /// month of the tables that publish it.
    pub(super) fn counts(&self, unit: Unit, month: u16) -> bool {
        (self.first..=self.last).contains(&month)
            || (month == UNKNOWN_MONTH && has_unknown_month(unit))
    }
}

/// Tables whose events can lack a date publish an `unknown` month.
pub(super) fn has_unknown_month(unit: Unit) -> bool {
    matches!(unit, Unit::Issued | Unit::Revocations)
}

/// A keyed, well-mixed choice among months: the pseudonym or rank it starts from is keyed.
fn mix(seed: u64, month: u16) -> u64 {
    let mut z = seed ^ u64::from(month).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Keeps at most `max` of `months`, those with the smallest `mix(seed, month)`.
fn at_most(months: &mut Vec<u16>, max: u32, seed: u64) {
    if months.len() > max as usize {
        months.sort_unstable_by_key(|&m| mix(seed, m));
        months.truncate(max as usize);
    }
}

/// Adds one subscriber's bounded contribution (`certificates`: all of theirs) to a table.
pub(super) fn add_subscriber(
    spec: &Spec,
    bound: &Bound,
    certificates: &[Entry],
    counts: &mut Counts,
    keys: &mut Vec<u64>,
) {
    keys.clear();
    let Some(any) = certificates.first() else {
        return;
    };
    let months_of = |e: &Entry| -> Vec<u16> {
        e.months(spec)
            .filter(|&m| bound.counts(spec.unit, m))
            .collect()
    };
    match spec.unit {
        Unit::NewSubscribers => {
            // The month of the first certificate, wherever it lies; new in the window only if
            // that month is in it.
            let first = certificates
                .iter()
                .filter_map(|e| e.months(spec).next())
                .min();
            if let Some(month) = first.filter(|&m| bound.counts(spec.unit, m)) {
                keys.push(any.key(spec.dims, month));
            }
        }
        Unit::ActiveSubscribers => {
            let mut months: Vec<u16> = certificates.iter().flat_map(months_of).collect();
            months.sort_unstable();
            months.dedup();
            let seed = u64::from_le_bytes(any.subscriber[..8].try_into().expect("8 bytes"));
            at_most(&mut months, bound.max_months, seed);
            keys.extend(months.iter().map(|&m| any.key(spec.dims, m)));
        }
        Unit::Issued | Unit::Revocations | Unit::ActiveCertificates => {
            let mut counted: Vec<(&Entry, Vec<u16>)> = certificates
                .iter()
                .map(|e| (e, months_of(e)))
                .filter(|(_, months)| !months.is_empty())
                .collect();
            // Ties only between certificates without a rank; their bytes decide.
            counted.sort_unstable_by_key(|(e, _)| (e.rank, e.encode()));
            counted.truncate(bound.max_certificates as usize);
            for (e, mut months) in counted {
                if spec.unit == Unit::ActiveCertificates {
                    at_most(&mut months, bound.max_certificate_months, e.rank);
                }
                keys.extend(months.iter().map(|&m| e.key(spec.dims, m)));
            }
        }
    }
    for &key in keys.iter() {
        *counts.entry(key).or_default() += 1;
    }
}
