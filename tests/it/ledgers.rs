//! Erasure that cannot go further than meant: the erase function refuses subjects the job's
//! selection should have skipped, a run erasing more than `max_erase_per_run` needs the
//! operator's confirmation, the erasure and export-deletion ledgers only grow, and two runs
//! that draw the same run id are both recorded.

use certanon::job::ledger;
use chrono::Utc;
use tokio_postgres::Client;

use crate::common::{Setup, TestDb, column};
use crate::retention::{fixture, job_connection};

/// Whether a subscriber's personal data is still there.
async fn still_named(c: &Client, id: i64) -> bool {
    c.query_one(
        "SELECT person_name IS NOT NULL FROM certinfo.subscribers WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn the_erase_function_itself_refuses_held_and_pending_subjects() {
    let db = TestDb::reference().await;
    fixture(&db.client).await;
    let job = job_connection(&db).await;
    // 1 is eligible; 5 is under a hold, 7 under one released only in the future, 8 has a
    // pending application: a caller holding EXECUTE asks for all of them.
    let erased: Vec<i64> = column(
        &job,
        "SELECT subscriber_id FROM certanon_src.erase_subjects(ARRAY[1, 5, 7, 8]::bigint[])",
        &[],
    )
    .await;
    assert_eq!(erased, [1]);
    assert!(!still_named(&db.client, 1).await);
    for id in [5, 7, 8] {
        assert!(still_named(&db.client, id).await, "subscriber {id} erased");
    }
}

#[tokio::test]
async fn the_job_role_can_only_append_to_its_ledgers() {
    let db = TestDb::reference().await;
    let job = job_connection(&db).await;
    ledger::start_run(&job, "run-1", "retention", "retention", "x", Utc::now())
        .await
        .unwrap();
    job.batch_execute(
        "INSERT INTO certanon.erasures (run_id, subject_pseudonym, batch, columns) \
             VALUES ('run-1', 'p1', 1, '{a}'); \
         INSERT INTO certanon.export_deletions (run_id, task, export_run, path) \
             VALUES ('run-1', 't', 'e1', '/x')",
    )
    .await
    .expect("the job appends to its ledgers");
    for table in ["certanon.erasures", "certanon.export_deletions"] {
        for sql in [
            format!("UPDATE {table} SET run_id = run_id"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
            format!("ALTER TABLE {table} DISABLE TRIGGER ALL"),
            format!("DROP TABLE {table}"),
        ] {
            let refused = job.batch_execute(&sql).await;
            assert!(refused.is_err(), "{sql} was allowed");
        }
        let rows: i64 = job
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(rows, 1, "{table}");
    }
    // The run ledger stays the job's to finish.
    job.batch_execute("UPDATE certanon.runs SET outcome = 'success' WHERE run_id = 'run-1'")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_run_drawing_a_taken_run_id_is_recorded_under_another() {
    let db = TestDb::reference().await;
    let job = job_connection(&db).await;
    let started = Utc::now();
    let taken = ledger::new_run_id(started);
    let first = ledger::start_run(&job, &taken, "a", "retention", "x", started)
        .await
        .unwrap();
    let second = ledger::start_run(&job, &taken, "b", "retention", "x", started)
        .await
        .expect("a second run in the same second with the same draw");
    assert_eq!(first, taken);
    assert_ne!(second, taken);
    assert_eq!(second[..16], taken[..16], "the same start time");
    let tasks: Vec<String> = column(
        &db.client,
        "SELECT task FROM certanon.runs WHERE run_id = ANY($1) ORDER BY task",
        &[&vec![first, second]],
    )
    .await;
    assert_eq!(tasks, ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_erasing_more_than_allowed_is_refused_unless_confirmed() {
    let db = TestDb::reference().await;
    fixture(&db.client).await;
    let setup = Setup::new(
        "[tasks.retention]\nkind = \"retention\"\nschedule = \"0 4 * * 0\"\n\
         personal_data_after_expiry = \"1000 days\"\nmode = \"erase\"\n",
    );
    // Today, 1, 2, 6 and 10 of the 13 subscribers holding personal data are past the horizon:
    // more than the default 5%.
    for confirm in [&[][..], &["--confirm-erase", "3"]] {
        let mut args = vec!["run", "--task", "retention", "--force"];
        args.extend_from_slice(confirm);
        let (code, _, stderr) = setup.certanon(&db, &args);
        assert_eq!(code, 78, "{stderr}");
        assert!(
            stderr.contains("would erase 4 of the 13 subjects"),
            "{stderr}"
        );
        assert!(stderr.contains("--confirm-erase 4"), "{stderr}");
        assert!(
            still_named(&db.client, 1).await,
            "erased without confirmation"
        );
    }
    let (code, _, stderr) = setup.certanon(
        &db,
        &[
            "run",
            "--task",
            "retention",
            "--force",
            "--confirm-erase",
            "4",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    for id in [1, 2, 6, 10] {
        assert!(!still_named(&db.client, id).await, "subscriber {id} kept");
    }
}
