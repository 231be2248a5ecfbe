//! Retention: expire old exports and erase personal data past its horizon through the contract's erase function.
//!
//! Exports: on every run that is not a dry run, whatever the personal-data mode, a committed
//! export older than its task's `retain_exports` is first renamed to a
//! hidden `.tmp-expired-<name>` (so no reader ever sees a half-deleted export), recorded in the
//! ledger, then removed. Personal data: subjects past the horizon are erased in batches, each
//! batch one transaction that selects the next eligible subscribers, calls
//! `certanon_src.erase_subjects` and writes the erasure ledger; a run killed midway keeps the
//! committed batches and the next run continues with whoever is still eligible. Only the
//! contract views are read. Reports and logs carry counts, never a name.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::Deserialize;
use tokio_postgres::{Client, GenericClient};

use crate::config::{Config, EraseLimit, RetentionMode, TaskConfig, TaskKind, display_duration};
use crate::error::{DbContext, Error, IoContext, Result};
use crate::job::ledger::{self, RunStats};
use crate::outputs::export::MANIFEST;
use crate::transform::pseudonymize::{Class, Pseudonymizer};

/// Where a retention run deletes an expired export from, in the export's own task directory.
const EXPIRED_PREFIX: &str = ".tmp-expired-";

/// The conditions that make a subscriber eligible for erasure, over the contract views only.
/// `$1` is now, `$2` the cutoff (now − horizon). A subscriber qualifies when nothing of theirs
/// is newer than the cutoff: no certificate still within the horizon after its expiry, no
/// application submitted and no ACME account or subscriber record created within it; and when
/// they have no pending application and no legal hold in force now or later.
const ELIGIBLE: &str = "\
      FROM certanon_src.subscribers s
     WHERE s.personal_data_erased_at IS NULL
       AND s.created_at < $2
       AND NOT EXISTS (SELECT 1 FROM certanon_src.applications a
                        WHERE a.subscriber_id = s.subscriber_id
                          AND (a.submitted_at >= $2 OR a.status = 'pending'))
       AND NOT EXISTS (SELECT 1 FROM certanon_src.applications a
                         JOIN certanon_src.certificates c ON c.application_id = a.application_id
                        WHERE a.subscriber_id = s.subscriber_id AND c.not_after >= $2)
       AND NOT EXISTS (SELECT 1 FROM certanon_src.acme_accounts m
                        WHERE m.subscriber_id = s.subscriber_id AND m.created_at >= $2)
       AND NOT EXISTS (SELECT 1 FROM certanon_src.legal_holds h
                        WHERE h.subscriber_id = s.subscriber_id
                          AND (h.released_at IS NULL OR h.released_at > $1))";

pub struct Retention<'a> {
    /// Autocommit connection; each erasure batch opens its own transaction on it.
    pub client: &'a mut Client,
    pub config: &'a Config,
    /// A task of kind retention.
    pub task: &'a TaskConfig,
    /// The run's ledger row exists already (unless `dry_run`); the caller finishes it.
    pub run_id: &'a str,
    pub dry_run: bool,
    pub now: DateTime<Utc>,
    /// The managed key: names erased subjects in the erasure ledger.
    pub pseudonymizer: &'a Pseudonymizer,
    /// The operator's confirmation of a run erasing this many subjects (`--confirm-erase`),
    /// beyond the task's `max_erase_per_run`.
    pub confirm_erase: Option<u64>,
}

