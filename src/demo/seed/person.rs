//! Who a subscriber is and how their details get written down: names and readings,
//! organizations, addresses, postal codes, phone numbers, e-mail addresses and domains, each
//! in the many forms real registration data holds. The canonical values are kept so the same
//! person can be written differently elsewhere (applications, ACME contacts).

use std::sync::LazyLock;

use rand::Rng;
use unicode_normalization::UnicodeNormalization;

use super::dist::{Weighted, pick};
use super::japan::{self, CityKind, PREFECTURES};
use super::{foreign, text};

static PREFECTURE_WEIGHTS: LazyLock<Weighted> =
    LazyLock::new(|| Weighted::new(PREFECTURES.iter().map(|p| p.population)));
static CITY_WEIGHTS: LazyLock<Vec<Weighted>> = LazyLock::new(|| {
    PREFECTURES
        .iter()
        .map(|p| Weighted::new(p.cities.iter().map(|c| c.weight)))
        .collect()
});
static SURNAME_WEIGHTS: LazyLock<Weighted> =
    LazyLock::new(|| Weighted::new(japan::SURNAMES.iter().map(|s| s.2)));
static GIVEN_WEIGHTS: LazyLock<Weighted> =
    LazyLock::new(|| Weighted::new(japan::GIVEN_NAMES.iter().map(|s| s.2)));
static MAIL_WEIGHTS: LazyLock<Weighted> =
    LazyLock::new(|| Weighted::new(japan::PERSONAL_MAIL_DOMAINS.iter().map(|s| s.1)));
static COUNTRY_WEIGHTS: LazyLock<Weighted> =
    LazyLock::new(|| Weighted::new(foreign::COUNTRIES.iter().map(|s| s.1)));

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Individual,
    Organization,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Individual => "individual",
            Kind::Organization => "organization",
        }
    }
}

/// A person as they are, before anyone writes their name down.
pub enum Person {
    Japanese { surname: usize, given: usize },
    Foreign { name: String, kana: Option<String> },
}

impl Person {
    pub fn random_japanese<R: Rng>(rng: &mut R) -> Person {
        Person::Japanese {
            surname: SURNAME_WEIGHTS.sample(rng),
            given: GIVEN_WEIGHTS.sample(rng),
        }
    }

    /// The name as a form or an operator would type it: the space between surname and given
    /// name is U+3000, ASCII or missing.
    pub fn write_name<R: Rng>(&self, rng: &mut R) -> String {
        match self {
            Person::Japanese { surname, given } => {
                let sep = name_separator(rng);
                format!(
                    "{}{sep}{}",
                    japan::SURNAMES[*surname].0,
                    japan::GIVEN_NAMES[*given].0
                )
            }
            Person::Foreign { name, .. } => name.clone(),
        }
    }

    /// The reading in full-width katakana, half-width katakana or hiragana.
    pub fn write_kana<R: Rng>(&self, rng: &mut R) -> Option<String> {
        match self {
            Person::Japanese { surname, given } => {
                let sep = name_separator(rng);
                let kana = format!(
                    "{}{sep}{}",
                    japan::SURNAMES[*surname].1,
                    japan::GIVEN_NAMES[*given].1
                );
                Some(match rng.gen_range(0..100) {
                    0..65 => kana,
                    65..82 => text::half_width_kana(&kana),
                    _ => text::hiragana(&kana),
                })
            }
            Person::Foreign { kana, .. } => kana.clone(),
        }
    }

    /// ASCII local part for this person's e-mail address, in one of the usual shapes.
    pub fn mail_local<R: Rng>(&self, rng: &mut R) -> String {
        match self {
            Person::Japanese { surname, given } => {
                let long = rng.gen_bool(0.4);
                let s = text::romaji(japan::SURNAMES[*surname].1, long);
                let g = text::romaji(japan::GIVEN_NAMES[*given].1, long);
                let initial = g.chars().next().unwrap_or('x');
                match rng.gen_range(0..8) {
                    0 => format!("{g}.{s}"),
                    1 => format!("{s}.{g}"),
                    2 => format!("{g}_{s}"),
                    3 => format!("{s}{g}"),
                    4 => format!("{initial}.{s}"),
                    5 => format!("{s}{}", rng.gen_range(60..=99)),
                    6 => format!("{g}{}", rng.gen_range(1..=999)),
                    _ => format!("{s}-{g}"),
                }
            }
            Person::Foreign { name, .. } => name
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("."),
        }
    }
}

