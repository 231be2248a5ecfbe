-- Contract views: the only objects certanon reads. A deployment with its own schema replaces
-- these definitions (same view and column names, same types); every column they expose must be
-- known to certanon's policy, or the run stops naming the view and column. Serial numbers, DER,
-- key thumbprints and free-text hold reasons are deliberately not exposed.
CREATE SCHEMA IF NOT EXISTS certanon_src;

CREATE VIEW certanon_src.subscribers AS
SELECT id AS subscriber_id, kind, organization_name, person_name, person_name_kana, email, phone,
       postal_code, postal_address, country, created_at, updated_at, personal_data_erased_at
  FROM certinfo.subscribers;

CREATE VIEW certanon_src.acme_accounts AS
SELECT id AS acme_account_id, subscriber_id, contact_email, created_at, deactivated_at
  FROM certinfo.acme_accounts;

CREATE VIEW certanon_src.applications AS
SELECT id AS application_id, subscriber_id, operator_id, acme_account_id, channel, product,
       applicant_name, applicant_email, applicant_phone, approver_email, submitted_at, status
  FROM certinfo.applications;

CREATE VIEW certanon_src.certificates AS
SELECT id AS certificate_id, application_id, common_name,
       cardinality(subject_alt_names) AS san_count, subject_organization, validation_type,
       key_algorithm, key_size, signature_algorithm, not_before, not_after, issued_at,
       ct_precert_logged
  FROM certinfo.certificates;

CREATE VIEW certanon_src.revocations AS
SELECT certificate_id, revoked_at, reason_code, requested_by
  FROM certinfo.revocations;

-- Holds in force now or later; the reason text stays in the source.
CREATE VIEW certanon_src.legal_holds AS
SELECT subscriber_id, placed_at, released_at
  FROM certinfo.legal_holds;

-- The one write path certanon has into the source: erase the personal columns of the given
-- subscribers (and of their applications and ACME accounts) in one statement each. Certificate
-- rows are not touched. Subjects already erased are skipped, so a retried batch erases nothing
-- twice. Subjects under a legal hold in force now (or released only later) and subjects with a
-- pending application are skipped too: the function does not trust its caller's selection, so
-- whoever holds EXECUTE cannot erase them. (The horizon is the job's configuration, which the
-- function cannot know.) Returns the subscribers erased now and the columns that were cleared,
-- for the ledger. A deployment redefines this to say what "erase" means for its own tables,
-- keeping these refusals.
CREATE FUNCTION certanon_src.erase_subjects(subject_ids bigint[])
RETURNS TABLE (subscriber_id bigint, erased_columns text[])
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    erased bigint[];
BEGIN
    WITH e AS (
        UPDATE certinfo.subscribers s
           SET person_name = NULL, person_name_kana = NULL, email = NULL, phone = NULL,
               postal_code = NULL, postal_address = NULL,
               organization_name = CASE WHEN s.kind = 'individual' THEN NULL ELSE s.organization_name END,
               personal_data_erased_at = now(), updated_at = greatest(s.updated_at, now())
         WHERE s.id = ANY (subject_ids) AND s.personal_data_erased_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM certinfo.legal_holds h
                            WHERE h.subscriber_id = s.id
                              AND (h.released_at IS NULL OR h.released_at > now()))
           AND NOT EXISTS (SELECT 1 FROM certinfo.applications a
                            WHERE a.subscriber_id = s.id AND a.status = 'pending')
     RETURNING s.id)
    SELECT coalesce(array_agg(id), '{}') INTO erased FROM e;

    UPDATE certinfo.applications a
       SET applicant_name = NULL, applicant_email = NULL, applicant_phone = NULL, approver_email = NULL
     WHERE a.subscriber_id = ANY (erased);

    UPDATE certinfo.acme_accounts c
       SET contact_email = NULL
     WHERE c.subscriber_id = ANY (erased);

    RETURN QUERY
    SELECT id, ARRAY['subscribers.person_name', 'subscribers.person_name_kana', 'subscribers.email',
                     'subscribers.phone', 'subscribers.postal_code', 'subscribers.postal_address',
                     'subscribers.organization_name(individuals)', 'applications.applicant_name',
                     'applications.applicant_email', 'applications.applicant_phone',
                     'applications.approver_email', 'acme_accounts.contact_email']
      FROM unnest(erased) AS id;
END
$$;
REVOKE ALL ON FUNCTION certanon_src.erase_subjects(bigint[]) FROM PUBLIC;
