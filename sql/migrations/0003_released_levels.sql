-- The generalization level of every quasi-identifier each release published, per task, key and
-- file. Releases of a task under one key_id may only get coarser: their pseudonyms are stable,
-- so a finer level joined with an earlier release on them would undo k.
CREATE TABLE IF NOT EXISTS certanon.released_levels (
    run_id           text NOT NULL REFERENCES certanon.runs (run_id),
    task             text NOT NULL,
    key_id           text NOT NULL,
    file             text NOT NULL,
    quasi_identifier text NOT NULL,
    level            text NOT NULL,
    PRIMARY KEY (run_id, file, quasi_identifier)
);
CREATE INDEX IF NOT EXISTS released_levels_key_idx ON certanon.released_levels (task, key_id, file);
