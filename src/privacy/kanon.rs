//! k-anonymity for the research extract: search the generalization lattice (one hierarchy level
//! per quasi-identifier) for the node that loses the least information while suppressing at most
//! the allowed share of rows, the way ARX's optimal lattice search does.
//!
//! The unit of protection is the subject (a subscriber), not the row: a class is released only
//! when its rows come from at least k distinct subjects. Each histogram entry carries, beside its
//! row count, up to k of its subjects' ids ([`Subjects`]); a roll-up unions them, capped at k,
//! which answers "at least k distinct?" exactly at every node.
//!
//! Information loss is ARX's "Loss" metric (Iyengar 2002): a released row loses, in each
//! dimension, `(leaves in its group − 1) / (leaves in the domain − 1)`, a suppressed row loses 1 in
//! every dimension; the node's loss is the mean over rows and dimensions, in `[0, 1]`. Leaves are
//! the finest codes present in the histogram. Ties go to the node with the smaller sum of levels,
//! then to the lexicographically smaller level vector, so the result is deterministic.
//!
//! Why the search is fast: the loss a node would have if nothing were suppressed (`base`) only
//! depends on each dimension's one-way marginal, costs nothing to compute, never decreases when a
//! level is raised, and bounds from below the loss of the node and of every generalization of
//! it. So the lattice is walked as a spanning tree (each node's parent lowers its last raised
//! dimension), each node's histogram is rolled up from its parent's, and a subtree is skipped
//! when its root's `base` already exceeds the best loss found (a greedy climb finds a good one
//! first) or when its root suppresses nothing (every generalization then loses at least as much).

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

/// One quasi-identifier and its hierarchy.
#[derive(Clone)]
pub(crate) struct Dimension {
    pub name: String,
    /// Number of levels including the top `*` level; level 0 is the finest.
    pub levels: u8,
    generalize: Arc<dyn Fn(u16, u8) -> u16 + Send + Sync>,
}

impl Dimension {
    /// `generalize(code, level)` maps a finest code to its group's code at `level`. The top level
    /// (`levels - 1`) is treated as one group whatever it returns, and groups are refined so that
    /// each level nests in the next: a hierarchy that is not a tree can only make released
    /// classes larger, never smaller.
    pub fn new(
        name: impl Into<String>,
        levels: u8,
        generalize: impl Fn(u16, u8) -> u16 + Send + Sync + 'static,
    ) -> Self {
        Dimension {
            name: name.into(),
            levels,
            generalize: Arc::new(generalize),
        }
    }

    /// The code a finest `code` is released as at `level`.
    pub fn generalize(&self, code: u16, level: u8) -> u16 {
        (self.generalize)(code, level)
    }
}

impl fmt::Debug for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dimension")
            .field("name", &self.name)
            .field("levels", &self.levels)
            .finish_non_exhaustive()
    }
}

/// Up to `cap` distinct subject ids of a class, sorted. Ids are hashes of the subject, so two
/// subjects may share one: that can only undercount, which suppresses more, never less.
/// Held inline up to the usual k, because the search copies every class's set at each step up
/// the lattice and an allocation per copy would cost more than the rest of the step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Subjects(SmallVec<[u32; 6]>);

impl Subjects {
    /// Distinct ids held, at most the cap of the merges that built the set.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds one id, unless the set already holds `cap`.
    pub(crate) fn insert(&mut self, id: u32, cap: usize) {
        if self.0.len() < cap
            && let Err(at) = self.0.binary_search(&id)
        {
            self.0.insert(at, id);
        }
    }

    /// Keeps the `cap` smallest ids: whether a union holds at least `cap` stays as it was.
    fn keep(&mut self, cap: usize) {
        self.0.truncate(cap);
    }

