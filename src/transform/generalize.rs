//! The generalization hierarchies of the research extract's quasi-identifiers.
//!
//! Every quasi-identifier is first reduced to a small code (`u16`) at its finest level (by
//! [`geography`], [`period`], [`domain`], [`key_type`], [`revocation`] and [`category`]); the
//! privacy gate then works on counts of codes and climbs each hierarchy with
//! [`Quasi::generalize`], and only the published text comes from [`Quasi::label`]. Each
//! hierarchy has a code for unknown/NULL at every level but the top, where all rows are `*`.
//!
//! [`geography`]: crate::transform::geography
//! [`period`]: crate::transform::period
//! [`domain`]: crate::transform::domain
//! [`key_type`]: crate::transform::key_type
//! [`revocation`]: crate::transform::revocation
//! [`category`]: crate::transform::category

use crate::transform::category::{Category, Channel, SubscriberKind, UNKNOWN, ValidationType};
use crate::transform::domain::{DomainClass, DomainGroup};
use crate::transform::geography::{self, FOREIGN_BASE, FOREIGN_LAST};
use crate::transform::key_type::{KeyAlgorithm, KeyType};
use crate::transform::period::{UNKNOWN_MONTH, ValidityBucket};
use crate::transform::revocation::{Revocation, RevocationStatus};

/// The quasi-identifiers of the research extract, each with its generalization hierarchy.
///
/// Region levels: `prefecture` publishes the two-digit JIS code ("13") for Japan and the ISO
/// alpha-2 code ("US") abroad; `region` the eight regions of Japan ("kanto") or "abroad";
/// `japan_or_abroad` "japan" or "abroad"; `*` everything. Region codes are ASCII; their
/// English names go in a column of their own ([`Quasi::name_column`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Quasi {
    SubscriberKind,
    Region,
    Channel,
    ValidationType,
    Issued,
    Validity,
    KeyType,
    DomainClass,
    Revocation,
}

impl Quasi {
    pub(crate) const ALL: [Quasi; 9] = [
        Quasi::SubscriberKind,
        Quasi::Region,
        Quasi::Channel,
        Quasi::ValidationType,
        Quasi::Issued,
        Quasi::Validity,
        Quasi::KeyType,
        Quasi::DomainClass,
        Quasi::Revocation,
    ];

