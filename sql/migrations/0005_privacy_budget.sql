-- The privacy budget ledger: what every differentially private release spent, per task and
-- key, in total and per table. A task's budget is checked against the sum of its releases
-- before a new one is written, so these rows are evidence like the erasure ledger's: added,
-- never changed or removed (the triggers of 0004 refuse it, sql/roles.sql gives the tables
-- their separate owner).
CREATE TABLE IF NOT EXISTS certanon.dp_releases (
    run_id       text PRIMARY KEY REFERENCES certanon.runs (run_id),
    task         text NOT NULL,
    key_id       text NOT NULL,
    -- Keyed digest of the release's inputs; a retry of one release has the same and spends 0.
    release      text NOT NULL,
    window_first text NOT NULL,
    window_last  text NOT NULL,
    mechanism    text NOT NULL,
    epsilon      numeric NOT NULL CHECK (epsilon >= 0),
    repeat_of    text REFERENCES certanon.runs (run_id),
    spent_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dp_releases_task_idx ON certanon.dp_releases (task, release);

CREATE TABLE IF NOT EXISTS certanon.dp_table_spend (
    run_id      text NOT NULL REFERENCES certanon.dp_releases (run_id),
    table_name  text NOT NULL,
    epsilon     numeric NOT NULL CHECK (epsilon >= 0),
    sensitivity bigint NOT NULL CHECK (sensitivity > 0),
    PRIMARY KEY (run_id, table_name)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['dp_releases', 'dp_table_spend'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON certanon.%I', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON certanon.%I FOR EACH ROW '
                       'EXECUTE FUNCTION certanon.refuse_ledger_change()', t || '_append_only', t);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON certanon.%I', t || '_no_truncate', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON certanon.%I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION certanon.refuse_ledger_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;
