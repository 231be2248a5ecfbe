//! `verify` on exports written as the run writes them, then tampered with or made hostile.

use std::path::PathBuf;

mod hostile;

use proptest::prelude::*;

use super::identifiers::{Suspect, suspect};
use super::*;
use crate::outputs::aggregate;
use crate::outputs::export::Export;
use crate::outputs::manifest::{MicrodataFacts, MicrodataKind, SubjectFacts, SubjectK};
use crate::outputs::schema::Resource;
use crate::privacy::{Published, PublishedCell, TOTAL};

const EXTRACT: &str = "research_extract.csv";
const TABLE: &str = "issued_by_month_channel.csv";
const TOTALS: &str = "issued_by_month_channel_totals.csv";

fn pseudonym(i: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let b32: String = (0..26)
        .map(|j| char::from(alphabet[(i * 7 + j * 3) % 32]))
        .collect();
    format!("k1_{b32}")
}

fn cells(rows: &[(&str, &str, Option<u64>)]) -> Vec<PublishedCell> {
    rows.iter()
        .map(|&(month, channel, count)| PublishedCell {
            key: vec![month.to_owned(), channel.to_owned()],
            count,
            primary: false,
            secondary: count.is_none(),
        })
        .collect()
}

/// Issued per month × channel, with a safe pattern of four suppressed cells: each of the
/// suppressed cells can be anything from 1 to 10 given what is published.
fn good_table() -> Vec<PublishedCell> {
    cells(&[
        ("2026-01", "acme", Some(20)),
        ("2026-01", "operator", None),
        ("2026-01", "other", None),
        ("2026-02", "acme", Some(25)),
        ("2026-02", "operator", None),
        ("2026-02", "other", None),
        ("2026-01", TOTAL, Some(30)),
        ("2026-02", TOTAL, Some(35)),
        (TOTAL, "acme", Some(45)),
        (TOTAL, "operator", Some(11)),
        (TOTAL, "other", Some(9)),
        (TOTAL, TOTAL, Some(65)),
    ])
}

fn good_extract() -> Vec<[String; 5]> {
    (0..10)
        .map(|i| {
            let (region, vt) = if i < 5 { ("13", "DV") } else { ("27", "OV") };
            [
                pseudonym(i),
                pseudonym(100 + i % 3),
                region.into(),
                "2026-03".into(),
                vt.into(),
            ]
        })
        .collect()
}

/// Subjects (grouped by the subscriber column, the fixture's only linking column) whose
/// profile, the sorted quasi-identifier tuples of their rows, fewer than 5 subjects share.
fn naive_below_5(extract: &[[String; 5]]) -> u64 {
    let mut profiles: BTreeMap<&str, Vec<&[String]>> = BTreeMap::new();
    for row in extract {
        profiles.entry(&row[1]).or_default().push(&row[2..]);
    }
    let mut sharing: BTreeMap<Vec<&[String]>, u64> = BTreeMap::new();
    for mut profile in profiles.into_values() {
        profile.sort();
        *sharing.entry(profile).or_default() += 1;
    }
    sharing.values().filter(|&&n| n < 5).sum()
}

/// The table by month and channel, its hidden cells all secondary.
fn published(table: Vec<PublishedCell>) -> Published {
    Published {
        name: "issued_by_month_channel".into(),
        population: "issued_certificates".into(),
        dims: vec!["month".into(), "channel".into()],
        primary: 0,
        by_rule: Default::default(),
        secondary: table.iter().filter(|c| c.count.is_none()).count(),
        cells: table,
    }
}

/// A committed export holding a research extract and one table, as the run writes them.
fn export(extract: &[[String; 5]], table: Vec<PublishedCell>) -> (tempfile::TempDir, PathBuf) {
    export_as(extract, table, "pseudonymous", naive_below_5(extract), None)
}

