//! Subject-level figures of a released extract: rows that share any linking pseudonym value
//! (a subscriber, e-mail, phone, name or ACME pseudonym; never the per-certificate one) belong
//! to one subject, found by union-find over the values. A subject's profile is the sorted
//! multiset of the released classes of its rows; a profile that fewer than k subjects share
//! singles those subjects out.
//!
//! Memory: two `u32` per row (union-find parent, class id) and two to four slots per distinct
//! linking value, so it grows with the released rows, not with their width.

use std::hash::{BuildHasher, Hash};

use rustc_hash::{FxBuildHasher, FxHashMap};

/// Rows added one at a time, in any order, linked through values of type `L`.
pub(crate) struct Profiles<L = u64> {
    first_row: FirstRows<L>,
    parent: Vec<u32>,
    class: Vec<u32>,
}

impl<L> Default for Profiles<L> {
    fn default() -> Self {
        Profiles {
            first_row: FirstRows {
                slots: Vec::new(),
                len: 0,
            },
            parent: Vec::new(),
            class: Vec::new(),
        }
    }
}

/// Each linking value's first row, in a table of its own rather than a `HashMap`: the table
/// outgrows the caches, so a lookup is mostly a wait for memory, and here the slot a value
/// lands in is known before the lookup, so it can be fetched while earlier values are linked.
/// Open addressing with linear probing, at most half full.
struct FirstRows<L> {
    /// A value and its first row plus one; 0 marks a free slot. A power of two long, or empty.
    slots: Vec<(L, u32)>,
    len: usize,
}

impl<L: Hash + Eq + Copy + Default> FirstRows<L> {
    fn home(&self, value: &L) -> usize {
        FxBuildHasher.hash_one(value) as usize & (self.slots.len().wrapping_sub(1))
    }

    /// Asks the CPU to bring `value`'s slot into the cache; it neither blocks nor faults.
    fn prefetch(&self, value: &L) {
        #[cfg(target_arch = "x86_64")]
        if !self.slots.is_empty() {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let slot = self.slots.as_ptr().wrapping_add(self.home(value));
            // SAFETY: a prefetch is a hint that reads nothing the program sees, and the
            // address lies within the table.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(slot.cast()) };
        }
    }

    /// The first row holding `value`, or `None` when `row` is the first and now recorded.
    fn first(&mut self, value: L, row: u32) -> Option<u32> {
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(&value);
        loop {
            let slot = &mut self.slots[at];
            if slot.1 == 0 {
                *slot = (value, row.saturating_add(1));
                self.len += 1;
                return None;
            }
            if slot.0 == value {
                return Some(slot.1 - 1);
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (2 * self.slots.len()).max(1 << 10);
        let mut slots = Vec::with_capacity(size);
        huge_pages(&slots);
        slots.resize(size, (L::default(), 0));
        let old = std::mem::replace(&mut self.slots, slots);
        let mask = size - 1;
        for (value, row) in old.into_iter().filter(|&(_, row)| row != 0) {
            let mut at = self.home(&value);
            while self.slots[at].1 != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = (value, row);
        }
    }
}

/// Asks Linux to back a large table, before it is written, with huge pages: its lookups land
/// anywhere in it, and on small pages nearly every one would miss the TLB as well.
fn huge_pages<T>(table: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let from = table.as_ptr() as usize;
        let to = from + table.capacity() * size_of::<T>();
        let (from, to) = (from.next_multiple_of(HUGE), to / HUGE * HUGE);
        if from < to {
            // SAFETY: advice on whole pages within the table's own allocation, which changes
            // how they are backed, never what they hold; a refusal changes nothing.
            unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE) };
        }
    }
}

/// Linking values looked up ahead of the one being linked: enough to cover the wait for
/// memory, few enough that their slots are still in the cache when their turn comes.
const AHEAD: usize = 16;

/// What the profiles say about the subjects of a release.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SubjectFigures {
    pub(crate) subjects: u64,
    /// Subjects whose profile fewer than k subjects share.
    pub(crate) below_k: u64,
    /// Fewest subjects sharing one profile (0 when there are no subjects): the largest
    /// re-identification risk is its inverse.
    pub(crate) smallest_profile_class: u64,
    /// Fewest subjects with a row in one class (0 when there are no rows).
    pub(crate) smallest_class: u64,
}

impl<L: Hash + Eq + Copy + Default> Profiles<L> {
    /// Adds a row of released class `class`, linked to every earlier row sharing any of `links`.
    pub(crate) fn add(&mut self, class: u32, links: impl IntoIterator<Item = L>) {
        let row = self.push(class);
        for link in links {
            self.link(row, link);
        }
    }

    /// Adds rows as [`add`](Self::add) does, each given by its class and where its values end
    /// in `links` (the first row's start at 0), fetching values' slots from memory ahead.
    pub(crate) fn add_rows(&mut self, rows: &[(u32, u32)], links: &[L]) {
        for value in links.iter().take(AHEAD) {
            self.first_row.prefetch(value);
        }
        let mut ahead = links.iter().skip(AHEAD);
        let mut start = 0;
        for &(class, end) in rows {
            let row = self.push(class);
            for &link in &links[start..end as usize] {
                if let Some(value) = ahead.next() {
                    self.first_row.prefetch(value);
                }
                self.link(row, link);
            }
            start = end as usize;
        }
    }

    fn push(&mut self, class: u32) -> u32 {
        let row = u32::try_from(self.parent.len()).unwrap_or(u32::MAX);
        self.parent.push(row);
        self.class.push(class);
        row
    }

