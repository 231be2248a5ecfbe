//! The export root as the job leaves it: private modes, no symlinked or shared directories, a
//! dry run that touches nothing, and directories retention does not own shown by `status`.

use std::path::{Path, PathBuf};

use crate::common::{Setup, TestDb};

const AGGREGATES: &str = "[tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\nretain_exports = \"30 days\"\n";

/// Every path below `root`, sorted.
fn tree(root: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            }
            paths.push(entry.path());
        }
    }
    paths.sort();
    paths
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_writes_and_deletes_nothing() {
    let db = TestDb::seeded_with(2000).await;
    let setup = Setup::new(AGGREGATES);
    // Leftovers of a crashed run, and an expired export.
    std::fs::create_dir_all(setup.exports.join(".tmp-spill-crashed/x")).unwrap();
    std::fs::create_dir_all(setup.exports.join("monthly_statistics/.tmp-crashed")).unwrap();
    let old = setup
        .exports
        .join("monthly_statistics/20200101T000000Z-0001");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(
        old.join("manifest.json"),
        r#"{"created": "2020-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let before = tree(&setup.exports);

    let (code, _, stderr) = setup.certanon(&db, &["run", "--force", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(tree(&setup.exports), before, "{stderr}");
    let runs: i64 = db
        .client
        .query_one("SELECT count(*) FROM certanon.runs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_symlinked_export_root_is_refused_naming_it() {
    let db = TestDb::reference().await;
    let setup = Setup::new(AGGREGATES);
    let elsewhere = setup.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &setup.exports).unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 78, "{stderr}");
    let path = setup.exports.display().to_string();
    assert_eq!(
        stderr.lines().filter(|l| l.contains(&path)).count(),
        1,
        "one line naming {path}:\n{stderr}"
    );
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_export_directories_retention_does_not_own() {
    let db = TestDb::reference().await;
    let setup = Setup::new(AGGREGATES);
    let orphan = setup.exports.join("renamed_task");
    let no_manifest = setup
        .exports
        .join("monthly_statistics/20200101T000000Z-0001");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::create_dir_all(&no_manifest).unwrap();
    let (code, stdout, stderr) = setup.certanon(&db, &["status"]);
    assert_eq!(code, 0, "{stderr}");
    for dir in [&orphan, &no_manifest] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim() == dir.display().to_string()),
            "{} not listed:\n{stdout}",
            dir.display()
        );
    }
}
