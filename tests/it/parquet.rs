//! The Parquet files of real exports, read the way analysts will: DuckDB's `read_parquet`, the
//! column types it sees, and the same rows, counts and sums as the CSV beside each file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{SEEDED_ROWS, Setup, TestDb, external_tool};
use crate::operations::{AGGREGATES, EXTRACT};

/// For every Parquet file of an export: its column types as DuckDB reports them, its rows, the
/// rows of its CSV, the rows on either side that the other lacks (every value compared as
/// text, a null as an empty CSV field), and for a table the sum and nulls of `count` in each.
const SCRIPT: &str = r#"
import duckdb, glob, json, os, sys
out = {}
for parquet in sorted(glob.glob(os.path.join(sys.argv[1], "*.parquet"))):
    csv = parquet[: -len(".parquet")] + ".csv"
    con = duckdb.connect()
    con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet('{parquet}')")
    con.execute(f"CREATE VIEW c AS SELECT * FROM read_csv('{csv}', header = true, all_varchar = true)")
    one = lambda q: con.execute(q).fetchone()[0]
    entry = {
        "types": {name: kind for name, kind, *_ in con.execute("DESCRIBE p").fetchall()},
        "rows": one("SELECT count(*) FROM p"),
        "csv_rows": one("SELECT count(*) FROM c"),
        "only_parquet": one("SELECT count(*) FROM (SELECT COLUMNS(*)::VARCHAR FROM p EXCEPT ALL SELECT * FROM c)"),
        "only_csv": one("SELECT count(*) FROM (SELECT * FROM c EXCEPT ALL SELECT COLUMNS(*)::VARCHAR FROM p)"),
    }
    if "count" in entry["types"]:
        entry["sum"] = one("SELECT sum(count) FROM p")
        entry["csv_sum"] = one("SELECT sum(CAST(count AS BIGINT)) FROM c")
        entry["nulls"] = one("SELECT count(*) FROM p WHERE count IS NULL")
        entry["csv_empty"] = one("SELECT count(*) FROM c WHERE count IS NULL")
    out[os.path.basename(parquet)] = entry
print(json.dumps(out))
"#;

/// What DuckDB reads from each Parquet file of `dir`, by file name.
fn duckdb_reads(dir: &Path) -> BTreeMap<String, serde_json::Value> {
    let output = std::process::Command::new("python3")
        .args(["-c", SCRIPT, dir.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_exported_table_opens_in_duckdb_typed_and_agreeing_with_its_csv() {
    if !external_tool("duckdb", true) {
        return;
    }
    let db = TestDb::seeded().await;
    let setup = Setup::new(&format!("{EXTRACT}\n{AGGREGATES}"));
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");

    let [extract] = setup.exports_of("research_extract").try_into().unwrap();
    let reads = duckdb_reads(&extract);
    let file = &reads["research_extract.parquet"];
    let rows = file["rows"].as_u64().unwrap();
    assert!(rows > SEEDED_ROWS / 2, "{file}");
    assert_eq!(file["csv_rows"], rows, "{file}");
    assert_eq!(
        (&file["only_parquet"], &file["only_csv"]),
        (&0.into(), &0.into())
    );
    let types = file["types"].as_object().unwrap();
    assert!(types.contains_key("certificate") && types.contains_key("issued"));
    assert!(types.values().all(|t| t == "VARCHAR"), "{types:?}");

    let [statistics] = setup.exports_of("monthly_statistics").try_into().unwrap();
    let reads = duckdb_reads(&statistics);
    let csv_files = std::fs::read_dir(&statistics)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap_or_default() == "csv")
        .count();
    assert_eq!(reads.len(), csv_files, "a Parquet file beside every CSV");
    let mut withheld = 0;
    for (name, file) in &reads {
        assert!(file["rows"].as_u64().unwrap() > 0, "{name}: {file}");
        assert_eq!(file["rows"], file["csv_rows"], "{name}: {file}");
        assert_eq!(file["only_parquet"], 0, "{name}: {file}");
        assert_eq!(file["only_csv"], 0, "{name}: {file}");
        assert_eq!(file["types"]["count"], "BIGINT", "{name}: {file}");
        assert_eq!(file["sum"], file["csv_sum"], "{name}: {file}");
        assert_eq!(file["nulls"], file["csv_empty"], "{name}: {file}");
        withheld += file["nulls"].as_u64().unwrap();
    }
    assert!(withheld > 0, "withheld counts are nulls: {reads:?}");
}
