//! Export sink: a hidden temporary directory, CSV files and the Parquet files beside them,
//! data dictionary, data package, manifest and SHA256SUMS, fsync and rename. A reader never
//! sees a half-written export: everything is
//! written under `<root>/<task>/.tmp-<run id>`, fsynced, and renamed to `<root>/<task>/<run id>`
//! in one step. A crash leaves only the hidden directory, which the next run of the task
//! removes (runs never overlap: they hold the advisory lock).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::outputs::columnar::{self, Column, ParquetFile};
use crate::outputs::manifest::{FileEntry, Manifest};
use crate::outputs::schema::{self, DATA_PACKAGE, Resource};

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const SUMS: &str = "SHA256SUMS";
pub(crate) const DICTIONARY: &str = "DATA_DICTIONARY.md";
const TMP_PREFIX: &str = ".tmp-";
/// Exports hold pseudonymous data meant for the job's own user only, whatever the umask.
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// An export being written.
pub(crate) struct Export {
    tmp: PathBuf,
    target: PathBuf,
    files: Vec<FileEntry>,
    /// The CSV files' schemas, for `datapackage.json`.
    resources: Vec<Resource>,
    committed: bool,
}

impl Export {
    /// Starts `<root>/<task>/<run_id>`, removing leftovers of crashed runs of this task first.
    pub(crate) fn begin(root: &Path, task: &str, run_id: &str) -> Result<Export> {
        let task_dir = root.join(task);
        secure_dir(root)?;
        secure_dir(&task_dir)?;
        remove_leftovers(&task_dir)?;
        let tmp = task_dir.join(format!("{TMP_PREFIX}{run_id}"));
        let target = task_dir.join(run_id);
        if target.exists() {
            return Err(Error::Other(format!(
                "export {} already exists",
                target.display()
            )));
        }
        create_private_dir(&tmp, false)?;
        Ok(Export {
            tmp,
            target,
            files: Vec::new(),
            resources: Vec::new(),
            committed: false,
        })
    }

    /// A CSV file described by `resource`, its header row written; its rows, bytes and
    /// checksum are counted as it is written. The resource goes into `datapackage.json`.
    pub(crate) fn csv(&mut self, resource: Resource) -> Result<CsvFile> {
        let path = self.tmp.join(&resource.file);
        let file = create_private_file(&path)?;
        let mut csv = CsvFile {
            name: resource.file.clone(),
            out: Hashing::new(BufWriter::with_capacity(1 << 20, file)),
            line: Vec::new(),
            rows: 0,
            unsynced: 0,
            flushing: None,
            hashing: None,
            path,
        };
        csv.write(resource.header())?;
        csv.rows = 0;
        self.resources.push(resource);
        Ok(csv)
    }

    /// A Parquet file with these columns (see [`columnar`]).
    pub(crate) fn parquet(&self, name: &str, columns: &[Column]) -> Result<ParquetFile> {
        let path = self.tmp.join(name);
        let file = create_private_file(&path)?;
        ParquetFile::start(name, path, file, columns)
    }

    /// A table written twice, as the CSV file `resource` describes and the Parquet file
    /// beside it, typed by the same description.
    pub(crate) fn table(&mut self, resource: Resource) -> Result<TableFiles> {
        let columns = columnar::columns(&resource);
        let parquet = self.parquet(&columnar::file_name(&resource.file), &columns)?;
        Ok(TableFiles {
            csv: self.csv(resource)?,
            parquet,
        })
    }

    /// Adds a finished file to the manifest.
    pub(crate) fn add(&mut self, entry: FileEntry) {
        self.files.push(entry);
    }

    /// Writes a whole small file (dictionary, notice).
    pub(crate) fn write(&mut self, name: &str, contents: &[u8]) -> Result<()> {
        let entry = write_synced(&self.tmp.join(name), contents)?;
        self.files.push(FileEntry {
            name: name.to_string(),
            rows: None,
            ..entry
        });
        Ok(())
    }

    /// Writes manifest and SHA256SUMS, fsyncs the directory and, once it passes every check
    /// `certanon verify` makes, renames it into place: the job never publishes an export a
    /// recipient's `verify` would reject.
    pub(crate) fn commit(self, manifest: Manifest) -> Result<PathBuf> {
        self.publish(manifest, true)
    }

    /// `commit` without the verification, for tests of what the sink writes.
    #[cfg(test)]
    pub(crate) fn commit_unverified(self, manifest: Manifest) -> Result<PathBuf> {
        self.publish(manifest, false)
    }

