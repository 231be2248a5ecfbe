//! Tests of identities: names, addresses, phone numbers and e-mails look like the real ones and recur as they do.

use super::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn digits_only(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_u32(c as u32 - 0xFEE0),
            _ => None,
        })
        .collect()
}

#[test]
fn postal_codes_fall_in_their_prefecture_range() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (pi, p) in PREFECTURES.iter().enumerate() {
        for ci in 0..p.cities.len() {
            for _ in 0..20 {
                let code = postal_code_for(&mut rng, pi, ci);
                let written = write_postal_code(&mut rng, code);
                let d = digits_only(&written);
                assert_eq!(d.len(), 7, "{written}");
                let head: u16 = d[..3].parse().unwrap_or(0);
                assert!(
                    p.postal.iter().any(|&(lo, hi)| (lo..=hi).contains(&head)),
                    "{} {written}",
                    p.name
                );
            }
        }
    }
}

#[test]
fn designated_city_and_tokyo_ward_addresses_mostly_omit_the_prefecture() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let kanagawa = PREFECTURES
        .iter()
        .position(|p| p.name == "神奈川県")
        .unwrap_or(0);
    let tokyo = PREFECTURES
        .iter()
        .position(|p| p.name == "東京都")
        .unwrap_or(0);
    let (mut yokohama_with_pref, mut ward_with_pref) = (0, 0);
    for _ in 0..1000 {
        let a = write_address(&mut rng, kanagawa, 0);
        assert!(a.contains("横浜市"));
        yokohama_with_pref += usize::from(a.starts_with("神奈川県"));
        let w = write_address(&mut rng, tokyo, 0);
        assert!(w.contains("千代田区"));
        ward_with_pref += usize::from(w.starts_with("東京都"));
    }
    assert!(yokohama_with_pref < 250 && ward_with_pref < 250);
    let plain = write_address(&mut rng, 30, 0);
    assert!(plain.contains(PREFECTURES[30].cities[0].name));
}

#[test]
fn phone_numbers_keep_their_digits_in_every_format() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut formats = std::collections::HashSet::new();
    for _ in 0..2000 {
        let p = Phone::random_japanese(&mut rng, "0857", false);
        let Phone::Japan {
            area,
            exchange,
            line,
        } = &p
        else {
            unreachable!()
        };
        let national = format!("{area}{exchange}{line}");
        assert_eq!(national.len(), 10);
        let w = p.write(&mut rng);
        let d = digits_only(&w);
        assert!(d == national || d == format!("81{}", &national[1..]), "{w}");
        formats.insert(
            w.chars()
                .map(|c| if c.is_numeric() { '9' } else { c })
                .collect::<String>(),
        );
    }
    assert!(formats.len() >= 8, "{formats:?}");
}

#[test]
fn emails_keep_local_and_domain_recoverable() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut distinct = std::collections::HashSet::new();
    for _ in 0..1000 {
        let w = write_email(&mut rng, "taro.yamada", "example.co.jp");
        let folded: String = w
            .nfkc()
            .collect::<String>()
            .trim()
            .trim_start_matches("mailto:")
            .trim_start_matches("MAILTO:")
            .to_lowercase();
        assert_eq!(folded, "taro.yamada@example.co.jp", "{w:?}");
        distinct.insert(w);
    }
    assert!(distinct.len() >= 8);
}

#[test]
fn identities_mix_kinds_countries_and_nulls() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let ids: Vec<Identity> = (0..5000).map(|_| identity(&mut rng)).collect();
    let share = |f: &dyn Fn(&Identity) -> bool| {
        ids.iter().filter(|i| f(i)).count() as f64 / ids.len() as f64
    };
    assert!((0.26..0.34).contains(&share(&|i| i.kind == Kind::Individual)));
    assert!((0.02..0.045).contains(&share(&|i| i.country != "JP")));
    assert!(share(&|i| i.phone.is_none()) > 0.05);
    assert!(share(&|i| i.person_name_kana.is_none()) > 0.1);
    assert!(share(&|i| i.postal_address.is_none() && i.postal_code.is_some()) > 0.02);
    assert!(
        ids.iter()
            .all(|i| i.kind == Kind::Individual || i.organization_name.is_some())
    );
    let kana = ids.iter().filter_map(|i| i.person_name_kana.as_deref());
    let (mut half, mut hira) = (false, false);
    for k in kana {
        half |= k.chars().any(|c| ('ｦ'..='ﾟ').contains(&c));
        hira |= k.chars().any(|c| ('ぁ'..='ゖ').contains(&c));
    }
    assert!(half && hira);
    let names: Vec<&str> = ids
        .iter()
        .filter_map(|i| i.person_name.as_deref())
        .collect();
    assert!(names.iter().any(|n| n.contains('\u{3000}')));
    assert!(names.iter().any(|n| n.contains(' ')));
    let orgs: Vec<&str> = ids
        .iter()
        .filter_map(|i| i.organization_name.as_deref())
        .collect();
    for prefix in ["株式会社", "合同会社", "一般社団法人"] {
        assert!(orgs.iter().any(|o| o.starts_with(prefix)), "{prefix}");
    }
    assert!(orgs.iter().any(|o| o.is_ascii()));
}

#[test]
fn odd_strings_include_long_and_control_characters() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (mut long, mut control) = (false, false);
    for _ in 0..300 {
        let mut id = organization_identity(&mut rng, None);
        make_odd(&mut rng, &mut id);
        let fields = [&id.organization_name, &id.postal_address, &id.person_name];
        long |= fields
            .iter()
            .any(|f| f.as_ref().is_some_and(|s| s.len() >= 10_000));
        control |= fields
            .iter()
            .any(|f| f.as_ref().is_some_and(|s| s.contains(['\t', '\n'])));
    }
    assert!(long && control);
}
