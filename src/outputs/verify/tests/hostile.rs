//! `verify` on exports crafted by someone who controls every file, manifest and checksums
//! included: what it reads is bounded, what a file may hold follows from its kind, and nothing
//! it prints can fake a line or drive the terminal.

use super::*;
use crate::outputs::manifest::TableFacts;
use crate::outputs::schema::DATA_PACKAGE;

/// Rewrites the manifest (sizes and checksums of the files as they now are, files removed
/// left out, then `edit`) and SHA256SUMS, as an attacker who controls the whole directory would.
fn reseal(dir: &Path, edit: impl FnOnce(&mut Manifest)) {
    let mut manifest: Manifest =
        serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    manifest
        .files
        .retain(|entry| dir.join(&entry.name).exists());
    for entry in &mut manifest.files {
        let (sha256, bytes) = export::sha256_file(&dir.join(&entry.name)).unwrap();
        entry.sha256 = sha256;
        entry.bytes = bytes;
        entry.rows = None;
    }
    edit(&mut manifest);
    fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
    let mut sums = String::new();
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != SUMS {
            let (sha, _) = export::sha256_file(&dir.join(&name)).unwrap();
            sums.push_str(&format!("{sha}  {name}\n"));
        }
    }
    fs::write(dir.join(SUMS), sums).unwrap();
}

fn microdata(manifest: &mut Manifest) -> &mut MicrodataFacts {
    match manifest.privacy.get_mut(EXTRACT) {
        Some(FileFacts::Microdata(m)) => m,
        _ => panic!("no extract facts"),
    }
}

fn table(manifest: &mut Manifest) -> &mut TableFacts {
    match manifest.privacy.get_mut(TABLE) {
        Some(FileFacts::Table(t)) => t,
        _ => panic!("no table facts"),
    }
}

#[test]
fn raw_columns_fail_whatever_the_manifest_calls_them() {
    let (_root, dir) = export(&good_extract(), good_table());
    let mut body = "certificate,full_name,home_address,region\r\n".to_owned();
    for i in 0..10 {
        body.push_str(&format!("{},Name {i},Street {i},13\r\n", pseudonym(i)));
    }
    fs::write(dir.join(EXTRACT), body).unwrap();
    let table = fs::read_to_string(dir.join(TABLE))
        .unwrap()
        .replace(
            "month,channel,count,status",
            "month,channel,count,status,note",
        )
        .replace("\r\n", ",x\r\n")
        .replacen(",x\r\n", "\r\n", 1);
    fs::write(dir.join(TABLE), table).unwrap();
    reseal(&dir, |m| {
        let facts = microdata(m);
        facts.quasi_identifiers.clear();
        facts.pseudonym_columns.clear();
    });
    let lines = failures(&dir);
    for column in ["full_name", "home_address"] {
        assert!(
            has(
                &lines,
                &format!("{EXTRACT}: column {column} is not one a research extract has")
            ),
            "{lines:?}"
        );
    }
    assert!(
        has(
            &lines,
            &format!("{TABLE}: column note is not one a statistics table has")
        ),
        "{lines:?}"
    );
    assert!(!lines.join("\n").contains("Street"), "{lines:?}");
}

#[test]
fn an_extract_is_checked_on_the_quasi_identifiers_it_has_not_those_the_manifest_lists() {
    let mut extract = good_extract();
    extract[9][4] = "DV".into();
    let (_root, dir) = export(&extract, good_table());
    reseal(&dir, |m| microdata(m).quasi_identifiers.clear());
    assert!(has(
        &failures(&dir),
        "2 combination(s) of the quasi-identifiers occur in fewer than k=5 rows"
    ));
}

#[test]
fn a_table_dimension_the_manifest_leaves_out_fails() {
    let (_root, dir) = export(&good_extract(), good_table());
    reseal(&dir, |m| table(m).dims = vec!["month".into()]);
    assert!(has(
        &failures(&dir),
        &format!("{TABLE}: column channel is not among the dims manifest.json lists")
    ));
}

