//! The research extract end to end on 100,000 seeded certificates: no identifier leaves, k
//! holds, checksums hold, certificates untouched, reproducible, atomic, allow-list enforced.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::common::{Setup, TestDb, column, read_csv, source_checksums};

const EXTRACT: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"pseudonymous\"\nschedule = \"0 3 1 */3 *\"\n";
const ANONYMOUS: &str = "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"anonymous\"\nschedule = \"0 3 1 */3 *\"\n";

async fn personal_values(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .query(
            "SELECT v FROM (
               SELECT unnest(ARRAY[person_name, person_name_kana, email, phone, postal_address, postal_code, organization_name]) v FROM certinfo.subscribers
               UNION ALL SELECT unnest(ARRAY[applicant_name, applicant_email, applicant_phone, approver_email]) FROM certinfo.applications
               UNION ALL SELECT contact_email FROM certinfo.acme_accounts
               UNION ALL SELECT unnest(ARRAY[serial_number, common_name, subject_organization]) FROM certinfo.certificates
               UNION ALL SELECT unnest(subject_alt_names) FROM certinfo.certificates
             ) s WHERE v IS NOT NULL AND length(v) >= 4",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn extract_releases_no_identifier_and_keeps_k() {
    let db = TestDb::seeded().await;
    let before = source_checksums(&db.client).await;
    let setup = Setup::new(EXTRACT);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        source_checksums(&db.client).await,
        before,
        "certificate-information rows changed"
    );

    let exports = setup.exports_of("research_extract");
    assert_eq!(exports.len(), 1);
    let dir = &exports[0];
    let sums = std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(sums.success(), "sha256sum -c failed in {}", dir.display());

    let (header, rows) = read_csv(&dir.join("research_extract.csv"));
    assert!(
        rows.len() as u64 >= crate::common::SEEDED_ROWS * 95 / 100,
        "suppressed too much: {} rows",
        rows.len()
    );
    let fields = fields_of(&rows);
    assert_no_personal_value(&db.client, &fields).await;
    assert_no_unkeyed_digest(&db.client, &fields).await;
    assert_k_anonymous(dir, &header, &rows);

    let (code, out, stderr) = crate::common::certanon_cmd(&["verify", dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "verify: {out}{stderr}");
}

/// Every distinct field of the extract.
fn fields_of(rows: &[Vec<String>]) -> HashSet<&str> {
    let mut fields: HashSet<&str> = HashSet::new();
    for row in rows {
        for f in row {
            fields.insert(f);
        }
    }
    fields
}

/// No source value, whole or normalized, appears as a field or inside one.
async fn assert_no_personal_value(client: &tokio_postgres::Client, fields: &HashSet<&str>) {
    let values = personal_values(client).await;
    assert!(
        values.len() > 100_000,
        "fixture too small: {}",
        values.len()
    );
    for v in &values {
        assert!(
            !fields.contains(v.as_str()),
            "a personal value appears in the extract"
        );
    }
    for f in fields {
        assert!(!f.contains('@'), "an e-mail-like field in the extract");
    }
}

/// Nor the unkeyed SHA-256 or MD5 of a normalized e-mail or phone: fields are pseudonyms and
/// labels, none may be a hex digest, least of all these.
async fn assert_no_unkeyed_digest(client: &tokio_postgres::Client, fields: &HashSet<&str>) {
    let emails_phones: Vec<String> = column(client, "SELECT email FROM certinfo.subscribers WHERE email IS NOT NULL UNION SELECT phone FROM certinfo.subscribers WHERE phone IS NOT NULL", &[]).await;
    let mut normalized = Vec::new();
    for v in &emails_phones {
        for class in [
            certanon::transform::pseudonymize::Class::Email,
            certanon::transform::pseudonymize::Class::Phone,
        ] {
            if let Some(n) = certanon::transform::pseudonymize::normalize(class, v) {
                normalized.push(n);
            }
        }
    }
    let md5s: Vec<String> = column(
        client,
        "SELECT md5(x) FROM unnest($1::text[]) x",
        &[&normalized],
    )
    .await;
    for n in &normalized {
        let sha = hex::encode(Sha256::digest(n.as_bytes()));
        assert!(
            !fields.contains(sha.as_str()),
            "unkeyed SHA-256 of a normalized value released"
        );
    }
    for m in &md5s {
        assert!(
            !fields.contains(m.as_str()),
            "unkeyed MD5 of a normalized value released"
        );
    }
    for f in fields {
        assert!(
            !(f.len() >= 32 && f.bytes().all(|b| b.is_ascii_hexdigit())),
            "a hex digest in the extract"
        );
    }
}

