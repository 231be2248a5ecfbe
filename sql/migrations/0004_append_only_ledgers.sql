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

DROP TRIGGER IF EXISTS erasures_append_only ON certanon.erasures;
CREATE TRIGGER erasures_append_only BEFORE UPDATE OR DELETE ON certanon.erasures
    FOR EACH ROW EXECUTE FUNCTION certanon.refuse_ledger_change();
DROP TRIGGER IF EXISTS erasures_no_truncate ON certanon.erasures;
CREATE TRIGGER erasures_no_truncate BEFORE TRUNCATE ON certanon.erasures
    FOR EACH STATEMENT EXECUTE FUNCTION certanon.refuse_ledger_change();

DROP TRIGGER IF EXISTS export_deletions_append_only ON certanon.export_deletions;
CREATE TRIGGER export_deletions_append_only BEFORE UPDATE OR DELETE ON certanon.export_deletions
    FOR EACH ROW EXECUTE FUNCTION certanon.refuse_ledger_change();
DROP TRIGGER IF EXISTS export_deletions_no_truncate ON certanon.export_deletions;
CREATE TRIGGER export_deletions_no_truncate BEFORE TRUNCATE ON certanon.export_deletions
    FOR EACH STATEMENT EXECUTE FUNCTION certanon.refuse_ledger_change();