    /// Adds `other`'s ids, keeping at most `cap`: enough to tell whether the union holds at
    /// least `cap`.
    pub(crate) fn merge(&mut self, other: &Subjects, cap: usize) {
        if self.0.len() >= cap || other.0.is_empty() {
            return;
        }
        if other.0.len() >= cap {
            self.0.clone_from(&other.0);
            return;
        }
        let mut merged = SmallVec::with_capacity((self.0.len() + other.0.len()).min(cap));
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        while merged.len() < cap {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x == y => {
                    a.next();
                    b.next();
                    x
                }
                (Some(&&x), Some(&&y)) if x < y => {
                    a.next();
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.0 = merged;
    }
}

/// One histogram entry: a class's rows and up to k of its subjects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) rows: u64,
    pub(crate) subjects: Subjects,
}

impl Tally {
    /// Adds `other` into this tally, keeping at most `cap` subject ids.
    pub(crate) fn absorb(&mut self, other: &Tally, cap: usize) {
        self.rows += other.rows;
        self.subjects.merge(&other.subjects, cap);
    }
}

/// The node chosen by [`choose_levels`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Choice {
    /// One level per dimension, in the order of `dims`.
    pub levels: Vec<u8>,
    /// Rows in classes smaller than k at this node: they are not released.
    pub suppressed_rows: u64,
    pub total_rows: u64,
    /// Smallest class among released rows; 0 if nothing is released.
    pub achieved_k: u64,
    /// Information loss in `[0, 1]` (see the module comment).
    pub loss: f64,
}

/// Which generalized classes a chosen node releases.
#[derive(Clone, Debug)]
pub(crate) struct Release {
    levels: Vec<u8>,
    hierarchies: Vec<Hierarchy>,
    /// Sorted keys of the released classes.
    released: Vec<Key>,
}

impl Release {
    /// Whether a row with these finest codes is released. A code the histogram did not hold has
    /// no known class, so its row is not released.
    pub fn is_released(&self, finest: &[u16]) -> bool {
        if finest.len() != self.hierarchies.len() {
            return false;
        }
        let mut key: Key = 0;
        for ((h, &code), &level) in self.hierarchies.iter().zip(finest).zip(&self.levels) {
            let Some(&leaf) = h.leaf_of.get(&code) else {
                return false;
            };
            key |= u64::from(h.group[usize::from(level)][usize::from(leaf)]) << h.shift;
        }
        self.released.binary_search(&key).is_ok()
    }
}

/// Chooses the generalization levels: among the nodes at least as coarse as `minimum` (one
/// level per dimension, e.g. the levels an earlier release published) whose suppressed rows are
/// at most `max_suppression × total`, the one with the least loss; the top node when none
/// qualifies.
pub(crate) fn choose_levels(
    hist: &HashMap<Vec<u16>, Tally>,
    dims: &[Dimension],
    k: u64,
    max_suppression: f64,
    minimum: &[u8],
) -> Result<Choice> {
    let lattice = Lattice::new(hist, dims, k, max_suppression)?;
    if minimum.len() != dims.len() || minimum.iter().zip(dims).any(|(&l, d)| l >= d.levels) {
        return Err(Error::Other(format!(
            "k-anonymity: minimum levels {minimum:?} do not fit the dimensions {:?}",
            dims.iter().map(|d| &d.name).collect::<Vec<_>>()
        )));
    }
    Ok(lattice.search(minimum))
}

/// The classes released at `levels` (as chosen by [`choose_levels`]) for writing the extract.
pub(crate) fn released_classes(
    hist: &HashMap<Vec<u16>, Tally>,
    dims: &[Dimension],
    levels: &[u8],
    k: u64,
) -> Result<Release> {
    let lattice = Lattice::new(hist, dims, k, 0.0)?;
    if levels.len() != dims.len() || levels.iter().zip(dims).any(|(&l, d)| l >= d.levels) {
        return Err(Error::Other(format!(
            "k-anonymity: levels {levels:?} do not fit the dimensions {:?}",
            dims.iter().map(|d| &d.name).collect::<Vec<_>>()
        )));
    }
    let hist = lattice.node(levels);
    // Roll-ups keep entries sorted, so this is sorted too.
    let released = hist
        .entries
        .iter()
        .filter(|(_, t)| lattice.releases(t))
        .map(|&(key, _)| key)
        .collect();
    Ok(Release {
        levels: levels.to_vec(),
        hierarchies: lattice.hierarchies,
        released,
    })
}

/// A class key: the group indices of all dimensions packed into bit fields.
type Key = u64;

