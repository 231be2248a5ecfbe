//! Each Parquet file agrees with the CSV file beside it: the same columns in the same order,
//! and row for row the same values, a null exactly where the CSV field is empty. Both files are
//! streamed, a batch of rows at a time, so the check costs no more memory on a long extract.
//!
//! The Parquet file is decoded as hostile input: a damaged file is a failure line naming it,
//! and a decoder panic is caught and reported the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use parquet::basic::Type as Physical;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;

use super::Failures;
use super::scan::{Bounded, MAX_RECORD, READ_AHEAD, csv_problem};
use crate::outputs::export::MANIFEST;

/// Rows decoded from each column at a time.
const BATCH: usize = 4096;

/// What the check of an export's Parquet files found.
pub(super) struct Checked {
    out: Failures,
    files: usize,
}

/// Starts checking, on a thread of its own, every Parquet file in `files` but the `unread`
/// ones against its CSV file; `rows` is what the manifest says each file holds.
pub(super) fn start(
    dir: &Path,
    files: &BTreeSet<String>,
    unread: &BTreeSet<&str>,
    rows: BTreeMap<String, Option<u64>>,
) -> JoinHandle<Checked> {
    let dir = dir.to_path_buf();
    let readable = |name: &String| !unread.contains(name.as_str());
    let pairs: Vec<(String, Option<String>)> = files
        .iter()
        .filter(|name| name.ends_with(".parquet") && readable(name))
        .map(|name| {
            let csv = format!("{}.csv", name.trim_end_matches(".parquet"));
            let csv = files.get(&csv).filter(|c| readable(c)).cloned();
            (name.clone(), csv)
        })
        .collect();
    std::thread::spawn(move || {
        let mut out = Failures::default();
        for (name, csv) in &pairs {
            let Some(csv) = csv else {
                out.push(format!(
                    "{name}: no readable CSV file beside it to check it against"
                ));
                continue;
            };
            let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut mine = Failures::default();
                let n = compare(&dir, name, csv, &mut mine);
                (mine, n)
            }));
            match checked {
                Ok((mine, rows_read)) => {
                    let want = rows.get(name).copied().flatten();
                    out.absorb(mine);
                    if let (Some(want), Some(read)) = (want, rows_read)
                        && want != read
                    {
                        out.push(format!(
                            "{name}: {MANIFEST} says {want} rows, the file has {read}"
                        ));
                    }
                }
                Err(_) => out.push(format!("{name}: the Parquet decoder failed on it")),
            }
        }
        Checked {
            out,
            files: pairs.len(),
        }
    })
}

/// Waits for the check and adds its failures; returns how many Parquet files it checked.
pub(super) fn finish(handle: JoinHandle<Checked>, out: &mut Failures) -> usize {
    match handle.join() {
        Ok(checked) => {
            out.absorb(checked.out);
            checked.files
        }
        Err(_) => {
            out.push("the Parquet files could not be checked".to_owned());
            0
        }
    }
}

/// Compares `name` with `csv` row by row; the rows read when both files were read through.
fn compare(dir: &Path, name: &str, csv: &str, out: &mut Failures) -> Option<u64> {
    let damaged = |out: &mut Failures| {
        out.push(format!(
            "{name}: not a readable Parquet file (damaged, cut short or of another layout)"
        ));
    };
    let Ok(parquet) = fs::File::open(dir.join(name)) else {
        out.push(format!("{name}: cannot be read"));
        return None;
    };
    let Ok(reader) = SerializedFileReader::new(parquet) else {
        damaged(out);
        return None;
    };
    let mut rows = match Rows::open(&dir.join(csv)) {
        Ok(rows) => rows,
        Err(()) => {
            // The scan of the CSV file reports what is wrong with it.
            out.push(format!("{name}: {csv} cannot be read to check it against"));
            return None;
        }
    };
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<String> = (0..schema.num_columns())
        .map(|i| schema.column(i).name().to_owned())
        .collect();
    if names.iter().map(String::as_bytes).ne(rows.header.iter()) {
        out.push(format!(
            "{name}: its columns are not those of {csv}, in the same order"
        ));
        return None;
    }
    let usable = (0..schema.num_columns()).all(|i| {
        let c = schema.column(i);
        c.path().parts().len() == 1
            && c.max_rep_level() == 0
            && c.max_def_level() == 1
            && matches!(c.physical_type(), Physical::BYTE_ARRAY | Physical::INT64)
    });
    if !usable {
        out.push(format!(
            "{name}: has a column that is not optional text or INT64"
        ));
        return None;
    }
    let mut read = 0u64;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).ok();
        let Some(mut columns) = group.as_deref().and_then(open_columns) else {
            damaged(out);
            return None;
        };
        loop {
            let mut batch = None;
            for column in &mut columns {
                let Ok(n) = column.fill() else {
                    damaged(out);
                    return None;
                };
                if batch.is_some_and(|b| b != n) {
                    out.push(format!(
                        "{name}: row group {g} has columns of different lengths"
                    ));
                    return None;
                }
                batch = Some(n);
            }
            let n = batch.unwrap_or(0);
            if n == 0 {
                break;
            }
            for _ in 0..n {
                read += 1;
                match rows.next() {
                    Ok(true) => {}
                    Ok(false) => {
                        out.push(format!("{name}: has more rows than {csv}"));
                        return None;
                    }
                    Err(problem) => {
                        out.push(format!(
                            "{name}: {csv} row {read} cannot be compared: {problem}"
                        ));
                        return None;
                    }
                }
                for (i, column) in columns.iter_mut().enumerate() {
                    let field = rows.record.get(i).unwrap_or_default();
                    if !column.agrees(field) {
                        out.push(format!(
                            "{name} row {read}: column {} does not agree with {csv}",
                            names[i]
                        ));
                        return None;
                    }
                }
            }
        }
    }
    match rows.next() {
        Ok(false) => Some(read),
        _ => {
            out.push(format!("{name}: has fewer rows than {csv}"));
            None
        }
    }
}

