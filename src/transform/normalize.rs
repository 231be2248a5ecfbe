//! Normalization of personal values: the one spelling of an e-mail address, phone number,
//! name or postal address that is pseudonymized, so that every way of writing one value gives
//! one pseudonym. Also the Unicode NFKC that the generalizations read text through.
//!
//! - all text: NFKC, zero-width characters removed, trimmed, white space runs (U+3000, tabs,
//!   newlines included) folded to one ASCII space;
//! - e-mail: lower-cased, leading `mailto:` removed;
//! - phone: an extension written after the number (`内線123`, `ext. 12`, `x12`) dropped, then
//!   E.164 (`+` and digits) where the number can be placed, else its digits only; nothing when
//!   it holds no digit;
//! - person, organization, address: lower-cased, no space between two CJK characters (so
//!   `山田 太郎` is `山田太郎`); addresses also unify dash variants, organizations write out
//!   their legal form (`(株)`, `㈱` → `株式会社`, see [`legal_form`]).
//!
//! Each normalization is idempotent, so a pseudonym computed from an already normalized value
//! is the same. Each writes into a buffer the caller reuses (the scan normalizes millions of
//! values) and leaves it empty when nothing is left.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::transform::legal_form;

/// An e-mail address.
pub(crate) fn email(value: &str, out: &mut String) {
    if fold_simple(value, false, out) {
        strip_mailto(out);
    } else {
        *out = normalize_email_in_steps(value);
    }
}

/// A phone number.
pub(crate) fn phone(value: &str, out: &mut String) {
    match normalize_phone(value) {
        Some(phone) => *out = phone,
        None => out.clear(),
    }
}

/// A person's name.
pub(crate) fn name(value: &str, out: &mut String) {
    if !fold_simple(value, true, out) {
        *out = normalize_name_in_steps(value, false);
    }
}

/// An organization's name: a name whose legal form is written out.
pub(crate) fn organization(value: &str, out: &mut String) {
    name(value, out);
    legal_form::write_out(out);
}

/// A postal address: a name whose dash look-alikes are also unified.
pub(crate) fn address(value: &str, out: &mut String) {
    if !fold_simple(value, true, out) {
        *out = normalize_name_in_steps(value, true);
    }
}

