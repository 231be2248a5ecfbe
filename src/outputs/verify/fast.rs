//! The scan of an extract as certanon writes it, on every core: no quote anywhere, every line
//! ended by CRLF, valid UTF-8. Such a file is CSV in its simplest form, where every line end
//! ends a record, so it is read in blocks that end at a line, each block parsed on rayon's
//! threads, and the blocks merged in file order. Linking pseudonyms are compared as the numbers
//! their base32 digits spell, which is exact.
//!
//! Anything else (a quote, a stray CR or LF, an empty line, a field count other than the
//! header's, two key ids, a linking value that is not a pseudonym) makes it give up, and the
//! general scan reads the file instead, with its exact failure lines: the two agree on every
//! file this one accepts.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use super::scan::{RowIssues, issue};
use crate::privacy::Profiles;
use crate::transform::pseudonymize::PSEUDONYM_B32_LEN;

/// What the scan found in the rows after the header.
pub(super) struct Found {
    pub(super) rows: u64,
    pub(super) issues: RowIssues,
    /// Rows of each quasi-identifier combination.
    pub(super) class_rows: Vec<u64>,
    pub(super) profiles: Profiles<Link>,
    /// The SHA-256 of the whole file, hashed as the scan read it; `None` when the file went on
    /// past the end the scan was given.
    pub(super) sha256: Option<String>,
}

/// A pseudonym's base32 text as numbers: its first 12 digits, its next 12 and the rest, in
/// integers that hash and compare without a call, and small enough that a table of a million
/// stays cheap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Link {
    high: u64,
    low: u64,
    last: u64,
}

/// Bytes read at a time; a block ends at its last line end and the rest starts the next one,
/// so a line longer than a block makes the scan give up.
pub(super) const BLOCK: usize = 4 << 20;

/// The columns of an extract, by what the scan does with them.
pub(super) struct Layout<'a> {
    pub(super) header: &'a [String],
    /// Per column: holds pseudonyms.
    pub(super) pseudonym: &'a [bool],
    pub(super) quasi: &'a [usize],
    /// The pseudonym columns that link rows.
    pub(super) links: &'a [usize],
}

/// Scans the rows of the file from byte `start` (just after the header) up to byte `end`,
/// `block` bytes at a time, and hashes the file in the same pass; `None` when the file is not
/// one this scan takes.
pub(super) fn scan(
    path: &Path,
    start: u64,
    end: u64,
    layout: &Layout,
    block: usize,
) -> Option<Found> {
    let mut file = File::open(path).ok()?;
    // The CSV reader ends a record at the CR of a CRLF, which the next record then skips.
    let mut around = [0; 2];
    file.seek(SeekFrom::Start(start.saturating_sub(1))).ok()?;
    let crlf = start > 0 && file.read_exact(&mut around).is_ok() && around == *b"\r\n";
    let rows_from = start + u64::from(crlf);
    // The file is hashed whole and in order, the header the CSV reader took first.
    let mut head = vec![0; usize::try_from(rows_from).ok()?];
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_exact(&mut head).ok()?;
    let mut file = file.take(end.saturating_sub(rows_from));
    let window = 2 * rayon::current_num_threads();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Block>>(window);
        let merger = scope.spawn(move || {
            let mut merged = Merged::default();
            for block in rx {
                merged.add(block?)?;
            }
            Some(merged.found())
        });
        // On a thread of its own, so that hashing runs beside the parse of the next blocks.
        let (to_hash, texts_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(window);
        let hasher = scope.spawn(move || {
            let mut sha = Sha256::new();
            sha.update(&head);
            for text in texts_rx {
                sha.update(&text);
            }
            sha
        });
        let mut carry = Vec::new();
        let mut done = false;
        while !done {
            let mut texts = Vec::with_capacity(window);
            while texts.len() < window && !done {
                let (text, rest, end) = next_block(&mut file, std::mem::take(&mut carry), block)?;
                carry = rest;
                done = end;
                texts.push(text);
            }
            let blocks: Vec<Option<Block>> =
                texts.par_iter().map(|t| Block::parse(t, layout)).collect();
            for block in blocks {
                if tx.send(block).is_err() {
                    return None;
                }
            }
            for text in texts {
                if to_hash.send(text).is_err() {
                    return None;
                }
            }
        }
        drop((tx, to_hash));
        let whole = matches!(file.into_inner().read(&mut [0]), Ok(0));
        let sha256 = hasher.join().ok().filter(|_| whole);
        let mut found = merger.join().ok().flatten()?;
        found.sha256 = sha256.map(|sha| hex::encode(sha.finalize()));
        Some(found)
    })
}

