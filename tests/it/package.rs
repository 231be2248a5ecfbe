//! `datapackage.json` in every export, checked by the reference validator: `frictionless
//! validate` reads each CSV file with the Table Schema the export gives it (types, allowed
//! values, keys, missing values, size and checksum) and must find nothing wrong.

use crate::common::{Setup, TestDb, certanon_cmd, external_tool};

const BOTH: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"pseudonymous\"\nschedule = \"0 3 1 */3 *\"\n\n\
                    [tasks.anonymous_extract]\nkind = \"research_extract\"\nmode = \"anonymous\"\nschedule = \"0 3 1 */3 *\"\n\n\
                    [tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\n";

/// `frictionless validate --json` on a data package: whether it is valid, and its report.
fn frictionless(package: &std::path::Path) -> (bool, serde_json::Value) {
    let out = std::process::Command::new("frictionless")
        .args(["validate", "--json"])
        .arg(package)
        .output()
        .expect("run frictionless");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "frictionless printed no JSON report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report["valid"] == true, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_export_is_a_data_package_the_reference_validator_accepts() {
    if !external_tool("frictionless", false) {
        return;
    }
    let db = TestDb::seeded_with(5_000).await;
    let setup = Setup::new(BOTH);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    for task in [
        "research_extract",
        "anonymous_extract",
        "monthly_statistics",
    ] {
        let dir = &setup.exports_of(task)[0];
        let package = dir.join("datapackage.json");
        let (valid, report) = frictionless(&package);
        assert!(valid, "{task}: {report:#}");
        let csv_files = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "csv")
            })
            .count();
        let tasks = report["tasks"].as_array().expect("one task per resource");
        assert_eq!(
            tasks.len(),
            csv_files,
            "{task}: every CSV file is a resource"
        );
        assert!(
            tasks.iter().all(|t| t["stats"]["rows"].as_u64() > Some(0)),
            "{task}: {report:#}"
        );
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
        assert!(sums.contains("  datapackage.json\n"), "{task}: {sums}");
    }

    // What the schema promises is checked: a prefecture named wrongly breaks its enum.
    let stats = &setup.exports_of("monthly_statistics")[0];
    let table = stats.join("issued_by_year_prefecture_type.csv");
    let body = std::fs::read_to_string(&table).unwrap();
    assert!(body.contains(",13,Tokyo,東京都,"), "{body}");
    std::fs::write(&table, body.replacen(",13,Tokyo,", ",13,Tokio,", 1)).unwrap();
    let (valid, report) = frictionless(&stats.join("datapackage.json"));
    assert!(!valid, "a tampered file passed: {report:#}");
    let errors = report.to_string();
    assert!(errors.contains("constraint-error"), "{report:#}");
    let (code, _, stderr) = certanon_cmd(&["verify", stats.to_str().unwrap()], &[]);
    assert_eq!(code, 65, "{stderr}");
    assert!(
        stderr.contains("have prefecture names that do not match the code"),
        "{stderr}"
    );
}