/// One dimension's hierarchy over the leaves present in the data.
#[derive(Clone, Debug)]
struct Hierarchy {
    leaf_of: FxHashMap<u16, u16>,
    /// `group[level][leaf]`: group index of a leaf at a level.
    group: Vec<Vec<u16>>,
    /// `up[level][g]`: the group at `level + 1` that group `g` at `level` belongs to.
    up: Vec<Vec<u16>>,
    /// `weight[level][g]`: loss of one row of group `g` in this dimension.
    weight: Vec<Vec<f64>>,
    /// `cost[level]`: summed weight of all rows at `level`.
    cost: Vec<f64>,
    /// This dimension's bit field in a `Key`.
    shift: u32,
    mask: u64,
}

impl Hierarchy {
    fn new(dim: &Dimension, leaf_rows: &BTreeMap<u16, u64>) -> Self {
        let levels = usize::from(dim.levels);
        let codes: Vec<u16> = leaf_rows.keys().copied().collect();
        let n = codes.len();
        let mut group = vec![vec![0u16; n]; levels];
        // Top level is one group; below it, a group is (own code, parent group), which forces
        // nesting whatever `generalize` returns.
        for level in (0..levels.saturating_sub(1)).rev() {
            let mut ids: BTreeMap<(u16, u16), u16> = BTreeMap::new();
            for (leaf, &code) in codes.iter().enumerate() {
                ids.insert(
                    (dim.generalize(code, level as u8), group[level + 1][leaf]),
                    0,
                );
            }
            for (i, id) in ids.values_mut().enumerate() {
                // At most one group per leaf, and leaves are distinct u16 codes.
                *id = i as u16;
            }
            for (leaf, &code) in codes.iter().enumerate() {
                group[level][leaf] =
                    ids[&(dim.generalize(code, level as u8), group[level + 1][leaf])];
            }
        }
        let groups_at = |level: usize| {
            group[level]
                .iter()
                .map(|&g| usize::from(g) + 1)
                .max()
                .unwrap_or(0)
        };
        let up = (0..levels.saturating_sub(1))
            .map(|level| {
                let mut up = vec![0u16; groups_at(level)];
                for leaf in 0..n {
                    up[usize::from(group[level][leaf])] = group[level + 1][leaf];
                }
                up
            })
            .collect();
        let mut weight = Vec::with_capacity(levels);
        let mut cost = Vec::with_capacity(levels);
        for (level, group_at) in group.iter().enumerate() {
            let mut leaves = vec![0u64; groups_at(level)];
            for &g in group_at {
                leaves[usize::from(g)] += 1;
            }
            let w: Vec<f64> = leaves
                .iter()
                .map(|&size| {
                    if n > 1 {
                        (size - 1) as f64 / (n - 1) as f64
                    } else {
                        0.0
                    }
                })
                .collect();
            cost.push(
                leaf_rows
                    .values()
                    .zip(group_at)
                    .map(|(&rows, &g)| rows as f64 * w[usize::from(g)])
                    .sum(),
            );
            weight.push(w);
        }
        let leaf_of = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u16))
            .collect();
        Hierarchy {
            leaf_of,
            group,
            up,
            weight,
            cost,
            shift: 0,
            mask: 0,
        }
    }

    /// Bits needed for this dimension's finest group indices.
    fn bits(&self) -> u32 {
        let groups = self.up.first().map_or(1, Vec::len) as u64;
        u64::BITS - groups.saturating_sub(1).leading_zeros()
    }

    fn digit(&self, key: Key) -> usize {
        ((key >> self.shift) & self.mask) as usize
    }
}

/// Class tallies at one lattice node, sorted by key.
#[derive(Clone)]
struct Hist {
    entries: Vec<(Key, Tally)>,
}