    fn publish(mut self, mut manifest: Manifest, verify: bool) -> Result<PathBuf> {
        let package = schema::data_package(&manifest, &self.resources, &self.files)?;
        self.write(DATA_PACKAGE, &package)?;
        self.files.sort_by(|a, b| a.name.cmp(&b.name));
        manifest.files = self.files.clone();
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::Other(format!("manifest: {e}")))?;
        let manifest_entry = write_synced(&self.tmp.join(MANIFEST), &json)?;
        let mut sums = String::new();
        let mut all: Vec<(&str, &str)> = self
            .files
            .iter()
            .map(|f| (f.name.as_str(), f.sha256.as_str()))
            .collect();
        all.push((MANIFEST, &manifest_entry.sha256));
        all.sort();
        for (name, sha) in all {
            sums.push_str(&format!("{sha}  {name}\n"));
        }
        write_synced(&self.tmp.join(SUMS), sums.as_bytes())?;
        fsync_dir(&self.tmp)?;
        if verify {
            check_before_publishing(&self.tmp, &manifest.task)?;
        }
        fs::rename(&self.tmp, &self.target).at(&self.target)?;
        if let Some(parent) = self.target.parent() {
            fsync_dir(parent)?;
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

/// Runs `verify` on the sealed, still hidden directory; its failure lines become one error.
fn check_before_publishing(dir: &Path, task: &str) -> Result<()> {
    match crate::outputs::verify::verify(dir) {
        Ok(_) => Ok(()),
        Err(Error::Verify(lines)) => Err(Error::Other(format!(
            "task {task}: the export fails the checks `certanon verify` makes, so it is not \
             published: {}",
            lines.join("; ")
        ))),
        Err(e) => Err(e),
    }
}

impl Drop for Export {
    /// An export that was not committed (an error, a SIGTERM) disappears.
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Refuses an export root or task directory that someone other than the job could redirect
/// or fill: a symbolic link, not a directory, another user's, or writable by group or others.
/// A missing one is fine (`secure_dir` creates it).
pub(crate) fn check_dir(dir: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let refuse = |why: String| Err(Error::config(dir.display().to_string(), why));
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.file_type().is_symlink() {
        refuse("is a symbolic link; exports go only into a real directory".into())
    } else if !meta.is_dir() {
        refuse("is not a directory".into())
    } else if meta.uid() != euid {
        refuse(format!(
            "belongs to uid {}, not to the user certanon runs as (uid {euid})",
            meta.uid()
        ))
    } else if meta.mode() & 0o022 != 0 {
        refuse(format!(
            "is writable by other users (mode {:o}); make it 0700",
            meta.mode() & 0o7777
        ))
    } else {
        Ok(())
    }
}

/// Checks `dir` and creates it, mode 0700, when missing.
pub(crate) fn secure_dir(dir: &Path) -> Result<()> {
    check_dir(dir)?;
    if !dir.exists() {
        create_private_dir(dir, true)?;
    }
    Ok(())
}

/// Creates a directory (with its missing parents when `parents`) mode 0700; the mode is set
/// again after creation, so a umask that removes the owner's bits changes nothing either.
fn create_private_dir(dir: &Path, parents: bool) -> Result<()> {
    DirBuilder::new()
        .recursive(parents)
        .mode(DIR_MODE)
        .create(dir)
        .at(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).at(dir)
}

/// Creates (or truncates) a file mode 0600, whatever the umask.
fn create_private_file(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .at(path)?;
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
        .at(path)?;
    Ok(file)
}

/// Removes hidden `.tmp-*` directories left by crashed runs of a task.
pub(crate) fn remove_leftovers(task_dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(task_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(task_dir, e)),
    };
    for entry in entries {
        let entry = entry.at(task_dir)?;
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            fs::remove_dir_all(entry.path()).at(entry.path())?;
            tracing::info!(path = %entry.path().display(), "removed the leftovers of an interrupted run");
            removed += 1;
        }
    }
    Ok(removed)
}

/// A table's CSV and Parquet files, written row for row together.
pub(crate) struct TableFiles {
    csv: CsvFile,
    parquet: ParquetFile,
}

impl TableFiles {
    pub(crate) fn write<T: AsRef<[u8]>>(&mut self, record: &[T]) -> Result<()> {
        self.csv.write(record)?;
        self.parquet.write(record)
    }

