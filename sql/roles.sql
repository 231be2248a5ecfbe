-- Least-privilege role for the certanon job. Run once as a superuser or the database owner,
-- after `certanon db init --reference-schema` (or after installing your own contract views):
--
--   psql -v ON_ERROR_STOP=1 -f sql/roles.sql
--   CREATE ROLE certanon LOGIN PASSWORD '...' IN ROLE certanon_job;   -- or cert auth
--
-- The role may read the contract views, call the erase function and write its own bookkeeping
-- schema `certanon`; it has no privilege on the source tables.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'certanon_job') THEN
        CREATE ROLE certanon_job NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA certanon_src TO certanon_job;
GRANT SELECT ON ALL TABLES IN SCHEMA certanon_src TO certanon_job;
GRANT EXECUTE ON FUNCTION certanon_src.erase_subjects(bigint[]) TO certanon_job;
REVOKE ALL ON SCHEMA certinfo FROM certanon_job;

-- The job owns its bookkeeping schema, so it can run its own migrations.
ALTER SCHEMA certanon OWNER TO certanon_job;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'certanon' AND c.relkind = 'r' LOOP
        EXECUTE format('ALTER TABLE certanon.%I OWNER TO certanon_job', t.relname);
    END LOOP;
END
$$;
