//! Runs tasks: decides what is due, holds the advisory lock, scans once per pseudonymization
//! key for all exporting tasks, publishes their exports and records every outcome in the
//! ledger; also the daemon loop. A task's failure is recorded and the others go on; the run
//! exits non-zero at the end.

pub mod ledger;
pub mod metrics;
pub mod retention;
pub mod schedule;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use crate::config::{Config, ReleaseMode, TaskConfig, TaskKind};
use crate::db::{self, ConnectOptions};
use crate::error::{DbContext, Error, Result};
use crate::outputs::aggregate::Aggregates;
use crate::outputs::export::Export;
use crate::outputs::extract::ExtractSpill;
use crate::outputs::manifest::{Manifest, PolicyFacts};
use crate::privacy;
use crate::source::policy;
use crate::source::{Batch, Snapshot};
use crate::transform::pseudonymize::{Key, Pseudonymizer};
use crate::transform::record::{Mapped, SubscriberCache, map_batch};
use ledger::{Outcome, RunStats};

/// Session-level advisory lock key: "certanon" in ASCII.
pub const LOCK_KEY: i64 = 0x6365_7274_616e_6f6e;

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
}

/// How one task ended, for the summary line and the exit code.
#[derive(Debug, Clone)]
pub struct TaskReport {
    pub task: String,
    pub kind: &'static str,
    pub run_id: String,
    pub outcome: Outcome,
    pub stats: RunStats,
    pub files: usize,
    pub duration: Duration,
    pub error: Option<String>,
}

impl TaskReport {
    /// A task's report as it starts: it succeeds (or is a dry run) unless something fails.
    fn start(task: &TaskConfig, run_id: &str, dry_run: bool) -> TaskReport {
        TaskReport {
            task: task.name.clone(),
            kind: task.kind.as_str(),
            run_id: run_id.to_string(),
            outcome: if dry_run {
                Outcome::DryRun
            } else {
                Outcome::Success
            },
            stats: RunStats::default(),
            files: 0,
            duration: Duration::ZERO,
            error: None,
        }
    }
}

/// One `certanon run`: lock, check the contract, run what is due, record, unlock.
pub async fn run_once(
    config: &Config,
    connect: &ConnectOptions,
    opts: &RunOptions,
) -> Result<Vec<TaskReport>> {
    // A misspelt task name is a usage error whether or not the database answers.
    check_task_names(config, &opts.tasks)?;
    let mut lock = db::connect(connect).await?;
    acquire_lock(&lock).await?;
    let result = run_locked(config, connect, opts, &mut lock).await;
    release_lock(&lock).await;
    result
}

/// The body of a run, while `lock`'s session holds the run lock.
async fn run_locked(
    config: &Config,
    connect: &ConnectOptions,
    opts: &RunOptions,
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
    // We hold the lock, so hidden spill directories at the export root are a crashed run's.
    crate::outputs::export::remove_leftovers(&config.export.root)?;
    if tasks.is_empty() {
        tracing::info!("no task is due");
        return Ok(Vec::new());
    }
    // A bad key file is a configuration problem (exit 78) for the whole run, found before any
    // task starts.
    let managed = if tasks.iter().any(|t| needs_managed_key(t)) {
        Some(Key::load(&config.keys.hmac_key_file, &config.keys.key_id)?)
    } else {
        None
    };
    let mut reports = Vec::new();
    for group in scan_groups(&tasks) {
        reports.extend(
            run_scan_group(
                config,
                connect,
                lock,
                &group,
                managed.as_ref(),
                opts.dry_run,
            )
            .await,
        );
    }
    let pseudonymizer = managed.as_ref().map(Pseudonymizer::new);
    for task in tasks
        .iter()
        .filter(|t| matches!(t.kind, TaskKind::Retention { .. }))
    {
        reports.push(run_retention(config, lock, task, pseudonymizer.as_ref(), opts.dry_run).await);
    }
    for r in &reports {
        log_summary(r);
    }
    Ok(reports)
}

