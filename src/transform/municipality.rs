//! Prefecture of a Japanese address that starts with its municipality instead of its prefecture
//! (`高槻市奈佐原2丁目1-2`), from the list of every 市, 区, 町 and 村 in `municipalities.tsv`.
//!
//! A name held by one prefecture only decides; a name several prefectures share (府中市, 伊達市,
//! the 北区 of Tokyo and of ten designated cities) decides only with the postal code's prefecture,
//! and only when that is one of them: a wrong prefecture is worse than an unknown one.

use std::collections::HashMap;
use std::sync::LazyLock;

/// `code<TAB>prefecture<TAB>name<TAB>county or designated city`; `#` lines say where it is from.
const MUNICIPALITIES: &str = include_str!("municipalities.tsv");

/// Last character of every key: names end with their kind, so only these positions of an
/// address need a look-up.
const SUFFIXES: [char; 5] = ['市', '区', '町', '村', '郡'];

/// Characters after the longest key that the block-number check below reads.
const LOOKAHEAD: usize = 8;

struct Index {
    names: HashMap<String, Name>,
    /// Longest key, in characters: an address is read no further than this plus [`LOOKAHEAD`].
    max_chars: usize,
}

#[derive(Default)]
struct Name {
    /// Prefectures with a municipality or county of this name, ascending, without repeats.
    prefectures: Vec<u8>,
    /// A 町 or 村 written without its 郡: many cities have a neighbourhood of the same name
    /// (栄町, 朝日町), so `栄町3-5` is more likely such a neighbourhood with its city left out.
    bare_town: bool,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut names: HashMap<String, Name> = HashMap::new();
    let mut add = |key: &str, prefecture: u8, bare_town: bool| {
        let name = names.entry(fold_str(key)).or_default();
        if let Err(at) = name.prefectures.binary_search(&prefecture) {
            name.prefectures.insert(at, prefecture);
        }
        name.bare_town |= bare_town;
    };
    for line in MUNICIPALITIES.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(prefecture), Some(&name)) = (
            fields.get(1).and_then(|p| p.parse::<u8>().ok()),
            fields.get(2),
        ) else {
            panic!("municipalities.tsv: malformed line {line:?}");
        };
        let within = fields.get(3).copied().unwrap_or("");
        // A ward of a designated city is a key of its own (`博多区` is only Fukuoka's); written
        // after its city (`福岡市博多区`), the city's own key already decides.
        add(name, prefecture, name.ends_with(['町', '村']));
        if within.ends_with('郡') {
            add(&format!("{within}{name}"), prefecture, false);
            // The county alone still narrows the prefecture when its town is misspelt.
            add(within, prefecture, false);
        }
    }
    let max_chars = names.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    Index { names, max_chars }
});

/// The prefecture (JIS X 0401, 1..=47) of `address`, which must not start with its prefecture
/// (the caller strips that first) and is NFKC-normalized (spaces are skipped here), from the
/// longest municipality, `郡 + 町/村` or county name it starts with. `postal_prefecture`, the
/// prefecture of the subscriber's postal code, settles a name several prefectures share if it
/// is one of them; it does not override a name only one prefecture has.
pub(crate) fn prefecture_of_municipality(
    address: &str,
    postal_prefecture: Option<u8>,
) -> Option<u8> {
    let (name, block_number_follows) = longest_match(address)?;
    let confirmed = postal_prefecture.filter(|p| name.prefectures.contains(p));
    match name.prefectures[..] {
        [only] if !(name.bare_town && block_number_follows) => Some(only),
        _ => confirmed,
    }
}

/// Whether `address` starts with a municipality or county name at all, even one that
/// [`prefecture_of_municipality`] leaves undecided: the caller must then not read the start as
/// a prefecture's short name (`石川町` is in Fukushima, `長野原町` in Gunma).
pub(crate) fn names_municipality(address: &str) -> bool {
    longest_match(address).is_some()
}

/// The longest key `address` starts with, and whether a block number follows it.
fn longest_match(address: &str) -> Option<(&'static Name, bool)> {
    let index = &*INDEX;
    let folded: String = address
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(index.max_chars + LOOKAHEAD)
        .map(fold)
        .collect();
    let mut best = None;
    for (at, c) in folded.char_indices() {
        if SUFFIXES.contains(&c) {
            let end = at + c.len_utf8();
            if let Some(name) = index.names.get(&folded[..end]) {
                best = Some((name, end));
            }
        }
    }
    best.map(|(name, end)| (name, starts_with_block_number(&folded[end..])))
}

/// `3-5`, `３丁目`, `三丁目`, `12番地` or nothing: what follows a neighbourhood, where a town is
/// followed by its 大字 or 町 (`栄町安食938`).
fn starts_with_block_number(rest: &str) -> bool {
    const KANJI_DIGITS: &[char] = &['一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];
    let after_kanji = rest.trim_start_matches(KANJI_DIGITS);
    rest.is_empty()
        || rest.starts_with(|c: char| c.is_numeric() || c == '-')
        || (after_kanji.len() < rest.len()
            && (after_kanji.starts_with("丁目") || after_kanji.starts_with('番')))
}

fn fold_str(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).map(fold).collect()
}

