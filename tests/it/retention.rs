//! Retention against a real database: who is eligible, what erasure touches (and never touches),
//! batches, resuming and the erasure ledger (export expiry has a file of its own).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use certanon::config::Config;
use certanon::job::ledger::{self, RunStats};
use certanon::job::retention::{self, Eraser, Retention};
use certanon::transform::pseudonymize::{Class, Key, Pseudonymizer};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tokio_postgres::Client;

use crate::common::{Setup, TestDb, column, source_checksums, table_checksum};

/// The fixture's clock: horizon 1000 days, so the cutoff is 2027-09-05.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap()
}

const HORIZON: &str = "1000 days";

fn horizon() -> TimeDelta {
    TimeDelta::days(1000)
}

fn cutoff() -> DateTime<Utc> {
    now() - horizon()
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

/// Long before the cutoff.
fn old() -> DateTime<Utc> {
    at(2019, 3, 1)
}

/// Within the horizon.
fn recent() -> DateTime<Utc> {
    at(2029, 1, 1)
}

/// The subscribers the fixture makes eligible; every other one has a reason not to be.
const ELIGIBLE: [i64; 5] = [1, 2, 6, 10, 12];

async fn subscriber(c: &Client, id: i64, kind: &str, created: DateTime<Utc>) {
    let org = (kind == "organization").then(|| format!("株式会社{id}商事"));
    c.execute(
        "INSERT INTO certinfo.subscribers (id, kind, organization_name, person_name, person_name_kana, \
                email, phone, postal_code, postal_address, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        &[
            &id,
            &kind,
            &org,
            &format!("氏名{id}番"),
            &format!("シメイ{id}バン"),
            &format!("subject{id}@example.jp"),
            &format!("090-5555-{id:04}"),
            &format!("100-{id:04}"),
            &format!("東京都千代田区丸の内{id}丁目"),
            &created,
        ],
    )
    .await
    .unwrap();
}

/// An application through the operator, or through `acme` when given.
async fn application(
    c: &Client,
    id: i64,
    subscriber: i64,
    acme: Option<i64>,
    submitted: DateTime<Utc>,
    status: &str,
) {
    let (channel, operator) = match acme {
        Some(_) => ("acme", None),
        None => ("operator", Some(1i64)),
    };
    c.execute(
        "INSERT INTO certinfo.applications (id, subscriber_id, operator_id, acme_account_id, channel, \
                product, applicant_name, applicant_email, applicant_phone, approver_email, submitted_at, status) \
         VALUES ($1, $2, $3, $4, $5, 'DV', $6, $7, $8, $9, $10, $11)",
        &[
            &id,
            &subscriber,
            &operator,
            &acme,
            &channel,
            &format!("申請者{id}"),
            &format!("applicant{id}@example.jp"),
            &format!("03-7777-{id:04}"),
            &format!("approver{id}@example.jp"),
            &submitted,
            &status,
        ],
    )
    .await
    .unwrap();
}

async fn certificate(c: &Client, id: i64, application: i64, not_after: DateTime<Utc>) {
    let not_before = not_after - TimeDelta::days(90);
    c.execute(
        "INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name, \
                subject_alt_names, validation_type, key_algorithm, key_size, signature_algorithm, \
                not_before, not_after, issued_at, ct_precert_logged, der) \
         VALUES ($1, $2, $3, $4, ARRAY[$4], 'DV', 'RSA', 2048, 'sha256WithRSAEncryption', \
                 $5, $6, $5, true, '\\x308201'::bytea)",
        &[
            &id,
            &application,
            &format!("{id:016x}"),
            &format!("www{id}.example.jp"),
            &not_before,
            &not_after,
        ],
    )
    .await
    .unwrap();
}

async fn acme_account(c: &Client, id: i64, subscriber: i64, created: DateTime<Utc>) {
    c.execute(
        "INSERT INTO certinfo.acme_accounts (id, subscriber_id, contact_email, key_thumbprint, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &id,
            &subscriber,
            &format!("acme{id}@example.jp"),
            &format!("thumb{id}"),
            &created,
        ],
    )
    .await
    .unwrap();
}

