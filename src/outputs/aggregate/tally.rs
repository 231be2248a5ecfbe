//! The bucket pass behind every table: each certificate was spilled as one fixed-size [`Entry`]
//! to the bucket its subscriber pseudonym chooses, so a bucket holds all of its subscribers'
//! certificates. Within a bucket, each subscriber's exact share of every cell (margins
//! included) is worked out, and each cell keeps its count, its number of distinct subscribers
//! and the largest single share. Memory is one bucket plus the per-cell state.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::bounded::{self, Bound, Counts};
use super::{Dim, NDIM, Spec, Unit, year_of};
use crate::error::{Error, IoContext, Result};
use crate::privacy::Contributors;
use crate::transform::period::UNKNOWN_MONTH;

/// Flags of an entry: the subscriber pseudonym is present (certificates without one are
/// counted together as one contributor, and not as a subscriber), and which of its periods
/// are counted.
pub(super) const KNOWN: u16 = 1;
pub(super) const ISSUED: u16 = 2;
pub(super) const REVOKED: u16 = 4;
pub(super) const ACTIVE_AT_END: u16 = 8;
pub(super) const ACTIVE: u16 = 16;

/// One certificate as the tables count it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Entry {
    pub subscriber: [u8; 16],
    /// A keyed hash of the certificate: the order in which a differentially private table
    /// keeps a subscriber's certificates, the same in every run under one key.
    pub rank: u64,
    pub flags: u16,
    /// Issue month (`UNKNOWN_MONTH` when unknown).
    pub issued: u16,
    /// Revocation month (`UNKNOWN_MONTH` when a reason has no time).
    pub revoked: u16,
    /// First and last month at whose end the certificate is active.
    pub at_end: [u16; 2],
    /// First and last month the certificate is active at some point.
    pub active: [u16; 2],
    /// The certificate's code in each dimension, by `Dim as usize`; the time dimensions take
    /// their month from the table's unit instead.
    pub codes: [u16; NDIM],
}

const WORDS: usize = 7 + NDIM;
/// Where the words start: after the pseudonym and the rank.
const HEAD: usize = 16 + 8;
/// Spilled size of an entry: the pseudonym, the rank, then every word, little-endian.
pub(super) const ENTRY: usize = HEAD + 2 * WORDS;

impl Entry {
    fn words(&self) -> [u16; WORDS] {
        let mut w = [0u16; WORDS];
        w[..7].copy_from_slice(&[
            self.flags,
            self.issued,
            self.revoked,
            self.at_end[0],
            self.at_end[1],
            self.active[0],
            self.active[1],
        ]);
        w[7..].copy_from_slice(&self.codes);
        w
    }

