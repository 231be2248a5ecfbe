//! Export expiry: a retention run deletes the exports older than their task's
//! `retain_exports`, in every personal-data mode, records each deletion, and leaves alone what
//! no task owns.

use std::path::Path;

use chrono::TimeDelta;

use crate::common::TestDb;
use crate::retention::{config, now, pseudonymizer, retain};

fn export_dir(task_dir: &Path, name: &str, manifest: Option<&str>) -> std::path::PathBuf {
    let dir = task_dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("aggregates.csv"), "a,b\r\n").unwrap();
    if let Some(manifest) = manifest {
        std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    }
    dir
}

#[tokio::test]
async fn exports_expire_after_their_retention() {
    let mut db = TestDb::reference().await;
    let root = tempfile::tempdir().unwrap();
    let stats_dir = root.path().join("stats");
    let created = |days: i64| {
        format!(
            r#"{{"run_id": "x", "created": "{}"}}"#,
            (now() - TimeDelta::days(days)).to_rfc3339()
        )
    };
    // Expired by its manifest, although its name says it is new.
    let by_manifest = export_dir(&stats_dir, "20300530T000000Z-0001", Some(&created(40)));
    // Kept by its manifest, although its name says it is old.
    let kept = export_dir(&stats_dir, "20200101T000000Z-0002", Some(&created(10)));
    // An unreadable manifest: the name's time decides (old).
    let by_name = export_dir(&stats_dir, "20300401T000000Z-0003", Some("{ garbage"));
    // Not an export: no manifest.
    let no_manifest = export_dir(&stats_dir, "20200101T000000Z-0004", None);
    // Another run's export being written, old as it is.
    let writing = export_dir(
        &stats_dir,
        ".tmp-20200101T000000Z-0005",
        Some(&created(400)),
    );
    // Remains of an earlier retention run that stopped between rename and removal.
    let remains = export_dir(&stats_dir, ".tmp-expired-20200101T000000Z-0006", None);
    // A task without retain_exports keeps everything.
    let extract = export_dir(
        &root.path().join("extract"),
        "20200101T000000Z-0007",
        Some(&created(4000)),
    );
    let all = [
        &by_manifest,
        &kept,
        &by_name,
        &no_manifest,
        &writing,
        &remains,
        &extract,
    ];

    // A directory no configured task owns.
    let orphan = export_dir(
        &root.path().join("old_task"),
        "20200101T000000Z-0008",
        Some(&created(4000)),
    );
    let orphan_task = root.path().join("old_task");

    let p = pseudonymizer();
    let dry = retain(
        &mut db.client,
        &config(root.path(), "report", 10),
        &p,
        "run-dry",
        true,
    )
    .await;
    assert_eq!(dry.details["exports_expired"], 2);
    assert_eq!(dry.details["exports_deleted"], 0);
    assert!(
        all.iter().all(|d| d.is_dir()) && orphan.is_dir(),
        "a dry run deleted something"
    );

    // Report mode erases no one, but exports expire all the same.
    let report = retain(
        &mut db.client,
        &config(root.path(), "report", 10),
        &p,
        "run-report",
        false,
    )
    .await;
    assert_eq!(report.details["exports_expired"], 2);
    assert_eq!(report.details["exports_deleted"], 2);
    assert_eq!(
        report.details["unowned_exports"],
        serde_json::json!([
            orphan_task.display().to_string(),
            no_manifest.display().to_string()
        ])
    );
    assert!(!by_manifest.exists());
    assert!(!by_name.exists());
    assert!(!remains.exists());
    for dir in [&kept, &no_manifest, &writing, &extract, &orphan] {
        assert!(
            dir.join("aggregates.csv").is_file(),
            "{} touched",
            dir.display()
        );
    }
    let hidden: Vec<String> = std::fs::read_dir(&stats_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-expired-"))
        .collect();
    assert!(hidden.is_empty(), "left behind: {hidden:?}");

    let rows: Vec<(String, String, String, String)> = db
        .client
        .query(
            "SELECT run_id, task, export_run, path FROM certanon.export_deletions ORDER BY export_run",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let row = |dir: &Path| {
        (
            "run-report".to_string(),
            "stats".to_string(),
            dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir.display().to_string(),
        )
    };
    assert_eq!(rows, [row(&by_name), row(&by_manifest)]);
}