async fn hold(c: &Client, subscriber: i64, released: Option<DateTime<Utc>>) {
    c.execute(
        "INSERT INTO certinfo.legal_holds (subscriber_id, reason, placed_at, released_at) \
         VALUES ($1, 'court order', $2, $3)",
        &[&subscriber, &at(2024, 1, 1), &released],
    )
    .await
    .unwrap();
}

/// A subscriber created long ago with one issued application and one long-expired certificate.
async fn old_customer(c: &Client, id: i64, kind: &str) {
    subscriber(c, id, kind, old()).await;
    application(c, id * 10 + 1, id, None, old(), "issued").await;
    certificate(c, id * 100 + 1, id * 10 + 1, at(2021, 1, 1)).await;
}

/// Fourteen subscribers, each eligible or not for one stated reason.
pub(crate) async fn fixture(c: &Client) {
    c.execute(
        "INSERT INTO certinfo.designated_operators (id, name, corporate_number, created_at) \
         VALUES (1, '取次店', '1234567890123', '2015-01-01Z')",
        &[],
    )
    .await
    .unwrap();
    // 1: eligible; also an ACME account with its own order, and a revoked certificate.
    old_customer(c, 1, "individual").await;
    acme_account(c, 1001, 1, old()).await;
    application(c, 12, 1, Some(1001), old(), "issued").await;
    certificate(c, 102, 12, at(2020, 6, 1)).await;
    c.execute(
        "INSERT INTO certinfo.revocations VALUES (101, '2020-02-01Z', 1, 'subscriber')",
        &[],
    )
    .await
    .unwrap();
    // 2: eligible organization (its organization name is not personal data).
    old_customer(c, 2, "organization").await;
    // 3: a certificate still within the horizon.
    old_customer(c, 3, "individual").await;
    application(c, 32, 3, None, at(2026, 1, 1), "issued").await;
    certificate(c, 302, 32, recent()).await;
    // 4: an application submitted within the horizon.
    old_customer(c, 4, "individual").await;
    application(c, 42, 4, None, recent(), "rejected").await;
    // 5: a legal hold in force.
    old_customer(c, 5, "individual").await;
    hold(c, 5, None).await;
    // 6: eligible: its legal hold was released.
    old_customer(c, 6, "individual").await;
    hold(c, 6, Some(at(2025, 1, 1))).await;
    // 7: a legal hold released only in the future.
    old_customer(c, 7, "individual").await;
    hold(c, 7, Some(at(2031, 1, 1))).await;
    // 8: a pending application, however old.
    old_customer(c, 8, "individual").await;
    application(c, 82, 8, None, old(), "pending").await;
    // 9: erased already.
    old_customer(c, 9, "individual").await;
    c.execute(
        "UPDATE certinfo.subscribers SET person_name = NULL, person_name_kana = NULL, email = NULL, \
                phone = NULL, postal_code = NULL, postal_address = NULL, \
                personal_data_erased_at = '2025-01-01Z', updated_at = '2025-01-01Z' WHERE id = 9",
        &[],
    )
    .await
    .unwrap();
    // 10: eligible: an old rejected application and never a certificate.
    subscriber(c, 10, "individual", old()).await;
    application(c, 101, 10, None, old(), "rejected").await;
    // 11: registered within the horizon, nothing ordered yet.
    subscriber(c, 11, "individual", recent()).await;
    // 12: eligible: its last certificate expired a day before the cutoff.
    old_customer(c, 12, "individual").await;
    certificate(c, 1202, 121, cutoff() - TimeDelta::days(1)).await;
    // 13: its last certificate expired a day after the cutoff.
    old_customer(c, 13, "individual").await;
    certificate(c, 1302, 131, cutoff() + TimeDelta::days(1)).await;
    // 14: opened an ACME account within the horizon.
    old_customer(c, 14, "individual").await;
    acme_account(c, 14001, 14, recent()).await;
}