/// The next block: `text` (what the last one left) and what follows, up to `size` bytes and
/// cut after its last line end; the bytes after the cut; whether the file ended. `None` when a
/// full block holds no line end, or the file ends without one.
fn next_block(
    file: &mut impl Read,
    mut text: Vec<u8>,
    size: usize,
) -> Option<(Vec<u8>, Vec<u8>, bool)> {
    let want = size.saturating_sub(text.len()).max(1);
    text.reserve(want);
    // Read into the spare capacity, which is not zeroed first as a resized buffer would be.
    let got = file.take(want as u64).read_to_end(&mut text).ok()?;
    let ended = got < want;
    let cut = match text.iter().rposition(|&b| b == b'\n') {
        Some(at) => at + 1,
        None if text.is_empty() => 0,
        None => return None,
    };
    let rest = text.split_off(cut);
    if ended && !rest.is_empty() {
        return None;
    }
    Some((text, rest, ended))
}

/// One block's rows, numbered from 1 within it.
struct Block {
    rows: u64,
    issues: RowIssues,
    /// The block's classes, in the order first seen, with their rows.
    classes: Vec<(Vec<u8>, u64)>,
    /// Per row: its class, an index into `classes` (into the merged classes once merged), and
    /// where its links end in `links`.
    rows_at: Vec<(u32, u32)>,
    links: Vec<Link>,
    key_id: Option<String>,
}

impl Block {
    fn parse(text: &[u8], layout: &Layout) -> Option<Block> {
        if text.contains(&b'"') {
            return None;
        }
        let text = simdutf8::basic::from_utf8(text).ok()?;
        // Sized for the whole block up front: grown row by row, they were copied over and over.
        let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
        let mut block = Block {
            rows: 0,
            issues: RowIssues::default(),
            classes: Vec::new(),
            rows_at: Vec::with_capacity(lines),
            links: Vec::with_capacity(lines * layout.links.len()),
            key_id: None,
        };
        // Each class's key, kept only here until the block's classes are listed at its end.
        let mut ids: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
        let mut class_rows: Vec<u64> = Vec::new();
        // Per class, what its quasi-identifier fields look like: the same in each of its rows.
        let mut class_issues: Vec<Vec<String>> = Vec::new();
        let mut key = Vec::new();
        let mut fields = Vec::with_capacity(layout.header.len());
        for line in text.split_terminator('\n') {
            let line = line.strip_suffix('\r')?;
            if line.is_empty() {
                return None;
            }
            // One pass over the line's bytes, which are most of the file.
            fields.clear();
            let mut from = 0;
            for (at, b) in line.bytes().enumerate() {
                match b {
                    b',' => {
                        fields.push(&line[from..at]);
                        from = at + 1;
                    }
                    b'\r' => return None,
                    _ => {}
                }
            }
            fields.push(&line[from..]);
            if fields.len() != layout.header.len() {
                return None;
            }
            block.rows += 1;
            let row_links = block.links.len();
            for (i, value) in fields.iter().enumerate() {
                if !layout.pseudonym[i] {
                    continue;
                }
                match block.pseudonym(value) {
                    Some(link) if layout.links.contains(&i) => {
                        // A value the row already holds links it to nothing more, and each
                        // link left out is a lookup less in the merge's large table.
                        if let Some(link) = link.filter(|l| !block.links[row_links..].contains(l)) {
                            block.links.push(link);
                        }
                    }
                    Some(_) => {}
                    None if layout.links.contains(&i) => return None,
                    None => block.suspect(layout, i, value),
                }
            }
            // Fields hold no comma, so joined with commas they key their class.
            key.clear();
            for &i in layout.quasi {
                key.extend_from_slice(fields[i].as_bytes());
                key.push(b',');
            }
            let class = match ids.get(key.as_slice()) {
                Some(&id) => id,
                None => {
                    let id = class_rows.len() as u32;
                    ids.insert(key.clone(), id);
                    class_rows.push(0);
                    class_issues.push(
                        layout
                            .quasi
                            .iter()
                            .filter_map(|&i| {
                                issue(&layout.header[i], fields[i], layout.pseudonym[i])
                            })
                            .collect(),
                    );
                    id
                }
            };
            for what in &class_issues[class as usize] {
                block.issues.add(what.clone(), block.rows);
            }
            class_rows[class as usize] += 1;
            block.rows_at.push((class, block.links.len() as u32));
        }
        block.classes = vec![(Vec::new(), 0); class_rows.len()];
        for (key, id) in ids {
            block.classes[id as usize] = (key, class_rows[id as usize]);
        }
        Some(block)
    }