#[test]
fn min_k_holds_the_export_to_the_recipients_k() {
    let (_root, dir) = export(&good_extract(), good_table());
    let demand = |min_k| {
        verify_with(
            &dir,
            Demands {
                min_k: Some(min_k),
                recorded: None,
            },
        )
    };
    assert!(demand(5).is_ok());
    let Err(Error::Verify(lines)) = demand(6) else {
        panic!("--min-k 6 passed an export made with k=5");
    };
    assert!(
        has(&lines, "manifest.json: policy.k is 5, below --min-k 6"),
        "{lines:?}"
    );
    assert!(has(
        &lines,
        &format!("{EXTRACT}: achieved k is 5, below --min-k 6")
    ));
    assert!(has(&lines, &format!("{TABLE}: k is 5, below --min-k 6")));
    // The files themselves, not only the stated k: classes of 5 rows are too small for 6.
    assert!(has(
        &lines,
        &format!("{EXTRACT}: 2 combination(s) of the quasi-identifiers occur in fewer than k=6")
    ));
}

#[test]
fn names_and_headers_are_printed_escaped() {
    let (_root, dir) = export(&good_extract(), good_table());
    let crafted = "x\u{1b}[2J\nverify: ok: all good\u{202e}.csv";
    fs::write(dir.join(crafted), "a\r\n").unwrap();
    let table = fs::read_to_string(dir.join(TABLE))
        .unwrap()
        .replace("month,channel", "month,\"chan\u{1b}]0;\u{7}\nverify: ok\"");
    fs::write(dir.join(TABLE), table).unwrap();
    reseal(&dir, |_| {});
    let lines = failures(&dir);
    for line in &lines {
        assert!(
            !line.contains(['\u{1b}', '\n', '\u{7}', '\u{202e}']),
            "{line:?}"
        );
        assert!(!line.starts_with("verify: ok"), "{line:?}");
    }
    assert!(
        has(
            &lines,
            "x\\u{1b}[2J\\nverify: ok: all good\\u{202e}.csv: not listed in manifest.json"
        ),
        "{lines:?}"
    );
    assert!(
        has(&lines, "column chan\\u{1b}]0;\\u{7}\\nverify: ok is not"),
        "{lines:?}"
    );
}

#[test]
fn a_record_longer_than_the_limit_is_refused_not_buffered() {
    let (_root, dir) = export(&good_extract(), good_table());
    let mut body = fs::read(dir.join(TABLE)).unwrap();
    body.extend(std::iter::repeat_n(b'7', 3 << 20));
    fs::write(dir.join(TABLE), body).unwrap();
    reseal(&dir, |_| {});
    assert!(has(
        &failures(&dir),
        &format!("{TABLE} row 7: a record is longer than 1 MiB")
    ));
}

#[test]
fn a_file_larger_than_announced_is_not_read() {
    let (_root, dir) = export(&good_extract(), good_table());
    let file = fs::OpenOptions::new()
        .write(true)
        .open(dir.join(TABLE))
        .unwrap();
    file.set_len(1 << 40).unwrap();
    let lines = failures(&dir);
    assert!(
        has(
            &lines,
            &format!("{TABLE}: 1099511627776 bytes, manifest.json says")
        ),
        "{lines:?}"
    );
    assert!(!has(&lines, &format!("{TABLE}: checksum")), "{lines:?}");
}

/// Cells only along the diagonal, each with its margins: every line adds up, yet the labels
/// combine into (n + 1)^dims cells. The interior file's text, then the totals file's.
fn diagonal(dims: &[&str], n: usize) -> [String; 2] {
    let header = format!("{},count,status\r\n", dims.join(","));
    let totals = vec![TOTAL; dims.len()].join(",");
    let mut files = [
        header.clone(),
        format!("{header}{totals},{},published\r\n", 5 * n),
    ];
    for i in 0..n {
        for mask in 0..(1u32 << dims.len()) - 1 {
            let key: Vec<String> = (0..dims.len())
                .map(|d| {
                    if mask >> d & 1 == 1 {
                        TOTAL.to_owned()
                    } else {
                        format!("l{i}")
                    }
                })
                .collect();
            let file = usize::from(mask != 0);
            files[file].push_str(&format!("{},5,published\r\n", key.join(",")));
        }
    }
    files
}

