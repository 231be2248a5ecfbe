//! The Parquet file beside each CSV file: the same rows with typed columns, written a bounded
//! row group at a time, so memory stays flat however long the table, its columns encoded in
//! parallel, and checksummed as it is written like the CSV.
//!
//! An empty CSV field is a null in Parquet (a withheld count, a pseudonym the row does not
//! have), and nothing else is: `verify` holds the two files to exactly that.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical, ZstdLevel};
use parquet::column::writer::{
    ColumnCloseResult, ColumnWriter, ColumnWriterImpl, get_column_writer,
};
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, ColumnPath, Type};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::outputs::export::Hashing;
use crate::outputs::manifest::FileEntry;
use crate::outputs::schema::{Resource, Type as SchemaType};

/// What a column holds, and so its Parquet type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// UTF-8 text drawn from a few values (codes, labels, statuses): dictionary-encoded, which
    /// readers load as categories.
    Category,
    /// UTF-8 text that seldom repeats (pseudonyms): a dictionary would only cost time, and
    /// so would statistics, since the min and max of random values let a reader skip nothing.
    Identifier,
    /// An identifier the rows are sorted by: each row group holds one range of it, so its
    /// statistics let a reader skip row groups.
    SortKey,
    /// A whole number, INT64.
    Integer,
}

/// A column of a table: its header name and what it holds.
#[derive(Clone, Debug)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) kind: Kind,
}

/// The columns of the CSV file `resource` describes: integers as integers, text as
/// categories.
pub(crate) fn columns(resource: &Resource) -> Vec<Column> {
    resource
        .fields
        .iter()
        .map(|field| Column {
            name: field.name.clone(),
            kind: match field.kind() {
                SchemaType::Integer => Kind::Integer,
                SchemaType::String => Kind::Category,
            },
        })
        .collect()
}

/// Rows of a row group, held in memory until the group is written.
pub(crate) const ROW_GROUP: usize = 65_536;

/// The Parquet file name beside a CSV file: `NAME.csv` → `NAME.parquet`.
pub(crate) fn file_name(csv: &str) -> String {
    format!("{}.parquet", csv.strip_suffix(".csv").unwrap_or(csv))
}

enum Values {
    /// The values' bytes end to end, and where each ends: owned, as a `ByteArray` per value
    /// held for the whole row group would cost a reference count update, stalled behind
    /// cache-missing stores, on making and on dropping each.
    Text {
        bytes: Vec<u8>,
        ends: Vec<usize>,
    },
    /// Text drawn from a few values set once for the file (see `ParquetFile::draw_from`):
    /// each row's index into them, so a row costs an index, not a copy of its bytes. Empty
    /// values are `None`.
    Drawn {
        table: Vec<Option<ByteArray>>,
        rows: Vec<u32>,
    },
    Integer(Vec<i64>),
}

/// Rows of a text column handed to the Parquet writer at a time: their `ByteArray`s, slices of
/// one copy of their bytes, stay in cache from making to dropping.
const TEXT_BATCH: usize = 1024;

/// One column of the row group being gathered: its non-null values and a definition level per
/// row (1 for a value, 0 for a null).
struct Buffer {
    values: Values,
    defs: Vec<i16>,
}

/// A Parquet file being written.
pub(crate) struct ParquetFile {
    name: String,
    path: PathBuf,
    writer: SerializedFileWriter<Hashing<File>>,
    columns: Vec<Buffer>,
    /// Rows gathered for the next row group.
    buffered: usize,
    rows: u64,
}

