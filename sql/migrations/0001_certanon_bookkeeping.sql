-- certanon bookkeeping: the only schema the job writes to.
CREATE SCHEMA IF NOT EXISTS certanon;

-- Which migrations are applied. component is 'bookkeeping' (this schema) or 'reference'
-- (the demo/reference schema certinfo and its contract views).
CREATE TABLE IF NOT EXISTS certanon.schema_version (
    component   text        NOT NULL,
    version     integer     NOT NULL,
    name        text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
);

-- One row per task execution. Holds counts, paths and policy facts, never personal data.
CREATE TABLE IF NOT EXISTS certanon.runs (
    run_id        text PRIMARY KEY,
    task          text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('research_extract', 'aggregates', 'retention')),
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    outcome       text        NOT NULL CHECK (outcome IN ('running', 'success', 'failure', 'dry_run')),
    dry_run       boolean     NOT NULL DEFAULT false,
    snapshot      text,
    key_id        text,
    config_sha256 text,
    rows_read     bigint,
    rows_written  bigint,
    rows_suppressed bigint,
    cells_suppressed bigint,
    export_dir    text,
    error         text,
    details       jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS runs_task_started_idx ON certanon.runs (task, started_at DESC);

-- Last success per task: what `run` compares schedules against.
CREATE TABLE IF NOT EXISTS certanon.task_state (
    task              text PRIMARY KEY,
    last_success_at   timestamptz,
    last_success_run  text REFERENCES certanon.runs (run_id),
    last_attempt_at   timestamptz,
    last_outcome      text
);

-- One row per erased subject: what was erased, when and by which run. The subject is named
-- by its keyed pseudonym only.
CREATE TABLE IF NOT EXISTS certanon.erasures (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id            text        NOT NULL REFERENCES certanon.runs (run_id),
    subject_pseudonym text        NOT NULL,
    erased_at         timestamptz NOT NULL DEFAULT now(),
    batch             integer     NOT NULL,
    columns           text[]      NOT NULL
);
CREATE INDEX IF NOT EXISTS erasures_run_idx ON certanon.erasures (run_id);

-- Export directories deleted by retention.
CREATE TABLE IF NOT EXISTS certanon.export_deletions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      text        NOT NULL REFERENCES certanon.runs (run_id),
    task        text        NOT NULL,
    export_run  text        NOT NULL,
    path        text        NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
