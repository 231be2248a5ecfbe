//! The finite categories quasi-identifiers take: the [`Category`] trait that ties each value to
//! its code and its published label, and the plain categories a row carries as text (subscriber
//! kind, issuance channel, validation type).

/// Code of an unknown or NULL value in every category and in the region codes; the issue month
/// has its own ([`crate::transform::period::UNKNOWN_MONTH`]).
pub(crate) const UNKNOWN: u16 = 0;

/// A value of a quasi-identifier at one level of its hierarchy. The privacy gate and the spill
/// files handle the code; only the published text comes from the label.
pub(crate) trait Category: Copy + Eq + 'static {
    /// Every value, the unknown one included.
    const ALL: &'static [Self];
    /// The value of a code that no value has, and of unknown or NULL input.
    const UNKNOWN: Self;

    fn code(self) -> u16;

    fn label(self) -> &'static str;

    fn from_code(code: u16) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.code() == code)
            .unwrap_or(Self::UNKNOWN)
    }

    /// The value whose label the text is, ignoring ASCII case and surrounding white space;
    /// unknown for NULL and for any other text.
    fn parse(text: Option<&str>) -> Self {
        let Some(text) = text.map(str::trim) else {
            return Self::UNKNOWN;
        };
        Self::ALL
            .iter()
            .copied()
            .find(|&c| c != Self::UNKNOWN && c.label().eq_ignore_ascii_case(text))
            .unwrap_or(Self::UNKNOWN)
    }
}

/// Whether the subscriber is a person or an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum SubscriberKind {
    Unknown,
    Individual,
    Organization,
}

impl Category for SubscriberKind {
    const ALL: &'static [Self] = &[Self::Unknown, Self::Individual, Self::Organization];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::Individual => 1,
            Self::Organization => 2,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Individual => "individual",
            Self::Organization => "organization",
        }
    }
}

/// How the certificate was ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Channel {
    Unknown,
    Operator,
    Acme,
    Other,
}

impl Category for Channel {
    const ALL: &'static [Self] = &[Self::Unknown, Self::Operator, Self::Acme, Self::Other];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::Operator => 1,
            Self::Acme => 2,
            Self::Other => 3,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Operator => "operator",
            Self::Acme => "acme",
            Self::Other => "other",
        }
    }
}

/// The certificate's validation type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ValidationType {
    Unknown,
    Dv,
    Ov,
}

impl Category for ValidationType {
    const ALL: &'static [Self] = &[Self::Unknown, Self::Dv, Self::Ov];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::Dv => 1,
            Self::Ov => 2,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Dv => "DV",
            Self::Ov => "OV",
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Codes are distinct, unknown is [`UNKNOWN`], and every code no value has reads as unknown.
    pub(crate) fn check_codes<C: Category + std::fmt::Debug>() {
        let mut seen = std::collections::HashSet::new();
        for &c in C::ALL {
            assert!(seen.insert(c.code()), "{c:?} shares its code");
            assert_eq!(C::from_code(c.code()), c);
            assert!(!c.label().is_empty());
        }
        assert_eq!(C::UNKNOWN.code(), UNKNOWN);
        assert_eq!(C::UNKNOWN.label(), "unknown");
        for code in 0..=u16::MAX {
            if !seen.contains(&code) {
                assert_eq!(C::from_code(code), C::UNKNOWN, "{code}");
            }
        }
    }

    #[test]
    fn codes_are_distinct_and_total() {
        check_codes::<SubscriberKind>();
        check_codes::<Channel>();
        check_codes::<ValidationType>();
    }

    #[test]
    fn text_is_parsed_by_label() {
        assert_eq!(
            SubscriberKind::parse(Some("individual")),
            SubscriberKind::Individual
        );
        assert_eq!(
            SubscriberKind::parse(Some(" Organization ")),
            SubscriberKind::Organization
        );
        assert_eq!(SubscriberKind::parse(None), SubscriberKind::Unknown);
        assert_eq!(
            SubscriberKind::parse(Some("robot")),
            SubscriberKind::Unknown
        );
        for (value, want) in [
            ("operator", Channel::Operator),
            ("acme", Channel::Acme),
            ("other", Channel::Other),
            ("fax", Channel::Unknown),
            ("unknown", Channel::Unknown),
        ] {
            assert_eq!(Channel::parse(Some(value)), want, "{value}");
        }
        assert_eq!(ValidationType::parse(Some("dv")), ValidationType::Dv);
        assert_eq!(ValidationType::parse(Some("OV")), ValidationType::Ov);
        assert_eq!(ValidationType::parse(Some("EV")), ValidationType::Unknown);
        assert_eq!(ValidationType::parse(None), ValidationType::Unknown);
    }
}
