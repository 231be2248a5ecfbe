//! Source: one READ ONLY, REPEATABLE READ snapshot, binary COPY out of the contract views,
//! decoded into batches of rows.
//!
//! The decoder copies each byte once, from the network chunk into the batch buffer, and keeps
//! field offsets beside it, so decoding allocates per batch, not per field. Batches are bounded
//! (`BATCH_ROWS` rows), which bounds memory however many rows the views hold.

mod paced;
pub mod policy;

use paced::Paced;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::Stream;
use tokio_postgres::Client;

use crate::error::{DbContext, Error, Result};

/// The scan query: a certificate with its application, subscriber, ACME account and revocation.
pub const SCAN_SQL: &str = include_str!("../../sql/queries/scan.sql");

/// The scan as the binary COPY the job reads.
pub const SCAN_COPY_SQL: &str = concat!(
    "COPY (",
    include_str!("../../sql/queries/scan.sql"),
    ") TO STDOUT (FORMAT binary)"
);

/// Settings of the snapshot transaction for the scan (see the file for why).
const SCAN_SESSION_SQL: &str = include_str!("../../sql/queries/scan_session.sql");

/// Rows per batch handed to the CPU stage.
pub const BATCH_ROWS: usize = 2048;

/// Columns of `SCAN_SQL`, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Col {
    CertificateId,
    CommonName,
    ValidationType,
    KeyAlgorithm,
    KeySize,
    NotBefore,
    NotAfter,
    IssuedAt,
    Channel,
    ApplicantEmail,
    ApproverEmail,
    SubscriberId,
    SubscriberKind,
    OrganizationName,
    PersonName,
    Email,
    Phone,
    PostalCode,
    PostalAddress,
    Country,
    PersonalDataErasedAt,
    AcmeAccountId,
    AcmeContactEmail,
    RevokedAt,
    ReasonCode,
}

pub const NCOLS: usize = Col::ReasonCode as usize + 1;

/// The snapshot a run reads: one transaction, READ ONLY, REPEATABLE READ. Every query of the
/// run goes through it, so the extract and the aggregates see the same data.
pub struct Snapshot<'a> {
    pub tx: tokio_postgres::Transaction<'a>,
    /// `pg_current_snapshot()` at the start, recorded in manifests and the ledger.
    pub id: String,
}

impl<'a> Snapshot<'a> {
    pub async fn begin(client: &'a mut Client) -> Result<Snapshot<'a>> {
        let tx = client
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await
            .during("starting the snapshot transaction")?;
        let id: String = tx
            .query_one("SELECT pg_current_snapshot()::text", &[])
            .await
            .during("reading the snapshot id")?
            .get(0);
        Ok(Snapshot { tx, id })
    }

    /// Streams the scan as batches into `sink` (a bounded channel to the CPU stage, so a slow
    /// consumer slows the COPY instead of filling memory). Returns the number of rows.
    pub async fn scan(&self, sink: tokio::sync::mpsc::Sender<Batch>) -> Result<u64> {
        decode_stream(self.copy_out().await?, BATCH_ROWS, &sink).await
    }

    /// The scan's raw COPY stream, with the scan's transaction settings applied: what `scan`
    /// decodes, and what the benchmark's floor reads.
    pub async fn copy_out(&self) -> Result<tokio_postgres::CopyOutStream> {
        self.tx
            .batch_execute(SCAN_SESSION_SQL)
            .await
            .during("setting up the scan's transaction")?;
        self.tx
            .copy_out(SCAN_COPY_SQL)
            .await
            .during("starting the COPY of the scan")
    }
}

/// Decodes a binary COPY stream into batches of `batch_rows` rows.
pub(crate) async fn decode_stream<S>(
    stream: S,
    batch_rows: usize,
    sink: &tokio::sync::mpsc::Sender<Batch>,
) -> Result<u64>
where
    S: Stream<Item = std::result::Result<Bytes, tokio_postgres::Error>>,
{
    let mut stream = Paced::new(stream);
    let mut decoder = Decoder::new(batch_rows);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.during("reading the COPY stream")?;
        for batch in decoder.push(&chunk)? {
            send(sink, batch).await?;
        }
    }
    let (last, rows) = decoder.finish()?;
    if let Some(batch) = last {
        send(sink, batch).await?;
    }
    Ok(rows)
}