fn name_separator<R: Rng>(rng: &mut R) -> &'static str {
    match rng.gen_range(0..100) {
        0..40 => "\u{3000}",
        40..75 => " ",
        _ => "",
    }
}

/// A phone number as digits grouped the way it is dialled.
pub enum Phone {
    /// National number split into area code (with its 0), exchange and line.
    Japan {
        area: String,
        exchange: String,
        line: String,
    },
    /// Already written in the country's own format.
    Foreign(String),
}

impl Phone {
    pub fn random_japanese<R: Rng>(rng: &mut R, area_code: &str, mobile: bool) -> Phone {
        if mobile {
            let area = pick(rng, &["090", "080", "070"]).to_string();
            return Phone::Japan {
                area,
                exchange: digits(rng, 4),
                line: digits(rng, 4),
            };
        }
        let exchange_len = 10 - area_code.len() - 4;
        Phone::Japan {
            area: area_code.to_string(),
            exchange: format!("{}{}", rng.gen_range(1..10), digits(rng, exchange_len - 1)),
            line: digits(rng, 4),
        }
    }

    /// One of the ways people write this number: 03-1234-5678, 0312345678,
    /// ０３（１２３４）５６７８, +81 3 1234 5678, +81-90-1234-5678, ...
    pub fn write<R: Rng>(&self, rng: &mut R) -> String {
        match self {
            Phone::Japan {
                area,
                exchange,
                line,
            } => {
                let intl = area.trim_start_matches('0');
                match rng.gen_range(0..100) {
                    0..35 => format!("{area}-{exchange}-{line}"),
                    35..55 => format!("{area}{exchange}{line}"),
                    55..63 => text::full_width(&format!("{area}({exchange}){line}")),
                    63..71 => format!("+81 {intl} {exchange} {line}"),
                    71..77 => format!("+81-{intl}-{exchange}-{line}"),
                    77..85 => format!("{area}({exchange}){line}"),
                    85..93 => text::full_width(&format!("{area}-{exchange}-{line}")),
                    93..98 => format!("{area} {exchange} {line}"),
                    _ => format!("+81{intl}{exchange}{line}"),
                }
            }
            Phone::Foreign(s) => {
                if rng.gen_bool(0.2) {
                    s.chars().filter(|c| !c.is_whitespace()).collect()
                } else {
                    s.clone()
                }
            }
        }
    }
}

fn digits<R: Rng>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// An e-mail address in one of the ways it ends up in a database: as typed, mixed case,
/// full-width, with a full-width ＠, with stray spaces, or with a "mailto:" prefix.
pub fn write_email<R: Rng>(rng: &mut R, local: &str, domain: &str) -> String {
    match rng.gen_range(0..100) {
        0..62 => format!("{local}@{domain}"),
        62..70 => format!("{}@{}", capitalize(local), capitalize(domain)),
        70..73 => format!("{local}@{domain}").to_uppercase(),
        73..78 => text::full_width(&format!("{local}@{domain}")),
        78..83 => format!("{local}＠{domain}"),
        83..87 => format!(" {local}@{domain} "),
        87..90 => format!("{local}@{domain}\u{3000}"),
        90..93 => format!("{local}@{domain} "),
        93..98 => format!("mailto:{local}@{domain}"),
        _ => format!("MAILTO:{}@{domain}", capitalize(local)),
    }
}

fn capitalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = matches!(c, '.' | '_' | '-');
    }
    out
}

