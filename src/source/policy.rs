//! The allow-list: how every column of the contract views is treated. Privacy by default: a
//! column this table does not know — a schema change upstream — stops the run before anything
//! is written (exit 78, naming the view and column), so nothing new leaks because someone added
//! a column to a view.

use tokio_postgres::GenericClient;

use crate::error::{DbContext, Error, Result};

/// What happens to a source column on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Replaced by a keyed pseudonym of this class (see `pseudonymize::Class`).
    Pseudonymize(&'static str),
    /// Replaced by a coarser value (the text says into what).
    Generalize(&'static str),
    /// Released as it is: a code list with no personal content.
    Keep,
    /// Never leaves the database (read only to derive or decide, or not read at all).
    Drop,
}

pub struct ColumnPolicy {
    pub view: &'static str,
    pub column: &'static str,
    pub treatment: Treatment,
}

const fn c(view: &'static str, column: &'static str, treatment: Treatment) -> ColumnPolicy {
    ColumnPolicy {
        view,
        column,
        treatment,
    }
}

use Treatment::{Drop, Generalize, Keep, Pseudonymize};

/// Every column of every contract view in `certanon_src`.
pub const POLICY: &[ColumnPolicy] = &[
    c("subscribers", "subscriber_id", Pseudonymize("subscriber")),
    c("subscribers", "kind", Keep),
    c(
        "subscribers",
        "organization_name",
        Pseudonymize("organization"),
    ),
    c("subscribers", "person_name", Pseudonymize("person")),
    c("subscribers", "person_name_kana", Drop),
    c("subscribers", "email", Pseudonymize("email")),
    c("subscribers", "phone", Pseudonymize("phone")),
    c(
        "subscribers",
        "postal_code",
        Generalize("prefecture (JIS X 0401) when the address has none"),
    ),
    c(
        "subscribers",
        "postal_address",
        Generalize("prefecture (JIS X 0401)"),
    ),
    c(
        "subscribers",
        "country",
        Generalize("region: prefecture for Japan, country code abroad"),
    ),
    c("subscribers", "created_at", Drop),
    c("subscribers", "updated_at", Drop),
    c(
        "subscribers",
        "personal_data_erased_at",
        Generalize("pseudonyms of erased subjects become `erased`"),
    ),
    c(
        "acme_accounts",
        "acme_account_id",
        Pseudonymize("acme_account"),
    ),
    c("acme_accounts", "subscriber_id", Drop),
    c("acme_accounts", "contact_email", Pseudonymize("email")),
    c("acme_accounts", "created_at", Drop),
    c("acme_accounts", "deactivated_at", Drop),
    c("applications", "application_id", Drop),
    c("applications", "subscriber_id", Drop),
    c("applications", "operator_id", Drop),
    c("applications", "acme_account_id", Drop),
    c("applications", "channel", Keep),
    c("applications", "product", Drop),
    c("applications", "applicant_name", Drop),
    c("applications", "applicant_email", Pseudonymize("email")),
    c("applications", "applicant_phone", Drop),
    c("applications", "approver_email", Pseudonymize("email")),
    c("applications", "submitted_at", Drop),
    c("applications", "status", Drop),
    c(
        "certificates",
        "certificate_id",
        Pseudonymize("certificate"),
    ),
    c("certificates", "application_id", Drop),
    c("certificates", "common_name", Generalize("domain class")),
    c("certificates", "san_count", Drop),
    c("certificates", "subject_organization", Drop),
    c("certificates", "validation_type", Keep),
    c(
        "certificates",
        "key_algorithm",
        Generalize("key type (algorithm and size)"),
    ),
    c(
        "certificates",
        "key_size",
        Generalize("key type (algorithm and size)"),
    ),
    c("certificates", "signature_algorithm", Drop),
    c("certificates", "not_before", Generalize("validity bucket")),
    c(
        "certificates",
        "not_after",
        Generalize("validity bucket; retention horizon"),
    ),
    c("certificates", "issued_at", Generalize("month")),
    c("certificates", "ct_precert_logged", Drop),
    c("revocations", "certificate_id", Drop),
    c(
        "revocations",
        "revoked_at",
        Generalize("month (aggregates only)"),
    ),
    c("revocations", "reason_code", Keep),
    c("revocations", "requested_by", Drop),
    c("legal_holds", "subscriber_id", Drop),
    c("legal_holds", "placed_at", Drop),
    c("legal_holds", "released_at", Drop),
];

pub(crate) fn lookup(view: &str, column: &str) -> Option<&'static ColumnPolicy> {
    POLICY.iter().find(|p| p.view == view && p.column == column)
}

/// Checks the live contract views against the policy: every column they expose must be
/// classified, and every column the policy (and so the scan) relies on must exist. Runs before
/// anything is read or written.
pub(crate) async fn check_contract(client: &impl GenericClient) -> Result<()> {
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
              WHERE table_schema = 'certanon_src' ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .during("reading the contract views' columns")?;
    let live: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    if let Some((view, column)) = live.iter().find(|(v, c)| lookup(v, c).is_none()) {
        return Err(Error::Contract(format!(
            "view certanon_src.{view} has column {column}, which the privacy policy does not \
             classify; remove it from the view or classify it in src/source/policy.rs"
        )));
    }
    if let Some(p) = POLICY
        .iter()
        .find(|p| !live.iter().any(|(v, c)| v == p.view && c == p.column))
    {
        return Err(Error::Contract(format!(
            "view certanon_src.{} lacks column {} that certanon reads (is the view installed?)",
            p.view, p.column
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scanned_column_is_classified() {
        // Each `x.column` in the scan query must be in the policy.
        let scan = crate::source::SCAN_SQL;
        let views = [
            ("c", "certificates"),
            ("a", "applications"),
            ("s", "subscribers"),
            ("acc", "acme_accounts"),
            ("r", "revocations"),
        ];
        let mut seen = 0;
        for token in scan.split(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '.')) {
            if let Some((alias, column)) = token.split_once('.')
                && let Some((_, view)) = views.iter().find(|(a, _)| *a == alias)
            {
                assert!(
                    lookup(view, column).is_some(),
                    "{view}.{column} not in POLICY"
                );
                seen += 1;
            }
        }
        assert!(
            seen >= crate::source::NCOLS,
            "parsed only {seen} columns from the scan"
        );
    }

    #[test]
    fn no_column_is_listed_twice() {
        for (i, p) in POLICY.iter().enumerate() {
            assert!(
                POLICY[i + 1..]
                    .iter()
                    .all(|q| (q.view, q.column) != (p.view, p.column)),
                "{}.{}",
                p.view,
                p.column
            );
        }
    }
}
