//! The comparison in docs/privacy-model.md: on synthetic data, per statistics table, how much
//! cell suppression publishes and how far differentially private counts stray from the true
//! counts at a few ε, on the same interior cells. Run by `examples/dp_compare.rs`.

use std::collections::HashMap;

use chrono::Utc;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};
use crate::job::scan::{Sinks, scan_snapshot};
use crate::outputs::aggregate::{Aggregates, Bound, dp};
use crate::privacy::dp::to_micro;
use crate::privacy::{self, Rules, TOTAL};
use crate::transform::pseudonymize::{Key, Pseudonymizer};

/// What the comparison is run with.
pub struct Settings {
    pub rows: u64,
    pub k: u64,
    pub epsilons: Vec<f64>,
    pub max_certificates: u32,
    pub max_months: u32,
    pub max_certificate_months: u32,
    pub window_months: u32,
}

/// One table's figures.
pub struct Comparison {
    pub table: String,
    /// Interior cells compared: those the suppressed table has within the DP release window.
    pub cells: usize,
    /// Share of those cells suppression publishes.
    pub published: f64,
    /// Share of the table's true total in the cells suppression hides.
    pub hidden: f64,
    /// Per ε of [`Settings::epsilons`].
    pub dp: Vec<DpFigures>,
}

pub struct DpFigures {
    /// Mean |published − true| over the cells.
    pub mean_abs_error: f64,
    /// Σ|published − true| / Σ true.
    pub relative_error: f64,
    /// 95 % margin of error of one cell's noise.
    pub margin: u64,
}

/// Seeds a throwaway cluster, scans it once and compares, table by table.
pub fn compare(settings: &Settings) -> Result<Vec<Comparison>> {
    let (cluster, connect) = super::seeded_cluster(settings.rows)?;
    let spill = tempfile::tempdir().at(std::env::temp_dir())?;
    let aggregates = Aggregates::new(spill.path(), Utc::now())?;
    let (first, last) = aggregates.window(settings.window_months);
    let bound = Bound {
        max_certificates: settings.max_certificates,
        max_months: settings.max_months,
        max_certificate_months: settings.max_certificate_months,
        first,
        last,
    };
    let sinks = Sinks {
        extract: None,
        aggregates: Some(aggregates),
    };
    let key = Key::random("compare")?;
    let scanned = crate::job::runtime()?.block_on(scan_snapshot(
        &connect,
        Pseudonymizer::new(&key),
        sinks,
        false,
    ))?;
    drop(cluster);
    let Some(aggregates) = scanned.sinks.aggregates else {
        return Ok(Vec::new());
    };
    let tallied = aggregates.finish(&[bound])?;
    let rules = Rules {
        k: settings.k,
        dominance: 0.5,
    };
    let suppressed = privacy::suppress_tables(&tallied.tables, rules)?;
    let bounded = &tallied.bounded[0];
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let noisy: Vec<_> = settings
        .epsilons
        .iter()
        .map(|&e| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            // Each table its own stream, as a real release derives it per table: one stream
            // shared by every table would correlate their errors.
            dp::noisy(bounded, to_micro(e), |table| {
                Sha256::new()
                    .chain_update(seed)
                    .chain_update(table.as_bytes())
                    .finalize()
                    .into()
            })
        })
        .collect();
    let mut out = Vec::new();
    for (t, raw) in tallied.tables.iter().enumerate() {
        let domain: HashMap<&[String], usize> = bounded[t]
            .interior
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (key.as_slice(), i))
            .collect();
        let cells: Vec<(&[String], Option<u64>, usize)> = suppressed[t]
            .cells
            .iter()
            .filter(|c| !c.key.iter().any(|l| l == TOTAL))
            .filter_map(|c| Some((c.key.as_slice(), c.count, *domain.get(c.key.as_slice())?)))
            .collect();
        let truth = |key: &[String]| raw.cells.get(key).copied().unwrap_or(0);
        let total: u64 = cells.iter().map(|(k, ..)| truth(k)).sum();
        let hidden: u64 = cells
            .iter()
            .filter(|c| c.1.is_none())
            .map(|(k, ..)| truth(k))
            .sum();
        let dp = noisy
            .iter()
            .map(|(published, budgets)| {
                let errors: Vec<u64> = cells
                    .iter()
                    .map(|&(key, _, i)| {
                        published[t].cells[i]
                            .count
                            .unwrap_or(0)
                            .abs_diff(truth(key))
                    })
                    .collect();
                let sum: u64 = errors.iter().sum();
                DpFigures {
                    mean_abs_error: sum as f64 / errors.len().max(1) as f64,
                    relative_error: sum as f64 / total.max(1) as f64,
                    margin: budgets[t].margin_of_error(1),
                }
            })
            .collect();
        out.push(Comparison {
            table: raw.name.clone(),
            cells: cells.len(),
            published: cells.iter().filter(|c| c.1.is_some()).count() as f64
                / cells.len().max(1) as f64,
            hidden: hidden as f64 / total.max(1) as f64,
            dp,
        });
    }
    Ok(out)
}