#[test]
fn a_table_missing_label_combinations_is_refused_before_the_audit() {
    let (_root, dir) = export(&good_extract(), good_table());
    let dims = ["month", "channel", "key_type"];
    let [interior, totals] = diagonal(&dims, 3);
    fs::write(dir.join(TABLE), interior).unwrap();
    fs::write(dir.join(TOTALS), totals).unwrap();
    // Without their Parquet files, which the crafted CSV files would disagree with.
    for csv in [TABLE, TOTALS] {
        fs::remove_file(dir.join(crate::outputs::columnar::file_name(csv))).unwrap();
    }
    reseal(&dir, |m| {
        table(m).dims = dims.iter().map(|&d| d.to_owned()).collect()
    });
    let lines = failures(&dir);
    assert_eq!(
        lines[0],
        format!(
            "{TABLE}: 22 rows, but its labels and totals combine into 64 cells, each of which \
             needs a row"
        )
    );
    // The data package still describes the files as they were.
    assert_eq!(
        lines[1..],
        [TABLE, TOTALS]
            .map(|f| format!("datapackage.json: the fields of {f} are not the file's columns"))
    );
}

#[test]
fn failure_lines_are_capped() {
    let (_root, dir) = export(&good_extract(), good_table());
    fs::write(dir.join(SUMS), "garbage\n".repeat(10_000)).unwrap();
    let lines = failures(&dir);
    assert_eq!(lines.len(), MAX_LINES + 1);
    assert!(
        lines[MAX_LINES].starts_with("... and ")
            && lines[MAX_LINES].ends_with("more failure(s) not shown"),
        "{}",
        lines[MAX_LINES]
    );
}

