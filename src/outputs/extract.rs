//! The research extract: spills each pseudonymized row to disk during the scan, lets the
//! privacy gate choose generalization levels from the class tallies, then writes the released
//! rows, generalized and sorted by certificate pseudonym, to `research_extract.csv` and
//! `research_extract.parquet`.
//!
//! The gate protects subscribers: a class is released only when its rows come from at least k
//! distinct subscribers. In `anonymous` mode the file carries no pseudonym that links rows
//! (only the certificate's, which never repeats), so every released row is a subject on its
//! own and its class holds k subscribers; `pseudonymous` mode keeps the linking columns and
//! reports, in the manifest, how many subjects the file alone lets one tell apart.
//!
//! Memory holds the histogram of quasi-identifier combinations (bounded: see `Floors`), up to k
//! subscriber ids per class, one bucket of the spill at a time, and while the released rows are
//! written, one entry per subscriber and two `u32` per released row (see `Profiles`): rows go to
//! 256 bucket files by the first characters of their certificate pseudonym, so sorting one
//! bucket at a time yields a sorted file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use bytes::Bytes;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::config::ReleaseMode;
use crate::error::{Error, IoContext, Result};
use crate::outputs::columnar::{self, Kind, ParquetFile};
use crate::outputs::export::push_csv_field;
use crate::outputs::export::{CsvFile, Export};
use crate::outputs::manifest::{FileFacts, MicrodataFacts, MicrodataKind, Privacy, SubjectFacts};
use crate::outputs::schema::Resource;
use crate::phase::timed;
use crate::privacy::{self, Choice, Dimension, Tally};
use crate::transform::generalize::Quasi;
use crate::transform::pseudonymize::{PSEUDONYM_B32_LEN, base32, write_raw};
use crate::transform::record::{
    CERTIFICATE, NPSEUDO, NQI, PSEUDONYM_COLUMNS, Pseudo, Record, SUBSCRIBER,
};

mod subjects;
mod text;
pub(crate) use text::{NOTICE, dictionary, public_notice};

pub(crate) const FILE_NAME: &str = "research_extract.csv";
const BUCKETS: usize = 256;
/// Bytes of a spill bucket held before they are written to its file.
const SPILL_BUFFER: usize = 64 * 1024;

/// Rows of the extract waiting for the privacy gate.
pub(crate) struct ExtractSpill {
    dir: tempfile::TempDir,
    key_id: String,
    mode: ReleaseMode,
    /// Subscriber ids a class keeps: k.
    cap: usize,
    /// Each bucket's file and the entries not yet written to it.
    buckets: Vec<(File, Vec<u8>)>,
    hist: FxHashMap<[u16; NQI], Tally>,
    floors: Floors,
    rows: u64,
}

/// What the extract released, for the manifest, the ledger and the summary.
#[derive(Debug, Clone)]
pub(crate) struct ExtractFacts {
    pub(crate) rows_written: u64,
    pub(crate) rows_suppressed: u64,
    pub(crate) achieved_k: u64,
    /// The k the gate enforced, of rows and of distinct subscribers.
    pub(crate) k: u64,
    pub(crate) levels: Vec<(String, String)>,
    pub(crate) pseudonym_columns: Vec<String>,
    pub(crate) subjects: SubjectFacts,
    /// How much the gate generalized and suppressed, 0 to 1 (see `privacy::kanon`).
    pub(crate) information_loss: f64,
    /// The file's columns, for the data dictionary.
    pub(crate) resource: Resource,
}

/// The coarsest of the recorded `(quasi-identifier, level)` pairs, per quasi-identifier, as
/// level indices: the finest levels a release under the same key may publish. A level this
/// version does not know counts as the top, the safe side.
pub(crate) fn minimum_levels(recorded: &[(String, String)]) -> [u8; NQI] {
    std::array::from_fn(|d| {
        let q = Quasi::ALL[d];
        recorded
            .iter()
            .filter(|(name, _)| name == q.name())
            .map(|(_, level)| {
                q.levels()
                    .iter()
                    .position(|l| l == level)
                    .map_or(q.top_level(), |i| i as u8)
            })
            .max()
            .unwrap_or(0)
    })
}

/// Indices into `PSEUDONYM_COLUMNS` of the columns a mode releases.
fn released_pseudonyms(mode: ReleaseMode) -> &'static [usize] {
    const ALL: [usize; NPSEUDO] = {
        let mut all = [0; NPSEUDO];
        let mut i = 0;
        while i < NPSEUDO {
            all[i] = i;
            i += 1;
        }
        all
    };
    match mode {
        ReleaseMode::Pseudonymous => &ALL,
        // Every other column repeats across a subscriber's rows, or across subscribers.
        ReleaseMode::Anonymous => &[CERTIFICATE],
    }
}

/// The subscriber of a row as the gate counts it: 32 bits of its pseudonym. Two subscribers
/// that collide count as one, which only suppresses more.
fn subscriber_id(p: &Pseudo) -> u32 {
    match p {
        Pseudo::Value(raw) => u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]),
        Pseudo::Null | Pseudo::Erased => 0,
    }
}