    pub fn encode(&self) -> [u8; ENTRY] {
        let mut out = [0u8; ENTRY];
        out[..16].copy_from_slice(&self.subscriber);
        out[16..HEAD].copy_from_slice(&self.rank.to_le_bytes());
        for (i, w) in self.words().iter().enumerate() {
            out[HEAD + 2 * i..HEAD + 2 + 2 * i].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Entry {
        let word = |i: usize| u16::from_le_bytes([bytes[HEAD + 2 * i], bytes[HEAD + 1 + 2 * i]]);
        let mut rank = [0u8; 8];
        rank.copy_from_slice(&bytes[16..HEAD]);
        let mut e = Entry {
            rank: u64::from_le_bytes(rank),
            flags: word(0),
            issued: word(1),
            revoked: word(2),
            at_end: [word(3), word(4)],
            active: [word(5), word(6)],
            ..Entry::default()
        };
        e.subscriber.copy_from_slice(&bytes[..16]);
        for (i, code) in e.codes.iter_mut().enumerate() {
            *code = word(7 + i);
        }
        e
    }

    pub(super) fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// The code in `dim` of a cell dated `month`.
    fn code(&self, dim: Dim, month: u16) -> u16 {
        match dim {
            Dim::Month => month,
            Dim::Year => year_of(month),
            _ => self.codes[dim as usize],
        }
    }

    pub(super) fn key(&self, dims: &[Dim], month: u16) -> u64 {
        let mut codes = [0u32; 3];
        for (slot, &dim) in codes.iter_mut().zip(dims) {
            *slot = u32::from(self.code(dim, month));
        }
        pack(codes)
    }

    /// The months (dating the table's unit) in which this certificate counts in `spec`'s
    /// table, once per unit counted.
    pub(super) fn months(&self, spec: &Spec) -> std::ops::RangeInclusive<u16> {
        let none = std::ops::RangeInclusive::new(1, 0);
        match spec.unit {
            Unit::Issued if self.has(ISSUED) => self.issued..=self.issued,
            Unit::Revocations if self.has(REVOKED) => self.revoked..=self.revoked,
            Unit::ActiveCertificates if self.has(ACTIVE_AT_END) => self.at_end[0]..=self.at_end[1],
            Unit::ActiveSubscribers if self.has(KNOWN) && self.has(ACTIVE) => {
                self.active[0]..=self.active[1]
            }
            Unit::NewSubscribers
                if self.has(KNOWN) && self.has(ISSUED) && self.issued != UNKNOWN_MONTH =>
            {
                self.issued..=self.issued
            }
            _ => none,
        }
    }

    /// The interior cells of `spec` this certificate counts in, once per unit counted.
    fn cells(&self, spec: &Spec, out: &mut Vec<u64>) {
        out.extend(self.months(spec).map(|m| self.key(spec.dims, m)));
    }
}

/// Bits per dimension in a packed cell key.
const FIELD: u32 = 17;
/// The code of a dimension a cell sums over (one past every u16 code).
pub(super) const TOTAL_CODE: u32 = 1 << 16;

/// A cell key of up to three dimensions, the first most significant (so keys sort by month
/// first in every table whose first dimension is the month).
pub(super) fn pack(codes: [u32; 3]) -> u64 {
    codes
        .iter()
        .fold(0u64, |key, &c| key << FIELD | u64::from(c))
}

pub(super) fn unpack(key: u64) -> [u32; 3] {
    let mask = (1u64 << FIELD) - 1;
    [2, 1, 0].map(|at| ((key >> (at * FIELD)) & mask) as u32)
}

/// `key` summed over the dimensions in `mask` (bit d: dimension d).
fn with_totals(key: u64, mask: usize) -> u64 {
    let mut codes = unpack(key);
    for (d, code) in codes.iter_mut().enumerate() {
        if mask >> d & 1 == 1 {
            *code = TOTAL_CODE;
        }
    }
    pack(codes)
}

/// One cell's count and who makes it up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Stat {
    pub count: u64,
    pub who: Contributors,
}

impl Stat {
    fn add(&mut self, share: u64) {
        self.count += share;
        self.who.distinct += 1;
        self.who.largest = self.who.largest.max(share);
    }
}

/// Per table, every non-zero cell by packed key, margins included.
pub(super) type Cells = FxHashMap<u64, Stat>;

pub(super) fn bucket_path(dir: &Path, bucket: usize) -> PathBuf {
    dir.join(format!("bucket-{bucket:02}"))
}

/// Reads the buckets one at a time (removing each) and tallies every table of `specs`, and
/// again under each contribution bound of `bounds`.
pub(super) fn tally(
    dir: &Path,
    buckets: Vec<BufWriter<File>>,
    specs: &[&'static Spec],
    bounds: &[Bound],
) -> Result<(Vec<Cells>, Vec<Vec<Counts>>)> {
    let mut tables: Vec<Cells> = specs.iter().map(|_| Cells::default()).collect();
    let mut bounded: Vec<Vec<Counts>> = bounds
        .iter()
        .map(|_| specs.iter().map(|_| Counts::default()).collect())
        .collect();
    let mut scratch = Scratch::default();
    for (i, bucket) in buckets.into_iter().enumerate() {
        let path = bucket_path(dir, i);
        bucket
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        let bytes = std::fs::read(&path).at(&path)?;
        std::fs::remove_file(&path).at(&path)?;
        let mut entries: Vec<Entry> = bytes.chunks_exact(ENTRY).map(Entry::decode).collect();
        drop(bytes);
        let contributor = |e: &Entry| (e.subscriber, e.has(KNOWN));
        entries.sort_unstable_by_key(contributor);
        for group in entries.chunk_by(|a, b| contributor(a) == contributor(b)) {
            for (spec, cells) in specs.iter().zip(&mut tables) {
                scratch.add_subscriber(spec, group, cells);
            }
            for (bound, counts) in bounds.iter().zip(&mut bounded) {
                for (spec, counts) in specs.iter().zip(counts) {
                    bounded::add_subscriber(spec, bound, group, counts, &mut scratch.keys);
                }
            }
        }
    }
    Ok((tables, bounded))
}

/// Buffers reused from one subscriber to the next.
#[derive(Default)]
struct Scratch {
    keys: Vec<u64>,
    shares: Vec<(u64, u64)>,
}

impl Scratch {
    /// Adds one subscriber's share of every cell of a table.
    fn add_subscriber(&mut self, spec: &Spec, certificates: &[Entry], cells: &mut Cells) {
        self.keys.clear();
        for e in certificates {
            e.cells(spec, &mut self.keys);
        }
        if self.keys.is_empty() {
            return;
        }
        self.keys.sort_unstable();
        self.shares.clear();
        let per_subscriber = spec.unit.counts_subscribers();
        for run in self.keys.chunk_by(|a, b| a == b) {
            let share = if per_subscriber { 1 } else { run.len() as u64 };
            self.shares.push((run[0], share));
        }
        if spec.unit == Unit::NewSubscribers {
            // Counted once, in the month of the first certificate (the smallest key).
            self.shares.truncate(1);
        }
        let interior = self.shares.len();
        for i in 0..interior {
            let (key, share) = self.shares[i];
            cells.entry(key).or_default().add(share);
            for mask in 1..1usize << spec.dims.len() {
                self.shares.push((with_totals(key, mask), share));
            }
        }
        let margins = &mut self.shares[interior..];
        margins.sort_unstable_by_key(|&(key, _)| key);
        for run in margins.chunk_by(|a, b| a.0 == b.0) {
            let share = run.iter().map(|&(_, s)| s).sum();
            cells.entry(run[0].0).or_default().add(share);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_their_bytes() {
        let e = Entry {
            subscriber: std::array::from_fn(|i| i as u8 * 7),
            rank: 0x0102_0304_0506_0708,
            flags: KNOWN | ACTIVE,
            issued: UNKNOWN_MONTH,
            revoked: 301,
            at_end: [2, 65_534],
            active: [1, 9],
            codes: std::array::from_fn(|i| 1000 + i as u16),
        };
        assert_eq!(Entry::decode(&e.encode()), e);
    }

    #[test]
    fn keys_pack_every_code_and_total() {
        for codes in [[0, 0, 0], [65_535, 3, TOTAL_CODE], [TOTAL_CODE; 3]] {
            assert_eq!(unpack(pack(codes)), codes);
        }
        let key = pack([5, 6, 7]);
        assert_eq!(unpack(with_totals(key, 0b101)), [TOTAL_CODE, 6, TOTAL_CODE]);
        assert!(pack([4, 65_535, 65_535]) < pack([5, 0, 0]));
    }
}
