//! The tables the privacy gate works on: a table of counts to publish, the same table as
//! published (margins included, some cells suppressed), and what can be wrong with a published
//! cell. Suppression produces these, the audit checks them.

use std::collections::BTreeMap;

/// The label of a dimension summed over.
pub(crate) const TOTAL: &str = "TOTAL";

/// A table to publish: counts of `population`, by one label per dimension.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Table {
    pub name: String,
    /// What is counted. Tables of one population share their common margins.
    pub population: String,
    pub dims: Vec<String>,
    /// Interior cells only; combinations not listed are zero.
    pub cells: BTreeMap<Vec<String>, u64>,
    /// Who makes up each non-zero count, margins included (TOTAL in the dimensions summed
    /// over). A non-zero cell not listed counts units that are each their own contributor, so
    /// only the small-count rule applies to it.
    pub contributors: BTreeMap<Vec<String>, Contributors>,
}

/// The contributors (subscribers) behind one count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Contributors {
    /// Distinct contributors with a non-zero share.
    pub distinct: u64,
    /// The largest share a single contributor holds.
    pub largest: u64,
}

/// The primary suppression policy: the small-count rule, the frequency rule on contributors
/// and the NK(1, p) dominance rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rules {
    pub k: u64,
    /// p: the largest share one contributor may hold of a published count.
    pub dominance: f64,
}

/// Why a cell is primary-suppressed; a cell failing several rules is reported under the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A count in 1..k.
    SmallCount,
    /// At least k counted, but from fewer than k distinct contributors.
    FewContributors,
    /// One contributor holds more than p of the count.
    Dominance,
}

#[cfg(test)]
impl Rules {
    /// k = 5 and the default dominance share.
    pub(crate) const K5: Rules = Rules {
        k: 5,
        dominance: 0.5,
    };
}

impl Rules {
    /// The rule a non-zero count breaks, if any.
    pub fn broken(&self, count: u64, who: Contributors) -> Option<Rule> {
        if count == 0 {
            None
        } else if count < self.k {
            Some(Rule::SmallCount)
        } else if who.distinct < self.k {
            Some(Rule::FewContributors)
        } else if who.largest as f64 > self.dominance * count as f64 {
            Some(Rule::Dominance)
        } else {
            None
        }
    }
}

/// Primary-suppressed cells of a table, by the rule that suppressed them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByRule {
    pub small_count: usize,
    pub few_contributors: usize,
    pub dominance: usize,
}

impl ByRule {
    pub fn add(&mut self, rule: Rule) {
        match rule {
            Rule::SmallCount => self.small_count += 1,
            Rule::FewContributors => self.few_contributors += 1,
            Rule::Dominance => self.dominance += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.small_count + self.few_contributors + self.dominance
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PublishedCell {
    /// One label per dimension, TOTAL in the dimensions summed over.
    pub key: Vec<String>,
    /// None: suppressed.
    pub count: Option<u64>,
    pub primary: bool,
    pub secondary: bool,
}

/// A table as published: every combination of labels and every margin, in key order (TOTAL
/// after the labels of its dimension).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Published {
    pub name: String,
    pub population: String,
    pub dims: Vec<String>,
    pub cells: Vec<PublishedCell>,
    pub primary: usize,
    /// `primary` split by the rule each cell broke (all zero for a table read back from disk,
    /// which does not say why a cell is suppressed).
    pub by_rule: ByRule,
    pub secondary: usize,
}

/// One problem found in a published cell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Problem {
    /// A suppressed cell whose feasible range holds a single integer.
    Pinned { min: f64, max: f64 },
    /// Published counts that do not add up, or admit no values at all for the suppressed cells.
    Inconsistent(String),
    /// The table cannot be read as a table: wrong key length, a duplicate or missing cell.
    Malformed(String),
    /// The solver could not bound this cell, so it cannot be shown safe.
    Unverified(String),
}
