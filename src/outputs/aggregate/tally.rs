//! The bucket pass behind every table: each certificate was spilled as one fixed-size [`Entry`]
//! to the bucket its subscriber pseudonym chooses, so a bucket holds all of its subscribers'
//! certificates. Within a bucket, a subscriber's certificates are added one after another,
//! so each cell (margins included) only follows the share of the subscriber being added to
//! keep its count, its number of distinct subscribers and the largest single share exact.
//! Every table's cells lie in one array over the product of its dimensions' code axes, found
//! by arithmetic rather than hashing. Memory is one bucket plus the cells.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

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
        if dim.is_time() {
            Entry::date(dim, month)
        } else {
            self.codes[dim as usize]
        }
    }

    /// The code of `month` on the time axis `dim`.
    fn date(dim: Dim, month: u16) -> u16 {
        if dim == Dim::Year {
            year_of(month)
        } else {
            month
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

/// One cell's count and who makes it up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Stat {
    pub count: u64,
    pub who: Contributors,
}

/// Per table, every non-zero cell by packed key, margins included.
pub(super) type Cells = Vec<(u64, Stat)>;

pub(super) fn bucket_path(dir: &Path, bucket: usize) -> PathBuf {
    dir.join(format!("bucket-{bucket:02}"))
}

/// Reads the buckets one at a time (removing each) and tallies every table of `specs`, and
/// again under each contribution bound of `bounds`. No entry holds a month after
/// `last_month`.
pub(super) fn tally(
    dir: &Path,
    buckets: Vec<BufWriter<File>>,
    specs: &[&'static Spec],
    last_month: u16,
    bounds: &[Bound],
) -> Result<(Vec<Cells>, Vec<Vec<Counts>>)> {
    let axes = Axes::new(specs, last_month);
    let mut tables: Vec<Dense> = specs.iter().map(|&spec| Dense::new(spec, &axes)).collect();
    let mut bounded: Vec<Vec<Counts>> = bounds
        .iter()
        .map(|_| specs.iter().map(|_| Counts::default()).collect())
        .collect();
    let mut keys = Vec::new();
    let mut serial = 0;
    for (i, bucket) in buckets.into_iter().enumerate() {
        let path = bucket_path(dir, i);
        bucket
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        let bytes = std::fs::read(&path).at(&path)?;
        std::fs::remove_file(&path).at(&path)?;
        let mut entries: Vec<Entry> = bytes.chunks_exact(ENTRY).map(Entry::decode).collect();
        drop(bytes);
        // Any order that groups a contributor's certificates serves; integers compare fastest.
        let contributor = |e: &Entry| (u128::from_ne_bytes(e.subscriber), e.has(KNOWN));
        entries.sort_unstable_by_key(contributor);
        for group in entries.chunk_by(|a, b| contributor(a) == contributor(b)) {
            serial += 1;
            for table in &mut tables {
                table.add_subscriber(&axes, group, serial);
            }
            for (bound, counts) in bounds.iter().zip(&mut bounded) {
                for (spec, counts) in specs.iter().zip(counts) {
                    bounded::add_subscriber(spec, bound, group, counts, &mut keys);
                }
            }
        }
    }
    let tables = tables.into_iter().map(|t| t.cells(&axes)).collect();
    Ok((tables, bounded))
}

/// Where the codes of a dimension lie on its axis in a [`Dense`] table: every code an entry
/// can hold, in order, then the total.
struct Axis {
    /// Position by code; `u32::MAX` for a code no entry holds.
    at: Vec<u32>,
    /// Code by position, `TOTAL_CODE` last.
    codes: Vec<u32>,
}

impl Axis {
    fn new(codes: Vec<u16>) -> Axis {
        let mut at = vec![u32::MAX; usize::from(u16::MAX) + 1];
        for (position, &code) in codes.iter().enumerate() {
            at[usize::from(code)] = position as u32;
        }
        let codes = codes
            .into_iter()
            .map(u32::from)
            .chain([TOTAL_CODE])
            .collect();
        Axis { at, codes }
    }

    fn len(&self) -> usize {
        self.codes.len()
    }

    fn position(&self, code: u16) -> usize {
        self.at[usize::from(code)] as usize
    }
}

/// The axis of every dimension the tables have, by `Dim as usize`.
struct Axes([Option<Axis>; NDIM]);

impl Axes {
    fn new(specs: &[&'static Spec], last_month: u16) -> Axes {
        let mut axes = Axes(Default::default());
        for &dim in specs.iter().flat_map(|s| s.dims) {
            axes.0[dim as usize].get_or_insert_with(|| Axis::new(dim.codes(last_month)));
        }
        axes
    }

    fn of(&self, dim: Dim) -> &Axis {
        self.0[dim as usize]
            .as_ref()
            .expect("an axis for every dimension of a table")
    }
}

/// A cell being tallied. A subscriber's certificates are added one after another, so the
/// share of the subscriber being added (`serial`) is all the cell needs to keep.
#[derive(Clone, Copy, Default)]
struct Running {
    count: u64,
    distinct: u64,
    largest: u64,
    serial: u64,
    share: u64,
}

impl Running {
    /// Branch-free: whether the cell already holds the subscriber is a coin toss the
    /// processor would mispredict.
    fn add(&mut self, serial: u64, share: u64) {
        let new = self.serial != serial;
        self.distinct += u64::from(new);
        self.share = if new { 0 } else { self.share } + share;
        self.serial = serial;
        self.count += share;
        self.largest = self.largest.max(self.share);
    }
}

/// One table's cells, margins included, laid out over the product of its dimensions' axes:
/// a cell is found by arithmetic, not by hashing its key.
struct Dense {
    spec: &'static Spec,
    strides: [usize; 3],
    /// The bits (by dimension) of the time axes: margins summed over them take all of a
    /// certificate's months at once.
    time: usize,
    cells: Vec<Running>,
}

/// Per dimension, the offset of a cell's code and of the dimension's total.
type Offsets = [[usize; 2]; 3];

impl Dense {
    fn new(spec: &'static Spec, axes: &Axes) -> Dense {
        let mut strides = [0; 3];
        let mut len = 1;
        for (d, &dim) in spec.dims.iter().enumerate().rev() {
            strides[d] = len;
            len *= axes.of(dim).len();
        }
        let time = (0..spec.dims.len())
            .filter(|&d| spec.dims[d].is_time())
            .map(|d| 1 << d)
            .sum();
        Dense {
            spec,
            strides,
            time,
            cells: vec![Running::default(); len],
        }
    }

    /// The offsets of the cell `e` counts in when dated `month`.
    fn offsets(&self, axes: &Axes, e: &Entry, month: u16) -> Offsets {
        let mut offsets = [[0; 2]; 3];
        for (d, &dim) in self.spec.dims.iter().enumerate() {
            let axis = axes.of(dim);
            offsets[d] = [
                axis.position(e.code(dim, month)) * self.strides[d],
                (axis.len() - 1) * self.strides[d],
            ];
        }
        offsets
    }

    /// Moves `offsets` to the cell dated `month`, the other codes kept.
    fn date(&self, axes: &Axes, offsets: &mut Offsets, month: u16) {
        for (d, &dim) in self.spec.dims.iter().enumerate() {
            if self.time >> d & 1 == 1 {
                offsets[d][0] = axes.of(dim).position(Entry::date(dim, month)) * self.strides[d];
            }
        }
    }

    /// Adds `share` of subscriber `serial` to the cell at `offsets` summed over the
    /// dimensions in `mask` (bit d: dimension d).
    fn add(&mut self, offsets: &Offsets, mask: usize, serial: u64, share: u64) {
        let index: usize = (0..3).map(|d| offsets[d][mask >> d & 1]).sum();
        self.cells[index].add(serial, share);
    }

    /// Adds one subscriber's share of every cell (`certificates`: all of theirs).
    fn add_subscriber(&mut self, axes: &Axes, certificates: &[Entry], serial: u64) {
        let spec = self.spec;
        let masks = 1usize << spec.dims.len();
        match spec.unit {
            Unit::NewSubscribers => {
                // Counted once, in the month of the first certificate (the smallest key).
                let first = certificates
                    .iter()
                    .flat_map(|e| e.months(spec).map(move |m| (e.key(spec.dims, m), e, m)))
                    .min_by_key(|&(key, ..)| key);
                if let Some((_, e, month)) = first {
                    let offsets = self.offsets(axes, e, month);
                    for mask in 0..masks {
                        self.add(&offsets, mask, serial, 1);
                    }
                }
            }
            Unit::ActiveSubscribers => {
                // Once per cell however many certificates count there: a cell that already
                // holds the subscriber already has it in its margins too.
                for e in certificates {
                    for month in e.months(spec) {
                        let offsets = self.offsets(axes, e, month);
                        let interior: usize = offsets.iter().map(|o| o[0]).sum();
                        if self.cells[interior].serial != serial {
                            for mask in 0..masks {
                                self.add(&offsets, mask, serial, 1);
                            }
                        }
                    }
                }
            }
            Unit::Issued | Unit::Revocations | Unit::ActiveCertificates => {
                let time = self.time;
                for e in certificates {
                    let months = e.months(spec);
                    if months.is_empty() {
                        continue;
                    }
                    let mut offsets = self.offsets(axes, e, *months.start());
                    for month in months.clone() {
                        self.date(axes, &mut offsets, month);
                        for mask in (0..masks).filter(|m| m & time != time) {
                            self.add(&offsets, mask, serial, 1);
                        }
                    }
                    let units = months.count() as u64;
                    for mask in (0..masks).filter(|m| m & time == time) {
                        self.add(&offsets, mask, serial, units);
                    }
                }
            }
        }
    }

    /// The non-zero cells by packed key.
    fn cells(self, axes: &Axes) -> Cells {
        let dims = self.spec.dims;
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell.count > 0)
            .map(|(index, cell)| {
                let mut codes = [0u32; 3];
                for (d, &dim) in dims.iter().enumerate() {
                    let axis = axes.of(dim);
                    codes[d] = axis.codes[index / self.strides[d] % axis.len()];
                }
                let who = Contributors {
                    distinct: cell.distinct,
                    largest: cell.largest,
                };
                (
                    pack(codes),
                    Stat {
                        count: cell.count,
                        who,
                    },
                )
            })
            .collect()
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
        assert!(pack([4, 65_535, 65_535]) < pack([5, 0, 0]));
    }
}