/// An export in `mode` whose manifest reports `below_k` subjects with a rare profile and, if
/// given, the `privacy.subject_k` it enforced.
fn export_as(
    extract: &[[String; 5]],
    table: Vec<PublishedCell>,
    mode: &str,
    below_k: u64,
    subject_k: Option<u64>,
) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let mut export = Export::begin(root.path(), "t", "r1").unwrap();
    let resource = Resource::text(
        EXTRACT,
        &[
            "certificate",
            "subscriber",
            "region",
            "issued",
            "validation_type",
        ],
    );
    let mut files = export.table(resource).unwrap();
    for row in extract {
        files.write(row).unwrap();
    }
    files.finish(&mut export).unwrap();
    let published = published(table);
    aggregate::write(&mut export, std::slice::from_ref(&published)).unwrap();
    let mut manifest = Manifest::example();
    manifest.policy.mode = mode.into();
    manifest.privacy = aggregate::privacy_facts(&[published], crate::privacy::Rules::K5);
    let strings = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect();
    let microdata = MicrodataFacts {
        achieved_k: 5,
        finest_levels_searched: BTreeMap::new(),
        information_loss: 0.5,
        k: 5,
        kind: MicrodataKind::Microdata,
        levels: BTreeMap::new(),
        pseudonym_columns: strings(&["certificate", "subscriber"]),
        quasi_identifiers: strings(&["region", "issued", "validation_type"]),
        rows_in: 10,
        rows_released: 10,
        rows_suppressed: 0,
        subjects: SubjectFacts {
            profile_below_k: below_k,
            subject_k: subject_k.map(|k| SubjectK {
                k,
                rows_suppressed: 0,
                subjects_suppressed: 0,
            }),
            ..SubjectFacts::default()
        },
    };
    manifest
        .privacy
        .insert(EXTRACT.into(), FileFacts::Microdata(microdata));
    // Unverified: these exports are built to break the rules the job itself refuses to publish.
    let dir = export.commit_unverified(manifest).unwrap();
    (root, dir)
}

fn failures(dir: &Path) -> Vec<String> {
    match verify(dir) {
        Err(Error::Verify(lines)) => lines,
        other => panic!("expected verification failures, got {other:?}"),
    }
}

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn passes_on_a_good_export() {
    let (_root, dir) = export(&good_extract(), good_table());
    let report = verify(&dir).unwrap();
    assert_eq!(
        report,
        VerifyReport {
            files: 10,
            csv_rows: 10 + 12,
            parquet_files: 3,
            microdata_files: 1,
            tables: 1,
            suppressed_cells: 4,
        }
    );
    assert!(report.to_string().starts_with("verify: ok"));
}

#[test]
fn fails_on_a_published_count_below_k() {
    let mut table = good_table();
    table[1].count = Some(3);
    table[2].count = Some(7);
    table[4].count = Some(8);
    table[5].count = Some(2);
    let (_root, dir) = export(&good_extract(), table);
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            &format!("{TABLE}: 2 rows publish a count between 1 and k-1=4")
        ),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
}

#[test]
fn fails_on_a_cell_recoverable_by_subtraction() {
    // Publishing January's `other` (7) leaves one suppressed cell in the January row
    // (30 - 20 - 7 = 3) and one in the `other` column (9 - 7 = 2).
    let mut table = good_table();
    table[2].count = Some(7);
    let (_root, dir) = export(&good_extract(), table);
    let lines = failures(&dir);
    assert_eq!(
        lines,
        [
            format!(
                "{TABLE}: suppressed cell (2026-02, other) can be recovered by subtraction along month"
            ),
            format!(
                "{TABLE}: suppressed cell (2026-01, operator) can be recovered by subtraction along channel"
            ),
        ]
    );
}

#[test]
fn fails_on_a_cell_pinned_only_by_bounds() {
    // Every line holds two suppressed cells, but January's two add up to 2 and each is at
    // least 1: both are 1, and February's follow. Only the LP audit sees it.
    let table = cells(&[
        ("2026-01", "acme", Some(20)),
        ("2026-01", "operator", None),
        ("2026-01", "other", None),
        ("2026-02", "acme", Some(20)),
        ("2026-02", "operator", None),
        ("2026-02", "other", None),
        ("2026-01", TOTAL, Some(22)),
        ("2026-02", TOTAL, Some(38)),
        (TOTAL, "acme", Some(40)),
        (TOTAL, "operator", Some(10)),
        (TOTAL, "other", Some(10)),
        (TOTAL, TOTAL, Some(60)),
    ]);
    let (_root, dir) = export(&good_extract(), table);
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            &format!("{TABLE}: cell (2026-01, operator): suppressed cell can be worked out")
        ),
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains("subtraction")),
        "{lines:?}"
    );
}

