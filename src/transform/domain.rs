//! The class of a certificate's domain name in the .jp namespace (co.jp, lg.jp, a geographic
//! name under a prefecture, ...), with the Punycode decoder that reads the Japanese prefecture
//! labels of internationalized names. The name itself is dropped here.

use std::borrow::Cow;

use crate::transform::category::{Category, UNKNOWN};
use crate::transform::geography;
use crate::transform::normalize::nfkc;

/// Where a certificate's domain name sits in the .jp namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainClass {
    Unknown,
    CoJp,
    AcJp,
    GoJp,
    OrJp,
    NeJp,
    GrJp,
    EdJp,
    LgJp,
    GeneralJp,
    PrefectureJp,
    OtherTld,
}

impl DomainClass {
    pub(crate) fn group(self) -> DomainGroup {
        match self {
            DomainClass::Unknown => DomainGroup::Unknown,
            DomainClass::GeneralJp | DomainClass::PrefectureJp => DomainGroup::GeneralOrPrefecture,
            DomainClass::OtherTld => DomainGroup::Other,
            DomainClass::CoJp
            | DomainClass::AcJp
            | DomainClass::GoJp
            | DomainClass::OrJp
            | DomainClass::NeJp
            | DomainClass::GrJp
            | DomainClass::EdJp
            | DomainClass::LgJp => DomainGroup::Attribute,
        }
    }
}

impl Category for DomainClass {
    const ALL: &'static [Self] = &[
        Self::Unknown,
        Self::CoJp,
        Self::AcJp,
        Self::GoJp,
        Self::OrJp,
        Self::NeJp,
        Self::GrJp,
        Self::EdJp,
        Self::LgJp,
        Self::GeneralJp,
        Self::PrefectureJp,
        Self::OtherTld,
    ];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::CoJp => 1,
            Self::AcJp => 2,
            Self::GoJp => 3,
            Self::OrJp => 4,
            Self::NeJp => 5,
            Self::GrJp => 6,
            Self::EdJp => 7,
            Self::LgJp => 8,
            Self::GeneralJp => 9,
            Self::PrefectureJp => 10,
            Self::OtherTld => 11,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::CoJp => "co.jp",
            Self::AcJp => "ac.jp",
            Self::GoJp => "go.jp",
            Self::OrJp => "or.jp",
            Self::NeJp => "ne.jp",
            Self::GrJp => "gr.jp",
            Self::EdJp => "ed.jp",
            Self::LgJp => "lg.jp",
            Self::GeneralJp => "general.jp",
            Self::PrefectureJp => "prefecture.jp",
            Self::OtherTld => "other",
        }
    }
}

/// The coarser level of [`DomainClass`]: an organization-type name (co.jp, ...), a general or
/// geographic .jp name, or another top-level domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum DomainGroup {
    Unknown,
    Attribute,
    GeneralOrPrefecture,
    Other,
}

impl Category for DomainGroup {
    const ALL: &'static [Self] = &[
        Self::Unknown,
        Self::Attribute,
        Self::GeneralOrPrefecture,
        Self::Other,
    ];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::Attribute => 1,
            Self::GeneralOrPrefecture => 2,
            Self::Other => 3,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Attribute => "jp-attribute",
            Self::GeneralOrPrefecture => "jp-general-or-prefecture",
            Self::Other => "other",
        }
    }
}

/// Classifies a domain name (certificate CN or SAN): wildcards, a trailing dot, upper case,
/// full-width characters and IDN labels (`xn--`, decoded for the Japanese prefecture labels of
/// geographic names) are all understood. IP addresses and malformed names are `Unknown`.
pub fn domain_class(name: &str) -> DomainClass {
    let name = nfkc(name);
    // Every certificate has a name to classify: the usual one, ASCII and lower case already,
    // is classified without a copy.
    let lowered: Cow<'_, str> = if !name.is_ascii() {
        Cow::Owned(name.replace(['。', '｡'], ".").trim().to_lowercase())
    } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.trim().to_ascii_lowercase())
    } else {
        Cow::Borrowed(name.trim())
    };
    let bare = lowered.strip_prefix("*.").unwrap_or(&lowered);
    let bare = bare.strip_suffix('.').unwrap_or(bare);
    if !well_formed(bare) {
        return DomainClass::Unknown;
    }
    let Some((rest, tld)) = bare.rsplit_once('.') else {
        return DomainClass::Unknown;
    };
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return DomainClass::Unknown;
    }
    let second = rest.rsplit_once('.').map_or(rest, |(_, second)| second);
    if tld != "jp" {
        return DomainClass::OtherTld;
    }
    match second {
        "co" => DomainClass::CoJp,
        "ac" => DomainClass::AcJp,
        "go" => DomainClass::GoJp,
        "or" => DomainClass::OrJp,
        "ne" => DomainClass::NeJp,
        "gr" => DomainClass::GrJp,
        "ed" => DomainClass::EdJp,
        "lg" => DomainClass::LgJp,
        _ if is_prefecture_label(second) => DomainClass::PrefectureJp,
        _ => DomainClass::GeneralJp,
    }
}