/// NFKC, then trim and fold white space: in one pass over the text when every character has a
/// simple NFKC (see [`simple_nfkc`]), else in steps.
fn fold_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.chars() {
        let Some(c) = simple_nfkc(c) else {
            return fold_text_in_steps(value);
        };
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Zero-width characters go first so that their removal cannot create a sequence that NFKC
/// would compose on a second pass.
fn fold_text_in_steps(value: &str) -> String {
    let visible = if value.contains(['\u{200b}', '\u{feff}']) {
        Cow::Owned(
            value
                .chars()
                .filter(|c| !matches!(c, '\u{200b}' | '\u{feff}'))
                .collect(),
        )
    } else {
        Cow::Borrowed(value)
    };
    let nfkc = nfkc(&visible);
    let mut out = String::with_capacity(nfkc.len());
    for word in nfkc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Unicode NFKC, without copying text that already is. Most of what a CA stores (ASCII, kana,
/// kanji, CJK punctuation, full-width ASCII forms, U+3000) is mapped character by character
/// here; only other text pays for the full algorithm.
pub(crate) fn nfkc(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut changed = false;
    for c in s.chars() {
        match simple_nfkc(c) {
            Some(m) => changed |= m != c,
            None => {
                return match is_nfkc_quick(s.chars()) {
                    IsNormalized::Yes => Cow::Borrowed(s),
                    _ => Cow::Owned(s.nfkc().collect()),
                };
            }
        }
    }
    if changed {
        let mut out = String::with_capacity(s.len());
        out.extend(s.chars().filter_map(simple_nfkc));
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// NFKC of one character when it is a character that neither composes with a neighbour nor is
/// reordered (NFKC_Quick_Check = Yes, canonical combining class 0), or maps to one such
/// character; `None` for everything else. So a string made only of these is normalized
/// character by character. The unit tests check every character listed against the
/// `unicode-normalization` tables.
fn simple_nfkc(c: char) -> Option<char> {
    match c {
        '\0'..='\u{7f}'
        | '\u{3001}'..='\u{3029}'
        | '\u{3041}'..='\u{3096}'
        | '\u{309d}'..='\u{309e}'
        | '\u{30a1}'..='\u{30fe}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}' => Some(c),
        '\u{3000}' => Some(' '),
        // Full-width ASCII: the compatibility decomposition is the ASCII character.
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0),
        _ => None,
    }
}

fn into_nfkc(s: String) -> String {
    match nfkc(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(normalized) => normalized,
    }
}

/// The whole normalization of a name or an e-mail address in one pass, when every character
/// has a simple NFKC: fold white space, lower-case (among those characters only ASCII letters
/// have case) and, when `join_cjk`, drop a space between two CJK characters. Nothing in such
/// text can compose, so the result is NFKC. False (and `out` empty) sends the text down the
/// general path.
fn fold_simple(value: &str, join_cjk: bool, out: &mut String) -> bool {
    out.clear();
    if value.is_ascii() {
        fold_ascii(value, out);
        return true;
    }
    let mut space = false;
    let mut previous = None;
    for c in value.chars() {
        let Some(c) = simple_nfkc(c) else {
            out.clear();
            return false;
        };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let joined = join_cjk && previous.is_some_and(is_cjk) && is_cjk(c);
        if space && !out.is_empty() && !joined {
            out.push(' ');
        }
        space = false;
        out.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    true
}

/// [`fold_simple`] of ASCII text: its words joined by one space, lower-cased. E-mail addresses
/// mostly, which are one word, so this is a copy and a lower-casing of the whole.
fn fold_ascii(value: &str, out: &mut String) {
    // Exactly the ASCII characters `char::is_whitespace` accepts (`split_ascii_whitespace`
    // misses the vertical tab). Words are found on the bytes: splitting the `str` decoded
    // every character.
    let space = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
    let mut rest = value;
    while let Some(start) = rest.bytes().position(|b| !space(b)) {
        let word = &rest[start..];
        let end = word.bytes().position(space).unwrap_or(word.len());
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word[..end]);
        rest = &word[end..];
    }
    out.make_ascii_lowercase();
}

fn normalize_email_in_steps(value: &str) -> String {
    let mut folded = fold_text(value);
    if folded.is_ascii() {
        folded.make_ascii_lowercase();
    } else {
        folded = folded.to_lowercase();
    }
    strip_mailto(&mut folded);
    into_nfkc(folded)
}

fn strip_mailto(address: &mut String) {
    let mut rest = address.as_str();
    while let Some(stripped) = rest.strip_prefix("mailto:") {
        rest = stripped.trim_start();
    }
    let prefix = address.len() - rest.len();
    address.drain(..prefix);
}

fn normalize_name_in_steps(value: &str, address: bool) -> String {
    let mut lowered = fold_text(value);
    if lowered.is_ascii() {
        // No CJK to join, no dash look-alike, and ASCII is NFKC.
        lowered.make_ascii_lowercase();
        return lowered;
    }
    let lowered = lowered.to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut chars = lowered
        .chars()
        .map(|c| if address && is_dash(c) { '-' } else { c })
        .peekable();
    let mut previous = None;
    while let Some(c) = chars.next() {
        let between_cjk = c == ' '
            && previous.is_some_and(is_cjk)
            && chars.peek().is_some_and(|&next| is_cjk(next));
        if !between_cjk {
            out.push(c);
        }
        previous = Some(c);
    }
    // Joining two CJK characters can form a composable pair (か + U+3099); compose it now
    // rather than on the next pass.
    into_nfkc(out)
}

/// Dash look-alikes that NFKC leaves alone (hyphen, en/em dash, minus sign, …).
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{2043}' | '\u{fe58}'
    )
}

/// Scripts written without spaces between words: Han, kana, Hangul syllables, CJK marks.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}'..='\u{3007}'         // 々 〆 〇
        | '\u{3040}'..='\u{30ff}'       // hiragana, katakana
        | '\u{31f0}'..='\u{31ff}'       // katakana phonetic extensions
        | '\u{3400}'..='\u{4dbf}'       // CJK extension A
        | '\u{4e00}'..='\u{9fff}'       // CJK unified ideographs
        | '\u{ac00}'..='\u{d7a3}'       // Hangul syllables
        | '\u{f900}'..='\u{faff}'       // CJK compatibility ideographs
        | '\u{20000}'..='\u{3134f}'     // CJK extensions B–G
    )
}

