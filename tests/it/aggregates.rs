//! Aggregate statistics and the extract from one scan, small cells suppressed, `verify` on
//! every export and on tampered ones.

use crate::common::{Setup, TestDb, source_checksums};

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
    let snapshots: Vec<String> = client
        .query(
            "SELECT snapshot FROM certanon.runs WHERE outcome = 'success'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(snapshots.len(), 2);
    assert_eq!(
        snapshots[0], snapshots[1],
        "both outputs come from one snapshot"
    );
}

/// Every table's count is 0 or at least k, suppressed cells show no count, and some cells are
/// suppressed.
fn assert_no_small_count_published(export: &std::path::Path) {
    let mut tables = 0;
    let mut suppressed = 0;
    for entry in std::fs::read_dir(export).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        tables += 1;
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        let (count, flag) = (
            header.iter().position(|h| h == "count").unwrap(),
            header.iter().position(|h| h == "suppressed").unwrap(),
        );
        assert_eq!(
            flag,
            header.len() - 1,
            "{}: `suppressed` is the last column",
            path.display()
        );
        assert_eq!(
            count,
            flag - 1,
            "{}: `count` before `suppressed`",
            path.display()
        );
        for row in reader.records() {
            let row = row.unwrap();
            match &row[flag] {
                "true" => {
                    assert_eq!(&row[count], "", "suppressed cell with a count");
                    suppressed += 1;
                }
                "false" => {
                    let n: u64 = row[count].parse().unwrap();
                    assert!(n == 0 || n >= 5, "{}: published count {n}", path.display());
                }
                other => panic!("suppressed = {other:?}"),
            }
        }
    }
    assert!(tables >= 9, "only {tables} tables");
    assert!(
        suppressed > 0,
        "100,000 certificates over ~140 months must have small cells"
    );
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
    body = body.replacen(",false", ",true", 1);
    std::fs::write(&victim, body).unwrap();
    let (code, out, err) = crate::common::certanon_cmd(&["verify", copy.to_str().unwrap()], &[]);
    assert_eq!(code, 65, "{out}{err}");
    assert!(err.contains("issued_by_month_channel.csv"), "{err}");
}