#[test]
fn fails_when_margins_do_not_add_up_or_are_missing() {
    let mut table = good_table();
    table[8].count = Some(46);
    table.retain(|c| c.key != [TOTAL, "other"]);
    table.retain(|c| c.key != [TOTAL, "operator"]);
    let (_root, dir) = export(&good_extract(), table);
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            "total (TOTAL, acme) is 46 but its cells along month add up to 45"
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            "2 marginal total(s) missing, e.g. (TOTAL, operator)"
        ),
        "{lines:?}"
    );
}

#[test]
fn fails_on_a_tampered_file() {
    let (_root, dir) = export(&good_extract(), good_table());
    let path = dir.join(TABLE);
    let body = fs::read_to_string(&path)
        .unwrap()
        .replace("2026-01,acme,20", "2026-01,acme,21");
    fs::write(&path, body).unwrap();
    let extract = fs::read_to_string(dir.join(EXTRACT)).unwrap();
    let first_row = extract.lines().nth(1).unwrap().to_owned();
    fs::write(dir.join(EXTRACT), format!("{extract}{first_row}\r\n")).unwrap();
    let lines = failures(&dir);
    // Grown past the size the manifest announced, the extract is not read at all.
    let grown = fs::metadata(dir.join(EXTRACT)).unwrap().len();
    assert!(
        has(
            &lines,
            &format!(
                "{EXTRACT}: {grown} bytes, manifest.json says {}",
                grown - first_row.len() as u64 - 2
            )
        ),
        "{lines:?}"
    );
    assert!(!has(&lines, "rows, the file has"), "{lines:?}");
    assert!(!has(&lines, &format!("{EXTRACT}: checksum")), "{lines:?}");
    assert!(
        has(
            &lines,
            &format!("{TABLE}: checksum does not match SHA256SUMS")
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &format!("{TABLE}: checksum does not match manifest.json")
        ),
        "{lines:?}"
    );
    assert!(has(
        &lines,
        "total (TOTAL, acme) is 45 but its cells along month add up to 46"
    ));
}

#[test]
fn fails_on_a_missing_or_extra_file() {
    let (_root, dir) = export(&good_extract(), good_table());
    fs::remove_file(dir.join(TABLE)).unwrap();
    fs::write(dir.join("notes.txt"), "x").unwrap();
    let lines = failures(&dir);
    assert!(
        has(&lines, &format!("SHA256SUMS line 3: {TABLE} is missing")),
        "{lines:?}"
    );
    assert!(
        has(&lines, &format!("manifest.json: {TABLE} is missing")),
        "{lines:?}"
    );
    assert!(has(
        &lines,
        &format!("manifest.json: privacy facts name {TABLE}, which is not in the export")
    ));
    assert!(has(
        &lines,
        &format!("datapackage.json: lists {TABLE}, which is not a CSV file of the export")
    ));
    assert!(
        !has(&lines, "combine into"),
        "half a table is not audited: {lines:?}"
    );
    assert!(
        has(&lines, "notes.txt: not listed in SHA256SUMS"),
        "{lines:?}"
    );
    assert!(
        has(&lines, "notes.txt: not listed in manifest.json"),
        "{lines:?}"
    );
}

#[test]
fn fails_on_an_extract_class_smaller_than_k() {
    let mut extract = good_extract();
    extract[9][4] = "DV".into();
    let (_root, dir) = export(&extract, good_table());
    let lines = failures(&dir);
    assert_eq!(
        lines,
        [format!(
            "{EXTRACT}: 2 combination(s) of the quasi-identifiers occur in fewer than k=5 rows (smallest: 1)"
        )]
    );
}

#[test]
fn anonymous_extract_fails_when_a_pseudonym_links_rows_into_a_rare_profile() {
    // Subscribers 100..103 hold rows of both classes; each profile is shared by fewer than 5.
    let (_root, dir) = export_as(&good_extract(), good_table(), "anonymous", 3, None);
    let lines = failures(&dir);
    assert_eq!(
        lines,
        [format!(
            "{EXTRACT}: 3 subject(s), rebuilt through the pseudonym columns, have a profile fewer than k=5 subjects share (smallest: 1)"
        )]
    );
    // Ten subscribers, one row each: every profile is a class of 5.
    let mut unlinked = good_extract();
    for (i, row) in unlinked.iter_mut().enumerate() {
        row[1] = pseudonym(200 + i);
    }
    let (_root, dir) = export_as(&unlinked, good_table(), "anonymous", 0, None);
    verify(&dir).unwrap();
}