/// Expires old exports and erases personal data past the horizon; in report mode (or a dry
/// run) only counts what it would do and changes nothing.
pub async fn run(r: Retention<'_>) -> Result<RunStats> {
    let TaskKind::Retention {
        mode,
        personal_data_after_expiry: horizon,
        batch_size,
        max_erase_per_run,
    } = r.task.kind
    else {
        return Err(Error::Other(format!(
            "task {}: not a retention task (kind {})",
            r.task.name,
            r.task.kind.as_str()
        )));
    };
    let erase = mode == RetentionMode::Erase && !r.dry_run;
    let cutoff = cutoff(r.now, horizon, &r.task.name)?;

    // Exports expire whatever the personal-data mode: only a dry run keeps them.
    let delete_exports = !r.dry_run;
    let expired = expired_exports(r.config, r.now, delete_exports)?;
    for export in &expired {
        if delete_exports {
            delete_export(&*r.client, r.run_id, export).await?;
        } else {
            tracing::info!(task = %export.task, export = %export.run, "expired export; a run that is not a dry run deletes it");
        }
    }
    tracing::info!(
        task = %r.task.name,
        exports = expired.len(),
        "{}",
        if delete_exports { "expired exports deleted" } else { "expired exports counted; none deleted (dry run)" }
    );
    let unowned = unowned_exports(r.config)?;
    for path in &unowned {
        tracing::warn!(path = %path.display(), "export directory that no configured task owns or that has no manifest; left alone");
    }

    let eligible = eligible_count(&*r.client, r.now, horizon).await?;
    let mut details = serde_json::json!({
        "mode": if erase { RetentionMode::Erase.as_str() } else { RetentionMode::Report.as_str() },
        "configured_mode": mode.as_str(),
        "dry_run": r.dry_run,
        "exports_expired": expired.len(),
        "exports_deleted": if delete_exports { expired.len() } else { 0 },
        "unowned_exports": unowned.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "subjects_eligible": eligible,
        "horizon": crate::config::display_duration(horizon),
        "cutoff": cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if erase {
        check_erase_limit(&*r.client, &r, eligible, max_erase_per_run, horizon).await?;
    }
    let erased = if erase {
        let mut eraser = Eraser::new(
            &mut *r.client,
            r.run_id,
            r.pseudonymizer,
            r.now,
            horizon,
            batch_size,
        )?;
        while eraser.next_batch().await? {}
        tracing::info!(
            task = %r.task.name,
            eligible,
            erased = eraser.erased(),
            batches = eraser.batches(),
            "personal data erased"
        );
        details["subjects_erased"] = eraser.erased().into();
        details["batches"] = eraser.batches().into();
        eraser.erased()
    } else {
        // A report counts who is eligible and erases no one; the batches are what erase mode
        // would need, so an operator can judge the run before switching to it.
        let batches_needed = eligible.div_ceil(u64::from(batch_size.max(1)));
        tracing::info!(
            task = %r.task.name,
            eligible,
            batches_needed,
            "subjects eligible for erasure counted; none erased (report only)"
        );
        details["subjects_erased"] = 0.into();
        details["batches"] = 0.into();
        details["batches_needed"] = batches_needed.into();
        0
    };

    Ok(RunStats {
        rows_read: eligible,
        rows_written: erased,
        details,
        ..RunStats::default()
    })
}

/// Refuses (exit 78) a run that would erase more subjects than `max_erase_per_run` allows,
/// unless the operator confirmed at least that many: a mistyped horizon must not erase
/// everyone.
async fn check_erase_limit(
    client: &impl GenericClient,
    r: &Retention<'_>,
    eligible: u64,
    limit: EraseLimit,
    horizon: TimeDelta,
) -> Result<()> {
    let holding = client
        .query_one(
            "SELECT count(*) FROM certanon_src.subscribers WHERE personal_data_erased_at IS NULL",
            &[],
        )
        .await
        .during("counting the subjects holding personal data")?
        .get::<_, i64>(0);
    let holding = u64::try_from(holding).unwrap_or(0);
    let allowed = limit.subjects(holding);
    if eligible <= allowed || r.confirm_erase.is_some_and(|n| n >= eligible) {
        return Ok(());
    }
    let task = &r.task.name;
    Err(Error::config(
        format!("tasks.{task}.max_erase_per_run"),
        format!(
            "this run would erase {eligible} of the {holding} subjects holding personal data, \
             more than the {allowed} allowed ({limit}); nothing was erased. Check \
             personal_data_after_expiry ({}); if the erasure is intended, run `certanon run \
             --task {task} --confirm-erase {eligible}`",
            display_duration(horizon)
        ),
    ))
}

/// How many subscribers are eligible for erasure at `now` with this horizon.
pub async fn eligible_count(
    client: &impl GenericClient,
    now: DateTime<Utc>,
    horizon: TimeDelta,
) -> Result<u64> {
    let cutoff = cutoff(now, horizon, "retention")?;
    let row = client
        .query_one(&format!("SELECT count(*) {ELIGIBLE}"), &[&now, &cutoff])
        .await
        .during("counting the subjects eligible for erasure")?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// Erases eligible subjects batch by batch. Each `next_batch` is one transaction, so the work
/// can stop between any two batches and a later run picks up whoever is still eligible.
pub struct Eraser<'a> {
    client: &'a mut Client,
    run_id: &'a str,
    pseudonymizer: &'a Pseudonymizer,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    batch_size: i64,
    /// Subscribers at or below this id were handled by this run: if the erase function skips
    /// one (a deployment's own rules), it is not selected again and the run still ends.
    after: i64,
    batches: u64,
    erased: u64,
}

impl<'a> Eraser<'a> {
    pub fn new(
        client: &'a mut Client,
        run_id: &'a str,
        pseudonymizer: &'a Pseudonymizer,
        now: DateTime<Utc>,
        horizon: TimeDelta,
        batch_size: u32,
    ) -> Result<Eraser<'a>> {
        Ok(Eraser {
            client,
            run_id,
            pseudonymizer,
            now,
            cutoff: cutoff(now, horizon, "retention")?,
            batch_size: i64::from(batch_size.max(1)),
            after: i64::MIN,
            batches: 0,
            erased: 0,
        })
    }

    /// Erases the next batch in one transaction; `false` when no subject was left to select.
    pub async fn next_batch(&mut self) -> Result<bool> {
        let batch = self.batches + 1;
        let number = i32::try_from(batch)
            .map_err(|_| Error::Other(format!("erasure batch number {batch} out of range")))?;
        let context = format!("erasing personal data, batch {batch}");
        let tx = self.client.transaction().await.during(&context)?;
        let ids: Vec<i64> = tx
            .query(
                &format!(
                    "SELECT s.subscriber_id {ELIGIBLE} AND s.subscriber_id > $3 \
                     ORDER BY s.subscriber_id LIMIT $4"
                ),
                &[&self.now, &self.cutoff, &self.after, &self.batch_size],
            )
            .await
            .during(&context)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let Some(&last) = ids.last() else {
            return Ok(false);
        };
        let erased: Vec<(String, Vec<String>)> = tx
            .query(
                "SELECT subscriber_id, erased_columns FROM certanon_src.erase_subjects($1::bigint[])",
                &[&ids],
            )
            .await
            .during(&context)?
            .iter()
            .map(|row| {
                let id: i64 = row.get(0);
                let pseudonym = self
                    .pseudonymizer
                    .pseudonym(Class::Subscriber, &id.to_string());
                (pseudonym, row.get(1))
            })
            .collect();
        ledger::record_erasures(&tx, self.run_id, number, &erased).await?;
        tx.commit().await.during(&context)?;
        self.after = last;
        self.batches = batch;
        self.erased += erased.len() as u64;
        tracing::info!(
            batch,
            selected = ids.len(),
            erased = erased.len(),
            total = self.erased,
            "erasure batch committed"
        );
        Ok(true)
    }

    /// Batches committed so far.
    pub fn batches(&self) -> u64 {
        self.batches
    }

    /// Subjects erased so far.
    pub fn erased(&self) -> u64 {
        self.erased
    }
}

/// now − horizon; a horizon reaching before the calendar's start is a config mistake.
fn cutoff(now: DateTime<Utc>, horizon: TimeDelta, task: &str) -> Result<DateTime<Utc>> {
    now.checked_sub_signed(horizon).ok_or_else(|| {
        Error::config(
            format!("tasks.{task}"),
            "the retention horizon reaches before the earliest representable date",
        )
    })
}

/// A committed export past its task's retention.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExpiredExport {
    task: String,
    /// The directory's name: the run id of the run that wrote it.
    run: String,
    path: PathBuf,
}