/// A Japanese postal code (seven digits) as written: 123-4567, １２３－４５６７, 1234567,
/// 〒123-4567, ...
pub fn write_postal_code<R: Rng>(rng: &mut R, code: u32) -> String {
    let (head, tail) = (code / 10_000, code % 10_000);
    match rng.gen_range(0..100) {
        0..50 => format!("{head:03}-{tail:04}"),
        50..62 => text::full_width(&format!("{head:03}-{tail:04}")),
        62..82 => format!("{head:03}{tail:04}"),
        82..94 => format!("〒{head:03}-{tail:04}"),
        94..97 => format!("〒{}", text::full_width(&format!("{head:03}-{tail:04}"))),
        _ => format!("{head:03}ー{tail:04}"),
    }
}

/// A postal code in the prefecture's (or the city's) Japan Post range.
pub fn postal_code_for<R: Rng>(rng: &mut R, pref: usize, city: usize) -> u32 {
    let p = &PREFECTURES[pref];
    let (lo, hi) = p.cities[city].postal.unwrap_or_else(|| pick(rng, p.postal));
    u32::from(rng.gen_range(lo..=hi)) * 10_000 + rng.gen_range(0..10_000)
}

/// An address in the prefecture: prefecture (left out for designated cities and Tokyo's
/// wards, as people write them), city, town, then 丁目/番地 in one of several notations.
pub fn write_address<R: Rng>(rng: &mut R, pref: usize, city: usize) -> String {
    let p = &PREFECTURES[pref];
    let c = &p.cities[city];
    let mut s = String::with_capacity(96);
    let with_prefecture = match c.kind {
        CityKind::Plain => rng.gen_bool(0.97),
        CityKind::Designated(_) | CityKind::TokyoWard => rng.gen_bool(0.15),
    };
    if with_prefecture {
        s.push_str(p.name);
        if rng.gen_bool(0.05) {
            s.push(' ');
        }
    }
    s.push_str(c.name);
    if let CityKind::Designated(wards) = c.kind {
        s.push_str(pick(rng, wards));
    }
    s.push_str(pick(rng, japan::TOWNS));
    let (chome, ban, go) = (
        rng.gen_range(1..=9),
        rng.gen_range(1..=40),
        rng.gen_range(1..=30),
    );
    let block = match rng.gen_range(0..100) {
        0..30 => format!("{chome}丁目{ban}番{go}号"),
        30..65 => format!("{chome}-{ban}-{go}"),
        65..80 => format!("{chome}丁目{ban}-{go}"),
        80..88 => format!("{}番地{go}", ban * 10 + chome),
        88..95 => format!("{}丁目{ban}番{go}号", text::kanji_number(chome)),
        _ => format!("{chome}－{ban}－{go}"),
    };
    if rng.gen_bool(0.35) {
        s.push_str(&text::full_width_digits(&block));
    } else {
        s.push_str(&block);
    }
    if rng.gen_bool(0.25) {
        s.push_str(pick(rng, &[" ", "\u{3000}", ""]));
        s.push_str(pick(rng, japan::BUILDINGS));
        match rng.gen_range(0..3) {
            0 => s.push_str(&format!("{}F", rng.gen_range(1..=20))),
            1 => s.push_str(&format!(
                " {}号室",
                rng.gen_range(1..=12) * 100 + rng.gen_range(1..=9)
            )),
            _ => s.push_str(&format!(
                "{}",
                rng.gen_range(1..=12) * 100 + rng.gen_range(1..=9)
            )),
        }
    }
    s
}

/// The kinds of non-company organization; companies are four in five organizations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OrgForm {
    Association,
    Npo,
    School,
    University,
    Medical,
    LocalGovernment,
    Agency,
}

static ORG_FORMS: &[(OrgForm, u32)] = &[
    (OrgForm::Association, 50),
    (OrgForm::Npo, 30),
    (OrgForm::School, 30),
    (OrgForm::University, 10),
    (OrgForm::Medical, 40),
    (OrgForm::LocalGovernment, 15),
    (OrgForm::Agency, 5),
];
static ORG_FORM_WEIGHTS: LazyLock<Weighted> =
    LazyLock::new(|| Weighted::new(ORG_FORMS.iter().map(|f| f.1)));

