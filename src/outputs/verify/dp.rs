//! The checks of a differentially private table read back, beyond its totals adding up: ε
//! recorded, every cell of its public domain present and nothing else, and the tables' ε
//! adding up to what the release says it spent. The suppression rules do not apply: a DP
//! table hides nothing and may publish any non-negative count.

use std::collections::HashSet;

use super::Failures;
use super::identifiers::show_key;
use crate::outputs::aggregate::{domain_labels_of, month_code_of, product};
use crate::outputs::export::MANIFEST;
use crate::outputs::manifest::{DpPolicy, DpTableFacts, FileFacts, Manifest};
use crate::privacy::{Published, TOTAL};

/// The table's ε is recorded, and its interior is exactly its public domain.
pub(super) fn check(
    table: &Published,
    facts: &DpTableFacts,
    policy: Option<&DpPolicy>,
    out: &mut Failures,
) {
    let file = &table.name;
    if !(facts.epsilon.is_finite() && facts.epsilon > 0.0) {
        out.push(format!(
            "{file}: {MANIFEST} records no positive epsilon for it"
        ));
    }
    let withheld = table.cells.iter().filter(|c| c.count.is_none()).count();
    if withheld > 0 {
        out.push(format!(
            "{file}: {withheld} count(s) withheld, but a differentially private table withholds none"
        ));
    }
    if facts.sensitivity == 0 {
        out.push(format!("{file}: {MANIFEST} records a sensitivity of 0"));
    }
    let Some(policy) = policy else {
        out.push(format!(
            "{file}: {MANIFEST} has no policy.dp, so the release window is unknown"
        ));
        return;
    };
    let window = policy.window.each_ref().map(|m| month_code_of(m));
    let [Some(first), Some(last)] = window else {
        out.push(format!(
            "{MANIFEST}: policy.dp.window is not two months YYYY-MM"
        ));
        return;
    };
    let stem = file.strip_suffix(".csv").unwrap_or(file);
    let Some(axes) = domain_labels_of(stem, first, last) else {
        out.push(format!("{file}: not a table certanon publishes"));
        return;
    };
    let interior: HashSet<&[String]> = table
        .cells
        .iter()
        .map(|c| c.key.as_slice())
        .filter(|k| !k.iter().any(|l| l == TOTAL))
        .collect();
    let mut expected = 0usize;
    let mut missing = Vec::new();
    product(&axes, &mut |k| {
        expected += 1;
        if !interior.contains(k) {
            missing.push(k.to_vec());
        }
    });
    if let Some(first) = missing.first() {
        out.push(format!(
            "{file}: {} cell(s) of the public domain missing, e.g. {}",
            missing.len(),
            show_key(first)
        ));
    }
    let extra = interior.len() + missing.len() - expected;
    if extra > 0 {
        out.push(format!(
            "{file}: {extra} cell(s) outside the public domain of its window"
        ));
    }
}

/// The DP tables' ε add up to what `policy.dp` says a release spends.
pub(super) fn check_spending(manifest: &Manifest, out: &mut Failures) {
    let tables: Vec<f64> = manifest
        .privacy
        .values()
        .filter_map(|f| match f {
            FileFacts::DpTable(t) => Some(t.epsilon),
            _ => None,
        })
        .collect();
    match (&manifest.policy.dp, tables.is_empty()) {
        (None, true) => {}
        (None, false) => out.push(format!(
            "{MANIFEST}: differentially private tables without policy.dp"
        )),
        (Some(policy), _) => {
            let sum: f64 = tables.iter().sum();
            if (sum - policy.epsilon_per_release).abs() > 1e-6 {
                out.push(format!(
                    "{MANIFEST}: the tables' epsilon add up to {sum}, policy.dp says {}",
                    policy.epsilon_per_release
                ));
            }
        }
    }
}
