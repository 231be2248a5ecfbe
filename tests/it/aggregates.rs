//! Aggregate statistics and the extract from one scan, small cells suppressed, `verify` on
//! every export and on tampered ones.

use crate::common::{Setup, TestDb, column, read_csv, source_checksums};

const BOTH: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"pseudonymous\"\nschedule = \"0 3 1 */3 *\"\n\n\
                    [tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn one_scan_serves_extract_and_statistics_and_no_small_count_is_published() {
    let db = TestDb::seeded().await;
    let before = source_checksums(&db.client).await;
    // pg_stat_statements counts the COPY statements the run sends (the embedded cluster preloads it).
    let counting = db
        .client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();",
        )
        .await
        .is_ok();
    let setup = Setup::new(BOTH);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        source_checksums(&db.client).await,
        before,
        "certificate-information rows changed"
    );
    if counting {
        assert_one_copy(&db.client).await;
    } else {
        assert!(
            std::env::var("CERTANON_TEST_DATABASE_URL").is_ok(),
            "the embedded cluster preloads pg_stat_statements"
        );
    }
    assert_one_snapshot(&db.client).await;

    let stats = setup.exports_of("monthly_statistics");
    assert_eq!(stats.len(), 1);
    assert_no_small_count_published(&stats[0]);
    assert_naive_sums_do_not_double_count(&stats[0]);
    for dir in setup
        .exports_of("monthly_statistics")
        .iter()
        .chain(setup.exports_of("research_extract").iter())
    {
        let (code, out, err) = crate::common::certanon_cmd(&["verify", dir.to_str().unwrap()], &[]);
        assert_eq!(code, 0, "verify {}: {out}{err}", dir.display());
    }

    assert_tampered_copy_fails(&setup, &stats[0]);
}

/// The run sent one COPY: the extract and the statistics share one scan.
async fn assert_one_copy(client: &tokio_postgres::Client) {
    let copies: i64 = client
        .query_one("SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
              WHERE query ILIKE 'COPY%' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        copies, 1,
        "the extract and the statistics must share one scan"
    );
}

/// Both outputs come from one snapshot.
async fn assert_one_snapshot(client: &tokio_postgres::Client) {
    let snapshots: Vec<String> = column(
        client,
        "SELECT snapshot FROM certanon.runs WHERE outcome = 'success'",
        &[],
    )
    .await;
    assert_eq!(snapshots.len(), 2);
    assert_eq!(
        snapshots[0], snapshots[1],
        "both outputs come from one snapshot"
    );
}

/// Every table is two files, its interior cells and its totals; every count is 0 or at least
/// k, withheld cells show no count and say why, and some cells of each kind are withheld.
fn assert_no_small_count_published(export: &std::path::Path) {
    let mut tables = 0;
    let mut withheld = std::collections::BTreeMap::<String, usize>::new();
    for entry in std::fs::read_dir(export).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".csv") || name.ends_with("_totals.csv") {
            continue;
        }
        tables += 1;
        let totals = export.join(name.replace(".csv", "_totals.csv"));
        for (path, is_totals) in [(path, false), (totals, true)] {
            let (header, rows) = read_csv(&path);
            let n = header.len();
            assert_eq!(
                header[n - 2..],
                ["count", "status"],
                "{}: `count` and `status` last",
                path.display()
            );
            for row in rows {
                let has_total = row.iter().any(|f| f == "TOTAL");
                assert_eq!(has_total, is_totals, "{}: {row:?}", path.display());
                match row[n - 1].as_str() {
                    "published" => {
                        let count: u64 = row[n - 2].parse().unwrap();
                        assert!(count == 0 || count >= 5, "{}: {count}", path.display());
                    }
                    status @ ("primary" | "secondary") => {
                        assert_eq!(row[n - 2], "", "withheld cell with a count");
                        *withheld.entry(status.to_owned()).or_default() += 1;
                    }
                    other => panic!("status = {other:?}"),
                }
            }
        }
    }
    assert_eq!(tables, 10);
    assert!(
        withheld.get("primary") > Some(&0) && withheld.get("secondary") > Some(&0),
        "100,000 certificates over ~140 months must have small cells: {withheld:?}"
    );
}

