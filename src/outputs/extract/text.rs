//! The research extract's data dictionary and public notice, generated from what was released.

use super::ExtractFacts;
use crate::transform::generalize::Quasi;

/// The public notice an anonymous release carries (APPI: the items the data holds and how it
/// was processed).
pub(crate) const NOTICE: &str = "PUBLIC_NOTICE.md";

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
         {}\n\n\
         | column | type | meaning | privacy rule |\n|---|---|---|---|\n",
        facts.rows_written,
        facts.rows_suppressed,
        subject_summary(facts),
    );
    let pseudonym_meaning = [
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
    for (name, meaning, rule) in pseudonym_meaning
        .into_iter()
        .filter(|(name, ..)| facts.pseudonym_columns.iter().any(|c| c == name))
    {
        out.push_str(&format!("| `{name}` | pseudonym | {meaning} | {rule} |\n"));
    }
    for (q, (_, level)) in Quasi::ALL.iter().zip(&facts.levels) {
        let meaning = match q {
            Quasi::SubscriberKind => "individual or organization",
            Quasi::Region => {
                "where the subscriber is: two-digit JIS X 0401 prefecture code, ISO 3166 country code abroad, or a coarser level; the postal address itself is not released"
            }
            Quasi::Channel => "how the certificate was ordered: operator, acme, other",
            Quasi::ValidationType => "DV or OV",
            Quasi::Issued => {
                "when the certificate was issued (month, quarter or year; exact times are not released)"
            }
            Quasi::Validity => {
                "validity period bucket on the CA/Browser Forum limits (<=47d, <=100d, <=200d, <=398d, >398d)"
            }
            Quasi::KeyType => "public key algorithm and size",
            Quasi::DomainClass => {
                "class of the common name's domain (co.jp, ac.jp, go.jp, or.jp, ne.jp, gr.jp, ed.jp, lg.jp, general.jp, prefecture.jp, other); the name itself is not released"
            }
            Quasi::Revocation => "not_revoked or the RFC 5280 revocation reason",
        };
        out.push_str(&format!(
            "| `{}` | text | {meaning}; released at level `{level}` | quasi-identifier, generalized; every combination of quasi-identifiers occurs in at least k = {} rows from at least k distinct subscribers (k-anonymity) |\n",
            q.name(),
            facts.achieved_k.max(1),
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
