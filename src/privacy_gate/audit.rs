//! The linear-programming audit of a suppressed table, as tau-ARGUS does it: an attacker knows
//! every published count, that each line adds up to its total, that a hidden count is an
//! integer of at least 1 (zeros are always published) and at most the table's total. For each
//! hidden cell the audit computes the smallest and largest value consistent with all of that;
//! a cell whose range holds a single integer is pinned — it was not protected.

use std::collections::BTreeMap;

use microlp::{ComparisonOp, OptimizationDirection, Problem};

use super::cells::{Published, PublishedCell, TOTAL, Table};

/// A hidden cell the audit could pin (or a published count in 1..k-1).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFinding {
    pub table: String,
    pub key: Vec<String>,
    pub lower: f64,
    pub upper: f64,
}

impl std::fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: cell [{}] is recoverable: it must lie in [{:.2}, {:.2}]",
            self.table,
            self.key.join(", "),
            self.lower,
            self.upper
        )
    }
}

/// A table as a dense grid of (n_i + 1) positions per dimension, the last being TOTAL.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub labels: Vec<Vec<String>>,
    pub counts: Vec<u64>,
    pub hidden: Vec<bool>,
}

impl Grid {
    pub fn from_table(t: &Table) -> Grid {
        let labels: Vec<Vec<String>> = (0..t.dims.len())
            .map(|d| {
                let mut l: Vec<String> = t.cells.keys().map(|k| k[d].clone()).collect();
                l.sort();
                l.dedup();
                l
            })
            .collect();
        let mut g = Grid::empty(labels);
        let index: Vec<BTreeMap<&str, usize>> = g
            .labels
            .iter()
            .map(|l| l.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect())
            .collect();
        let mut interior = Vec::new();
        for (key, &count) in &t.cells {
            let pos: Vec<usize> = key
                .iter()
                .enumerate()
                .map(|(d, l)| index[d][l.as_str()])
                .collect();
            interior.push((pos, count));
        }
        for (pos, count) in interior {
            // Add the count to the cell and to every marginal above it.
            for mask in 0..(1usize << pos.len()) {
                let p: Vec<usize> = pos
                    .iter()
                    .enumerate()
                    .map(|(d, &i)| {
                        if mask & (1 << d) != 0 {
                            g.labels[d].len()
                        } else {
                            i
                        }
                    })
                    .collect();
                let at = g.offset(&p);
                g.counts[at] += count;
            }
        }
        g
    }

    /// Rebuilds a grid from published cells; hidden cells get count 0 (unknown).
    pub fn from_published(p: &Published) -> Result<Grid, String> {
        let labels: Vec<Vec<String>> = (0..p.dims.len())
            .map(|d| {
                let mut l: Vec<String> = p
                    .cells
                    .iter()
                    .map(|c| c.key[d].clone())
                    .filter(|l| l != TOTAL)
                    .collect();
                l.sort();
                l.dedup();
                l
            })
            .collect();
        let mut g = Grid::empty(labels);
        let mut seen = vec![false; g.counts.len()];
        for c in &p.cells {
            if c.key.len() != p.dims.len() {
                return Err(format!(
                    "{}: a row has {} dimension values, expected {}",
                    p.name,
                    c.key.len(),
                    p.dims.len()
                ));
            }
            let pos: Vec<usize> = c
                .key
                .iter()
                .enumerate()
                .map(|(d, l)| {
                    if l == TOTAL {
                        g.labels[d].len()
                    } else {
                        g.labels[d].binary_search(l).unwrap_or(0)
                    }
                })
                .collect();
            let at = g.offset(&pos);
            seen[at] = true;
            match c.count {
                Some(n) => g.counts[at] = n,
                None => g.hidden[at] = true,
            }
        }
        // Absent cells of the grid are published zeros only if the table lists its zeros; a
        // missing marginal is not publishable information, so treat it as hidden.
        for (i, s) in seen.iter().enumerate() {
            if !s && g.is_margin(i) {
                g.hidden[i] = true;
            }
        }
        Ok(g)
    }

