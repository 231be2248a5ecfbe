//! `certanon daemon`: it runs what is due on its own clock and stops cleanly on SIGTERM, whether
//! it is in the middle of a run or asleep, publishing nothing half-written.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Setup, TestDb};
use chrono::Utc;

use crate::operations::{AGGREGATES, EXTRACT, count, runs_of, set_last_success};

/// A running `certanon daemon` whose stderr is collected as it comes.
pub(crate) struct Daemon {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    pub(crate) fn start(setup: &Setup, db: &TestDb) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_certanon"))
            .args(["--config", setup.config.to_str().unwrap(), "daemon"])
            .env_remove("CERTANON_CONFIG")
            .env_remove("RUST_LOG")
            .env("CERTANON_DATABASE_URL", &db.url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the daemon");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Daemon { child, stderr }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until `done` holds, panicking (after killing the daemon) past `timeout`.
    pub(crate) fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&str) -> bool,
    ) {
        let clock = Instant::now();
        while !done(&self.log()) {
            if clock.elapsed() > timeout || self.child.try_wait().unwrap().is_some() {
                let _ = self.child.kill();
                panic!("{what} did not happen:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends SIGTERM and returns the exit code and how long the daemon took to exit.
    pub(crate) fn terminate(mut self) -> (Option<i32>, Duration, String) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: signalling our own child process.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let clock = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread drain the pipe.
                std::thread::sleep(Duration::from_millis(50));
                return (status.code(), clock.elapsed(), self.log());
            }
            if clock.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the daemon ignored SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Hidden (`.`-prefixed) entries anywhere below `root`, and visible directories at depth two
/// (`<root>/<task>/<run id>`), which would be exports.
fn export_tree(root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut hidden = Vec::new();
    let mut visible = Vec::new();
    let Ok(top) = std::fs::read_dir(root) else {
        return (hidden, visible);
    };
    for entry in top.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            hidden.push(entry.path());
            continue;
        }
        for sub in std::fs::read_dir(entry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if sub.file_name().to_string_lossy().starts_with('.') {
                hidden.push(sub.path());
            } else {
                visible.push(sub.path());
            }
        }
    }
    (hidden, visible)
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_running_daemon_and_publishes_nothing() {
    let db = TestDb::seeded_with(20_000).await;
    let setup = Setup::new(&format!("{EXTRACT}{AGGREGATES}"));
    let mut daemon = Daemon::start(&setup, &db);
    let exports = setup.exports.clone();
    // The scan has spilled into hidden directories at the export root, and the run is in its
    // CPU-bound stretch (the privacy gate), when SIGTERM comes.
    daemon.wait_for("the end of the scan", Duration::from_secs(60), |log| {
        log.contains("scan finished") && !export_tree(&exports).0.is_empty()
    });
    let (code, took, log) = daemon.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} to stop:\n{log}"
    );
    assert!(log.contains("SIGTERM"), "{log}");
    let (_, visible) = export_tree(&setup.exports);
    assert!(
        visible.is_empty(),
        "a partial export is visible: {visible:?}"
    );
    assert!(
        !log.contains("task finished"),
        "the run finished before SIGTERM, so this test proved nothing:\n{log}"
    );

    let running = "SELECT count(*) FROM certanon.runs WHERE outcome = 'running'";
    assert!(
        count(&db, running).await > 0,
        "the killed run left no ledger row"
    );

    // The next run cleans whatever the interrupted one left, marks its ledger rows abandoned
    // and publishes a complete export.
    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count(&db, running).await, 0, "{stderr}");
    assert!(
        count(
            &db,
            "SELECT count(*) FROM certanon.runs WHERE outcome = 'abandoned'"
        )
        .await
            > 0
    );
    let (hidden, visible) = export_tree(&setup.exports);
    assert!(hidden.is_empty(), "leftovers: {hidden:?}");
    assert_eq!(visible.len(), 1, "{visible:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_sleeping_daemon_promptly() {
    let db = TestDb::reference().await;
    let setup = Setup::new(AGGREGATES);
    set_last_success(&db, "monthly_statistics", Utc::now()).await;
    let mut daemon = Daemon::start(&setup, &db);
    daemon.wait_for("sleeping", Duration::from_secs(30), |log| {
        log.contains("sleeping")
    });
    let (code, took, log) = daemon.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} to stop:\n{log}"
    );
    assert!(log.contains("no task is due"), "{log}");
    assert_eq!(runs_of(&db, "monthly_statistics").await, 0);
}
