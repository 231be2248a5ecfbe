//! Command entry points for the binary: each resolves configuration, opens what it needs and
//! calls the pipeline modules. Kept here so that `main.rs` only parses arguments.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::config::{self, Config};
use crate::db::{self, ConnectOptions};
use crate::error::{Error, Result};
use crate::job::budget;
use crate::job::ledger::Outcome;
use crate::job::schedule::Schedule;
use crate::job::{self, RunOptions, runtime};
use crate::outputs::manifest::FileFacts;
use crate::outputs::verify::Recorded;

/// Options that every command shares.
#[derive(Debug, Default, Clone)]
pub struct Global {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    /// `--log-format json`: what a command prints on stdout is JSON too, for scripts.
    pub json: bool,
}

/// A core dump of this process would hold the pseudonymization key and personal data: none is
/// written, and other processes of the same user may not attach to it or read its memory.
pub fn refuse_core_dumps() -> Result<()> {
    // SAFETY: both calls take integers and a pointer to a local, and change only this process.
    let dumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if dumpable != 0 {
        return Err(Error::Other(format!(
            "cannot refuse core dumps (PR_SET_DUMPABLE): {}",
            std::io::Error::last_os_error()
        )));
    }
    // A second line of defence for a kernel set to dump even non-dumpable processes
    // (fs.suid_dumpable = 2). The units' seccomp filter refuses setrlimit, and sets
    // LimitCORE=0 itself, so a failure here is expected there and not an error.
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let _ = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    Ok(())
}

