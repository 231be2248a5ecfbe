//! Foreign subscribers: names, addresses, postal codes, phone numbers and domains written the
//! way each country writes them.

use rand::Rng;

use super::dist::pick;

pub struct ForeignIdentity {
    pub person_name: String,
    pub person_name_kana: Option<String>,
    /// ASCII local part for e-mail addresses.
    pub mail_local: String,
    pub organization_name: String,
    /// ASCII label for the organization's domain, and the country's usual suffix.
    pub domain_label: String,
    pub domain_suffix: &'static str,
    pub postal_code: String,
    pub postal_address: String,
    pub phone: String,
}

/// Country codes with their share among foreign subscribers.
pub static COUNTRIES: &[(&str, u32)] = &[
    ("US", 30),
    ("CN", 18),
    ("KR", 14),
    ("TW", 10),
    ("SG", 6),
    ("DE", 5),
    ("GB", 5),
    ("FR", 4),
    ("AU", 4),
    ("IN", 4),
];

/// (Latin, katakana) pairs: Japanese registers sometimes carry a katakana reading for them.
const WESTERN_GIVEN: &[(&str, &str)] = &[
    ("James", "ジェームズ"),
    ("Mary", "メアリー"),
    ("John", "ジョン"),
    ("Patricia", "パトリシア"),
    ("Robert", "ロバート"),
    ("Jennifer", "ジェニファー"),
    ("Michael", "マイケル"),
    ("Linda", "リンダ"),
    ("David", "デイビッド"),
    ("Sarah", "サラ"),
    ("Emily", "エミリー"),
    ("Daniel", "ダニエル"),
];
const WESTERN_FAMILY: &[(&str, &str)] = &[
    ("Smith", "スミス"),
    ("Johnson", "ジョンソン"),
    ("Williams", "ウィリアムズ"),
    ("Brown", "ブラウン"),
    ("Jones", "ジョーンズ"),
    ("Miller", "ミラー"),
    ("Davis", "デイビス"),
    ("Wilson", "ウィルソン"),
    ("Taylor", "テイラー"),
    ("O'Brien", "オブライエン"),
];
const GERMAN_GIVEN: &[(&str, &str)] = &[
    ("Thomas", "トーマス"),
    ("Anna", "アンナ"),
    ("Lukas", "ルーカス"),
    ("Julia", "ユリア"),
];
const GERMAN_FAMILY: &[(&str, &str)] = &[
    ("Müller", "ミュラー"),
    ("Schmidt", "シュミット"),
    ("Schneider", "シュナイダー"),
    ("Fischer", "フィッシャー"),
    ("Weiß", "ヴァイス"),
];
const FRENCH_GIVEN: &[(&str, &str)] = &[
    ("Pierre", "ピエール"),
    ("Marie", "マリー"),
    ("Camille", "カミーユ"),
    ("Louis", "ルイ"),
];
const FRENCH_FAMILY: &[(&str, &str)] = &[
    ("Martin", "マルタン"),
    ("Bernard", "ベルナール"),
    ("Dubois", "デュボワ"),
    ("Lefèvre", "ルフェーブル"),
];
/// Native script, romanization, katakana.
const CHINESE: &[(&str, &str, &str)] = &[
    ("王伟", "Wang Wei", "ワン ウェイ"),
    ("李娜", "Li Na", "リー ナー"),
    ("张敏", "Zhang Min", "チャン ミン"),
    ("刘洋", "Liu Yang", "リウ ヤン"),
    ("陈静", "Chen Jing", "チェン ジン"),
    ("杨帆", "Yang Fan", "ヤン ファン"),
];
const KOREAN: &[(&str, &str, &str)] = &[
    ("김민준", "Kim Minjun", "キム ミンジュン"),
    ("이서연", "Lee Seoyeon", "イ ソヨン"),
    ("박지훈", "Park Jihoon", "パク ジフン"),
    ("최수빈", "Choi Subin", "チェ スビン"),
    ("정하은", "Jung Haeun", "チョン ハウン"),
];
const TAIWANESE: &[(&str, &str, &str)] = &[
    ("陳怡君", "Chen Yi-chun", "チェン イージュン"),
    ("林志明", "Lin Chih-ming", "リン ジーミン"),
    ("黃雅婷", "Huang Ya-ting", "ホアン ヤーティン"),
    ("張家豪", "Chang Chia-hao", "チャン ジアハオ"),
];
const SINGAPOREAN: &[&str] = &[
    "Tan Wei Ming",
    "Lim Hui Ling",
    "Nur Aisyah binte Rahman",
    "Rajesh Kumar",
    "Ng Kai Xuan",
];
const INDIAN: &[&str] = &[
    "Priya Sharma",
    "Rahul Gupta",
    "Ananya Iyer",
    "Vikram Singh",
    "Arjun Reddy",
];
const BRANDS: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Bluefin",
    "Redwood",
    "Silverline",
    "Brightpath",
    "Cloudberry",
    "Ironbridge",
    "Lakeside",
];

