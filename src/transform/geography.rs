//! Where a subscriber is: the 47 prefectures (JIS X 0401) and the eight regions of Japan, the
//! postal-code ranges, and the reading of an address (its prefecture, else its municipality),
//! a postal code and a country into one region code.

use std::borrow::Cow;
use std::sync::LazyLock;

use rustc_hash::FxHashSet;
use unicode_normalization::UnicodeNormalization;

use crate::transform::category::UNKNOWN;
use crate::transform::municipality::{names_municipality, prefecture_of_municipality};
use crate::transform::normalize::nfkc;

/// Foreign countries: `FOREIGN_BASE + (c1 - 'A') * 26 + (c2 - 'A')` for ISO 3166 alpha-2.
pub(crate) const FOREIGN_BASE: u16 = 1000;
pub(crate) const FOREIGN_LAST: u16 = FOREIGN_BASE + 26 * 26 - 1;

struct Prefecture {
    name: &'static str,
    /// The name without 都/府/県, accepted where it is unambiguous at the start of an address.
    short: &'static str,
    /// The name in English, as the prefectures spell it themselves (no macrons, no "-ken").
    english: &'static str,
    /// Romanizations; the first is also the prefecture label of geographic .jp names.
    romaji: &'static [&'static str],
    region: u8,
}

const fn pref(
    name: &'static str,
    short: &'static str,
    english: &'static str,
    romaji: &'static [&'static str],
    region: u8,
) -> Prefecture {
    Prefecture {
        name,
        short,
        english,
        romaji,
        region,
    }
}

/// JIS X 0401 order: index + 1 is the prefecture code.
const PREFECTURES: [Prefecture; 47] = [
    pref(
        "北海道",
        "北海道",
        "Hokkaido",
        &["hokkaido", "hokkaidou"],
        1,
    ),
    pref("青森県", "青森", "Aomori", &["aomori"], 2),
    pref("岩手県", "岩手", "Iwate", &["iwate"], 2),
    pref("宮城県", "宮城", "Miyagi", &["miyagi"], 2),
    pref("秋田県", "秋田", "Akita", &["akita"], 2),
    pref("山形県", "山形", "Yamagata", &["yamagata"], 2),
    pref("福島県", "福島", "Fukushima", &["fukushima"], 2),
    pref("茨城県", "茨城", "Ibaraki", &["ibaraki", "ibaragi"], 3),
    pref("栃木県", "栃木", "Tochigi", &["tochigi"], 3),
    pref("群馬県", "群馬", "Gunma", &["gunma", "gumma"], 3),
    pref("埼玉県", "埼玉", "Saitama", &["saitama"], 3),
    pref("千葉県", "千葉", "Chiba", &["chiba"], 3),
    pref("東京都", "東京", "Tokyo", &["tokyo", "toukyou", "tokio"], 3),
    pref("神奈川県", "神奈川", "Kanagawa", &["kanagawa"], 3),
    pref("新潟県", "新潟", "Niigata", &["niigata"], 4),
    pref("富山県", "富山", "Toyama", &["toyama"], 4),
    pref("石川県", "石川", "Ishikawa", &["ishikawa"], 4),
    pref("福井県", "福井", "Fukui", &["fukui"], 4),
    pref("山梨県", "山梨", "Yamanashi", &["yamanashi"], 4),
    pref("長野県", "長野", "Nagano", &["nagano"], 4),
    pref("岐阜県", "岐阜", "Gifu", &["gifu"], 4),
    pref("静岡県", "静岡", "Shizuoka", &["shizuoka"], 4),
    pref("愛知県", "愛知", "Aichi", &["aichi"], 4),
    pref("三重県", "三重", "Mie", &["mie"], 5),
    pref("滋賀県", "滋賀", "Shiga", &["shiga"], 5),
    pref("京都府", "京都", "Kyoto", &["kyoto", "kyouto"], 5),
    pref("大阪府", "大阪", "Osaka", &["osaka", "oosaka", "ohsaka"], 5),
    pref("兵庫県", "兵庫", "Hyogo", &["hyogo", "hyougo"], 5),
    pref("奈良県", "奈良", "Nara", &["nara"], 5),
    pref("和歌山県", "和歌山", "Wakayama", &["wakayama"], 5),
    pref("鳥取県", "鳥取", "Tottori", &["tottori"], 6),
    pref("島根県", "島根", "Shimane", &["shimane"], 6),
    pref("岡山県", "岡山", "Okayama", &["okayama"], 6),
    pref("広島県", "広島", "Hiroshima", &["hiroshima"], 6),
    pref("山口県", "山口", "Yamaguchi", &["yamaguchi"], 6),
    pref("徳島県", "徳島", "Tokushima", &["tokushima"], 7),
    pref("香川県", "香川", "Kagawa", &["kagawa"], 7),
    pref("愛媛県", "愛媛", "Ehime", &["ehime"], 7),
    pref("高知県", "高知", "Kochi", &["kochi", "kouchi"], 7),
    pref("福岡県", "福岡", "Fukuoka", &["fukuoka"], 8),
    pref("佐賀県", "佐賀", "Saga", &["saga"], 8),
    pref("長崎県", "長崎", "Nagasaki", &["nagasaki"], 8),
    pref("熊本県", "熊本", "Kumamoto", &["kumamoto"], 8),
    pref("大分県", "大分", "Oita", &["oita", "ooita", "ohita"], 8),
    pref("宮崎県", "宮崎", "Miyazaki", &["miyazaki"], 8),
    pref("鹿児島県", "鹿児島", "Kagoshima", &["kagoshima"], 8),
    pref("沖縄県", "沖縄", "Okinawa", &["okinawa"], 8),
];

