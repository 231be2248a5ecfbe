//! What a run does: the tasks named or due, the scans that serve the exporting ones, and the
//! key each scan pseudonymizes with.

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use crate::config::{Config, ReleaseMode, TaskConfig, TaskKind};
use crate::error::{Error, Result};
use crate::job::{RunOptions, ledger};
use crate::transform::pseudonymize::{Key, Pseudonymizer};

/// Fails with a usage error naming the configured tasks if one of `names` is not among them.
pub(super) fn check_task_names(config: &Config, names: &[String]) -> Result<()> {
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
pub(super) async fn due_tasks<'c>(
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
/// further extracts need their own key and so their own scan. Differentially private
/// statistics need a key that stays the same from run to run (see [`group_key`]), so when the
/// first extract is anonymous the aggregates tasks get a scan of their own.
pub(super) fn scan_groups<'c>(tasks: &[&'c TaskConfig]) -> Vec<Vec<&'c TaskConfig>> {
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
    let needs_stable_key = aggregates.iter().any(|t| t.dp.is_some());
    let stable = |t: &TaskConfig| {
        !matches!(
            t.kind,
            TaskKind::ResearchExtract {
                mode: ReleaseMode::Anonymous,
                ..
            }
        )
    };
    match groups.first_mut() {
        Some(first) if !needs_stable_key || stable(first[0]) => first.extend(aggregates),
        _ if !aggregates.is_empty() => groups.push(aggregates),
        _ => {}
    }
    groups
}

/// Pseudonymous extracts publish managed-key pseudonyms; retention names erased subjects with
/// them in the erasure ledger.
/// Differentially private statistics bound contributions and seed their noise with it.
pub(super) fn needs_managed_key(task: &TaskConfig) -> bool {
    task.dp.is_some()
        || matches!(
            task.kind,
            TaskKind::ResearchExtract {
                mode: ReleaseMode::Pseudonymous,
                ..
            } | TaskKind::Retention { .. }
        )
}

/// The key a group's scan pseudonymizes with: a pseudonymous extract's managed key (per
/// recipient if it names one), else a fresh key that is never stored: an anonymous release's
/// pseudonyms link to nothing outside it, and aggregates publish none. Differentially private
/// statistics without an extract use the managed key, so that a rerun keeps the same
/// certificates of each subscriber and, on the same data, draws the same noise.
pub(super) fn group_key(
    managed: Option<&Key>,
    group: &[&TaskConfig],
    run_id: &str,
) -> Result<Pseudonymizer> {
    let extract = group.iter().find_map(|t| match &t.kind {
        TaskKind::ResearchExtract { mode, recipient } => Some((*mode, recipient)),
        TaskKind::Aggregates | TaskKind::Retention { .. } => None,
    });
    let managed = || managed.ok_or_else(|| Error::Other("the managed key was not loaded".into()));
    match extract {
        Some((ReleaseMode::Pseudonymous, recipient)) => Ok(match recipient {
            Some(r) => Pseudonymizer::new(&managed()?.for_recipient(r)),
            None => Pseudonymizer::new(managed()?),
        }),
        None if group.iter().any(|t| t.dp.is_some()) => Ok(Pseudonymizer::new(managed()?)),
        Some((ReleaseMode::Anonymous, _)) | None => {
            let key_id = format!(
                "anon-{}",
                run_id
                    .to_ascii_lowercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            );
            Ok(Pseudonymizer::new(&Key::random(&key_id)?))
        }
    }
}
