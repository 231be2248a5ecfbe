-- Reference schema: the certificate-information tables a CA of this kind keeps. It ships so
-- that the demo, the tests and a new deployment have something real to run on. certanon never
-- reads these tables directly (only the contract views in certanon_src) and never writes them
-- except through certanon_src.erase_subjects().
CREATE SCHEMA IF NOT EXISTS certinfo;

-- Resellers/registrars through which certificates are ordered: businesses, not persons.
CREATE TABLE certinfo.designated_operators (
    id               bigint PRIMARY KEY,
    name             text        NOT NULL,
    corporate_number text        UNIQUE,
    created_at       timestamptz NOT NULL
);

CREATE TABLE certinfo.subscribers (
    id                bigint PRIMARY KEY,
    kind              text        NOT NULL CHECK (kind IN ('individual', 'organization')),
    organization_name text,
    person_name       text,           -- kanji (or Latin for foreign subscribers)
    person_name_kana  text,
    email             text,
    phone             text,
    postal_code       text,
    postal_address    text,
    country           text        NOT NULL DEFAULT 'JP' CHECK (country ~ '^[A-Z]{2}$'),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    personal_data_erased_at timestamptz,
    CHECK (updated_at >= created_at),
    CHECK (kind = 'individual' OR organization_name IS NOT NULL OR personal_data_erased_at IS NOT NULL)
);
CREATE INDEX subscribers_created_idx ON certinfo.subscribers (created_at);

CREATE TABLE certinfo.acme_accounts (
    id             bigint PRIMARY KEY,
    subscriber_id  bigint      NOT NULL REFERENCES certinfo.subscribers (id),
    contact_email  text,
    key_thumbprint text        NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL,
    deactivated_at timestamptz,
    CHECK (deactivated_at IS NULL OR deactivated_at >= created_at)
);
CREATE INDEX acme_accounts_subscriber_idx ON certinfo.acme_accounts (subscriber_id);

CREATE TABLE certinfo.applications (
    id              bigint PRIMARY KEY,
    subscriber_id   bigint      NOT NULL REFERENCES certinfo.subscribers (id),
    operator_id     bigint      REFERENCES certinfo.designated_operators (id),
    acme_account_id bigint      REFERENCES certinfo.acme_accounts (id),
    channel         text        NOT NULL CHECK (channel IN ('operator', 'acme', 'other')),
    product         text        NOT NULL CHECK (product IN ('DV', 'OV')),
    applicant_name  text,
    applicant_email text,
    applicant_phone text,
    approver_email  text,
    submitted_at    timestamptz NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'issued', 'rejected', 'cancelled')),
    CHECK (channel <> 'operator' OR operator_id IS NOT NULL),
    CHECK (channel <> 'acme' OR acme_account_id IS NOT NULL)
);
CREATE INDEX applications_subscriber_idx ON certinfo.applications (subscriber_id);
CREATE INDEX applications_pending_idx ON certinfo.applications (subscriber_id) WHERE status = 'pending';

CREATE TABLE certinfo.certificates (
    id                  bigint PRIMARY KEY,
    application_id      bigint      NOT NULL REFERENCES certinfo.applications (id),
    serial_number       text        NOT NULL UNIQUE CHECK (serial_number ~ '^[0-9a-f]{16,40}$'),
    common_name         text        NOT NULL,
    subject_alt_names   text[]      NOT NULL,
    subject_organization text,
    validation_type     text        NOT NULL CHECK (validation_type IN ('DV', 'OV')),
    key_algorithm       text        NOT NULL CHECK (key_algorithm IN ('RSA', 'ECDSA')),
    key_size            integer     NOT NULL CHECK (key_size IN (256, 384, 521, 2048, 3072, 4096)),
    signature_algorithm text        NOT NULL,
    not_before          timestamptz NOT NULL,
    not_after           timestamptz NOT NULL,
    issued_at           timestamptz NOT NULL,
    ct_precert_logged   boolean     NOT NULL,
    der                 bytea       NOT NULL,
    CHECK (not_after > not_before),
    CHECK (validation_type = 'DV' OR subject_organization IS NOT NULL)
);
CREATE INDEX certificates_application_idx ON certinfo.certificates (application_id);
CREATE INDEX certificates_issued_idx ON certinfo.certificates (issued_at);
CREATE INDEX certificates_not_after_idx ON certinfo.certificates (not_after);

-- RFC 5280 CRLReason codes (7 is unused by the RFC).
CREATE TABLE certinfo.revocations (
    certificate_id bigint PRIMARY KEY REFERENCES certinfo.certificates (id),
    revoked_at     timestamptz NOT NULL,
    reason_code    smallint    NOT NULL CHECK (reason_code IN (0, 1, 2, 3, 4, 5, 6, 8, 9, 10)),
    requested_by   text        NOT NULL CHECK (requested_by IN ('subscriber', 'operator', 'ca'))
);
CREATE INDEX revocations_revoked_idx ON certinfo.revocations (revoked_at);

CREATE TABLE certinfo.legal_holds (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber_id bigint      NOT NULL REFERENCES certinfo.subscribers (id),
    reason        text        NOT NULL,
    placed_at     timestamptz NOT NULL,
    released_at   timestamptz,
    CHECK (released_at IS NULL OR released_at >= placed_at)
);
CREATE INDEX legal_holds_subscriber_idx ON certinfo.legal_holds (subscriber_id);