/// Turns the reports into the run's result: an error naming the failed tasks, if any.
pub fn check_reports(reports: &[TaskReport]) -> Result<()> {
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Failure)
        .map(|r| r.task.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::TasksFailed {
            failed: failed.len(),
            total: reports.len(),
            names: failed.join(", "),
        })
    }
}

/// Takes the run lock on `client`'s session, or fails with exit 75 when another run holds it.
pub async fn acquire_lock(client: &Client) -> Result<()> {
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .during("taking the run lock")?
        .get(0);
    if got {
        Ok(())
    } else {
        Err(Error::Locked(format!(
            "PostgreSQL advisory lock {LOCK_KEY:#x}"
        )))
    }
}

/// Releases the run lock explicitly: a backend frees its session locks only once it has noticed
/// the disconnect, and a run started right after this one must not find the lock still held.
pub async fn release_lock(client: &Client) {
    if let Err(e) = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
    {
        tracing::warn!(error = %e, "could not release the run lock; it ends with the session");
    }
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

fn check_task_names(config: &Config, names: &[String]) -> Result<()> {
    for name in names {
        if !config.tasks.contains_key(name) {
            let known: Vec<&str> = config.tasks.keys().map(String::as_str).collect();
            return Err(Error::Usage(format!(
                "no task named {name:?} in {} (tasks: {})",
                config.path.display(),
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// The tasks to run now: those named, else all; without `force`, only those whose schedule
/// fired since their last success (once, however many fires were missed).
async fn due_tasks<'c>(
    config: &'c Config,
    client: &Client,
    opts: &RunOptions,
    now: DateTime<Utc>,
) -> Result<Vec<&'c TaskConfig>> {
    let mut due = Vec::new();
    for task in config.tasks.values() {
        if !opts.tasks.is_empty() && !opts.tasks.contains(&task.name) {
            continue;
        }
        let last = ledger::last_success(client, &task.name).await?;
        if opts.force || task.schedule.is_due(last, now) {
            due.push(task);
        } else {
            tracing::debug!(task = %task.name, "not due");
        }
    }
    Ok(due)
}

/// Exporting tasks grouped by the scan that serves them: the first research extract's scan
/// also feeds every aggregates task (they publish no pseudonyms, so any key serves them);
/// further extracts need their own key and so their own scan.
fn scan_groups<'c>(tasks: &[&'c TaskConfig]) -> Vec<Vec<&'c TaskConfig>> {
    let extracts: Vec<_> = tasks
        .iter()
        .copied()
        .filter(|t| matches!(t.kind, TaskKind::ResearchExtract { .. }))
        .collect();
    let aggregates: Vec<_> = tasks
        .iter()
        .copied()
        .filter(|t| matches!(t.kind, TaskKind::Aggregates))
        .collect();
    let mut groups: Vec<Vec<&TaskConfig>> = extracts.iter().map(|t| vec![*t]).collect();
    match groups.first_mut() {
        Some(first) => first.extend(aggregates),
        None if !aggregates.is_empty() => groups.push(aggregates),
        None => {}
    }
    groups
}

/// Pseudonymous extracts publish managed-key pseudonyms; retention names erased subjects with
/// them in the erasure ledger.
fn needs_managed_key(task: &TaskConfig) -> bool {
    matches!(
        task.kind,
        TaskKind::ResearchExtract {
            mode: ReleaseMode::Pseudonymous,
            ..
        } | TaskKind::Retention { .. }
    )
}

/// The key a group's scan pseudonymizes with: a research extract's (managed, per recipient, or
/// a fresh one for an anonymous release), or a throwaway key when only aggregates run.
fn group_key(
    managed: Option<&Key>,
    group: &[&TaskConfig],
    run_id: &str,
) -> Result<(Pseudonymizer, &'static str)> {
    let release_key_id = || {
        format!(
            "anon-{}",
            run_id
                .to_ascii_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        )
    };
    match group.iter().find_map(|t| match &t.kind {
        TaskKind::ResearchExtract { mode, recipient } => Some((mode, recipient)),
        _ => None,
    }) {
        Some((ReleaseMode::Anonymous, _)) => Ok((
            Pseudonymizer::new(&Key::random(&release_key_id())?),
            "anonymous",
        )),
        Some((ReleaseMode::Pseudonymous, recipient)) => {
            let key =
                managed.ok_or_else(|| Error::Other("the managed key was not loaded".into()))?;
            let pseudonymizer = match recipient {
                Some(r) => Pseudonymizer::new(&key.for_recipient(r)),
                None => Pseudonymizer::new(key),
            };
            Ok((pseudonymizer, "pseudonymous"))
        }
        None => Ok((
            Pseudonymizer::new(&Key::random(&release_key_id())?),
            "aggregates",
        )),
    }
}

async fn run_scan_group(
    config: &Config,
    connect: &ConnectOptions,
    ledger: &Client,
    group: &[&TaskConfig],
    managed: Option<&Key>,
    dry_run: bool,
) -> Vec<TaskReport> {
    let started = Utc::now();
    let clock = Instant::now();
    let run_ids: Vec<String> = group.iter().map(|_| ledger::new_run_id(started)).collect();
    let mut reports: Vec<TaskReport> = group
        .iter()
        .zip(&run_ids)
        .map(|(t, id)| TaskReport::start(t, id, dry_run))
        .collect();
    if !dry_run {
        for (t, id) in group.iter().zip(&run_ids) {
            if let Err(e) = ledger::start_run(
                ledger,
                id,
                &t.name,
                t.kind.as_str(),
                false,
                &config.sha256,
                started,
            )
            .await
            {
                return fail_all(reports, &e, clock);
            }
        }
    }
    let result = scan_and_publish(
        config,
        connect,
        group,
        managed,
        &run_ids,
        dry_run,
        started,
        &mut reports,
    )
    .await;
    if let Err(e) = &result {
        reports = fail_all(reports, e, clock);
    }
    for r in &mut reports {
        if r.duration.is_zero() {
            r.duration = clock.elapsed();
        }
        if !dry_run {
            record_end(ledger, r, started).await;
        }
    }
    reports
}

fn fail_all(mut reports: Vec<TaskReport>, e: &Error, clock: Instant) -> Vec<TaskReport> {
    for r in &mut reports {
        r.outcome = Outcome::Failure;
        r.error = Some(e.to_string());
        r.duration = clock.elapsed();
    }
    reports
}

#[allow(clippy::too_many_arguments)]
async fn scan_and_publish(
    config: &Config,
    connect: &ConnectOptions,
    group: &[&TaskConfig],
    managed: Option<&Key>,
    run_ids: &[String],
    dry_run: bool,
    started: DateTime<Utc>,
    reports: &mut [TaskReport],
) -> Result<()> {
    let (pseudonymizer, mode) = group_key(managed, group, &run_ids[0])?;
    let root = &config.export.root;
    let extract_task = group
        .iter()
        .position(|t| matches!(t.kind, TaskKind::ResearchExtract { .. }));
    // Spills live in hidden `.tmp-*` directories of the export root, not of a task's export
    // directory, whose `.tmp-*` entries `Export::begin` removes as leftovers.
    let spill_parent = root.clone();
    let sinks = Sinks {
        extract: extract_task
            .map(|_| ExtractSpill::new(&spill_parent, pseudonymizer.key_id()))
            .transpose()?,
        aggregates: group
            .iter()
            .any(|t| matches!(t.kind, TaskKind::Aggregates))
            .then(|| Aggregates::new(&spill_parent, started))
            .transpose()?,
    };
    let mut client = db::connect(connect).await?;
    let snapshot = Snapshot::begin(&mut client).await?;
    let (rows, sinks) = scan(
        &snapshot,
        pseudonymizer.clone(),
        sinks,
        config.database.yield_cpu,
    )
    .await?;
    snapshot.tx.commit().await.during("closing the snapshot")?;
    let k = u64::from(config.privacy.k);
    let policy = |key_id: &str, mode: &str| PolicyFacts {
        k,
        max_suppression: config.privacy.max_suppression,
        key_id: key_id.to_string(),
        mode: mode.to_string(),
        config_sha256: config.sha256.clone(),
    };
    let Sinks {
        mut extract,
        aggregates,
    } = sinks;
    // The statistics are finished and suppressed on their own thread while the extract
    // chooses its levels and writes.
    let mut aggregating = aggregates.map(|a| {
        std::thread::spawn(move || {
            a.finish()
                .and_then(|tables| privacy::suppress_tables(&tables, k))
        })
    });
    let mut published = None;
    for (i, task) in group.iter().enumerate() {
        let report = &mut reports[i];
        report.stats.rows_read = rows;
        report.stats.snapshot = Some(snapshot.id.clone());
        let mut export = if dry_run {
            None
        } else {
            Some(Export::begin(root, &task.name, &run_ids[i])?)
        };
        let (privacy, key_id, task_mode) = match &task.kind {
            TaskKind::ResearchExtract { .. } => {
                let spill = extract.take_once()?;
                let (facts, privacy) =
                    spill.finish(export.as_mut(), k, config.privacy.max_suppression)?;
                report.stats.rows_written = facts.rows_written;
                report.stats.rows_suppressed = facts.rows_suppressed;
                if let Some(export) = export.as_mut() {
                    export.write(
                        crate::outputs::export::DICTIONARY,
                        crate::outputs::extract::dictionary(&facts, mode).as_bytes(),
                    )?;
                    if mode == "anonymous" {
                        export.write(
                            crate::outputs::extract::NOTICE,
                            crate::outputs::extract::public_notice(&facts).as_bytes(),
                        )?;
                    }
                }
                (privacy, pseudonymizer.key_id().to_string(), mode)
            }
            _ => {
                if let Some(handle) = aggregating.take() {
                    let tables = handle
                        .join()
                        .map_err(|_| Error::Other("the statistics stage panicked".into()))??;
                    published = Some(tables);
                }
                let published = published.as_deref().unwrap_or_default();
                report.stats.cells_suppressed = published
                    .iter()
                    .map(|p| (p.primary + p.secondary) as u64)
                    .sum();
                report.stats.rows_written = published.iter().map(|p| p.cells.len() as u64).sum();
                if let Some(export) = export.as_mut() {
                    crate::outputs::aggregate::write(export, published)?;
                }
                (
                    crate::outputs::aggregate::privacy_facts(published, k),
                    "none".to_string(),
                    "aggregates",
                )
            }
        };
        report.stats.key_id = Some(key_id.clone());
        report.stats.details = serde_json::to_value(&privacy)
            .map_err(|e| Error::Other(format!("privacy facts: {e}")))?;
        if let Some(export) = export {
            let manifest = Manifest {
                run_id: run_ids[i].clone(),
                task: task.name.clone(),
                kind: task.kind.as_str().to_string(),
                created: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                snapshot: snapshot.id.clone(),
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                policy: policy(&key_id, task_mode),
                privacy,
                files: Vec::new(),
            };
            let dir = export.commit(manifest)?;
            report.files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
            report.stats.export_dir = Some(dir.display().to_string());
        }
    }
    Ok(())
}

/// What one scan feeds.
struct Sinks {
    extract: Option<ExtractSpill>,
    aggregates: Option<Aggregates>,
}

trait TakeOnce<T> {
    fn take_once(&mut self) -> Result<T>;
}

impl<T> TakeOnce<T> for Option<T> {
    fn take_once(&mut self) -> Result<T> {
        self.take()
            .ok_or_else(|| Error::Other("a scan group holds two research extracts".into()))
    }
}

/// The scan: PostgreSQL streams batches to a worker thread, which turns rows into records on
/// the scan's own rayon pool (order kept) and feeds every sink in scan order.
async fn scan(
    snapshot: &Snapshot<'_>,
    pseudonymizer: Pseudonymizer,
    mut sinks: Sinks,
    yield_cpu: bool,
) -> Result<(u64, Sinks)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
    // Three stages overlap: PostgreSQL's COPY decoded on the runtime, rows turned into records
    // on rayon's pool, records fed to the sinks (spill files, counters) on their own thread.
    let (records_tx, records_rx) = std::sync::mpsc::sync_channel::<Mapped>(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("certanon-map-{i}"))
        .start_handler(move |_| lower_priority(yield_cpu))
        .build()
        .map_err(|e| Error::Other(format!("cannot start the scan's worker threads: {e}")))?;
    let mapper = std::thread::spawn(move || {
        lower_priority(yield_cpu);
        let mut caches: Vec<SubscriberCache> = (0..pool.current_num_threads())
            .map(|_| SubscriberCache::default())
            .collect();
        while let Some(batch) = rx.blocking_recv() {
            let records = pool.install(|| map_batch(&batch, &pseudonymizer, &mut caches));
            drop(batch);
            if records_tx.send(records).is_err() {
                break;
            }
        }
    });
    let feeder = std::thread::spawn(move || -> Result<Sinks> {
        lower_priority(yield_cpu);
        let mut progress = Progress::new();
        for records in records_rx {
            for r in records.iter() {
                if let Some(e) = sinks.extract.as_mut() {
                    e.add(r)?;
                }
                if let Some(a) = sinks.aggregates.as_mut() {
                    a.add(r)?;
                }
            }
            progress.add(records.len() as u64);
        }
        progress.finish();
        Ok(sinks)
    });
    let scanned = snapshot.scan(tx).await;
    let panicked = |_| Error::Other("the processing stage panicked".into());
    mapper.join().map_err(panicked)?;
    // The feeder's own error explains a scan that stopped because the feeder did.
    let sinks = feeder.join().map_err(panicked)??;
    Ok((scanned?, sinks))
}

/// With `yield_cpu` (`database.yield_cpu`, on by default), moves the calling thread to the
/// SCHED_IDLE class: it runs on CPU time no other thread of the host wants. The scan's record
/// work runs there because, where certanon shares a host with PostgreSQL, the backend that
/// produces the rows is the scan's bottleneck, and every time a worker preempts it the whole
/// scan waits (on 2 cores this took a 1M-row run from 7.5 s to 7.0 s). A refusal (a seccomp
/// filter) leaves the thread as it was.
fn lower_priority(yield_cpu: bool) {
    if !yield_cpu {
        return;
    }
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` is a valid parameter block for SCHED_IDLE.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "a scan thread keeps its scheduling class"
        );
    }
}

/// Progress of a long scan: a spinner on a terminal, a log line every 10 seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    rows: u64,
    start: Instant,
    last_log: Instant,
}

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} scanned {human_pos} rows ({per_sec}) {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            rows: 0,
            start: Instant::now(),
            last_log: Instant::now(),
        }
    }

    fn add(&mut self, n: u64) {
        self.rows += n;
        match &self.bar {
            Some(bar) => bar.set_position(self.rows),
            None if self.last_log.elapsed() >= Duration::from_secs(10) => {
                self.last_log = Instant::now();
                tracing::info!(rows = self.rows, rows_per_sec = self.rate(), "scanning");
            }
            None => {}
        }
    }

    fn rate(&self) -> u64 {
        (self.rows as f64 / self.start.elapsed().as_secs_f64().max(1e-3)) as u64
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::info!(
            rows = self.rows,
            rows_per_sec = self.rate(),
            "scan finished"
        );
    }
}

async fn run_retention(
    config: &Config,
    client: &mut Client,
    task: &TaskConfig,
    pseudonymizer: Option<&Pseudonymizer>,
    dry_run: bool,
) -> TaskReport {
    let started = Utc::now();
    let clock = Instant::now();
    let run_id = ledger::new_run_id(started);
    let mut report = TaskReport::start(task, &run_id, dry_run);
    let result = async {
        if !dry_run {
            ledger::start_run(
                &*client,
                &run_id,
                &task.name,
                task.kind.as_str(),
                false,
                &config.sha256,
                started,
            )
            .await?;
        }
        let pseudonymizer =
            pseudonymizer.ok_or_else(|| Error::Other("the managed key was not loaded".into()))?;
        retention::run(retention::Retention {
            client: &mut *client,
            config,
            task,
            run_id: &run_id,
            dry_run,
            now: started,
            pseudonymizer,
        })
        .await
    }
    .await;
    match result {
        Ok(stats) => report.stats = stats,
        Err(e) => {
            report.outcome = Outcome::Failure;
            report.error = Some(e.to_string());
        }
    }
    report.duration = clock.elapsed();
    if !dry_run {
        record_end(&*client, &mut report, started).await;
    }
    report
}

/// Writes how a task ended to the ledger; a task whose end cannot be recorded has failed.
async fn record_end(ledger: &Client, r: &mut TaskReport, started: DateTime<Utc>) {
    let recorded = ledger::finish_run(
        ledger,
        &r.run_id,
        &r.task,
        r.outcome,
        &r.stats,
        r.error.as_deref(),
        started,
    )
    .await;
    if let Err(e) = recorded {
        tracing::error!(task = %r.task, "{e}");
        r.outcome = Outcome::Failure;
    }
}

fn log_summary(r: &TaskReport) {
    let s = &r.stats;
    let duration_ms = r.duration.as_millis() as u64;
    match &r.error {
        // Retention reads subjects and erases some (none in report mode): its own words, so a
        // report is never summarised as an erasure.
        None if r.kind == "retention" => {
            let detail = |key: &str| s.details[key].as_u64().unwrap_or(0);
            tracing::info!(
                task = %r.task,
                kind = r.kind,
                run_id = %r.run_id,
                outcome = r.outcome.as_str(),
                mode = s.details["mode"].as_str().unwrap_or("-"),
                subjects_eligible = s.rows_read,
                subjects_erased = s.rows_written,
                exports_expired = detail("exports_expired"),
                exports_deleted = detail("exports_deleted"),
                duration_ms,
                "task finished"
            )
        }
        None => tracing::info!(
            task = %r.task,
            kind = r.kind,
            run_id = %r.run_id,
            outcome = r.outcome.as_str(),
            rows_read = s.rows_read,
            rows_written = s.rows_written,
            rows_suppressed = s.rows_suppressed,
            cells_suppressed = s.cells_suppressed,
            files = r.files,
            duration_ms,
            export = s.export_dir.as_deref().unwrap_or("-"),
            "task finished"
        ),
        Some(e) => {
            tracing::error!(task = %r.task, kind = r.kind, run_id = %r.run_id, error = %e, "task failed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_after(yield_cpu: bool) -> i32 {
        std::thread::spawn(move || {
            lower_priority(yield_cpu);
            // SAFETY: pid 0 is the calling thread.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .expect("thread")
    }

    #[test]
    fn scan_threads_yield_the_cpu_unless_told_not_to() {
        // SAFETY: pid 0 is the calling thread.
        let inherited = unsafe { libc::sched_getscheduler(0) };
        assert_ne!(
            inherited,
            libc::SCHED_IDLE,
            "the test itself runs at idle priority"
        );
        assert_eq!(policy_after(true), libc::SCHED_IDLE);
        assert_eq!(policy_after(false), inherited);
    }
}