    /// Finishes both files and adds them to the export.
    pub(crate) fn finish(self, export: &mut Export) -> Result<()> {
        export.add(self.csv.finish()?);
        export.add(self.parquet.finish()?);
        Ok(())
    }
}

/// A CSV file being written.
pub(crate) struct CsvFile {
    name: String,
    path: PathBuf,
    out: Hashing<BufWriter<File>>,
    /// The record being rendered, kept to reuse its allocation.
    line: Vec<u8>,
    rows: u64,
    /// Bytes written since writeback was last started.
    unsynced: u64,
    /// A background fdatasync started while rows are still being written, so the device (and
    /// a virtual machine's host) drains the file during the work, not in the final fsync.
    flushing: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    /// The checksum, while `write_chunk` has it computed on a helper thread.
    hashing: Option<HashThread>,
}

/// Shared, not copied, with the helper thread and with whatever else reads the same lines.
type Chunk = bytes::Bytes;

struct HashThread {
    chunks: std::sync::mpsc::SyncSender<Chunk>,
    done: std::thread::JoinHandle<Sha256>,
}

impl HashThread {
    /// Continues `hasher` with every chunk sent, until the sender is dropped.
    fn start(mut hasher: Sha256) -> HashThread {
        let (chunks, received) = std::sync::mpsc::sync_channel::<Chunk>(4);
        let done = std::thread::spawn(move || {
            for chunk in received {
                hasher.update(&chunk);
            }
            hasher
        });
        HashThread { chunks, done }
    }
}

/// How many written bytes start the kernel's writeback and, unless one still runs, a
/// background flush, so the final fsync of a large file does not wait for all of it.
const WRITEBACK_BYTES: u64 = 32 << 20;

impl CsvFile {
    pub(crate) fn write<I, T>(&mut self, record: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let mut fields = 0;
        for field in record {
            if fields > 0 {
                line.push(b',');
            }
            push_csv_field(field.as_ref(), &mut line);
            fields += 1;
        }
        // A lone empty field is quoted, as the csv crate does, so the line is not an empty
        // record to a reader.
        if fields == 1 && line.is_empty() {
            line.extend_from_slice(b"\"\"");
        }
        line.extend_from_slice(b"\r\n");
        let written = self.write_line(&line);
        self.line = line;
        written
    }

    /// Appends one record rendered by `write`.
    fn write_line(&mut self, line: &[u8]) -> Result<()> {
        self.settle_hash()?;
        self.out.write_all(line).at(&self.path)?;
        self.wrote(line.len(), 1)
    }

    /// Appends `rows` records already rendered as CSV lines (CRLF-terminated, fields quoted
    /// by `push_csv_field`), a large chunk at a time: their checksum is computed on a helper
    /// thread while this one writes them.
    pub(crate) fn write_chunk(&mut self, lines: bytes::Bytes, rows: u64) -> Result<()> {
        let hashing = self
            .hashing
            .get_or_insert_with(|| HashThread::start(std::mem::take(&mut self.out.hasher)));
        if hashing.chunks.send(lines.clone()).is_err() {
            // The thread only stops early by panicking, which settling reports.
            self.settle_hash()?;
            return Err(Error::Other(format!(
                "{}: the checksum thread stopped",
                self.path.display()
            )));
        }
        self.out.inner.write_all(&lines).at(&self.path)?;
        self.out.bytes += lines.len() as u64;
        self.wrote(lines.len(), rows)
    }

    /// Takes the checksum back from the helper thread, if one has it.
    fn settle_hash(&mut self) -> Result<()> {
        if let Some(HashThread { chunks, done }) = self.hashing.take() {
            drop(chunks);
            self.out.hasher = done.join().map_err(|_| {
                Error::Other(format!(
                    "{}: the checksum thread panicked",
                    self.path.display()
                ))
            })?;
        }
        Ok(())
    }

    /// Counts what was written and, every `WRITEBACK_BYTES`, starts writeback.
    fn wrote(&mut self, bytes: usize, rows: u64) -> Result<()> {
        self.rows += rows;
        self.unsynced += bytes as u64;
        if self.unsynced >= WRITEBACK_BYTES {
            self.unsynced = 0;
            self.out.inner.flush().at(&self.path)?;
            start_writeback(self.out.inner.get_ref());
            if self.flushing.as_ref().is_none_or(|f| f.is_finished()) {
                self.join_flush()?;
                let file = self.out.inner.get_ref().try_clone().at(&self.path)?;
                self.flushing = Some(std::thread::spawn(move || file.sync_data()));
            }
        }
        Ok(())
    }

    /// Waits for the background flush, if one runs. Its error is this file's: the
    /// descriptors share one open file, so the final fsync may not see it again.
    fn join_flush(&mut self) -> Result<()> {
        match self.flushing.take().map(|f| f.join()) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(Error::io(&self.path, e)),
            Some(Err(_)) => Err(Error::Other(format!(
                "{}: the flushing thread panicked",
                self.path.display()
            ))),
        }
    }