/// The eight regions of Japan, numbered from 1: the published code, the English name and the
/// Japanese name. The codes are ASCII so that a table loads the same everywhere; the Japanese
/// names are the ones the regions are known by.
const REGIONS: [(&str, &str, &str); 8] = [
    ("hokkaido", "Hokkaido", "北海道"),
    ("tohoku", "Tohoku", "東北"),
    ("kanto", "Kanto", "関東"),
    ("chubu", "Chubu", "中部"),
    ("kinki", "Kinki", "近畿"),
    ("chugoku", "Chugoku", "中国"),
    ("shikoku", "Shikoku", "四国"),
    ("kyushu_okinawa", "Kyushu-Okinawa", "九州・沖縄"),
];

/// First three postal-code digits → prefecture: each entry starts a range that runs to the next
/// entry. Japan Post's ranges follow prefectures at this granularity except for a few border
/// towns; 817 (Tsushima) is the one whole prefix that belongs elsewhere than its neighbours.
const POSTAL_RANGES: &[(u16, u8)] = &[
    (0, 0),
    (1, 1),
    (10, 5),
    (20, 3),
    (30, 2),
    (40, 1),
    (100, 13),
    (210, 14),
    (260, 12),
    (300, 8),
    (320, 9),
    (330, 11),
    (370, 10),
    (380, 20),
    (400, 19),
    (410, 22),
    (440, 23),
    (500, 21),
    (510, 24),
    (520, 25),
    (530, 27),
    (600, 26),
    (630, 29),
    (640, 30),
    (650, 28),
    (680, 31),
    (690, 32),
    (700, 33),
    (720, 34),
    (740, 35),
    (760, 37),
    (770, 36),
    (780, 39),
    (790, 38),
    (800, 40),
    (817, 42),
    (818, 40),
    (840, 41),
    (850, 42),
    (860, 43),
    (870, 44),
    (880, 45),
    (890, 46),
    (900, 47),
    (910, 18),
    (920, 17),
    (930, 16),
    (940, 15),
    (960, 7),
    (980, 4),
    (990, 6),
];

/// The kanji name of a JIS X 0401 prefecture code (13 → 東京都).
pub(crate) fn prefecture_name(code: u16) -> Option<&'static str> {
    prefecture(code).map(|p| p.name)
}

/// The region (1 北海道 … 8 九州・沖縄) of a prefecture code; 0 for anything else.
pub(crate) fn region_of_prefecture(code: u16) -> u8 {
    prefecture(code).map_or(0, |p| p.region)
}

/// The English name of a JIS X 0401 prefecture code (13 → Tokyo).
pub(crate) fn prefecture_english(code: u16) -> Option<&'static str> {
    prefecture(code).map(|p| p.english)
}

/// The code, English name and Japanese name of a region number from [`region_of_prefecture`]
/// (3 → `kanto`, Kanto, 関東).
pub(crate) fn region(region: u8) -> Option<(&'static str, &'static str, &'static str)> {
    REGIONS.get(usize::from(region).checked_sub(1)?).copied()
}