pub struct Organization {
    /// As registered (株式会社…, （株）…, Latin, …).
    pub name: String,
    /// What an OV certificate's O= carries: often the English name.
    pub subject_name: String,
    /// Registered domain for its certificates and mail.
    pub domain: String,
}

/// A Japanese organization located in the given prefecture.
pub fn organization<R: Rng>(rng: &mut R, pref: usize) -> Organization {
    if rng.gen_bool(0.8) {
        return company(rng, pref);
    }
    let form = ORG_FORMS[ORG_FORM_WEIGHTS.sample(rng)].0;
    let p = &PREFECTURES[pref];
    let (stem, stem_r) = pick(rng, japan::ORG_STEMS);
    match form {
        OrgForm::Association | OrgForm::Npo => {
            let (word, word_r) = pick(rng, japan::ASSOCIATION_WORDS);
            let prefix = match (form, rng.gen_range(0..4)) {
                (OrgForm::Npo, 0) => "NPO法人",
                (OrgForm::Npo, _) => "特定非営利活動法人",
                (_, 0) => "一般財団法人",
                _ => "一般社団法人",
            };
            let name = format!("{prefix}{stem}{word}");
            let label = format!("{stem_r}-{word_r}");
            let suffix = match rng.gen_range(0..100) {
                0..60 => ".or.jp",
                60..85 => ".org",
                _ => ".jp",
            };
            Organization {
                subject_name: name.clone(),
                name,
                domain: format!("{label}{suffix}"),
            }
        }
        OrgForm::School => {
            let name = format!("学校法人{stem}学園");
            let suffix = if rng.gen_bool(0.7) { "ac.jp" } else { "ed.jp" };
            Organization {
                subject_name: name.clone(),
                name,
                domain: format!("{stem_r}-gakuen.{suffix}"),
            }
        }
        OrgForm::University => {
            let place = p.name.trim_end_matches(['県', '府', '都']);
            let name = format!("国立大学法人{place}大学");
            let domain = format!("{}-u.ac.jp", p.romaji);
            Organization {
                subject_name: name.clone(),
                name,
                domain,
            }
        }
        OrgForm::Medical => {
            let (surname, kana, _) = japan::SURNAMES[SURNAME_WEIGHTS.sample(rng)];
            if rng.gen_bool(0.5) {
                let name = format!("医療法人社団{stem}会");
                Organization {
                    subject_name: name.clone(),
                    name,
                    domain: format!("{stem_r}-kai.or.jp"),
                }
            } else {
                let name = format!("医療法人{surname}医院");
                let suffix = pick(rng, &[".jp", ".com", ".or.jp"]);
                let domain = format!("{}-clinic{suffix}", text::romaji(kana, false));
                Organization {
                    subject_name: name.clone(),
                    name,
                    domain,
                }
            }
        }
        OrgForm::LocalGovernment => {
            let (name, city, pref_label) = pick(rng, japan::LOCAL_GOVERNMENTS);
            let domain = if rng.gen_bool(0.6) {
                format!("city.{city}.lg.jp")
            } else {
                format!("city.{city}.{pref_label}.jp")
            };
            Organization {
                name: name.to_string(),
                subject_name: name.to_string(),
                domain,
            }
        }
        OrgForm::Agency => {
            let (name, label) = pick(rng, japan::AGENCIES);
            Organization {
                name: name.to_string(),
                subject_name: name.to_string(),
                domain: format!("{label}.go.jp"),
            }
        }
    }
}