/// Labels not empty, made of letters, digits, `-` and `_`. In one pass over the characters
/// (splitting into labels first cost most of the classification); the bytes of an ASCII name,
/// as nearly every name is, are its characters without decoding.
fn well_formed(name: &str) -> bool {
    if name.is_ascii() {
        labels_well_formed(name.bytes().map(char::from))
    } else {
        labels_well_formed(name.chars())
    }
}

fn labels_well_formed(chars: impl Iterator<Item = char>) -> bool {
    let mut label_empty = true;
    for c in chars {
        if c == '.' {
            if label_empty {
                return false;
            }
            label_empty = true;
        } else if c.is_alphanumeric() || c == '-' || c == '_' {
            label_empty = false;
        } else {
            return false;
        }
    }
    !label_empty
}

/// The 47 prefecture labels of geographic .jp names, in ASCII (`tokyo`) or Japanese (`東京`,
/// also as its `xn--` A-label).
fn is_prefecture_label(label: &str) -> bool {
    let decoded = label.strip_prefix("xn--").and_then(punycode_decode);
    let label = decoded.as_deref().unwrap_or(label);
    geography::is_prefecture_name(label)
}

/// RFC 3492 decoding of one A-label body; `None` when it is not valid Punycode.
fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    // DNS labels are at most 63 octets; longer input is not a label and would make the
    // quadratic insertion below slow.
    if input.len() > 63 || !input.is_ascii() {
        return None;
    }
    let (basic, extended) = match input.rfind('-') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => ("", input),
    };
    let mut output: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (128u32, 0u32, 72u32);
    let mut digits = extended.bytes();
    while digits.len() > 0 {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let digit = match digits.next()? {
                b @ b'a'..=b'z' => u32::from(b - b'a'),
                b @ b'0'..=b'9' => u32::from(b - b'0') + 26,
                _ => return None,
            };
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = k.saturating_sub(bias).clamp(T_MIN, T_MAX);
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = output.len() as u32 + 1;
        bias = punycode_adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        output.insert(i as usize, char::from_u32(n)?);
        i += 1;
    }
    Some(output.into_iter().collect())
}

fn punycode_adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > (35 * 26) / 2 {
        delta /= 35;
        k += 36;
    }
    k + (36 * delta) / (delta + 38)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domain_classes() {
        use DomainClass::*;
        let cases = [
            ("www.example.co.jp", CoJp),
            ("*.example.co.jp", CoJp),
            ("EXAMPLE.CO.JP.", CoJp),
            ("ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏ．ｊｐ", CoJp),
            ("www。example。co。jp", CoJp),
            ("u-tokyo.ac.jp", AcJp),
            ("www.digital.go.jp", GoJp),
            ("example.or.jp", OrJp),
            ("example.ne.jp", NeJp),
            ("example.gr.jp", GrJp),
            ("school.ed.jp", EdJp),
            ("city.example.lg.jp", LgJp),
            ("example.jp", GeneralJp),
            ("*.example.jp", GeneralJp),
            ("xn--wgv71a119e.jp", GeneralJp),
            ("日本語.jp", GeneralJp),
            ("example.tokyo.jp", PrefectureJp),
            ("city.yokohama.kanagawa.jp", PrefectureJp),
            ("pref.okinawa.jp", PrefectureJp),
            ("example.xn--1lqs71d.jp", PrefectureJp),
            ("example.東京.jp", PrefectureJp),
            ("example.XN--DJRS72D6UY.jp", PrefectureJp),
            ("example.com", OtherTld),
            ("example.co.uk", OtherTld),
            ("example.xn--wgv71a", OtherTld),
            ("jp.example.com", OtherTld),
            ("192.0.2.1", Unknown),
            ("2001:db8::1", Unknown),
            ("localhost", Unknown),
            ("", Unknown),
            ("*.", Unknown),
            ("a..jp", Unknown),
            ("exa mple.jp", Unknown),
        ];
        for (name, want) in cases {
            assert_eq!(domain_class(name), want, "{name}");
        }
        assert_eq!(LgJp.label(), "lg.jp");
        assert_eq!(GeneralJp.label(), "general.jp");
        assert_eq!(LgJp.group().label(), "jp-attribute");
        assert_eq!(PrefectureJp.group().label(), "jp-general-or-prefecture");
        assert_eq!(OtherTld.group().label(), "other");
        crate::transform::category::tests::check_codes::<DomainClass>();
        crate::transform::category::tests::check_codes::<DomainGroup>();
    }

    #[test]
    fn punycode_vectors() {
        for (ace, unicode) in [
            ("1lqs71d", "東京"),
            ("pssu33l", "大阪"),
            ("wgv71a119e", "日本語"),
            ("r8jz45g", "例え"),
        ] {
            assert_eq!(punycode_decode(ace).as_deref(), Some(unicode));
        }
        assert_eq!(punycode_decode("abc-"), Some("abc".to_owned()));
        assert_eq!(punycode_decode("!!"), None);
        assert_eq!(punycode_decode("99999999999"), None);
    }

    proptest! {
        #[test]
        fn domain_class_never_panics(a in "\\PC{0,200}", c in "\\PC{0,4}") {
            let _ = domain_class(&a);
            let _ = domain_class(&format!("xn--{c}.{a}.jp"));
        }
    }
}