pub(crate) fn config(root: &Path, mode: &str, batch_size: u32) -> Config {
    let text = format!(
        r#"[keys]
hmac_key_file = "/nonexistent/hmac-key"
key_id = "test"

[export]
root = "{}"

[tasks.stats]
kind = "aggregates"
schedule = "0 3 * * *"
retain_exports = "30 days"

[tasks.extract]
kind = "research_extract"
schedule = "0 3 * * *"

[tasks.retention]
kind = "retention"
schedule = "0 4 * * 0"
personal_data_after_expiry = "{HORIZON}"
mode = "{mode}"
batch_size = {batch_size}
max_erase_per_run = "100%"
"#,
        root.display()
    );
    Config::from_str(&text, Path::new("/etc/certanon/test.toml")).unwrap()
}

pub(crate) fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::new(&Key::random("test").unwrap())
}

/// One retention run the way `run` drives it: a ledger row first (unless dry), then the task.
pub(crate) async fn retain(
    client: &mut Client,
    config: &Config,
    p: &Pseudonymizer,
    run_id: &str,
    dry_run: bool,
) -> RunStats {
    if !dry_run {
        ledger::start_run(
            &*client,
            run_id,
            "retention",
            "retention",
            &config.sha256,
            now(),
        )
        .await
        .unwrap();
    }
    retention::run(Retention {
        client,
        config,
        task: &config.tasks["retention"],
        run_id,
        dry_run,
        now: now(),
        pseudonymizer: p,
        confirm_erase: None,
    })
    .await
    .unwrap()
}

async fn checksums(c: &Client, tables: &[&str]) -> Vec<String> {
    let mut sums = Vec::new();
    for table in tables {
        sums.push(table_checksum(c, table).await);
    }
    sums
}

/// (subject pseudonym, batch) of every erasure a run recorded, in batch order.
async fn erasures(c: &Client, run_id: &str) -> Vec<(String, i32)> {
    c.query(
        "SELECT subject_pseudonym, batch FROM certanon.erasures WHERE run_id = $1 ORDER BY batch, id",
        &[&run_id],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

fn expected_pseudonyms(p: &Pseudonymizer) -> BTreeSet<String> {
    ELIGIBLE
        .iter()
        .map(|id| p.pseudonym(Class::Subscriber, &id.to_string()))
        .collect()
}

/// Every personal value in the fixture.
async fn personal_values(c: &Client) -> Vec<String> {
    column(
        c,
        "SELECT v FROM (
            SELECT unnest(ARRAY[organization_name, person_name, person_name_kana, email, phone,
                                postal_code, postal_address]) FROM certinfo.subscribers
            UNION ALL
            SELECT unnest(ARRAY[applicant_name, applicant_email, applicant_phone, approver_email])
              FROM certinfo.applications
            UNION ALL
            SELECT contact_email FROM certinfo.acme_accounts) AS x(v)
         WHERE v IS NOT NULL",
        &[],
    )
    .await
}

/// A connection as the least-privilege job role: the contract views, the erase function and
/// the bookkeeping schema, nothing of certinfo.
pub(crate) async fn job_connection(db: &TestDb) -> Client {
    let setup = format!(
        "{}
         DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'certanon_ret_login') THEN
           CREATE ROLE certanon_ret_login LOGIN; END IF; END $$;
         GRANT certanon_job TO certanon_ret_login;
         GRANT CONNECT ON DATABASE {} TO certanon_ret_login;",
        include_str!("../../sql/roles.sql"),
        db.name
    );
    // Roles are cluster-wide and other tests create them concurrently: a lost race is retried.
    let mut attempts = 0;
    while let Err(e) = db.client.batch_execute(&setup).await {
        attempts += 1;
        assert!(attempts < 5, "setting up the job role: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    certanon::db::connect(&certanon::db::ConnectOptions::plain(format!(
        "{} user=certanon_ret_login",
        db.url
    )))
    .await
    .unwrap()
}