fn digits<R: Rng>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// A subscriber of `country`, written the way that country writes names, addresses and phone
/// numbers (the United States' way for a country without its own).
pub fn identity<R: Rng>(rng: &mut R, country: &'static str) -> ForeignIdentity {
    let n: i32 = rng.gen_range(1..=999);
    let brand = pick(rng, BRANDS);
    let local = match country {
        "CN" => china(rng, n, brand),
        "KR" => korea(rng, n, brand),
        "TW" => taiwan(rng, n, brand),
        "SG" => singapore(rng, n, brand),
        "DE" => germany(rng, n, brand),
        "GB" => britain(rng, n, brand),
        "FR" => france(rng, n, brand),
        "AU" => australia(rng, n, brand),
        "IN" => india(rng, n, brand),
        _ => united_states(rng, n, brand),
    };
    let (person_name, person_name_kana, mail_local) = local.person;
    ForeignIdentity {
        person_name,
        person_name_kana,
        mail_local,
        organization_name: local.organization_name,
        domain_label: brand.to_lowercase(),
        domain_suffix: local.domain_suffix,
        postal_code: local.postal_code,
        postal_address: local.postal_address,
        phone: local.phone,
    }
}

/// A name as written, its katakana reading when the register carries one, and an ASCII
/// e-mail local part.
type Person = (String, Option<String>, String);

/// What a country's conventions give an identity.
struct Local {
    person: Person,
    organization_name: String,
    domain_suffix: &'static str,
    postal_code: String,
    postal_address: String,
    phone: String,
}

/// A Latin given and family name.
fn latin_person<R: Rng>(rng: &mut R, given: &[(&str, &str)], family: &[(&str, &str)]) -> Person {
    let (g, gk) = pick(rng, given);
    let (f, fk) = pick(rng, family);
    let kana = rng.gen_bool(0.3).then(|| format!("{gk}・{fk}"));
    let local = format!("{}.{}", g.to_lowercase(), ascii_fold(f).to_lowercase());
    (format!("{g} {f}"), kana, local)
}

/// A name written in its native script or romanized.
fn cjk_person<R: Rng>(rng: &mut R, names: &[(&str, &str, &str)]) -> Person {
    let (native, latin, kana) = pick(rng, names);
    let name = if rng.gen_bool(0.6) { native } else { latin };
    let kana = rng.gen_bool(0.4).then(|| kana.to_string());
    let local = latin.to_lowercase().replace([' ', '-'], ".");
    (name.to_string(), kana, local)
}

/// A name written one way only, with no reading.
fn plain_person<R: Rng>(rng: &mut R, names: &[&str]) -> Person {
    let name = pick(rng, names);
    (
        name.to_string(),
        None,
        name.to_lowercase().replace(' ', "."),
    )
}

fn china<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = cjk_person(rng, CHINESE);
    let (city, district, postal) = pick(
        rng,
        &[
            ("北京市", "朝阳区建国路", "100022"),
            ("上海市", "浦东新区世纪大道", "200120"),
            ("广东省深圳市", "南山区科技园路", "518057"),
        ],
    );
    let phone = if rng.gen_bool(0.5) {
        format!("+86 138 {} {}", digits(rng, 4), digits(rng, 4))
    } else {
        format!("+86 10 {} {}", digits(rng, 4), digits(rng, 4))
    };
    let org = format!("{brand}科技有限公司");
    Local {
        person: (name, kana, local),
        organization_name: org,
        domain_suffix: ".cn",
        postal_code: postal.to_string(),
        postal_address: format!("{city}{district}{n}号"),
        phone,
    }
}