async fn send(sink: &tokio::sync::mpsc::Sender<Batch>, batch: Batch) -> Result<()> {
    sink.send(batch)
        .await
        .map_err(|_| Error::Other("the processing stage stopped while the scan was running".into()))
}

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Incremental decoder of PostgreSQL's binary COPY format.
pub struct Decoder {
    batch_rows: usize,
    header_done: bool,
    trailer_seen: bool,
    /// Bytes of the current batch: complete rows, then a possibly incomplete tail.
    buf: Vec<u8>,
    /// Start of the first byte not yet parsed into a row.
    parsed: usize,
    fields: Vec<Field>,
    rows: u64,
}

#[derive(Debug, Clone, Copy)]
struct Field {
    start: u32,
    len: i32,
}

/// A batch of decoded rows. Field values borrow from the batch.
pub struct Batch {
    buf: Vec<u8>,
    fields: Vec<Field>,
}

impl Decoder {
    pub fn new(batch_rows: usize) -> Self {
        Decoder {
            batch_rows,
            header_done: false,
            trailer_seen: false,
            buf: Vec::with_capacity(1 << 20),
            parsed: 0,
            fields: Vec::with_capacity(batch_rows * NCOLS),
            rows: 0,
        }
    }

    /// Adds a chunk; returns the batches it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Batch>> {
        self.buf.extend_from_slice(chunk);
        let mut done = Vec::new();
        if !self.header_done {
            if self.buf.len() < SIGNATURE.len() + 8 {
                return Ok(done);
            }
            if &self.buf[..SIGNATURE.len()] != SIGNATURE {
                return Err(corrupt("bad signature"));
            }
            let ext = be_u32(&self.buf[SIGNATURE.len() + 4..]) as usize;
            let header = SIGNATURE.len() + 8 + ext;
            if self.buf.len() < header {
                return Ok(done);
            }
            self.buf.drain(..header);
            self.header_done = true;
        }
        while !self.trailer_seen {
            match self.parse_row()? {
                Some(()) => {
                    if self.fields.len() / NCOLS == self.batch_rows {
                        done.push(self.take_batch());
                    }
                }
                None => break,
            }
        }
        Ok(done)
    }

    /// Ends the stream: the last partial batch and the total row count.
    pub fn finish(mut self) -> Result<(Option<Batch>, u64)> {
        if !self.trailer_seen {
            return Err(corrupt("stream ended without the trailer"));
        }
        let last = (!self.fields.is_empty()).then(|| self.take_batch());
        Ok((last, self.rows))
    }

    /// Parses one row (or the trailer) at `parsed`; None when more bytes are needed.
    fn parse_row(&mut self) -> Result<Option<()>> {
        let buf = &self.buf[self.parsed..];
        if buf.len() < 2 {
            return Ok(None);
        }
        let count = i16::from_be_bytes([buf[0], buf[1]]);
        if count == -1 {
            self.trailer_seen = true;
            self.parsed += 2;
            return Ok(None);
        }
        if count as usize != NCOLS {
            return Err(corrupt(&format!(
                "row has {count} fields, the scan has {NCOLS}"
            )));
        }
        let mut pos = 2;
        let first_field = self.fields.len();
        for _ in 0..NCOLS {
            if buf.len() < pos + 4 {
                self.fields.truncate(first_field);
                return Ok(None);
            }
            let len = be_u32(&buf[pos..]) as i32;
            pos += 4;
            let start = (self.parsed + pos) as u32;
            if len > 0 {
                if buf.len() < pos + len as usize {
                    self.fields.truncate(first_field);
                    return Ok(None);
                }
                pos += len as usize;
            }
            self.fields.push(Field { start, len });
        }
        self.parsed += pos;
        self.rows += 1;
        Ok(Some(()))
    }

    /// Moves the complete rows out; the unparsed tail starts the next batch's buffer.
    fn take_batch(&mut self) -> Batch {
        let tail = self.buf[self.parsed..].to_vec();
        let mut buf =
            std::mem::replace(&mut self.buf, Vec::with_capacity((1 << 20).max(tail.len())));
        buf.truncate(self.parsed);
        self.buf.extend_from_slice(&tail);
        self.parsed = 0;
        let fields = std::mem::replace(
            &mut self.fields,
            Vec::with_capacity(self.batch_rows * NCOLS),
        );
        Batch { buf, fields }
    }
}

