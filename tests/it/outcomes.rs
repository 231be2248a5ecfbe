//! Each task's outcome is recorded as it happened: a later task of the same scan failing, or
//! failing to start, leaves earlier tasks' rows as they really ended.

use std::time::Duration;

use crate::common::{Setup, TestDb};
use crate::daemon::Daemon;

const EXTRACT: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"pseudonymous\"\nschedule = \"0 3 1 */3 *\"\n";
const AGGREGATES: &str =
    "[tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\n";

/// (task, outcome, error) of every recorded run, by task.
async fn runs(db: &TestDb) -> Vec<(String, String, Option<String>)> {
    db.client
        .query(
            "SELECT task, outcome, error FROM certanon.runs ORDER BY task, started_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn last_success_run(db: &TestDb, task: &str) -> Option<String> {
    db.client
        .query_opt(
            "SELECT last_success_run FROM certanon.task_state WHERE task = $1",
            &[&task],
        )
        .await
        .unwrap()
        .and_then(|r| r.get(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_task_failing_leaves_a_published_export_a_success() {
    let db = TestDb::seeded_with(2000).await;
    let setup = Setup::new(&format!("{EXTRACT}{AGGREGATES}"));
    // The extract publishes first; the statistics' directory holds a leftover its run cannot
    // remove (a file where a hidden directory is expected), so that task fails after it.
    let stuck = setup.exports.join("monthly_statistics/.tmp-stuck");
    std::fs::create_dir_all(stuck.parent().unwrap()).unwrap();
    std::fs::write(&stuck, b"x").unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 1, "{stderr}");
    let recorded = runs(&db).await;
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(recorded[0].0, "monthly_statistics");
    assert_eq!(recorded[0].1, "failure");
    assert!(
        recorded[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains(".tmp-stuck"),
        "{recorded:?}"
    );
    assert_eq!(
        (
            recorded[1].0.as_str(),
            recorded[1].1.as_str(),
            &recorded[1].2
        ),
        ("research_extract", "success", &None)
    );
    assert!(last_success_run(&db, "research_extract").await.is_some());
    assert_eq!(setup.exports_of("research_extract").len(), 1);

    // The extract is not due again, so it is not published a second time.
    std::fs::remove_file(&stuck).unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(setup.exports_of("research_extract").len(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_task_failing_to_start_leaves_no_run_running() {
    let db = TestDb::seeded_with(2000).await;
    let setup = Setup::new(&format!("{EXTRACT}{AGGREGATES}"));
    db.client
        .batch_execute(
            "CREATE FUNCTION public.refuse_statistics() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.task = 'monthly_statistics' THEN RAISE EXCEPTION 'refused'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER refuse_statistics BEFORE INSERT ON certanon.runs \
             FOR EACH ROW EXECUTE FUNCTION public.refuse_statistics();",
        )
        .await
        .unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 1, "{stderr}");
    let recorded = runs(&db).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].0, "research_extract");
    assert_eq!(recorded[0].1, "failure", "{recorded:?}");
    assert!(setup.exports_of("research_extract").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_finding_the_lock_held_retries_after_a_growing_back_off() {
    let db = TestDb::seeded_with(2000).await;
    // A quarterly extract: without the back-off the daemon would wait months for its next fire.
    let setup = Setup::new(EXTRACT);
    let holder = db.connect().await;
    certanon::job::acquire_lock(&holder).await.unwrap();
    let mut daemon = Daemon::start(&setup, &db);
    daemon.wait_for("two retries", Duration::from_secs(20), |log| {
        log.matches("retrying after a back-off").count() >= 2
    });
    certanon::job::release_lock(&holder).await;
    daemon.wait_for(
        "a run once the lock is free",
        Duration::from_secs(60),
        |log| log.contains("task finished"),
    );
    let (code, _, log) = daemon.terminate();
    assert_eq!(code, Some(0), "{log}");
    let retries: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("retrying after a back-off"))
        .collect();
    assert!(retries[0].contains("retry_in_secs=2"), "{log}");
    assert!(retries[1].contains("retry_in_secs=4"), "{log}");
    assert_eq!(setup.exports_of("research_extract").len(), 1, "{log}");
}
