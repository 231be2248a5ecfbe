//! Operating the job: the run lock, missed-schedule catch-up, `status`, abandoned runs, logs
//! free of personal data, exit codes and the metrics textfile (the daemon and TLS have files
//! of their own). Small
//! seeded databases keep these fast; every test runs the real binary.

use std::time::{Duration, Instant};

use certanon::job::ledger::{self, Outcome, RunStats};
use chrono::{DateTime, Utc};

use crate::common::{Setup, TestDb, certanon_cmd, source_checksums};

pub(crate) const AGGREGATES: &str =
    "[tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\n";
pub(crate) const EXTRACT: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"pseudonymous\"\nschedule = \"0 3 1 */3 *\"\n";
const RETENTION_REPORT: &str = "[tasks.retention]\nkind = \"retention\"\nschedule = \"0 4 * * 0\"\npersonal_data_after_expiry = \"7 years\"\nmode = \"report\"\n";

/// The one value a query returns.
async fn value<T: tokio_postgres::types::FromSqlOwned>(
    db: &TestDb,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> T {
    db.client.query_one(sql, params).await.unwrap().get(0)
}

pub(crate) async fn count(db: &TestDb, sql: &str) -> i64 {
    value(db, sql, &[]).await
}

pub(crate) async fn runs_of(db: &TestDb, task: &str) -> i64 {
    value(
        db,
        "SELECT count(*) FROM certanon.runs WHERE task = $1",
        &[&task],
    )
    .await
}

async fn outcome_of(db: &TestDb, run_id: &str) -> String {
    value(
        db,
        "SELECT outcome FROM certanon.runs WHERE run_id = $1",
        &[&run_id],
    )
    .await
}

pub(crate) async fn set_last_success(db: &TestDb, task: &str, at: DateTime<Utc>) {
    db.client
        .execute(
            "INSERT INTO certanon.task_state (task, last_success_at, last_outcome) \
             VALUES ($1, $2, 'success')",
            &[&task, &at],
        )
        .await
        .unwrap();
}

pub(crate) fn nonempty_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_finding_the_lock_taken_exits_75_at_once() {
    let db = TestDb::seeded_with(2000).await;
    let setup = Setup::new(EXTRACT);
    let holder = db.connect().await;
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&certanon::job::LOCK_KEY])
        .await
        .unwrap();

    let clock = Instant::now();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 75, "{stderr}");
    assert!(
        clock.elapsed() < Duration::from_secs(5),
        "waited for the lock: {:?}",
        clock.elapsed()
    );
    let lines = nonempty_lines(&stderr);
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    assert!(
        lines[0].starts_with("certanon: another certanon run holds the lock"),
        "{stderr}"
    );
    assert_eq!(runs_of(&db, "research_extract").await, 0);
    assert!(setup.exports_of("research_extract").is_empty());

    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&certanon::job::LOCK_KEY])
        .await
        .unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(setup.exports_of("research_extract").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_run_lock_is_free_once_released_while_its_session_lives() {
    // A run releases the lock before it disconnects, so the next run started at once (a timer
    // catching up, an operator retrying) does not depend on the old backend having exited.
    let db = TestDb::empty().await;
    let first = db.connect().await;
    let second = db.connect().await;
    certanon::job::acquire_lock(&first).await.unwrap();
    let refused = certanon::job::acquire_lock(&second).await.unwrap_err();
    assert_eq!(refused.exit_code(), 75, "{refused}");

    certanon::job::release_lock(&first).await;
    certanon::job::acquire_lock(&second)
        .await
        .expect("the lock is free while the first session is still open");
    assert!(!first.is_closed());
}

#[tokio::test(flavor = "multi_thread")]
async fn missed_fires_are_caught_up_by_one_run() {
    let db = TestDb::seeded_with(2000).await;
    let setup = Setup::new(&format!("{EXTRACT}{RETENTION_REPORT}"));
    // Four quarterly fires missed; retention succeeded a moment ago, before its next weekly fire.
    set_last_success(
        &db,
        "research_extract",
        Utc::now() - chrono::TimeDelta::days(400),
    )
    .await;
    set_last_success(&db, "retention", Utc::now()).await;

    let (code, _, stderr) = setup.certanon(&db, &["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(runs_of(&db, "research_extract").await, 1, "{stderr}");
    assert_eq!(runs_of(&db, "retention").await, 0, "retention was not due");
    let recent = count(
        &db,
        "SELECT count(*) FROM certanon.task_state \
          WHERE task = 'research_extract' AND last_success_at > now() - interval '5 minutes'",
    )
    .await;
    assert_eq!(recent, 1, "the catch-up run became the last success");

    let (code, _, stderr) = setup.certanon(&db, &["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("no task is due"), "{stderr}");
    assert_eq!(runs_of(&db, "research_extract").await, 1);
    assert_eq!(setup.exports_of("research_extract").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_every_task_with_last_outcome_and_next_due() {
    let db = TestDb::seeded_with(2000).await;
    let setup = Setup::new(&format!("{AGGREGATES}{RETENTION_REPORT}{EXTRACT}"));
    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    // A failed retention attempt, as the ledger records one.
    let started = Utc::now();
    let run_id = ledger::new_run_id(started);
    let stats = RunStats::default();
    ledger::start_run(&db.client, &run_id, "retention", "retention", "x", started)
        .await
        .unwrap();
    ledger::finish_run(
        &db.client,
        &run_id,
        "retention",
        Outcome::Failure,
        &stats,
        Some("boom"),
        started,
    )
    .await
    .unwrap();

    let (code, stdout, stderr) = setup.certanon(&db, &["--log-format", "json", "status"]);
    assert_eq!(code, 0, "{stderr}");
    let tasks = status_lines(&stdout);
    assert_eq!(tasks.len(), 3, "one object per task:\n{stdout}");
    let task = |name: &str| {
        tasks
            .iter()
            .find(|t| t["task"] == name)
            .unwrap_or_else(|| panic!("no line for {name}:\n{stdout}"))
    };

    let extract = task("research_extract");
    assert_eq!(extract["kind"], "research_extract");
    let time = |v: &serde_json::Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let last_success = time(&extract["last_success"]);
    assert!(Utc::now() - last_success < chrono::TimeDelta::minutes(5));
    assert_eq!(extract["outcome"], "success", "{stdout}");
    assert_eq!(extract["due_now"], false, "{stdout}");
    let schedule = certanon::job::schedule::Schedule::parse("0 3 1 */3 *", None).unwrap();
    assert_eq!(
        Some(time(&extract["next_due"])),
        schedule.next_after(last_success),
        "{stdout}"
    );

    let retention = task("retention");
    assert!(
        retention["last_success"].is_null(),
        "never succeeded:\n{stdout}"
    );
    assert_eq!(retention["outcome"], "failure", "{stdout}");
    assert_eq!(retention["last_error"], "boom", "{stdout}");
    assert_eq!(retention["due_now"], true, "{stdout}");

    let statistics = task("monthly_statistics");
    for key in ["last_success", "last_attempt", "outcome", "last_error"] {
        assert!(statistics[key].is_null(), "never attempted:\n{stdout}");
    }
    assert_eq!(statistics["due_now"], true, "{stdout}");

    // For people: a header, one line per task, the failure's error, columns that line up.
    let (code, stdout, stderr) = setup.certanon(&db, &["status"]);
    assert_eq!(code, 0, "{stderr}");
    let lines = nonempty_lines(&stdout);
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(lines[0].starts_with("task"), "{stdout}");
    assert!(lines.contains(&"    last error: boom"), "{stdout}");
    let column = |line: &str, heading: &str| {
        let at = lines[0].find(heading).unwrap();
        line.char_indices()
            .nth(lines[0][..at].chars().count())
            .map(|(i, _)| i)
    };
    for line in lines.iter().filter(|l| !l.starts_with(' ')) {
        for heading in [
            "kind",
            "last success",
            "last attempt",
            "outcome",
            "next due",
        ] {
            let at = column(line, heading).unwrap_or_else(|| panic!("{stdout}"));
            assert!(
                line[..at].ends_with("  ") && !line[at..].starts_with(' '),
                "{heading} does not line up:\n{stdout}"
            );
        }
    }
    let extract_line = lines
        .iter()
        .find(|l| l.starts_with("research_extract"))
        .unwrap();
    assert!(
        extract_line.contains(" UTC"),
        "UTC without a time_zone:\n{stdout}"
    );
    assert!(
        !extract_line.contains("+00:00"),
        "no RFC 3339 timestamps:\n{stdout}"
    );
    assert!(stdout.contains("now (never succeeded)"), "{stdout}");
}

/// The JSON objects `status --log-format json` prints, one per line.
fn status_lines(stdout: &str) -> Vec<serde_json::Value> {
    nonempty_lines(stdout)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_times_in_the_configured_zone_to_the_minute() {
    let db = TestDb::seeded_with(200).await;
    let setup = Setup::new(AGGREGATES);
    let text = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(&setup.config, format!("time_zone = \"Asia/Tokyo\"\n{text}")).unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = setup.certanon(&db, &["status"]);
    assert_eq!(code, 0, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("monthly_statistics"))
        .unwrap_or_else(|| panic!("{stdout}"));
    // `2026-11-30 12:00 JST`: date, minutes and the zone's abbreviation, nothing finer.
    let times: Vec<chrono::NaiveDateTime> = line
        .match_indices(" JST")
        .map(|(at, _)| {
            let text = &line[at - 16..at];
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
                .unwrap_or_else(|e| panic!("{e}: {text:?} in {line}"))
        })
        .collect();
    assert_eq!(
        times.len(),
        3,
        "last success, last attempt, next due:\n{stdout}"
    );
    let tokyo = Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .naive_local();
    assert!(
        (tokyo - times[0]).abs() < chrono::TimeDelta::minutes(5),
        "{line}"
    );
    assert!(!line.contains("UTC") && !line.contains("+00:00"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_marks_runs_left_running_by_a_dead_process_abandoned() {
    let db = TestDb::seeded_with(200).await;
    let setup = Setup::new(&format!("{AGGREGATES}{RETENTION_REPORT}"));
    // Two runs a killed daemon left behind: one of the task about to run, one of another.
    let started = Utc::now() - chrono::TimeDelta::hours(1);
    let mut stale = Vec::new();
    for (task, kind) in [
        ("monthly_statistics", "aggregates"),
        ("retention", "retention"),
    ] {
        let run_id = ledger::new_run_id(started);
        ledger::start_run(&db.client, &run_id, task, kind, "x", started)
            .await
            .unwrap();
        stale.push(run_id);
    }

    // A dry run writes nothing, the ledger included.
    let (code, _, stderr) = setup.certanon(
        &db,
        &[
            "run",
            "--task",
            "monthly_statistics",
            "--force",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    for run_id in &stale {
        assert_eq!(outcome_of(&db, run_id).await, "running");
    }

    let (code, _, stderr) =
        setup.certanon(&db, &["run", "--task", "monthly_statistics", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("marked abandoned"), "{stderr}");
    for run_id in &stale {
        assert_eq!(outcome_of(&db, run_id).await, "abandoned", "{run_id}");
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM certanon.runs WHERE outcome = 'running'"
        )
        .await,
        0
    );
    // The run that did the marking is not one of them, and the task's state follows its
    // latest attempt: the new success for one task, the abandoned run for the other.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM certanon.runs \
              WHERE task = 'monthly_statistics' AND outcome = 'success'"
        )
        .await,
        1
    );
    let (code, stdout, stderr) = setup.certanon(&db, &["--log-format", "json", "status"]);
    assert_eq!(code, 0, "{stderr}");
    let tasks = status_lines(&stdout);
    let outcome = |task: &str| {
        tasks
            .iter()
            .find(|t| t["task"] == task)
            .and_then(|t| t["outcome"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(
        outcome("retention").as_deref(),
        Some("abandoned"),
        "{stdout}"
    );
    assert_eq!(
        outcome("monthly_statistics").as_deref(),
        Some("success"),
        "{stdout}"
    );
}

/// Every personal value in the source: names, e-mail addresses, phone numbers, addresses.
async fn personal_values(db: &TestDb) -> Vec<String> {
    db.client
        .query(
            "SELECT DISTINCT v FROM (
               SELECT unnest(ARRAY[person_name, person_name_kana, email, phone, postal_code,
                                   postal_address]) v FROM certinfo.subscribers
               UNION ALL SELECT unnest(ARRAY[applicant_name, applicant_email, applicant_phone,
                                             approver_email]) FROM certinfo.applications
               UNION ALL SELECT contact_email FROM certinfo.acme_accounts
             ) s WHERE v IS NOT NULL AND v <> ''",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        // Foreign postal codes such as "2000" cannot be told from a count in a log line.
        .filter(|v| {
            v.chars()
                .any(|c| !c.is_ascii_digit() && c != '-' && c != ' ')
                || v.chars().filter(char::is_ascii_digit).count() >= 7
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_of_every_task_kind_hold_no_personal_data() {
    let erase = "[tasks.retention]\nkind = \"retention\"\nschedule = \"0 4 * * 0\"\npersonal_data_after_expiry = \"1 day\"\nmode = \"erase\"\nbatch_size = 50\nmax_erase_per_run = \"100%\"\n";
    for format in ["json", "text"] {
        // The privacy gate's audit is slow on sparse tables; 20,000 rows keep it quick.
        let db = TestDb::seeded_with(20_000).await;
        let setup = Setup::new(&format!("{EXTRACT}{AGGREGATES}{erase}"));
        let values = personal_values(&db).await;
        assert!(values.len() > 20_000, "fixture too small: {}", values.len());
        let before = source_checksums(&db.client).await;

        let (code, stdout, stderr) =
            setup.certanon(&db, &["-vv", "--log-format", format, "run", "--force"]);
        assert_eq!(code, 0, "{stderr}");
        let erased = count(&db, "SELECT count(*) FROM certanon.erasures").await;
        assert!(
            erased > 0,
            "retention erased nothing, so its logs were not exercised"
        );
        assert!(
            stderr.lines().count() > 10,
            "suspiciously quiet trace log:\n{stderr}"
        );
        if format == "json" {
            for line in stderr.lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            }
        }
        // The data is synthetic, so the failure may show what leaked and where.
        let leaked: Vec<String> = values
            .iter()
            .filter_map(|v| {
                stderr
                    .lines()
                    .chain(stdout.lines())
                    .find(|l| l.contains(v.as_str()))
                    .map(|l| format!("{v:?} in: {l}"))
            })
            .collect();
        assert!(
            leaked.is_empty(),
            "{} personal values appear in the {format} log:\n{}",
            leaked.len(),
            leaked[..leaked.len().min(5)].join("\n")
        );

        let after = source_checksums(&db.client).await;
        for table in ["certinfo.certificates", "certinfo.revocations"] {
            let find =
                |sums: &[(String, String)]| sums.iter().find(|(t, _)| t == table).cloned().unwrap();
            assert_eq!(find(&after), find(&before), "{table} changed");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_exits_69_within_the_connect_timeout() {
    let setup = Setup::new(&format!(
        "[database]\nconnect_timeout_secs = 2\n\n{AGGREGATES}"
    ));
    let config = setup.config.to_str().unwrap();
    // Refused at once, and silently dropped (a blackhole address, or an unroutable network).
    for url in [
        "host=127.0.0.1 port=1 user=x dbname=x",
        "host=10.255.255.1 port=5432 user=x dbname=x",
    ] {
        let clock = Instant::now();
        let (code, _, stderr) = certanon_cmd(
            &["--config", config, "--database-url", url, "run", "--force"],
            &[],
        );
        assert_eq!(code, 69, "{url}: {stderr}");
        assert!(
            clock.elapsed() < Duration::from_secs(5),
            "{url}: took {:?}",
            clock.elapsed()
        );
        let lines = nonempty_lines(&stderr);
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].starts_with("certanon: database unreachable"),
            "{stderr}"
        );
    }
    // The cause is in the line, not only tokio-postgres's "error connecting to server".
    let (_, _, stderr) = certanon_cmd(
        &[
            "--config",
            config,
            "--database-url",
            "host=127.0.0.1 port=1 user=x dbname=x",
            "status",
        ],
        &[],
    );
    assert!(stderr.contains("refused"), "{stderr}");
}

#[test]
fn configuration_and_usage_errors_have_their_exit_codes() {
    // A key the config does not know: 78, naming the file and line.
    let setup = Setup::new(&format!(
        "{AGGREGATES}retain_exports = \"400 days\"\nbogus = 1\n"
    ));
    let text = std::fs::read_to_string(&setup.config).unwrap();
    let line = text.lines().position(|l| l.starts_with("bogus")).unwrap() + 1;
    let config = setup.config.to_str().unwrap();
    let (code, _, stderr) = certanon_cmd(&["--config", config, "run"], &[]);
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains(&format!("{config}:{line}")), "{stderr}");
    assert_eq!(nonempty_lines(&stderr).len(), 1, "{stderr}");

    // A schedule that never fires, given as an argument: a usage error.
    let (code, _, stderr) = certanon_cmd(&["schedule", "next", "0 0 30 2 *"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(nonempty_lines(&stderr).len(), 1, "{stderr}");

    // An unknown task is a usage error, found before the database is asked.
    let setup = Setup::new(AGGREGATES);
    let config = setup.config.to_str().unwrap();
    let (code, _, stderr) = certanon_cmd(
        &[
            "--config",
            config,
            "--database-url",
            "host=127.0.0.1 port=1 user=x dbname=x",
            "run",
            "--task",
            "monthly_statistic",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("monthly_statistic\""), "{stderr}");
    assert!(stderr.contains("tasks: monthly_statistics"), "{stderr}");

    // Bad command lines.
    for args in [
        &["run", "--bogus"][..],
        &[][..],
        &["schedule", "next"][..],
        &["seed", "--rows", "many"][..],
        &["-v", "-q", "status"][..],
    ] {
        let (code, _, stderr) = certanon_cmd(args, &[]);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
}

/// `name{task="task"} value` from a textfile.
fn sample(text: &str, name: &str, task: &str) -> Option<f64> {
    let prefix = format!("{name}{{task=\"{task}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().expect("a number"))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_run_rewrites_the_metrics_textfile() {
    let db = TestDb::seeded_with(2000).await;
    let metrics_dir = tempfile::tempdir().unwrap();
    let textfile = metrics_dir.path().join("certanon.prom");
    let setup = Setup::new(&format!(
        "[metrics]\ntextfile = \"{}\"\n\n{EXTRACT}{RETENTION_REPORT}",
        textfile.display()
    ));

    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&textfile).expect("the textfile is written");
    let now = Utc::now().timestamp() as f64;
    let success = sample(
        &text,
        "certanon_last_success_timestamp_seconds",
        "research_extract",
    )
    .expect("last success of the task that ran");
    assert!((now - success).abs() < 300.0, "{text}");
    assert_eq!(
        sample(&text, "certanon_last_run_success", "research_extract"),
        Some(1.0)
    );
    let rows: i64 = db
        .client
        .query_one(
            "SELECT rows_written FROM certanon.runs WHERE task = 'research_extract'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(rows > 0);
    assert_eq!(
        sample(&text, "certanon_last_run_rows", "research_extract"),
        Some(rows as f64)
    );
    let duration = sample(
        &text,
        "certanon_last_run_duration_seconds",
        "research_extract",
    )
    .expect("duration");
    assert!(duration > 0.0 && duration < 300.0, "{text}");
    // The task that has not run yet is listed as never successful, without a last run.
    assert_eq!(
        sample(
            &text,
            "certanon_last_success_timestamp_seconds",
            "retention"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "certanon_last_run_success", "retention"),
        None
    );

    // A dry run writes nothing; a run with nothing due keeps every task in the file.
    let (code, _, stderr) =
        setup.certanon(&db, &["run", "--task", "retention", "--force", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(&textfile).unwrap(), text);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "retention", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = setup.certanon(&db, &["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("no task is due"), "{stderr}");
    let text = std::fs::read_to_string(&textfile).unwrap();
    for task in ["research_extract", "retention"] {
        assert_eq!(
            sample(&text, "certanon_last_run_success", task),
            Some(1.0),
            "{text}"
        );
        assert!(sample(&text, "certanon_last_success_timestamp_seconds", task).unwrap() > 0.0);
    }
    let names: Vec<_> = std::fs::read_dir(metrics_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("certanon.prom")],
        "temporary files left"
    );
}