impl ParquetFile {
    /// Starts a file on `file`, already created with the export's permissions.
    pub(crate) fn start(
        name: &str,
        path: PathBuf,
        file: File,
        columns: &[Column],
    ) -> Result<ParquetFile> {
        let fail = |e: parquet::errors::ParquetError| Error::Other(format!("{name}: {e}"));
        let fields = columns
            .iter()
            .map(|c| {
                let (physical, logical) = match c.kind {
                    Kind::Category | Kind::Identifier | Kind::SortKey => {
                        (Physical::BYTE_ARRAY, Some(LogicalType::String))
                    }
                    Kind::Integer => (Physical::INT64, None),
                };
                Type::primitive_type_builder(&c.name, physical)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(logical)
                    .build()
                    .map(Arc::new)
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(fail)?;
        let schema = Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(fail)?;
        let mut properties = WriterProperties::builder()
            // Pseudonyms are random text that only an entropy coder shrinks: zstd halves a
            // file that Snappy leaves almost as large as its CSV.
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_created_by(format!("certanon {}", env!("CARGO_PKG_VERSION")))
            .set_max_row_group_row_count(Some(ROW_GROUP));
        for c in columns.iter().filter(|c| c.kind != Kind::Category) {
            properties =
                properties.set_column_dictionary_enabled(ColumnPath::from(c.name.as_str()), false);
        }
        for c in columns.iter().filter(|c| c.kind == Kind::Identifier) {
            properties = properties.set_column_statistics_enabled(
                ColumnPath::from(c.name.as_str()),
                EnabledStatistics::None,
            );
        }
        // The writer buffers itself, and sends column chunks in large writes.
        let out = Hashing::new(file);
        let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(properties.build()))
            .map_err(fail)?;
        let columns = columns
            .iter()
            .map(|c| Buffer {
                values: match c.kind {
                    Kind::Category | Kind::Identifier | Kind::SortKey => Values::Text {
                        bytes: Vec::new(),
                        ends: Vec::new(),
                    },
                    Kind::Integer => Values::Integer(Vec::new()),
                },
                defs: Vec::new(),
            })
            .collect();
        Ok(ParquetFile {
            name: name.to_owned(),
            path,
            writer,
            columns,
            buffered: 0,
            rows: 0,
        })
    }

    /// Appends `value` to text column `column` of the row being gathered; empty is null.
    pub(crate) fn text(&mut self, column: usize, value: &[u8]) -> Result<()> {
        let name = &self.name;
        match self.columns.get_mut(column) {
            Some(Buffer {
                values: Values::Text { bytes, ends },
                defs,
            }) => {
                defs.push(i16::from(!value.is_empty()));
                if !value.is_empty() {
                    bytes.extend_from_slice(value);
                    ends.push(bytes.len());
                }
                Ok(())
            }
            _ => Err(Error::Other(format!(
                "{name}: column {column} is not a text column"
            ))),
        }
    }

    /// Makes text column `column` take its values from `table` by index (see `drawn`);
    /// before its first row.
    pub(crate) fn draw_from<T: AsRef<[u8]>>(&mut self, column: usize, table: &[T]) -> Result<()> {
        let name = &self.name;
        match self.columns.get_mut(column) {
            Some(Buffer { values, defs })
                if defs.is_empty() && matches!(values, Values::Text { .. }) =>
            {
                let table = table
                    .iter()
                    .map(|v| Some(v.as_ref()).filter(|v| !v.is_empty()))
                    .map(|v| v.map(|v| ByteArray::from(v.to_vec())))
                    .collect();
                *values = Values::Drawn {
                    table,
                    rows: Vec::new(),
                };
                Ok(())
            }
            _ => Err(Error::Other(format!(
                "{name}: column {column} is not a text column without rows"
            ))),
        }
    }

    /// Appends value `index` of the table of column `column` (see `draw_from`) to the row
    /// being gathered.
    pub(crate) fn drawn(&mut self, column: usize, index: u32) -> Result<()> {
        let name = &self.name;
        match self.columns.get_mut(column) {
            Some(Buffer {
                values: Values::Drawn { table, rows },
                defs,
            }) => {
                let value = table.get(index as usize).ok_or_else(|| {
                    Error::Other(format!("{name}: column {column} has no value {index}"))
                })?;
                defs.push(i16::from(value.is_some()));
                rows.push(index);
                Ok(())
            }
            _ => Err(Error::Other(format!(
                "{name}: column {column} does not draw its values"
            ))),
        }
    }

    /// Appends one row given as its CSV fields, each read as its column's kind.
    pub(crate) fn write<T: AsRef<[u8]>>(&mut self, record: &[T]) -> Result<()> {
        if record.len() != self.columns.len() {
            return Err(Error::Other(format!(
                "{}: a row of {} fields for {} columns",
                self.name,
                record.len(),
                self.columns.len()
            )));
        }
        for (column, (buffer, field)) in self.columns.iter_mut().zip(record).enumerate() {
            let field = field.as_ref();
            buffer.defs.push(i16::from(!field.is_empty()));
            if field.is_empty() {
                continue;
            }
            let fits = match &mut buffer.values {
                Values::Text { bytes, ends } => {
                    bytes.extend_from_slice(field);
                    ends.push(bytes.len());
                    true
                }
                Values::Integer(values) => std::str::from_utf8(field)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(|n| values.push(n))
                    .is_some(),
                Values::Drawn { .. } => false,
            };
            if !fits {
                // The value itself stays out of the message: it is the export's data.
                return Err(Error::Other(format!(
                    "{}: column {column} holds a value its type cannot",
                    self.name
                )));
            }
        }
        self.end_row()
    }

    /// Closes the row whose columns `text` filled.
    pub(crate) fn end_row(&mut self) -> Result<()> {
        self.buffered += 1;
        self.rows += 1;
        if self.buffered == ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the rows gathered as one row group.
    fn flush(&mut self) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let name = &self.name;
        let fail = |e: parquet::errors::ParquetError| Error::Other(format!("{name}: {e}"));
        if let Some(column) = self
            .columns
            .iter()
            .position(|b| b.defs.len() != self.buffered)
        {
            return Err(Error::Other(format!(
                "{name}: column {column} has a value missing or one too many in a row"
            )));
        }
        let schema = self.writer.schema_descr();
        let properties = self.writer.properties();
        // Each column is encoded and compressed into its own buffer on rayon's pool, which
        // the CSV rendering shares, then the chunks are appended in schema order.
        let chunks = self
            .columns
            .par_iter_mut()
            .enumerate()
            .map(|(i, buffer)| encode(schema.column(i), properties.clone(), buffer))
            .collect::<parquet::errors::Result<Vec<_>>>()
            .map_err(fail)?;
        let mut group = self.writer.next_row_group().map_err(fail)?;
        for (chunk, close) in chunks {
            group.append_column(&chunk, close).map_err(fail)?;
        }
        group.close().map_err(fail)?;
        self.buffered = 0;
        Ok(())
    }

    /// Writes the last row group and the footer, and fsyncs the file.
    pub(crate) fn finish(mut self) -> Result<FileEntry> {
        self.flush()?;
        let fail = |e: parquet::errors::ParquetError| Error::Other(format!("{}: {e}", self.name));
        let out = self.writer.into_inner().map_err(fail)?;
        out.seal(&self.path, self.name, self.rows)
    }
}

/// Encodes a row group's column from `buffer` into a chunk of its own, and empties `buffer`.
fn encode(
    descr: ColumnDescPtr,
    properties: WriterPropertiesPtr,
    buffer: &mut Buffer,
) -> parquet::errors::Result<(Bytes, ColumnCloseResult)> {
    let mut sink = TrackedWrite::new(Vec::new());
    let close = {
        let mut writer = get_column_writer(
            descr,
            properties,
            Box::new(SerializedPageWriter::new(&mut sink)),
        );
        let defs = buffer.defs.as_slice();
        match (&buffer.values, &mut writer) {
            (Values::Text { bytes, ends }, ColumnWriter::ByteArrayColumnWriter(w)) => {
                write_text(w, bytes, ends, defs)?
            }
            (Values::Drawn { table, rows }, ColumnWriter::ByteArrayColumnWriter(w)) => {
                write_drawn(w, table, rows, defs)?
            }
            (Values::Integer(v), ColumnWriter::Int64ColumnWriter(w)) => {
                w.write_batch(v, Some(defs), None).map(drop)?
            }
            _ => {
                return Err(parquet::errors::ParquetError::General(
                    "a column buffered as another type than its schema's".into(),
                ));
            }
        }
        writer.close()?
    };
    match &mut buffer.values {
        Values::Text { bytes, ends } => {
            bytes.clear();
            ends.clear();
        }
        Values::Drawn { rows, .. } => rows.clear(),
        Values::Integer(v) => v.clear(),
    }
    buffer.defs.clear();
    Ok((Bytes::from(sink.into_inner()?), close))
}

/// Writes a row group's text column, `TEXT_BATCH` rows at a time: `bytes` and `ends` hold its
/// non-null values, `defs` a definition level per row.
fn write_text(
    writer: &mut ColumnWriterImpl<'_, ByteArrayType>,
    bytes: &[u8],
    ends: &[usize],
    defs: &[i16],
) -> parquet::errors::Result<()> {
    let mut values = Vec::with_capacity(TEXT_BATCH);
    let (mut written, mut start) = (0, 0);
    for defs in defs.chunks(TEXT_BATCH) {
        let count = defs.iter().filter(|&&d| d == 1).count();
        let batch = ends.get(written..written + count).ok_or_else(|| {
            parquet::errors::ParquetError::General("fewer text values than levels".into())
        })?;
        let end = batch.last().copied().unwrap_or(start);
        let shared = Bytes::copy_from_slice(&bytes[start..end]);
        let mut from = 0;
        for &to in batch {
            values.push(ByteArray::from(shared.slice(from..to - start)));
            from = to - start;
        }
        writer.write_batch(&values, Some(defs), None)?;
        values.clear();
        written += count;
        start = end;
    }
    Ok(())
}

/// Writes a row group's drawn column, `TEXT_BATCH` rows at a time: `rows` holds each row's
/// index into `table`, `defs` its definition level.
fn write_drawn(
    writer: &mut ColumnWriterImpl<'_, ByteArrayType>,
    table: &[Option<ByteArray>],
    rows: &[u32],
    defs: &[i16],
) -> parquet::errors::Result<()> {
    let mut values = Vec::with_capacity(TEXT_BATCH);
    for (defs, rows) in defs.chunks(TEXT_BATCH).zip(rows.chunks(TEXT_BATCH)) {
        values.extend(
            rows.iter()
                .filter_map(|&i| table.get(i as usize).and_then(Option::clone)),
        );
        writer.write_batch(&values, Some(defs), None)?;
        values.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
