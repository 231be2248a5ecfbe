//! One table released under differential privacy: discrete Laplace noise on every interior
//! cell of its public domain, negatives clamped to zero, and the margins summed from the
//! clamped cells, so every count is a non-negative integer and the totals add up.
//!
//! Clamping is post-processing (it costs no privacy) but biases a cell of true count c upwards
//! by E[max(0, −c − Z)], at most q/(1 − q²) with q = e^(−1/scale) (its value at c = 0) and
//! vanishing once c is a few scales; a margin inherits the sum of its cells' biases. The
//! margins of error reported are those of the noise before clamping.

use std::collections::BTreeMap;

use rand::Rng;

use super::sampler::{Ratio, discrete_laplace};
use crate::privacy::{Published, PublishedCell, TOTAL};

/// ε is handled in millionths, so that budgets add up exactly in the ledger.
pub(crate) const MICRO: u64 = 1_000_000;

/// `value` (an ε or a budget) in millionths, rounded.
pub(crate) fn to_micro(value: f64) -> u64 {
    (value * MICRO as f64).round() as u64
}

/// What one table may spend and how far one subscriber can move it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budgeted {
    /// L1 sensitivity of the interior cells to adding or removing one subscriber.
    pub sensitivity: u64,
    /// ε of the table, in millionths.
    pub epsilon_micro: u64,
}

impl Budgeted {
    /// The discrete Laplace scale Δ/ε as an exact ratio.
    pub(crate) fn scale(&self) -> Ratio {
        Ratio::new(
            u128::from(self.sensitivity) * u128::from(MICRO),
            u128::from(self.epsilon_micro.max(1)),
        )
    }

    /// The scale Δ/ε as a float, for margins and the manifest.
    pub(crate) fn scale_f64(&self) -> f64 {
        self.sensitivity as f64 * MICRO as f64 / self.epsilon_micro.max(1) as f64
    }

    /// The 95 % margin of error of a count that sums `cells` noisy interior cells: for one
    /// cell the exact quantile of the discrete Laplace, P(|Z| > m) = 2q^(m+1)/(1+q) ≤ 5 % with
    /// q = e^(−1/scale); for a sum the normal approximation 1.96 √(n · 2q/(1−q)²).
    pub(crate) fn margin_of_error(&self, cells: u64) -> u64 {
        let q = (-1.0 / self.scale_f64()).exp();
        if cells <= 1 {
            let m = ((0.025 * (1.0 + q)).ln() / q.ln()).ceil() - 1.0;
            return m.max(0.0) as u64;
        }
        let variance = cells as f64 * 2.0 * q / (1.0 - q).powi(2);
        (1.96 * variance.sqrt()).ceil() as u64
    }
}

/// The table published from its true interior counts over the full public domain (`interior`
/// holds every cell, zeros included, one label per dimension), with `rng` drawing the noise.
pub(crate) fn release<R: Rng + ?Sized>(
    name: &str,
    population: &str,
    dims: &[String],
    interior: &[(Vec<String>, u64)],
    budget: Budgeted,
    rng: &mut R,
) -> Published {
    let scale = budget.scale();
    let noisy: Vec<(Vec<String>, u64)> = interior
        .iter()
        .map(|(key, count)| {
            let value = i64::try_from(*count).unwrap_or(i64::MAX);
            let noisy = value.saturating_add(discrete_laplace(rng, scale));
            (key.clone(), u64::try_from(noisy).unwrap_or(0))
        })
        .collect();
    let mut margins: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for (key, count) in &noisy {
        for mask in 1..1usize << dims.len() {
            let margin = key
                .iter()
                .enumerate()
                .map(|(d, label)| {
                    if mask >> d & 1 == 1 {
                        TOTAL.to_owned()
                    } else {
                        label.clone()
                    }
                })
                .collect();
            *margins.entry(margin).or_default() += count;
        }
    }
    let cells = noisy
        .into_iter()
        .chain(margins)
        .map(|(key, count)| PublishedCell {
            key,
            count: Some(count),
            primary: false,
            secondary: false,
        })
        .collect();
    Published {
        name: name.to_owned(),
        population: population.to_owned(),
        dims: dims.to_vec(),
        cells,
        primary: 0,
        by_rule: Default::default(),
        secondary: 0,
    }
}

#[cfg(test)]
mod tests;