/// A linking value of a released pseudonym: 64 bits of it. Pseudonyms of different classes
/// differ, equal ones link rows whichever columns they are in.
fn link(p: &Pseudo) -> Option<u64> {
    match p {
        Pseudo::Value(raw) => Some(u64::from_le_bytes(raw[..8].try_into().unwrap_or_default())),
        Pseudo::Null | Pseudo::Erased => None,
    }
}

impl ExtractSpill {
    /// Spill files live in a hidden `.tmp-spill-*` directory under `parent`, which the next run
    /// removes if this one crashes.
    pub(crate) fn new(
        parent: &Path,
        key_id: &str,
        mode: ReleaseMode,
        k: u64,
    ) -> Result<ExtractSpill> {
        std::fs::create_dir_all(parent).at(parent)?;
        let dir = tempfile::Builder::new()
            .prefix(".tmp-spill-")
            .tempdir_in(parent)
            .at(parent)?;
        let buckets = (0..BUCKETS)
            .map(|b| {
                let path = dir.path().join(format!("{b:03}"));
                File::create(&path)
                    .map(|f| (f, Vec::with_capacity(SPILL_BUFFER)))
                    .at(&path)
            })
            .collect::<Result<_>>()?;
        Ok(ExtractSpill {
            dir,
            key_id: key_id.to_string(),
            mode,
            cap: usize::try_from(k).unwrap_or(usize::MAX),
            buckets,
            hist: FxHashMap::default(),
            floors: Floors::default(),
            rows: 0,
        })
    }

    pub(crate) fn add(&mut self, r: &Record) -> Result<()> {
        let subscriber = subscriber_id(&r.pseudonyms[SUBSCRIBER]);
        let tally = self.hist.entry(self.floors.canonical(&r.qi)).or_default();
        tally.rows += 1;
        tally.subjects.insert(subscriber, self.cap);
        if self.hist.len() > HISTOGRAM_CLASSES {
            self.floors.raise(&mut self.hist, self.cap);
        }
        self.rows += 1;
        // Written straight into the bucket's buffer, which is written out before the next
        // entry could make it grow.
        let (file, buf) = &mut self.buckets[bucket(&r.pseudonyms[CERTIFICATE])];
        SpillEntry::write(r, self.mode, buf);
        if buf.len() > SPILL_BUFFER - SpillEntry::MAX_LEN {
            file.write_all(buf).at(self.dir.path())?;
            buf.clear();
        }
        Ok(())
    }

