//! Each Parquet file agrees with the CSV file beside it: the same columns in the same order,
//! and row for row the same values, a null exactly where the CSV field is empty. Both files are
//! streamed, a batch of rows at a time, so the check costs no more memory on a long extract.
//!
//! The Parquet file is first written out as certanon writes CSV (see [`identical`]), decoded
//! straight from the bytes of pages as certanon writes them (see [`Pages`]), and held to the
//! CSV file's bytes, which costs no CSV parse; only when that fails is the file decoded by the
//! parquet crate's reader and the CSV file read record by record, to find and name what
//! disagrees.
//!
//! The Parquet file is decoded as hostile input: a damaged file is a failure line naming it,
//! and a decoder panic is caught and reported the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytes::Bytes;
use parquet::basic::{Encoding, Type as Physical};
use parquet::column::page::{Page, PageReader};
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
    if let Some(rows) = identical(dir, name, csv) {
        return Some(rows);
    }
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
    if !usable(&reader) {
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
            let n = match next_batch(&mut columns) {
                Batch::Rows(0) => break,
                Batch::Rows(n) => n,
                Batch::Unreadable => {
                    damaged(out);
                    return None;
                }
                Batch::Uneven => {
                    out.push(format!(
                        "{name}: row group {g} has columns of different lengths"
                    ));
                    return None;
                }
            };
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

/// Whether every column is one the check reads: optional text or INT64, not nested.
fn usable(reader: &SerializedFileReader<fs::File>) -> bool {
    let schema = reader.metadata().file_metadata().schema_descr();
    (0..schema.num_columns()).all(|i| {
        let c = schema.column(i);
        c.path().parts().len() == 1
            && c.max_rep_level() == 0
            && c.max_def_level() == 1
            && matches!(c.physical_type(), Physical::BYTE_ARRAY | Physical::INT64)
    })
}

/// The rows read when the CSV file holds exactly the bytes certanon writes for the Parquet
/// file's columns and rows: names or values joined by commas, each line ended by CRLF, a null
/// as an empty field. `None` for anything else, which [`compare`] then reads record by record.
///
/// Equal bytes are the same records to the CSV reader (so `compare` would find nothing) as
/// long as every line is one record of the Parquet file's fields: no quote, CR or LF, no comma
/// but the separators, no empty line (skipped), no byte-order mark (stripped), no empty text
/// value (which is no null), and no line longer than the reader takes.
pub(super) fn identical(dir: &Path, name: &str, csv: &str) -> Option<u64> {
    let reader = SerializedFileReader::new(fs::File::open(dir.join(name)).ok()?).ok()?;
    if !usable(&reader) {
        return None;
    }
    let schema = reader.metadata().file_metadata().schema_descr();
    let mut line = Vec::new();
    for i in 0..schema.num_columns() {
        if i > 0 {
            line.push(b',');
        }
        line.extend_from_slice(schema.column(i).name().as_bytes());
    }
    if line.starts_with(b"\xef\xbb\xbf") {
        return None;
    }
    let mut file = Raw::open(&dir.join(csv))?;
    file.holds(&mut line)?;
    let mut read = 0u64;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).ok()?;
        let mut columns = (0..group.num_columns())
            .map(|i| Pages::open(group.as_ref(), i))
            .collect::<Option<Vec<_>>>()?;
        loop {
            line.clear();
            // Every column ends with the same row, or the row group is uneven.
            let mut more = None;
            for (i, column) in columns.iter_mut().enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                let row = column.write(&mut line)?;
                if *more.get_or_insert(row) != row {
                    return None;
                }
            }
            if more != Some(true) {
                break;
            }
            file.holds(&mut line)?;
            read += 1;
        }
    }
    file.ended(schema.num_columns().saturating_sub(1))
        .then_some(read)
}

/// A file's bytes, a block at a time, compared with the lines expected of it.
struct Raw {
    file: fs::File,
    buf: Vec<u8>,
    /// The bytes of `buf` not yet compared.
    at: usize,
    end: usize,
    lines: u64,
    /// The commas, CRs, LFs and quotes among the bytes read.
    tally: [u64; 4],
}

impl Raw {
    fn open(path: &Path) -> Option<Raw> {
        Some(Raw {
            file: fs::File::open(path).ok()?,
            buf: vec![0; 4 << 20],
            at: 0,
            end: 0,
            lines: 0,
            tally: [0; 4],
        })
    }

