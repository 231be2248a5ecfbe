//! Runs tasks: under the run lock, checks the bookkeeping schema and the contract, runs what is
//! due (one scan per pseudonymization key for the exporting tasks, then retention) and records
//! every outcome in the ledger. A task's failure is recorded and the others go on; the run
//! exits non-zero at the end.

pub(crate) mod budget;
mod due;
pub mod ledger;
mod lock;
pub(crate) mod metrics;
mod progress;
mod publish;
pub mod retention;
pub(crate) mod scan;
pub mod schedule;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use crate::config::{Config, TaskConfig, TaskKind};
use crate::db::{self, ConnectOptions};
use crate::error::{Error, Result};
use crate::source::policy;
use crate::transform::pseudonymize::{Key, Pseudonymizer};
use due::{check_task_names, due_tasks, needs_managed_key, scan_groups};
use ledger::{Outcome, RunStats};
pub use lock::{LOCK_KEY, acquire_lock, release_lock};
use publish::ScanGroup;

/// One thread: the work that needs cores runs on rayon's pool and plain threads, and the
/// scan's COPY stream is read where it is decoded, without a hand-off between threads.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Tasks named on the command line; all configured tasks when empty.
    pub tasks: Vec<String>,
    pub force: bool,
    pub dry_run: bool,
    /// Confirms a retention run erasing up to this many subjects, beyond `max_erase_per_run`.
    pub confirm_erase: Option<u64>,
}

/// How one task ended, for the summary line and the exit code.
#[derive(Debug, Clone)]
pub(crate) struct TaskReport {
    pub(crate) task: String,
    pub(crate) kind: TaskKind,
    pub(crate) run_id: String,
    pub(crate) outcome: Outcome,
    pub(crate) stats: RunStats,
    pub(crate) files: usize,
    pub(crate) duration: Duration,
    pub(crate) error: Option<String>,
    /// The exit code of the error the task failed with.
    pub(crate) code: i32,
}

/// One `certanon run`: lock, check the contract, run what is due, record, unlock.
pub(crate) async fn run_once(
    config: &Config,
    connect: &ConnectOptions,
    opts: &RunOptions,
) -> Result<Vec<TaskReport>> {
    run_until(config, connect, opts, std::future::pending()).await
}

/// `run_once`, abandoned when `stop` ends first (a signal): the exports being written are
/// dropped unpublished, and the tasks that were running are recorded as failed by its error.
pub(crate) async fn run_until(
    config: &Config,
    connect: &ConnectOptions,
    opts: &RunOptions,
    stop: impl Future<Output = Error>,
) -> Result<Vec<TaskReport>> {
    // A misspelt task name is a usage error, and a bad key file a configuration problem
    // (exit 78), whether or not the database answers: both are found before connecting.
    check_task_names(config, &opts.tasks)?;
    let managed = load_managed_key(config, opts)?;
    let mut lock = db::connect(connect).await?;
    acquire_lock(&lock).await?;
    let result = tokio::select! {
        result = run_locked(config, connect, opts, managed.as_ref(), &mut lock) => result,
        stopped = stop => Err(stopped),
    };
    if let Err(e @ Error::Stopped { .. }) = &result
        && let Err(not_recorded) = ledger::fail_running(&lock, &e.to_string()).await
    {
        tracing::error!("{not_recorded}");
    }
    release_lock(&lock).await;
    result
}

/// The managed key, when any task this run may start needs it (whether or not it turns out to
/// be due).
fn load_managed_key(config: &Config, opts: &RunOptions) -> Result<Option<Key>> {
    let may_run = |t: &&TaskConfig| opts.tasks.is_empty() || opts.tasks.contains(&t.name);
    if config.tasks.values().filter(may_run).any(needs_managed_key) {
        Key::load(&config.keys.hmac_key_file, &config.keys.key_id).map(Some)
    } else {
        Ok(None)
    }
}