    /// Chooses levels, no finer than `minimum` (absolute levels per quasi-identifier), and,
    /// given an `export`, writes the released rows into it. Returns the facts and the
    /// manifest's privacy facts of the extract file.
    pub(crate) fn finish(
        mut self,
        export: Option<&mut Export>,
        k: u64,
        max_suppression: f64,
        subject_k: Option<u64>,
        minimum: &[u8; NQI],
    ) -> Result<(ExtractFacts, Privacy)> {
        for (i, (file, buf)) in self.buckets.iter_mut().enumerate() {
            file.write_all(buf)
                .at(self.dir.path().join(format!("{i:03}")))?;
        }
        self.buckets.clear();
        let dims = self.floors.dimensions();
        let hist: HashMap<Vec<u16>, Tally> = std::mem::take(&mut self.hist)
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v))
            .collect();
        let above_floor: Vec<u8> = minimum
            .iter()
            .zip(self.floors.level)
            .zip(&dims)
            .map(|((&m, floor), d)| m.saturating_sub(floor).min(d.levels - 1))
            .collect();
        let mut choice = timed("extract: level search", || {
            privacy::choose_levels(&hist, &dims, k, max_suppression, &above_floor)
        })?;
        let gate_levels = choice.levels.clone();
        for (level, floor) in choice.levels.iter_mut().zip(self.floors.level) {
            *level += floor;
        }
        let (classes, labels) = timed("extract: released classes", || {
            privacy::released_classes(&hist, &dims, &gate_levels, k)
                .map(|release| released_classes(&hist, &choice.levels, &release))
        })?;
        let pseudonyms: Vec<&str> = released_pseudonyms(self.mode)
            .iter()
            .map(|&i| PSEUDONYM_COLUMNS[i].0)
            .collect();
        let resource = text::resource(&self.key_id, &pseudonyms, &choice.levels);
        let files = match export {
            Some(export) => {
                let mut columns = columnar::columns(&resource);
                // The pseudonyms come first, the certificate's, which orders the rows, leading.
                for (column, &p) in columns.iter_mut().zip(released_pseudonyms(self.mode)) {
                    column.kind = if p == CERTIFICATE {
                        Kind::SortKey
                    } else {
                        Kind::Identifier
                    };
                }
                let mut parquet = export.parquet(&columnar::file_name(FILE_NAME), &columns)?;
                labels.draw(&mut parquet, pseudonyms.len())?;
                Some((export.csv(resource.clone())?, parquet, export))
            }
            None => None,
        };
        let removal = subject_k
            .map(|subject_k| {
                timed("extract: subject_k removal", || {
                    self.subject_k_removal(&classes, subject_k)
                })
            })
            .transpose()?;
        let released = timed("extract: write", || {
            self.release(files, &classes, &labels, removal.as_ref(), k)
        })?;
        if let Some(removal) = &removal {
            removal.account(&mut choice, released.smallest_class);
        }
        if released.rows != self.rows - choice.suppressed_rows {
            return Err(Error::Other(format!(
                "research extract: released {} rows, the privacy gate released {}",
                released.rows,
                self.rows - choice.suppressed_rows
            )));
        }
        let mut subjects = released.subjects;
        subjects.subject_k = removal.as_ref().map(|r| r.facts());
        let facts = facts(&choice, k, self.mode, subjects, resource);
        tracing::info!(
            rows = self.rows,
            suppressed = choice.suppressed_rows,
            achieved_k = choice.achieved_k,
            subjects_in_file = facts.subjects.in_file,
            subjects_below_k = facts.subjects.profile_below_k,
            levels = %facts.levels.iter().map(|(q, l)| format!("{q}={l}")).collect::<Vec<_>>().join(","),
            "k-anonymity levels chosen"
        );
        let microdata = MicrodataFacts {
            achieved_k: choice.achieved_k,
            finest_levels_searched: Quasi::ALL
                .iter()
                .zip(self.floors.level)
                .map(|(q, f)| (q.name().to_string(), q.levels()[usize::from(f)].to_string()))
                .collect(),
            information_loss: choice.loss,
            k,
            kind: MicrodataKind::Microdata,
            levels: facts.levels.iter().cloned().collect(),
            pseudonym_columns: facts.pseudonym_columns.clone(),
            quasi_identifiers: Quasi::ALL.iter().map(|q| q.name().to_string()).collect(),
            rows_in: self.rows,
            rows_released: facts.rows_written,
            rows_suppressed: choice.suppressed_rows,
            subjects: facts.subjects.clone(),
        };
        let privacy = Privacy::from([(FILE_NAME.to_string(), FileFacts::Microdata(microdata))]);
        Ok((facts, privacy))
    }

    /// Renders buckets on rayon's pool, a window at a time, while one thread writes the
    /// finished ones in bucket order to the CSV file and another to the Parquet file: each
    /// file is the concatenation of the sorted buckets. Without an export, the rows are
    /// rendered for the subject figures only.
    fn release(
        &self,
        files: Option<(CsvFile, ParquetFile, &mut Export)>,
        classes: &Classes,
        labels: &Labels,
        removal: Option<&subjects::Removal>,
        k: u64,
    ) -> Result<Released> {
        let mut tally = subjects::SubjectTally::default();
        let window = 2 * rayon::current_num_threads();
        let (files, export) = match files {
            Some((csv, parquet, export)) => (Some((csv, parquet)), Some(export)),
            None => (None, None),
        };
        let files = std::thread::scope(|scope| -> Result<_> {
            let Some((mut csv, mut parquet)) = files else {
                for first in (0..BUCKETS).step_by(window) {
                    for bucket in self.render_window(first, window, classes, removal) {
                        tally.add(&bucket?);
                    }
                }
                return Ok(None);
            };
            let (to_csv, csv_rows) = std::sync::mpsc::sync_channel::<(Bytes, u64)>(window);
            let (to_parquet, parquet_rows) = std::sync::mpsc::sync_channel::<Bucket>(window);
            let csv_writer = scope.spawn(move || -> Result<_> {
                for (lines, rows) in csv_rows {
                    csv.write_chunk(lines, rows)?;
                }
                Ok(csv)
            });
            let pseudonyms = released_pseudonyms(self.mode).len();
            let parquet_writer = scope.spawn(move || -> Result<_> {
                for bucket in parquet_rows {
                    write_parquet(&mut parquet, &bucket, pseudonyms, labels)?;
                }
                Ok(parquet)
            });
            'buckets: for first in (0..BUCKETS).step_by(window) {
                for bucket in self.render_window(first, window, classes, removal) {
                    let bucket = bucket?;
                    tally.add(&bucket);
                    let sent = to_csv.send((bucket.lines.clone(), bucket.rows));
                    if sent.is_err() || to_parquet.send(bucket).is_err() {
                        // A writer stopped on an error; its join says which.
                        break 'buckets;
                    }
                }
            }
            drop((to_csv, to_parquet));
            let panicked = |_| Error::Other("an extract writer panicked".into());
            let csv = csv_writer.join().map_err(panicked)?;
            let parquet = parquet_writer.join().map_err(panicked)?;
            Ok(Some((csv?, parquet?)))
        })?;
        if let (Some((csv, parquet)), Some(export)) = (files, export) {
            for entry in [csv.finish()?, parquet.finish()?] {
                if entry.rows != Some(tally.rows) {
                    return Err(Error::Other(format!(
                        "research extract: wrote {:?} rows to {}, rendered {}",
                        entry.rows, entry.name, tally.rows
                    )));
                }
                export.add(entry);
            }
        }
        let rows = tally.rows;
        let (subjects, smallest_class) = tally.facts(k);
        Ok(Released {
            rows,
            subjects,
            smallest_class,
        })
    }

    /// Buckets `first..first + window`, rendered in parallel, in bucket order.
    fn render_window(
        &self,
        first: usize,
        window: usize,
        classes: &Classes,
        removal: Option<&subjects::Removal>,
    ) -> Vec<Result<Bucket>> {
        (first..BUCKETS.min(first + window))
            .into_par_iter()
            .map(|b| self.render_bucket(b, classes, removal))
            .collect()
    }

    /// Spill bucket `b`'s file and its bytes.
    fn read_bucket(&self, b: usize) -> Result<(std::path::PathBuf, Vec<u8>)> {
        let path = self.dir.path().join(format!("{b:03}"));
        let mut buf = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .at(&path)?;
        Ok((path, buf))
    }

    /// The entries of a bucket read by `read_bucket`, in spill order, each with its released
    /// class, None when the gate suppressed it.
    fn entries<'a>(
        &'a self,
        path: &'a Path,
        buf: &'a [u8],
        classes: &'a Classes,
    ) -> impl Iterator<Item = Result<(SpillEntry<'a>, Option<&'a Class>)>> {
        let mut rest = buf;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            Some(
                SpillEntry::read(&mut rest)
                    .ok_or_else(|| {
                        rest = &[];
                        Error::Other(format!("{}: truncated spill entry", path.display()))
                    })
                    .map(|entry| {
                        let class = classes.get(&self.floors.lookup(&entry.qi));
                        (entry, class)
                    }),
            )
        })
    }

    /// One spill bucket's released rows as CSV lines, sorted by certificate pseudonym, and
    /// what the subject figures need of every row.
    fn render_bucket(
        &self,
        b: usize,
        classes: &Classes,
        removal: Option<&subjects::Removal>,
    ) -> Result<Bucket> {
        let (path, buf) = self.read_bucket(b)?;
        // Removed now, on this worker, rather than all at once when the spill is dropped.
        std::fs::remove_file(&path).at(&path)?;
        let mut kept = Vec::new();
        let mut subscribers = Vec::new();
        let mut gated = 0;
        for entry in self.entries(&path, &buf, classes) {
            let (entry, mut class) = entry?;
            if class.is_some() {
                if removal.is_some_and(|r| r.removes(b, gated)) {
                    class = None;
                }
                gated += 1;
            }
            subscribers.push((entry.subscriber, class.is_some()));
            if let Some((id, fields)) = class {
                kept.push((entry, fields.as_slice(), *id));
            }
        }
        // Sorted as keys and indices, the rows' order in the spill breaking ties: what a
        // stable sort of the rows gives, without moving them.
        let mut order: Vec<(SortKey, u32)> = kept
            .iter()
            .enumerate()
            .map(|(i, (entry, ..))| (entry.key(), i as u32))
            .collect();
        order.sort_unstable();
        let released = released_pseudonyms(self.mode);
        let text = released.len() * (self.key_id.len() + 2 + PSEUDONYM_B32_LEN) + 2;
        let bytes = kept.iter().map(|(_, fields, _)| fields.len() + text).sum();
        let mut lines = Vec::with_capacity(bytes);
        let mut linked = Vec::with_capacity(kept.len());
        let mut pseudonym_fields = Vec::with_capacity(kept.len() * released.len());
        for &(_, i) in &order {
            let (entry, fields, class) = &kept[i as usize];
            let pseudonyms = entry.pseudonyms(released);
            for (n, &column) in released.iter().enumerate() {
                if n > 0 {
                    lines.push(b',');
                }
                let at = lines.len();
                format_pseudonym(&self.key_id, &pseudonyms[column], &mut lines);
                pseudonym_fields.push(at..lines.len());
            }
            lines.extend_from_slice(fields);
            lines.extend_from_slice(b"\r\n");
            linked.push((*class, links(&pseudonyms)));
        }
        Ok(Bucket {
            lines: Bytes::from(lines),
            rows: kept.len() as u64,
            subscribers,
            linked,
            pseudonym_fields,
        })
    }
}

