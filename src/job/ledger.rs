//! Run ledger, task state and erasure ledger in the bookkeeping schema `certanon`. What the
//! privacy officer reads to prove what was released and erased: counts, paths, policy facts
//! and pseudonyms — never a personal value.

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

use crate::error::{DbContext, Error, Result};
use crate::outputs::verify::Recorded;

/// A new run id: sortable by start time. Its 16 random bits can repeat within a second;
/// [`start_run`] draws again when the ledger already holds the id.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    DryRun,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::DryRun => "dry_run",
        }
    }
}

/// Counts a task reports when it ends.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub rows_read: u64,
    pub rows_written: u64,
    pub(crate) rows_suppressed: u64,
    pub(crate) cells_suppressed: u64,
    pub(crate) export_dir: Option<String>,
    pub(crate) snapshot: Option<String>,
    pub(crate) key_id: Option<String>,
    pub details: serde_json::Value,
}

/// Records a run's start and returns the run id it is recorded under: `run_id`, or a fresh id
/// with the same start time when another run already holds it. Ids carry only 16 random bits,
/// so two runs started in the same second can draw the same one. Dry runs record nothing, so a
/// recorded run is never one.
pub async fn start_run(
    client: &impl GenericClient,
    run_id: &str,
    task: &str,
    kind: &str,
    config_sha256: &str,
    started: DateTime<Utc>,
) -> Result<String> {
    const ATTEMPTS: usize = 16;
    let mut id = run_id.to_owned();
    for attempt in 1..=ATTEMPTS {
        let inserted = client
            .execute(
                "INSERT INTO certanon.runs (run_id, task, kind, started_at, outcome, dry_run, config_sha256) \
                 VALUES ($1, $2, $3, $4, 'running', false, $5) ON CONFLICT (run_id) DO NOTHING",
                &[&id, &task, &kind, &started, &config_sha256],
            )
            .await
            .during("recording the start of a run")?;
        if inserted == 1 {
            break;
        }
        if attempt == ATTEMPTS {
            return Err(Error::Other(format!(
                "recording the start of a run: {ATTEMPTS} run ids for {} were all taken",
                started.format("%Y-%m-%dT%H:%M:%SZ")
            )));
        }
        id = new_run_id(started);
    }
    client
        .execute(
            "INSERT INTO certanon.task_state (task, last_attempt_at) VALUES ($1, $2) \
             ON CONFLICT (task) DO UPDATE SET last_attempt_at = excluded.last_attempt_at",
            &[&task, &started],
        )
        .await
        .during("recording the task's attempt")?;
    Ok(id)
}

/// Marks runs still `running` as `abandoned`: their process was stopped or crashed before it
/// recorded an end. Only sound under the run lock, which no other run then holds, so none of
/// them is still going. A task whose last attempt was such a run shows `abandoned` in `status`.
/// Returns how many runs were marked.
pub(crate) async fn abandon_stale_runs(client: &impl GenericClient) -> Result<u64> {
    close_running(
        client,
        "abandoned",
        "stopped or crashed before recording its end; marked by a later run",
    )
    .await
}

/// Records the runs of this process still `running` as failed by `cause` (a signal stopped
/// them). Only sound under the run lock, like `abandon_stale_runs`.
pub(crate) async fn fail_running(client: &impl GenericClient, cause: &str) -> Result<u64> {
    close_running(client, Outcome::Failure.as_str(), cause).await
}