    /// The CSV column name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Quasi::SubscriberKind => "subscriber_kind",
            Quasi::Region => "region",
            Quasi::Channel => "channel",
            Quasi::ValidationType => "validation_type",
            Quasi::Issued => "issued",
            Quasi::Validity => "validity",
            Quasi::KeyType => "key_type",
            Quasi::DomainClass => "domain_class",
            Quasi::Revocation => "revocation",
        }
    }

    /// Level names from the finest to `*`.
    pub(crate) fn levels(&self) -> &'static [&'static str] {
        match self {
            Quasi::SubscriberKind => &["kind", "*"],
            Quasi::Region => &["prefecture", "region", "japan_or_abroad", "*"],
            Quasi::Channel => &["channel", "*"],
            Quasi::ValidationType => &["type", "*"],
            Quasi::Issued => &["month", "quarter", "year", "*"],
            Quasi::Validity => &["bucket", "*"],
            Quasi::KeyType => &["key", "algorithm", "*"],
            Quasi::DomainClass => &["class", "group", "*"],
            Quasi::Revocation => &["reason", "revoked", "*"],
        }
    }

    /// The `*` level, where every row has the same code.
    pub(crate) fn top_level(&self) -> u8 {
        (self.levels().len() - 1) as u8
    }

    /// Maps a finest-level code to its group at `level` (levels past the top count as the top).
    /// Codes that no value produces are treated as unknown.
    pub(crate) fn generalize(&self, code: u16, level: u8) -> u16 {
        if level >= self.top_level() {
            return 0;
        }
        match self {
            Quasi::SubscriberKind => SubscriberKind::from_code(code).code(),
            Quasi::Channel => Channel::from_code(code).code(),
            Quasi::ValidationType => ValidationType::from_code(code).code(),
            Quasi::Validity => ValidityBucket::from_code(code).code(),
            Quasi::Region => generalize_region(code, level),
            Quasi::Issued => match (code, level) {
                (UNKNOWN_MONTH, _) => UNKNOWN_MONTH,
                (_, 0) => code,
                (_, 1) => code / 3,
                _ => code / 12,
            },
            Quasi::KeyType => match KeyType::from_code(code) {
                key if level == 0 => key.code(),
                key => key.algorithm().code(),
            },
            Quasi::DomainClass => match DomainClass::from_code(code) {
                class if level == 0 => class.code(),
                class => class.group().code(),
            },
            Quasi::Revocation => match Revocation::from_code(code) {
                revocation if level == 0 => revocation.code(),
                revocation => revocation.status().code(),
            },
        }
    }

    /// The published text of a code at `level` (a code [`Quasi::generalize`] returned for that
    /// level); `*` at the top, "unknown" for unknown values and for codes no value produces.
    pub(crate) fn label(&self, code: u16, level: u8) -> String {
        if level >= self.top_level() {
            return "*".to_owned();
        }
        match (self, level) {
            (Quasi::SubscriberKind, _) => label::<SubscriberKind>(code),
            (Quasi::Channel, _) => label::<Channel>(code),
            (Quasi::ValidationType, _) => label::<ValidationType>(code),
            (Quasi::Validity, _) => label::<ValidityBucket>(code),
            (Quasi::KeyType, 0) => label::<KeyType>(code),
            (Quasi::KeyType, _) => label::<KeyAlgorithm>(code),
            (Quasi::DomainClass, 0) => label::<DomainClass>(code),
            (Quasi::DomainClass, _) => label::<DomainGroup>(code),
            (Quasi::Revocation, 0) => label::<Revocation>(code),
            (Quasi::Revocation, _) => label::<RevocationStatus>(code),
            (Quasi::Region, 0) => match code {
                1..=47 => format!("{code:02}"),
                _ => geography::country_alpha2(code).unwrap_or_else(|| "unknown".to_owned()),
            },
            (Quasi::Region, 1) => match code {
                REGION_ABROAD => "abroad".to_owned(),
                _ => region_of(code).map_or("unknown", |r| r.0).to_owned(),
            },
            (Quasi::Region, _) => match code {
                JAPAN => "japan",
                ABROAD => "abroad",
                _ => "unknown",
            }
            .to_owned(),
            (Quasi::Issued, _) if code == UNKNOWN_MONTH => "unknown".to_owned(),
            (Quasi::Issued, 0) => format!("{}-{:02}", 2000 + u32::from(code) / 12, code % 12 + 1),
            (Quasi::Issued, 1) => format!("{}-Q{}", 2000 + u32::from(code) / 4, code % 4 + 1),
            (Quasi::Issued, _) => format!("{}", 2000 + u32::from(code)),
        }
    }

    /// The column after this one's that names its codes in English, for the one
    /// quasi-identifier whose codes are not words: the region.
    pub(crate) fn name_column(&self) -> Option<&'static str> {
        match self {
            Quasi::Region => Some("region_name"),
            _ => None,
        }
    }

    /// The English name of a code at `level`, for the [`Quasi::name_column`]: `Tokyo`, `Kanto`,
    /// `Japan`, `Abroad` (any foreign country, whose code is its ISO alpha-2 code), `Unknown`,
    /// and `*` at the top. Quasi-identifiers without a name column are named by their label.
    pub(crate) fn name_label(&self, code: u16, level: u8) -> String {
        if level >= self.top_level() || *self != Quasi::Region {
            return self.label(code, level);
        }
        let japan = match level {
            0 => geography::prefecture_english(code),
            1 => region_of(code).map(|r| r.1),
            _ => (code == JAPAN).then_some("Japan"),
        };
        let abroad = match level {
            0 => (FOREIGN_BASE..=FOREIGN_LAST).contains(&code),
            1 => code == REGION_ABROAD,
            _ => code == ABROAD,
        };
        match (japan, abroad) {
            (Some(name), _) => name,
            (None, true) => "Abroad",
            (None, false) => "Unknown",
        }
        .to_owned()
    }
}