#[tokio::test]
async fn eligibility_follows_the_rules() {
    let db = TestDb::reference().await;
    fixture(&db.client).await;
    let count = || retention::eligible_count(&db.client, now(), horizon());
    assert_eq!(count().await.unwrap(), 5);
    // Releasing the hold in force makes 5 eligible; a hold released in the future still counts.
    db.client
        .execute(
            "UPDATE certinfo.legal_holds SET released_at = $1 WHERE subscriber_id = 5",
            &[&(now() - TimeDelta::days(1))],
        )
        .await
        .unwrap();
    assert_eq!(count().await.unwrap(), 6);
    // So does the end of the pending application of 8.
    db.client
        .execute(
            "UPDATE certinfo.applications SET status = 'cancelled' WHERE id = 82",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(count().await.unwrap(), 7);
    // A year later 13's certificate is past the horizon too, and 7's hold has been released.
    let later = now() + TimeDelta::days(365);
    assert_eq!(
        retention::eligible_count(&db.client, later, horizon())
            .await
            .unwrap(),
        9
    );
}

#[tokio::test]
async fn report_mode_erases_no_one_and_a_dry_run_changes_nothing() {
    let mut db = TestDb::reference().await;
    fixture(&db.client).await;
    let root = tempfile::tempdir().unwrap();
    let old_export = root.path().join("stats/20200101T000000Z-0001");
    std::fs::create_dir_all(&old_export).unwrap();
    std::fs::write(
        old_export.join("manifest.json"),
        r#"{"created": "2020-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let p = pseudonymizer();
    let before = (
        source_checksums(&db.client).await,
        checksums(
            &db.client,
            &["certanon.erasures", "certanon.export_deletions"],
        )
        .await,
    );

    // Erase mode, but a dry run: only a report, and nothing changes.
    let erase = config(root.path(), "erase", 2);
    let stats = retain(&mut db.client, &erase, &p, "run-dry", true).await;
    assert_eq!(stats.details["mode"], "report");
    assert_eq!(stats.details["configured_mode"], "erase");
    assert_eq!(stats.rows_written, 0);
    assert_eq!(stats.details["subjects_eligible"], 5);
    assert_eq!(stats.details["subjects_erased"], 0);
    assert_eq!(stats.details["exports_expired"], 1);
    assert_eq!(stats.details["exports_deleted"], 0);
    let after_dry = (
        source_checksums(&db.client).await,
        checksums(
            &db.client,
            &["certanon.erasures", "certanon.export_deletions"],
        )
        .await,
    );
    assert_eq!(after_dry, before);
    assert!(old_export.join("manifest.json").is_file());

    // Report mode erases no one; the expired export goes all the same.
    let report = config(root.path(), "report", 2);
    let stats = retain(&mut db.client, &report, &p, "run-report", false).await;
    assert_eq!(stats.rows_read, 5);
    assert_eq!(stats.rows_written, 0);
    assert_eq!(stats.details["mode"], "report");
    assert_eq!(stats.details["subjects_eligible"], 5);
    assert_eq!(stats.details["subjects_erased"], 0);
    assert_eq!(stats.details["batches"], 0);
    assert_eq!(stats.details["batches_needed"], 3);
    assert_eq!(stats.details["exports_expired"], 1);
    assert_eq!(stats.details["exports_deleted"], 1);
    assert_eq!(stats.details["horizon"], "1000 days");
    assert_eq!(source_checksums(&db.client).await, before.0);
    assert_eq!(
        checksums(&db.client, &["certanon.erasures"]).await,
        before.1[..1]
    );
    assert!(!old_export.exists());
}

/// Through the binary: a report-mode run's log line and ledger row count the eligible subjects
/// and say that no one was erased.
#[tokio::test]
async fn a_report_run_logs_and_records_that_it_erased_no_one() {
    let db = TestDb::reference().await;
    fixture(&db.client).await;
    let setup = Setup::new(
        "[tasks.retention]\nkind = \"retention\"\nschedule = \"0 4 * * 0\"\n\
         personal_data_after_expiry = \"1 day\"\nmode = \"report\"\n",
    );
    // The binary reads the real clock, so the fixture's eligible subjects are counted by it too.
    let eligible = retention::eligible_count(&db.client, Utc::now(), TimeDelta::days(1))
        .await
        .unwrap();
    assert!(
        eligible > 0,
        "nothing eligible: the report would prove nothing"
    );
    let before = source_checksums(&db.client).await;

    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "retention", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("none erased (report only)"), "{stderr}");
    assert!(!stderr.contains("personal data erased"), "{stderr}");
    let summary = stderr
        .lines()
        .find(|l| l.contains("task finished"))
        .unwrap_or_else(|| panic!("no summary line: {stderr}"));
    for field in [
        "mode=\"report\"".to_string(),
        format!("subjects_eligible={eligible}"),
        "subjects_erased=0".to_string(),
    ] {
        assert!(summary.contains(&field), "{field} missing: {summary}");
    }

    let row = db
        .client
        .query_one(
            "SELECT outcome, rows_read, rows_written, details FROM certanon.runs \
              WHERE task = 'retention'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "success");
    assert_eq!(row.get::<_, i64>(1), eligible as i64);
    assert_eq!(row.get::<_, i64>(2), 0);
    let details: serde_json::Value = row.get(3);
    assert_eq!(details["mode"], "report");
    assert_eq!(details["subjects_eligible"], eligible);
    assert_eq!(details["subjects_erased"], 0);
    assert_eq!(details["batches"], 0);
    let erasures: i64 = db
        .client
        .query_one("SELECT count(*) FROM certanon.erasures", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(erasures, 0);
    assert_eq!(source_checksums(&db.client).await, before);
}

#[tokio::test]
async fn erase_mode_erases_exactly_the_eligible_subjects() {
    let db = TestDb::reference().await;
    fixture(&db.client).await;
    let mut job = job_connection(&db).await;
    let root = tempfile::tempdir().unwrap();
    let p = pseudonymizer();
    let eligible = eligible_array();
    let untouched = untouched_by_erasure(&eligible);
    let untouched: Vec<&str> = untouched.iter().map(String::as_str).collect();
    let before = checksums(&db.client, &untouched).await;
    let personal = personal_values(&db.client).await;
    assert!(personal.contains(&"subject1@example.jp".to_string()));
    assert!(personal.contains(&"acme1001@example.jp".to_string()));

    let erase = config(root.path(), "erase", 2);
    let stats = retain(&mut job, &erase, &p, "run-erase", false).await;
    assert_eq!(stats.rows_read, 5);
    assert_eq!(stats.rows_written, 5);
    assert_eq!(stats.details["mode"], "erase");
    assert_eq!(stats.details["subjects_erased"], 5);
    assert_eq!(stats.details["batches"], 3);

    assert_eq!(checksums(&db.client, &untouched).await, before);
    assert_eligible_subjects_erased(&db.client, &eligible).await;
    assert_erasure_ledger(&db.client, &p).await;
    assert_no_personal_value_recorded(&db.client, &personal, &stats.details.to_string()).await;

    // Nothing is left to erase, and a second run erases nothing twice.
    assert_eq!(
        retention::eligible_count(&job, now(), horizon())
            .await
            .unwrap(),
        0
    );
    let again = retain(&mut job, &erase, &p, "run-again", false).await;
    assert_eq!(again.details["subjects_erased"], 0);
    assert_eq!(again.details["batches"], 0);
    assert!(erasures(&db.client, "run-again").await.is_empty());
}

/// The subscriber ids eligible in the fixture, as an SQL array literal.
fn eligible_array() -> String {
    format!(
        "'{{{}}}'::bigint[]",
        ELIGIBLE.map(|i| i.to_string()).join(",")
    )
}

/// What erasure must leave as it was: other tables, other subjects' rows, and the non-personal
/// columns of the erased subjects' rows.
fn untouched_by_erasure(eligible: &str) -> Vec<String> {
    vec![
        "certinfo.designated_operators".to_string(),
        "certinfo.certificates".to_string(),
        "certinfo.revocations".to_string(),
        "certinfo.legal_holds".to_string(),
        format!("(SELECT * FROM certinfo.subscribers WHERE id <> ALL({eligible}))"),
        format!("(SELECT * FROM certinfo.applications WHERE subscriber_id <> ALL({eligible}))"),
        format!("(SELECT * FROM certinfo.acme_accounts WHERE subscriber_id <> ALL({eligible}))"),
        // The non-personal columns of the erased subjects' rows.
        format!(
            "(SELECT id, kind, country, created_at FROM certinfo.subscribers WHERE id = ANY({eligible}))"
        ),
        "(SELECT organization_name FROM certinfo.subscribers WHERE kind = 'organization')".into(),
        "(SELECT id, subscriber_id, operator_id, acme_account_id, channel, product, submitted_at, status \
           FROM certinfo.applications)"
            .into(),
        "(SELECT id, subscriber_id, key_thumbprint, created_at, deactivated_at FROM certinfo.acme_accounts)"
            .into(),
    ]
}

/// Every eligible subject's personal columns are empty, on the subscriber and on its
/// applications and ACME accounts.
async fn assert_eligible_subjects_erased(c: &Client, eligible: &str) {
    let row = c
        .query_one(
            &format!(
                "SELECT
                   (SELECT count(*) FROM certinfo.subscribers WHERE id = ANY({eligible})
                       AND num_nonnulls(person_name, person_name_kana, email, phone, postal_code, postal_address) = 0
                       AND (kind = 'organization' OR organization_name IS NULL)
                       AND personal_data_erased_at IS NOT NULL),
                   (SELECT count(*) FROM certinfo.applications WHERE subscriber_id = ANY({eligible})
                       AND num_nonnulls(applicant_name, applicant_email, applicant_phone, approver_email) > 0),
                   (SELECT count(*) FROM certinfo.acme_accounts WHERE subscriber_id = ANY({eligible})
                       AND contact_email IS NOT NULL)"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2)
        ),
        (5, 0, 0)
    );
}

/// The ledger: one row per subject, named by pseudonym, in batches of two.
async fn assert_erasure_ledger(c: &Client, p: &Pseudonymizer) {
    let ledger = erasures(c, "run-erase").await;
    assert_eq!(
        ledger.iter().map(|(_, b)| *b).collect::<Vec<_>>(),
        [1, 1, 2, 2, 3]
    );
    let named: BTreeSet<String> = ledger.into_iter().map(|(s, _)| s).collect();
    assert_eq!(named, expected_pseudonyms(p));
    let columns: Vec<String> = c
        .query_one(
            "SELECT columns FROM certanon.erasures WHERE run_id = 'run-erase' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(columns.contains(&"subscribers.email".to_string()));
}

/// No personal value anywhere in the ledger or the run's report.
async fn assert_no_personal_value_recorded(c: &Client, personal: &[String], report: &str) {
    let ledger_text: String = c
        .query_one(
            "SELECT concat_ws(E'\\n',
                 (SELECT string_agg(t::text, E'\\n') FROM certanon.erasures t),
                 (SELECT string_agg(t::text, E'\\n') FROM certanon.runs t),
                 (SELECT string_agg(t::text, E'\\n') FROM certanon.task_state t))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for value in personal {
        assert!(
            !ledger_text.contains(value.as_str()),
            "ledger holds {value}"
        );
        assert!(!report.contains(value.as_str()), "report holds {value}");
    }
}

#[tokio::test]
async fn an_interrupted_erasure_resumes_where_it_stopped() {
    let mut db = TestDb::reference().await;
    fixture(&db.client).await;
    let root = tempfile::tempdir().unwrap();
    let erase = config(root.path(), "erase", 2);
    let p = pseudonymizer();
    let certificates = table_checksum(&db.client, "certinfo.certificates").await;

    // The first run commits one batch and is killed during the next.
    ledger::start_run(
        &db.client,
        "run-killed",
        "retention",
        "retention",
        &erase.sha256,
        now(),
    )
    .await
    .unwrap();
    {
        let mut killed = db.connect().await;
        let mut eraser = Eraser::new(&mut killed, "run-killed", &p, now(), horizon(), 2).unwrap();
        assert!(eraser.next_batch().await.unwrap());
        assert_eq!((eraser.batches(), eraser.erased()), (1, 2));
        // Killed inside its second batch: the connection goes away with the transaction open.
        killed
            .batch_execute("BEGIN; SELECT * FROM certanon_src.erase_subjects('{6,10}')")
            .await
            .unwrap();
    }
    assert_eq!(
        retention::eligible_count(&db.client, now(), horizon())
            .await
            .unwrap(),
        3
    );

    let stats = retain(&mut db.client, &erase, &p, "run-resumed", false).await;
    assert_eq!(stats.rows_read, 3);
    assert_eq!(stats.details["subjects_erased"], 3);
    assert_eq!(stats.details["batches"], 2);

    let killed = erasures(&db.client, "run-killed").await;
    let resumed = erasures(&db.client, "run-resumed").await;
    assert_eq!(killed.iter().map(|(_, b)| *b).collect::<Vec<_>>(), [1, 1]);
    assert_eq!(
        resumed.iter().map(|(_, b)| *b).collect::<Vec<_>>(),
        [1, 1, 2]
    );
    let all: Vec<String> = killed.into_iter().chain(resumed).map(|(s, _)| s).collect();
    let distinct: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), 5, "one ledger row per subject");
    assert_eq!(distinct, expected_pseudonyms(&p));
    assert_eq!(
        table_checksum(&db.client, "certinfo.certificates").await,
        certificates
    );
}

/// Erase rate on 20,000 eligible subscribers, each with an application, a certificate and an
/// ACME account. `cargo test --test it retention::erase_rate -- --ignored --nocapture`
#[tokio::test]
#[ignore]
async fn erase_rate() {
    let mut db = TestDb::reference().await;
    db.client
        .batch_execute(
            "INSERT INTO certinfo.designated_operators VALUES (1, 'op', NULL, '2015-01-01Z');
             INSERT INTO certinfo.subscribers (id, kind, person_name, person_name_kana, email, phone,
                    postal_code, postal_address, created_at, updated_at)
             SELECT i, 'individual', '氏名' || i, 'シメイ' || i, 's' || i || '@example.jp', '090' || i,
                    '100-0001', '東京都' || i, '2018-01-01Z', '2018-01-01Z'
               FROM generate_series(1, 20000) i;
             INSERT INTO certinfo.acme_accounts (id, subscriber_id, contact_email, key_thumbprint, created_at)
             SELECT i, i, 'a' || i || '@example.jp', 't' || i, '2018-01-01Z' FROM generate_series(1, 20000) i;
             INSERT INTO certinfo.applications (id, subscriber_id, operator_id, channel, product,
                    applicant_name, applicant_email, applicant_phone, approver_email, submitted_at, status)
             SELECT i, i, 1, 'operator', 'DV', '申請者' || i, 'p' || i || '@example.jp', '03' || i,
                    'q' || i || '@example.jp', '2018-02-01Z', 'issued' FROM generate_series(1, 20000) i;
             INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name,
                    subject_alt_names, validation_type, key_algorithm, key_size, signature_algorithm,
                    not_before, not_after, issued_at, ct_precert_logged, der)
             SELECT i, i, lpad(to_hex(i), 16, '0'), 'w' || i || '.example.jp', ARRAY['w' || i], 'DV',
                    'RSA', 2048, 'sha256WithRSAEncryption', '2018-02-01Z', '2019-02-01Z', '2018-02-01Z',
                    true, '\\x30'::bytea FROM generate_series(1, 20000) i;
             ANALYZE;",
        )
        .await
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let text_config = config(root.path(), "erase", 1000);
    let p = pseudonymizer();
    let clock = Instant::now();
    let stats = retain(&mut db.client, &text_config, &p, "run-rate", false).await;
    let secs = clock.elapsed().as_secs_f64();
    assert_eq!(stats.rows_written, 20_000);
    assert_eq!(stats.details["batches"], 20);
    println!(
        "erased 20000 subjects in {secs:.2} s: {:.0} subjects/s",
        20_000.0 / secs
    );
}
