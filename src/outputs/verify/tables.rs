//! The checks of a table read back: margins present and adding up, no suppressed cell
//! recoverable along one line, and the LP audit across the tables of one population.

use std::collections::{BTreeMap, HashSet};

use super::Failures;
use super::identifiers::show_key;
use crate::outputs::export::MANIFEST;
use crate::outputs::manifest::TableFacts;
use crate::privacy::{self, Problem, Published, PublishedCell, TOTAL};

/// The manifest's suppression facts agree with the files: as many primary and secondary
/// cells as they mark, the rules adding up to the primary ones, and a dominance share that is
/// one. Which rule hid a cell needs the subscribers behind it, which no file holds.
pub(super) fn check_facts(table: &Published, facts: &TableFacts, out: &mut Failures) {
    let file = &table.name;
    let claimed = (facts.primary_suppressed, facts.secondary_suppressed);
    if (table.primary, table.secondary) != claimed {
        out.push(format!(
            "{file}: {MANIFEST} says {} primary and {} secondary cells are withheld, the files \
             mark {} and {}",
            claimed.0, claimed.1, table.primary, table.secondary
        ));
    }
    if let Some(r) = facts.suppressed_by_rule {
        let primary = r.small_count + r.few_subscribers + r.dominance;
        if primary != facts.primary_suppressed || r.secondary != facts.secondary_suppressed {
            out.push(format!(
                "{file}: {MANIFEST}'s cells suppressed by rule do not add up to its primary and \
                 secondary counts"
            ));
        }
    }
    if let Some(p) = facts.dominance.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
        out.push(format!(
            "{file}: {MANIFEST} gives dominance {p}, not a share in (0, 1]"
        ));
    }
}

/// Margins present and adding up, no cell recoverable by subtraction along one line; true when
/// the table passes and can go to the LP audit (which would only repeat these findings).
pub(super) fn check_lines(table: &Published, out: &mut Failures) -> bool {
    let file = &table.name;
    let failures_before = out.total;
    let mut missing = 0usize;
    let mut first_missing = None;
    for d in 0..table.dims.len() {
        // Lines along dimension d: the cells that agree everywhere but at d.
        let mut lines: BTreeMap<Vec<&str>, (Option<usize>, Vec<usize>)> = BTreeMap::new();
        for (i, cell) in table.cells.iter().enumerate() {
            let Some(label) = cell.key.get(d) else {
                continue;
            };
            let rest: Vec<&str> = cell
                .key
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != d)
                .map(|(_, l)| l.as_str())
                .collect();
            let line = lines.entry(rest).or_default();
            if label == TOTAL {
                line.0 = Some(i);
            } else {
                line.1.push(i);
            }
        }
        for (margin, members) in lines.values() {
            let Some(margin) = *margin else {
                missing += 1;
                first_missing.get_or_insert_with(|| {
                    let mut key = table.cells[members[0]].key.clone();
                    key[d] = TOTAL.to_owned();
                    key
                });
                continue;
            };
            let line = members.iter().chain([&margin]).map(|&i| &table.cells[i]);
            let hidden: Vec<&PublishedCell> = line.clone().filter(|c| c.count.is_none()).collect();
            match hidden.as_slice() {
                [] if !members.is_empty() => {
                    let sum: u128 = members
                        .iter()
                        .map(|&i| u128::from(table.cells[i].count.unwrap_or(0)))
                        .sum();
                    let total = table.cells[margin].count.unwrap_or(0);
                    if sum != u128::from(total) {
                        out.push(format!(
                            "{file}: total {} is {total} but its cells along {} add up to {sum}",
                            show_key(&table.cells[margin].key),
                            table.dims[d]
                        ));
                    }
                }
                [only] if !members.is_empty() => {
                    out.push(format!(
                        "{file}: suppressed cell {} can be recovered by subtraction along {}",
                        show_key(&only.key),
                        table.dims[d]
                    ));
                }
                _ => {}
            }
        }
    }
    if let Some(key) = first_missing {
        out.push(format!(
            "{file}: {missing} marginal total(s) missing, e.g. {}",
            show_key(&key)
        ));
    }
    out.total == failures_before && complete(table, out)
}

/// Whether the file has a row for every combination of its labels and totals. Rows for a few
/// combinations only, margins and all, can add up line by line, yet the audit would lay out
/// every combination: (labels + 1)^dims cells.
fn complete(table: &Published, out: &mut Failures) -> bool {
    let combinations = (0..table.dims.len()).try_fold(1usize, |n, d| {
        let labels: HashSet<&str> = table
            .cells
            .iter()
            .filter_map(|c| c.key.get(d).map(String::as_str))
            .filter(|&l| l != TOTAL)
            .collect();
        n.checked_mul(labels.len() + 1)
    });
    if combinations == Some(table.cells.len()) {
        return true;
    }
    let combinations = combinations.map_or_else(|| "too many".to_owned(), |n| n.to_string());
    out.push(format!(
        "{}: {} rows, but its labels and totals combine into {combinations} cells, each of \
         which needs a row",
        table.name,
        table.cells.len()
    ));
    false
}

/// The gate's LP audit over the tables read back, those of one population together as they
/// were suppressed: it finds cells that several lines combined pin down.
pub(super) fn audit(tables: &[Published], out: &mut Failures) {
    for finding in privacy::audit_linked(tables) {
        let what = match &finding.problem {
            Problem::Pinned { min, max } => format!(
                "suppressed cell can be worked out from the published counts (between {min} and {max})"
            ),
            Problem::Inconsistent(why) => format!("inconsistent: {why}"),
            Problem::Malformed(why) => format!("malformed: {why}"),
            Problem::Unverified(why) => format!("could not be audited: {why}"),
        };
        out.push(format!(
            "{}: cell {}: {what}",
            finding.table,
            show_key(&finding.key)
        ));
    }
}