/// A company: 株式会社 before or after the name, 合同会社, 有限会社, abbreviations such as
/// （株） and ㈱, or a Latin name; domains mostly co.jp, also .jp, .com, ne.jp, gr.jp and
/// geographic names such as foo.tokyo.jp.
pub fn company<R: Rng>(rng: &mut R, pref: usize) -> Organization {
    let (stem, stem_r) = pick(rng, japan::ORG_STEMS);
    let (trade, trade_r) = pick(rng, japan::ORG_TRADES);
    let (core, core_r) = if rng.gen_bool(0.12) {
        let (surname, kana, _) = japan::SURNAMES[SURNAME_WEIGHTS.sample(rng)];
        (format!("{surname}{trade}"), text::romaji(kana, false))
    } else {
        (format!("{stem}{trade}"), stem_r.to_string())
    };
    let english = format!("{} {} Co., Ltd.", capitalize(&core_r), capitalize(trade_r));
    let name = match rng.gen_range(0..100) {
        0..42 => format!("株式会社{core}"),
        42..62 => format!("{core}株式会社"),
        62..70 => format!("合同会社{core}"),
        70..77 => format!("有限会社{core}"),
        77..80 => format!("（株）{core}"),
        80..82 => format!("㈱{core}"),
        82..85 => format!("{core}(株)"),
        85..92 => english.clone(),
        92..95 => text::full_width(&english),
        _ => format!("{} K.K.", capitalize(&core_r)),
    };
    let label = match rng.gen_range(0..5) {
        0 => format!("{core_r}-{trade_r}"),
        1 => format!("{core_r}{trade_r}"),
        2 => format!("{core_r}-{trade_r}-{}", PREFECTURES[pref].romaji),
        3 => format!("{core_r}{}", rng.gen_range(1..100)),
        _ => format!(
            "{core_r}-{trade_r}{}",
            pick(rng, &["-group", "-jp", "-kk", "web", "-net"])
        ),
    };
    let domain = match rng.gen_range(0..100) {
        0..50 => format!("{label}.co.jp"),
        50..68 => format!("{label}.jp"),
        68..86 => format!("{label}.com"),
        86..90 => format!("{label}.net"),
        90..94 => format!("{label}.ne.jp"),
        94..96 => format!("{label}.gr.jp"),
        _ => format!("{label}.{}.jp", PREFECTURES[pref].romaji),
    };
    let subject_name = if rng.gen_bool(0.6) {
        english
    } else {
        name.clone()
    };
    Organization {
        name,
        subject_name,
        domain,
    }
}

/// Everything a subscriber record says about its subject, as written, plus the canonical
/// values other tables reuse.
pub struct Identity {
    pub kind: Kind,
    pub country: &'static str,
    pub organization: Option<Organization>,
    pub organization_name: Option<String>,
    pub person: Option<Person>,
    pub person_name: Option<String>,
    pub person_name_kana: Option<String>,
    /// Canonical (local part, domain) of the subscriber's e-mail address.
    pub mail: Option<(String, String)>,
    pub email: Option<String>,
    pub phone_number: Option<Phone>,
    pub phone: Option<String>,
    pub postal_code: Option<String>,
    pub postal_address: Option<String>,
    /// Registered domain the subscriber's certificates are for.
    pub domain: String,
}

pub fn identity<R: Rng>(rng: &mut R) -> Identity {
    let kind = if rng.gen_bool(0.3) {
        Kind::Individual
    } else {
        Kind::Organization
    };
    let mut id = if rng.gen_bool(0.03) {
        foreign_identity(rng, kind)
    } else {
        let pref = PREFECTURE_WEIGHTS.sample(rng);
        japanese(rng, kind, pref)
    };
    if rng.gen_bool(0.005) {
        make_odd(rng, &mut id);
    }
    id
}

/// A Japanese organization, in `pref` or wherever people live, with its postal address on
/// record (the identity check of its OV certificates needs one).
pub fn organization_identity<R: Rng>(rng: &mut R, pref: Option<usize>) -> Identity {
    let pref = pref.unwrap_or_else(|| PREFECTURE_WEIGHTS.sample(rng));
    let mut id = japanese(rng, Kind::Organization, pref);
    if id.postal_address.is_none() {
        let city = CITY_WEIGHTS[pref].sample(rng);
        id.postal_address = Some(write_address(rng, pref, city));
    }
    id
}

