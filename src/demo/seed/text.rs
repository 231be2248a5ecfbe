//! Character-level rewriting that real registration forms produce: full-width ASCII,
//! half-width and hiragana forms of katakana, and romaji for e-mail local parts.

/// Full-width form of printable ASCII (U+FF01..U+FF5E, space → U+3000); other chars unchanged.
pub fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Full-width digits only, so `1-2-3` keeps its ASCII hyphens unless the caller swaps them.
pub fn full_width_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Hiragana form of a katakana reading (long-vowel mark and middle dot kept).
pub fn hiragana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

const FULL_KANA: &str = "ァアィイゥウェエォオカキクケコサシスセソタチッツテトナニヌネノハヒフヘホマミムメモャヤュユョヨラリルレロワヲンー・　";
const HALF_KANA: &str = "ｧｱｨｲｩｳｪｴｫｵｶｷｸｹｺｻｼｽｾｿﾀﾁｯﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓｬﾔｭﾕｮﾖﾗﾘﾙﾚﾛﾜｦﾝｰ･ ";
const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボ";
const VOICED_BASE: &str = "カキクケコサシスセソタチツテトハヒフヘホ";
const SEMI_VOICED: &str = "パピプペポ";
const SEMI_VOICED_BASE: &str = "ハヒフヘホ";

/// Half-width katakana (JIS X 0201) of a full-width katakana reading: voiced kana become a
/// base kana plus a separate sound mark, as legacy systems store them.
pub fn half_width_kana(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if let Some(i) = VOICED.chars().position(|v| v == c) {
            push_half(&mut out, VOICED_BASE.chars().nth(i).unwrap_or(c));
            out.push('ﾞ');
        } else if let Some(i) = SEMI_VOICED.chars().position(|v| v == c) {
            push_half(&mut out, SEMI_VOICED_BASE.chars().nth(i).unwrap_or(c));
            out.push('ﾟ');
        } else if c == 'ヴ' {
            out.push_str("ｳﾞ");
        } else {
            push_half(&mut out, c);
        }
    }
    out
}

fn push_half(out: &mut String, c: char) {
    match FULL_KANA.chars().position(|k| k == c) {
        Some(i) => out.push(HALF_KANA.chars().nth(i).unwrap_or(c)),
        None => out.push(c),
    }
}

/// Hepburn-style romaji of a katakana reading, lower case, for e-mail local parts and domain
/// labels. `long_vowels` keeps `ou`/`uu` as typed (satou) instead of folding them (sato).
pub fn romaji(kana: &str, long_vowels: bool) -> String {
    let chars: Vec<char> = kana.chars().collect();
    let mut out = String::with_capacity(chars.len() * 2);
    let mut double_next = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            'ッ' => {
                double_next = true;
                continue;
            }
            'ー' | '・' | ' ' | '\u{3000}' => continue,
            _ => {}
        }
        let mut syl = String::from(kana_romaji(c));
        if let Some(&small) = chars.get(i) {
            if let Some(glide) = match small {
                'ャ' => Some("a"),
                'ュ' => Some("u"),
                'ョ' => Some("o"),
                _ => None,
            } {
                i += 1;
                syl.pop();
                if !(syl.ends_with("sh") || syl.ends_with("ch") || syl.ends_with('j')) {
                    syl.push('y');
                }
                syl.push_str(glide);
            } else if let Some(vowel) = match small {
                'ァ' => Some('a'),
                'ィ' => Some('i'),
                'ェ' => Some('e'),
                'ォ' => Some('o'),
                _ => None,
            } {
                i += 1;
                syl.pop();
                syl.push(vowel);
            }
        }
        if double_next {
            if let Some(first) = syl.chars().next().filter(|f| !"aiueon".contains(*f)) {
                out.push(if syl.starts_with("ch") { 't' } else { first });
            }
            double_next = false;
        }
        out.push_str(&syl);
    }
    if long_vowels {
        out
    } else {
        out.replace("ou", "o").replace("uu", "u")
    }
}