#[test]
fn a_pseudonymous_extract_that_recorded_subject_k_fails_on_a_rare_profile() {
    let extract = good_extract();
    let below = naive_below_5(&extract);
    assert!(below > 0, "the fixture has subjects below 5");
    let (_root, dir) = export_as(&extract, good_table(), "pseudonymous", below, None);
    verify(&dir).unwrap();
    let (_root, dir) = export_as(&extract, good_table(), "pseudonymous", below, Some(5));
    assert_eq!(
        failures(&dir),
        [format!(
            "{EXTRACT}: {below} subject(s), rebuilt through the pseudonym columns, have a profile fewer than subject_k=5 subjects share (smallest: 1)"
        )]
    );
}

#[test]
fn a_manifest_that_misreports_the_subjects_below_k_fails() {
    let extract = good_extract();
    let actual = naive_below_5(&extract);
    let (_root, dir) = export_as(&extract, good_table(), "pseudonymous", actual + 1, None);
    let lines = failures(&dir);
    assert_eq!(
        lines,
        [format!(
            "{EXTRACT}: manifest.json reports {} subject(s) with a profile fewer than k share, the file shows {actual}",
            actual + 1
        )]
    );
}

#[test]
fn fails_on_identifier_looking_values_without_quoting_them() {
    let mut extract = good_extract();
    for row in extract.iter_mut().take(5) {
        row[3] = "taro.yamada@example.co.jp".into();
    }
    extract[5][3] = "03-1234-5678".into();
    extract[6][3] = "04:a3:5f:91:0c:77:e2:18:aa".into();
    extract[7][0] = "1234567".into();
    let (_root, dir) = export(&extract, good_table());
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            &format!(
                "{EXTRACT}: 5 rows in column issued: values look like e-mail addresses (first: row 1)"
            )
        ),
        "{lines:?}"
    );
    assert!(has(
        &lines,
        "1 row in column issued: values look like phone numbers (first: row 6)"
    ));
    assert!(has(
        &lines,
        "1 row in column issued: values look like serial numbers"
    ));
    assert!(has(
        &lines,
        "1 row in column certificate: values in a pseudonym column are not pseudonyms"
    ));
    let all = lines.join("\n");
    for secret in ["taro", "1234-5678", "a3:5f", "1234567"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
}

#[test]
fn identifier_heuristics() {
    assert_eq!(suspect("a@b", false), Some(Suspect::Email));
    assert_eq!(suspect("ｔａｒｏ＠example.jp", false), Some(Suspect::Email));
    assert_eq!(suspect("+81 3 1234 5678", false), Some(Suspect::Phone));
    assert_eq!(
        suspect("０３（１２３４）５６７８", false),
        Some(Suspect::Phone)
    );
    assert_eq!(suspect("0123456789abcdef", false), Some(Suspect::Serial));
    assert_eq!(suspect(&pseudonym(3), true), None);
    assert_eq!(suspect("erased", true), None);
    assert_eq!(suspect("", true), None);
    assert_eq!(suspect("k1_short", true), Some(Suspect::NotPseudonym));
    for fine in [
        "2026-03",
        "2026-03-15",
        "13 東京都",
        "1234567",
        "<=398d",
        "ECDSA-P256",
        "TOTAL",
        "65",
    ] {
        assert_eq!(suspect(fine, false), None, "{fine}");
    }
}

