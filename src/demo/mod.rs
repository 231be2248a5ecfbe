//! `certanon demo`: the main job on an embedded default. Starts a throwaway PostgreSQL cluster,
//! installs the reference schema, seeds synthetic data, runs every task once (research
//! extract, aggregate statistics with cell suppression and under differential privacy,
//! retention in report mode), verifies the exports, prints where they are, and stops the
//! cluster.

pub mod cluster;
pub mod compare;
pub mod seed;

use std::path::Path;

use crate::config::{Config, TaskKind};
use crate::db::{self, ConnectOptions};
use crate::demo::cluster::Cluster;
use crate::error::{DbContext, IoContext, Result};
use crate::job::{self, RunOptions};

/// The demo's configuration: the same keys a deployment uses.
fn demo_config(key_file: &Path, export_root: &Path) -> String {
    format!(
        r#"[keys]
hmac_key_file = "{key}"
key_id = "demo"

[export]
root = "{root}"

[privacy]
k = 5
max_suppression = 0.05

[tasks.research_extract]
kind = "research_extract"
mode = "anonymous"
schedule = "0 3 1 */3 *"

[privacy.dp]
epsilon = 1.0
budget = 12.0
budget_period = "year"

[tasks.monthly_statistics]
kind = "aggregates"
schedule = "30 2 1 * *"
retain_exports = "400 days"

[tasks.monthly_statistics_dp]
kind = "aggregates"
mode = "dp"
schedule = "30 2 1 * *"
retain_exports = "400 days"

[tasks.retention]
kind = "retention"
schedule = "0 4 * * 0"
personal_data_after_expiry = "7 years"
mode = "report"
"#,
        key = key_file.display(),
        root = export_root.display()
    )
}

/// `json` prints one JSON object per task instead of the lines for people.
pub fn demo(rows: u64, dir: &Path, json: bool) -> Result<()> {
    std::fs::create_dir_all(dir).at(dir)?;
    let dir = dir.canonicalize().at(dir)?;
    let secrets = tempfile::tempdir().at(std::env::temp_dir())?;
    let key_file = secrets.path().join("hmac-key");
    crate::transform::pseudonymize::keygen(&key_file)?;
    let config_path = secrets.path().join("certanon-demo.toml");
    let config = Config::from_str(&demo_config(&key_file, &dir), &config_path)?;

    let (cluster, connect) = seeded_cluster(rows)?;
    let reports = crate::job::runtime()?.block_on(job::run_once(
        &config,
        &connect,
        &RunOptions {
            force: true,
            ..Default::default()
        },
    ))?;

    if json {
        for r in &reports {
            print_json(r);
        }
        drop(cluster);
        return job::check_reports(&reports);
    }
    println!("certanon demo: {rows} synthetic certificates, every task run once\n");
    for r in &reports {
        let s = &r.stats;
        println!("{} ({}): {}", r.task, r.kind, r.outcome.as_str());
        if let Some(e) = &r.error {
            println!("  error: {e}");
        }
        println!(
            "  rows read {}, written {}, suppressed rows {}, suppressed cells {}, {:.1} s",
            s.rows_read,
            s.rows_written,
            s.rows_suppressed,
            s.cells_suppressed,
            r.duration.as_secs_f64()
        );
        if let Some(dir) = &s.export_dir {
            let verdict = match verify_export(dir) {
                Ok(()) => "verify: ok".to_string(),
                Err(e) => format!("verify: {e}"),
            };
            println!("  export: {dir}\n  {verdict}");
            if r.kind == TaskKind::Aggregates {
                let report = Path::new(dir).join(crate::outputs::report::FILE_NAME);
                println!("  report: {} (open it in a browser)", report.display());
            }
        }
        if matches!(r.kind, TaskKind::Retention { .. }) {
            for line in crate::job::retention::render_report(&s.details) {
                println!("  {line}");
            }
        }
        if let Some(extract) = s.details.get(crate::outputs::extract::FILE_NAME) {
            print_subjects(extract);
        }
    }
    println!("\nRe-check an export any time with: certanon verify <export dir>");
    drop(cluster);
    job::check_reports(&reports)
}

/// A throwaway cluster whose database `certanon_demo` holds the reference schema and `rows`
/// synthetic certificates; stopped when the cluster is dropped.
pub(crate) fn seeded_cluster(rows: u64) -> Result<(Cluster, ConnectOptions)> {
    tracing::info!("starting a throwaway PostgreSQL cluster");
    let cluster = Cluster::start(None)?;
    let connect = ConnectOptions::plain(cluster.connection_string("certanon_demo"));
    crate::job::runtime()?.block_on(async {
        let admin = db::connect(&ConnectOptions::plain(
            cluster.connection_string("postgres"),
        ))
        .await?;
        admin
            .batch_execute("CREATE DATABASE certanon_demo")
            .await
            .during("creating the demo database")?;
        let mut client = db::connect(&connect).await?;
        db::init(&mut client, true).await?;
        tracing::info!(certificates = rows, "seeding synthetic data");
        let options = crate::demo::seed::SeedOptions {
            certificates: rows,
            ..Default::default()
        };
        crate::demo::seed::seed(&mut client, &options).await
    })?;
    Ok((cluster, connect))
}

fn verify_export(dir: &str) -> Result<()> {
    crate::outputs::verify::verify(Path::new(dir)).map(|_| ())
}

/// One task's outcome, counts, export and report as one JSON line.
fn print_json(r: &job::TaskReport) {
    let s = &r.stats;
    let line = serde_json::json!({
        "task": r.task,
        "kind": r.kind.as_str(),
        "outcome": r.outcome.as_str(),
        "error": r.error,
        "rows_read": s.rows_read,
        "rows_written": s.rows_written,
        "rows_suppressed": s.rows_suppressed,
        "cells_suppressed": s.cells_suppressed,
        "duration_secs": r.duration.as_secs_f64(),
        "export": s.export_dir,
        "verify": s.export_dir.as_deref().map(|dir| match verify_export(dir) {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        }),
        "details": s.details,
    });
    println!("{line}");
}

/// The extract's subject-level figures and levels, from its manifest facts.
fn print_subjects(facts: &serde_json::Value) {
    let s = &facts["subjects"];
    println!(
        "  subscribers {} scanned, {} released ({} suppressed whole, {} in part); rows released {}; \
         subjects the file shows {}, {} with a profile fewer than k share (max risk {})",
        s["subscribers_scanned"],
        s["subscribers_released"],
        s["subscribers_suppressed"],
        s["subscribers_partly_suppressed"],
        facts["rows_released"],
        s["in_file"],
        s["profile_below_k"],
        s["max_reidentification_risk"],
    );
    if let Some(levels) = facts["levels"].as_object() {
        let levels: Vec<String> = levels
            .iter()
            .map(|(q, l)| format!("{q}={}", l.as_str().unwrap_or("?")))
            .collect();
        println!("  levels: {}", levels.join(", "));
    }
}