/// k-anonymity over every quasi-identifier the manifest names, as the manifest states it.
fn assert_k_anonymous(dir: &std::path::Path, header: &[String], rows: &[Vec<String>]) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let facts = &manifest["privacy"]["research_extract.csv"];
    let qis: Vec<String> = facts["quasi_identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(qis.len(), 9);
    let idx: Vec<usize> = qis
        .iter()
        .map(|q| header.iter().position(|h| h == q).unwrap())
        .collect();
    let mut classes: std::collections::HashMap<Vec<&str>, u64> = Default::default();
    for row in rows {
        *classes
            .entry(idx.iter().map(|&i| row[i].as_str()).collect())
            .or_default() += 1;
    }
    let smallest = classes.values().min().copied().unwrap();
    assert!(smallest >= 5, "a class of {smallest} rows");
    assert_eq!(facts["achieved_k"].as_u64(), Some(smallest));
    assert_eq!(facts["rows_released"].as_u64(), Some(rows.len() as u64));
    // Not simply the coarsest: months or quarters survive.
    let issued = &rows[0][header.iter().position(|h| h == "issued").unwrap()];
    assert_ne!(issued, "*", "levels: {}", facts["levels"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pseudonymous_twice_is_identical_anonymous_twice_shares_nothing() {
    let db = TestDb::seeded().await;
    let setup = Setup::new(EXTRACT);
    for _ in 0..2 {
        let (code, _, stderr) =
            setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
        assert_eq!(code, 0, "{stderr}");
    }
    let exports = setup.exports_of("research_extract");
    assert_eq!(exports.len(), 2);
    let a = std::fs::read(exports[0].join("research_extract.csv")).unwrap();
    let b = std::fs::read(exports[1].join("research_extract.csv")).unwrap();
    assert!(a == b, "pseudonymous releases of the same snapshot differ");

    let anon = Setup::new(ANONYMOUS);
    for _ in 0..2 {
        let (code, _, stderr) =
            anon.certanon(&db, &["run", "--task", "research_extract", "--force"]);
        assert_eq!(code, 0, "{stderr}");
    }
    let exports = anon.exports_of("research_extract");
    let pseudonyms = |dir: &std::path::Path| -> HashSet<String> {
        let (header, rows) = read_csv(&dir.join("research_extract.csv"));
        let n = header.iter().position(|h| h == "subscriber_kind").unwrap();
        rows.into_iter()
            .flat_map(|r| {
                r.into_iter().take(n).map(|f| {
                    f.split_once('_')
                        .map(|(_, b)| b.to_string())
                        .unwrap_or_default()
                })
            })
            .filter(|p| p.len() == 26)
            .collect()
    };
    let (p1, p2) = (pseudonyms(&exports[0]), pseudonyms(&exports[1]));
    assert!(p1.len() > 1000);
    assert!(p1.is_disjoint(&p2), "anonymous releases share pseudonyms");
    assert!(exports[0].join("PUBLIC_NOTICE.md").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_run_leaves_no_visible_export_and_next_run_succeeds() {
    let db = TestDb::seeded().await;
    let setup = Setup::new(EXTRACT);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_certanon"))
        .args([
            "--config",
            setup.config.to_str().unwrap(),
            "run",
            "--task",
            "research_extract",
            "--force",
        ])
        .env("CERTANON_DATABASE_URL", &db.url)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let task_dir = setup.exports.join("research_extract");
    let started = std::time::Instant::now();
    loop {
        let hidden = std::fs::read_dir(&task_dir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            })
            .unwrap_or(false);
        if hidden || started.elapsed().as_secs() > 60 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        setup.exports_of("research_extract").is_empty(),
        "a killed run left a visible export"
    );

    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(setup.exports_of("research_extract").len(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(&task_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "leftovers not cleaned: {leftovers:?}");
}

#[tokio::test]
async fn unknown_column_short_key_and_readable_key_exit_78() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::reference().await;
    let setup = Setup::new(EXTRACT);

    std::fs::set_permissions(&setup.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains(setup.key.to_str().unwrap()) && stderr.contains("readable"),
        "{stderr}"
    );

    std::fs::remove_file(&setup.key).unwrap();
    std::fs::write(&setup.key, [7u8; 16]).unwrap();
    std::fs::set_permissions(&setup.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("32"), "{stderr}");

    // The key is checked before the database is tried: a good one again, to reach the contract.
    std::fs::write(&setup.key, [7u8; 32]).unwrap();
    db.client
        .batch_execute(
            "CREATE OR REPLACE VIEW certanon_src.subscribers AS
             SELECT id AS subscriber_id, kind, organization_name, person_name, person_name_kana, email, phone,
                    postal_code, postal_address, country, created_at, updated_at, personal_data_erased_at,
                    email AS backup_email
               FROM certinfo.subscribers",
        )
        .await
        .unwrap();
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("certanon_src.subscribers") && stderr.contains("backup_email"),
        "{stderr}"
    );
    assert!(
        !setup.exports.join("research_extract").exists(),
        "something was written before the contract check"
    );
}