/// The values a column of codes (or of their names) may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Domain {
    /// One of these, unknown last.
    OneOf(Vec<String>),
    /// Text matching `regex` whole (a Table Schema pattern: implicitly anchored, so every
    /// alternative is in one group); `shape` says the same in words.
    Pattern {
        regex: &'static str,
        shape: &'static str,
    },
}

impl Quasi {
    /// What [`Quasi::label`] gives at `level`: a list, or for months and countries, which are
    /// too many to list, a pattern.
    pub(crate) fn domain(&self, level: u8) -> Domain {
        let pattern = |regex, shape| Domain::Pattern { regex, shape };
        match (self, level) {
            _ if level >= self.top_level() => self.every(level, |code| self.label(code, level)),
            (Quasi::Issued, 0) => pattern(
                "([0-9]{4}-(0[1-9]|1[0-2])|unknown)",
                "`YYYY-MM` or `unknown`",
            ),
            (Quasi::Issued, 1) => pattern("([0-9]{4}-Q[1-4]|unknown)", "`YYYY-Qn` or `unknown`"),
            (Quasi::Issued, _) => pattern("([0-9]{4}|unknown)", "`YYYY` or `unknown`"),
            (Quasi::Region, 0) => pattern(
                "([0-9]{2}|[A-Z]{2}|unknown)",
                "two-digit prefecture code (`13`), ISO 3166 alpha-2 country code (`US`) or \
                 `unknown`",
            ),
            _ => self.every(level, |code| self.label(code, level)),
        }
    }

    /// What [`Quasi::name_label`] gives at `level`.
    pub(crate) fn name_domain(&self, level: u8) -> Domain {
        match self.name_column() {
            Some(_) => self.every(level, |code| self.name_label(code, level)),
            None => self.domain(level),
        }
    }

    /// Every text `text` gives for the codes of `level`, in code order, unknown last.
    fn every(&self, level: u8, text: impl Fn(u16) -> String) -> Domain {
        let codes: std::collections::BTreeSet<u16> =
            (0..=u16::MAX).map(|c| self.generalize(c, level)).collect();
        let mut values: Vec<String> = Vec::new();
        for code in codes {
            let value = text(code);
            if !values.contains(&value) {
                values.push(value);
            }
        }
        values.sort_by_key(|v| v.eq_ignore_ascii_case("unknown"));
        Domain::OneOf(values)
    }
}

/// The region of a level-1 region code.
fn region_of(code: u16) -> Option<(&'static str, &'static str, &'static str)> {
    u8::try_from(code).ok().and_then(geography::region)
}

fn label<C: Category>(code: u16) -> String {
    C::from_code(code).label().to_owned()
}

/// Region level 1: the eight regions of Japan are 1..=8, every foreign country is this.
const REGION_ABROAD: u16 = 9;
/// Region level 2.
const JAPAN: u16 = 1;
const ABROAD: u16 = 2;

