//! Generalization of quasi-identifiers (prefecture, month, domain class, validity bucket, ...) and their hierarchies.
//!
//! Every quasi-identifier is first reduced to a small code (`u16`) at its finest level; the
//! privacy gate then works on counts of codes and climbs each hierarchy with
//! [`Quasi::generalize`], and only the published text comes from [`Quasi::label`]. Each
//! hierarchy has a code for unknown/NULL at every level but the top, where all rows are `*`.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, Utc};
use unicode_normalization::UnicodeNormalization;

use crate::transform::normalize::nfkc;

/// Code of an unknown or NULL value, for every quasi-identifier except `Issued`.
pub const UNKNOWN: u16 = 0;
/// Code of an unknown month (month codes start at 0 = 2000-01).
pub const UNKNOWN_MONTH: u16 = u16::MAX;
/// Foreign countries: `FOREIGN_BASE + (c1 - 'A') * 26 + (c2 - 'A')` for ISO 3166 alpha-2.
pub const FOREIGN_BASE: u16 = 1000;
const FOREIGN_LAST: u16 = FOREIGN_BASE + 26 * 26 - 1;

// ---------------------------------------------------------------------------------------------
// Prefectures and regions

struct Prefecture {
    name: &'static str,
    /// The name without 都/府/県, accepted where it is unambiguous at the start of an address.
    short: &'static str,
    /// Romanizations; the first is also the prefecture label of geographic .jp names.
    romaji: &'static [&'static str],
    region: u8,
}

const fn pref(
    name: &'static str,
    short: &'static str,
    romaji: &'static [&'static str],
    region: u8,
) -> Prefecture {
    Prefecture {
        name,
        short,
        romaji,
        region,
    }
}

/// JIS X 0401 order: index + 1 is the prefecture code.
const PREFECTURES: [Prefecture; 47] = [
    pref("北海道", "北海道", &["hokkaido", "hokkaidou"], 1),
    pref("青森県", "青森", &["aomori"], 2),
    pref("岩手県", "岩手", &["iwate"], 2),
    pref("宮城県", "宮城", &["miyagi"], 2),
    pref("秋田県", "秋田", &["akita"], 2),
    pref("山形県", "山形", &["yamagata"], 2),
    pref("福島県", "福島", &["fukushima"], 2),
    pref("茨城県", "茨城", &["ibaraki", "ibaragi"], 3),
    pref("栃木県", "栃木", &["tochigi"], 3),
    pref("群馬県", "群馬", &["gunma", "gumma"], 3),
    pref("埼玉県", "埼玉", &["saitama"], 3),
    pref("千葉県", "千葉", &["chiba"], 3),
    pref("東京都", "東京", &["tokyo", "toukyou", "tokio"], 3),
    pref("神奈川県", "神奈川", &["kanagawa"], 3),
    pref("新潟県", "新潟", &["niigata"], 4),
    pref("富山県", "富山", &["toyama"], 4),
    pref("石川県", "石川", &["ishikawa"], 4),
    pref("福井県", "福井", &["fukui"], 4),
    pref("山梨県", "山梨", &["yamanashi"], 4),
    pref("長野県", "長野", &["nagano"], 4),
    pref("岐阜県", "岐阜", &["gifu"], 4),
    pref("静岡県", "静岡", &["shizuoka"], 4),
    pref("愛知県", "愛知", &["aichi"], 4),
    pref("三重県", "三重", &["mie"], 5),
    pref("滋賀県", "滋賀", &["shiga"], 5),
    pref("京都府", "京都", &["kyoto", "kyouto"], 5),
    pref("大阪府", "大阪", &["osaka", "oosaka", "ohsaka"], 5),
    pref("兵庫県", "兵庫", &["hyogo", "hyougo"], 5),
    pref("奈良県", "奈良", &["nara"], 5),
    pref("和歌山県", "和歌山", &["wakayama"], 5),
    pref("鳥取県", "鳥取", &["tottori"], 6),
    pref("島根県", "島根", &["shimane"], 6),
    pref("岡山県", "岡山", &["okayama"], 6),
    pref("広島県", "広島", &["hiroshima"], 6),
    pref("山口県", "山口", &["yamaguchi"], 6),
    pref("徳島県", "徳島", &["tokushima"], 7),
    pref("香川県", "香川", &["kagawa"], 7),
    pref("愛媛県", "愛媛", &["ehime"], 7),
    pref("高知県", "高知", &["kochi", "kouchi"], 7),
    pref("福岡県", "福岡", &["fukuoka"], 8),
    pref("佐賀県", "佐賀", &["saga"], 8),
    pref("長崎県", "長崎", &["nagasaki"], 8),
    pref("熊本県", "熊本", &["kumamoto"], 8),
    pref("大分県", "大分", &["oita", "ooita", "ohita"], 8),
    pref("宮崎県", "宮崎", &["miyazaki"], 8),
    pref("鹿児島県", "鹿児島", &["kagoshima"], 8),
    pref("沖縄県", "沖縄", &["okinawa"], 8),
];

