//! Differentially private statistics on purpose-built data: the contribution bound, the
//! privacy budget ledger (retries spend nothing and repeat their noise, an over-budget release
//! exits 78 before anything is written), `status` and `verify`.

use std::path::Path;

use crate::common::{Setup, TestDb, certanon_cmd, column};

/// Subscribers 1..=n, each with one DV certificate issued on the 10th of last month, valid 90
/// days; subscriber 1000 gets `heavy` more certificates on the same day.
async fn last_month(n: i64, heavy: i64) -> TestDb {
    let db = TestDb::reference().await;
    db.client
        .execute(
            "WITH s AS (
               INSERT INTO certinfo.subscribers (id, kind, organization_name, postal_address, country, created_at, updated_at)
               SELECT i, 'organization', 'Org ' || i, '東京都千代田区丸の内1-1', 'JP', '2019-01-01', '2019-01-01'
                 FROM (SELECT generate_series(1, $1::bigint) UNION ALL SELECT 1000) g(i) RETURNING id),
             a AS (
               INSERT INTO certinfo.applications (id, subscriber_id, channel, product, submitted_at, status)
               SELECT id, id, 'other', 'DV', '2019-01-01', 'issued' FROM s RETURNING id),
             c AS (
               SELECT a.id AS app, a.id AS id FROM a WHERE a.id <> 1000
               UNION ALL SELECT 1000, 10000 + g FROM generate_series(1, $2::bigint) g)
             INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name, subject_alt_names,
                    validation_type, key_algorithm, key_size, signature_algorithm,
                    not_before, not_after, issued_at, ct_precert_logged, der)
             SELECT id, app, lpad(to_hex(id), 16, '0'), 'w' || id || '.example.co.jp', ARRAY['w' || id || '.example.co.jp'],
                    'DV', 'ECDSA', 256, 'ecdsa-with-SHA256', at, at + interval '90 days', at, true, '\\x00'::bytea
               FROM c, (SELECT date_trunc('month', now()) - interval '1 month' + interval '9 days' AS at) t",
            &[&n, &heavy],
        )
        .await
        .expect("purpose-built rows");
    db
}

fn dp_task(epsilon: &str, budget: &str) -> String {
    format!(
        "[privacy.dp]\nepsilon = {epsilon}\nbudget = {budget}\nmax_certificates = 5\nmax_months = 3\nmax_certificate_months = 4\nwindow_months = 6\n\n\
         [tasks.stats_dp]\nkind = \"aggregates\"\nmode = \"dp\"\nschedule = \"@monthly\"\n"
    )
}

/// The rows of a table whose leading columns are `key` (from its totals file when the key
/// holds `TOTAL`), as (count, margin of error); every one of them published.
fn rows(dir: &Path, table: &str, key: &[&str]) -> Vec<(u64, u64)> {
    let file = if key.contains(&"TOTAL") {
        format!("{table}_totals.csv")
    } else {
        format!("{table}.csv")
    };
    let mut reader = csv::Reader::from_path(dir.join(file)).expect("csv");
    let header = reader.headers().expect("header").clone();
    let at = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (count, status, margin) = (at("count"), at("status"), at("margin_of_error_95"));
    reader
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| key.iter().enumerate().all(|(i, k)| &r[i] == *k))
        .map(|r| {
            assert_eq!(&r[status], "published");
            (r[count].parse().unwrap(), r[margin].parse().unwrap())
        })
        .collect()
}

fn last_month_label() -> String {
    let now = chrono::Utc::now();
    let index = i64::from(chrono::Datelike::year(&now)) * 12
        + i64::from(chrono::Datelike::month0(&now))
        - 1;
    format!("{}-{:02}", index / 12, index % 12 + 1)
}