/// The body of a run, while `lock`'s session holds the run lock.
async fn run_locked(
    config: &Config,
    connect: &ConnectOptions,
    opts: &RunOptions,
    managed: Option<&Key>,
    lock: &mut Client,
) -> Result<Vec<TaskReport>> {
    require_bookkeeping(lock).await?;
    policy::check_contract(lock).await?;
    // We hold the lock, so a run still `running` in the ledger is a stopped or crashed one's.
    if !opts.dry_run {
        let abandoned = ledger::abandon_stale_runs(lock).await?;
        if abandoned > 0 {
            tracing::warn!(
                runs = abandoned,
                "runs that ended without recording their outcome marked abandoned"
            );
        }
    }
    let now = Utc::now();
    let tasks = due_tasks(config, lock, opts, now).await?;
    // A redirected or shared export directory is a deployment mistake (exit 78), found before
    // any task writes there.
    crate::outputs::export::check_dir(&config.export.root)?;
    for task in config.tasks.values() {
        crate::outputs::export::check_dir(&config.export.root.join(&task.name))?;
    }
    // We hold the lock, so hidden spill directories at the export root are a crashed run's; a
    // dry run deletes nothing, not even those.
    if !opts.dry_run {
        crate::outputs::export::remove_leftovers(&config.export.root)?;
    }
    if tasks.is_empty() {
        tracing::info!("no task is due");
        return Ok(Vec::new());
    }
    let mut reports = Vec::new();
    for group in scan_groups(&tasks) {
        let group = ScanGroup {
            config,
            connect,
            tasks: &group,
            managed,
            dry_run: opts.dry_run,
            started: Utc::now(),
        };
        reports.extend(run_scan_group(&group, lock).await);
    }
    let pseudonymizer = managed.map(Pseudonymizer::new);
    for task in tasks
        .iter()
        .filter(|t| matches!(t.kind, TaskKind::Retention { .. }))
    {
        reports.push(run_retention(config, lock, task, pseudonymizer.as_ref(), opts).await);
    }
    for r in &reports {
        r.log_summary();
    }
    Ok(reports)
}

/// Turns the reports into the run's result: an error naming the failed tasks, if any, whose
/// exit code is 78 when a task failed on a configuration problem (an operator must act), else
/// 69 when one lost the database, else 1.
pub(crate) fn check_reports(reports: &[TaskReport]) -> Result<()> {
    let failed: Vec<&TaskReport> = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Failure)
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    use crate::error::exit;
    let code = [exit::CONFIG, exit::UNAVAILABLE]
        .into_iter()
        .find(|&code| failed.iter().any(|r| r.code == code))
        .unwrap_or(exit::FAILURE);
    Err(Error::TasksFailed {
        failed: failed.len(),
        total: reports.len(),
        names: failed
            .iter()
            .map(|r| r.task.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        code,
    })
}

async fn require_bookkeeping(client: &Client) -> Result<()> {
    let found = db::recorded_version(client, "bookkeeping").await?;
    let needed = db::bookkeeping_version();
    match found {
        0 => Err(Error::Contract(
            "the bookkeeping schema `certanon` is not installed: run `certanon db init`".into(),
        )),
        v if v < needed => Err(Error::Contract(format!(
            "the bookkeeping schema `certanon` is at version {v}, this certanon needs {needed}: \
             run `certanon db init`"
        ))),
        _ => Ok(()),
    }
}

/// Runs one scan group's tasks and records them in the ledger on `client`, each task's end as
/// soon as it is known.
async fn run_scan_group(group: &ScanGroup<'_>, client: &Client) -> Vec<TaskReport> {
    let clock = Instant::now();
    let mut reports: Vec<TaskReport> = group
        .tasks
        .iter()
        .map(|t| TaskReport::start(t, ledger::new_run_id(group.started), group.dry_run))
        .collect();
    if !group.dry_run {
        for started in 0..reports.len() {
            if let Err(e) = reports[started]
                .record_start(client, group.config, group.started)
                .await
            {
                // Tasks whose start is recorded get their end too, so none stays `running`.
                for (i, r) in reports.iter_mut().enumerate() {
                    r.fail(&e, clock);
                    if i < started {
                        r.record_end(client, group.started).await;
                    }
                }
                return reports;
            }
        }
    }
    let record = async |r: &mut TaskReport| {
        if !group.dry_run {
            r.record_end(client, group.started).await;
        }
    };
    // Only the scan fails before any task ends: then it is every task's failure.
    if let Err(e) = group
        .scan_and_publish(&mut reports, client, clock, record)
        .await
    {
        for r in &mut reports {
            r.fail(&e, clock);
            record(r).await;
        }
    }
    reports
}