/// One bucket rendered: its CSV lines, each spilled row's subscriber and whether it was
/// released, and each released row's class and linking values and where each of its pseudonym
/// fields is in the lines, in file order.
struct Bucket {
    lines: Bytes,
    rows: u64,
    subscribers: Vec<(u32, bool)>,
    linked: Vec<Linked>,
    /// The released pseudonym columns' fields of each row, one after the other.
    pseudonym_fields: Vec<std::ops::Range<usize>>,
}

/// Appends a rendered bucket's rows to the Parquet file: the `pseudonyms` fields of a row
/// are the CSV's own bytes, where rendering them put them, and the quasi-identifiers are drawn
/// from their columns' labels by their class's indices.
fn write_parquet(
    parquet: &mut ParquetFile,
    bucket: &Bucket,
    pseudonyms: usize,
    labels: &Labels,
) -> Result<()> {
    let width = labels.columns.len();
    let rows = bucket.pseudonym_fields.chunks_exact(pseudonyms);
    for (fields, &(class, _)) in rows.zip(&bucket.linked) {
        for (column, field) in fields.iter().enumerate() {
            parquet.text(column, &bucket.lines[field.clone()])?;
        }
        let start = class as usize * width;
        let class = labels.classes.get(start..start + width).ok_or_else(|| {
            Error::Other("research extract: a released row has no class labels".into())
        })?;
        for (n, &label) in class.iter().enumerate() {
            parquet.drawn(pseudonyms + n, label)?;
        }
        parquet.end_row()?;
    }
    Ok(())
}