    /// Flushes and fsyncs the file.
    pub(crate) fn finish(mut self) -> Result<FileEntry> {
        self.settle_hash()?;
        self.join_flush()?;
        let Hashing {
            inner,
            hasher,
            bytes,
        } = self.out;
        let inner = inner
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        let out = Hashing {
            inner,
            hasher,
            bytes,
        };
        out.seal(&self.path, self.name, self.rows)
    }
}

/// Asks the kernel to start writing the file's dirty pages now; the fsync at the end still
/// decides durability, this only spreads the work. Failure only loses the head start.
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; offset 0 and length 0 mean the whole file.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Appends one CSV field as the csv crate writes it by default (which `verify` reads with):
/// quoted only when it holds a comma, quote, CR or LF, quotes doubled.
pub(crate) fn push_csv_field(value: &[u8], out: &mut Vec<u8>) {
    if !value
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &b in value {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub(crate) fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub(crate) fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl Hashing<File> {
    /// Fsyncs the file written through it and describes it for the manifest.
    pub(crate) fn seal(self, path: &Path, name: String, rows: u64) -> Result<FileEntry> {
        let (file, sha256, bytes) = self.finish();
        file.sync_all().at(path)?;
        Ok(FileEntry {
            name,
            rows: Some(rows),
            bytes,
            sha256,
        })
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn write_synced(path: &Path, contents: &[u8]) -> Result<FileEntry> {
    let mut file = create_private_file(path)?;
    file.write_all(contents).at(path)?;
    file.sync_all().at(path)?;
    Ok(FileEntry {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        rows: None,
        bytes: contents.len() as u64,
        sha256: hex::encode(Sha256::digest(contents)),
    })
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// SHA-256 of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut file = File::open(path).at(path)?;
    let mut hashing = Hashing::new(std::io::sink());
    std::io::copy(&mut file, &mut hashing).at(path)?;
    let (_, sha, bytes) = hashing.finish();
    Ok((sha, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_publishes_checksummed_files_atomically() {
        let root = tempfile::tempdir().unwrap();
        let mut export = Export::begin(root.path(), "t", "r1").unwrap();
        let mut csv = export.csv(Resource::text("a.csv", &["x", "y"])).unwrap();
        csv.write(["1", "with,comma"]).unwrap();
        csv.write(["2", "quote\"d"]).unwrap();
        let entry = csv.finish().unwrap();
        assert_eq!(entry.rows, Some(2));
        export.add(entry.clone());
        export.write(DICTIONARY, b"# dictionary\n").unwrap();
        assert!(
            !root.path().join("t/r1").exists(),
            "nothing visible before commit"
        );
        let dir = export.commit_unverified(Manifest::example()).unwrap();

        let body = fs::read_to_string(dir.join("a.csv")).unwrap();
        assert_eq!(body, "x,y\r\n1,\"with,comma\"\r\n2,\"quote\"\"d\"\r\n");
        let (sha, bytes) = sha256_file(&dir.join("a.csv")).unwrap();
        assert_eq!((sha.clone(), bytes), (entry.sha256, body.len() as u64));
        let sums = fs::read_to_string(dir.join(SUMS)).unwrap();
        assert!(sums.contains(&format!("{sha}  a.csv\n")));
        assert!(sums.contains("  manifest.json\n") && sums.contains("  DATA_DICTIONARY.md\n"));
        assert!(sums.contains("  datapackage.json\n"));
        let m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(
            m.files.len(),
            3,
            "a.csv, the dictionary and the data package"
        );
        let package: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join(DATA_PACKAGE)).unwrap()).unwrap();
        let resource = &package["resources"][0];
        assert_eq!(resource["path"], "a.csv");
        assert_eq!(resource["bytes"], body.len());
        assert_eq!(resource["hash"], format!("sha256:{sha}"));
        assert_eq!(resource["schema"]["fields"][1]["name"], "y");
        assert_eq!(resource["schema"]["missingValues"], serde_json::json!([""]));
        assert_eq!(
            fs::read_dir(root.path().join("t")).unwrap().count(),
            1,
            "no temp dir left"
        );
    }

    #[test]
    fn chunks_hashed_on_a_helper_thread_give_the_file_checksum() {
        let root = tempfile::tempdir().unwrap();
        let mut export = Export::begin(root.path(), "t", "r1").unwrap();
        let mut csv = export.csv(Resource::text("a.csv", &["x"])).unwrap();
        // Over WRITEBACK_BYTES, so writeback and a background flush start on the way.
        let chunk = b"abcdefgh\r\n".repeat(1 << 20);
        for _ in 0..4 {
            csv.write_chunk(chunk.clone().into(), 1 << 20).unwrap();
        }
        csv.write(["after"]).unwrap();
        csv.write_chunk(b"last\r\n".to_vec().into(), 1).unwrap();
        let path = csv.path.clone();
        let entry = csv.finish().unwrap();
        assert_eq!(entry.rows, Some((4 << 20) + 2));
        assert_eq!(
            sha256_file(&path).unwrap(),
            (entry.sha256, 3 + 4 * chunk.len() as u64 + 7 + 6)
        );
    }

    proptest::proptest! {
        /// What `CsvFile` writes is what the csv crate (and so `verify`) reads back.
        #[test]
        fn csv_rows_read_back_field_for_field(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-z,\"\r\n 東]{0,6}", 1..4),
                1..8,
            ),
        ) {
            let root = tempfile::tempdir().unwrap();
            let mut export = Export::begin(root.path(), "t", "r1").unwrap();
            let mut csv = export.csv(Resource::text("a.csv", &["x"])).unwrap();
            for row in &rows {
                csv.write(row).unwrap();
            }
            let path = csv.path.clone();
            export.add(csv.finish().unwrap());
            let read: Vec<Vec<String>> = csv::ReaderBuilder::new()
                .flexible(true)
                .from_path(&path)
                .unwrap()
                .records()
                .map(|r| r.unwrap().iter().map(str::to_owned).collect())
                .collect();
            proptest::prop_assert_eq!(read, rows);
        }
    }

    #[test]
    fn an_export_that_verify_would_reject_is_not_published() {
        let root = tempfile::tempdir().unwrap();
        let mut export = Export::begin(root.path(), "t", "r1").unwrap();
        // A CSV file the manifest has no privacy facts for: `verify` cannot check it.
        let mut csv = export.csv(Resource::text("a.csv", &["x"])).unwrap();
        csv.write(["1"]).unwrap();
        export.add(csv.finish().unwrap());
        let e = export.commit(Manifest::example()).unwrap_err();
        assert!(e.to_string().contains("a.csv"), "{e}");
        assert!(e.to_string().contains("not published"), "{e}");
        assert_eq!(fs::read_dir(root.path().join("t")).unwrap().count(), 0);
    }

    #[test]
    fn exports_are_private_whatever_the_umask() {
        // SAFETY: umask only swaps the process's mask; the old one is put back below.
        let old = unsafe { libc::umask(0o022) };
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join("exports");
        let mut export = Export::begin(&base, "t", "r1").unwrap();
        let csv = export.csv(Resource::text("a.csv", &["x"])).unwrap();
        export.add(csv.finish().unwrap());
        export.write(DICTIONARY, b"# d\n").unwrap();
        let dir = export.commit_unverified(Manifest::example()).unwrap();
        unsafe { libc::umask(old) };
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        for d in [base.clone(), base.join("t"), dir.clone()] {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
        }
        for f in fs::read_dir(&dir).unwrap() {
            assert_eq!(mode(&f.unwrap().path()), 0o600);
        }
    }

    #[test]
    fn a_symlinked_or_shared_export_directory_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = Export::begin(&link, "t", "r1").err().unwrap();
        assert_eq!(e.exit_code(), crate::error::exit::CONFIG);
        assert!(e.to_string().contains(&link.display().to_string()), "{e}");
        assert!(e.to_string().contains("symbolic link"), "{e}");

        fs::create_dir(real.join("t")).unwrap();
        fs::set_permissions(real.join("t"), fs::Permissions::from_mode(0o777)).unwrap();
        let e = Export::begin(&real, "t", "r1").err().unwrap();
        assert_eq!(e.exit_code(), crate::error::exit::CONFIG);
        assert!(e.to_string().contains("writable by other users"), "{e}");
        assert!(!real.join("t/.tmp-r1").exists());
    }

    #[test]
    fn dropped_export_leaves_nothing_and_leftovers_are_cleaned() {
        let root = tempfile::tempdir().unwrap();
        {
            let mut export = Export::begin(root.path(), "t", "r1").unwrap();
            let mut csv = export.csv(Resource::text("a.csv", &["x"])).unwrap();
            csv.write(["1"]).unwrap();
        }
        assert_eq!(fs::read_dir(root.path().join("t")).unwrap().count(), 0);
        // A crashed run (no Drop) leaves its hidden dir; the next run removes it.
        fs::create_dir_all(root.path().join("t/.tmp-crashed/sub")).unwrap();
        let export = Export::begin(root.path(), "t", "r2").unwrap();
        assert!(!root.path().join("t/.tmp-crashed").exists());
        drop(export);
    }
}