const REGIONS: [&str; 8] = [
    "北海道",
    "東北",
    "関東",
    "中部",
    "近畿",
    "中国",
    "四国",
    "九州・沖縄",
];

/// Municipalities written without their prefecture: the 20 designated cities, Tokyo's 23
/// special wards, prefectural capitals whose name differs from the prefecture's, and 郡 that
/// would otherwise be taken for a prefecture's short name (京都郡 is in Fukuoka). Ward names
/// shared with wards of designated cities (中央区, 北区, 港区) are taken as Tokyo's: someone
/// in Osaka writes 大阪市 first.
const MUNICIPALITIES: &[(&str, u8)] = &[
    ("札幌市", 1),
    ("仙台市", 4),
    ("さいたま市", 11),
    ("千葉市", 12),
    ("横浜市", 14),
    ("川崎市", 14),
    ("相模原市", 14),
    ("新潟市", 15),
    ("静岡市", 22),
    ("浜松市", 22),
    ("名古屋市", 23),
    ("京都市", 26),
    ("大阪市", 27),
    ("堺市", 27),
    ("神戸市", 28),
    ("岡山市", 33),
    ("広島市", 34),
    ("北九州市", 40),
    ("福岡市", 40),
    ("熊本市", 43),
    ("千代田区", 13),
    ("中央区", 13),
    ("港区", 13),
    ("新宿区", 13),
    ("文京区", 13),
    ("台東区", 13),
    ("墨田区", 13),
    ("江東区", 13),
    ("品川区", 13),
    ("目黒区", 13),
    ("大田区", 13),
    ("世田谷区", 13),
    ("渋谷区", 13),
    ("中野区", 13),
    ("杉並区", 13),
    ("豊島区", 13),
    ("北区", 13),
    ("荒川区", 13),
    ("板橋区", 13),
    ("練馬区", 13),
    ("足立区", 13),
    ("葛飾区", 13),
    ("江戸川区", 13),
    ("盛岡市", 3),
    ("水戸市", 8),
    ("宇都宮市", 9),
    ("前橋市", 10),
    ("金沢市", 17),
    ("甲府市", 19),
    ("津市", 24),
    ("大津市", 25),
    ("松江市", 32),
    ("高松市", 37),
    ("松山市", 38),
    ("那覇市", 47),
    ("京都郡", 40),
    ("石川郡", 7),
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
pub fn prefecture_name(code: u16) -> Option<&'static str> {
    prefecture(code).map(|p| p.name)
}

/// The region (1 北海道 … 8 九州・沖縄) of a prefecture code; 0 for anything else.
pub fn region_of_prefecture(code: u16) -> u8 {
    prefecture(code).map_or(0, |p| p.region)
}

/// The name of a region number from [`region_of_prefecture`].
pub fn region_name(region: u8) -> Option<&'static str> {
    REGIONS.get(usize::from(region).checked_sub(1)?).copied()
}

fn prefecture(code: u16) -> Option<&'static Prefecture> {
    PREFECTURES.get(usize::from(code).checked_sub(1)?)
}