fn korea<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = cjk_person(rng, KOREAN);
    let (addr, postal) = pick(
        rng,
        &[
            ("서울특별시 강남구 테헤란로", "06236"),
            ("부산광역시 해운대구 센텀중앙로", "48059"),
            ("경기도 성남시 분당구 판교역로", "13529"),
        ],
    );
    let phone = if rng.gen_bool(0.5) {
        format!("+82 2-{}-{}", digits(rng, 4), digits(rng, 4))
    } else {
        format!("010-{}-{}", digits(rng, 4), digits(rng, 4))
    };
    let org = format!("주식회사 {brand}");
    Local {
        person: (name, kana, local),
        organization_name: org,
        domain_suffix: ".kr",
        postal_code: postal.to_string(),
        postal_address: format!("{addr} {n}"),
        phone,
    }
}

fn taiwan<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = cjk_person(rng, TAIWANESE);
    let (addr, postal) = pick(
        rng,
        &[
            ("台北市信義區信義路五段", "110"),
            ("新竹市東區光復路二段", "300"),
            ("台中市西屯區台灣大道三段", "407"),
        ],
    );
    let phone = if rng.gen_bool(0.5) {
        format!("+886 2 {} {}", digits(rng, 4), digits(rng, 4))
    } else {
        format!("09{}-{}-{}", digits(rng, 2), digits(rng, 3), digits(rng, 3))
    };
    let org = format!("{brand}股份有限公司");
    Local {
        person: (name, kana, local),
        organization_name: org,
        domain_suffix: ".tw",
        postal_code: postal.to_string(),
        postal_address: format!("{addr}{n}號"),
        phone,
    }
}

fn singapore<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = plain_person(rng, SINGAPOREAN);
    let postal = format!("0{}", digits(rng, 5));
    let addr = format!(
        "{n} Raffles Place, #{:02}-{:02}, Singapore {postal}",
        rng.gen_range(2..40),
        rng.gen_range(1..20)
    );
    let phone = format!(
        "+65 {}{} {}",
        pick(rng, &["6", "8", "9"]),
        digits(rng, 3),
        digits(rng, 4)
    );
    Local {
        person: (name, kana, local),
        organization_name: format!("{brand} Pte. Ltd."),
        domain_suffix: ".sg",
        postal_code: postal,
        postal_address: addr,
        phone,
    }
}

fn germany<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = latin_person(rng, GERMAN_GIVEN, GERMAN_FAMILY);
    let (city, plz, area) = pick(
        rng,
        &[
            ("Berlin", "10115", "30"),
            ("München", "80331", "89"),
            ("Hamburg", "20095", "40"),
        ],
    );
    let street = pick(rng, &["Hauptstraße", "Friedrichstraße", "Bahnhofstraße"]);
    let phone = if rng.gen_bool(0.5) {
        format!("+49 {area} {}", digits(rng, 8))
    } else {
        format!("0{area} {}", digits(rng, 7))
    };
    Local {
        person: (name, kana, local),
        organization_name: format!("{brand} GmbH"),
        domain_suffix: ".de",
        postal_code: plz.to_string(),
        postal_address: format!("{street} {n}, {plz} {city}"),
        phone,
    }
}

fn britain<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = latin_person(rng, WESTERN_GIVEN, WESTERN_FAMILY);
    let (city, postcode) = pick(
        rng,
        &[
            ("London", "EC1A 1BB"),
            ("London", "SW1A 2AA"),
            ("Manchester", "M1 1AE"),
        ],
    );
    let phone = if rng.gen_bool(0.5) {
        format!("+44 20 7946 {}", digits(rng, 4))
    } else {
        format!("07700 900{}", digits(rng, 3))
    };
    Local {
        person: (name, kana, local),
        organization_name: format!("{brand} Ltd"),
        domain_suffix: ".co.uk",
        postal_code: postcode.to_string(),
        postal_address: format!("{n} High Street, {city} {postcode}"),
        phone,
    }
}