    fn link(&mut self, row: u32, value: L) {
        if let Some(other) = self.first_row.first(value, row) {
            self.union(row, other);
        }
    }
}

impl<L> Profiles<L> {
    fn find(&mut self, mut row: u32) -> u32 {
        while self.parent[row as usize] != row {
            let up = self.parent[self.parent[row as usize] as usize];
            self.parent[row as usize] = up;
            row = up;
        }
        row
    }

    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (low, high) = (a.min(b), a.max(b));
            self.parent[high as usize] = low;
        }
    }

    /// Every row's subject (its root row) and class, sorted, so a subject's rows are adjacent
    /// and its classes in order: its profile.
    fn members(&mut self) -> Vec<(u32, u32)> {
        let mut members: Vec<(u32, u32)> = (0..self.parent.len() as u32)
            .map(|row| (self.find(row), self.class[row as usize]))
            .collect();
        members.sort_unstable();
        members
    }

    /// Profile → how many subjects share it.
    fn shared(members: &[(u32, u32)]) -> FxHashMap<Vec<u32>, u64> {
        let mut profiles: FxHashMap<Vec<u32>, u64> = FxHashMap::default();
        for subject in members.chunk_by(|a, b| a.0 == b.0) {
            *profiles.entry(profile(subject)).or_default() += 1;
        }
        profiles
    }

    pub(crate) fn figures(&mut self, k: u64) -> SubjectFigures {
        let members = self.members();
        let profiles = Self::shared(&members);
        let mut with_class: Vec<(u32, u32)> = members.iter().map(|&(s, c)| (c, s)).collect();
        with_class.sort_unstable();
        with_class.dedup();
        SubjectFigures {
            subjects: profiles.values().sum(),
            below_k: profiles.values().filter(|&&n| n < k).sum(),
            smallest_profile_class: profiles.values().copied().min().unwrap_or(0),
            smallest_class: with_class
                .chunk_by(|a, b| a.0 == b.0)
                .map(|class| class.len() as u64)
                .min()
                .unwrap_or(0),
        }
    }

    /// The rows, by the order they were added, of every subject whose profile fewer than k
    /// subjects share, and how many such subjects there are. Subjects share no row, so
    /// removing them leaves every other subject, and so every other profile and how many
    /// share it, as it was: once removed, no subject is left below k, and one pass suffices.
    pub(crate) fn below(mut self, k: u64) -> (Vec<bool>, u64) {
        let members = self.members();
        let profiles = Self::shared(&members);
        let mut doomed = vec![false; self.parent.len()];
        let mut subjects = 0;
        for subject in members.chunk_by(|a, b| a.0 == b.0) {
            if profiles[&profile(subject)] < k {
                doomed[subject[0].0 as usize] = true;
                subjects += 1;
            }
        }
        let rows = (0..self.parent.len() as u32)
            .map(|row| doomed[self.find(row) as usize])
            .collect();
        (rows, subjects)
    }
}

fn profile(subject: &[(u32, u32)]) -> Vec<u32> {
    subject.iter().map(|&(_, class)| class).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_linked_through_any_value_form_one_subject() {
        let mut p = Profiles::default();
        p.add(1, [10]);
        p.add(2, [20]);
        p.add(1, [30, 20]);
        p.add(2, [30]);
        p.add(1, []);
        let f = p.figures(2);
        assert_eq!(f.subjects, 3, "rows 1, 2, 3 are linked through 20 and 30");
        assert_eq!(f.below_k, 1, "rows 0 and 4 share the profile [1]");
        assert_eq!(f.smallest_profile_class, 1);
    }

    #[test]
    fn equal_profiles_count_together() {
        let mut p = Profiles::default();
        for subject in 0..3u64 {
            p.add(7, [subject]);
            p.add(8, [subject]);
        }
        p.add(7, [99]);
        let f = p.figures(3);
        assert_eq!((f.subjects, f.below_k, f.smallest_profile_class), (4, 1, 1));
        assert_eq!(f.smallest_class, 3, "class 8 holds rows of three subjects");
    }

    #[test]
    fn rows_added_together_link_as_rows_added_one_at_a_time() {
        // Enough values to grow the table several times, some shared by many rows.
        let rows: Vec<(u32, Vec<u64>)> = (0..20_000u64)
            .map(|i| {
                (
                    (i % 7) as u32,
                    vec![i % 3000, 1_000_000 + i * 7919 % 40_000],
                )
            })
            .collect();
        let mut one = Profiles::default();
        let mut together = Profiles::default();
        let mut ends = Vec::new();
        let mut links = Vec::new();
        for (class, values) in &rows {
            one.add(*class, values.iter().copied());
            links.extend_from_slice(values);
            ends.push((*class, links.len() as u32));
        }
        together.add_rows(&ends, &links);
        assert_eq!(one.figures(3), together.figures(3));
        assert_eq!(one.below(5), together.below(5));
    }

    #[test]
    fn below_marks_every_row_of_a_rare_subject_and_nothing_else() {
        let mut p = Profiles::default();
        for subject in 0..3u64 {
            p.add(7, [subject]);
            p.add(8, [subject]);
        }
        // One subject over two rows linked through a second value, with a profile of its own.
        p.add(7, [50]);
        p.add(9, [60]);
        p.add(7, [50, 60]);
        let (rows, subjects) = p.below(3);
        assert_eq!(subjects, 1);
        assert_eq!(
            rows,
            [false, false, false, false, false, false, true, true, true]
        );
    }
}