fn verify(dir: &Path) {
    let (code, out, err) = certanon_cmd(&["verify", dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "verify {}: {out}{err}", dir.display());
}

/// One subscriber with 1,000 certificates counts with 5 of them (max_certificates) in every
/// table, whatever its share of the data.
#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_with_a_thousand_certificates_moves_a_cell_by_the_bound_only() {
    let db = last_month(40, 1000).await;
    // ε = 100 over 10 tables: noise of scale 5/10 on the certificate tables, so a count is
    // within a few units of its bounded value.
    let setup = Setup::new(&dp_task("100", "1000"));
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let dir = &setup.exports_of("stats_dp")[0];
    verify(dir);
    let month = last_month_label();
    // 40 subscribers with one certificate, one with 1,001 of which 5 count: 45, not 1,041.
    for (table, key) in [
        ("issued_by_month_channel", vec![month.as_str(), "other"]),
        (
            "issued_by_month_type_channel",
            vec![month.as_str(), "DV", "other"],
        ),
        ("issued_by_month_key_type", vec![month.as_str(), "TOTAL"]),
        ("active_by_month_type", vec![month.as_str(), "DV"]),
    ] {
        let found = rows(dir, table, &key);
        assert_eq!(found.len(), 1, "{table} {key:?}");
        // A total sums the clamped noise of its cells: its margin is wider.
        let (count, margin) = found[0];
        assert!(margin <= 6, "{table}: margin {margin}");
        assert!(
            count.abs_diff(45) <= 6 + margin,
            "{table} {key:?}: {count}, bound 5 keeps it near 45"
        );
    }
    // Distinct-subscriber series count the heavy subscriber once: 41.
    let (count, _) = rows(dir, "subscribers_new_by_month", &[&month])[0];
    assert!(count.abs_diff(41) <= 6, "new subscribers: {count}");
    // The report states the release's ε and each table's margin of error, and withholds nothing.
    let page = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    assert!(
        page.contains("Privacy loss of this release (ε)</dt><dd>100</dd>"),
        "no ε in the report"
    );
    assert_eq!(page.matches("95 % margin of error of one cell").count(), 10);
    assert!(!page.contains("withheld, primary") && !page.contains("withheld, secondary"));
    // Every month of the window is published, the empty ones too.
    assert_eq!(rows(dir, "subscribers_active_by_month", &[]).len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_ledger_repeats_a_retry_and_refuses_an_over_budget_release() {
    let db = last_month(30, 0).await;
    let setup = Setup::new(&dp_task("1", "2"));
    let run = || setup.certanon(&db, &["run", "--force"]);
    let (code, _, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    // Same data: the same release, which spends nothing and publishes the same counts.
    let (code, _, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    let exports = setup.exports_of("stats_dp");
    assert_eq!(exports.len(), 2);
    for table in [
        "issued_by_month_channel",
        "subscribers_active_by_month",
        "revocations_by_month_reason",
    ] {
        let read = |d: &Path| std::fs::read(d.join(format!("{table}.csv"))).unwrap();
        assert_eq!(
            read(&exports[0]),
            read(&exports[1]),
            "{table}: a retry draws the same noise"
        );
    }
    let spent = || async {
        column::<String>(
            &db.client,
            "SELECT epsilon::text FROM certanon.dp_releases ORDER BY spent_at, run_id",
            &[],
        )
        .await
    };
    let first = spent().await;
    assert_eq!(first.len(), 2);
    assert_eq!(
        first.iter().filter(|e| e.starts_with('0')).count(),
        1,
        "{first:?}"
    );
    let per_table: i64 = column(
        &db.client,
        "SELECT count(*) FROM certanon.dp_table_spend",
        &[],
    )
    .await[0];
    assert_eq!(
        per_table, 10,
        "one line per table of the first release, none for the retry"
    );

    // New data: a new release, which spends its epsilon and uses the rest of the budget.
    let add_certificate = |id: i64| {
        let client = &db.client;
        async move {
            client
                .execute(
                    "INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name, subject_alt_names,
                            validation_type, key_algorithm, key_size, signature_algorithm,
                            not_before, not_after, issued_at, ct_precert_logged, der)
                     SELECT $1, 1, lpad(to_hex($1::bigint), 16, '0'), 'w.example.co.jp', ARRAY['w.example.co.jp'], 'DV', 'ECDSA', 256,
                            'ecdsa-with-SHA256', at, at + interval '90 days', at, true, '\\x00'::bytea
                       FROM (SELECT date_trunc('month', now()) - interval '1 month' + interval '3 days' AS at) t",
                    &[&id],
                )
                .await
                .unwrap();
        }
    };
    add_certificate(500).await;
    let (code, _, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    add_certificate(501).await;
    let (code, _, stderr) = run();
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("privacy.dp.budget 2 (for ever)") && stderr.contains("spent 2"),
        "{stderr}"
    );
    assert_eq!(
        setup.exports_of("stats_dp").len(),
        3,
        "nothing written over budget"
    );
    assert_eq!(spent().await.len(), 3);

    let (code, out, _) = setup.certanon(&db, &["status"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("privacy budget: epsilon spent 2 of 2 (for ever), 0 left"),
        "{out}"
    );
    for dir in setup.exports_of("stats_dp") {
        verify(&dir);
    }
    // Run ids of one second sort by their random suffix: find the retry by its manifest.
    let policies: Vec<serde_json::Value> = exports
        .iter()
        .map(|d| {
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
            m["policy"]["dp"].clone()
        })
        .collect();
    let retry = policies
        .iter()
        .find(|p| p["repeat_of"].is_string())
        .expect("a retry");
    assert_eq!(retry["epsilon"], 0.0, "a retry spends nothing");
    assert!(
        policies
            .iter()
            .any(|p| p["epsilon"] == 1.0 && p["repeat_of"].is_null())
    );
    let refused = db
        .client
        .batch_execute("UPDATE certanon.dp_releases SET epsilon = 0")
        .await;
    assert!(refused.is_err(), "the budget ledger is append-only");
}
