//! Prometheus metrics for node-exporter's textfile collector: after each run, every configured
//! task's last success and its last run's duration, rows and outcome, read from the ledger and
//! written atomically.
//!
//! The ledger rather than the run's own reports is the source, so a task that was not due this
//! time keeps its lines: an alert on `time() - certanon_last_success_timestamp_seconds` must
//! see every task after every run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use tokio_postgres::GenericClient;

use crate::config::Config;
use crate::db::{self, ConnectOptions};
use crate::error::{DbContext, Error, IoContext, Result};

/// What the textfile says about one task.
#[derive(Debug, Clone, PartialEq)]
struct TaskMetrics {
    task: String,
    /// Unix time the last successful run started; `None` if the task never succeeded.
    last_success: Option<f64>,
    /// The last finished (not dry) run, if any.
    last_run: Option<LastRun>,
}

#[derive(Debug, Clone, PartialEq)]
struct LastRun {
    duration_seconds: f64,
    rows: u64,
    success: bool,
}

/// Rewrites the configured textfile, if there is one, from the ledger.
pub(crate) async fn update(config: &Config, connect: &ConnectOptions) -> Result<()> {
    let Some(path) = &config.metrics.textfile else {
        return Ok(());
    };
    let client = db::connect(connect).await?;
    let tasks: Vec<&str> = config.tasks.keys().map(String::as_str).collect();
    let metrics = from_ledger(&client, &tasks).await?;
    write_textfile(path, &render(&metrics))
}

/// Every named task's metrics, in the order given.
async fn from_ledger(client: &impl GenericClient, tasks: &[&str]) -> Result<Vec<TaskMetrics>> {
    let rows = client
        .query(
            "SELECT t.task, extract(epoch FROM s.last_success_at)::float8, \
                    extract(epoch FROM r.finished_at - r.started_at)::float8, r.rows_written, \
                    r.outcome = 'success' \
               FROM unnest($1::text[]) WITH ORDINALITY AS t(task, i) \
               LEFT JOIN certanon.task_state s ON s.task = t.task \
               LEFT JOIN LATERAL ( \
                    SELECT started_at, finished_at, rows_written, outcome FROM certanon.runs \
                     WHERE task = t.task AND NOT dry_run AND finished_at IS NOT NULL \
                       AND outcome IN ('success', 'failure') \
                     ORDER BY started_at DESC LIMIT 1) r ON true \
              ORDER BY t.i",
            &[&tasks],
        )
        .await
        .during("reading the ledger for metrics")?;
    Ok(rows
        .iter()
        .map(|row| TaskMetrics {
            task: row.get(0),
            last_success: row.get(1),
            last_run: row.get::<_, Option<f64>>(2).map(|duration| LastRun {
                duration_seconds: duration,
                rows: row.get::<_, Option<i64>>(3).map_or(0, |n| n.max(0) as u64),
                success: row.get::<_, Option<bool>>(4).unwrap_or(false),
            }),
        })
        .collect())
}

/// The text exposition format. A task that never succeeded reports 0, so that a staleness alert
/// fires for it too.
fn render(tasks: &[TaskMetrics]) -> String {
    type Value = fn(&TaskMetrics) -> Option<f64>;
    let families: [(&str, &str, Value); 4] = [
        (
            "certanon_last_success_timestamp_seconds",
            "Unix time the task's last successful run started (0: never).",
            |t| Some(t.last_success.unwrap_or(0.0)),
        ),
        (
            "certanon_last_run_duration_seconds",
            "Wall-clock duration of the task's last run.",
            |t| t.last_run.as_ref().map(|r| r.duration_seconds),
        ),
        (
            "certanon_last_run_rows",
            "Rows the task's last run wrote (extract rows, aggregate cells, erased subjects).",
            |t| t.last_run.as_ref().map(|r| r.rows as f64),
        ),
        (
            "certanon_last_run_success",
            "1 if the task's last run succeeded, else 0.",
            |t| t.last_run.as_ref().map(|r| f64::from(u8::from(r.success))),
        ),
    ];
    let mut out = String::new();
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for task in tasks {
            if let Some(v) = value(task) {
                let _ = writeln!(out, "{name}{{task=\"{}\"}} {v}", escape_label(&task.task));
            }
        }
    }
    out
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes `text` to `path` through a temporary file in the same directory and a rename, so the
/// collector never reads half a file. The temporary name does not end in `.prom`, which the
/// collector ignores; the file is world-readable because node-exporter runs as another user.
fn write_textfile(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".certanon-metrics.")
        .tempfile_in(dir)
        .at(dir)?;
    tmp.write_all(text.as_bytes()).at(tmp.path())?;
    tmp.as_file().sync_all().at(tmp.path())?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).at(tmp.path())?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, last_success: Option<f64>, last_run: Option<LastRun>) -> TaskMetrics {
        TaskMetrics {
            task: name.into(),
            last_success,
            last_run,
        }
    }

    #[test]
    fn renders_every_family_per_task() {
        let text = render(&[
            task(
                "monthly_statistics",
                Some(1_790_000_000.0),
                Some(LastRun {
                    duration_seconds: 12.5,
                    rows: 4321,
                    success: true,
                }),
            ),
            task(
                "retention",
                Some(1_780_000_000.0),
                Some(LastRun {
                    duration_seconds: 0.25,
                    rows: 0,
                    success: false,
                }),
            ),
        ]);
        let expected = "\
# HELP certanon_last_success_timestamp_seconds Unix time the task's last successful run started (0: never).
# TYPE certanon_last_success_timestamp_seconds gauge
certanon_last_success_timestamp_seconds{task=\"monthly_statistics\"} 1790000000
certanon_last_success_timestamp_seconds{task=\"retention\"} 1780000000
# HELP certanon_last_run_duration_seconds Wall-clock duration of the task's last run.
# TYPE certanon_last_run_duration_seconds gauge
certanon_last_run_duration_seconds{task=\"monthly_statistics\"} 12.5
certanon_last_run_duration_seconds{task=\"retention\"} 0.25
# HELP certanon_last_run_rows Rows the task's last run wrote (extract rows, aggregate cells, erased subjects).
# TYPE certanon_last_run_rows gauge
certanon_last_run_rows{task=\"monthly_statistics\"} 4321
certanon_last_run_rows{task=\"retention\"} 0
# HELP certanon_last_run_success 1 if the task's last run succeeded, else 0.
# TYPE certanon_last_run_success gauge
certanon_last_run_success{task=\"monthly_statistics\"} 1
certanon_last_run_success{task=\"retention\"} 0
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_task_that_never_ran_reports_zero_success_and_no_run() {
        let text = render(&[task("research_extract", None, None)]);
        assert!(
            text.contains("certanon_last_success_timestamp_seconds{task=\"research_extract\"} 0\n")
        );
        assert!(!text.contains("certanon_last_run_rows{"));
        assert!(!text.contains("certanon_last_run_success{"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_textfile_is_replaced_whole_and_world_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("certanon.prom");
        write_textfile(&path, "old 1\n").unwrap();
        write_textfile(&path, "new 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new 2\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("certanon.prom")]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/certanon.prom");
        let err = write_textfile(&path, "x 1\n").unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