#[test]
fn hostile_files_give_failure_lines() {
    let (_root, dir) = export(&good_extract(), good_table());
    fs::write(dir.join(EXTRACT), "certificate,subscriber\r\na,b,c\r\n").unwrap();
    fs::write(dir.join(TABLE), "month,count\r\n2026-01,5\r\n").unwrap();
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            &format!("{EXTRACT} row 1: has 3 fields where the header has 2")
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &format!("{TABLE}: column status named in manifest.json is missing")
        ),
        "{lines:?}"
    );
    fs::write(
        dir.join(TABLE),
        "month,channel,count,status\r\n2026-01,acme,5\r\n",
    )
    .unwrap();
    assert!(has(
        &failures(&dir),
        &format!("{TABLE} row 1: has 3 fields where the header has 4")
    ));
    fs::write(
        dir.join(TABLE),
        b"month,channel,count,status\r\n\xff,acme,5,published\r\n",
    )
    .unwrap();
    assert!(has(
        &failures(&dir),
        &format!("{TABLE} row 1: is not UTF-8")
    ));
    fs::write(
        dir.join(TABLE),
        "month,channel,count,status\r\nx,y,-1,maybe\r\nx,z,5,secondary\r\nx,TOTAL,5,published\r\n",
    )
    .unwrap();
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            "1 row have a `status` other than published/primary/secondary"
        ),
        "{lines:?}"
    );
    assert!(
        has(&lines, "1 row are withheld but show a count"),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &format!("{TABLE}: 1 row hold a total, which belongs in the totals file")
        ),
        "{lines:?}"
    );
    fs::write(
        dir.join(TOTALS),
        "month,channel,count,status\r\n2026-01,acme,5,published\r\n",
    )
    .unwrap();
    assert!(has(
        &failures(&dir),
        &format!("{TOTALS}: 1 row hold an interior cell, which belongs in the table's other file")
    ));
    let mut manifest: Manifest =
        serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    manifest.policy.k = 0;
    fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
    assert!(has(&failures(&dir), "manifest.json: policy.k is 0"));
    fs::write(dir.join(MANIFEST), "{\"policy\": [").unwrap();
    assert!(has(
        &failures(&dir),
        "manifest.json: not valid JSON (line 1"
    ));
    fs::write(dir.join(MANIFEST), "{\"policy\": {\"k\": \"five\"}}").unwrap();
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            "manifest.json: a field is missing or has the wrong type (line 1, column"
        ),
        "{lines:?}"
    );
    assert!(!lines.join("\n").contains("five"), "{lines:?}");
    fs::remove_file(dir.join(MANIFEST)).unwrap();
    fs::write(dir.join(SUMS), "garbage\n").unwrap();
    let lines = failures(&dir);
    assert!(has(&lines, "manifest.json is missing"));
    assert!(has(
        &lines,
        "SHA256SUMS line 1: not `<sha256>  <file name>`"
    ));
    fs::create_dir(dir.join("sub")).unwrap();
    assert!(has(&failures(&dir), "sub: not a regular file"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn never_panics_on_arbitrary_contents(
        table in proptest::collection::vec(any::<u8>(), 0..200),
        table_text in "[a-z0-9,\"\r\nTOTAL]{0,200}",
        manifest_text in "\\PC{0,100}",
    ) {
        let (_root, dir) = export(&good_extract(), good_table());
        fs::write(dir.join(TABLE), &table).unwrap();
        prop_assert!(verify(&dir).is_err());
        fs::write(dir.join(TABLE), format!("month,channel,count,status\r\n{table_text}")).unwrap();
        let _ = verify(&dir);
        fs::write(dir.join(MANIFEST), &manifest_text).unwrap();
        prop_assert!(verify(&dir).is_err());
    }
}

#[test]
fn manifest_suppression_facts_must_match_the_file() {
    // As read back, a table is named by its file.
    let mut published = published(good_table());
    published.name = TABLE.into();
    let facts =
        aggregate::privacy_facts(std::slice::from_ref(&published), crate::privacy::Rules::K5);
    let Some(FileFacts::Table(mut facts)) = facts.into_values().next() else {
        panic!("table facts")
    };
    let check = |facts: &crate::outputs::manifest::TableFacts| {
        let mut out = Failures::default();
        tables::check_facts(&published, facts, &mut out);
        out.lines
    };
    assert_eq!(check(&facts), Vec::<String>::new());
    facts.primary_suppressed = 1;
    let lines = check(&facts);
    assert!(
        has(
            &lines,
            "says 1 primary and 4 secondary cells are withheld, the files mark 0 and 4"
        ),
        "{lines:?}"
    );
    assert!(has(&lines, "do not add up"), "{lines:?}");
    facts.primary_suppressed = 0;
    facts.dominance = Some(1.5);
    assert_eq!(
        check(&facts),
        [format!(
            "{TABLE}: manifest.json gives dominance 1.5, not a share in (0, 1]"
        )]
    );
}
