//! The subjects of the released rows: the figures the manifest reports and `privacy.subject_k`.
//!
//! `privacy.subject_k`: before the extract is written, one pass over the spill finds the
//! subjects the released rows form at the chosen levels (see `Profiles`) and marks every row of
//! a subject whose profile fewer than subject_k subjects share; the writing pass then skips
//! them. Memory: one byte per released row on top of what `Profiles` holds.
//!
//! A profile shared by subject_k ≥ k subjects holds each of its classes in as many distinct
//! subjects, so every class left in the file still has at least k rows.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{Bucket, Classes, ExtractSpill, Linked, NLINKS, NO_LINK};
use crate::error::Result;
use crate::outputs::manifest::{SubjectFacts, SubjectK};
use crate::privacy::{Choice, Profiles};

/// The released rows whose subject `privacy.subject_k` removes.
pub(super) struct Removal {
    subject_k: u64,
    /// Per row the gate released, bucket by bucket and in spill order within one: removed.
    removed: Vec<bool>,
    /// Per bucket, the index in `removed` of its first released row.
    first: Vec<usize>,
    subjects: u64,
    rows: u64,
}

impl Removal {
    /// Whether the `n`th row the gate released from bucket `b` is removed.
    pub(super) fn removes(&self, b: usize, n: usize) -> bool {
        self.removed[self.first[b] + n]
    }

    /// Counts the removed rows as suppressed. Removal can shrink a class, so the achieved k
    /// becomes at most the fewest subjects left in one class: distinct subjects have distinct
    /// subscribers, so this never overstates it.
    pub(super) fn account(&self, choice: &mut Choice, smallest_class: u64) {
        choice.suppressed_rows += self.rows;
        if self.rows > 0 {
            choice.achieved_k = choice.achieved_k.min(smallest_class);
        }
    }

    pub(super) fn facts(&self) -> SubjectK {
        SubjectK {
            k: self.subject_k,
            rows_suppressed: self.rows,
            subjects_suppressed: self.subjects,
        }
    }
}

impl ExtractSpill {
    pub(super) fn subject_k_removal(&self, classes: &Classes, subject_k: u64) -> Result<Removal> {
        let mut profiles = Profiles::default();
        let mut first = Vec::with_capacity(super::BUCKETS);
        let mut released = 0;
        let window = 2 * rayon::current_num_threads();
        for start in (0..super::BUCKETS).step_by(window) {
            let linked: Vec<Result<Vec<Linked>>> = (start..super::BUCKETS.min(start + window))
                .into_par_iter()
                .map(|b| self.released_links(b, classes))
                .collect();
            for rows in linked {
                let rows = rows?;
                first.push(released);
                released += rows.len();
                add_rows(&mut profiles, &rows);
            }
        }
        let (removed, subjects) = profiles.below(subject_k);
        let rows = removed.iter().filter(|&&r| r).count() as u64;
        tracing::debug!(
            subject_k,
            subjects,
            rows,
            "subjects below subject_k removed"
        );
        Ok(Removal {
            subject_k,
            removed,
            first,
            subjects,
            rows,
        })
    }

    /// The class and linking values of each row the gate released from bucket `b`, in spill
    /// order; the bucket stays for the writing pass.
    fn released_links(&self, b: usize, classes: &Classes) -> Result<Vec<Linked>> {
        let (path, buf) = self.read_bucket(b)?;
        let released = super::released_pseudonyms(self.mode);
        let mut rows = Vec::new();
        for entry in self.entries(&path, &buf, classes) {
            if let (entry, Some((class, _))) = entry? {
                rows.push((*class, super::links(&entry.pseudonyms(released))));
            }
        }
        Ok(rows)
    }
}

/// Subscribers seen (bit 0: a row released, bit 1: a row suppressed) and the released rows'
/// profiles, fed bucket by bucket in file order.
#[derive(Default)]
pub(super) struct SubjectTally {
    pub(super) rows: u64,
    subscribers: FxHashMap<u32, u8>,
    profiles: Profiles,
}

impl SubjectTally {
    pub(super) fn add(&mut self, bucket: &Bucket) {
        self.rows += bucket.rows;
        for &(subscriber, released) in &bucket.subscribers {
            *self.subscribers.entry(subscriber).or_default() |= if released { 1 } else { 2 };
        }
        add_rows(&mut self.profiles, &bucket.linked);
    }

    pub(super) fn facts(mut self, k: u64) -> (SubjectFacts, u64) {
        let count = |flags: u8| self.subscribers.values().filter(|&&f| f == flags).count() as u64;
        let profiles = self.profiles.figures(k);
        let facts = SubjectFacts {
            in_file: profiles.subjects,
            max_reidentification_risk: match profiles.smallest_profile_class {
                0 => 0.0,
                n => 1.0 / n as f64,
            },
            profile_below_k: profiles.below_k,
            subscribers_partly_suppressed: count(3),
            subscribers_released: count(1) + count(3),
            subscribers_scanned: self.subscribers.len() as u64,
            subscribers_suppressed: count(2),
            subject_k: None,
        };
        (facts, profiles.smallest_class)
    }
}

/// Adds a bucket's rows in one call, so that `Profiles` can fetch their values' slots from
/// memory ahead of linking them.
fn add_rows(profiles: &mut Profiles, rows: &[Linked]) {
    let mut ends = Vec::with_capacity(rows.len());
    let mut links = Vec::with_capacity(rows.len() * NLINKS);
    for (class, row) in rows {
        links.extend(row.iter().copied().filter(|&l| l != NO_LINK));
        ends.push((*class, links.len() as u32));
    }
    profiles.add_rows(&ends, &links);
}
