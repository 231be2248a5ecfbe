//! The research extract's schema, data dictionary and public notice, generated from what was
//! released.

use super::{ExtractFacts, FILE_NAME};
use crate::outputs::schema::{Field, Resource, Values};
use crate::transform::generalize::Quasi;

/// The pseudonym column that identifies a row: it never repeats.
const CERTIFICATE_COLUMN: &str = "certificate";

/// The public notice an anonymous release carries (APPI: the items the data holds and how it
/// was processed).
pub(crate) const NOTICE: &str = "PUBLIC_NOTICE.md";

/// What each pseudonym column holds, and the privacy rule it meets.
const PSEUDONYM_MEANINGS: [(&str, &str, &str); 10] = [
    (
        "certificate",
        "the certificate (its row id)",
        "linking code replaced by a keyed pseudonym; serial numbers and DER are not released",
    ),
    (
        "subscriber",
        "the subscriber (its row id)",
        "linking code replaced by a keyed pseudonym",
    ),
    (
        "subscriber_email",
        "the subscriber's e-mail address, lower-cased",
        "direct identifier replaced by a keyed pseudonym",
    ),
    (
        "subscriber_phone",
        "the subscriber's phone number in E.164",
        "direct identifier replaced by a keyed pseudonym",
    ),
    (
        "person_name",
        "the subscriber's person name, spaces folded",
        "direct identifier replaced by a keyed pseudonym",
    ),
    (
        "organization",
        "the subscriber's organization name",
        "identifier replaced by a keyed pseudonym",
    ),
    (
        "applicant_email",
        "the applicant's e-mail (same pseudonym as the same address elsewhere)",
        "direct identifier replaced by a keyed pseudonym",
    ),
    (
        "approver_email",
        "the domain-validation approver's e-mail",
        "direct identifier replaced by a keyed pseudonym",
    ),
    (
        "acme_account",
        "the ACME account (its row id)",
        "linking code replaced by a keyed pseudonym",
    ),
    (
        "acme_contact",
        "the ACME account's contact e-mail",
        "direct identifier replaced by a keyed pseudonym",
    ),
];

fn quasi_meaning(q: Quasi) -> &'static str {
    match q {
        Quasi::SubscriberKind => "individual or organization",
        Quasi::Region => {
            "where the subscriber is: two-digit JIS X 0401 prefecture code (`13`), ISO 3166 country code abroad (`US`), or at a coarser level a region of Japan (`kanto`), `japan` or `abroad`; the postal address itself is not released"
        }
        Quasi::Channel => "how the certificate was ordered: operator, acme, other",
        Quasi::ValidationType => "DV or OV",
        Quasi::Issued => {
            "when the certificate was issued (UTC month, quarter or year; exact times are not released)"
        }
        Quasi::Validity => {
            "validity period bucket on the CA/Browser Forum limits (<=47d, <=100d, <=200d, <=398d, >398d)"
        }
        Quasi::KeyType => "public key algorithm and size",
        Quasi::DomainClass => {
            "class of the common name's domain (co.jp, ac.jp, go.jp, or.jp, ne.jp, gr.jp, ed.jp, lg.jp, general.jp, prefecture.jp, other); the name itself is not released"
        }
        Quasi::Revocation => "not_revoked or the RFC 5280 revocation reason",
    }
}

/// The schema of the extract: the released pseudonym columns (`key_id`'s pseudonyms, `erased`,
/// or empty), then each quasi-identifier at its released level (`levels`, one per
/// `Quasi::ALL`), the region followed by its English name.
pub(crate) fn resource(key_id: &str, pseudonyms: &[&str], levels: &[u8]) -> Resource {
    let pseudonym = Values::Pattern {
        regex: format!("({key_id}_[a-z2-7]{{26}}|erased)"),
        shape: format!("`{key_id}_` and 26 base32 characters, or `erased`"),
    };
    let mut fields: Vec<Field> = PSEUDONYM_MEANINGS
        .iter()
        .filter(|(name, ..)| pseudonyms.contains(name))
        .map(|&(name, meaning, _)| {
            let field = Field::new(name, meaning, pseudonym.clone());
            if name == CERTIFICATE_COLUMN {
                field
            } else {
                field.optional()
            }
        })
        .collect();
    for (q, &level) in Quasi::ALL.iter().zip(levels) {
        let level_name = q.levels()[usize::from(level).min(q.levels().len() - 1)];
        fields.push(Field::new(
            q.name(),
            format!("{}; released at level `{level_name}`", quasi_meaning(*q)),
            q.domain(level).into(),
        ));
        if let Some(column) = q.name_column() {
            fields.push(Field::new(
                column,
                format!(
                    "the English name of the `{}` code (`Tokyo`, `Kanto`, `Japan`; `Abroad` for any foreign country)",
                    q.name()
                ),
                q.name_domain(level).into(),
            ));
        }
    }
    Resource {
        file: FILE_NAME.to_owned(),
        description: "The research extract: one row per released certificate, sorted by \
                      `certificate`."
            .to_owned(),
        fields,
        primary_key: vec![CERTIFICATE_COLUMN.to_owned()],
    }
}