    /// A pseudonym field: `Some(None)` when it holds no value (empty or erased), `None` when it
    /// is not a pseudonym under the block's key id, which the first one sets. A field this
    /// accepts is one `suspect` finds nothing in.
    fn pseudonym(&mut self, value: &str) -> Option<Option<Link>> {
        if value.is_empty() || value == "erased" {
            return Some(None);
        }
        let b32 = match &self.key_id {
            Some(key_id) => value.strip_prefix(key_id.as_str())?.strip_prefix('_')?,
            None => {
                let (key_id, b32) = value.rsplit_once('_')?;
                let plain = !key_id.is_empty()
                    && key_id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                let link = decode(b32).filter(|_| plain)?;
                self.key_id = Some(key_id.to_owned());
                return Some(Some(link));
            }
        };
        decode(b32).map(Some)
    }

    fn suspect(&mut self, layout: &Layout, column: usize, value: &str) {
        if let Some(what) = issue(&layout.header[column], value, layout.pseudonym[column]) {
            self.issues.add(what, self.rows);
        }
    }
}

/// The base32 text of a pseudonym as numbers; `None` for any other text.
fn decode(b32: &str) -> Option<Link> {
    let b32: &[u8; PSEUDONYM_B32_LEN] = b32.as_bytes().try_into().ok()?;
    let mut seen = 0;
    // Three independent sums rather than one long shift chain, and a table rather than a
    // branch per character: this runs for every pseudonym of the file.
    let mut number = |digits: &[u8]| {
        digits.iter().fold(0u64, |n, &b| {
            let digit = DIGITS[usize::from(b)];
            seen |= digit;
            n << 5 | u64::from(digit)
        })
    };
    let link = Link {
        high: number(&b32[..12]),
        low: number(&b32[12..24]),
        last: number(&b32[24..]),
    };
    (seen & NOT_BASE32 == 0).then_some(link)
}

// The rest after the first 24 digits fits in a u64 too.
const _: () = assert!(PSEUDONYM_B32_LEN - 24 <= 12);

const NOT_BASE32: u8 = 0x80;

/// Each byte's value as a lower-case base32 digit, or `NOT_BASE32`.
const DIGITS: [u8; 256] = {
    let mut digits = [NOT_BASE32; 256];
    let mut i = 0;
    while i < 32 {
        let b = if i < 26 { b'a' + i } else { b'2' + i - 26 };
        digits[b as usize] = i;
        i += 1;
    }
    digits
};

/// The blocks merged in file order.
#[derive(Default)]
struct Merged {
    rows: u64,
    issues: RowIssues,
    ids: FxHashMap<Vec<u8>, u32>,
    class_rows: Vec<u64>,
    profiles: Profiles<Link>,
    key_id: Option<String>,
}

impl Merged {
    fn add(&mut self, mut block: Block) -> Option<()> {
        match (&self.key_id, block.key_id) {
            (Some(seen), Some(other)) if *seen != other => return None,
            (None, other) => self.key_id = other,
            _ => {}
        }
        let ids: Vec<u32> = block
            .classes
            .into_iter()
            .map(|(key, rows)| {
                let next = self.ids.len() as u32;
                let id = *self.ids.entry(key).or_insert(next);
                if id == next {
                    self.class_rows.push(0);
                }
                self.class_rows[id as usize] += rows;
                id
            })
            .collect();
        for (class, _) in &mut block.rows_at {
            *class = ids[*class as usize];
        }
        self.profiles.add_rows(&block.rows_at, &block.links);
        self.issues.merge(block.issues, self.rows);
        self.rows += block.rows;
        Some(())
    }

    fn found(self) -> Found {
        Found {
            rows: self.rows,
            issues: self.issues,
            class_rows: self.class_rows,
            profiles: self.profiles,
            sha256: None,
        }
    }
}