    fn empty(labels: Vec<Vec<String>>) -> Grid {
        let size = labels.iter().map(|l| l.len() + 1).product();
        Grid {
            labels,
            counts: vec![0; size],
            hidden: vec![false; size],
        }
    }

    fn extent(&self, d: usize) -> usize {
        self.labels[d].len() + 1
    }

    pub fn offset(&self, pos: &[usize]) -> usize {
        pos.iter()
            .enumerate()
            .fold(0, |acc, (d, &i)| acc * self.extent(d) + i)
    }

    fn position(&self, mut at: usize) -> Vec<usize> {
        let mut pos = vec![0; self.labels.len()];
        for d in (0..self.labels.len()).rev() {
            pos[d] = at % self.extent(d);
            at /= self.extent(d);
        }
        pos
    }

    pub fn is_margin(&self, at: usize) -> bool {
        self.position(at)
            .iter()
            .enumerate()
            .any(|(d, &i)| i == self.labels[d].len())
    }

    /// Cell keys in grid order.
    pub fn keys(&self) -> impl Iterator<Item = Vec<String>> + '_ {
        (0..self.counts.len()).map(|at| {
            self.position(at)
                .iter()
                .enumerate()
                .map(|(d, &i)| {
                    self.labels[d]
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| TOTAL.to_string())
                })
                .collect()
        })
    }

    /// Every line: the cells along one dimension, the total last.
    pub fn lines(&self) -> Vec<Vec<usize>> {
        let mut lines = Vec::new();
        for d in 0..self.labels.len() {
            for at in 0..self.counts.len() {
                let pos = self.position(at);
                if pos[d] == 0 {
                    lines.push(self.line(&pos, d));
                }
            }
        }
        lines
    }

    pub fn lines_through(&self, at: usize) -> Vec<Vec<usize>> {
        let pos = self.position(at);
        (0..self.labels.len()).map(|d| self.line(&pos, d)).collect()
    }

    fn line(&self, pos: &[usize], d: usize) -> Vec<usize> {
        let mut p = pos.to_vec();
        (0..self.extent(d))
            .map(|i| {
                p[d] = i;
                self.offset(&p)
            })
            .collect()
    }

    pub fn publish(self, t: &Table, primary: &[bool]) -> Published {
        let keys: Vec<Vec<String>> = self.keys().collect();
        let mut cells: Vec<(bool, PublishedCell)> = keys
            .into_iter()
            .enumerate()
            .map(|(at, key)| {
                let hidden = self.hidden[at];
                (
                    self.is_margin(at),
                    PublishedCell {
                        key,
                        count: (!hidden).then_some(self.counts[at]),
                        primary: primary[at],
                        secondary: hidden && !primary[at],
                    },
                )
            })
            .collect();
        // Interior cells first, then the marginals; grid order within each.
        cells.sort_by_key(|(margin, _)| *margin);
        let cells: Vec<PublishedCell> = cells.into_iter().map(|(_, c)| c).collect();
        Published {
            name: t.name.clone(),
            population: t.population.clone(),
            dims: t.dims.clone(),
            primary: cells.iter().filter(|c| c.primary).count(),
            secondary: cells.iter().filter(|c| c.secondary).count(),
            cells,
        }
    }
}

/// Hidden cells of the grid whose feasible range holds a single integer.
pub(crate) fn pinned_cells(g: &Grid) -> Vec<usize> {
    ranges(g)
        .into_iter()
        .filter(|&(_, lo, hi)| single_integer(lo, hi))
        .map(|(at, ..)| at)
        .collect()
}

fn single_integer(lo: f64, hi: f64) -> bool {
    (hi + 1e-6).floor() - (lo - 1e-6).ceil() < 1.0
}