/// The CSV file's records, read within the same bounds as its scan.
struct Rows {
    reader: csv::Reader<Bounded>,
    allowance: std::rc::Rc<std::cell::Cell<u64>>,
    header: Vec<Vec<u8>>,
    record: csv::ByteRecord,
}

impl Rows {
    fn open(path: &PathBuf) -> Result<Rows, ()> {
        let file = fs::File::open(path).map_err(drop)?;
        let (mut reader, allowance) = Bounded::reader(file);
        let header = reader.byte_headers().map_err(drop)?;
        let header = header.iter().map(<[u8]>::to_vec).collect();
        Ok(Rows {
            reader,
            allowance,
            header,
            record: csv::ByteRecord::new(),
        })
    }

    /// Reads the next record; false at the end.
    fn next(&mut self) -> Result<bool, String> {
        self.allowance
            .set(self.reader.position().byte() + MAX_RECORD + READ_AHEAD);
        self.reader
            .read_byte_record(&mut self.record)
            .map_err(|e| csv_problem(&e))
    }
}

fn open_columns(group: &dyn RowGroupReader) -> Option<Vec<Column>> {
    (0..group.num_columns())
        .map(|i| {
            let reader = match group.get_column_reader(i).ok()? {
                ColumnReader::ByteArrayColumnReader(r) => Reader::Text(r, Vec::new()),
                ColumnReader::Int64ColumnReader(r) => Reader::Integer(r, Vec::new()),
                _ => return None,
            };
            Some(Column {
                reader,
                defs: Vec::new(),
                at: 0,
                next_value: 0,
            })
        })
        .collect()
}

/// A column's reader and the batch it decoded last: values only for the rows whose
/// definition level is 1.
enum Reader {
    Text(ColumnReaderImpl<ByteArrayType>, Vec<ByteArray>),
    Integer(ColumnReaderImpl<Int64Type>, Vec<i64>),
}

struct Column {
    reader: Reader,
    defs: Vec<i16>,
    /// The next row of the batch, and the next value.
    at: usize,
    next_value: usize,
}

impl Column {
    /// Decodes the next batch; its number of rows, 0 at the end of the row group.
    fn fill(&mut self) -> parquet::errors::Result<usize> {
        self.defs.clear();
        self.at = 0;
        self.next_value = 0;
        let defs = Some(&mut self.defs);
        let (rows, _, _) = match &mut self.reader {
            Reader::Text(r, v) => {
                v.clear();
                r.read_records(BATCH, defs, None, v)?
            }
            Reader::Integer(r, v) => {
                v.clear();
                r.read_records(BATCH, defs, None, v)?
            }
        };
        Ok(rows)
    }

    /// Whether the batch's next row holds what the CSV `field` says: a null for an empty
    /// field, else the value the field spells.
    fn agrees(&mut self, field: &[u8]) -> bool {
        let defined = self.defs.get(self.at).copied().unwrap_or(0) == 1;
        self.at += 1;
        if !defined {
            return field.is_empty();
        }
        let i = self.next_value;
        self.next_value += 1;
        match &self.reader {
            Reader::Text(_, v) => v
                .get(i)
                .is_some_and(|v| !field.is_empty() && v.data() == field),
            Reader::Integer(_, v) => v.get(i).is_some_and(|v| field == v.to_string().as_bytes()),
        }
    }
}