/// Text logs on stderr (ANSI colours only on a terminal), or JSON lines. `RUST_LOG` overrides
/// the level given by -v/-q.
pub fn init_logging(level: &str, json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("certanon={level},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

/// Connection settings from the config (when there is one) and the URL's sources.
fn connect_options(global: &Global, config: Option<&Config>) -> Result<ConnectOptions> {
    let (url, url_source) = config::resolve_database_url(global.database_url.as_deref(), config)?;
    Ok(match config {
        Some(c) => ConnectOptions {
            url,
            url_source,
            sslmode: c.database.sslmode,
            ca_file: c.database.ca_file.clone(),
            connect_timeout: Duration::from_secs(c.database.connect_timeout_secs),
        },
        None => ConnectOptions::from_url(url, url_source),
    })
}

pub fn db_init(global: &Global, reference_schema: bool) -> Result<()> {
    let config = Config::load_optional(global.config.as_deref())?;
    let opts = connect_options(global, config.as_ref())?;
    runtime()?.block_on(async {
        let mut client = db::connect(&opts).await?;
        let report = db::init(&mut client, reference_schema).await?;
        if report.applied.is_empty() {
            tracing::info!(
                version = report.bookkeeping_version,
                "database schema already up to date"
            );
        }
        for name in &report.applied {
            tracing::info!(migration = %name, "applied");
        }
        Ok(())
    })
}

pub fn seed(global: &Global, rows: u64, seed: u64) -> Result<()> {
    let config = Config::load_optional(global.config.as_deref())?;
    let opts = connect_options(global, config.as_ref())?;
    runtime()?.block_on(async {
        let mut client = db::connect(&opts).await?;
        let options = crate::demo::seed::SeedOptions {
            certificates: rows,
            seed,
            ..Default::default()
        };
        let s = crate::demo::seed::seed(&mut client, &options).await?;
        let counts = [
            ("subscribers", s.subscribers),
            ("applications", s.applications),
            ("acme_accounts", s.acme_accounts),
            ("certificates", s.certificates),
            ("revocations", s.revocations),
            ("legal_holds", s.legal_holds),
            ("operators", s.operators),
        ];
        if global.json {
            let object: serde_json::Map<String, serde_json::Value> = counts
                .iter()
                .map(|&(table, n)| (table.to_string(), n.into()))
                .collect();
            println!("{}", serde_json::Value::Object(object));
        } else {
            let rows: Vec<Vec<String>> = counts
                .iter()
                .map(|&(table, n)| vec![format!("certinfo.{table}"), n.to_string()])
                .collect();
            print!("{}", align(&rows, &[Align::Left, Align::Right]));
        }
        Ok(())
    })
}

pub fn run(global: &Global, opts: &RunOptions) -> Result<()> {
    let config = Config::load(global.config.as_deref())?;
    let connect = connect_options(global, Some(&config))?;
    let (reports, metrics) = runtime()?.block_on(async {
        let reports = job::run_until(&config, &connect, opts, stop_signal()?).await?;
        // A dry run writes nothing, the metrics textfile included.
        let metrics = if opts.dry_run {
            Ok(())
        } else {
            crate::job::metrics::update(&config, &connect).await
        };
        Ok::<_, Error>((reports, metrics))
    })?;
    // A failed task is the news; a metrics problem only when everything else went well.
    job::check_reports(&reports)?;
    metrics
}

pub fn status(global: &Global) -> Result<()> {
    let config = Config::load(global.config.as_deref())?;
    let connect = connect_options(global, Some(&config))?;
    let now = Utc::now();
    let statuses = runtime()?.block_on(async {
        let client = db::connect(&connect).await?;
        let mut statuses = Vec::new();
        for task in config.tasks.values() {
            let s = crate::job::ledger::task_status(&client, &task.name).await?;
            let spent = match &task.dp {
                Some(dp) => Some(budget::spent(&client, &task.name, dp.budget_period, now).await?),
                None => None,
            };
            statuses.push((task, s, spent));
        }
        Ok::<_, Error>(statuses)
    })?;
    let zone = config.time_zone.unwrap_or(chrono_tz::UTC);
    let when = |t: chrono::DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z");
    let mut rows = vec![
        [
            "task",
            "kind",
            "last success",
            "last attempt",
            "outcome",
            "next due",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut errors = Vec::new();
    for (task, s, spent) in &statuses {
        let budget = task
            .dp
            .as_ref()
            .zip(*spent)
            .map(|(dp, spent)| budget::Left::new(dp, spent, now));
        let next = s.last_success_at.map(|last| task.schedule.next_after(last));
        // Why the last run failed, so that the operator need not search the journal.
        let error = s
            .last_error
            .as_deref()
            .filter(|_| s.last_outcome.as_deref() == Some(Outcome::Failure.as_str()));
        if global.json {
            let rfc = |t: Option<chrono::DateTime<Utc>>| t.map(|t| t.to_rfc3339());
            let line = serde_json::json!({
                "task": task.name,
                "kind": task.kind.as_str(),
                "last_success": rfc(s.last_success_at),
                "last_attempt": rfc(s.last_attempt_at),
                "outcome": s.last_outcome,
                "next_due": rfc(next.flatten()),
                "due_now": next.is_none_or(|n| n.is_some_and(|n| n <= now)),
                "last_error": error,
                "privacy_budget": budget.as_ref().map(budget::Left::json),
            });
            println!("{line}");
            continue;
        }
        let or_dash =
            |t: Option<chrono::DateTime<Utc>>| t.map_or("-".into(), |t| when(t).to_string());
        rows.push(vec![
            task.name.clone(),
            task.kind.as_str().to_string(),
            or_dash(s.last_success_at),
            or_dash(s.last_attempt_at),
            s.last_outcome.clone().unwrap_or_else(|| "-".into()),
            match next {
                None => "now (never succeeded)".into(),
                Some(None) => "never".into(),
                Some(Some(t)) if t <= now => format!("now (fired {})", when(t)),
                Some(Some(t)) => when(t).to_string(),
            },
        ]);
        errors.push((rows.len() - 1, error, budget));
    }
    if !global.json {
        let table = align(&rows, &[Align::Left; 6]);
        for (i, line) in table.lines().enumerate() {
            println!("{line}");
            let Some((_, error, budget)) = errors.iter().find(|(row, ..)| *row == i) else {
                continue;
            };
            if let Some(budget) = budget {
                println!("    privacy budget: {budget}");
            }
            if let Some(error) = error {
                println!("    last error: {error}");
            }
        }
    }
    let unowned = crate::job::retention::unowned_exports(&config)?;
    if !unowned.is_empty() {
        println!("export directories that no task owns or that have no manifest (never expired):");
        for path in unowned {
            println!("    {}", path.display());
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Rows as lines whose columns line up, two spaces apart; the last column is not padded.
fn align(rows: &[Vec<String>], how: &[Align]) -> String {
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|cell| cell.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..how.len()).map(width).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(how.iter().zip(&widths))
            .enumerate()
            .map(|(c, (cell, (how, &w)))| match how {
                Align::Right => format!("{cell:>w$}"),
                Align::Left if c + 1 == row.len() => cell.clone(),
                Align::Left => format!("{cell:<w$}"),
            })
            .collect();
        out.push_str(&cells.join("  "));
        out.push('\n');
    }
    out
}

pub fn keygen(out: Option<&Path>) -> Result<()> {
    let out = out.unwrap_or(Path::new("hmac-key"));
    crate::transform::pseudonymize::keygen(out)?;
    eprintln!("wrote a new 32-byte key to {} (mode 0600)", out.display());
    Ok(())
}

pub fn schedule_next(global: &Global, expr: &str, count: usize) -> Result<()> {
    let tz = Config::load_optional(global.config.as_deref())
        .ok()
        .flatten()
        .and_then(|c| c.time_zone);
    // The expression is an argument here, not the config's: a bad one is a usage error.
    let schedule =
        Schedule::parse(expr, tz).map_err(|e| Error::Usage(format!("schedule {expr:?}: {e}")))?;
    for t in schedule.upcoming(Utc::now(), count) {
        match tz {
            Some(tz) => println!("{}", t.with_timezone(&tz).to_rfc3339()),
            None => println!("{}", t.to_rfc3339()),
        }
    }
    Ok(())
}

/// Verifies an export from its files; given a database URL (`global.database_url`), also its
/// extract levels against those the bookkeeping schema recorded.
pub fn verify(global: &Global, dir: &Path, min_k: Option<u64>) -> Result<()> {
    // Nothing to check is a failed check, said in one line rather than one per missing file.
    if !dir.is_dir() {
        return Err(Error::NotAnExport(format!(
            "{}: no such directory",
            dir.display()
        )));
    }
    if !dir.join(crate::outputs::export::MANIFEST).exists()
        && !dir.join(crate::outputs::export::SUMS).exists()
    {
        return Err(Error::NotAnExport(format!(
            "{}: no {} or {} in it",
            dir.display(),
            crate::outputs::export::MANIFEST,
            crate::outputs::export::SUMS
        )));
    }
    let recorded = match global.database_url {
        Some(_) => Some(recorded_levels(global, dir)?),
        None => None,
    };
    let demands = crate::outputs::verify::Demands {
        min_k,
        recorded: recorded.as_ref(),
    };
    let report = crate::outputs::verify::verify_with(dir, demands)?;
    println!("{report}");
    Ok(())
}

/// Per extract file the manifest of `dir` names, the levels the database recorded for the
/// export's task, key and run; nothing when there is no manifest to ask about (`verify` then
/// fails on it).
fn recorded_levels(global: &Global, dir: &Path) -> Result<BTreeMap<String, Recorded>> {
    let Some(manifest) = crate::outputs::verify::manifest_of(dir) else {
        return Ok(BTreeMap::new());
    };
    let config = Config::load_optional(global.config.as_deref())?;
    let opts = connect_options(global, config.as_ref())?;
    runtime()?.block_on(async {
        let client = db::connect(&opts).await?;
        let mut recorded = BTreeMap::new();
        for (file, facts) in &manifest.privacy {
            if let FileFacts::Microdata(_) = facts {
                let levels = crate::job::ledger::recorded_levels(
                    &client,
                    &manifest.task,
                    &manifest.policy.key_id,
                    file,
                    &manifest.run_id,
                )
                .await?;
                recorded.insert(file.clone(), levels);
            }
        }
        Ok(recorded)
    })
}

/// Stays up and runs due tasks when their schedules fire; stops cleanly on SIGTERM or SIGINT,
/// abandoning a running task (its export is never published half-written, and the next run
/// removes its hidden leftovers).
///
/// The clock and the signals live on this thread's own single-threaded runtime, and each run on
/// a thread of its own with the usual runtime: a run's long CPU-bound stretches (the privacy
/// gate) can occupy every worker of a runtime, and then nothing would see a signal until they end.
pub fn daemon(global: &Global) -> Result<()> {
    let config = Arc::new(Config::load(global.config.as_deref())?);
    let connect = Arc::new(connect_options(global, Some(&config))?);
    let clock = runtime()?;
    clock.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Error::Other(format!("SIGTERM handler: {e}")))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| Error::Other(format!("SIGINT handler: {e}")))?;
        tracing::info!(tasks = config.tasks.len(), "daemon started");
        // Runs in a row that could not start (database unreachable, lock held).
        let mut failures: u32 = 0;
        loop {
            let (done, finished) = tokio::sync::oneshot::channel();
            let (run_config, run_connect) = (Arc::clone(&config), Arc::clone(&connect));
            // Left running when a signal comes: the process exits under it.
            std::thread::spawn(move || {
                let result = runtime()
                    .and_then(|r| r.block_on(run_and_publish_metrics(&run_config, &run_connect)));
                let _ = done.send(result);
            });
            let mut retry = false;
            tokio::select! {
                result = finished => match result.unwrap_or_else(|_| Err(Error::Other("the run stopped without a result".into()))) {
                    Ok(()) => failures = 0,
                    Err(e) if e.exit_code() == crate::error::exit::CONFIG => return Err(e),
                    Err(e) if is_transient(&e) => { tracing::warn!("{e}"); retry = true; }
                    Err(e) => { failures = 0; tracing::error!("{e}"); }
                },
                _ = term.recv() => { tracing::info!("SIGTERM: abandoning the running task"); return Ok(()); }
                _ = int.recv() => { tracing::info!("SIGINT: abandoning the running task"); return Ok(()); }
            }
            let now = Utc::now();
            let next = config.tasks.values().filter_map(|t| t.schedule.next_after(now)).min();
            let mut wait = next.map_or(Duration::from_secs(3600), |t| (t - now).to_std().unwrap_or_default());
            if retry {
                let delay = retry_delay(failures);
                failures = failures.saturating_add(1);
                if delay < wait {
                    wait = delay;
                    tracing::warn!(attempt = failures, retry_in_secs = delay.as_secs(), "the run could not start; retrying after a back-off");
                }
            }
            tracing::info!(next = %next.map_or("-".into(), |t| t.to_rfc3339()), wait_secs = wait.as_secs(), "sleeping");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); return Ok(()); }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); return Ok(()); }
            }
        }
    })
}