/// Whether a label names a prefecture: its first romanization (`tokyo`), its short name (`東京`)
/// or its full name (`東京都`), as the labels of geographic .jp names do.
pub(crate) fn is_prefecture_name(label: &str) -> bool {
    PREFECTURE_NAMES.contains(label)
}

/// What [`is_prefecture_name`] accepts, hashed: a quarter of all certificate names ask, and
/// comparing against each prefecture's names in turn cost as much as the rest of
/// `domain_class`.
static PREFECTURE_NAMES: LazyLock<FxHashSet<&'static str>> = LazyLock::new(|| {
    PREFECTURES
        .iter()
        .flat_map(|p| [p.romaji[0], p.short, p.name])
        .collect()
});

fn prefecture(code: u16) -> Option<&'static Prefecture> {
    PREFECTURES.get(usize::from(code).checked_sub(1)?)
}

/// Region code of a subscriber: 1..=47 the JIS X 0401 prefecture for Japan (country `JP` or
/// NULL), [`FOREIGN_BASE`]`..` for a foreign ISO 3166 alpha-2 country, [`UNKNOWN`] otherwise.
/// The address text decides (its prefecture, else its municipality, else a short or romanized
/// prefecture name); the postal code is the fallback, then a postal code written at the start
/// of the address.
pub fn region_code(postal_code: Option<&str>, address: Option<&str>, country: Option<&str>) -> u16 {
    match country.map(country_code) {
        Some(Country::Foreign(code)) => return code,
        Some(Country::Invalid) => return UNKNOWN,
        Some(Country::Japan | Country::Absent) | None => {}
    }
    let postal = postal_code.and_then(prefecture_from_postal);
    address
        .map_or(postal, |address| prefecture_from_address(address, postal))
        .map_or(UNKNOWN, u16::from)
}

enum Country {
    Absent,
    Japan,
    Foreign(u16),
    Invalid,
}

fn country_code(raw: &str) -> Country {
    let nfkc = nfkc(raw);
    let c = nfkc.trim();
    let japan = ["JP", "JPN", "JAPAN"]
        .iter()
        .any(|name| c.eq_ignore_ascii_case(name))
        || matches!(c, "日本" | "日本国");
    if c.is_empty() {
        return Country::Absent;
    }
    if japan {
        return Country::Japan;
    }
    match c.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            let (a, b) = (a.to_ascii_uppercase() - b'A', b.to_ascii_uppercase() - b'A');
            Country::Foreign(FOREIGN_BASE + u16::from(a) * 26 + u16::from(b))
        }
        _ => Country::Invalid,
    }
}

/// The ISO 3166 alpha-2 code of a foreign region code (`US`).
pub(crate) fn country_alpha2(code: u16) -> Option<String> {
    let n = code
        .checked_sub(FOREIGN_BASE)
        .filter(|_| code <= FOREIGN_LAST)?;
    Some(
        [n / 26, n % 26]
            .iter()
            .map(|&i| char::from(b'A' + i as u8))
            .collect(),
    )
}

/// The prefecture of an address: named by its text, else that of `postal`, the subscriber's
/// postal code, else that of a postal code written before the text.
fn prefecture_from_address(address: &str, postal: Option<u8>) -> Option<u8> {
    let text = nfkc(address);
    let compact: Cow<'_, str> = if text.contains(char::is_whitespace) {
        let mut compact = String::with_capacity(text.len());
        compact.extend(text.chars().filter(|c| !c.is_whitespace()));
        Cow::Owned(compact)
    } else {
        Cow::Borrowed(&text)
    };
    let is_separator = |c: char| matches!(c, '、' | ',' | '.' | '・' | ':' | '。' | '-');
    let mut rest: &str = &compact;
    for country in ["日本国", "日本"] {
        if let Some(r) = rest.strip_prefix(country) {
            rest = r;
            break;
        }
    }
    rest = rest.trim_start_matches(is_separator);
    let mut inline_postal = None;
    let marked = rest.strip_prefix('〒');
    let candidate = marked.unwrap_or(rest);
    let run = candidate
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(candidate.len());
    // Without 〒 only the exact shapes 100-0001 / 1000001 count: a romanized address may start
    // with a house number.
    let shaped = |s: &str| match s.as_bytes() {
        [a, b, c, b'-', rest @ ..] | [a, b, c, rest @ ..] => {
            rest.len() == 4 && [*a, *b, *c].iter().chain(rest).all(u8::is_ascii_digit)
        }
        _ => false,
    };
    if marked.is_some() || shaped(&candidate[..run]) {
        inline_postal = prefecture_from_postal(&candidate[..run]);
        rest = candidate[run..].trim_start_matches(is_separator);
    }
    let postal = postal.or(inline_postal);
    prefecture_from_text(rest, &text, postal).or(postal)
}