/// A released row's class and linking values.
type Linked = (u32, [u64; NLINKS]);

/// What `release` found.
struct Released {
    rows: u64,
    subjects: SubjectFacts,
    /// Fewest subjects with a row in one released class.
    smallest_class: u64,
}

/// Linking columns: every pseudonym column but the certificate's.
const NLINKS: usize = NPSEUDO - 1;
/// A linking slot with no value (not released, empty or erased).
const NO_LINK: u64 = 0;

/// A row as the scan spills it: its finest quasi-identifier codes, its subscriber and its
/// released pseudonyms, raw. The sort key, the linking values and the CSV text all follow from
/// the raw pseudonyms, so the spill holds 16 bytes per value rather than its 30-odd bytes of
/// text and the derived fields: a smaller spill is less to copy through the page cache twice.
struct SpillEntry<'a> {
    qi: [u16; NQI],
    subscriber: u32,
    /// Two bits per released column (see `kind`), in `released_pseudonyms` order.
    kinds: u32,
    /// The raw value of each released column whose kind is `VALUE`, 16 bytes each, in order.
    values: &'a [u8],
}

/// A spilled pseudonym's kind; the bit of `VALUE` alone tells which columns have bytes.
const NULL: u32 = 0;
const ERASED: u32 = 1;
const VALUE: u32 = 2;

fn kind(p: &Pseudo) -> u32 {
    match p {
        Pseudo::Null => NULL,
        Pseudo::Erased => ERASED,
        Pseudo::Value(_) => VALUE,
    }
}

// Every column's kind fits in `kinds`.
const _: () = assert!(2 * NPSEUDO <= 32);

impl SpillEntry<'_> {
    /// The most bytes an entry takes.
    const MAX_LEN: usize = NQI * 2 + 4 + 4 + NPSEUDO * 16;

    /// Layout: the codes (u16 LE each), the subscriber (u32 LE), the kinds (u32 LE), the values.
    fn write(r: &Record, mode: ReleaseMode, out: &mut Vec<u8>) {
        for q in r.qi {
            out.extend_from_slice(&q.to_le_bytes());
        }
        out.extend_from_slice(&subscriber_id(&r.pseudonyms[SUBSCRIBER]).to_le_bytes());
        let released = released_pseudonyms(mode);
        let kinds = released.iter().enumerate().fold(0, |kinds, (n, &column)| {
            kinds | kind(&r.pseudonyms[column]) << (2 * n)
        });
        out.extend_from_slice(&kinds.to_le_bytes());
        for &column in released {
            if let Pseudo::Value(raw) = &r.pseudonyms[column] {
                out.extend_from_slice(raw);
            }
        }
    }

    /// Reads the entry at the start of `buf` and advances past it; None when it is cut short.
    fn read<'a>(buf: &mut &'a [u8]) -> Option<SpillEntry<'a>> {
        let (codes, rest) = buf.split_at_checked(NQI * 2)?;
        let (subscriber, rest) = rest.split_at_checked(4)?;
        let (kinds, rest) = rest.split_at_checked(4)?;
        let kinds = u32::from_le_bytes(kinds.try_into().ok()?);
        let values = (kinds & 0xaaaa_aaaa).count_ones() as usize * 16;
        let (values, rest) = rest.split_at_checked(values)?;
        *buf = rest;
        Some(SpillEntry {
            qi: std::array::from_fn(|i| u16::from_le_bytes([codes[2 * i], codes[2 * i + 1]])),
            subscriber: u32::from_le_bytes(subscriber.try_into().ok()?),
            kinds,
            values,
        })
    }

    /// The row's pseudonyms, indexed like `PSEUDONYM_COLUMNS`; a column `released` (the mode's
    /// columns, as written) leaves out is `Null`.
    fn pseudonyms(&self, released: &[usize]) -> [Pseudo; NPSEUDO] {
        let mut pseudonyms = [Pseudo::Null; NPSEUDO];
        let mut values = self.values.chunks_exact(16);
        for (n, &column) in released.iter().enumerate() {
            pseudonyms[column] = match self.kinds >> (2 * n) & 3 {
                ERASED => Pseudo::Erased,
                VALUE => values
                    .next()
                    .and_then(|raw| raw.try_into().ok())
                    .map_or(Pseudo::Null, Pseudo::Value),
                _ => Pseudo::Null,
            };
        }
        pseudonyms
    }

    /// The sort key: the certificate's column comes first in every mode.
    fn key(&self) -> SortKey {
        match self.kinds & 3 {
            VALUE => sort_key(&Pseudo::Value(
                self.values[..16].try_into().unwrap_or_default(),
            )),
            _ => sort_key(&Pseudo::Null),
        }
    }
}