/// What an analyst who loads a table naively gets is right: the interior file's counts add up
/// to no more than the grand total, and to exactly it where nothing is withheld; prefectures
/// are a code and two names.
fn assert_naive_sums_do_not_double_count(export: &std::path::Path) {
    for table in ["issued_by_month_channel", "subscribers_new_by_month"] {
        let (_, interior) = read_csv(&export.join(format!("{table}.csv")));
        let (_, totals) = read_csv(&export.join(format!("{table}_totals.csv")));
        let sum: u64 = interior
            .iter()
            .filter_map(|r| r[r.len() - 2].parse::<u64>().ok())
            .sum();
        let grand = totals
            .iter()
            .find(|r| r[..r.len() - 2].iter().all(|f| f == "TOTAL"))
            .expect("a grand total");
        let grand: u64 = grand[grand.len() - 2]
            .parse()
            .expect("a published grand total");
        let complete = interior.iter().all(|r| r[r.len() - 1] == "published");
        assert!(sum <= grand, "{table}: {sum} > {grand}");
        assert!(!complete || sum == grand, "{table}: {sum} != {grand}");
    }
    let (header, rows) = read_csv(&export.join("issued_by_year_prefecture_type.csv"));
    assert_eq!(
        header,
        [
            "year",
            "prefecture",
            "prefecture_name",
            "prefecture_name_ja",
            "validation_type",
            "count",
            "status"
        ]
    );
    let tokyo = rows.iter().find(|r| r[1] == "13").expect("a Tokyo row");
    assert_eq!(tokyo[2..4], ["Tokyo", "東京都"]);
}

/// A tampered copy fails verification with exit 65, naming the file.
fn assert_tampered_copy_fails(setup: &Setup, export: &std::path::Path) {
    let copy = setup.dir.path().join("tampered");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(export).unwrap().flatten() {
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let victim = copy.join("issued_by_month_channel.csv");
    let mut body = std::fs::read_to_string(&victim).unwrap();
    body = body.replacen(",published", ",secondary", 1);
    std::fs::write(&victim, body).unwrap();
    let (code, out, err) = crate::common::certanon_cmd(&["verify", copy.to_str().unwrap()], &[]);
    assert_eq!(code, 65, "{out}{err}");
    assert!(err.contains("issued_by_month_channel.csv"), "{err}");
}

const STATISTICS: &str =
    "[tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\n";

/// Purpose-built subscribers in years the seed does not reach: each with `certificates`
/// certificates of one validation type issued in `year`, at an address in one prefecture.
async fn add_subscribers(
    client: &tokio_postgres::Client,
    first_id: i64,
    year: i32,
    address: &str,
    validation: &str,
    certificates: &[i64],
) {
    for (i, &n) in certificates.iter().enumerate() {
        let id = first_id + i as i64;
        client
            .execute(
                "INSERT INTO certinfo.subscribers (id, kind, organization_name, postal_address, \
                 country, created_at, updated_at) \
                 VALUES ($1, 'organization', 'Org ' || $1::bigint, $2, 'JP', make_timestamptz($3, 1, 1, 0, 0, 0, 'UTC'), \
                 make_timestamptz($3, 1, 1, 0, 0, 0, 'UTC'))",
                &[&id, &address, &year],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO certinfo.applications (id, subscriber_id, channel, product, submitted_at, status) \
                 VALUES ($1, $1, 'other', $2, make_timestamptz($3, 1, 1, 0, 0, 0, 'UTC'), 'issued')",
                &[&id, &validation, &year],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name, \
                 subject_alt_names, subject_organization, validation_type, key_algorithm, key_size, \
                 signature_algorithm, not_before, not_after, issued_at, ct_precert_logged, der) \
                 SELECT $1::bigint * 1000 + g, $1, lpad(to_hex($1 * 1000 + g), 20, '0'), 'host' || $1 || '-' || g || '.example.co.jp', \
                        '{}', 'Org', $2, 'RSA', 2048, 'sha256WithRSAEncryption', t, t + interval '90 days', t, true, '\\x00' \
                   FROM generate_series(1, $3::bigint) g, \
                        LATERAL (SELECT make_timestamptz($4, 1 + (g % 12)::int, 10, 0, 0, 0, 'UTC') AS t) ts",
                &[&id, &validation, &n, &year],
            )
            .await
            .unwrap();
    }
}

/// One subscriber with 40 OV certificates in 鳥取県 in 2012 and three with one each: 43
/// certificates, enough for the small-count rule, from 4 subscribers. In 2013 the same
/// organisation with five others holding one each: 45 from 6 subscribers, 40 of them its own.
/// In 2013 three subscribers with four DV certificates each in 東京都: 12 from 3.
#[tokio::test(flavor = "multi_thread")]
async fn contributor_rules_suppress_what_subscribers_dominate() {
    let db = TestDb::seeded().await;
    let tottori = "鳥取県鳥取市東町1丁目220";
    add_subscribers(
        &db.client,
        9_000_000_000,
        2012,
        tottori,
        "OV",
        &[40, 1, 1, 1],
    )
    .await;
    add_subscribers(
        &db.client,
        9_000_000_100,
        2013,
        tottori,
        "OV",
        &[40, 1, 1, 1, 1, 1],
    )
    .await;
    let tokyo = "東京都千代田区丸の内1丁目1";
    add_subscribers(&db.client, 9_000_000_200, 2013, tokyo, "DV", &[4, 4, 4]).await;
    let setup = Setup::new(STATISTICS);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let export = &setup.exports_of("monthly_statistics")[0];
    let table = read_table(export, "issued_by_year_prefecture_type");
    for key in [
        ["2012", "31", "OV"],
        ["2013", "31", "OV"],
        ["2013", "13", "DV"],
    ] {
        let key: Vec<String> = key.map(str::to_owned).to_vec();
        assert_eq!(table.get(&key), Some(&None), "{key:?} must be suppressed");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export.join("manifest.json")).unwrap()).unwrap();
    let facts = &manifest["privacy"]["issued_by_year_prefecture_type.csv"];
    let by_rule = &facts["suppressed_by_rule"];
    assert_eq!(facts["dominance"], 0.5);
    assert!(by_rule["few_subscribers"].as_u64().unwrap() >= 2, "{facts}");
    assert!(by_rule["dominance"].as_u64().unwrap() >= 1, "{facts}");
    let by_rule_sum: u64 = ["small_count", "few_subscribers", "dominance"]
        .iter()
        .map(|r| by_rule[r].as_u64().unwrap())
        .sum();
    assert_eq!(by_rule_sum, facts["primary_suppressed"].as_u64().unwrap());
    let (code, out, err) = crate::common::certanon_cmd(&["verify", export.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "verify: {out}{err}");
    assert_published_cells_meet_the_rules(&db.client, export).await;
}