/// Phone numbers to E.164. A `+` before the first digit marks an international number; a
/// number without one is national: Japanese (trunk `0`, 10 or 11 digits), or written with the
/// country code 81 but no `+`, or dialled with an international prefix (`010`, `00`). What fits
/// none of these keeps its digits only, so it still pseudonymizes consistently.
fn normalize_phone(value: &str) -> Option<String> {
    // Only `+` and digits are kept, so white space needs no folding and NFKC character by
    // character is enough when every character has a simple one.
    let text = if value.chars().all(|c| simple_nfkc(c).is_some()) {
        nfkc(value)
    } else {
        Cow::Owned(fold_text(value))
    };
    phone_from_chars(without_extension(&text).chars())
}

/// The number without an extension written after it, as libphonenumber reads one: a marker
/// (`内線`, `ext`, `extension`, `x`, `#`, so also `;ext=`) after a digit and before one, with
/// only white space, `.`, `:`, `=`, `-` or `(` between the marker and the extension's digits.
fn without_extension(text: &str) -> &str {
    const MARKERS: [&str; 5] = ["内線", "extension", "ext", "x", "#"];
    let Some(first_digit) = text.find(|c: char| c.is_ascii_digit()) else {
        return text;
    };
    for (at, _) in text.char_indices().skip_while(|&(at, _)| at <= first_digit) {
        let rest = &text[at..];
        let extension_follows = MARKERS.iter().any(|marker| {
            // The first byte alone first: most characters start no marker, and comparing
            // every marker whole at every character cost most of a phone number's
            // normalization.
            rest.as_bytes()[0].eq_ignore_ascii_case(&marker.as_bytes()[0])
                && rest
                    .get(..marker.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(marker))
                && rest[marker.len()..]
                    .trim_start_matches(|c: char| c.is_whitespace() || ".:=-(".contains(c))
                    .starts_with(|c: char| c.is_ascii_digit())
        });
        if extension_follows {
            return &text[..at];
        }
    }
    text
}

fn phone_from_chars(chars: impl Iterator<Item = char>) -> Option<String> {
    let mut digits = String::new();
    let mut plus = false;
    for c in chars {
        match c {
            '+' if digits.is_empty() => plus = true,
            '0'..='9' => digits.push(c),
            _ => {}
        }
    }
    if digits.is_empty() {
        return None;
    }
    Some(phone_from_digits(plus, &digits))
}

fn phone_from_digits(plus: bool, digits: &str) -> String {
    if plus && let Some(e164) = international(digits) {
        return e164;
    }
    let national = if let Some(rest) = digits.strip_prefix("010") {
        international(rest)
    } else if let Some(rest) = digits.strip_prefix("00") {
        international(rest)
    } else if let Some(rest) = digits.strip_prefix('0') {
        (9..=10).contains(&rest.len()).then(|| format!("+81{rest}"))
    } else if digits.starts_with("81") {
        international(digits).filter(|e| (12..=13).contains(&e.len()))
    } else {
        None
    };
    national.unwrap_or_else(|| digits.to_owned())
}