/// (cell, min, max) for every hidden cell.
fn ranges(g: &Grid) -> Vec<(usize, f64, f64)> {
    let hidden: Vec<usize> = (0..g.counts.len()).filter(|&i| g.hidden[i]).collect();
    if hidden.is_empty() {
        return Vec::new();
    }
    let var_of: BTreeMap<usize, usize> =
        hidden.iter().enumerate().map(|(v, &at)| (at, v)).collect();
    // Only lines that hold a hidden cell constrain anything.
    let constraints: Vec<(Vec<(usize, f64)>, f64)> = g
        .lines()
        .into_iter()
        .filter(|line| line.iter().any(|i| g.hidden[*i]))
        .map(|line| {
            let (total, interior) = line.split_last().expect("a line has a total");
            let mut terms = Vec::new();
            let mut rhs = 0.0;
            for &i in interior {
                match var_of.get(&i) {
                    Some(&v) => terms.push((v, 1.0)),
                    None => rhs -= g.counts[i] as f64,
                }
            }
            match var_of.get(total) {
                Some(&v) => terms.push((v, -1.0)),
                None => rhs += g.counts[*total] as f64,
            }
            (terms, rhs)
        })
        .collect();
    let upper = g.counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 2.0 + 1e6;
    // Hidden cells that share no constraint, directly or through others, cannot inform each
    // other: solve each connected component on its own, which keeps every LP small.
    let mut component: Vec<usize> = (0..hidden.len()).collect();
    fn root(c: &mut [usize], mut v: usize) -> usize {
        while c[v] != v {
            c[v] = c[c[v]];
            v = c[v];
        }
        v
    }
    for (terms, _) in &constraints {
        for w in terms.windows(2) {
            let (a, b) = (root(&mut component, w[0].0), root(&mut component, w[1].0));
            component[a] = b;
        }
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for v in 0..hidden.len() {
        let r = root(&mut component, v);
        members.entry(r).or_default().push(v);
    }
    let mut out = Vec::new();
    for vars_of_component in members.values() {
        let local: BTreeMap<usize, usize> = vars_of_component.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let rows: Vec<&(Vec<(usize, f64)>, f64)> =
            constraints.iter().filter(|(terms, _)| terms.first().is_some_and(|(v, _)| local.contains_key(v))).collect();
        let solve = |target: usize, direction: OptimizationDirection| -> Option<f64> {
            let mut problem = Problem::new(direction);
            let vars: Vec<_> = (0..local.len())
                .map(|v| problem.add_var(if v == target { 1.0 } else { 0.0 }, (1.0, upper)))
                .collect();
            for (terms, rhs) in &rows {
                let expr: Vec<_> = terms.iter().map(|&(v, c)| (vars[local[&v]], c)).collect();
                problem.add_constraint(expr.as_slice(), ComparisonOp::Eq, *rhs);
            }
            let outcome = problem.solve().ok()?;
            outcome.solution().map(|s| s[vars[target]])
        };
        for (i, &v) in vars_of_component.iter().enumerate() {
            if let (Some(lo), Some(hi)) =
                (solve(i, OptimizationDirection::Minimize), solve(i, OptimizationDirection::Maximize))
            {
                out.push((hidden[v], lo, hi));
            }
        }
    }
    out
}

/// The audit of a published table: pinned hidden cells, and published counts in 1..k-1.
pub fn audit(p: &Published, k: u64) -> Vec<AuditFinding> {
    let mut findings: Vec<AuditFinding> = p
        .cells
        .iter()
        .filter_map(|c| match c.count {
            Some(n) if (1..k).contains(&n) => Some(AuditFinding {
                table: p.name.clone(),
                key: c.key.clone(),
                lower: n as f64,
                upper: n as f64,
            }),
            _ => None,
        })
        .collect();
    let g = match Grid::from_published(p) {
        Ok(g) => g,
        Err(_) => return findings,
    };
    let keys: Vec<Vec<String>> = g.keys().collect();
    for (at, lo, hi) in ranges(&g) {
        if single_integer(lo, hi) {
            findings.push(AuditFinding {
                table: p.name.clone(),
                key: keys[at].clone(),
                lower: lo,
                upper: hi,
            });
        }
    }
    findings
}
