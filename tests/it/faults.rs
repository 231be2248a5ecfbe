//! Faults end to end, on the real binary: the database connection lost mid-scan, the export
//! file system full mid-write, SIGTERM mid-run, the key file gone between runs. Each leaves no
//! partial export visible, the ledger row closed with the cause, the documented exit code, and
//! a line that says what and where.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Setup, TestDb};

const EXTRACT: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"pseudonymous\"\nschedule = \"0 3 1 */3 *\"\n";

/// Committed (visible) export directories below the export root.
fn visible_exports(setup: &Setup) -> Vec<std::path::PathBuf> {
    setup.exports_of("research_extract")
}

/// The research extract's runs: (outcome, error).
async fn recorded(db: &TestDb) -> Vec<(String, Option<String>)> {
    db.client
        .query(
            "SELECT outcome, error FROM certanon.runs WHERE task = 'research_extract' ORDER BY started_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The binary with `setup`'s config against `db`, its stderr piped.
fn command(setup: &Setup, db: &TestDb, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certanon"));
    cmd.args(["--config", setup.config.to_str().unwrap()])
        .args(args)
        .env_remove("CERTANON_CONFIG")
        .env_remove("RUST_LOG")
        .env("CERTANON_DATABASE_URL", &db.url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// The pid of the run's scan session, once its COPY has started.
async fn scan_backend(db: &TestDb) -> i32 {
    let clock = Instant::now();
    loop {
        let scan = db
            .client
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                    AND query ILIKE 'COPY%' AND pid <> pg_backend_pid() LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        if let Some(row) = scan {
            return row.get(0);
        }
        assert!(clock.elapsed() < Duration::from_secs(60), "no scan seen");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Checks that the run exited `code`, published nothing, and closed its one ledger row as a
/// failure; returns its stderr and the recorded cause.
async fn failed_without_export(
    setup: &Setup,
    db: &TestDb,
    out: &std::process::Output,
    code: i32,
) -> (String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(visible_exports(setup).is_empty(), "{stderr}");
    let runs = recorded(db).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].0, "failure", "{stderr}");
    (stderr, runs[0].1.clone().unwrap_or_default())
}

fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rfind(|l| l.starts_with("certanon: "))
        .unwrap_or_else(|| panic!("no final error line:\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scan_losing_its_connection_exits_69_and_records_why() {
    let db = TestDb::seeded().await;
    let setup = Setup::new(EXTRACT);
    let child = command(&setup, &db, &["run", "--force"]).spawn().unwrap();
    // The scan's own session, not the one holding the lock and the ledger.
    let scan = scan_backend(&db).await;
    db.client
        .execute("SELECT pg_terminate_backend($1)", &[&scan])
        .await
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stderr, cause) = failed_without_export(&setup, &db, &out, 69).await;
    assert!(cause.contains("database unreachable"), "{cause}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("task failed") && l.contains("database unreachable")),
        "{stderr}"
    );
    assert!(error_line(&stderr).contains("research_extract"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_file_system_publishes_nothing_and_records_the_file() {
    let db = TestDb::seeded_with(20_000).await;
    let setup = Setup::new(EXTRACT);
    let mut cmd = command(&setup, &db, &["run", "--force"]);
    // SAFETY: only async-signal-safe calls between fork and exec. A write past the limit fails
    // with EFBIG, as on a full file system, once SIGXFSZ is ignored.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 256 << 10,
                rlim_max: 256 << 10,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let (stderr, cause) = failed_without_export(&setup, &db, &out, 1).await;
    let root = setup.exports.display().to_string();
    assert!(
        cause.contains(&root) && cause.contains("too large"),
        "the cause names the file: {cause}"
    );
    assert!(error_line(&stderr).contains("research_extract"), "{stderr}");

    // Without the limit, the next run cleans up and publishes.
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(visible_exports(&setup).len(), 1);
    assert_no_hidden_leftovers(&setup.exports);
}

fn assert_no_hidden_leftovers(root: &Path) {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with('.'),
                "left behind: {}",
                entry.path().display()
            );
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_in_the_middle_of_a_run_records_it_and_publishes_nothing() {
    let db = TestDb::seeded().await;
    let setup = Setup::new(EXTRACT);
    let child = command(&setup, &db, &["run", "--force"]).spawn().unwrap();
    scan_backend(&db).await;
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    let (stderr, cause) = failed_without_export(&setup, &db, &out, 143).await;
    assert_no_hidden_leftovers(&setup.exports.join("research_extract"));
    assert!(cause.contains("SIGTERM"), "{cause}");
    assert!(
        error_line(&stderr).contains("stopped by SIGTERM"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_file_removed_between_runs_exits_78_naming_it() {
    let db = TestDb::seeded_with(2000).await;
    let setup = Setup::new(EXTRACT);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_file(&setup.key).unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 78, "{stderr}");
    let line = error_line(&stderr);
    assert!(line.contains(&setup.key.display().to_string()), "{stderr}");
    assert_eq!(visible_exports(&setup).len(), 1, "{stderr}");
    let runs = recorded(&db).await;
    assert_eq!(runs.len(), 1, "no run started without its key: {runs:?}");
    assert_eq!(runs[0].0, "success");
}
