//! Japanese legal forms in an organization's name, written out: `(株)`, `㈱`, `株)` and
//! `株式会社` are one form, so one company gets one pseudonym however its name was typed. The
//! form stays where it was written: `株式会社日本レジストリ` (前株) and `日本レジストリ株式会社`
//! (後株) are two registered names.

/// The abbreviations banks and registries use (法人略語), each with the form it stands for.
const FORMS: &[(&str, &str)] = &[
    ("株", "株式会社"),
    ("有", "有限会社"),
    ("同", "合同会社"),
    ("名", "合名会社"),
    ("資", "合資会社"),
    ("一社", "一般社団法人"),
    ("一財", "一般財団法人"),
    ("公社", "公益社団法人"),
    ("公財", "公益財団法人"),
    ("社", "社団法人"),
    ("財", "財団法人"),
    ("特非", "特定非営利活動法人"),
    ("医", "医療法人"),
    ("学", "学校法人"),
    ("福", "社会福祉法人"),
    ("宗", "宗教法人"),
];

const NPO: &str = "特定非営利活動法人";

/// Writes out the legal-form abbreviations of `name`, a name already normalized (NFKC, so `㈱`
/// and `（株）` are `(株)`, lower-cased, CJK joined), and drops the spaces around every legal
/// form: `(株) 日本レジストリ` and `株式会社 日本レジストリ` are both `株式会社日本レジストリ`.
pub(crate) fn write_out(name: &mut String) {
    if !name.contains(['(', ')', ' ']) && !name.contains("npo") {
        return;
    }
    let mut out = String::with_capacity(name.len() + 16);
    let mut rest = name.as_str();
    // `株)日本レジストリ`: the opening parenthesis left out, as narrow forms write it.
    if let Some((full, after)) = FORMS
        .iter()
        .find_map(|(abbr, full)| Some((*full, rest.strip_prefix(abbr)?.strip_prefix(')')?)))
    {
        out.push_str(full);
        rest = after;
    }
    while let Some(c) = rest.chars().next() {
        match abbreviation(rest) {
            Some((full, after)) => {
                out.push_str(full);
                rest = after;
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if out.contains(' ') {
        for (_, full) in FORMS {
            if out.contains(full) {
                out = out
                    .replace(&format!(" {full}"), full)
                    .replace(&format!("{full} "), full);
            }
        }
    }
    *name = out;
}

/// The legal form `rest` starts with, written out, and what follows it: `(株)`, or `(株` ending
/// the name, or `npo法人`.
fn abbreviation(rest: &str) -> Option<(&'static str, &str)> {
    if let Some(inner) = rest.strip_prefix('(') {
        return FORMS.iter().find_map(|(abbr, full)| {
            let after = inner.strip_prefix(abbr)?;
            let after = if after.is_empty() {
                after
            } else {
                after.strip_prefix(')')?
            };
            Some((*full, after))
        });
    }
    ["npo法人", "npo 法人"]
        .iter()
        .find_map(|npo| Some((NPO, rest.strip_prefix(npo)?)))
}

#[cfg(test)]
mod tests {
    use crate::transform::normalize::organization;

    fn org(value: &str) -> String {
        let mut out = String::new();
        organization(value, &mut out);
        out
    }

    #[test]
    fn every_spelling_of_a_form_is_one_name() {
        for form in [
            "株式会社日本レジストリ",
            "株式会社　日本レジストリ",
            "株式会社 日本レジストリ",
            "(株)日本レジストリ",
            "（株）日本レジストリ",
            "(株) 日本レジストリ",
            "㈱日本レジストリ",
            "㈱　日本レジストリ",
            "㍿日本レジストリ",
            "株)日本レジストリ",
            "株）日本レジストリ",
        ] {
            assert_eq!(org(form), "株式会社日本レジストリ", "{form}");
        }
        for form in [
            "日本レジストリ株式会社",
            "日本レジストリ　株式会社",
            "日本レジストリ(株)",
            "日本レジストリ ㈱",
            "日本レジストリ（株",
        ] {
            assert_eq!(org(form), "日本レジストリ株式会社", "{form}");
        }
    }

    #[test]
    fn every_form() {
        let cases = [
            ("(有)山田商店", "有限会社山田商店"),
            ("㈲山田商店", "有限会社山田商店"),
            ("(同)サンプル", "合同会社サンプル"),
            ("㈴サンプル", "合名会社サンプル"),
            ("(資)サンプル", "合資会社サンプル"),
            ("㈾サンプル", "合資会社サンプル"),
            ("(一社)日本サンプル協会", "一般社団法人日本サンプル協会"),
            ("(一財)日本サンプル財団", "一般財団法人日本サンプル財団"),
            ("(公社)日本サンプル協会", "公益社団法人日本サンプル協会"),
            ("NPO法人 サンプル", "特定非営利活動法人サンプル"),
            ("ＮＰＯ法人サンプル", "特定非営利活動法人サンプル"),
            ("(特非)サンプル", "特定非営利活動法人サンプル"),
            ("Example (株)", "example株式会社"),
            ("Example 株式会社", "example株式会社"),
        ];
        for (written, want) in cases {
            assert_eq!(org(written), want, "{written}");
        }
    }

    #[test]
    fn the_position_and_the_rest_of_the_name_stay() {
        assert_ne!(org("(株)日本レジストリ"), org("日本レジストリ(株)"));
        assert_ne!(org("(株)日本レジストリ"), org("(有)日本レジストリ"));
        // A parenthesis that is not a legal form, and spaces away from one.
        assert_eq!(org("日本レジストリ(東京)"), "日本レジストリ(東京)");
        assert_eq!(org("Example Co., Ltd."), "example co., ltd.");
        assert_eq!(org("(株"), "株式会社");
        assert_eq!(org("(株式会社)"), "(株式会社)");
    }
}
