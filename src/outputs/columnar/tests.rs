use parquet::basic::{Encoding, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::*;
use crate::outputs::export::{Export, sha256_file};

fn column(name: &str, kind: Kind) -> Column {
    Column {
        name: name.to_owned(),
        kind,
    }
}

fn test_columns() -> Vec<Column> {
    vec![
        column("month", Kind::Category),
        column("certificate", Kind::Identifier),
        column("count", Kind::Integer),
        column("status", Kind::Category),
    ]
}

fn read_back(path: &std::path::Path) -> SerializedFileReader<File> {
    SerializedFileReader::new(File::open(path).unwrap()).unwrap()
}

#[test]
fn rows_read_back_typed_with_nulls_in_bounded_row_groups() {
    let root = tempfile::tempdir().unwrap();
    let export = Export::begin(root.path(), "t", "r1").unwrap();
    let mut file = export.parquet("t.parquet", &test_columns()).unwrap();
    let rows = ROW_GROUP + 10;
    for i in 0..rows {
        let month = format!("2026-{:02}", i % 12 + 1);
        let certificate = if i % 7 == 0 {
            String::new()
        } else {
            format!("k1_{i}")
        };
        let (count, status) = if i % 5 == 0 {
            (String::new(), "primary")
        } else {
            (i.to_string(), "published")
        };
        file.write(&[month.as_str(), &certificate, &count, status])
            .unwrap();
    }
    let entry = file.finish().unwrap();
    let path = root.path().join("t/.tmp-r1/t.parquet");
    assert_eq!(entry.rows, Some(rows as u64));
    assert_eq!(sha256_file(&path).unwrap(), (entry.sha256, entry.bytes));

    let reader = read_back(&path);
    let meta = reader.metadata();
    assert_eq!(meta.num_row_groups(), 2, "a row group per {ROW_GROUP} rows");
    let schema = meta.file_metadata().schema_descr();
    let types: Vec<_> = (0..4).map(|i| schema.column(i).physical_type()).collect();
    assert_eq!(
        types,
        [
            Physical::BYTE_ARRAY,
            Physical::BYTE_ARRAY,
            Physical::INT64,
            Physical::BYTE_ARRAY
        ]
    );
    let group = meta.row_group(0);
    let dictionary = |c: usize| {
        group
            .column(c)
            .encodings()
            .any(|e| e == Encoding::RLE_DICTIONARY)
    };
    assert!(dictionary(0), "categories are dictionary-encoded");
    assert!(!dictionary(1), "identifiers are not");
    assert_ne!(
        group.column(0).compression(),
        parquet::basic::Compression::UNCOMPRESSED
    );

    for (i, row) in reader.get_row_iter(None).unwrap().enumerate() {
        let row = row.unwrap();
        let fields: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
        assert_eq!(
            fields[0],
            &Field::Str(format!("2026-{:02}", i % 12 + 1)),
            "row {i}"
        );
        if i % 7 == 0 {
            assert_eq!(fields[1], &Field::Null, "an empty field is a null");
        } else {
            assert_eq!(fields[1], &Field::Str(format!("k1_{i}")));
        }
        if i % 5 == 0 {
            assert_eq!(
                (fields[2], fields[3]),
                (&Field::Null, &Field::Str("primary".into()))
            );
        } else {
            assert_eq!(
                (fields[2], fields[3]),
                (&Field::Long(i as i64), &Field::Str("published".into()))
            );
        }
    }
}

#[test]
fn a_value_its_column_cannot_hold_is_an_error_that_does_not_show_it() {
    let root = tempfile::tempdir().unwrap();
    let export = Export::begin(root.path(), "t", "r1").unwrap();
    let mut file = export.parquet("t.parquet", &test_columns()).unwrap();
    let e = file
        .write(&["2026-01", "k1_a", "secret-ish", "published"])
        .unwrap_err();
    assert!(e.to_string().contains("t.parquet: column 2"), "{e}");
    assert!(!e.to_string().contains("secret-ish"), "{e}");
    let e = file.write(&["2026-01", "k1_a"]).unwrap_err();
    assert!(e.to_string().contains("2 fields for 4 columns"), "{e}");
    assert!(file.text(2, b"x").is_err(), "not a text column");
}

#[test]
fn drawn_values_read_back_as_their_labels_with_empty_as_null() {
    let root = tempfile::tempdir().unwrap();
    let export = Export::begin(root.path(), "t", "r1").unwrap();
    let columns = [
        column("region", Kind::Category),
        column("id", Kind::Identifier),
    ];
    let mut file = export.parquet("t.parquet", &columns).unwrap();
    assert!(file.draw_from(1, &["x"]).is_ok(), "any text column");
    file.draw_from(0, &["kanto", "", "tohoku"]).unwrap();
    assert!(file.drawn(0, 3).is_err(), "no such label");
    assert!(
        file.text(0, b"kanto").is_err(),
        "a drawn column takes indices"
    );
    let rows = ROW_GROUP + 5;
    for i in 0..rows {
        file.drawn(0, (i % 3) as u32).unwrap();
        file.drawn(1, 0).unwrap();
        file.end_row().unwrap();
    }
    assert!(
        file.draw_from(0, &["late"]).is_err(),
        "only before the first row"
    );
    file.finish().unwrap();
    let reader = read_back(&root.path().join("t/.tmp-r1/t.parquet"));
    for (i, row) in reader.get_row_iter(None).unwrap().enumerate() {
        let row = row.unwrap();
        let fields: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
        let want = match i % 3 {
            0 => Field::Str("kanto".into()),
            1 => Field::Null,
            _ => Field::Str("tohoku".into()),
        };
        assert_eq!(fields, [&want, &Field::Str("x".into())], "row {i}");
    }
}

#[test]
fn types_follow_the_schema_of_the_csv_file() {
    let resource = crate::outputs::schema::Resource::text("t.csv", &["month", "status"]);
    let mut fields = resource.fields.clone();
    fields[1].values = crate::outputs::schema::Values::Count;
    let kinds: Vec<Kind> = columns(&crate::outputs::schema::Resource { fields, ..resource })
        .iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(kinds, [Kind::Category, Kind::Integer]);
}

#[test]
fn the_parquet_name_follows_the_csv_name() {
    assert_eq!(
        file_name("research_extract.csv"),
        "research_extract.parquet"
    );
    assert_eq!(
        file_name("issued_by_month_channel.csv"),
        "issued_by_month_channel.parquet"
    );
}

proptest::proptest! {
    /// Whatever the text, a row reads back as written: an empty field as a null, text whole
    /// (commas, quotes, line breaks and all), numbers typed.
    #[test]
    fn rows_read_back_as_written(
        rows in proptest::collection::vec(
            ("[a-z,\"\r\n 東]{0,6}", proptest::option::of(proptest::num::i64::ANY)),
            1..40,
        ),
    ) {
        let root = tempfile::tempdir().unwrap();
        let export = Export::begin(root.path(), "t", "r1").unwrap();
        let columns = [column("text", Kind::Category), column("count", Kind::Integer)];
        let mut file = export.parquet("t.parquet", &columns).unwrap();
        for (text, count) in &rows {
            let count = count.map(|c| c.to_string()).unwrap_or_default();
            file.write(&[text.as_str(), &count]).unwrap();
        }
        file.finish().unwrap();
        let reader = read_back(&root.path().join("t/.tmp-r1/t.parquet"));
        let read: Vec<Vec<Field>> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| row.unwrap().get_column_iter().map(|(_, f)| f.clone()).collect())
            .collect();
        let want: Vec<Vec<Field>> = rows
            .iter()
            .map(|(text, count)| {
                let text = if text.is_empty() { Field::Null } else { Field::Str(text.clone()) };
                vec![text, count.map_or(Field::Null, Field::Long)]
            })
            .collect();
        proptest::prop_assert_eq!(read, want);
    }
}