fn kana_romaji(c: char) -> &'static str {
    match c {
        'ア' => "a",
        'イ' => "i",
        'ウ' => "u",
        'エ' => "e",
        'オ' => "o",
        'カ' => "ka",
        'キ' => "ki",
        'ク' => "ku",
        'ケ' => "ke",
        'コ' => "ko",
        'ガ' => "ga",
        'ギ' => "gi",
        'グ' => "gu",
        'ゲ' => "ge",
        'ゴ' => "go",
        'サ' => "sa",
        'シ' => "shi",
        'ス' => "su",
        'セ' => "se",
        'ソ' => "so",
        'ザ' => "za",
        'ジ' | 'ヂ' => "ji",
        'ズ' | 'ヅ' => "zu",
        'ゼ' => "ze",
        'ゾ' => "zo",
        'タ' => "ta",
        'チ' => "chi",
        'ツ' => "tsu",
        'テ' => "te",
        'ト' => "to",
        'ダ' => "da",
        'デ' => "de",
        'ド' => "do",
        'ナ' => "na",
        'ニ' => "ni",
        'ヌ' => "nu",
        'ネ' => "ne",
        'ノ' => "no",
        'ハ' => "ha",
        'ヒ' => "hi",
        'フ' => "fu",
        'ヘ' => "he",
        'ホ' => "ho",
        'バ' => "ba",
        'ビ' => "bi",
        'ブ' => "bu",
        'ベ' => "be",
        'ボ' => "bo",
        'パ' => "pa",
        'ピ' => "pi",
        'プ' => "pu",
        'ペ' => "pe",
        'ポ' => "po",
        'マ' => "ma",
        'ミ' => "mi",
        'ム' => "mu",
        'メ' => "me",
        'モ' => "mo",
        'ヤ' => "ya",
        'ユ' => "yu",
        'ヨ' => "yo",
        'ラ' => "ra",
        'リ' => "ri",
        'ル' => "ru",
        'レ' => "re",
        'ロ' => "ro",
        'ワ' => "wa",
        'ヲ' => "o",
        'ン' => "n",
        'ヴ' => "vu",
        _ => "",
    }
}

/// Kanji numeral for 1..=99, as in 三丁目 or 十二番.
pub fn kanji_number(n: u32) -> String {
    const DIGITS: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let (tens, ones) = (n / 10, n % 10);
    let mut s = String::new();
    if tens > 1 {
        s.push_str(DIGITS[tens as usize % 10]);
    }
    if tens > 0 {
        s.push('十');
    }
    if ones > 0 || tens == 0 {
        s.push_str(DIGITS[ones as usize]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn full_width_maps_ascii_and_space() {
        assert_eq!(full_width("a.B@1 x"), "ａ．Ｂ＠１\u{3000}ｘ");
        assert_eq!(full_width_digits("1-2-3"), "１-２-３");
    }

    #[test]
    fn half_width_splits_sound_marks() {
        assert_eq!(half_width_kana("サトウ　タロウ"), "ｻﾄｳ ﾀﾛｳ");
        assert_eq!(half_width_kana("ガッコウ"), "ｶﾞｯｺｳ");
        assert_eq!(half_width_kana("ポール"), "ﾎﾟｰﾙ");
    }

    #[test]
    fn hiragana_of_katakana() {
        assert_eq!(hiragana("ヤマダ ハナコ"), "やまだ はなこ");
    }

    #[test]
    fn romaji_handles_glides_and_geminates() {
        assert_eq!(romaji("サトウ", true), "satou");
        assert_eq!(romaji("サトウ", false), "sato");
        assert_eq!(romaji("ショウタ", false), "shota");
        assert_eq!(romaji("キョウコ", false), "kyoko");
        assert_eq!(romaji("ハットリ", true), "hattori");
        assert_eq!(romaji("マッチャ", true), "matcha");
        assert_eq!(romaji("ジュン", true), "jun");
    }

    #[test]
    fn kanji_numbers() {
        assert_eq!(kanji_number(3), "三");
        assert_eq!(kanji_number(10), "十");
        assert_eq!(kanji_number(12), "十二");
        assert_eq!(kanji_number(25), "二十五");
    }

    proptest! {
        #[test]
        fn romaji_of_any_katakana_is_ascii(s in "[ァ-ヴー]{0,12}") {
            prop_assert!(romaji(&s, true).is_ascii());
        }

        #[test]
        fn half_width_has_no_full_width_katakana(s in "[ァ-ヶ]{0,12}") {
            let h = half_width_kana(&s);
            // ヮヰヱヵヶ have no JIS X 0201 form and stay as they are
            prop_assert!(h.chars().all(|c| !('ァ'..='ヴ').contains(&c) || "ヮヰヱ".contains(c)));
        }
    }
}
