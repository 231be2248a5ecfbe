//! Subject-level k-anonymity of the research extract on purpose-built data: one subscriber
//! dominates a small class, and every released class must still hold k distinct subscribers.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::common::{Setup, TestDb};

fn task(mode: &str) -> String {
    format!(
        "[tasks.research_extract]\nkind = \"research_extract\"\nmode = \"{mode}\"\nschedule = \"0 3 1 */3 *\"\n"
    )
}

/// Subscribers 1..=4 in Tottori: subscriber 1 holds certificates 1..=40, subscribers 2..=4 one
/// each; subscribers 5..=34 in Tokyo, one certificate each. Every certificate is otherwise alike,
/// so a row-counting gate would release the 43 Tottori rows at the prefecture level.
async fn dominated_tottori() -> TestDb {
    let db = TestDb::reference().await;
    db.client
        .batch_execute(
            "INSERT INTO certinfo.subscribers (id, kind, organization_name, email, postal_address, country, created_at, updated_at)
             SELECT s, 'organization', 'Org ' || s, 'o' || s || '@example.jp',
                    CASE WHEN s <= 4 THEN '鳥取県鳥取市東町1-1' ELSE '東京都千代田区丸の内1-1' END,
                    'JP', '2020-01-01', '2020-01-01'
               FROM generate_series(1, 34) s;
             INSERT INTO certinfo.applications (id, subscriber_id, channel, product, submitted_at, status)
             SELECT s, s, 'other', 'OV', '2020-01-01', 'issued' FROM generate_series(1, 34) s;
             INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name, subject_alt_names,
                    subject_organization, validation_type, key_algorithm, key_size, signature_algorithm,
                    not_before, not_after, issued_at, ct_precert_logged, der)
             SELECT c, CASE WHEN c <= 40 THEN 1 WHEN c <= 43 THEN c - 39 ELSE c - 39 END,
                    lpad(to_hex(c), 16, '0'), 'www' || c || '.example.co.jp', ARRAY['www' || c || '.example.co.jp'],
                    'Org', 'OV', 'RSA', 2048, 'sha256WithRSAEncryption',
                    '2020-01-15', '2020-12-15', '2020-01-15', true, '\\x00'::bytea
               FROM generate_series(1, 73) c;",
        )
        .await
        .expect("purpose-built rows");
    db
}