async fn run_retention(
    config: &Config,
    client: &mut Client,
    task: &TaskConfig,
    pseudonymizer: Option<&Pseudonymizer>,
    opts: &RunOptions,
) -> TaskReport {
    let dry_run = opts.dry_run;
    let started = Utc::now();
    let clock = Instant::now();
    let mut report = TaskReport::start(task, ledger::new_run_id(started), dry_run);
    let result = async {
        if !dry_run {
            report.record_start(&*client, config, started).await?;
        }
        let pseudonymizer =
            pseudonymizer.ok_or_else(|| Error::Other("the managed key was not loaded".into()))?;
        retention::run(retention::Retention {
            client: &mut *client,
            config,
            task,
            run_id: &report.run_id,
            dry_run,
            now: started,
            pseudonymizer,
            confirm_erase: opts.confirm_erase,
        })
        .await
    }
    .await;
    match result {
        Ok(stats) => report.stats = stats,
        Err(e) => report.fail(&e, clock),
    }
    report.duration = clock.elapsed();
    if !dry_run {
        report.record_end(&*client, started).await;
    }
    report
}

impl TaskReport {
    /// A task's report as it starts: it succeeds (or is a dry run) unless something fails.
    fn start(task: &TaskConfig, run_id: String, dry_run: bool) -> TaskReport {
        TaskReport {
            task: task.name.clone(),
            kind: task.kind.clone(),
            run_id,
            outcome: if dry_run {
                Outcome::DryRun
            } else {
                Outcome::Success
            },
            stats: RunStats::default(),
            files: 0,
            duration: Duration::ZERO,
            error: None,
            code: crate::error::exit::SUCCESS,
        }
    }

    fn fail(&mut self, e: &Error, clock: Instant) {
        self.outcome = Outcome::Failure;
        self.error = Some(e.to_string());
        self.code = e.exit_code();
        self.duration = clock.elapsed();
    }

    /// Writes the task's start to the ledger, under a fresh run id if its own is taken.
    async fn record_start(
        &mut self,
        ledger: &Client,
        config: &Config,
        started: DateTime<Utc>,
    ) -> Result<()> {
        self.run_id = ledger::start_run(
            ledger,
            &self.run_id,
            &self.task,
            self.kind.as_str(),
            &config.sha256,
            started,
        )
        .await?;
        Ok(())
    }

    /// Writes how the task ended to the ledger; a task whose end cannot be recorded has failed.
    async fn record_end(&mut self, ledger: &Client, started: DateTime<Utc>) {
        let recorded = ledger::finish_run(
            ledger,
            &self.run_id,
            &self.task,
            self.outcome,
            &self.stats,
            self.error.as_deref(),
            started,
        )
        .await;
        if let Err(e) = recorded {
            tracing::error!(task = %self.task, "{e}");
            self.outcome = Outcome::Failure;
        }
    }

    fn log_summary(&self) {
        let s = &self.stats;
        let kind = self.kind.as_str();
        let duration_ms = self.duration.as_millis() as u64;
        match (&self.error, &self.kind) {
            (Some(e), _) => {
                tracing::error!(task = %self.task, kind, run_id = %self.run_id, error = %e, "task failed")
            }
            // Retention reads subjects and erases some (none in report mode): its own words, so a
            // report is never summarised as an erasure.
            (None, TaskKind::Retention { .. }) => {
                let detail = |key: &str| s.details[key].as_u64().unwrap_or(0);
                tracing::info!(
                    task = %self.task,
                    kind,
                    run_id = %self.run_id,
                    outcome = self.outcome.as_str(),
                    mode = s.details["mode"].as_str().unwrap_or("-"),
                    subjects_eligible = s.rows_read,
                    subjects_erased = s.rows_written,
                    exports_expired = detail("exports_expired"),
                    exports_deleted = detail("exports_deleted"),
                    duration_ms,
                    "task finished"
                )
            }
            (None, TaskKind::Aggregates | TaskKind::ResearchExtract { .. }) => tracing::info!(
                task = %self.task,
                kind,
                run_id = %self.run_id,
                outcome = self.outcome.as_str(),
                rows_read = s.rows_read,
                rows_written = s.rows_written,
                rows_suppressed = s.rows_suppressed,
                cells_suppressed = s.cells_suppressed,
                files = self.files,
                duration_ms,
                export = s.export_dir.as_deref().unwrap_or("-"),
                "task finished"
            ),
        }
    }
}
