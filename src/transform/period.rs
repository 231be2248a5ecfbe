//! Time, generalized: the month a certificate was issued, and its validity period as a bucket
//! on the CA/Browser Forum's maximum validity steps. Exact times never leave this step.

use chrono::{DateTime, Datelike, Utc};

use crate::transform::category::{Category, UNKNOWN};

/// Code of an unknown month (month codes start at 0 = 2000-01).
pub(crate) const UNKNOWN_MONTH: u16 = u16::MAX;

/// Months since 2000-01 (UTC), clamped to 0 below; `UNKNOWN_MONTH` is never produced.
pub(crate) fn month_code(ts: DateTime<Utc>) -> u16 {
    let months = (i64::from(ts.year()) - 2000) * 12 + i64::from(ts.month0());
    months.clamp(0, i64::from(UNKNOWN_MONTH - 1)) as u16
}

/// Certificate validity buckets on the CA/Browser Forum maximum validity steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ValidityBucket {
    Unknown,
    D47,
    D100,
    D200,
    D398,
    Longer,
}

impl ValidityBucket {
    /// The bucket of a certificate's validity period, counted as the Baseline Requirements do:
    /// from notBefore through notAfter inclusive, so a certificate whose notAfter is exactly
    /// 47 days after its notBefore is valid for 47 days and one second.
    pub(crate) fn of(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> ValidityBucket {
        match validity_days(not_before, not_after) {
            ..=47 => ValidityBucket::D47,
            48..=100 => ValidityBucket::D100,
            101..=200 => ValidityBucket::D200,
            201..=398 => ValidityBucket::D398,
            _ => ValidityBucket::Longer,
        }
    }
}

impl Category for ValidityBucket {
    const ALL: &'static [Self] = &[
        Self::Unknown,
        Self::D47,
        Self::D100,
        Self::D200,
        Self::D398,
        Self::Longer,
    ];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::D47 => 1,
            Self::D100 => 2,
            Self::D200 => 3,
            Self::D398 => 4,
            Self::Longer => 5,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::D47 => "<=47d",
            Self::D100 => "<=100d",
            Self::D200 => "<=200d",
            Self::D398 => "<=398d",
            Self::Longer => ">398d",
        }
    }
}

/// Validity period in days, rounded up, of the inclusive span notBefore..=notAfter.
fn validity_days(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> i64 {
    let seconds = (not_after - not_before).num_seconds().saturating_add(1);
    seconds.div_euclid(86_400) + i64::from(seconds.rem_euclid(86_400) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn months_count_from_2000() {
        assert_eq!(month_code(utc(2000, 1, 15, 0, 0, 0)), 0);
        assert_eq!(month_code(utc(1999, 6, 1, 0, 0, 0)), 0);
        assert_eq!(month_code(utc(2026, 3, 31, 23, 59, 59)), 26 * 12 + 2);
        assert_eq!(month_code(utc(2026, 4, 1, 0, 0, 0)), 26 * 12 + 3);
    }

    #[test]
    fn validity_buckets_on_cabf_boundaries() {
        let nb = utc(2026, 3, 15, 0, 0, 0);
        let day = chrono::Duration::days(1);
        let sec = chrono::Duration::seconds(1);
        let cases = [
            (day * 47 - sec, ValidityBucket::D47), // exactly 47 days, inclusive
            (day * 47, ValidityBucket::D100),      // 47 days + 1 second
            (day * 90 - sec, ValidityBucket::D100),
            (day * 100 - sec, ValidityBucket::D100),
            (day * 100, ValidityBucket::D200),
            (day * 200 - sec, ValidityBucket::D200),
            (day * 200, ValidityBucket::D398),
            (day * 398 - sec, ValidityBucket::D398), // exactly 398 days
            (day * 398, ValidityBucket::Longer),     // 398 days + 1 second
            (day * 825, ValidityBucket::Longer),
        ];
        for (span, want) in cases {
            assert_eq!(ValidityBucket::of(nb, nb + span), want, "{span}");
        }
        assert_eq!(validity_days(nb, nb + day * 47 - sec), 47);
        assert_eq!(validity_days(nb, nb + day * 47), 48);
        assert_eq!(ValidityBucket::D47.label(), "<=47d");
        assert_eq!(ValidityBucket::Longer.label(), ">398d");
        crate::transform::category::tests::check_codes::<ValidityBucket>();
    }
}