/// The privacy rule a column of the extract meets, for the data dictionary.
fn rule(column: &str, k: u64) -> String {
    if let Some((.., rule)) = PSEUDONYM_MEANINGS.iter().find(|(name, ..)| *name == column) {
        return (*rule).to_owned();
    }
    if Quasi::ALL.iter().any(|q| q.name() == column) {
        return format!(
            "quasi-identifier, generalized; every combination of quasi-identifiers occurs in at least k = {k} rows from at least k distinct subscribers (k-anonymity)"
        );
    }
    "a name of the code before it, which adds nothing to it".to_owned()
}

/// DATA_DICTIONARY.md for the research extract: every column, its meaning and the rule it meets.
pub(crate) fn dictionary(facts: &ExtractFacts, mode: &str) -> String {
    let mut out = format!(
        "# Research extract: data dictionary\n\n\
         One row per certificate in the source snapshot, {} rows released, {} suppressed by the \
         privacy gates. Release mode: `{mode}`. Rows are sorted by `certificate`.\n\n\
         Pseudonyms are `<key id>_<26 base32 characters>`: the first 128 bits of \
         HMAC-SHA256(key, class 0x1f normalized value). Equal pseudonyms mean equal normalized \
         values of the same class within this release; they cannot be reversed without the key. \
         `erased` means the subject's personal data was erased under the retention policy; an \
         empty field means the source had no value.\n\n\
         Information loss: {:.4} (`information_loss` in manifest.json), from 0 (every value \
         released at its finest level, no row suppressed) to 1 (nothing released). A released \
         value loses (g − 1) / (n − 1), where n is the number of distinct values its column \
         holds at the finest level searched and g how many of them the released value stands \
         for (`*` stands for all and loses 1); a suppressed row loses 1 in every column; the \
         figure is the average over every row scanned and every quasi-identifier column.\n\n\
         {}\n\n\
         | column | type | meaning | privacy rule |\n|---|---|---|---|\n",
        facts.rows_written,
        facts.rows_suppressed,
        facts.information_loss,
        subject_summary(facts),
    );
    for field in &facts.resource.fields {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            field.name,
            field.type_text(),
            field.description,
            rule(&field.name, facts.achieved_k.max(1)),
        ));
    }
    out.push_str(
        "\nNot released at all: serial numbers, DER, exact timestamps, full domain names, \
         postal addresses and codes, phone and e-mail values, kana readings, row ids.\n",
    );
    out
}

/// The subscribers behind the rows, in plain words.
fn subject_summary(facts: &ExtractFacts) -> String {
    let s = &facts.subjects;
    let enforced = match s.subject_k {
        Some(sk) => format!(
            " `privacy.subject_k` = {}: {} subjects whose profile fewer than {} subjects shared \
             were removed whole, {} rows, counted among the suppressed rows; every subject left \
             in the file has a profile at least {} subjects share.",
            sk.k, sk.subjects_suppressed, sk.k, sk.rows_suppressed, sk.k
        ),
        None => String::new(),
    };
    format!(
        "Subscribers: {} in the snapshot, {} with rows released, {} suppressed whole, {} with \
         some rows suppressed. Every released combination of quasi-identifiers holds rows of at \
         least k distinct subscribers. Following the released pseudonym columns other than \
         `certificate`, the file shows {} subjects; {} of them have a profile (the \
         quasi-identifiers of all their rows) that fewer than k subjects share; the largest \
         re-identification risk of a profile is {:.3}.{enforced}",
        s.subscribers_scanned,
        s.subscribers_released,
        s.subscribers_suppressed,
        s.subscribers_partly_suppressed,
        s.in_file,
        s.profile_below_k,
        s.max_reidentification_risk,
    )
}

/// PUBLIC_NOTICE.md of an anonymous release: the items and levels of this release.
pub(crate) fn public_notice(facts: &ExtractFacts) -> String {
    let items: Vec<String> = Quasi::ALL
        .iter()
        .zip(&facts.levels)
        .filter(|(_, (_, level))| level != "*")
        .map(|(q, (_, level))| format!("{} ({level})", q.name().replace('_', " ")))
        .collect();
    let items = if items.is_empty() {
        "none beyond the pseudonym".to_string()
    } else {
        items.join("; ")
    };
    format!(
        "# Public notice: anonymously processed information\n\n\
         This release holds anonymously processed information (匿名加工情報) made from the \
         certificate authority's certificate information.\n\n\
         Items released: a pseudonym of each certificate, which links to nothing else; and, \
         at the level given: {items}.\n\n\
         How it was processed: the certificate's row id was replaced by a pseudonym computed \
         with a random key drawn for this release only and never stored, so it links to nothing \
         outside this release; subscriber, name, e-mail, phone and ACME identifiers were \
         removed, so no two rows can be linked to one subscriber; serial numbers, DER, exact \
         times and domain names were removed; addresses were reduced to a region; every \
         combination of the released attributes occurs in at least {} rows of at least {} \
         distinct subscribers ({} rows that would have been rare were removed).\n",
        facts.achieved_k, facts.k, facts.rows_suppressed
    )
}