impl Hist {
    /// The histogram one level up in `h`'s dimension, from `level`; `bits` is the key width.
    /// Merging by radix sort rather than hashing: the tables of the finer nodes hold up to a few
    /// hundred thousand classes, and random probes into them cost a cache miss each. What is
    /// sorted is each new key with the index of its entry, small enough to move cheaply; each
    /// tally is then copied once, into the first entry of its key, the others absorbed into it.
    fn raise(&self, h: &Hierarchy, level: u8, bits: u32, cap: usize) -> Hist {
        let up = &h.up[usize::from(level)];
        let clear = !(h.mask << h.shift);
        let mut order: Vec<(Key, u32)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (key, _))| {
                let key = (key & clear) | (u64::from(up[h.digit(*key)]) << h.shift);
                (key, i as u32)
            })
            .collect();
        radix_sort(&mut order, bits);
        let mut entries: Vec<(Key, Tally)> = Vec::with_capacity(order.len());
        for (key, i) in order {
            let tally = &self.entries[i as usize].1;
            match entries.last_mut() {
                Some((last, merged)) if *last == key => merged.absorb(tally, cap),
                _ => entries.push((key, tally.clone())),
            }
        }
        Hist { entries }
    }
}

/// Merges the tallies of adjacent entries with equal keys.
fn merge_equal_keys(entries: &mut Vec<(Key, Tally)>, cap: usize) {
    entries.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1.absorb(&next.1, cap);
        }
        same
    });
}

/// Stable LSD radix sort on the low `bits` bits of the keys.
fn radix_sort(entries: &mut Vec<(Key, u32)>, bits: u32) {
    const DIGIT: u32 = 11;
    const MASK: u64 = (1 << DIGIT) - 1;
    let mut scratch = vec![(0, 0); entries.len()];
    let mut shift = 0;
    while shift < bits {
        let mut slots = vec![0usize; 1 << DIGIT];
        for &(key, _) in entries.iter() {
            slots[((key >> shift) & MASK) as usize] += 1;
        }
        if !slots.contains(&entries.len()) {
            let mut sum = 0;
            for slot in &mut slots {
                (*slot, sum) = (sum, sum + *slot);
            }
            for &entry in entries.iter() {
                let digit = ((entry.0 >> shift) & MASK) as usize;
                scratch[slots[digit]] = entry;
                slots[digit] += 1;
            }
            std::mem::swap(entries, &mut scratch);
        }
        shift += DIGIT;
    }
}

/// Rows suppressed and released at one node.
#[derive(Clone, Copy, Debug)]
struct Count {
    suppressed: u64,
    min_released: u64,
}

struct Lattice {
    hierarchies: Vec<Hierarchy>,
    finest: Hist,
    k: u64,
    /// Subject ids a tally needs to hold to show k distinct subjects.
    cap: usize,
    total: u64,
    allowed: f64,
    dims: usize,
    /// Width of the packed keys.
    key_bits: u32,
}

/// The best node so far.
#[derive(Clone, Debug)]
struct Best {
    levels: Vec<u8>,
    count: Count,
    /// Unnormalized loss: summed over rows and dimensions.
    loss: f64,
}