/// The prefecture named at the start of `rest` (compact NFKC text after any country and postal
/// code), or romanized anywhere in `text`. After the full prefecture name, the municipality
/// decides, `postal` settling a name several prefectures share. A start that names a
/// municipality, decided or not, is never read as a prefecture's short name or romanization:
/// `石川町` is in Fukushima, and a bare `北区` may be Tokyo's or any of ten cities'.
fn prefecture_from_text(rest: &str, text: &str, postal: Option<u8>) -> Option<u8> {
    let by_name = |name_of: fn(&Prefecture) -> &'static str| {
        (1u8..)
            .zip(&PREFECTURES)
            .find(|(_, p)| starts_with(rest, name_of(p)))
            .map(|(code, _)| code)
    };
    by_name(|p| p.name)
        .or_else(|| prefecture_of_municipality(rest, postal))
        .or_else(|| {
            if names_municipality(rest) {
                None
            } else {
                by_name(|p| p.short).or_else(|| prefecture_from_romaji(text))
            }
        })
}

/// `text.starts_with(prefix)` for the name tables, which every address is compared with: the
/// first character's bytes (all names are kanji or kana) reject most names before the call.
fn starts_with(text: &str, prefix: &str) -> bool {
    let (t, p) = (text.as_bytes(), prefix.as_bytes());
    t.len() >= p.len() && t.get(..3) == p.get(..3) && t.starts_with(p)
}

/// Romanized addresses usually end with the prefecture ("Chiyoda-ku, Tokyo 100-0001"), but a
/// city may share a prefecture's name ("Fukushima-ku, Osaka"). A name followed by -ken, -fu,
/// -to or "prefecture" wins; then the last name not followed by -shi, -ku, … ; then the last.
fn prefecture_from_romaji(nfkc: &str) -> Option<u8> {
    let ascii: String = nfkc
        .nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .collect::<String>()
        .to_ascii_lowercase();
    let tokens: Vec<&str> = ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let (mut strong, mut plain, mut municipal) = (None, None, None);
    for (i, token) in tokens.iter().enumerate() {
        let Some(code) = (1u8..)
            .zip(&PREFECTURES)
            .find(|(_, p)| p.romaji.contains(token))
            .map(|(c, _)| c)
        else {
            continue;
        };
        match tokens.get(i + 1).copied().unwrap_or("") {
            "ken" | "fu" | "to" | "do" | "prefecture" | "pref" | "metropolis" => {
                strong = strong.or(Some(code))
            }
            "shi" | "ku" | "cho" | "machi" | "mura" | "son" | "gun" | "city" | "ward" | "town"
            | "village" => municipal = Some(code),
            _ => plain = Some(code),
        }
    }
    strong.or(plain).or(municipal)
}