/// The linking values of a row's pseudonyms as `SpillEntry::pseudonyms` gives them: `NO_LINK`
/// for a column without a value, which includes every column the mode does not release.
fn links(pseudonyms: &[Pseudo; NPSEUDO]) -> [u64; NLINKS] {
    std::array::from_fn(|i| link(&pseudonyms[i + 1]).unwrap_or(NO_LINK))
}

// The certificate leads every mode's columns (see `SpillEntry::key`).
const _: () = assert!(CERTIFICATE == 0);

/// Released classes (keyed as the histogram keys them) → their quasi-identifier fields at the
/// chosen levels, each with its leading comma. A row whose class is absent is suppressed.
/// Each class also has an id, for the subject profiles.
type Classes = FxHashMap<[u16; NQI], Class>;
/// A released class: its id and its quasi-identifier fields.
type Class = (u32, Vec<u8>);

/// The Parquet values of the quasi-identifier columns: their labels, unquoted.
struct Labels {
    /// Per column, in file order: the distinct labels of the released classes.
    columns: Vec<Vec<String>>,
    /// Per class id, per column: the index of the class's label, end to end.
    classes: Vec<u32>,
}

impl Labels {
    /// Makes the quasi-identifier columns of `parquet`, from column `first` on, draw their
    /// values from their labels.
    fn draw(&self, parquet: &mut ParquetFile, first: usize) -> Result<()> {
        for (n, labels) in self.columns.iter().enumerate() {
            parquet.draw_from(first + n, labels)?;
        }
        Ok(())
    }
}

/// The released classes, and the labels of each by class id.
///
/// Spilled rows carry finest codes, not their class's representative, but both generalize to
/// the same code at or above the floor, so a class's fields are its rows' fields.
fn released_classes(
    hist: &HashMap<Vec<u16>, Tally>,
    levels: &[u8],
    release: &privacy::Release,
) -> (Classes, Labels) {
    // Per quasi-identifier: generalized code → the index of its label (and name) in its
    // columns, and the same as CSV fields, rendered once.
    let mut rendered: [FxHashMap<u16, (u32, Vec<u8>)>; NQI] = Default::default();
    let mut classes = Classes::default();
    // Each quasi-identifier's first column among the labels.
    let mut first = [0; NQI];
    let mut columns = 0;
    for (d, q) in Quasi::ALL.iter().enumerate() {
        first[d] = columns;
        columns += label_columns(q);
    }
    let mut labels = Labels {
        columns: vec![Vec::new(); columns],
        classes: Vec::new(),
    };
    // Ids follow the generalized fields, so equal released classes share one.
    let mut ids: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
    for key in hist.keys().filter(|key| release.is_released(key)) {
        let Ok(key) = <[u16; NQI]>::try_from(key.as_slice()) else {
            continue;
        };
        let mut fields = Vec::new();
        let mut class_labels = Vec::with_capacity(columns);
        for (d, q) in Quasi::ALL.iter().enumerate() {
            let code = q.generalize(key[d], levels[d]);
            let (index, field) = rendered[d].entry(code).or_insert_with(|| {
                let mut values = vec![q.label(code, levels[d])];
                if q.name_column().is_some() {
                    values.push(q.name_label(code, levels[d]));
                }
                let mut field = Vec::new();
                let index = labels.columns[first[d]].len() as u32;
                for (n, value) in values.into_iter().enumerate() {
                    if n > 0 {
                        field.push(b',');
                    }
                    push_csv_field(value.as_bytes(), &mut field);
                    labels.columns[first[d] + n].push(value);
                }
                (index, field)
            });
            fields.push(b',');
            fields.extend_from_slice(field);
            class_labels.extend(std::iter::repeat_n(*index, label_columns(q)));
        }
        let next = ids.len() as u32;
        let id = *ids.entry(fields.clone()).or_insert_with(|| {
            labels.classes.extend_from_slice(&class_labels);
            next
        });
        classes.insert(key, (id, fields));
    }
    (classes, labels)
}

/// A quasi-identifier's columns: its label's and, if it has one, its name's.
fn label_columns(q: &Quasi) -> usize {
    1 + usize::from(q.name_column().is_some())
}

/// The certificate pseudonym's base32 text as two big-endian integers: they order rows as
/// the published strings do, and compare without a call to `memcmp`.
type SortKey = (u128, u128);

