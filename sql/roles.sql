-- Least-privilege roles for the certanon job. Run once as a superuser or the database owner,
-- after `certanon db init --reference-schema` (or after installing your own contract views),
-- and again after each `certanon db init` that applied a migration:
--
--   psql -v ON_ERROR_STOP=1 -f sql/roles.sql
--   CREATE ROLE certanon LOGIN PASSWORD '...' IN ROLE certanon_job;   -- or cert auth
--
-- certanon_job may read the contract views, call the erase function and write its own
-- bookkeeping schema `certanon`; it has no privilege on the source tables. certanon_owner
-- (no login) owns the schema and the erasure, export-deletion and privacy-budget ledgers: the
-- job may add rows to those and read them, never change, delete or drop them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'certanon_job') THEN
        CREATE ROLE certanon_job NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'certanon_owner') THEN
        CREATE ROLE certanon_owner NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA certanon_src TO certanon_job;
GRANT SELECT ON ALL TABLES IN SCHEMA certanon_src TO certanon_job;
GRANT EXECUTE ON FUNCTION certanon_src.erase_subjects(bigint[]) TO certanon_job;
REVOKE ALL ON SCHEMA certinfo FROM certanon_job;

-- The job owns its other bookkeeping tables and may create new ones, so it can run its own
-- migrations; a schema owner could drop any table in it, so the schema is certanon_owner's.
ALTER SCHEMA certanon OWNER TO certanon_owner;
GRANT USAGE, CREATE ON SCHEMA certanon TO certanon_job;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'certanon' AND c.relkind = 'r' LOOP
        IF t.relname IN ('erasures', 'export_deletions', 'dp_releases', 'dp_table_spend') THEN
            EXECUTE format('ALTER TABLE certanon.%I OWNER TO certanon_owner', t.relname);
            EXECUTE format('REVOKE ALL ON certanon.%I FROM certanon_job', t.relname);
            EXECUTE format('GRANT SELECT, INSERT ON certanon.%I TO certanon_job', t.relname);
        ELSE
            EXECUTE format('ALTER TABLE certanon.%I OWNER TO certanon_job', t.relname);
        END IF;
    END LOOP;
END
$$;
ALTER FUNCTION certanon.refuse_ledger_change() OWNER TO certanon_owner;