    /// Whether the file goes on with `line`, to which CRLF is added.
    fn holds(&mut self, line: &mut Vec<u8>) -> Option<()> {
        if line.is_empty() || line.len() + 2 > MAX_RECORD as usize {
            return None;
        }
        line.extend_from_slice(b"\r\n");
        while self.end - self.at < line.len() {
            self.buf.copy_within(self.at..self.end, 0);
            self.end -= self.at;
            self.at = 0;
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) | Err(_) => return None,
                Ok(n) => {
                    tally(&self.buf[self.end..self.end + n], &mut self.tally);
                    self.end += n;
                }
            }
        }
        let next = self.at + line.len();
        (self.buf[self.at..next] == line[..]).then(|| {
            self.at = next;
            self.lines += 1;
        })
    }

    /// Whether the file ended with the last line compared, and its lines held `commas` + 1
    /// fields: no commas but their separators, a CR and an LF each, no quote.
    fn ended(&mut self, commas: usize) -> bool {
        let lines = self.lines;
        self.at == self.end
            && matches!(self.file.read(&mut self.buf[..1]), Ok(0))
            && self.tally == [lines * commas as u64, lines, lines, 0]
    }
}

/// Adds the commas, CRs, LFs and quotes of `bytes` to `tally`: the whole file is counted once
/// as it is read, not each line as it is compared.
fn tally(bytes: &[u8], tally: &mut [u64; 4]) {
    // Counted in bytes, 255 at most, so that the loop runs on vector registers.
    for chunk in bytes.chunks(255) {
        let mut n = [0u8; 4];
        for &b in chunk {
            n[0] += u8::from(b == b',');
            n[1] += u8::from(b == b'\r');
            n[2] += u8::from(b == b'\n');
            n[3] += u8::from(b == b'"');
        }
        for (total, n) in tally.iter_mut().zip(n) {
            *total += u64::from(n);
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

/// What the next batch of a row group's columns holds.
enum Batch {
    /// That many rows in every column; 0 at the end of the group.
    Rows(usize),
    /// A column could not be decoded.
    Unreadable,
    /// The columns hold different numbers of rows.
    Uneven,
}

/// Fills the next batch of every column.
fn next_batch(columns: &mut [Column]) -> Batch {
    let mut batch = None;
    for column in columns.iter_mut() {
        let Ok(n) = column.fill() else {
            return Batch::Unreadable;
        };
        if batch.is_some_and(|b| b != n) {
            return Batch::Uneven;
        }
        batch = Some(n);
    }
    Batch::Rows(batch.unwrap_or(0))
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

/// A column chunk read page by page for [`identical`], each value written from the page's
/// bytes into the line: the parquet crate's reader hands out every text value as a
/// reference-counted `ByteArray`, which costs more than the rest of the decoding. Only pages
/// as certanon writes them are taken (format v1, RLE definition levels, PLAIN or dictionary
/// values), and each is held to its counts more strictly than the crate does; anything else
/// is `None`, and [`compare`] then reads the file with the crate's reader.
struct Pages {
    pages: Box<dyn PageReader>,
    integer: bool,
    /// The dictionary page and where each of its values lies in it.
    dict: Option<(Bytes, Vec<(usize, usize)>)>,
    /// Whether a data page was read: a dictionary page comes first or not at all.
    started: bool,
    /// The definition levels of the current page, and how many are left.
    levels: Hybrid,
    left: usize,
    values: Values,
}

/// The values of a data page, after the ones read.
enum Values {
    Plain(Bytes, usize),
    Dict(Hybrid),
}

impl Pages {
    fn open(group: &dyn RowGroupReader, i: usize) -> Option<Pages> {
        let integer = match group.metadata().column(i).column_type() {
            Physical::BYTE_ARRAY => false,
            Physical::INT64 => true,
            _ => return None,
        };
        Some(Pages {
            pages: group.get_column_page_reader(i).ok()?,
            integer,
            dict: None,
            started: false,
            levels: Hybrid::new(Bytes::new(), 1),
            left: 0,
            values: Values::Plain(Bytes::new(), 0),
        })
    }

    /// Writes the next row's value as certanon writes it in CSV, nothing for a null; false at
    /// the end of the chunk. `None` for an empty text, which would read back as a null.
    fn write(&mut self, line: &mut Vec<u8>) -> Option<bool> {
        while self.left == 0 {
            // A page's values are all read by the end of its levels.
            if matches!(&self.values, Values::Plain(data, at) if *at != data.len()) {
                return None;
            }
            if !self.next_page()? {
                return Some(false);
            }
        }
        self.left -= 1;
        match self.levels.next()? {
            0 => return Some(true),
            1 => {}
            _ => return None,
        }
        let value = match &mut self.values {
            Values::Plain(data, at) => {
                let (from, to) = plain_value(data, *at, self.integer)?;
                *at = to;
                &data[from..to]
            }
            Values::Dict(indices) => {
                let (dict, at) = self.dict.as_ref()?;
                let &(from, to) = at.get(usize::try_from(indices.next()?).ok()?)?;
                &dict[from..to]
            }
        };
        if self.integer {
            write!(line, "{}", i64::from_le_bytes(value.try_into().ok()?)).ok()?;
        } else if value.is_empty() {
            return None;
        } else {
            line.extend_from_slice(value);
        }
        Some(true)
    }

    /// Moves to the next data page, after a dictionary page if one comes first; false at the
    /// end of the chunk.
    fn next_page(&mut self) -> Option<bool> {
        loop {
            let page = match self.pages.get_next_page() {
                Ok(Some(page)) => page,
                Ok(None) => return Some(false),
                Err(_) => return None,
            };
            match page {
                Page::DictionaryPage {
                    buf,
                    num_values,
                    encoding: Encoding::PLAIN | Encoding::PLAIN_DICTIONARY,
                    ..
                } if !self.started && self.dict.is_none() => {
                    let at = self.plain(&buf, num_values as usize)?;
                    self.dict = Some((buf, at));
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding: Encoding::RLE,
                    ..
                } => {
                    self.started = true;
                    let len = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize;
                    let values = 4usize.checked_add(len).filter(|&end| end <= buf.len())?;
                    self.levels = Hybrid::new(buf.slice(4..values), 1);
                    self.left = num_values as usize;
                    let data = buf.slice(values..);
                    self.values = match encoding {
                        Encoding::PLAIN => Values::Plain(data, 0),
                        Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY
                            if self.dict.is_some() =>
                        {
                            let width = *data.first().filter(|&&w| w <= 32)?;
                            Values::Dict(Hybrid::new(data.slice(1..), width.into()))
                        }
                        _ => return None,
                    };
                    return Some(true);
                }
                _ => return None,
            }
        }
    }

    /// Where each of `n` PLAIN values lies in `data`, which they fill exactly.
    fn plain(&self, data: &[u8], n: usize) -> Option<Vec<(usize, usize)>> {
        let mut at = Vec::with_capacity(n.min(data.len()));
        let mut from = 0;
        for _ in 0..n {
            let value = plain_value(data, from, self.integer)?;
            at.push(value);
            from = value.1;
        }
        (from == data.len()).then_some(at)
    }
}

/// Where the PLAIN value that starts at byte `at` of `data` lies in it: eight bytes for an
/// integer, a text after its four-byte length; `None` when it runs past the end.
fn plain_value(data: &[u8], at: usize, integer: bool) -> Option<(usize, usize)> {
    let (from, len) = if integer {
        (at, 8)
    } else {
        let len = data.get(at..at.checked_add(4)?)?;
        (at + 4, u32::from_le_bytes(len.try_into().ok()?) as usize)
    };
    let to = from.checked_add(len).filter(|&to| to <= data.len())?;
    Some((from, to))
}

/// Values in Parquet's RLE / bit-packing hybrid encoding, `width` bits each.
struct Hybrid {
    data: Bytes,
    /// The next run's header.
    at: usize,
    width: usize,
    /// The current run: its value when repeated, else where its next bit-packed value starts.
    repeat: Option<u32>,
    bit: usize,
    left: usize,
}

impl Hybrid {
    fn new(data: Bytes, width: usize) -> Hybrid {
        Hybrid {
            data,
            at: 0,
            width,
            repeat: None,
            bit: 0,
            left: 0,
        }
    }

    /// The next value; `None` once the data runs out.
    fn next(&mut self) -> Option<u32> {
        while self.left == 0 {
            let header = self.uleb()?;
            let n = usize::try_from(header >> 1).ok()?;
            if header & 1 == 1 {
                let bytes = n.checked_mul(self.width)?;
                if bytes > self.data.len() - self.at {
                    return None;
                }
                self.repeat = None;
                self.bit = self.at * 8;
                self.at += bytes;
                self.left = n.checked_mul(8)?;
            } else {
                let size = self.width.div_ceil(8);
                let mut value = [0; 4];
                value[..size].copy_from_slice(self.data.get(self.at..self.at + size)?);
                self.at += size;
                self.repeat = Some(u32::from_le_bytes(value));
                self.left = n;
            }
        }
        self.left -= 1;
        if let Some(value) = self.repeat {
            return Some(value);
        }
        // The run's bytes were checked to be there; the word read is cut at the data's end.
        let from = self.bit / 8;
        let to = (from + 8).min(self.data.len());
        let mut word = [0; 8];
        word[..to - from].copy_from_slice(&self.data[from..to]);
        let value = (u64::from_le_bytes(word) >> (self.bit % 8)) & ((1 << self.width) - 1);
        self.bit += self.width;
        u32::try_from(value).ok()
    }

    /// An unsigned LEB128 run header.
    fn uleb(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.at)?;
            self.at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}