fn sort_key(p: &Pseudo) -> SortKey {
    let mut key = [0; 32];
    if let Pseudo::Value(raw) = p {
        key[..PSEUDONYM_B32_LEN].copy_from_slice(&base32(raw));
    }
    let (high, low) = key.split_at(16);
    let int = |half: &[u8]| u128::from_be_bytes(half.try_into().unwrap_or_default());
    (int(high), int(low))
}

/// Most equivalence classes the histogram holds before a quasi-identifier's finest level is
/// raised: keeps memory bounded by this, not by the number of rows.
const HISTOGRAM_CLASSES: usize = 100_000;

/// The finest level of each quasi-identifier the level search considers. With nine
/// quasi-identifiers almost every row is its own class at the finest levels, so the histogram
/// would grow with the rows; when it passes `HISTOGRAM_CLASSES`, the dimension with the most
/// distinct values is raised one level (as ARX's minimum generalization levels do), merging its
/// classes. A class is keyed by a representative finest code of its group, so the hierarchies
/// apply unchanged above the floor.
#[derive(Default)]
struct Floors {
    level: [u8; NQI],
    /// Per dimension: group code at the floor → the finest code that stands for the group.
    representative: [FxHashMap<u16, u16>; NQI],
}

impl Floors {
    fn canonical(&mut self, qi: &[u16; NQI]) -> [u16; NQI] {
        std::array::from_fn(|d| match self.level[d] {
            0 => qi[d],
            floor => *self.representative[d]
                .entry(Quasi::ALL[d].generalize(qi[d], floor))
                .or_insert(qi[d]),
        })
    }

    /// The representative of codes seen during the scan (every spilled row's were).
    fn lookup(&self, qi: &[u16; NQI]) -> [u16; NQI] {
        std::array::from_fn(|d| match self.level[d] {
            0 => qi[d],
            floor => self.representative[d]
                .get(&Quasi::ALL[d].generalize(qi[d], floor))
                .copied()
                .unwrap_or(qi[d]),
        })
    }