fn generalize_region(code: u16, level: u8) -> u16 {
    let japan = (1..=47).contains(&code);
    let abroad = (FOREIGN_BASE..=FOREIGN_LAST).contains(&code);
    match (level, japan, abroad) {
        (_, false, false) => UNKNOWN,
        (0, _, _) => code,
        (1, true, _) => u16::from(geography::region_of_prefecture(code)),
        (1, _, _) => REGION_ABROAD,
        (_, true, _) => JAPAN,
        _ => ABROAD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::period::month_code;
    use chrono::{DateTime, TimeZone, Utc};
    use proptest::prelude::*;

    /// The finest-level code of an unknown or NULL value.
    fn unknown_code(q: Quasi) -> u16 {
        match q {
            Quasi::Issued => UNKNOWN_MONTH,
            _ => UNKNOWN,
        }
    }

    fn utc(y: i32, mo: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn region_levels() {
        let q = Quasi::Region;
        assert_eq!(q.label(q.generalize(13, 0), 0), "13");
        assert_eq!(q.label(q.generalize(1, 0), 0), "01");
        assert_eq!(q.label(q.generalize(13, 1), 1), "kanto");
        assert_eq!(q.label(q.generalize(13, 2), 2), "japan");
        assert_eq!(q.label(q.generalize(13, 3), 3), "*");
        let us = FOREIGN_BASE + 20 * 26 + 18;
        assert_eq!(q.label(us, 0), "US");
        assert_eq!(q.label(q.generalize(us, 1), 1), "abroad");
        assert_eq!(q.label(q.generalize(us, 2), 2), "abroad");
        for level in 0..3 {
            assert_eq!(q.label(q.generalize(UNKNOWN, level), level), "unknown");
        }
        let names = |code: u16| -> Vec<String> {
            (0..4)
                .map(|level| q.name_label(q.generalize(code, level), level))
                .collect()
        };
        assert_eq!(names(13), ["Tokyo", "Kanto", "Japan", "*"]);
        assert_eq!(names(47), ["Okinawa", "Kyushu-Okinawa", "Japan", "*"]);
        assert_eq!(names(us), ["Abroad", "Abroad", "Abroad", "*"]);
        assert_eq!(names(UNKNOWN), ["Unknown", "Unknown", "Unknown", "*"]);
        assert_eq!(q.name_column(), Some("region_name"));
        assert_eq!(Quasi::Issued.name_label(300, 0), "2025-01");
    }

    #[test]
    fn months_quarters_years() {
        let q = Quasi::Issued;
        let code = month_code(utc(2026, 3, 31));
        assert_eq!(q.label(q.generalize(code, 0), 0), "2026-03");
        assert_eq!(q.label(q.generalize(code, 1), 1), "2026-Q1");
        assert_eq!(q.label(q.generalize(code, 2), 2), "2026");
        let april = month_code(utc(2026, 4, 1));
        assert_eq!(q.label(q.generalize(april, 1), 1), "2026-Q2");
        let december = month_code(utc(2025, 12, 1));
        assert_eq!(q.label(q.generalize(december, 0), 0), "2025-12");
        assert_eq!(q.label(q.generalize(december, 1), 1), "2025-Q4");
        for level in 0..3 {
            assert_eq!(
                q.label(q.generalize(unknown_code(q), level), level),
                "unknown"
            );
        }
    }

    /// The enum-coded quasi-identifiers publish their values' labels, one level per enum.
    #[test]
    fn levels_are_the_categories() {
        fn check<C: Category>(q: Quasi, level: u8, coarser: impl Fn(C) -> (u16, &'static str)) {
            for &value in C::ALL {
                let code = q.generalize(value.code(), level);
                assert_eq!(code, coarser(value).0, "{q:?} {}", value.label());
                assert_eq!(q.label(code, level), coarser(value).1, "{q:?}");
            }
        }
        fn same<C: Category>(c: C) -> (u16, &'static str) {
            (c.code(), c.label())
        }
        check::<SubscriberKind>(Quasi::SubscriberKind, 0, same);
        check::<Channel>(Quasi::Channel, 0, same);
        check::<ValidationType>(Quasi::ValidationType, 0, same);
        check::<ValidityBucket>(Quasi::Validity, 0, same);
        check::<KeyType>(Quasi::KeyType, 0, same);
        check(Quasi::KeyType, 1, |k: KeyType| same(k.algorithm()));
        check::<DomainClass>(Quasi::DomainClass, 0, same);
        check(Quasi::DomainClass, 1, |d: DomainClass| same(d.group()));
        check::<Revocation>(Quasi::Revocation, 0, same);
        check(Quasi::Revocation, 1, |r: Revocation| same(r.status()));
        assert_eq!(
            Quasi::Revocation.label(Revocation::of(true, Some(1)).code(), 0),
            "keyCompromise"
        );
        assert_eq!(
            Quasi::Validity.label(ValidityBucket::D398.code(), 0),
            "<=398d"
        );
        assert_eq!(
            Quasi::DomainClass.label(DomainClass::LgJp.group().code(), 1),
            "jp-attribute"
        );
    }

    #[test]
    fn names_and_levels() {
        let names: Vec<&str> = Quasi::ALL.iter().map(|q| q.name()).collect();
        assert_eq!(
            names,
            [
                "subscriber_kind",
                "region",
                "channel",
                "validation_type",
                "issued",
                "validity",
                "key_type",
                "domain_class",
                "revocation"
            ]
        );
        assert_eq!(Quasi::Issued.levels(), ["month", "quarter", "year", "*"]);
        assert_eq!(
            Quasi::Region.levels(),
            ["prefecture", "region", "japan_or_abroad", "*"]
        );
        for q in Quasi::ALL {
            assert_eq!(q.levels().last(), Some(&"*"));
        }
    }

    /// Exhaustive over all codes: each level is a function of the level below, the top has one
    /// code, labels never panic, and unknown is labelled "unknown" below the top.
    #[test]
    fn hierarchies_are_monotone_and_total() {
        for q in Quasi::ALL {
            let top = q.top_level();
            for level in 0..top {
                let mut parent = std::collections::HashMap::new();
                for code in 0..=u16::MAX {
                    let here = q.generalize(code, level);
                    let up = q.generalize(code, level + 1);
                    assert_eq!(
                        *parent.entry(here).or_insert(up),
                        up,
                        "{q:?} level {level} code {code}"
                    );
                }
                assert_eq!(
                    q.label(q.generalize(unknown_code(q), level), level),
                    "unknown",
                    "{q:?}"
                );
            }
            for code in 0..=u16::MAX {
                assert_eq!(q.generalize(code, top), 0);
                assert_eq!(q.generalize(code, top + 1), 0);
            }
            assert_eq!(q.label(0, top), "*");
        }
    }

    /// Every label and name a code can have is in the domain its column declares.
    #[test]
    fn labels_are_in_their_domain() {
        fn within(domain: &Domain, value: &str) -> bool {
            match domain {
                Domain::OneOf(values) => values.iter().any(|v| v == value),
                Domain::Pattern { regex, .. } => regex::Regex::new(&format!("^{regex}$"))
                    .unwrap()
                    .is_match(value),
            }
        }
        for q in Quasi::ALL {
            for level in 0..=q.top_level() {
                let (domain, names) = (q.domain(level), q.name_domain(level));
                for code in (0..=u16::MAX).step_by(7).chain([0, 13, 47, UNKNOWN_MONTH]) {
                    let code = q.generalize(code, level);
                    let label = q.label(code, level);
                    assert!(within(&domain, &label), "{q:?} {level} {label}");
                    let name = q.name_label(code, level);
                    assert!(within(&names, &name), "{q:?} {level} {name}");
                }
            }
        }
        assert_eq!(
            Quasi::ValidationType.domain(0),
            Domain::OneOf(vec!["DV".into(), "OV".into(), "unknown".into()])
        );
        let Domain::OneOf(regions) = Quasi::Region.name_domain(1) else {
            panic!("regions are a list");
        };
        assert_eq!(regions.len(), 10, "{regions:?}");
        assert_eq!(regions.last().map(String::as_str), Some("Unknown"));
    }

    /// The name column adds words, never information: codes of one label have one name.
    #[test]
    fn a_region_code_has_one_name() {
        let q = Quasi::Region;
        for level in 0..=q.top_level() {
            let mut names = std::collections::HashMap::new();
            for code in 0..=u16::MAX {
                let code = q.generalize(code, level);
                let name = q.name_label(code, level);
                assert!(!name.is_empty() && name.is_ascii(), "{name}");
                assert_eq!(
                    *names.entry(q.label(code, level)).or_insert(name.clone()),
                    name
                );
            }
        }
    }

    proptest! {
        #[test]
        fn labels_never_panic(code in any::<u16>(), level in 0u8..6) {
            for q in Quasi::ALL {
                prop_assert!(!q.label(code, level).is_empty());
                let _ = q.label(q.generalize(code, level), level);
            }
        }

        #[test]
        fn month_code_round_trips(y in 2000i32..2200, m in 1u32..=12) {
            let code = month_code(utc(y, m, 1));
            prop_assert_eq!(Quasi::Issued.label(code, 0), format!("{y}-{m:02}"));
        }
    }
}