/// datapackage.json must be there and describe exactly the export's CSV files, each with the
/// columns it has; whatever it holds gives failure lines, never a panic.
#[test]
fn the_data_package_lists_exactly_the_csv_files_with_their_columns() {
    let (_root, dir) = export(&good_extract(), good_table());
    let path = dir.join(DATA_PACKAGE);
    let original: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let paths: Vec<&str> = original["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [EXTRACT, TABLE, TOTALS]);
    // Resealed, as by an attacker who controls the directory: only the package's own
    // failures remain.
    let package_lines = |package: &serde_json::Value| {
        fs::write(&path, package.to_string()).unwrap();
        reseal(&dir, |_| {});
        failures(&dir)
    };
    let mut changed = original.clone();
    let resources = changed["resources"].as_array_mut().unwrap();
    resources.remove(2);
    resources[1]["path"] = "notes.csv".into();
    resources[0]["schema"]["fields"][2]["name"] = "home_address".into();
    assert_eq!(
        package_lines(&changed),
        [
            format!("datapackage.json: the fields of {EXTRACT} are not the file's columns"),
            "datapackage.json: lists notes.csv, which is not a CSV file of the export".to_owned(),
            format!("datapackage.json: does not list {TABLE}"),
            format!("datapackage.json: does not list {TOTALS}"),
        ]
    );
    let mut twice = original.clone();
    let first = twice["resources"][0].clone();
    twice["resources"].as_array_mut().unwrap().push(first);
    assert_eq!(
        package_lines(&twice),
        [format!("datapackage.json: lists {EXTRACT} twice")]
    );
    for garbage in [
        serde_json::json!([1, 2]),
        serde_json::json!({"resources": "x"}),
    ] {
        assert_eq!(
            package_lines(&garbage),
            ["datapackage.json: unreadable, too large, or not a data package with resources"]
        );
    }
    fs::remove_file(&path).unwrap();
    let mut manifest: Manifest =
        serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    manifest.files.retain(|f| f.name != DATA_PACKAGE);
    fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
    reseal(&dir, |_| {});
    assert_eq!(failures(&dir), ["datapackage.json is missing"]);
}

/// What verify may answer about any directory: a report, or failure lines (exit 65).
fn verdict(dir: &Path) -> Result<(), TestCaseError> {
    match verify(dir) {
        Ok(_) => {}
        Err(Error::Verify(lines)) => {
            for line in &lines {
                prop_assert!(!line.chars().any(char::is_control), "{line:?}");
            }
        }
        Err(e) => prop_assert!(false, "not a verification failure: {e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Arbitrary bytes in place of each file verify parses, sealed like a genuine export so
    /// that the parsers see them, and unsealed.
    #[test]
    fn arbitrary_files_give_a_verdict(
        extract in proptest::collection::vec(any::<u8>(), 0..300),
        table in "[a-z0-9,\"\r\nTOTAL\u{1b}]{0,300}",
        sums in proptest::collection::vec(any::<u8>(), 0..200),
        manifest in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let (_root, dir) = export(&good_extract(), good_table());
        fs::write(dir.join(EXTRACT), &extract).unwrap();
        fs::write(
            dir.join(TABLE),
            format!("month,channel,count,status\r\n{table}"),
        )
        .unwrap();
        verdict(&dir)?;
        reseal(&dir, |_| {});
        verdict(&dir)?;
        fs::write(dir.join(SUMS), &sums).unwrap();
        verdict(&dir)?;
        fs::write(dir.join(MANIFEST), &manifest).unwrap();
        verdict(&dir)?;
    }

    /// A genuine manifest with one stretch of its text replaced.
    #[test]
    fn a_damaged_manifest_gives_a_verdict(start in 0usize..2000, len in 0usize..20, with in "\\PC{0,8}") {
        let (_root, dir) = export(&good_extract(), good_table());
        let mut bytes = fs::read(dir.join(MANIFEST)).unwrap();
        let start = start.min(bytes.len());
        let end = (start + len).min(bytes.len());
        bytes.splice(start..end, with.bytes());
        fs::write(dir.join(MANIFEST), bytes).unwrap();
        verdict(&dir)?;
    }
}

const EXTRACT_PARQUET: &str = "research_extract.parquet";

/// The only failure lines that name the Parquet file, which the export resealed around it
/// must not otherwise fail.
fn parquet_lines(dir: &Path) -> Vec<String> {
    failures(dir)
        .into_iter()
        .filter(|l| l.contains(EXTRACT_PARQUET))
        .collect()
}

#[test]
fn a_truncated_or_damaged_parquet_file_fails_on_one_line_naming_it() {
    let (_root, dir) = export(&good_extract(), good_table());
    let path = dir.join(EXTRACT_PARQUET);
    let whole = fs::read(&path).unwrap();
    fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    reseal(&dir, |_| {});
    assert_eq!(
        parquet_lines(&dir),
        [format!(
            "{EXTRACT_PARQUET}: not a readable Parquet file (damaged, cut short or of another \
             layout)"
        )]
    );
    // Every byte of the data, but not of the footer, overwritten: the footer still reads, the
    // pages do not decode to the CSV's rows.
    let mut damaged = whole.clone();
    let footer_length = u32::from_le_bytes(whole[whole.len() - 8..][..4].try_into().unwrap());
    let footer = whole.len() - 8 - footer_length as usize;
    damaged[4..footer].fill(0xff);
    fs::write(&path, &damaged).unwrap();
    reseal(&dir, |_| {});
    let lines = parquet_lines(&dir);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with(EXTRACT_PARQUET), "{lines:?}");
}

#[test]
fn a_parquet_file_that_disagrees_with_its_csv_fails() {
    let (_root, dir) = export(&good_extract(), good_table());
    // The CSV's last row changed, the Parquet file left as written.
    let csv = fs::read_to_string(dir.join(EXTRACT)).unwrap();
    let edited = csv.replacen(",27,2026-03,OV\r\n", ",27,2026-03,DV\r\n", 1);
    assert_ne!(csv, edited);
    fs::write(dir.join(EXTRACT), edited).unwrap();
    reseal(&dir, |_| {});
    assert_eq!(
        parquet_lines(&dir),
        [format!(
            "{EXTRACT_PARQUET} row 6: column validation_type does not agree with {EXTRACT}"
        )]
    );
    // A row fewer in the CSV.
    let shorter: String = csv.split_inclusive("\r\n").take(10).collect();
    fs::write(dir.join(EXTRACT), shorter).unwrap();
    reseal(&dir, |_| {});
    assert_eq!(
        parquet_lines(&dir),
        [format!("{EXTRACT_PARQUET}: has more rows than {EXTRACT}")]
    );
}

#[test]
fn a_parquet_file_without_its_csv_fails() {
    let (_root, dir) = export(&good_extract(), good_table());
    fs::copy(dir.join(EXTRACT_PARQUET), dir.join("other.parquet")).unwrap();
    let (sha256, bytes) = export::sha256_file(&dir.join("other.parquet")).unwrap();
    reseal(&dir, |m| {
        m.files.push(FileEntry {
            name: "other.parquet".into(),
            rows: None,
            bytes,
            sha256,
        })
    });
    let lines = failures(&dir);
    assert!(
        has(&lines, "other.parquet: no readable CSV file beside it"),
        "{lines:?}"
    );
}

#[test]
fn a_parquet_file_is_held_to_the_bytes_of_its_csv_file_and_only_then_to_its_records() {
    let (_root, dir) = export(&good_extract(), good_table());
    assert_eq!(twins::identical(&dir, EXTRACT_PARQUET, EXTRACT), Some(10));
    let table = crate::outputs::columnar::file_name(TABLE);
    assert!(
        twins::identical(&dir, &table, TABLE).is_some(),
        "counts, withheld ones included, are written as the CSV file writes them"
    );
    // The same records, every field quoted: other bytes, which the records still agree with.
    let csv = fs::read_to_string(dir.join(EXTRACT)).unwrap();
    let quoted: String = csv
        .split_terminator("\r\n")
        .map(|line| {
            let fields: Vec<String> = line.split(',').map(|f| format!("\"{f}\"")).collect();
            fields.join(",") + "\r\n"
        })
        .collect();
    fs::write(dir.join(EXTRACT), quoted).unwrap();
    reseal(&dir, |_| {});
    assert_eq!(twins::identical(&dir, EXTRACT_PARQUET, EXTRACT), None);
    let lines = match verify(&dir) {
        Ok(_) => Vec::new(),
        Err(Error::Verify(lines)) => lines,
        Err(e) => panic!("{e}"),
    };
    assert!(
        !lines.iter().any(|l| l.contains(EXTRACT_PARQUET)),
        "{lines:?}"
    );
}

/// A row of a text and an integer column, either null.
type TwinRow = (Option<String>, Option<i64>);

/// Writes `rows`, nulls among them, as a Parquet file written with `properties` and as the CSV
/// file certanon would write beside it.
fn parquet_twins(
    dir: &Path,
    rows: &[TwinRow],
    properties: parquet::file::properties::WriterProperties,
) {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema = "message schema { OPTIONAL BYTE_ARRAY name (UTF8); OPTIONAL INT64 n; }";
    let schema = std::sync::Arc::new(parse_message_type(schema).unwrap());
    let file = fs::File::create(dir.join("twins.parquet")).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema, properties.into()).unwrap();
    // Two row groups, to read a second chunk of each column.
    for group in rows.chunks(rows.len().div_ceil(2)) {
        let defs = |defined: &dyn Fn(&TwinRow) -> bool| {
            group
                .iter()
                .map(|r| i16::from(defined(r)))
                .collect::<Vec<_>>()
        };
        let mut g = writer.next_row_group().unwrap();
        let mut c = g.next_column().unwrap().unwrap();
        let texts: Vec<ByteArray> = group
            .iter()
            .filter_map(|r| r.0.as_deref().map(ByteArray::from))
            .collect();
        c.typed::<ByteArrayType>()
            .write_batch(&texts, Some(&defs(&|r| r.0.is_some())), None)
            .unwrap();
        c.close().unwrap();
        let mut c = g.next_column().unwrap().unwrap();
        let numbers: Vec<i64> = group.iter().filter_map(|r| r.1).collect();
        c.typed::<Int64Type>()
            .write_batch(&numbers, Some(&defs(&|r| r.1.is_some())), None)
            .unwrap();
        c.close().unwrap();
        g.close().unwrap();
    }
    writer.close().unwrap();
    let mut csv = String::from("name,n\r\n");
    for (text, n) in rows {
        let n = n.map(|n| n.to_string()).unwrap_or_default();
        csv.push_str(&format!("{},{n}\r\n", text.as_deref().unwrap_or("")));
    }
    fs::write(dir.join("twins.csv"), csv).unwrap();
}

#[test]
fn parquet_pages_written_otherwise_are_decoded_as_the_parquet_crate_decodes_them() {
    use parquet::file::properties::{WriterProperties, WriterVersion};
    let dir = tempfile::tempdir().unwrap();
    // Runs of nulls and of values, repeated values (a dictionary) and distinct ones, and
    // integers of every size.
    let rows: Vec<TwinRow> = (0..5000i64)
        .map(|i| {
            let text = (i % 7 != 3 && !(1000..1100).contains(&i))
                .then(|| format!("v{}", if i % 2 == 0 { i % 13 } else { i }));
            let n = (i % 5 != 0).then_some(i.wrapping_mul(0x0123_4567_89ab) - i);
            (text, n)
        })
        .collect();
    for dictionary in [true, false] {
        for page_rows in [64, 20_000] {
            let properties = WriterProperties::builder()
                .set_dictionary_enabled(dictionary)
                .set_data_page_row_count_limit(page_rows)
                .set_write_batch_size(page_rows.min(1024))
                .build();
            parquet_twins(dir.path(), &rows, properties);
            assert_eq!(
                twins::identical(dir.path(), "twins.parquet", "twins.csv"),
                Some(rows.len() as u64),
                "dictionary {dictionary}, {page_rows} rows a page"
            );
        }
    }
    // Format v2 pages are left to the parquet crate's reader.
    let properties = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .build();
    parquet_twins(dir.path(), &rows, properties);
    assert_eq!(
        twins::identical(dir.path(), "twins.parquet", "twins.csv"),
        None
    );
}

/// The rows the parquet crate's own reader reads from `path`, `None` where it cannot (or
/// panics on the damage).
fn rows_the_crate_reads(path: &Path) -> Option<Vec<TwinRow>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;
    let read = || {
        let reader = SerializedFileReader::new(fs::File::open(path).ok()?).ok()?;
        let mut rows = Vec::new();
        for row in reader.get_row_iter(None).ok()? {
            let row = row.ok()?;
            rows.push((row.get_string(0).ok().cloned(), row.get_long(1).ok()));
        }
        Some(rows)
    };
    std::panic::catch_unwind(read).ok().flatten()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A stretch of an uncompressed file's pages overwritten: the page decoder of
    /// `twins::identical` neither panics nor vouches for a file the parquet crate reads as
    /// other rows than the CSV's.
    #[test]
    fn damaged_pages_are_never_taken_for_their_csv(
        start in 0usize..4000,
        with in proptest::collection::vec(any::<u8>(), 1..12),
        dictionary: bool,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<TwinRow> = (0..300i64)
            .map(|i| ((i % 5 != 1).then(|| format!("v{}", i % 17)), (i % 4 != 2).then_some(i * 977)))
            .collect();
        let properties = parquet::file::properties::WriterProperties::builder()
            .set_dictionary_enabled(dictionary)
            .set_data_page_row_count_limit(64)
            .set_write_batch_size(64)
            .build();
        parquet_twins(dir.path(), &rows, properties);
        let path = dir.path().join("twins.parquet");
        let mut bytes = fs::read(&path).unwrap();
        let footer_length = u32::from_le_bytes(bytes[bytes.len() - 8..][..4].try_into().unwrap());
        let pages = 4..bytes.len() - 8 - footer_length as usize;
        let at = pages.start + start % pages.len();
        let end = (at + with.len()).min(pages.end);
        bytes.splice(at..end, with[..end - at].iter().copied());
        fs::write(&path, &bytes).unwrap();
        let identical = std::panic::catch_unwind(|| {
            twins::identical(dir.path(), "twins.parquet", "twins.csv")
        });
        prop_assert!(identical.is_ok(), "the page decoder panicked");
        if let Ok(Some(n)) = identical {
            prop_assert_eq!(n, rows.len() as u64);
            prop_assert_eq!(rows_the_crate_reads(&path), Some(rows));
        }
    }
}
