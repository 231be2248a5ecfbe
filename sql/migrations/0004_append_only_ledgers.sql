-- The erasure and export-deletion ledgers are evidence: rows are added, never changed or
-- removed. These triggers refuse UPDATE, DELETE and TRUNCATE for every role; sql/roles.sql
-- gives the tables a separate owner, so the job role cannot drop or disable them either.
CREATE OR REPLACE FUNCTION certanon.refuse_ledger_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'certanon.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['erasures', 'export_deletions'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON certanon.%I', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON certanon.%I FOR EACH ROW '
                       'EXECUTE FUNCTION certanon.refuse_ledger_change()', t || '_append_only', t);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON certanon.%I', t || '_no_truncate', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON certanon.%I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION certanon.refuse_ledger_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;