/// The committed exports of every task with `retain_exports` that are older than it. With
/// `clean`, also removes `.tmp-expired-*` remains of a retention run that stopped midway
/// (their deletion is already in the ledger). Hidden directories are exports being written,
/// or remains of a crashed run that the task's next run removes: never touched here.
fn expired_exports(config: &Config, now: DateTime<Utc>, clean: bool) -> Result<Vec<ExpiredExport>> {
    let mut expired = Vec::new();
    for task in config.tasks.values() {
        let Some(retain) = task.retain_exports else {
            continue;
        };
        let Some(oldest_kept) = now.checked_sub_signed(retain) else {
            continue;
        };
        let task_dir = config.export.root.join(&task.name);
        let entries = match fs::read_dir(&task_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&task_dir, e)),
        };
        for entry in entries {
            let entry = entry.at(&task_dir)?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !entry.file_type().at(&path)?.is_dir() {
                continue;
            }
            if name.starts_with(EXPIRED_PREFIX) {
                if clean {
                    fs::remove_dir_all(&path).at(&path)?;
                }
                continue;
            }
            if name.starts_with('.') || !path.join(MANIFEST).is_file() {
                continue;
            }
            match export_created(&path, &name) {
                Some(created) if created < oldest_kept => expired.push(ExpiredExport {
                    task: task.name.clone(),
                    run: name,
                    path,
                }),
                Some(_) => {}
                None => tracing::warn!(
                    path = %path.display(),
                    "export has no readable creation time; kept"
                ),
            }
        }
    }
    expired.sort_by(|a, b| (&a.task, &a.run).cmp(&(&b.task, &b.run)));
    Ok(expired)
}

