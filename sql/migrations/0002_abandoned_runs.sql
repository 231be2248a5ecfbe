-- A run stopped (SIGTERM) or crashed before recording its end stays `running`; the next run,
-- holding the run lock, marks it `abandoned`. The outcome check must allow that word.
ALTER TABLE certanon.runs DROP CONSTRAINT IF EXISTS runs_outcome_check;
ALTER TABLE certanon.runs ADD CONSTRAINT runs_outcome_check
    CHECK (outcome IN ('running', 'success', 'failure', 'dry_run', 'abandoned'));
