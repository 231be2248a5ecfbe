//! The Parquet file beside each CSV file: the same rows with typed columns, written a bounded
//! row group at a time, so memory stays flat however long the table, and checksummed as it is
//! written like the CSV.
//!
//! An empty CSV field is a null in Parquet (a withheld count, a pseudonym the row does not
//! have), and nothing else is: `verify` holds the two files to exactly that.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type};

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
    /// UTF-8 text that seldom repeats (pseudonyms): a dictionary would only cost time.
    Identifier,
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
    Text(Vec<ByteArray>),
    Integer(Vec<i64>),
}

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
                    Kind::Category | Kind::Identifier => {
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
        // The writer buffers itself, and sends column chunks in large writes.
        let out = Hashing::new(file);
        let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(properties.build()))
            .map_err(fail)?;
        let columns = columns
            .iter()
            .map(|c| Buffer {
                values: match c.kind {
                    Kind::Category | Kind::Identifier => Values::Text(Vec::new()),
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
    /// Shares the value's bytes rather than copying them.
    pub(crate) fn text(&mut self, column: usize, value: ByteArray) -> Result<()> {
        let name = &self.name;
        match self.columns.get_mut(column) {
            Some(Buffer {
                values: Values::Text(values),
                defs,
            }) => {
                defs.push(i16::from(!value.is_empty()));
                if !value.is_empty() {
                    values.push(value);
                }
                Ok(())
            }
            _ => Err(Error::Other(format!(
                "{name}: column {column} is not a text column"
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
                Values::Text(values) => {
                    values.push(ByteArray::from(field.to_vec()));
                    true
                }
                Values::Integer(values) => std::str::from_utf8(field)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(|n| values.push(n))
                    .is_some(),
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
        let mut group = self.writer.next_row_group().map_err(fail)?;
        for buffer in &mut self.columns {
            let mut column = group
                .next_column()
                .map_err(fail)?
                .ok_or_else(|| Error::Other(format!("{name}: fewer columns than buffered")))?;
            let defs = Some(buffer.defs.as_slice());
            match &mut buffer.values {
                Values::Text(v) => column.typed::<ByteArrayType>().write_batch(v, defs, None),
                Values::Integer(v) => column.typed::<Int64Type>().write_batch(v, defs, None),
            }
            .map_err(fail)?;
            column.close().map_err(fail)?;
            match &mut buffer.values {
                Values::Text(v) => v.clear(),
                Values::Integer(v) => v.clear(),
            }
            buffer.defs.clear();
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

#[cfg(test)]
mod tests;