/// A run that could not start for a reason that passes (exit 69 or 75): the daemon retries it
/// soon rather than at the next fire, which for a quarterly task is months away.
fn is_transient(e: &Error) -> bool {
    use crate::error::exit;
    matches!(e.exit_code(), exit::UNAVAILABLE | exit::TEMP_FAIL)
}

/// The wait before retrying after `failures` earlier retries: doubling from 2 seconds, at most
/// 10 minutes.
fn retry_delay(failures: u32) -> Duration {
    const FIRST: Duration = Duration::from_secs(2);
    const MAX: Duration = Duration::from_secs(600);
    FIRST.saturating_mul(2u32.saturating_pow(failures)).min(MAX)
}

/// Ends with `Error::Stopped` at the first SIGTERM or SIGINT.
fn stop_signal() -> Result<impl Future<Output = Error>> {
    use tokio::signal::unix::{SignalKind, signal};
    let handler = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| Error::Other(format!("{name} handler: {e}")))
    };
    let mut term = handler(SignalKind::terminate(), "SIGTERM")?;
    let mut int = handler(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => Error::Stopped { signal: "SIGTERM", code: 128 + libc::SIGTERM },
            _ = int.recv() => Error::Stopped { signal: "SIGINT", code: 128 + libc::SIGINT },
        }
    })
}

async fn run_and_publish_metrics(config: &Config, connect: &ConnectOptions) -> Result<()> {
    job::run_once(config, connect, &RunOptions::default()).await?;
    if let Err(e) = crate::job::metrics::update(config, connect).await {
        tracing::error!("metrics: {e}");
    }
    Ok(())
}

pub fn demo(global: &Global, rows: u64, dir: &Path) -> Result<()> {
    crate::demo::demo(rows, dir, global.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_and_are_bounded() {
        let delays: Vec<u64> = (0..6).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64]);
        assert_eq!(retry_delay(9).as_secs(), 600);
        assert_eq!(retry_delay(u32::MAX).as_secs(), 600);
        assert!(is_transient(&Error::Locked("x".into())));
        assert!(is_transient(&Error::Unreachable("x".into())));
        assert!(!is_transient(&Error::Other("x".into())));
    }
}