    /// Raises the dimension with the most distinct values at its floor and merges the classes.
    fn raise(&mut self, hist: &mut FxHashMap<[u16; NQI], Tally>, cap: usize) {
        let distinct = |d: usize| {
            hist.keys()
                .map(|k| k[d])
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        let Some(d) = (0..NQI)
            .filter(|&d| self.level[d] < Quasi::ALL[d].top_level())
            .max_by_key(|&d| (distinct(d), std::cmp::Reverse(d)))
        else {
            return;
        };
        self.level[d] += 1;
        let q = Quasi::ALL[d];
        let mut representative = FxHashMap::default();
        let merged: FxHashMap<[u16; NQI], Tally> = std::mem::take(hist).into_iter().fold(
            FxHashMap::default(),
            |mut acc, (mut key, tally)| {
                key[d] = *representative
                    .entry(q.generalize(key[d], self.level[d]))
                    .or_insert(key[d]);
                acc.entry(key).or_default().absorb(&tally, cap);
                acc
            },
        );
        // Every group seen so far has a class in the histogram, so this covers them all.
        self.representative[d] = representative;
        tracing::debug!(
            quasi_identifier = q.name(),
            level = q.levels()[usize::from(self.level[d])],
            classes = merged.len(),
            "histogram floor raised"
        );
        *hist = merged;
    }

    /// The gate's view of the quasi-identifiers: levels from the floor up.
    fn dimensions(&self) -> Vec<Dimension> {
        Quasi::ALL
            .iter()
            .zip(self.level)
            .map(|(&q, floor)| {
                Dimension::new(
                    q.name(),
                    q.levels().len() as u8 - floor,
                    move |code, level| q.generalize(code, level + floor),
                )
            })
            .collect()
    }
}

fn facts(
    choice: &Choice,
    k: u64,
    mode: ReleaseMode,
    subjects: SubjectFacts,
    resource: Resource,
) -> ExtractFacts {
    ExtractFacts {
        rows_written: choice.total_rows - choice.suppressed_rows,
        rows_suppressed: choice.suppressed_rows,
        achieved_k: choice.achieved_k,
        k,
        levels: Quasi::ALL
            .iter()
            .zip(&choice.levels)
            .map(|(q, &l)| (q.name().to_string(), q.levels()[usize::from(l)].to_string()))
            .collect(),
        pseudonym_columns: released_pseudonyms(mode)
            .iter()
            .map(|&i| PSEUDONYM_COLUMNS[i].0.to_string())
            .collect(),
        subjects,
        information_loss: choice.loss,
        resource,
    }
}

fn format_pseudonym(key_id: &str, p: &Pseudo, out: &mut Vec<u8>) {
    match p {
        Pseudo::Null => {}
        Pseudo::Erased => out.extend_from_slice(b"erased"),
        Pseudo::Value(raw) => write_raw(key_id, raw, out),
    }
}

/// Bucket of a row: the rank, in ASCII order, of the first base32 character of its certificate
/// pseudonym and the top of the second, so bucket order is the order of the published strings.
fn bucket(p: &Pseudo) -> usize {
    let Pseudo::Value(raw) = p else { return 0 };
    // RFC 4648 lower-case: values 0..=25 are 'a'..'z', 26..=31 are '2'..'7', which sort first.
    let rank = |v: u8| if v >= 26 { v - 26 } else { v + 6 } as usize;
    let c0 = raw[0] >> 3;
    let c1 = ((raw[0] & 0x07) << 2) | (raw[1] >> 6);
    rank(c0) * 8 + rank(c1) / 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn raising_a_floor_merges_classes_and_keeps_higher_levels() {
        let mut floors = Floors::default();
        let mut hist = FxHashMap::default();
        // Months 300..336 (three years), everything else equal.
        let rows: Vec<[u16; NQI]> = (0..36)
            .map(|m| [1, 13, 1, 1, 300 + m, 4, 1, 1, 1])
            .collect();
        for r in &rows {
            let tally: &mut Tally = hist.entry(floors.canonical(r)).or_default();
            tally.rows += 1;
        }
        assert_eq!(hist.len(), 36);
        let issued = Quasi::ALL.iter().position(|q| *q == Quasi::Issued).unwrap();
        floors.raise(&mut hist, 5);
        assert_eq!(
            floors.level[issued], 1,
            "months have the most distinct values"
        );
        assert_eq!(hist.len(), 12, "quarters");
        assert_eq!(hist.values().map(|t| t.rows).sum::<u64>(), 36);
        for r in &rows {
            let c = floors.lookup(r);
            assert!(hist.contains_key(&c));
            for level in 1..=3 {
                assert_eq!(
                    Quasi::Issued.generalize(c[issued], level),
                    Quasi::Issued.generalize(r[issued], level)
                );
            }
            assert_eq!(floors.canonical(r), c);
        }
        let dims = floors.dimensions();
        assert_eq!(dims[issued].levels, 3, "quarter, year, *");
    }

    #[test]
    fn spill_entries_read_back_and_a_cut_entry_is_refused() {
        let pseudonyms = std::array::from_fn(|i| match i % 3 {
            0 => Pseudo::Value([i as u8; 16]),
            1 => Pseudo::Erased,
            _ => Pseudo::Null,
        });
        let record = Record {
            qi: [1, 13, 2, 1, 316, 4, 1, 1, 1],
            pseudonyms,
            issued_month: 0,
            not_before: None,
            not_after: None,
            revoked_at: None,
            region: 13,
        };
        let mut buf = Vec::new();
        SpillEntry::write(&record, ReleaseMode::Pseudonymous, &mut buf);
        let one = buf.len();
        SpillEntry::write(&record, ReleaseMode::Anonymous, &mut buf);
        let mut rest = buf.as_slice();
        let full = SpillEntry::read(&mut rest).expect("an entry");
        let anonymous = SpillEntry::read(&mut rest).expect("an entry");
        assert!(rest.is_empty());
        for entry in [&full, &anonymous] {
            assert_eq!(entry.qi, record.qi);
            assert_eq!(entry.key(), sort_key(&pseudonyms[CERTIFICATE]));
            assert_eq!(entry.subscriber, subscriber_id(&pseudonyms[SUBSCRIBER]));
        }
        let all = released_pseudonyms(ReleaseMode::Pseudonymous);
        assert_eq!(full.pseudonyms(all), pseudonyms);
        let full_links = links(&full.pseudonyms(all));
        assert_eq!(full_links[2], link(&pseudonyms[3]).unwrap());
        assert_eq!(full_links[0], NO_LINK, "an erased subscriber links nothing");
        let certificate = released_pseudonyms(ReleaseMode::Anonymous);
        let mut only = [Pseudo::Null; NPSEUDO];
        only[CERTIFICATE] = pseudonyms[CERTIFICATE];
        assert_eq!(anonymous.pseudonyms(certificate), only);
        assert_eq!(
            links(&anonymous.pseudonyms(certificate)),
            [NO_LINK; NLINKS],
            "anonymous mode links nothing"
        );
        let mut cut = &buf[..one - 1];
        assert!(SpillEntry::read(&mut cut).is_none());
        let mut longest = Vec::new();
        let record = Record {
            pseudonyms: [Pseudo::Value([7; 16]); NPSEUDO],
            ..record
        };
        SpillEntry::write(&record, ReleaseMode::Pseudonymous, &mut longest);
        assert_eq!(longest.len(), SpillEntry::MAX_LEN);
    }

    proptest! {
        #[test]
        fn bucket_order_is_pseudonym_order(a: [u8; 16], b: [u8; 16]) {
            let (mut sa, mut sb) = (Vec::new(), Vec::new());
            write_raw("k", &a, &mut sa);
            write_raw("k", &b, &mut sb);
            let (ba, bb) = (bucket(&Pseudo::Value(a)), bucket(&Pseudo::Value(b)));
            prop_assert!(ba < BUCKETS);
            if ba < bb {
                prop_assert!(sa < sb);
            }
        }
    }
}