/// `+` and the digits when they form a plausible E.164 number (country code not starting with
/// 0, 7 to 15 digits); a Japanese trunk `0` written after the country code is dropped.
fn international(digits: &str) -> Option<String> {
    let digits = match digits.strip_prefix("810") {
        Some(rest) => format!("81{rest}"),
        None => digits.to_owned(),
    };
    let valid = !digits.starts_with('0') && (7..=15).contains(&digits.len());
    valid.then(|| format!("+{digits}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `normalize` makes of `value`; `None` when nothing is left.
    fn norm(normalize: fn(&str, &mut String), value: &str) -> Option<String> {
        let mut out = String::new();
        normalize(value, &mut out);
        (!out.is_empty()).then_some(out)
    }

    #[test]
    fn phone_forms_are_one_number() {
        for form in [
            "03-1234-5678",
            "０３（１２３４）５６７８",
            "+81 3 1234 5678",
            "(03) 1234-5678",
            "81-3-1234-5678",
            "+81 (0)3-1234-5678",
            "tel:+81-3-1234-5678",
            "010-81-3-1234-5678",
            "\u{3000}03 1234 5678\t",
        ] {
            assert_eq!(norm(phone, form).as_deref(), Some("+81312345678"), "{form}");
        }
        assert_eq!(
            norm(phone, "090 1234 5678").as_deref(),
            Some("+819012345678")
        );
        assert_eq!(
            norm(phone, "81-90-1234-5678").as_deref(),
            Some("+819012345678")
        );
        assert_eq!(
            norm(phone, "+1 (415) 555-0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            norm(phone, "0044 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
    }

    #[test]
    fn phone_extensions_are_dropped() {
        for form in [
            "03-1234-5678 内線123",
            "03-1234-5678 ext. 12",
            "03-1234-5678 x12",
            "03-1234-5678（内線12）",
            "03-1234-5678 EXT 12",
            "03-1234-5678#12",
            "tel:+81-3-1234-5678;ext=12",
            "０３－１２３４－５６７８　内線：１２",
            "+81 3 1234 5678 extension 3",
            // A marker with no digit after it, or before any digit, is no extension.
            "03-1234-5678 (内線なし)",
            "x 03-1234-5678",
            "03-1234-5678 x",
        ] {
            assert_eq!(norm(phone, form).as_deref(), Some("+81312345678"), "{form}");
        }
    }

    #[test]
    fn phone_that_cannot_be_placed_keeps_its_digits() {
        assert_eq!(norm(phone, "1234").as_deref(), Some("1234"));
        assert_eq!(norm(phone, "03-1234").as_deref(), Some("031234"));
        assert_eq!(norm(phone, "+12").as_deref(), Some("12"));
        // 81 followed by too few digits for a Japanese number is not taken as a country code.
        assert_eq!(norm(phone, "8112345").as_deref(), Some("8112345"));
        assert_eq!(norm(phone, "415-555-0100").as_deref(), Some("4155550100"));
        assert_eq!(norm(phone, "n/a"), None);
        assert_eq!(norm(phone, "  "), None);
    }

    #[test]
    fn email_is_case_folded_and_mailto_stripped() {
        for form in [
            "Taro@Example.JP",
            "mailto:taro@example.jp",
            "ＴＡＲＯ＠ｅｘａｍｐｌｅ．ｊｐ",
            " MAILTO: taro@example.jp",
        ] {
            assert_eq!(
                norm(email, form).as_deref(),
                Some("taro@example.jp"),
                "{form}"
            );
        }
    }

    #[test]
    fn names_fold_space_and_width() {
        let want = Some("山田太郎".to_owned());
        assert_eq!(norm(name, "山田 太郎"), want);
        assert_eq!(norm(name, "山田\u{3000}太郎"), want);
        assert_eq!(norm(name, " 山田太郎\n"), want);
        assert_eq!(norm(name, "ﾔﾏﾀﾞ ﾀﾛｳ").as_deref(), Some("ヤマダタロウ"));
        assert_eq!(
            norm(name, "  Taro \t YAMADA ").as_deref(),
            Some("taro yamada")
        );
        assert_eq!(
            norm(name, "Ｔａｒｏ　Ｙａｍａｄａ").as_deref(),
            Some("taro yamada")
        );
        // A space between a Latin and a CJK word is a real word boundary.
        assert_eq!(norm(name, "ABC 株式会社").as_deref(), Some("abc 株式会社"));
        assert_eq!(
            norm(address, "1\u{2212}2\u{2010}3").as_deref(),
            Some("1-2-3")
        );
        assert_eq!(norm(name, " \u{3000}\t"), None);
    }

    #[test]
    fn simple_nfkc_agrees_with_the_tables() {
        use unicode_normalization::char::canonical_combining_class;
        let mut covered = 0;
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let Some(mapped) = simple_nfkc(c) else {
                continue;
            };
            covered += 1;
            let full: String = c.to_string().nfkc().collect();
            assert_eq!(full, mapped.to_string(), "U+{:04X}", u32::from(c));
            assert_eq!(
                is_nfkc_quick(std::iter::once(mapped)),
                IsNormalized::Yes,
                "U+{:04X} may compose with a neighbour",
                u32::from(mapped)
            );
            assert_eq!(canonical_combining_class(mapped), 0);
        }
        assert!(covered > 28_000, "{covered}");
    }

    #[test]
    fn nfkc_borrows_what_is_already_normalized() {
        assert!(matches!(nfkc("taro@example.jp"), Cow::Borrowed(_)));
        assert!(matches!(nfkc("山田太郎・やまだ"), Cow::Borrowed(_)));
        assert!(matches!(nfkc("café"), Cow::Borrowed(_)));
        assert_eq!(nfkc("山田\u{3000}太郎"), "山田 太郎");
        assert_eq!(nfkc("ＴＡＲＯ＠ｅｘ．ｊｐ"), "TARO@ex.jp");
        assert_eq!(nfkc("ﾀﾞﾛｳ"), "ダロウ");
        assert_eq!(nfkc("か\u{3099}"), "が");
        assert_eq!(nfkc("①ｶﾞ"), "1ガ");
    }

    /// Text that exercises the normalizations: full-width forms, half-width kana, combining
    /// marks, zero-width spaces, the various white spaces, `mailto:`, legal forms and phone
    /// extensions.
    pub(crate) fn any_text() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            any::<char>().prop_map(String::from),
            Just("\u{3000}".to_owned()),
            Just(" ".to_owned()),
            Just("\t".to_owned()),
            "[ぁ-んァ-ヶ一-龥]{1,3}",
            "[０-９Ａ-Ｚａ-ｚ（）－＋＠．]{1,3}",
            "[0-9+()\\- ]{1,4}",
            Just("mailto:".to_owned()),
            "(\\(株\\)|㈱|株\\)|\\(株|株式会社|（一社）|NPO 法人|内線|ext\\.|x)",
            Just("\u{3099}".to_owned()),
            Just("\u{309b}".to_owned()),
            Just("\u{200b}".to_owned()),
            "[ｦ-ﾟ]{1,3}",
        ];
        proptest::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent(s in any_text()) {
            for normalize in [email, phone, name, organization, address] {
                if let Some(once) = norm(normalize, &s) {
                    prop_assert_eq!(norm(normalize, &once), Some(once));
                }
            }
        }

        #[test]
        fn an_extension_never_changes_the_number(
            number in prop_oneof![
                "0[2-9]-[0-9]{4}-[0-9]{4}",
                "0[789]0 [0-9]{4} [0-9]{4}",
                "\\+81 [1-9] [0-9]{4} [0-9]{4}",
                "\\+1 \\([2-9][0-9]{2}\\) [2-9][0-9]{2}-[0-9]{4}",
                "０[２-９]（[０-９]{4}）[０-９]{4}",
            ],
            separator in "[ 　,(（]{0,2}",
            marker in "(内線|ext|EXT|Ext\\.|extension|x|X|#|;ext=|ｅｘｔ．)",
            gap in "[ 　:：]{0,2}",
            extension in "[0-9０-９]{1,6}",
            close in "[)）]?",
        ) {
            let plain = norm(phone, &number);
            prop_assert!(plain.as_deref().is_some_and(|p| p.starts_with('+')), "{:?}", plain);
            let written = format!("{number}{separator}{marker}{gap}{extension}{close}");
            prop_assert_eq!(norm(phone, &written), plain, "{}", written);
        }

        #[test]
        fn one_pass_fold_is_the_stepwise_fold(s in any_text()) {
            prop_assert_eq!(fold_text(&s), fold_text_in_steps(&s));
        }

        #[test]
        fn one_pass_normalization_is_the_stepwise_one(s in any_text(), address in any::<bool>()) {
            let mut folded = String::new();
            if fold_simple(&s, true, &mut folded) {
                prop_assert_eq!(&folded, &normalize_name_in_steps(&s, address));
            }
            if fold_simple(&s, false, &mut folded) {
                strip_mailto(&mut folded);
                prop_assert_eq!(folded, normalize_email_in_steps(&s));
            }
            let folded = fold_text(&s);
            prop_assert_eq!(normalize_phone(&s), phone_from_chars(without_extension(&folded).chars()));
        }

        #[test]
        fn nfkc_is_unicode_nfkc(s in any_text()) {
            prop_assert_eq!(nfkc(&s).into_owned(), s.nfkc().collect::<String>());
        }
    }
}