fn france<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = latin_person(rng, FRENCH_GIVEN, FRENCH_FAMILY);
    let (city, cp) = pick(
        rng,
        &[("Paris", "75001"), ("Lyon", "69002"), ("Toulouse", "31000")],
    );
    let phone = format!(
        "+33 1 {} {} {} {}",
        digits(rng, 2),
        digits(rng, 2),
        digits(rng, 2),
        digits(rng, 2)
    );
    Local {
        person: (name, kana, local),
        organization_name: format!("{brand} SAS"),
        domain_suffix: ".fr",
        postal_code: cp.to_string(),
        postal_address: format!("{n} rue de Rivoli, {cp} {city}"),
        phone,
    }
}

fn australia<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = latin_person(rng, WESTERN_GIVEN, WESTERN_FAMILY);
    let (city, state, pc) = pick(
        rng,
        &[("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")],
    );
    let phone = if rng.gen_bool(0.5) {
        format!("+61 2 {} {}", digits(rng, 4), digits(rng, 4))
    } else {
        format!("04{} {} {}", digits(rng, 2), digits(rng, 3), digits(rng, 3))
    };
    Local {
        person: (name, kana, local),
        organization_name: format!("{brand} Pty Ltd"),
        domain_suffix: ".com.au",
        postal_code: pc.to_string(),
        postal_address: format!("{n} George Street, {city} {state} {pc}"),
        phone,
    }
}

fn india<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = plain_person(rng, INDIAN);
    let (city, state, pin) = pick(
        rng,
        &[
            ("Bengaluru", "Karnataka", "560001"),
            ("Mumbai", "Maharashtra", "400001"),
        ],
    );
    let phone = format!("+91 9{} {}", digits(rng, 4), digits(rng, 5));
    Local {
        person: (name, kana, local),
        organization_name: format!("{brand} Technologies Pvt. Ltd."),
        domain_suffix: ".in",
        postal_code: pin.to_string(),
        postal_address: format!("{n} MG Road, {city}, {state} {pin}"),
        phone,
    }
}

fn united_states<R: Rng>(rng: &mut R, n: i32, brand: &str) -> Local {
    let (name, kana, local) = latin_person(rng, WESTERN_GIVEN, WESTERN_FAMILY);
    let (city, state, zip, area) = pick(
        rng,
        &[
            ("San Francisco", "CA", "941", "415"),
            ("New York", "NY", "100", "212"),
            ("Seattle", "WA", "981", "206"),
            ("Austin", "TX", "787", "512"),
            ("Boston", "MA", "021", "617"),
        ],
    );
    let zip = format!("{zip}{}", digits(rng, 2));
    let phone = match rng.gen_range(0..3) {
        0 => format!("+1 {area}-555-{}", digits(rng, 4)),
        1 => format!("({area}) 555-{}", digits(rng, 4)),
        _ => format!("{area}555{}", digits(rng, 4)),
    };
    let street = pick(rng, &["Market St", "Main Street", "5th Ave", "Pine St"]);
    Local {
        person: (name, kana, local),
        organization_name: format!("{brand} Inc."),
        domain_suffix: ".com",
        postal_code: zip.clone(),
        postal_address: format!("{n} {street}, {city}, {state} {zip}"),
        phone,
    }
}

/// ASCII form of a Latin name for e-mail local parts (Müller → muller, Weiß → weiss).
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'ü' => out.push('u'),
            'è' | 'é' | 'ê' => out.push('e'),
            'ß' => out.push_str("ss"),
            '\'' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn every_country_yields_an_ascii_mail_local_and_an_address() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for &(country, _) in COUNTRIES {
            for _ in 0..20 {
                let id = identity(&mut rng, country);
                assert!(
                    id.mail_local.is_ascii() && !id.mail_local.is_empty(),
                    "{}",
                    id.mail_local
                );
                assert!(
                    id.postal_address.contains(&id.postal_code)
                        || country == "CN"
                        || country == "KR"
                        || country == "TW"
                );
                assert!(
                    id.phone.chars().filter(char::is_ascii_digit).count() >= 8,
                    "{}",
                    id.phone
                );
            }
        }
    }

    #[test]
    fn ascii_fold_strips_diacritics_and_apostrophes() {
        assert_eq!(ascii_fold("Müller"), "Muller");
        assert_eq!(ascii_fold("Weiß"), "Weiss");
        assert_eq!(ascii_fold("O'Brien"), "OBrien");
        assert_eq!(ascii_fold("Lefèvre"), "Lefevre");
    }
}
