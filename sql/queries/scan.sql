-- The one scan every output of a run comes from: a certificate with its application,
-- subscriber, ACME account and revocation, read from the contract views only. It reads only
-- the columns some output is derived from: a column the policy drops (src/policy.rs) and
-- nothing derives from is not read at all. The column order is the contract with
-- src/source.rs (`Col`); change both together.
SELECT c.certificate_id,
       c.common_name,
       c.validation_type,
       c.key_algorithm,
       c.key_size,
       c.not_before,
       c.not_after,
       c.issued_at,
       a.channel,
       a.applicant_email,
       a.approver_email,
       s.subscriber_id,
       s.kind,
       s.organization_name,
       s.person_name,
       s.email,
       s.phone,
       s.postal_code,
       s.postal_address,
       s.country,
       s.personal_data_erased_at,
       acc.acme_account_id,
       acc.contact_email,
       r.revoked_at,
       r.reason_code
  FROM certanon_src.certificates c
  JOIN certanon_src.applications a ON a.application_id = c.application_id
  JOIN certanon_src.subscribers s ON s.subscriber_id = a.subscriber_id
  LEFT JOIN certanon_src.acme_accounts acc ON acc.acme_account_id = a.acme_account_id
  LEFT JOIN certanon_src.revocations r ON r.certificate_id = c.certificate_id