/// Directories of the export root that no retention rule covers: top-level ones no configured
/// task is named after, and those in a task's directory without a manifest (not an export, or
/// one whose manifest was lost). Hidden directories are certanon's own temporary ones.
pub(crate) fn unowned_exports(config: &Config) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for (name, path) in visible_dirs(&config.export.root)? {
        if !config.tasks.contains_key(&name) {
            found.push(path);
            continue;
        }
        for (_, export) in visible_dirs(&path)? {
            if !export.join(MANIFEST).is_file() {
                found.push(export);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The non-hidden directories in `dir` (none when it does not exist), with their names.
fn visible_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.at(dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.file_type().at(entry.path())?.is_dir() {
            dirs.push((name, entry.path()));
        }
    }
    Ok(dirs)
}

/// The manifest's `created`, else the time in the directory's run id.
fn export_created(dir: &Path, name: &str) -> Option<DateTime<Utc>> {
    #[derive(Deserialize)]
    struct Created {
        created: String,
    }
    fs::read(dir.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Created>(&bytes).ok())
        .and_then(|m| DateTime::parse_from_rfc3339(&m.created).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| run_id_time(name))
}

/// The start time a run id (`%Y%m%dT%H%M%SZ-xxxx`) begins with.
fn run_id_time(run_id: &str) -> Option<DateTime<Utc>> {
    let stamp = run_id.get(..16)?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Hides the export in one rename, records its deletion, then removes what is left.
async fn delete_export(
    client: &impl GenericClient,
    run_id: &str,
    export: &ExpiredExport,
) -> Result<()> {
    let parent = export.path.parent().unwrap_or(Path::new("."));
    let hidden = parent.join(format!("{EXPIRED_PREFIX}{}", export.run));
    fs::rename(&export.path, &hidden).at(&export.path)?;
    fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .at(parent)?;
    ledger::record_export_deletion(
        client,
        run_id,
        &export.task,
        &export.run,
        &export.path.to_string_lossy(),
    )
    .await?;
    fs::remove_dir_all(&hidden).at(&hidden)?;
    tracing::info!(task = %export.task, export = %export.run, "expired export deleted");
    Ok(())
}

/// A retention report as lines for people: counts and the horizon, never a name.
pub(crate) fn render_report(details: &serde_json::Value) -> Vec<String> {
    let n = |key: &str| details[key].as_u64().unwrap_or(0);
    let text = |key: &str| details[key].as_str().unwrap_or("-").to_string();
    let mode = text("mode");
    let mut lines = vec![format!(
        "mode {mode}{}{}",
        if text("configured_mode") == mode {
            String::new()
        } else {
            format!(" (configured {})", text("configured_mode"))
        },
        if details["dry_run"] == true {
            ", dry run"
        } else {
            ""
        }
    )];
    lines.push(format!(
        "exports past their retention: {}, deleted: {}",
        n("exports_expired"),
        n("exports_deleted")
    ));
    let batches = match details.get("batches_needed") {
        Some(needed) => format!("erase mode would need {needed} batch(es)"),
        None => format!("in {} batch(es)", n("batches")),
    };
    lines.push(format!(
        "subjects past the horizon: {}, erased: {} ({batches})",
        n("subjects_eligible"),
        n("subjects_erased")
    ));
    lines.push(format!(
        "horizon {}: personal data of subjects whose last certificate expired before {}",
        text("horizon"),
        text("cutoff")
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn run_id_time_reads_the_prefix() {
        assert_eq!(
            run_id_time("20260131T020304Z-ab12"),
            Some(Utc.with_ymd_and_hms(2026, 1, 31, 2, 3, 4).unwrap())
        );
        assert_eq!(run_id_time("20261331T020304Z-ab12"), None);
        assert_eq!(run_id_time("latest"), None);
        assert_eq!(run_id_time("日本語の名前日本語の名前"), None);
    }

    proptest! {
        #[test]
        fn run_ids_round_trip(secs in 0i64..8_000_000_000) {
            let t = Utc.timestamp_opt(secs, 0).unwrap();
            prop_assert_eq!(run_id_time(&ledger::new_run_id(t)), Some(t));
        }

        #[test]
        fn run_id_time_never_panics(s in "\\PC{0,24}") {
            let _ = run_id_time(&s);
        }
    }

    #[test]
    fn a_report_reads_as_counts() {
        let details = serde_json::json!({
            "mode": "report", "configured_mode": "erase", "dry_run": true,
            "exports_expired": 3, "exports_deleted": 0, "subjects_eligible": 12,
            "subjects_erased": 0, "batches": 0, "batches_needed": 2,
            "horizon": "7 years", "cutoff": "2019-11-30T00:00:00+00:00",
        });
        assert_eq!(
            render_report(&details),
            [
                "mode report (configured erase), dry run",
                "exports past their retention: 3, deleted: 0",
                "subjects past the horizon: 12, erased: 0 (erase mode would need 2 batch(es))",
                "horizon 7 years: personal data of subjects whose last certificate expired \
                 before 2019-11-30T00:00:00+00:00",
            ]
        );
    }

    #[test]
    fn created_prefers_the_manifest_and_falls_back_to_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let name = "20200101T000000Z-0001";
        let export = dir.path().join(name);
        fs::create_dir(&export).unwrap();
        fs::write(
            export.join(MANIFEST),
            r#"{"created": "2024-05-06T07:08:09+09:00", "run_id": "x"}"#,
        )
        .unwrap();
        assert_eq!(
            export_created(&export, name),
            Some(Utc.with_ymd_and_hms(2024, 5, 5, 22, 8, 9).unwrap())
        );
        fs::write(export.join(MANIFEST), b"{ not json").unwrap();
        assert_eq!(
            export_created(&export, name),
            Some(Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(export_created(&export, "no-time-here"), None);
    }
}