/// Prefecture of a postal code (`100-0001`, `1000001`, `〒１００－０００１`; the old 3- and
/// 5-digit forms too), from its first three digits.
fn prefecture_from_postal(raw: &str) -> Option<u8> {
    let text = nfkc(raw);
    let body = text.trim().trim_start_matches('〒').trim();
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        return None;
    }
    let digits: Vec<u16> = body
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u16::from(b - b'0'))
        .collect();
    if ![3, 5, 7].contains(&digits.len()) {
        return None;
    }
    let prefix = digits[0] * 100 + digits[1] * 10 + digits[2];
    let (_, code) = POSTAL_RANGES
        .iter()
        .rev()
        .find(|(start, _)| *start <= prefix)?;
    (*code != 0).then_some(*code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jp(address: &str) -> u16 {
        region_code(None, Some(address), None)
    }

    #[test]
    fn every_prefecture_name_maps_to_its_jis_code() {
        for (code, p) in (1u16..).zip(&PREFECTURES) {
            assert_eq!(jp(&format!("{}中央1-1", p.name)), code, "{}", p.name);
            assert_eq!(jp(&format!("{}市本町1-1", p.short)), code, "{}", p.short);
            assert_eq!(prefecture_name(code), Some(p.name));
            assert_eq!(region_code(None, Some(p.name), Some("JP")), code);
            let romaji = format!("1-1 Honcho, {}", p.romaji[0].to_uppercase());
            assert_eq!(jp(&romaji), code, "{romaji}");
        }
        assert_eq!(prefecture_name(0), None);
        assert_eq!(prefecture_name(48), None);
        assert_eq!(prefecture_name(13), Some("東京都"));
    }

    #[test]
    fn a_municipality_of_one_prefecture_decides() {
        assert_eq!(jp("高槻市奈佐原２丁目１－２"), 27);
        assert_eq!(jp("札幌市中央区北1条西2"), 1);
        assert_eq!(jp("大阪狭山市狭山1-2384-1"), 27);
        assert_eq!(jp("千代田区千代田1-1"), 13);
        assert_eq!(jp("博多区博多駅前2-1-1"), 40);
        // 福島区 is Osaka's ward, not Fukushima; 石川町 is in Fukushima, not Ishikawa.
        assert_eq!(jp("福島区福島1-1"), 27);
        assert_eq!(jp("石川町字下泉153"), 7);
        // It decides against a postal code of another prefecture, as the prefecture name does.
        assert_eq!(
            region_code(Some("100-0001"), Some("高槻市桃園町2-1"), None),
            27
        );
    }

    #[test]
    fn a_shared_municipality_needs_the_postal_code() {
        // 府中市 is in Tokyo and Hiroshima.
        assert_eq!(jp("府中市宮西町2-24"), UNKNOWN);
        assert_eq!(
            region_code(Some("183-0022"), Some("府中市宮西町2-24"), None),
            13
        );
        assert_eq!(
            region_code(Some("726-0005"), Some("府中市府川町315"), None),
            34
        );
        assert_eq!(jp("〒726-0005 府中市府川町315"), 34);
        // Not the short name 伊達 of no prefecture, nor a guess: Hokkaido or Fukushima.
        assert_eq!(jp("伊達市保原町字舟橋180"), UNKNOWN);
        assert_eq!(region_code(Some("960-0600"), Some("伊達市保原町"), None), 7);
    }

    #[test]
    fn a_ward_alone_is_shared() {
        // 中央区, 北区 and 港区 are Tokyo's special wards and wards of designated cities.
        for ward in ["中央区", "北区", "港区", "南区"] {
            let address = format!("{ward}1-2-3");
            assert_eq!(jp(&address), UNKNOWN, "{ward}");
            assert_eq!(region_code(Some("100-0001"), Some(&address), None), 13);
            assert_eq!(region_code(Some("530-0001"), Some(&address), None), 27);
        }
        assert_eq!(jp("大阪市北区梅田1-1"), 27);
        assert_eq!(jp("東京都北区王子本町1-15-22"), 13);
    }

    #[test]
    fn a_county_names_its_prefecture() {
        // 京都郡 is in Fukuoka, not Kyoto; 朝日町 alone is in three prefectures.
        assert_eq!(jp("京都郡苅田町富久町1-19-1"), 40);
        assert_eq!(jp("三重郡朝日町小向893"), 24);
        assert_eq!(jp("朝日町小川原1"), UNKNOWN);
        assert_eq!(
            region_code(Some("939-0700"), Some("朝日町道下600"), None),
            16
        );
        // A county alone, its town misspelt.
        assert_eq!(jp("北牟婁郡紀北町東長島769-1"), 24);
    }

    #[test]
    fn short_names_remain_for_what_names_no_municipality() {
        assert_eq!(jp("東京千代田区"), 13);
        assert_eq!(jp("大阪府大阪市"), 27);
        assert_eq!(jp("Hiroshima-shi"), 34);
    }

    #[test]
    fn width_spacing_and_prefixes() {
        assert_eq!(jp("　東京都　千代田区千代田１－１"), 13);
        assert_eq!(jp("東 京 都千代田区"), 13);
        assert_eq!(jp("日本国 大阪府大阪市北区"), 27);
        assert_eq!(jp("〒１００－０００１ 東京都千代田区千代田1-1"), 13);
        assert_eq!(jp("〒060-0001 札幌市中央区"), 1);
        assert_eq!(jp("ＴＯＫＹＯ"), 13);
        assert_eq!(jp("Chiyoda-ku, Tōkyō 100-0001"), 13);
        assert_eq!(jp("Fukushima-ku, Osaka-shi, Osaka 553-0003"), 27);
        assert_eq!(jp("Osaka-fu Osaka-shi Fukushima-ku"), 27);
        assert_eq!(jp("Hiroshima-shi"), 34);
        assert_eq!(jp("somewhere"), UNKNOWN);
        assert_eq!(jp(""), UNKNOWN);
        assert_eq!(region_code(None, None, None), UNKNOWN);
    }

    #[test]
    fn postal_codes() {
        let one_per_region = [
            ("060-0001", 1),
            ("980-0811", 4),
            ("030-0801", 2),
            ("100-0001", 13),
            ("220-0012", 14),
            ("460-0001", 23),
            ("950-0087", 15),
            ("530-0001", 27),
            ("600-8001", 26),
            ("730-0011", 34),
            ("760-0019", 37),
            ("790-0001", 38),
            ("810-0001", 40),
            ("817-0011", 42),
            ("900-0001", 47),
        ];
        for (postal, code) in one_per_region {
            assert_eq!(
                region_code(Some(postal), None, Some("JP")),
                code,
                "{postal}"
            );
        }
        for form in [
            "100-0001",
            "１００－０００１",
            "1000001",
            "〒100-0001",
            "100 0001",
            "100",
        ] {
            assert_eq!(region_code(Some(form), None, None), 13, "{form}");
        }
        for bad in ["000-0000", "10-0001", "abc", "", "100-00012"] {
            assert_eq!(region_code(Some(bad), None, None), UNKNOWN, "{bad}");
        }
        // The address wins over a postal code that disagrees.
        assert_eq!(
            region_code(Some("100-0001"), Some("大阪府大阪市"), None),
            27
        );
        assert_eq!(region_code(Some("100-0001"), Some("unparseable"), None), 13);
        // Every prefecture is reachable from some 3-digit prefix.
        let mut seen = std::collections::BTreeSet::new();
        for prefix in 0..1000 {
            if let Some(code) = prefecture_from_postal(&format!("{prefix:03}")) {
                seen.insert(code);
            }
        }
        assert_eq!(seen, (1..=47).collect());
    }

    #[test]
    fn foreign_countries() {
        let us = region_code(
            Some("94105"),
            Some("1 Market St, San Francisco, CA"),
            Some("US"),
        );
        assert_eq!(us, FOREIGN_BASE + 20 * 26 + 18);
        assert_eq!(region_code(None, Some("東京都"), Some("us")), us);
        assert_eq!(country_alpha2(us).as_deref(), Some("US"));
        assert_eq!(country_alpha2(FOREIGN_LAST).as_deref(), Some("ZZ"));
        assert_eq!(country_alpha2(FOREIGN_LAST + 1), None);
        assert_eq!(country_alpha2(13), None);
        assert_eq!(region_code(None, Some("東京都"), Some("ＪＰ")), 13);
        assert_eq!(region_code(None, Some("東京都"), Some(" ")), 13);
        assert_eq!(region_code(None, Some("東京都"), Some("U1")), UNKNOWN);
        assert_eq!(region_code(None, None, Some("AA")), FOREIGN_BASE);
        assert_eq!(region_code(None, None, Some("ZZ")), FOREIGN_LAST);
    }

    #[test]
    fn regions() {
        let expected = [
            (1, 1),
            (2, 2),
            (7, 2),
            (8, 3),
            (13, 3),
            (14, 3),
            (15, 4),
            (23, 4),
            (24, 5),
            (30, 5),
        ];
        let more = [
            (31, 6),
            (35, 6),
            (36, 7),
            (39, 7),
            (40, 8),
            (47, 8),
            (0, 0),
            (48, 0),
        ];
        for (pref, region) in expected.into_iter().chain(more) {
            assert_eq!(region_of_prefecture(pref), region, "{pref}");
        }
        assert_eq!(region(5), Some(("kinki", "Kinki", "近畿")));
        assert_eq!(
            region(8),
            Some(("kyushu_okinawa", "Kyushu-Okinawa", "九州・沖縄"))
        );
        assert_eq!(region(0), None);
        assert_eq!(region(9), None);
    }

    proptest! {
        #[test]
        fn region_code_never_panics(a in "\\PC{0,200}", b in "[〒0-9０-９\\-－ ]{0,12}", c in "\\PC{0,4}") {
            let code = region_code(Some(&b), Some(&a), Some(&c));
            prop_assert!(code <= 47 || (FOREIGN_BASE..=FOREIGN_LAST).contains(&code));
            let _ = region_code(Some(&a), Some(&c), None);
        }
    }
}