impl Lattice {
    fn new(
        hist: &HashMap<Vec<u16>, Tally>,
        dims: &[Dimension],
        k: u64,
        max_suppression: f64,
    ) -> Result<Self> {
        if let Some(d) = dims.iter().find(|d| d.levels == 0) {
            return Err(Error::Other(format!(
                "k-anonymity: quasi-identifier {} has no levels",
                d.name
            )));
        }
        let mut leaf_rows = vec![BTreeMap::<u16, u64>::new(); dims.len()];
        let mut total = 0u64;
        for (key, tally) in hist {
            let count = tally.rows;
            if key.len() != dims.len() {
                return Err(Error::Other(format!(
                    "k-anonymity: a histogram key has {} codes for {} quasi-identifiers",
                    key.len(),
                    dims.len()
                )));
            }
            total += count;
            for (d, &code) in key.iter().enumerate() {
                *leaf_rows[d].entry(code).or_default() += count;
            }
        }
        let mut hierarchies: Vec<Hierarchy> = dims
            .iter()
            .zip(&leaf_rows)
            .map(|(dim, rows)| Hierarchy::new(dim, rows))
            .collect();
        let mut shift = 0u32;
        for h in &mut hierarchies {
            let bits = h.bits();
            h.shift = shift;
            h.mask = if bits == 0 {
                0
            } else {
                u64::MAX >> (u64::BITS - bits)
            };
            shift += bits;
        }
        if shift > u64::BITS {
            return Err(Error::Other(format!(
                "k-anonymity: the quasi-identifiers {:?} have too many distinct combinations \
                 ({shift} bits); generalize them before the privacy gate",
                dims.iter().map(|d| &d.name).collect::<Vec<_>>()
            )));
        }
        // Sorted so that every roll-up, and so every floating-point sum, runs in the same order.
        let cap = usize::try_from(k).unwrap_or(usize::MAX);
        let mut entries: Vec<(Key, Tally)> = hist
            .iter()
            .filter(|(_, t)| t.rows > 0)
            .map(|(codes, tally)| {
                let mut tally = tally.clone();
                tally.subjects.keep(cap);
                let key = codes
                    .iter()
                    .zip(&hierarchies)
                    .map(|(code, h)| u64::from(h.group[0][usize::from(h.leaf_of[code])]) << h.shift)
                    .fold(0, |a, b| a | b);
                (key, tally)
            })
            .collect();
        // A merged tally's row count and number of subjects (all a node's choice depends on)
        // do not depend on the order of its parts.
        entries.sort_unstable_by_key(|e| e.0);
        // Level 0 may already merge codes, so equal keys can follow each other.
        merge_equal_keys(&mut entries, cap);
        let finest = Hist { entries };
        let share = if max_suppression.is_nan() {
            0.0
        } else {
            max_suppression.clamp(0.0, 1.0)
        };
        Ok(Lattice {
            hierarchies,
            finest,
            k,
            cap,
            total,
            allowed: share * total as f64,
            dims: dims.len(),
            key_bits: shift,
        })
    }

    /// Loss if nothing were suppressed: a lower bound for this node and all its generalizations.
    fn base(&self, levels: &[u8]) -> f64 {
        self.hierarchies
            .iter()
            .zip(levels)
            .map(|(h, &l)| h.cost[usize::from(l)])
            .sum()
    }

    /// Whether a class is released: at least k rows from at least k distinct subjects.
    fn releases(&self, tally: &Tally) -> bool {
        tally.rows >= self.k && tally.subjects.len() >= self.cap
    }

    /// The histogram at `levels`, rolled up from the finest.
    fn node(&self, levels: &[u8]) -> Hist {
        let mut hist = self.finest.clone();
        for (d, &target) in levels.iter().enumerate() {
            for level in 0..target {
                hist = hist.raise(&self.hierarchies[d], level, self.key_bits, self.cap);
            }
        }
        hist
    }

    fn count(&self, hist: &Hist) -> Count {
        let mut count = Count {
            suppressed: 0,
            min_released: 0,
        };
        for (_, tally) in &hist.entries {
            let rows = tally.rows;
            if !self.releases(tally) {
                count.suppressed += rows;
            } else if count.min_released == 0 || rows < count.min_released {
                count.min_released = rows;
            }
        }
        count
    }

    /// Exact loss; only computed for nodes that meet the bound, as it costs a pass over the
    /// suppressed classes' keys.
    fn loss(&self, levels: &[u8], hist: &Hist) -> f64 {
        let mut loss = self.base(levels);
        for (key, tally) in &hist.entries {
            let (key, rows) = (*key, tally.rows);
            if !self.releases(tally) {
                let kept: f64 = self
                    .hierarchies
                    .iter()
                    .zip(levels)
                    .map(|(h, &l)| h.weight[usize::from(l)][h.digit(key)])
                    .sum();
                loss += rows as f64 * (self.dims as f64 - kept);
            }
        }
        loss
    }

    fn acceptable(&self, count: &Count) -> bool {
        count.suppressed as f64 <= self.allowed
    }

    /// Considers a node for `best`.
    fn offer(&self, levels: &[u8], hist: &Hist, count: Count, best: &mut Best) {
        if self.acceptable(&count) {
            let loss = self.loss(levels, hist);
            if self.better(levels, loss, best) {
                *best = Best {
                    levels: levels.to_vec(),
                    count,
                    loss,
                };
            }
        }
    }

    fn tolerance(&self) -> f64 {
        1e-9 * (self.total as f64 * self.dims as f64).max(1.0)
    }