/// Closes every run still `running` with `outcome` and `error`, and the task states whose
/// last attempt it was; returns how many.
async fn close_running(client: &impl GenericClient, outcome: &str, error: &str) -> Result<u64> {
    let row = client
        .query_one(
            "WITH closed AS ( \
                 UPDATE certanon.runs SET outcome = $1, error = $2, finished_at = now() \
                  WHERE outcome = 'running' RETURNING task, started_at), \
             state AS ( \
                 UPDATE certanon.task_state s SET last_outcome = $1 \
                   FROM closed c WHERE s.task = c.task AND s.last_attempt_at = c.started_at) \
             SELECT count(*) FROM closed",
            &[&outcome, &error],
        )
        .await
        .during("closing the runs left running")?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// Records how a run ended; a success also becomes the task's last success, which `run`
/// compares schedules against. `error` must be free of personal data (errors are, by design).
pub async fn finish_run(
    client: &impl GenericClient,
    run_id: &str,
    task: &str,
    outcome: Outcome,
    stats: &RunStats,
    error: Option<&str>,
    started: DateTime<Utc>,
) -> Result<()> {
    let n = |v: u64| v as i64;
    client
        .execute(
            "UPDATE certanon.runs SET finished_at = now(), outcome = $2, snapshot = $3, key_id = $4, \
                    rows_read = $5, rows_written = $6, rows_suppressed = $7, cells_suppressed = $8, \
                    export_dir = $9, error = $10, details = $11 \
              WHERE run_id = $1",
            &[
                &run_id,
                &outcome.as_str(),
                &stats.snapshot,
                &stats.key_id,
                &n(stats.rows_read),
                &n(stats.rows_written),
                &n(stats.rows_suppressed),
                &n(stats.cells_suppressed),
                &stats.export_dir,
                &error,
                &stats.details,
            ],
        )
        .await
        .during("recording the end of a run")?;
    let success = outcome == Outcome::Success;
    client
        .execute(
            "UPDATE certanon.task_state SET last_outcome = $2, \
                    last_success_at = CASE WHEN $3 THEN $4 ELSE last_success_at END, \
                    last_success_run = CASE WHEN $3 THEN $1 ELSE last_success_run END \
              WHERE task = $5",
            &[&run_id, &outcome.as_str(), &success, &started, &task],
        )
        .await
        .during("recording the task's outcome")?;
    Ok(())
}

/// When the task last succeeded (its start time), if ever.
pub(crate) async fn last_success(
    client: &impl GenericClient,
    task: &str,
) -> Result<Option<DateTime<Utc>>> {
    let row = client
        .query_opt(
            "SELECT last_success_at FROM certanon.task_state WHERE task = $1",
            &[&task],
        )
        .await
        .during("reading the task state")?;
    Ok(row.and_then(|r| r.get(0)))
}

/// One task's line in `certanon status`.
#[derive(Debug, Clone)]
pub(crate) struct TaskStatus {
    pub(crate) last_success_at: Option<DateTime<Utc>>,
    pub(crate) last_attempt_at: Option<DateTime<Utc>>,
    pub(crate) last_outcome: Option<String>,
    pub(crate) last_error: Option<String>,
}

pub(crate) async fn task_status(client: &impl GenericClient, task: &str) -> Result<TaskStatus> {
    let row = client
        .query_opt(
            "SELECT s.last_success_at, s.last_attempt_at, s.last_outcome, \
                    (SELECT error FROM certanon.runs r WHERE r.task = s.task ORDER BY started_at DESC LIMIT 1) \
               FROM certanon.task_state s WHERE s.task = $1",
            &[&task],
        )
        .await
        .during("reading the task state")?;
    Ok(TaskStatus {
        last_success_at: row.as_ref().and_then(|r| r.get(0)),
        last_attempt_at: row.as_ref().and_then(|r| r.get(1)),
        last_outcome: row.as_ref().and_then(|r| r.get(2)),
        last_error: row.as_ref().and_then(|r| r.get(3)),
    })
}

/// Records the erasure of one batch of subjects, named by pseudonym, in the batch's transaction.
pub(crate) async fn record_erasures(
    client: &impl GenericClient,
    run_id: &str,
    batch: i32,
    erased: &[(String, Vec<String>)],
) -> Result<()> {
    let pseudonyms: Vec<&str> = erased.iter().map(|(p, _)| p.as_str()).collect();
    let columns: Vec<String> = erased.iter().map(|(_, c)| c.join(",")).collect();
    client
        .execute(
            "INSERT INTO certanon.erasures (run_id, subject_pseudonym, batch, columns) \
             SELECT $1, p, $2, string_to_array(c, ',') FROM unnest($3::text[], $4::text[]) AS u(p, c)",
            &[&run_id, &batch, &pseudonyms, &columns],
        )
        .await
        .during("recording erasures")?;
    Ok(())
}

pub(crate) async fn record_export_deletion(
    client: &impl GenericClient,
    run_id: &str,
    task: &str,
    export_run: &str,
    path: &str,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO certanon.export_deletions (run_id, task, export_run, path) VALUES ($1, $2, $3, $4)",
            &[&run_id, &task, &export_run, &path],
        )
        .await
        .during("recording an export deletion")?;
    Ok(())
}

/// The levels earlier releases of `task` under `key_id` published in `file`, as
/// (quasi-identifier, level) pairs.
pub(crate) async fn released_levels(
    client: &impl GenericClient,
    task: &str,
    key_id: &str,
    file: &str,
) -> Result<Vec<(String, String)>> {
    let rows = client
        .query(
            "SELECT DISTINCT quasi_identifier, level FROM certanon.released_levels \
              WHERE task = $1 AND key_id = $2 AND file = $3",
            &[&task, &key_id, &file],
        )
        .await
        .during("reading the released levels")?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// What the schema recorded for the extract `file` of run `run_id`: its own levels, and those of
/// the runs of its task under its key that started before it (all of them when the run is
/// unknown here).
pub(crate) async fn recorded_levels(
    client: &impl GenericClient,
    task: &str,
    key_id: &str,
    file: &str,
    run_id: &str,
) -> Result<Recorded> {
    let rows = client
        .query(
            "SELECT l.run_id = $4, l.quasi_identifier, l.level \
               FROM certanon.released_levels l JOIN certanon.runs r USING (run_id) \
              WHERE l.task = $1 AND l.key_id = $2 AND l.file = $3 \
                AND (l.run_id = $4 OR r.started_at < coalesce( \
                     (SELECT started_at FROM certanon.runs WHERE run_id = $4), 'infinity'))",
            &[&task, &key_id, &file, &run_id],
        )
        .await
        .during("reading the recorded levels")?;
    let mut recorded = Recorded::default();
    for row in rows {
        let pair = (row.get(1), row.get(2));
        if row.get(0) {
            recorded.own.push(pair);
        } else {
            recorded.earlier.push(pair);
        }
    }
    Ok(recorded)
}

/// Records the levels a committed release published, so later releases under its key stay at
/// least as coarse.
pub(crate) async fn record_levels(
    client: &impl GenericClient,
    run_id: &str,
    task: &str,
    key_id: &str,
    file: &str,
    levels: &[(String, String)],
) -> Result<()> {
    let (names, values): (Vec<&str>, Vec<&str>) =
        levels.iter().map(|(q, l)| (q.as_str(), l.as_str())).unzip();
    client
        .execute(
            "INSERT INTO certanon.released_levels (run_id, task, key_id, file, quasi_identifier, level) \
             SELECT $1, $2, $3, $4, q, l FROM unnest($5::text[], $6::text[]) AS u(q, l)",
            &[&run_id, &task, &key_id, &file, &names, &values],
        )
        .await
        .during("recording the released levels")?;
    Ok(())
}