fn run(db: &TestDb, mode: &str) -> (std::path::PathBuf, Setup) {
    let setup = Setup::new(&task(mode));
    let (code, _, stderr) = setup.certanon(db, &["run", "--task", "research_extract", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let exports = setup.exports_of("research_extract");
    assert_eq!(exports.len(), 1);
    (exports[0].clone(), setup)
}

fn read(dir: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>, serde_json::Value) {
    let (header, rows) = crate::common::read_csv(&dir.join("research_extract.csv"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let facts = manifest["privacy"]["research_extract.csv"].clone();
    (header, rows, facts)
}

fn qi_columns(header: &[String], facts: &serde_json::Value) -> Vec<usize> {
    facts["quasi_identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            header
                .iter()
                .position(|h| h == q.as_str().unwrap())
                .unwrap()
        })
        .collect()
}

/// Naive subject figures, for data where every linking column is the subscriber's own: a
/// subject is a subscriber pseudonym, its profile its sorted quasi-identifier tuples. Returns
/// the subjects, those whose profile fewer than 5 share, and the fewest sharing one profile.
fn naive_figures(header: &[String], rows: &[Vec<String>], qi: &[usize]) -> (u64, u64, u64) {
    let subscriber = header.iter().position(|h| h == "subscriber").unwrap();
    let mut profiles: BTreeMap<&str, Vec<Vec<&str>>> = BTreeMap::new();
    for row in rows {
        profiles
            .entry(&row[subscriber])
            .or_default()
            .push(qi.iter().map(|&i| row[i].as_str()).collect());
    }
    let mut sharing: BTreeMap<Vec<Vec<&str>>, u64> = BTreeMap::new();
    for mut p in profiles.values().cloned() {
        p.sort();
        *sharing.entry(p).or_default() += 1;
    }
    let below = sharing.values().filter(|&&n| n < 5).sum();
    let smallest = sharing.values().min().copied().unwrap_or(0);
    (profiles.len() as u64, below, smallest)
}

fn verify_ok(dir: &std::path::Path) {
    let (code, out, stderr) = crate::common::certanon_cmd(&["verify", dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "verify: {out}{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dominated_class_is_not_released_and_the_subject_figures_add_up() {
    let db = dominated_tottori().await;
    let (dir, _setup) = run(&db, "pseudonymous");
    let (header, rows, facts) = read(&dir);
    let qi = qi_columns(&header, &facts);
    let subscriber = header.iter().position(|h| h == "subscriber").unwrap();
    let region = header.iter().position(|h| h == "region").unwrap();

    let mut classes: HashMap<Vec<&str>, HashSet<&str>> = HashMap::new();
    for row in &rows {
        classes
            .entry(qi.iter().map(|&i| row[i].as_str()).collect())
            .or_default()
            .insert(&row[subscriber]);
    }
    let fewest = classes.values().map(HashSet::len).min().unwrap_or(0);
    assert!(fewest >= 5, "a released class holds {fewest} subscribers");
    assert!(
        rows.iter().all(|r| r[region] != "31"),
        "Tottori released at the prefecture level"
    );

    let (subjects, below, smallest) = naive_figures(&header, &rows, &qi);
    let s = &facts["subjects"];
    assert_eq!(s["in_file"].as_u64(), Some(subjects));
    assert_eq!(s["profile_below_k"].as_u64(), Some(below));
    assert_eq!(
        s["max_reidentification_risk"].as_f64(),
        Some(1.0 / smallest as f64)
    );
    assert_eq!(
        below, 1,
        "the dominant subscriber's 40 rows are a profile of its own"
    );
    assert_eq!(s["subscribers_scanned"].as_u64(), Some(34));
    assert_eq!(
        s["subscribers_released"].as_u64().unwrap() + s["subscribers_suppressed"].as_u64().unwrap(),
        34
    );
    verify_ok(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_extract_links_no_rows_and_verify_finds_no_rare_profile() {
    let db = dominated_tottori().await;
    let (dir, _setup) = run(&db, "anonymous");
    let (header, rows, facts) = read(&dir);
    let pseudonyms: Vec<&str> = facts["pseudonym_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(pseudonyms, ["certificate"]);
    let quasi = facts["quasi_identifiers"].as_array().unwrap().len();
    assert_eq!(
        header.len(),
        1 + quasi + 1,
        "certificate, the quasi-identifiers and the region's name: {header:?}"
    );
    assert_eq!(facts["subjects"]["profile_below_k"].as_u64(), Some(0));
    assert_eq!(
        facts["subjects"]["in_file"].as_u64(),
        Some(rows.len() as u64)
    );
    let notice = std::fs::read_to_string(dir.join("PUBLIC_NOTICE.md")).unwrap();
    let levels = facts["levels"].as_object().unwrap();
    if levels["issued"] != "month" {
        assert!(!notice.contains("(month)"), "{notice}");
    }
    assert!(!notice.contains("subscriber pseudonym"), "{notice}");
    verify_ok(&dir);
}

/// One subscriber with one certificate per `(first id, count, address, month)` group.
async fn add_subscribers(db: &TestDb, groups: &[(i64, i64, &str, &str)]) {
    for &(first, count, address, month) in groups {
        db.client
            .execute(
                "WITH s AS (
                   INSERT INTO certinfo.subscribers (id, kind, organization_name, postal_address, country, created_at, updated_at)
                   SELECT i, 'organization', 'Org ' || i, $3, 'JP', '2019-01-01', '2019-01-01'
                     FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) i RETURNING id),
                 a AS (
                   INSERT INTO certinfo.applications (id, subscriber_id, channel, product, submitted_at, status)
                   SELECT id, id, 'other', 'DV', '2019-01-01', 'issued' FROM s RETURNING id)
                 INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name, subject_alt_names,
                        validation_type, key_algorithm, key_size, signature_algorithm,
                        not_before, not_after, issued_at, ct_precert_logged, der)
                 SELECT id, id, lpad(to_hex(id), 16, '0'), 'w' || id || '.example.co.jp', ARRAY['w' || id || '.example.co.jp'],
                        'DV', 'ECDSA', 256, 'ecdsa-with-SHA256',
                        ($4 || '-10')::timestamptz, ($4 || '-10')::timestamptz + interval '90 days',
                        ($4 || '-10')::timestamptz, true, '\\x00'::bytea
                   FROM a",
                &[&first, &count, &address, &month],
            )
            .await
            .expect("purpose-built rows");
    }
}

fn level_rank(q: &str, level: &str) -> usize {
    let levels: &[&str] = match q {
        "region" => &["prefecture", "region", "japan_or_abroad", "*"],
        "issued" => &["month", "quarter", "year", "*"],
        _ => &[],
    };
    levels
        .iter()
        .position(|l| *l == level)
        .unwrap_or(usize::MAX)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_release_under_the_same_key_is_never_finer_and_the_join_keeps_k() {
    const TOKYO: &str = "東京都千代田区丸の内1-1";
    const OSAKA: &str = "大阪府大阪市北区1-1";
    let db = TestDb::reference().await;
    // Months are affordable, prefectures are not: Osaka holds 2 subscribers a month.
    add_subscribers(
        &db,
        &[
            (1, 10, TOKYO, "2020-01"),
            (11, 10, TOKYO, "2020-02"),
            (21, 2, OSAKA, "2020-01"),
            (23, 2, OSAKA, "2020-02"),
        ],
    )
    .await;
    let setup = Setup::new(&task("pseudonymous"));
    let release = |setup: &Setup| {
        let (code, _, stderr) =
            setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
        assert_eq!(code, 0, "{stderr}");
        setup.exports_of("research_extract").last().unwrap().clone()
    };
    let first = release(&setup);
    let (_, _, facts1) = read(&first);
    let levels1 = facts1["levels"].clone();
    assert_eq!(levels1["issued"], "month", "{levels1}");
    assert_ne!(levels1["region"], "prefecture", "{levels1}");

    // Osaka grows, spread over the year: prefectures become affordable, months do not.
    let mut id = 100;
    for month in 3..=12 {
        add_subscribers(&db, &[(id, 3, OSAKA, &format!("2020-{month:02}"))]).await;
        id += 3;
    }
    // A new key_id is a new pseudonym space, which no earlier release pins.
    let fresh_key = Setup::new(&task("pseudonymous"));
    let config = std::fs::read_to_string(&fresh_key.config).unwrap();
    std::fs::write(
        &fresh_key.config,
        config.replace("key_id = \"t1\"", "key_id = \"t2\""),
    )
    .unwrap();
    let (_, _, free) = read(&release(&fresh_key));
    assert_eq!(
        free["levels"]["region"], "prefecture",
        "the data must tempt the search: {}",
        free["levels"]
    );

    let second = release(&setup);
    let (header2, rows2, facts2) = read(&second);
    for q in ["region", "issued"] {
        let (was, now) = (
            levels1[q].as_str().unwrap(),
            facts2["levels"][q].as_str().unwrap(),
        );
        assert!(
            level_rank(q, now) >= level_rank(q, was),
            "{q}: {was} then {now}"
        );
    }
    verify_ok(&second);

    // Join on the certificate pseudonym: each certificate's finer region and month of the
    // two releases together still fall in classes of at least k.
    let (header1, rows1, _) = read(&first);
    let col = |h: &[String], name: &str| h.iter().position(|c| c == name).unwrap();
    let by_cert: HashMap<&str, &Vec<String>> = rows1
        .iter()
        .map(|r| (r[col(&header1, "certificate")].as_str(), r))
        .collect();
    let mut joined: HashMap<Vec<&str>, u64> = HashMap::new();
    for r in &rows2 {
        if let Some(r1) = by_cert.get(r[col(&header2, "certificate")].as_str()) {
            let mut key: Vec<&str> = ["region", "issued"]
                .iter()
                .map(|q| r1[col(&header1, q)].as_str())
                .collect();
            key.extend(
                ["region", "issued"]
                    .iter()
                    .map(|q| r[col(&header2, q)].as_str()),
            );
            *joined.entry(key).or_default() += 1;
        }
    }
    assert!(!joined.is_empty());
    let smallest = joined.values().min().copied().unwrap();
    assert!(smallest >= 5, "a joined class of {smallest}");
}

/// Subscribers 1..=40 in Tokyo with one certificate each, half issued in January 2020 and half
/// in February; subscriber 1000 in Tokyo with one of each, a certificate history no other
/// subscriber shares although each of its rows sits in a class of 21 subscribers.
async fn one_unique_history() -> TestDb {
    const TOKYO: &str = "東京都千代田区丸の内1-1";
    let db = TestDb::reference().await;
    add_subscribers(
        &db,
        &[(1, 20, TOKYO, "2020-01"), (21, 20, TOKYO, "2020-02")],
    )
    .await;
    db.client
        .batch_execute(
            "INSERT INTO certinfo.subscribers (id, kind, organization_name, postal_address, country, created_at, updated_at)
             VALUES (1000, 'organization', 'Org 1000', '東京都千代田区丸の内1-1', 'JP', '2019-01-01', '2019-01-01');
             INSERT INTO certinfo.applications (id, subscriber_id, channel, product, submitted_at, status)
             VALUES (1000, 1000, 'other', 'DV', '2019-01-01', 'issued'),
                    (1001, 1000, 'other', 'DV', '2019-01-01', 'issued');
             INSERT INTO certinfo.certificates (id, application_id, serial_number, common_name, subject_alt_names,
                    validation_type, key_algorithm, key_size, signature_algorithm,
                    not_before, not_after, issued_at, ct_precert_logged, der)
             SELECT id, id, lpad(to_hex(id), 16, '0'), 'w' || id || '.example.co.jp', ARRAY['w' || id || '.example.co.jp'],
                    'DV', 'ECDSA', 256, 'ecdsa-with-SHA256', at, at + interval '90 days', at, true, '\\x00'::bytea
               FROM (VALUES (1000, '2020-01-10'::timestamptz), (1001, '2020-02-10'::timestamptz)) c(id, at)",
        )
        .await
        .expect("purpose-built rows");
    db
}

#[tokio::test(flavor = "multi_thread")]
async fn subject_k_removes_a_subscriber_whose_certificate_history_is_unique() {
    let db = one_unique_history().await;
    let (dir, _setup) = run(&db, "pseudonymous");
    let (header, rows, facts) = read(&dir);
    let qi = qi_columns(&header, &facts);
    assert_eq!(rows.len(), 42, "without subject_k every row is released");
    assert_eq!(naive_figures(&header, &rows, &qi), (41, 1, 1));
    assert_eq!(facts["subjects"]["profile_below_k"].as_u64(), Some(1));
    assert!(facts["subjects"].get("subject_k").is_none(), "{facts}");

    // Written ahead of the tasks, the key lands in the [privacy] table Setup opens.
    let setup = Setup::new(&format!("subject_k = 5\n\n{}", task("pseudonymous")));
    let (code, _, stderr) = setup.certanon(&db, &["run", "--task", "research_extract", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let dir = setup.exports_of("research_extract")[0].clone();
    let (header, rows, facts) = read(&dir);
    let qi = qi_columns(&header, &facts);
    assert_eq!(
        rows.len(),
        40,
        "the two rows of subscriber 1000 go, the rest stay"
    );
    let (subjects, below, smallest) = naive_figures(&header, &rows, &qi);
    assert_eq!((subjects, below), (40, 0));
    let s = &facts["subjects"];
    assert_eq!(s["in_file"].as_u64(), Some(subjects));
    assert_eq!(s["profile_below_k"].as_u64(), Some(0));
    assert_eq!(
        s["max_reidentification_risk"].as_f64(),
        Some(1.0 / smallest as f64)
    );
    assert_eq!(
        s["subject_k"],
        serde_json::json!({"k": 5, "rows_suppressed": 2, "subjects_suppressed": 1})
    );
    assert_eq!(facts["rows_suppressed"].as_u64(), Some(2));
    assert_eq!(facts["rows_released"].as_u64(), Some(40));
    assert_eq!(s["subscribers_suppressed"].as_u64(), Some(1));
    let dictionary = std::fs::read_to_string(dir.join("DATA_DICTIONARY.md")).unwrap();
    assert!(dictionary.contains("subject_k"), "{dictionary}");
    verify_ok(&dir);
}