    /// Whether `(levels, loss)` beats `best`.
    fn better(&self, levels: &[u8], loss: f64, best: &Best) -> bool {
        let tol = self.tolerance();
        if loss < best.loss - tol {
            return true;
        }
        if loss > best.loss + tol {
            return false;
        }
        let sum = |l: &[u8]| l.iter().map(|&x| u32::from(x)).sum::<u32>();
        (sum(levels), levels) < (sum(&best.levels), best.levels.as_slice())
    }

    fn top(&self) -> Vec<u8> {
        self.hierarchies
            .iter()
            .map(|h| (h.group.len() - 1) as u8)
            .collect()
    }

    fn raise(&self, hist: &Hist, levels: &[u8], d: usize) -> Hist {
        hist.raise(&self.hierarchies[d], levels[d], self.key_bits, self.cap)
    }

    /// Searches the nodes at least as coarse as `minimum`: they form the sub-lattice rooted
    /// there, walked the same way as the whole lattice from the finest node.
    fn search(&self, minimum: &[u8]) -> Choice {
        let top = self.top();
        let top_hist = self.node(&top);
        let count = self.count(&top_hist);
        let loss = self.loss(&top, &top_hist);
        let mut best = Best {
            levels: top,
            count,
            loss,
        };
        // The top node qualifies whenever any node does (suppression only shrinks upwards), and
        // it is the answer when none does.
        if self.acceptable(&count) {
            let root = self.node(minimum);
            self.greedy(minimum, &root, &mut best);
            self.explore(minimum, &mut minimum.to_vec(), &root, &mut best);
        }
        let denominator = self.total as f64 * self.dims as f64;
        Choice {
            levels: best.levels,
            suppressed_rows: best.count.suppressed,
            total_rows: self.total,
            achieved_k: best.count.min_released,
            loss: if denominator > 0.0 {
                best.loss / denominator
            } else {
                0.0
            },
        }
    }

    /// Climbs from the finest node, one level at a time in the dimension whose step promises the
    /// least loss (counting suppressed rows as fully lost), until the suppression bound holds: a
    /// good first bound for the pruning.
    fn greedy(&self, minimum: &[u8], root: &Hist, best: &mut Best) {
        let mut levels = minimum.to_vec();
        let mut hist = root.clone();
        loop {
            let count = self.count(&hist);
            if self.acceptable(&count) {
                self.offer(&levels, &hist, count, best);
                return;
            }
            let mut step: Option<(f64, usize, Hist)> = None;
            for d in 0..self.dims {
                if usize::from(levels[d]) + 1 >= self.hierarchies[d].group.len() {
                    continue;
                }
                let next = self.raise(&hist, &levels, d);
                levels[d] += 1;
                let loss =
                    self.base(&levels) + (self.dims as u64 * self.count(&next).suppressed) as f64;
                levels[d] -= 1;
                if step.as_ref().is_none_or(|(l, _, _)| loss < *l) {
                    step = Some((loss, d, next));
                }
            }
            let Some((_, d, next)) = step else { return };
            levels[d] += 1;
            hist = next;
        }
    }

    /// Depth-first walk of the subtree rooted at `levels` (see the module comment).
    fn explore(&self, minimum: &[u8], levels: &mut Vec<u8>, hist: &Hist, best: &mut Best) {
        let count = self.count(hist);
        self.offer(levels, hist, count, best);
        if count.suppressed == 0 {
            return;
        }
        let first = levels
            .iter()
            .zip(minimum)
            .rposition(|(&l, &m)| l > m)
            .unwrap_or(0);
        let mut children: Vec<(f64, usize)> = (first..self.dims)
            .filter(|&d| usize::from(levels[d]) + 1 < self.hierarchies[d].group.len())
            .map(|d| {
                let mut child = levels.clone();
                child[d] += 1;
                (self.base(&child), d)
            })
            .collect();
        children.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (base, d) in children {
            // `best` tightens as siblings are explored, so the bound is checked late.
            if base > best.loss + self.tolerance() {
                continue;
            }
            let next = self.raise(hist, levels, d);
            levels[d] += 1;
            self.explore(minimum, levels, &next, best);
            levels[d] -= 1;
        }
    }
}

#[cfg(test)]
mod tests;
