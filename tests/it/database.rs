//! Migrations, the job role's privileges and the embedded cluster.

use crate::common::{Setup, TestDb, table_checksum};

#[tokio::test]
async fn db_init_is_idempotent_and_records_versions() {
    let mut db = TestDb::reference().await;
    let before = table_checksum(&db.client, "certanon.schema_version").await;
    let report = certanon::db::init(&mut db.client, true).await.unwrap();
    assert!(
        report.applied.is_empty(),
        "second init applied {:?}",
        report.applied
    );
    assert_eq!(
        report.bookkeeping_version,
        certanon::db::bookkeeping_version()
    );
    assert_eq!(
        table_checksum(&db.client, "certanon.schema_version").await,
        before
    );

    // Through the binary as well.
    let (code, _, stderr) = db.certanon(&["db", "init", "--reference-schema"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("already up to date"), "{stderr}");
}

#[tokio::test]
async fn db_init_refuses_a_newer_schema() {
    let db = TestDb::reference().await;
    db.client
        .execute("INSERT INTO certanon.schema_version (component, version, name) VALUES ('bookkeeping', 999, 'future')", &[])
        .await
        .unwrap();
    let (code, _, stderr) = db.certanon(&["db", "init"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("version 999"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
}

#[tokio::test]
async fn a_run_on_an_old_bookkeeping_schema_asks_for_db_init_which_upgrades_it() {
    let db = TestDb::reference().await;
    // The schema as the first release left it.
    db.client
        .batch_execute(
            "DELETE FROM certanon.schema_version WHERE component = 'bookkeeping' AND version > 1;
             ALTER TABLE certanon.runs DROP CONSTRAINT runs_outcome_check;
             ALTER TABLE certanon.runs ADD CONSTRAINT runs_outcome_check
                 CHECK (outcome IN ('running', 'success', 'failure', 'dry_run'));",
        )
        .await
        .unwrap();
    let setup = Setup::new(
        "[tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\n",
    );
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("at version 1"), "{stderr}");
    assert!(stderr.contains("certanon db init"), "{stderr}");

    let (code, _, stderr) = db.certanon(&["db", "init"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("0002_abandoned_runs"), "{stderr}");
    // The upgraded schema takes the new outcome.
    db.client
        .execute(
            "INSERT INTO certanon.runs (run_id, task, kind, started_at, outcome) \
             VALUES ('r', 't', 'aggregates', now(), 'abandoned')",
            &[],
        )
        .await
        .unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
}

#[tokio::test]
async fn job_role_reads_views_only() {
    let db = TestDb::reference().await;
    db.client
        .batch_execute(include_str!("../../sql/roles.sql"))
        .await
        .unwrap();
    db.client
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'certanon_login') THEN \
               CREATE ROLE certanon_login LOGIN; END IF; END $$;
             GRANT certanon_job TO certanon_login;
             GRANT CONNECT ON DATABASE {} TO certanon_login;",
            db.name
        ))
        .await
        .unwrap();
    let job = certanon::db::connect(&certanon::db::ConnectOptions::plain(format!(
        "{} user=certanon_login",
        db.url
    )))
    .await
    .unwrap();
    for view in [
        "subscribers",
        "applications",
        "acme_accounts",
        "certificates",
        "revocations",
        "legal_holds",
    ] {
        job.query(&format!("SELECT * FROM certanon_src.{view} LIMIT 1"), &[])
            .await
            .unwrap_or_else(|e| {
                panic!("job role cannot read certanon_src.{view}: {e}");
            });
    }
    let denied = |r: Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>| {
        let e = r.expect_err("must be denied");
        assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{e}"
        );
    };
    denied(
        job.query("SELECT * FROM certinfo.subscribers LIMIT 1", &[])
            .await,
    );
    denied(
        job.query(
            "UPDATE certinfo.certificates SET common_name = common_name RETURNING id",
            &[],
        )
        .await,
    );
    denied(
        job.query("DELETE FROM certinfo.certificates RETURNING id", &[])
            .await,
    );
    // Its own schema it may write, and migrate.
    job.query(
        "INSERT INTO certanon.task_state (task) VALUES ('probe') RETURNING task",
        &[],
    )
    .await
    .unwrap();
    job.query("SELECT * FROM certanon_src.erase_subjects('{}')", &[])
        .await
        .unwrap();
}

#[test]
fn embedded_cluster_stops_and_leaves_no_server() {
    let cluster = certanon::demo::cluster::Cluster::start(None).unwrap();
    let socket_dir = cluster.socket_dir().to_path_buf();
    let pid_file = socket_dir.join("data/postmaster.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(running(pid));
    drop(cluster);
    assert!(!running(pid), "postmaster {pid} still running");
    assert!(!socket_dir.exists(), "cluster directory left behind");
}

/// A process that exited but was not reaped yet (a zombie) no longer runs.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
        .unwrap_or(false)
}

/// The scan's transaction reads with one backend and no JIT, even where the planner would
/// otherwise go parallel, and its settings end with the transaction.
#[tokio::test]
async fn the_scan_uses_one_backend_and_its_settings_end_with_it() {
    let mut db = TestDb::seeded().await;
    // Parallel plans for any table size, so the default plan of the scan has a Gather node.
    db.client
        .batch_execute(
            "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
             SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;",
        )
        .await
        .unwrap();
    let explain = format!("EXPLAIN (FORMAT JSON) {}", certanon::source::SCAN_SQL);
    let plan = |rows: Vec<tokio_postgres::Row>| rows[0].get::<_, serde_json::Value>(0).to_string();
    let parallel = plan(db.client.query(&explain, &[]).await.unwrap());
    assert!(parallel.contains("Gather"), "control: {parallel}");

    {
        let snapshot = certanon::source::Snapshot::begin(&mut db.client)
            .await
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let drain = tokio::spawn(async move {
            let mut rows = 0;
            while let Some(batch) = rx.recv().await {
                rows += certanon::source::Batch::len(&batch);
            }
            rows
        });
        let scanned = snapshot.scan(tx).await.unwrap();
        assert_eq!(drain.await.unwrap() as u64, scanned);
        assert!(scanned > 0);
        let serial = plan(snapshot.tx.query(&explain, &[]).await.unwrap());
        assert!(!serial.contains("Gather"), "{serial}");
        for (setting, expected) in [("jit", "off"), ("work_mem", "32MB")] {
            let sql = format!("SHOW {setting}");
            let shown: String = snapshot.tx.query_one(&sql, &[]).await.unwrap().get(0);
            assert_eq!(shown, expected, "{setting}");
        }
        snapshot.tx.commit().await.unwrap();
    }
    let after = db
        .client
        .query_one("SHOW max_parallel_workers_per_gather", &[])
        .await
        .unwrap();
    assert_eq!(
        after.get::<_, String>(0),
        "2",
        "SET LOCAL ends with the scan"
    );
}