fn japanese<R: Rng>(rng: &mut R, kind: Kind, pref: usize) -> Identity {
    let city = CITY_WEIGHTS[pref].sample(rng);
    let area_code = PREFECTURES[pref].area_code;
    let organization = (kind == Kind::Organization).then(|| organization(rng, pref));
    let person = match kind {
        Kind::Individual => Some(Person::random_japanese(rng)),
        Kind::Organization => rng.gen_bool(0.75).then(|| Person::random_japanese(rng)),
    };
    let person_name = person.as_ref().map(|p| p.write_name(rng));
    let kana_share = if kind == Kind::Individual { 0.8 } else { 0.6 };
    let person_name_kana = person
        .as_ref()
        .filter(|_| rng.gen_bool(kana_share))
        .and_then(|p| p.write_kana(rng));
    let domain = match &organization {
        Some(o) => o.domain.clone(),
        None => personal_domain(rng, person.as_ref(), pref),
    };
    let mail = (!rng.gen_bool(0.03)).then(|| match (&organization, &person) {
        (Some(o), Some(p)) if rng.gen_bool(0.6) => (p.mail_local(rng), o.domain.clone()),
        (Some(o), _) => (role_local(rng).to_string(), o.domain.clone()),
        (None, Some(p)) if rng.gen_bool(0.8) => {
            let d = japan::PERSONAL_MAIL_DOMAINS[MAIL_WEIGHTS.sample(rng)].0;
            (p.mail_local(rng), d.to_string())
        }
        (None, Some(p)) => (p.mail_local(rng), domain.clone()),
        (None, None) => ("info".to_string(), domain.clone()),
    });
    let email = mail.as_ref().map(|(l, d)| write_email(rng, l, d));
    let mobile_share = if kind == Kind::Individual { 0.7 } else { 0.15 };
    let phone_number = (!rng.gen_bool(0.12)).then(|| {
        let mobile = rng.gen_bool(mobile_share);
        Phone::random_japanese(rng, area_code, mobile)
    });
    let phone = phone_number.as_ref().map(|p| p.write(rng));
    let (postal_code, postal_address) = match rng.gen_range(0..100) {
        0..4 => {
            let code = postal_code_for(rng, pref, city);
            (Some(write_postal_code(rng, code)), None)
        }
        4..9 => (None, None),
        9..17 => (None, Some(write_address(rng, pref, city))),
        _ => {
            let code = postal_code_for(rng, pref, city);
            (
                Some(write_postal_code(rng, code)),
                Some(write_address(rng, pref, city)),
            )
        }
    };
    Identity {
        kind,
        country: "JP",
        organization_name: organization.as_ref().map(|o| o.name.clone()),
        organization,
        person,
        person_name,
        person_name_kana,
        mail,
        email,
        phone_number,
        phone,
        postal_code,
        postal_address,
        domain,
    }
}

fn foreign_identity<R: Rng>(rng: &mut R, kind: Kind) -> Identity {
    let country = foreign::COUNTRIES[COUNTRY_WEIGHTS.sample(rng)].0;
    let f = foreign::identity(rng, country);
    let label = f.domain_label.clone();
    let domain = format!("{label}{}", f.domain_suffix);
    let organization = (kind == Kind::Organization).then(|| Organization {
        name: f.organization_name.clone(),
        subject_name: f.organization_name.clone(),
        domain: domain.clone(),
    });
    let mail_domain = if kind == Kind::Organization || rng.gen_bool(0.3) {
        domain.clone()
    } else {
        pick(
            rng,
            &[
                "gmail.com",
                "outlook.com",
                "qq.com",
                "naver.com",
                "yahoo.com",
            ],
        )
        .to_string()
    };
    let mail = Some((f.mail_local.clone(), mail_domain));
    let email = mail.as_ref().map(|(l, d)| write_email(rng, l, d));
    let phone_number = Some(Phone::Foreign(f.phone));
    let phone = phone_number.as_ref().map(|p| p.write(rng));
    let person = Person::Foreign {
        name: f.person_name.clone(),
        kana: f.person_name_kana.clone(),
    };
    Identity {
        kind,
        country,
        organization_name: organization.as_ref().map(|o| o.name.clone()),
        organization,
        person_name: Some(f.person_name),
        person_name_kana: f.person_name_kana,
        person: Some(person),
        mail,
        email,
        phone_number,
        phone,
        postal_code: Some(f.postal_code),
        postal_address: Some(f.postal_address),
        domain,
    }
}