impl Batch {
    pub fn len(&self) -> usize {
        self.fields.len() / NCOLS
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub(crate) fn row(&self, i: usize) -> Row<'_> {
        Row {
            buf: &self.buf,
            fields: &self.fields[i * NCOLS..(i + 1) * NCOLS],
        }
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        (0..self.len()).map(move |i| self.row(i))
    }
}

/// One decoded row; accessors return None for NULL (and for a value of the wrong width, which
/// a contract view with a changed column type would produce).
#[derive(Clone, Copy)]
pub struct Row<'a> {
    buf: &'a [u8],
    fields: &'a [Field],
}

/// Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl<'a> Row<'a> {
    pub(crate) fn bytes(&self, col: Col) -> Option<&'a [u8]> {
        let f = self.fields[col as usize];
        (f.len >= 0).then(|| &self.buf[f.start as usize..f.start as usize + f.len as usize])
    }

    /// The columns `first..=last` as COPY sent them, length words included: equal spans mean
    /// equal values, NULLs included, so one hash of it fingerprints all of them.
    pub(crate) fn encoded(&self, first: Col, last: Col) -> &'a [u8] {
        let (first, last) = (self.fields[first as usize], self.fields[last as usize]);
        let start = first.start as usize - 4;
        let end = last.start as usize + last.len.max(0) as usize;
        self.buf.get(start..end).unwrap_or_default()
    }

    pub(crate) fn text(&self, col: Col) -> Option<&'a str> {
        self.bytes(col)
            .and_then(|b| simdutf8::basic::from_utf8(b).ok())
    }

    pub(crate) fn i64(&self, col: Col) -> Option<i64> {
        match self.bytes(col)? {
            b if b.len() == 8 => Some(i64::from_be_bytes(b.try_into().ok()?)),
            b if b.len() == 4 => Some(i32::from_be_bytes(b.try_into().ok()?) as i64),
            b if b.len() == 2 => Some(i16::from_be_bytes(b.try_into().ok()?) as i64),
            _ => None,
        }
    }

    pub(crate) fn timestamp(&self, col: Col) -> Option<DateTime<Utc>> {
        let b = self.bytes(col)?;
        let micros = i64::from_be_bytes(b.try_into().ok()?);
        Utc.timestamp_micros(micros.checked_add(PG_EPOCH_MICROS)?)
            .single()
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn corrupt(what: &str) -> Error {
    Error::Other(format!(
        "binary COPY stream from the contract views is malformed: {what}"
    ))
}

/// Binary COPY of `rows`, encoded the way PostgreSQL does, for the tests of what reads it.
#[cfg(test)]
pub(crate) fn encode_copy(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    for row in rows {
        out.extend_from_slice(&(row.len() as i16).to_be_bytes());
        for f in row {
            match f {
                Some(v) => {
                    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    out.extend_from_slice(v);
                }
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_row(i: i64) -> Vec<Option<Vec<u8>>> {
        let mut row: Vec<Option<Vec<u8>>> = vec![None; NCOLS];
        row[Col::CertificateId as usize] = Some(i.to_be_bytes().to_vec());
        row[Col::CommonName as usize] = Some(format!("host{i}.example.co.jp").into_bytes());
        row[Col::PersonName as usize] = Some("山田　太郎".repeat((i % 3) as usize).into_bytes());
        row[Col::KeySize as usize] = Some(2048i32.to_be_bytes().to_vec());
        // 2026-03-01T00:00:00Z in PostgreSQL microseconds.
        row[Col::IssuedAt as usize] = Some(
            (1_772_323_200_000_000i64 - PG_EPOCH_MICROS)
                .to_be_bytes()
                .to_vec(),
        );
        row
    }

    fn decode_all(data: &[u8], chunk: usize, batch_rows: usize) -> (Vec<Batch>, u64) {
        let mut d = Decoder::new(batch_rows);
        let mut batches = Vec::new();
        for c in data.chunks(chunk) {
            batches.extend(d.push(c).unwrap());
        }
        let (last, n) = d.finish().unwrap();
        batches.extend(last);
        (batches, n)
    }

    #[test]
    fn decodes_rows_split_across_arbitrary_chunks() {
        let rows: Vec<_> = (0..100).map(sample_row).collect();
        let data = encode_copy(&rows);
        for chunk in [1, 3, 7, 64, 1000, data.len()] {
            let (batches, n) = decode_all(&data, chunk, 16);
            assert_eq!(n, 100);
            assert_eq!(
                batches.iter().map(Batch::len).collect::<Vec<_>>(),
                [16, 16, 16, 16, 16, 16, 4]
            );
            let mut i = 0;
            for b in &batches {
                for r in b.rows() {
                    assert_eq!(r.i64(Col::CertificateId), Some(i));
                    assert_eq!(
                        r.text(Col::CommonName),
                        Some(format!("host{i}.example.co.jp").as_str())
                    );
                    let name = r.text(Col::PersonName).unwrap();
                    assert_eq!(name, "山田　太郎".repeat((i % 3) as usize));
                    assert_eq!(r.text(Col::Email), None);
                    assert_eq!(r.i64(Col::KeySize), Some(2048));
                    assert_eq!(
                        r.timestamp(Col::IssuedAt).unwrap().to_rfc3339(),
                        "2026-03-01T00:00:00+00:00"
                    );
                    i += 1;
                }
            }
        }
    }

    #[test]
    fn an_encoded_span_tells_null_from_empty_and_holds_only_its_columns() {
        let mut rows = Vec::new();
        for (org, name) in [(None, Some("a")), (Some(""), Some("a")), (Some("a"), None)] {
            let mut row = sample_row(7);
            row[Col::OrganizationName as usize] = org.map(|v: &str| v.as_bytes().to_vec());
            row[Col::PersonName as usize] = name.map(|v: &str| v.as_bytes().to_vec());
            rows.push(row);
        }
        // Same span values as the first row, other columns outside the span changed.
        let mut outside = rows[0].clone();
        outside[Col::SubscriberId as usize] = Some(b"id".to_vec());
        outside[Col::Email as usize] = Some(b"x@example.jp".to_vec());
        rows.push(outside);
        let (batches, _) = decode_all(&encode_copy(&rows), 5, 16);
        let spans: Vec<&[u8]> = batches[0]
            .rows()
            .map(|r| r.encoded(Col::OrganizationName, Col::PersonName))
            .collect();
        assert_ne!(spans[0], spans[1], "NULL and empty differ");
        assert_ne!(spans[0], spans[2], "which column is NULL matters");
        assert_ne!(spans[1], spans[2]);
        assert_eq!(spans[0], spans[3], "columns outside the span do not count");
        assert_eq!(spans[0], b"\xff\xff\xff\xff\0\0\0\x01a");
    }

    #[test]
    fn rejects_truncated_and_foreign_streams() {
        let data = encode_copy(&[sample_row(1)]);
        let mut d = Decoder::new(8);
        d.push(&data[..data.len() - 2]).unwrap();
        assert!(d.finish().is_err(), "missing trailer must be an error");

        let mut d = Decoder::new(8);
        assert!(d.push(b"COPY is not binary here").is_err());

        let mut wrong = encode_copy(&[]);
        wrong.truncate(19);
        wrong.extend_from_slice(&3i16.to_be_bytes());
        assert!(Decoder::new(8).push(&wrong).is_err(), "wrong field count");
    }
}