/// A table read back from its two files: cell codes to count, None where withheld.
fn read_table(
    export: &std::path::Path,
    table: &str,
) -> std::collections::BTreeMap<Vec<String>, Option<u64>> {
    let mut cells = std::collections::BTreeMap::new();
    for file in [format!("{table}.csv"), format!("{table}_totals.csv")] {
        let (header, rows) = read_csv(&export.join(file));
        let n = header.len();
        let codes: Vec<usize> = (0..n - 2)
            .filter(|&i| !header[i].contains("_name"))
            .collect();
        for row in rows {
            let key = codes.iter().map(|&i| row[i].clone()).collect();
            cells.insert(key, row[n - 2].parse().ok());
        }
    }
    cells
}

/// The truth, computed in SQL from certificates → applications → subscribers: every published
/// non-zero count of issued_by_month_type_channel (margins included), and of the cells of
/// issued_by_year_prefecture_type that sum over the prefecture, comes from at least 5 distinct
/// subscribers, none holding more than half of it.
async fn assert_published_cells_meet_the_rules(
    client: &tokio_postgres::Client,
    export: &std::path::Path,
) {
    let month = "to_char(coalesce(c.issued_at, c.not_before) AT TIME ZONE 'UTC', 'YYYY-MM')";
    let year = "to_char(coalesce(c.issued_at, c.not_before) AT TIME ZONE 'UTC', 'YYYY')";
    for (file, dims, summed) in [
        (
            "issued_by_month_type_channel",
            format!("{month}, c.validation_type, a.channel"),
            0b000,
        ),
        (
            "issued_by_year_prefecture_type",
            format!("{year}, 'TOTAL', c.validation_type"),
            0b010,
        ),
    ] {
        let rows = client
            .query(
                &format!(
                    "SELECT ARRAY[{dims}], s.id, count(*) \
                       FROM certinfo.certificates c \
                       JOIN certinfo.applications a ON a.id = c.application_id \
                       JOIN certinfo.subscribers s ON s.id = a.subscriber_id \
                      WHERE coalesce(c.issued_at, c.not_before) <= now() \
                      GROUP BY 1, 2"
                ),
                &[],
            )
            .await
            .unwrap();
        let mut truth: std::collections::BTreeMap<
            Vec<String>,
            std::collections::HashMap<i64, u64>,
        > = Default::default();
        for row in rows {
            let key: Vec<String> = row.get(0);
            let (subscriber, n): (i64, i64) = (row.get(1), row.get(2));
            for mask in 0..1usize << key.len() {
                if mask & summed != summed {
                    continue;
                }
                let cell: Vec<String> = (0..key.len())
                    .map(|d| {
                        if mask >> d & 1 == 1 {
                            "TOTAL".to_owned()
                        } else {
                            key[d].clone()
                        }
                    })
                    .collect();
                *truth
                    .entry(cell)
                    .or_default()
                    .entry(subscriber)
                    .or_default() += n as u64;
            }
        }
        let published = read_table(export, file);
        let mut checked = 0;
        for (key, shares) in &truth {
            let count: u64 = shares.values().sum();
            let largest = shares.values().copied().max().unwrap_or(0);
            match published.get(key) {
                Some(Some(n)) => {
                    assert_eq!(*n, count, "{file} {key:?}");
                    assert!(
                        shares.len() >= 5,
                        "{file} {key:?}: {} subscribers",
                        shares.len()
                    );
                    assert!(
                        2 * largest <= count,
                        "{file} {key:?}: one holds {largest} of {count}"
                    );
                    checked += 1;
                }
                Some(None) => {}
                None => panic!("{file} lacks cell {key:?}"),
            }
        }
        assert!(
            checked >= 20,
            "{file}: only {checked} published cells checked"
        );
    }
}