fn role_local<R: Rng>(rng: &mut R) -> &'static str {
    pick(
        rng,
        &[
            "info",
            "contact",
            "admin",
            "webmaster",
            "ssl",
            "system",
            "soumu",
            "it-support",
        ],
    )
}

/// The domain of a hosting provider's customer: a company's or an individual's.
pub fn customer_domain<R: Rng>(rng: &mut R) -> String {
    let pref = PREFECTURE_WEIGHTS.sample(rng);
    if rng.gen_bool(0.6) {
        company(rng, pref).domain
    } else {
        personal_domain(rng, None, pref)
    }
}

/// An individual's own domain: their name or a hobby word, under .jp, .com, .net, .org, gr.jp
/// or a geographic name.
fn personal_domain<R: Rng>(rng: &mut R, person: Option<&Person>, pref: usize) -> String {
    let label = match person {
        Some(Person::Japanese { surname, given }) if rng.gen_bool(0.6) => {
            let s = text::romaji(japan::SURNAMES[*surname].1, false);
            let g = text::romaji(japan::GIVEN_NAMES[*given].1, false);
            match rng.gen_range(0..3) {
                0 => format!("{s}-{g}"),
                1 => format!("{g}{s}"),
                _ => format!("{s}{}", rng.gen_range(1..1000)),
            }
        }
        _ => {
            let (_, stem) = pick(rng, japan::ORG_STEMS);
            let word = pick(
                rng,
                &["blog", "studio", "photo", "lab", "works", "cafe", "design"],
            );
            format!("{stem}-{word}")
        }
    };
    match rng.gen_range(0..100) {
        0..38 => format!("{label}.jp"),
        38..70 => format!("{label}.com"),
        70..84 => format!("{label}.net"),
        84..89 => format!("{label}.org"),
        89..94 => format!("{label}.gr.jp"),
        _ => format!("{label}.{}.jp", PREFECTURES[pref].romaji),
    }
}

/// Rare but real oddities: 10 kB names or addresses, emoji, decomposed (combining) kana and
/// accents, tabs and newlines inside names, zero-width and no-break spaces.
fn make_odd<R: Rng>(rng: &mut R, id: &mut Identity) {
    match rng.gen_range(0..7) {
        0 => {
            if let Some(name) = id.organization_name.as_mut() {
                let word = pick(rng, &["ホールディングス", "・グループ", "（旧商号を含む）"]);
                while name.len() < 10_240 {
                    name.push_str(word);
                }
            }
        }
        1 => {
            if let Some(address) = id.postal_address.as_mut() {
                while address.len() < 10_240 {
                    address.push_str("　コーポ日の出第二別館");
                }
            }
        }
        2 => {
            let emoji = pick(rng, &["🍣", "🌸", "😀", "🗻", "👨‍👩‍👧"]);
            match (id.organization_name.as_mut(), id.person_name.as_mut()) {
                (Some(org), _) => org.push_str(emoji),
                (None, Some(name)) => name.insert_str(0, emoji),
                (None, None) => {}
            }
        }
        3 => {
            for s in [
                &mut id.person_name,
                &mut id.person_name_kana,
                &mut id.organization_name,
            ] {
                if let Some(v) = s.as_mut() {
                    *v = v.nfd().collect();
                }
            }
        }
        4 => {
            if let Some(name) = id.person_name.as_mut() {
                *name = name.replacen(['\u{3000}', ' '], "\t", 1);
                if !name.contains('\t') {
                    name.push('\t');
                }
            }
            if let Some(org) = id.organization_name.as_mut() {
                *org = org.replacen("株式会社", "株式会社\n", 1);
                org.push_str("\r\n");
            }
        }
        5 => {
            if let Some(name) = id.person_name.as_mut() {
                name.insert(0, '\u{200B}');
                name.push('\u{00A0}');
            }
        }
        _ => {
            if let Some(org) = id.organization_name.as_mut() {
                org.insert_str(0, "  ");
                org.push_str("\u{3000}\u{3000}");
            }
        }
    }
}

#[cfg(test)]
mod tests;