/// Region code of a subscriber: 1..=47 the JIS X 0401 prefecture for Japan (country `JP` or
/// NULL), [`FOREIGN_BASE`]`..` for a foreign ISO 3166 alpha-2 country, [`UNKNOWN`] otherwise.
/// The address text decides (prefecture, designated city, Tokyo ward or romanized prefecture);
/// the postal code is the fallback, then a postal code written at the start of the address.
pub fn region_code(postal_code: Option<&str>, address: Option<&str>, country: Option<&str>) -> u16 {
    match country.map(country_code) {
        Some(Country::Foreign(code)) => return code,
        Some(Country::Invalid) => return UNKNOWN,
        Some(Country::Japan | Country::Absent) | None => {}
    }
    let (from_text, inline_postal) = address.map_or((None, None), prefecture_from_address);
    from_text
        .or_else(|| postal_code.and_then(prefecture_from_postal))
        .or(inline_postal)
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

fn country_alpha2(code: u16) -> Option<String> {
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

/// The prefecture named by the address text, and the one of a postal code written before it.
fn prefecture_from_address(address: &str) -> (Option<u8>, Option<u8>) {
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
    let from_text = prefecture_from_kanji(rest).or_else(|| prefecture_from_romaji(&text));
    (from_text, inline_postal)
}

fn prefecture_from_kanji(text: &str) -> Option<u8> {
    let by_name = |name_of: fn(&Prefecture) -> &'static str| {
        (1u8..)
            .zip(&PREFECTURES)
            .find(|(_, p)| starts_with(text, name_of(p)))
            .map(|(code, _)| code)
    };
    by_name(|p| p.name)
        .or_else(|| {
            MUNICIPALITIES
                .iter()
                .find(|(m, _)| starts_with(text, m))
                .map(|&(_, code)| code)
        })
        .or_else(|| by_name(|p| p.short))
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

// ---------------------------------------------------------------------------------------------
// Time

/// Months since 2000-01 (UTC), clamped to 0 below; `UNKNOWN_MONTH` is never produced.
pub fn month_code(ts: DateTime<Utc>) -> u16 {
    let months = (i64::from(ts.year()) - 2000) * 12 + i64::from(ts.month0());
    months.clamp(0, i64::from(UNKNOWN_MONTH - 1)) as u16
}

/// Certificate validity buckets on the CA/Browser Forum maximum validity steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValidityBucket {
    D47,
    D100,
    D200,
    D398,
    Longer,
}

const VALIDITY_LABELS: [&str; 6] = ["unknown", "<=47d", "<=100d", "<=200d", "<=398d", ">398d"];

impl ValidityBucket {
    /// The bucket of a certificate's validity period, counted as the Baseline Requirements do:
    /// from notBefore through notAfter inclusive, so a certificate whose notAfter is exactly
    /// 47 days after its notBefore is valid for 47 days and one second.
    pub fn of(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> ValidityBucket {
        match validity_days(not_before, not_after) {
            ..=47 => ValidityBucket::D47,
            48..=100 => ValidityBucket::D100,
            101..=200 => ValidityBucket::D200,
            201..=398 => ValidityBucket::D398,
            _ => ValidityBucket::Longer,
        }
    }

    pub fn code(self) -> u16 {
        match self {
            ValidityBucket::D47 => 1,
            ValidityBucket::D100 => 2,
            ValidityBucket::D200 => 3,
            ValidityBucket::D398 => 4,
            ValidityBucket::Longer => 5,
        }
    }

    pub fn label(self) -> &'static str {
        VALIDITY_LABELS[usize::from(self.code())]
    }
}

/// Validity period in days, rounded up, of the inclusive span notBefore..=notAfter.
pub fn validity_days(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> i64 {
    let seconds = (not_after - not_before).num_seconds().saturating_add(1);
    seconds.div_euclid(86_400) + i64::from(seconds.rem_euclid(86_400) != 0)
}

// ---------------------------------------------------------------------------------------------
// Domain class

/// Where a certificate's domain name sits in the .jp namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainClass {
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
    Unknown,
}

const DOMAIN_LABELS: [&str; 12] = [
    "unknown",
    "co.jp",
    "ac.jp",
    "go.jp",
    "or.jp",
    "ne.jp",
    "gr.jp",
    "ed.jp",
    "lg.jp",
    "general.jp",
    "prefecture.jp",
    "other",
];
const DOMAIN_GROUP_LABELS: [&str; 4] = [
    "unknown",
    "jp-attribute",
    "jp-general-or-prefecture",
    "other",
];
const ATTRIBUTE_LABELS: [&str; 8] = ["co", "ac", "go", "or", "ne", "gr", "ed", "lg"];

impl DomainClass {
    const BY_CODE: [DomainClass; 12] = [
        DomainClass::Unknown,
        DomainClass::CoJp,
        DomainClass::AcJp,
        DomainClass::GoJp,
        DomainClass::OrJp,
        DomainClass::NeJp,
        DomainClass::GrJp,
        DomainClass::EdJp,
        DomainClass::LgJp,
        DomainClass::GeneralJp,
        DomainClass::PrefectureJp,
        DomainClass::OtherTld,
    ];

    pub fn code(self) -> u16 {
        Self::BY_CODE
            .iter()
            .position(|&c| c == self)
            .map_or(UNKNOWN, |i| i as u16)
    }

    pub fn label(self) -> &'static str {
        DOMAIN_LABELS[usize::from(self.code())]
    }

    fn group(self) -> u16 {
        match self {
            DomainClass::Unknown => 0,
            DomainClass::GeneralJp | DomainClass::PrefectureJp => 2,
            DomainClass::OtherTld => 3,
            _ => 1,
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
    let well_formed = bare.split('.').all(|l| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    });
    let mut from_the_right = bare.rsplit('.');
    let tld = from_the_right.next().unwrap_or("");
    let second = from_the_right.next();
    let Some(second) = second.filter(|_| well_formed && !tld.bytes().all(|b| b.is_ascii_digit()))
    else {
        return DomainClass::Unknown;
    };
    if tld != "jp" {
        return DomainClass::OtherTld;
    }
    if let Some(i) = ATTRIBUTE_LABELS.iter().position(|&a| a == second) {
        return DomainClass::BY_CODE[i + 1];
    }
    if is_prefecture_label(second) {
        DomainClass::PrefectureJp
    } else {
        DomainClass::GeneralJp
    }
}

/// The 47 prefecture labels of geographic .jp names, in ASCII (`tokyo`) or Japanese (`東京`,
/// also as its `xn--` A-label).
fn is_prefecture_label(label: &str) -> bool {
    let decoded = label.strip_prefix("xn--").and_then(punycode_decode);
    let label = decoded.as_deref().unwrap_or(label);
    PREFECTURES
        .iter()
        .any(|p| p.romaji[0] == label || p.short == label || p.name == label)
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

// ---------------------------------------------------------------------------------------------
// Key type, revocation and simple categoricals

const KEY_LABELS: [&str; 8] = [
    "unknown",
    "RSA-2048",
    "RSA-3072",
    "RSA-4096",
    "ECDSA-P256",
    "ECDSA-P384",
    "ECDSA-P521",
    "other",
];
const KEY_GROUP_LABELS: [&str; 4] = ["unknown", "RSA", "ECDSA", "other"];

/// Key type code from the algorithm name (`RSA`, `rsaEncryption`, `ECDSA`, `EC`,
/// `id-ecPublicKey`, any case) and size in bits; unusual sizes and algorithms are "other".
pub fn key_type_code(algorithm: &str, size: i32) -> u16 {
    let algorithm = algorithm.trim().to_ascii_lowercase();
    match (algorithm.as_str(), size) {
        ("", _) => UNKNOWN,
        ("rsa" | "rsaencryption", 2048) => 1,
        ("rsa" | "rsaencryption", 3072) => 2,
        ("rsa" | "rsaencryption", 4096) => 3,
        ("ecdsa" | "ec" | "id-ecpublickey", 256) => 4,
        ("ecdsa" | "ec" | "id-ecpublickey", 384) => 5,
        ("ecdsa" | "ec" | "id-ecpublickey", 521) => 6,
        _ => 7,
    }
}

const REVOCATION_LABELS: [&str; 13] = [
    "unknown",
    "not_revoked",
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "certificateHold",
    "removeFromCRL",
    "privilegeWithdrawn",
    "aACompromise",
    "other",
];
const REVOKED_LABELS: [&str; 3] = ["unknown", "not_revoked", "revoked"];

/// Revocation code: 1 not revoked, then one code per RFC 5280 CRLReason. A revocation without
/// a reason is `unspecified`, as an absent reasonCode extension means; an undefined reason
/// (7, or out of range) is "other".
pub fn revocation_code(revoked: bool, reason: Option<i16>) -> u16 {
    match (revoked, reason) {
        (false, _) => 1,
        (true, None) => 2,
        (true, Some(r @ 0..=6)) => 2 + r as u16,
        (true, Some(r @ 8..=10)) => 1 + r as u16,
        (true, Some(_)) => 12,
    }
}

const KIND_LABELS: [&str; 3] = ["unknown", "individual", "organization"];
const CHANNEL_LABELS: [&str; 4] = ["unknown", "operator", "acme", "other"];
const VALIDATION_LABELS: [&str; 3] = ["unknown", "DV", "OV"];

fn categorical(value: Option<&str>, labels: &[&str]) -> u16 {
    let Some(value) = value.map(str::trim) else {
        return UNKNOWN;
    };
    (1..labels.len())
        .find(|&i| labels[i].eq_ignore_ascii_case(value))
        .map_or(UNKNOWN, |i| i as u16)
}

/// `individual` / `organization`.
pub fn subscriber_kind_code(kind: Option<&str>) -> u16 {
    categorical(kind, &KIND_LABELS)
}

/// `operator` / `acme` / `other`.
pub fn channel_code(channel: Option<&str>) -> u16 {
    categorical(channel, &CHANNEL_LABELS)
}

/// `DV` / `OV`.
pub fn validation_type_code(validation_type: Option<&str>) -> u16 {
    categorical(validation_type, &VALIDATION_LABELS)
}

// ---------------------------------------------------------------------------------------------
// Hierarchies

/// The quasi-identifiers of the research extract, each with its generalization hierarchy.
///
/// Region levels: `prefecture` publishes the two-digit JIS code ("13") for Japan and the ISO
/// alpha-2 code ("US") abroad; `region` the eight regions of Japan or "abroad";
/// `japan_or_abroad` "japan" or "abroad"; `*` everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quasi {
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
    pub const ALL: [Quasi; 9] = [
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
    pub fn name(&self) -> &'static str {
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
    pub fn levels(&self) -> &'static [&'static str] {
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
    pub fn top_level(&self) -> u8 {
        (self.levels().len() - 1) as u8
    }

    /// The finest-level code of an unknown or NULL value.
    pub fn unknown_code(&self) -> u16 {
        match self {
            Quasi::Issued => UNKNOWN_MONTH,
            _ => UNKNOWN,
        }
    }

    /// Maps a finest-level code to its group at `level` (levels past the top count as the top).
    /// Codes that no value produces are treated as unknown.
    pub fn generalize(&self, code: u16, level: u8) -> u16 {
        if level >= self.top_level() {
            return 0;
        }
        match self {
            Quasi::SubscriberKind => known(code, KIND_LABELS.len()),
            Quasi::Channel => known(code, CHANNEL_LABELS.len()),
            Quasi::ValidationType => known(code, VALIDATION_LABELS.len()),
            Quasi::Validity => known(code, VALIDITY_LABELS.len()),
            Quasi::Region => generalize_region(code, level),
            Quasi::Issued => match (code, level) {
                (UNKNOWN_MONTH, _) => UNKNOWN_MONTH,
                (_, 0) => code,
                (_, 1) => code / 3,
                _ => code / 12,
            },
            Quasi::KeyType => match (known(code, KEY_LABELS.len()), level) {
                (code, 0) => code,
                (0, _) => 0,
                (1..=3, _) => 1,
                (4..=6, _) => 2,
                _ => 3,
            },
            Quasi::DomainClass => {
                let class = DomainClass::BY_CODE[usize::from(known(code, DOMAIN_LABELS.len()))];
                if level == 0 {
                    class.code()
                } else {
                    class.group()
                }
            }
            Quasi::Revocation => match (known(code, REVOCATION_LABELS.len()), level) {
                (code, 0) => code,
                (0, _) => 0,
                (1, _) => 1,
                _ => 2,
            },
        }
    }

    /// The published text of a code at `level` (a code [`Quasi::generalize`] returned for that
    /// level); `*` at the top, "unknown" for unknown values and for codes no value produces.
    pub fn label(&self, code: u16, level: u8) -> String {
        if level >= self.top_level() {
            return "*".to_owned();
        }
        let table = |labels: &[&str]| {
            labels
                .get(usize::from(code))
                .copied()
                .unwrap_or("unknown")
                .to_owned()
        };
        match (self, level) {
            (Quasi::SubscriberKind, _) => table(&KIND_LABELS),
            (Quasi::Channel, _) => table(&CHANNEL_LABELS),
            (Quasi::ValidationType, _) => table(&VALIDATION_LABELS),
            (Quasi::Validity, _) => table(&VALIDITY_LABELS),
            (Quasi::KeyType, 0) => table(&KEY_LABELS),
            (Quasi::KeyType, _) => table(&KEY_GROUP_LABELS),
            (Quasi::DomainClass, 0) => table(&DOMAIN_LABELS),
            (Quasi::DomainClass, _) => table(&DOMAIN_GROUP_LABELS),
            (Quasi::Revocation, 0) => table(&REVOCATION_LABELS),
            (Quasi::Revocation, _) => table(&REVOKED_LABELS),
            (Quasi::Region, 0) => match code {
                1..=47 => format!("{code:02}"),
                _ => country_alpha2(code).unwrap_or_else(|| "unknown".to_owned()),
            },
            (Quasi::Region, 1) => match code {
                REGION_ABROAD => "abroad".to_owned(),
                _ => u8::try_from(code)
                    .ok()
                    .and_then(region_name)
                    .unwrap_or("unknown")
                    .to_owned(),
            },
            (Quasi::Region, _) => table(&["unknown", "japan", "abroad"]),
            (Quasi::Issued, _) if code == UNKNOWN_MONTH => "unknown".to_owned(),
            (Quasi::Issued, 0) => format!("{}-{:02}", 2000 + u32::from(code) / 12, code % 12 + 1),
            (Quasi::Issued, 1) => format!("{}-Q{}", 2000 + u32::from(code) / 4, code % 4 + 1),
            (Quasi::Issued, _) => format!("{}", 2000 + u32::from(code)),
        }
    }
}

const REGION_ABROAD: u16 = 9;

fn known(code: u16, table_len: usize) -> u16 {
    if usize::from(code) < table_len {
        code
    } else {
        UNKNOWN
    }
}

fn generalize_region(code: u16, level: u8) -> u16 {
    let japan = (1..=47).contains(&code);
    let abroad = (FOREIGN_BASE..=FOREIGN_LAST).contains(&code);
    match (level, japan, abroad) {
        (_, false, false) => UNKNOWN,
        (0, _, _) => code,
        (1, true, _) => u16::from(region_of_prefecture(code)),
        (1, _, _) => REGION_ABROAD,
        (_, true, _) => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
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
    fn designated_cities_and_tokyo_wards() {
        let cities = MUNICIPALITIES.iter().filter(|(m, _)| m.ends_with('市'));
        for &(city, code) in cities {
            assert_eq!(jp(&format!("{city}中区1-2-3")), u16::from(code), "{city}");
        }
        // Every ward the table lists is one of Tokyo's 23.
        let wards: Vec<&(&str, u8)> = MUNICIPALITIES
            .iter()
            .filter(|(m, _)| m.ends_with('区'))
            .collect();
        assert_eq!(wards.len(), 23);
        for &&(ward, code) in &wards {
            assert_eq!(code, 13, "{ward}");
            assert_eq!(jp(&format!("{ward}1-1")), 13, "{ward}");
        }
        // 京都郡 is in Fukuoka, not Kyoto.
        assert_eq!(jp("京都郡苅田町富久町1-19-1"), 40);
        assert_eq!(jp("大阪狭山市狭山1-2384-1"), 27);
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
        assert_eq!(Quasi::Region.label(us, 0), "US");
        assert_eq!(
            Quasi::Region.label(Quasi::Region.generalize(us, 1), 1),
            "abroad"
        );
        assert_eq!(
            Quasi::Region.label(Quasi::Region.generalize(us, 2), 2),
            "abroad"
        );
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
        assert_eq!(region_name(5), Some("近畿"));
        assert_eq!(region_name(8), Some("九州・沖縄"));
        assert_eq!(region_name(0), None);
        let q = Quasi::Region;
        assert_eq!(q.label(q.generalize(13, 0), 0), "13");
        assert_eq!(q.label(q.generalize(1, 0), 0), "01");
        assert_eq!(q.label(q.generalize(13, 1), 1), "関東");
        assert_eq!(q.label(q.generalize(13, 2), 2), "japan");
        assert_eq!(q.label(q.generalize(13, 3), 3), "*");
        for level in 0..3 {
            assert_eq!(q.label(q.generalize(UNKNOWN, level), level), "unknown");
        }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn months_quarters_years() {
        let q = Quasi::Issued;
        let code = month_code(utc(2026, 3, 31, 23, 59, 59));
        assert_eq!(q.label(q.generalize(code, 0), 0), "2026-03");
        assert_eq!(q.label(q.generalize(code, 1), 1), "2026-Q1");
        assert_eq!(q.label(q.generalize(code, 2), 2), "2026");
        let april = month_code(utc(2026, 4, 1, 0, 0, 0));
        assert_eq!(q.label(q.generalize(april, 1), 1), "2026-Q2");
        let december = month_code(utc(2025, 12, 1, 0, 0, 0));
        assert_eq!(q.label(q.generalize(december, 0), 0), "2025-12");
        assert_eq!(q.label(q.generalize(december, 1), 1), "2025-Q4");
        assert_eq!(month_code(utc(2000, 1, 15, 0, 0, 0)), 0);
        assert_eq!(month_code(utc(1999, 6, 1, 0, 0, 0)), 0);
        for level in 0..3 {
            assert_eq!(
                q.label(q.generalize(q.unknown_code(), level), level),
                "unknown"
            );
        }
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
        assert_eq!(
            Quasi::Validity.label(ValidityBucket::D398.code(), 0),
            "<=398d"
        );
    }

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
        let q = Quasi::DomainClass;
        assert_eq!(q.label(LgJp.code(), 0), "lg.jp");
        assert_eq!(q.label(q.generalize(LgJp.code(), 1), 1), "jp-attribute");
        assert_eq!(
            q.label(q.generalize(PrefectureJp.code(), 1), 1),
            "jp-general-or-prefecture"
        );
        assert_eq!(q.label(q.generalize(OtherTld.code(), 1), 1), "other");
        assert_eq!(GeneralJp.label(), "general.jp");
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

    #[test]
    fn key_types() {
        let q = Quasi::KeyType;
        let cases = [
            ("RSA", 2048, "RSA-2048", "RSA"),
            ("rsaEncryption", 3072, "RSA-3072", "RSA"),
            ("RSA", 4096, "RSA-4096", "RSA"),
            ("ECDSA", 256, "ECDSA-P256", "ECDSA"),
            ("id-ecPublicKey", 384, "ECDSA-P384", "ECDSA"),
            ("ecdsa", 521, "ECDSA-P521", "ECDSA"),
            ("RSA", 1024, "other", "other"),
            ("Ed25519", 256, "other", "other"),
            ("", 0, "unknown", "unknown"),
        ];
        for (alg, size, fine, coarse) in cases {
            let code = key_type_code(alg, size);
            assert_eq!(q.label(q.generalize(code, 0), 0), fine, "{alg} {size}");
            assert_eq!(q.label(q.generalize(code, 1), 1), coarse, "{alg} {size}");
        }
    }

    #[test]
    fn revocations() {
        let q = Quasi::Revocation;
        let cases = [
            (false, None, "not_revoked", "not_revoked"),
            (true, None, "unspecified", "revoked"),
            (true, Some(0), "unspecified", "revoked"),
            (true, Some(1), "keyCompromise", "revoked"),
            (true, Some(2), "cACompromise", "revoked"),
            (true, Some(3), "affiliationChanged", "revoked"),
            (true, Some(4), "superseded", "revoked"),
            (true, Some(5), "cessationOfOperation", "revoked"),
            (true, Some(6), "certificateHold", "revoked"),
            (true, Some(8), "removeFromCRL", "revoked"),
            (true, Some(9), "privilegeWithdrawn", "revoked"),
            (true, Some(10), "aACompromise", "revoked"),
            (true, Some(7), "other", "revoked"),
            (true, Some(-1), "other", "revoked"),
        ];
        for (revoked, reason, fine, coarse) in cases {
            let code = revocation_code(revoked, reason);
            assert_eq!(q.label(q.generalize(code, 0), 0), fine, "{reason:?}");
            assert_eq!(q.label(q.generalize(code, 1), 1), coarse, "{reason:?}");
        }
        assert_eq!(q.label(q.generalize(q.unknown_code(), 1), 1), "unknown");
    }

    #[test]
    fn simple_categoricals() {
        assert_eq!(
            Quasi::SubscriberKind.label(subscriber_kind_code(Some("individual")), 0),
            "individual"
        );
        assert_eq!(
            Quasi::SubscriberKind.label(subscriber_kind_code(Some(" Organization ")), 0),
            "organization"
        );
        assert_eq!(subscriber_kind_code(None), UNKNOWN);
        assert_eq!(subscriber_kind_code(Some("robot")), UNKNOWN);
        for (value, label) in [
            ("operator", "operator"),
            ("acme", "acme"),
            ("other", "other"),
            ("fax", "unknown"),
        ] {
            assert_eq!(Quasi::Channel.label(channel_code(Some(value)), 0), label);
        }
        assert_eq!(
            Quasi::ValidationType.label(validation_type_code(Some("dv")), 0),
            "DV"
        );
        assert_eq!(
            Quasi::ValidationType.label(validation_type_code(Some("OV")), 0),
            "OV"
        );
        assert_eq!(
            Quasi::ValidationType.label(validation_type_code(Some("EV")), 0),
            "unknown"
        );
        assert_eq!(validation_type_code(None), UNKNOWN);
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
                    q.label(q.generalize(q.unknown_code(), level), level),
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

    proptest! {
        #[test]
        fn labels_never_panic(code in any::<u16>(), level in 0u8..6) {
            for q in Quasi::ALL {
                prop_assert!(!q.label(code, level).is_empty());
                let _ = q.label(q.generalize(code, level), level);
            }
        }

        #[test]
        fn region_and_domain_never_panic(a in "\\PC{0,200}", b in "[〒0-9０-９\\-－ ]{0,12}", c in "\\PC{0,4}") {
            let code = region_code(Some(&b), Some(&a), Some(&c));
            prop_assert!(code <= 47 || (FOREIGN_BASE..=FOREIGN_LAST).contains(&code));
            let _ = region_code(Some(&a), Some(&c), None);
            let _ = domain_class(&a);
            let _ = domain_class(&format!("xn--{c}.{a}.jp"));
        }

        #[test]
        fn month_code_round_trips(y in 2000i32..2200, m in 1u32..=12) {
            let code = month_code(utc(y, m, 1, 0, 0, 0));
            prop_assert_eq!(Quasi::Issued.label(code, 0), format!("{y}-{m:02}"));
        }
    }
}
