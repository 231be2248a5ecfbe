//! What looks like a direct identifier or a linking code in a CSV value, and cell keys
//! written so that such a value is never repeated in a failure line.

use crate::transform::pseudonymize::PSEUDONYM_B32_LEN;

/// What looks like a direct identifier or a linking code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Suspect {
    Email,
    Phone,
    Serial,
    NotPseudonym,
}

impl Suspect {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Suspect::Email => "look like e-mail addresses",
            Suspect::Phone => "look like phone numbers",
            Suspect::Serial => "look like serial numbers or other long hex codes",
            Suspect::NotPseudonym => "in a pseudonym column are not pseudonyms",
        }
    }
}

pub(super) fn suspect(value: &str, pseudonym_column: bool) -> Option<Suspect> {
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

/// A cell key for a failure line; labels that look like identifiers are not repeated.
pub(super) fn show_key(key: &[String]) -> String {
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