/// Spellings NFKC leaves apart but people mix in municipality names: small ヶ/ヵ for ケ/カ
/// (鎌ヶ谷市 and 鎌ケ谷市), の for ノ (上ノ国町), and the common forms of kanji several names
/// officially write in an older form (龍ケ崎市 as 竜ヶ崎, 塩竈市 as 塩釜, 檮原町 as 梼原,
/// 飯舘村 as 飯館, 下條村 as 下条). Index and address are folded alike, so no name is lost; none
/// folds onto another municipality's name (嶋 stays: 鹿嶋市 and 鹿島市 are two cities).
fn fold(c: char) -> char {
    match c {
        'ヶ' => 'ケ',
        'ヵ' => 'カ',
        'ノ' => 'の',
        '龍' => '竜',
        '檜' => '桧',
        '檮' => '梼',
        '鰺' => '鯵',
        '竈' | '竃' => '釜',
        '惠' => '恵',
        '﨑' | '嵜' => '崎',
        '髙' => '高',
        '舘' => '館',
        '條' => '条',
        '澤' => '沢',
        '濱' => '浜',
        '邊' | '邉' => '辺',
        '廣' => '広',
        '國' => '国',
        '曾' => '曽',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unaided(address: &str) -> Option<u8> {
        prefecture_of_municipality(address, None)
    }

    #[test]
    fn the_list_is_whole() {
        let rows: Vec<&str> = MUNICIPALITIES
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        // 1,741 municipalities (792 市, 23 特別区, 743 町, 183 村) and the 171 wards of the 20
        // designated cities.
        assert_eq!(rows.len(), 1741 + 171);
        let ends = |suffix| {
            rows.iter()
                .filter(|r| r.split('\t').nth(2).unwrap().ends_with(suffix))
                .count()
        };
        assert_eq!((ends('町'), ends('村')), (743, 183));
        for row in rows {
            let prefecture: u8 = row.split('\t').nth(1).unwrap().parse().unwrap();
            assert!((1..=47).contains(&prefecture), "{row}");
            assert_eq!(row[..2].parse::<u8>().unwrap(), prefecture, "{row}");
        }
    }

    #[test]
    fn folding_merges_no_two_names() {
        let mut spelling: HashMap<String, &str> = HashMap::new();
        for row in MUNICIPALITIES.lines().filter(|l| !l.starts_with('#')) {
            let name = row.split('\t').nth(2).unwrap();
            let first = *spelling.entry(fold_str(name)).or_insert(name);
            assert_eq!(first, name);
        }
        assert_eq!(unaided("鹿嶋市宮中1-1-1"), Some(8));
        assert_eq!(unaided("鹿島市納富分2643-1"), Some(41));
    }

    #[test]
    fn a_name_of_one_prefecture_decides() {
        assert_eq!(unaided("高槻市奈佐原2丁目1-2"), Some(27));
        assert_eq!(unaided("大和郡山市北郡山町248-4"), Some(29));
        // Longest match: 大和市 is Kanagawa's, 大和高田市 Nara's.
        assert_eq!(unaided("大和市下鶴間1-1-1"), Some(14));
        assert_eq!(unaided("大和高田市大中100-1"), Some(29));
        // 東村 (Okinawa) is a prefix of 東村山市 (Tokyo).
        assert_eq!(unaided("東村山市本町1-2-3"), Some(13));
        assert_eq!(unaided("札幌市中央区北1条西2"), Some(1));
        // A ward of a designated city, as written after its city or, when unique, alone.
        assert_eq!(unaided("浜松市浜名区細江町広岡312-3"), Some(22));
        assert_eq!(unaided("博多区博多駅前2-1-1"), Some(40));
        assert_eq!(unaided("千代田区千代田1-1"), Some(13));
    }

    #[test]
    fn a_shared_name_needs_the_postal_code() {
        // 府中市: Tokyo and Hiroshima; 伊達市: Hokkaido and Fukushima.
        assert_eq!(unaided("府中市宮西町2-24"), None);
        assert_eq!(
            prefecture_of_municipality("府中市宮西町2-24", Some(13)),
            Some(13)
        );
        assert_eq!(
            prefecture_of_municipality("府中市府川町315", Some(34)),
            Some(34)
        );
        assert_eq!(
            prefecture_of_municipality("伊達市保原町字舟橋180", Some(7)),
            Some(7)
        );
        // A postal code of neither prefecture settles nothing.
        assert_eq!(
            prefecture_of_municipality("府中市宮西町2-24", Some(27)),
            None
        );
        // A name of one prefecture is not overridden by the postal code.
        assert_eq!(
            prefecture_of_municipality("高槻市桃園町2-1", Some(13)),
            Some(27)
        );
    }

    #[test]
    fn a_ward_name_alone_is_shared() {
        // 北区 is Tokyo's special ward and a ward of ten designated cities.
        for ward in ["北区", "中央区", "港区", "南区", "緑区"] {
            assert_eq!(unaided(&format!("{ward}1-2-3")), None, "{ward}");
        }
        assert_eq!(
            prefecture_of_municipality("北区王子本町1-15-22", Some(13)),
            Some(13)
        );
        assert_eq!(
            prefecture_of_municipality("北区梅田1-1", Some(27)),
            Some(27)
        );
        assert!(names_municipality("北区王子本町1-15-22"));
    }

    #[test]
    fn counties() {
        // 朝日町 is in Yamagata, Toyama and Mie: the county tells them apart.
        assert_eq!(unaided("朝日町小川原1"), None);
        assert_eq!(unaided("三重郡朝日町小向893"), Some(24));
        assert_eq!(unaided("下新川郡朝日町道下600"), Some(16));
        // 京都郡 is in Fukuoka, 石川郡 in Fukushima, 愛知郡 in Shiga.
        assert_eq!(unaided("京都郡苅田町富久町1-19-1"), Some(40));
        assert_eq!(unaided("石川郡石川町字下泉153"), Some(7));
        assert_eq!(unaided("愛知郡愛荘町愛知川72"), Some(25));
        // A county alone still narrows; 安芸郡 is in Hiroshima and Kochi.
        assert_eq!(unaided("北牟婁郡紀北町東長島769-1"), Some(24));
        assert_eq!(unaided("安芸郡府中町大通3-5-1"), Some(34));
        assert_eq!(unaided("安芸郡奈半利町乙1659"), Some(39));
        assert_eq!(unaided("安芸郡xyz"), None);
        assert_eq!(prefecture_of_municipality("安芸郡xyz", Some(39)), Some(39));
    }

    #[test]
    fn a_bare_town_before_a_block_number_may_be_a_neighbourhood() {
        // 栄町 is only Chiba's town, but also a neighbourhood in many cities.
        assert_eq!(unaided("栄町安食938-1"), Some(12));
        for neighbourhood in ["栄町3-5", "栄町3丁目", "栄町三丁目5", "栄町12番地", "栄町"]
        {
            assert_eq!(unaided(neighbourhood), None, "{neighbourhood}");
        }
        assert_eq!(prefecture_of_municipality("栄町3-5", Some(12)), Some(12));
        assert_eq!(unaided("印旛郡栄町3-5"), Some(12));
        // 一宮町一宮 (Chiba): a kanji numeral that is not a block number.
        assert_eq!(unaided("一宮町一宮2457"), Some(12));
    }

    #[test]
    fn variant_spellings() {
        // Official 龍ケ崎市, 鎌ケ谷市, 塩竈市, 上ノ国町, 檮原町, 飯舘村.
        assert_eq!(unaided("竜ヶ崎市3710"), Some(8));
        assert_eq!(unaided("龍ケ崎市3710"), Some(8));
        assert_eq!(unaided("鎌ヶ谷市新鎌ケ谷2-6-1"), Some(12));
        assert_eq!(unaided("塩釜市旭町1-1"), Some(4));
        assert_eq!(unaided("上の国町字大留100"), Some(1));
        assert_eq!(unaided("梼原町梼原1444-1"), Some(39));
        assert_eq!(unaided("飯館村伊丹沢"), Some(7));
        // Spaces, as a caller that did not compact them would pass them.
        assert_eq!(unaided("高槻市 奈佐原"), Some(27));
    }

    #[test]
    fn widths_after_nfkc() {
        // The caller passes NFKC text, as `generalize` makes it: full-width digits and
        // half-width katakana are then the ordinary ones.
        use crate::transform::normalize::nfkc;
        assert_eq!(unaided(&nfkc("高槻市奈佐原２丁目１－２")), Some(27));
        assert_eq!(unaided(&nfkc("ｶﾞ")), None);
        assert_eq!(unaided(&nfkc("南ｱﾙﾌﾟｽ市小笠原376")), Some(19));
        assert_eq!(unaided(&nfkc("栄町３－５")), None);
        assert_eq!(unaided(&nfkc("ﾆｾｺ町字富士見47")), Some(1));
    }

    #[test]
    fn garbage() {
        for address in [
            "",
            "somewhere",
            "1-2-3",
            "市",
            "本町1-1",
            "丸の内1-1",
            "市町村",
            "郡",
        ] {
            assert_eq!(unaided(address), None, "{address}");
            assert_eq!(
                prefecture_of_municipality(address, Some(13)),
                None,
                "{address}"
            );
            assert!(!names_municipality(address), "{address}");
        }
    }
}
