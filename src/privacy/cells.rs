//! Cell suppression for aggregate tables: every table is published with its full hypercube of
//! margins; a non-zero count is suppressed (primary) when it is below k, comes from fewer than k
//! distinct contributors, or one contributor holds more than p of it ([`Rules`]); then enough
//! other cells (secondary) that no suppressed cell can be worked out, checked by the LP audit.
//!
//! Secondary cells are chosen the way tau-ARGUS's hypercube method does: each suppressed cell is
//! made a corner of a (hyper)rectangle of suppressed non-zero cells, cheapest in the counts it
//! hides, along which the published counts stay the same when the corners shift by ±d, with d
//! free over at least two integers. Where the cheapest rectangle would hide many people (in
//! sparse tables a cell of 1 among cells of 1 can need the grand total), the single-cell
//! protection LP looks for a cheaper pattern. Tables of one population that publish the same
//! cell are kept suppressed alike, and the audit of all tables together decides: a cell it still
//! finds pinned gets another protection, until it finds nothing. Each round hides at least one
//! more cell, so this ends.

use std::collections::{BTreeMap, HashSet};

use super::disclosure::{Located, locate};
use super::grid::{CellId, Grid};
use super::table::{
    ByRule, Contributors, Problem, Published, PublishedCell, Rule, Rules, TOTAL, Table,
};
use crate::error::{Error, Result};

/// Suppresses the tables together; the result is in the order of `tables`. Fails closed: a
/// table the audit still flags when nothing is left to suppress is an error, never published.
pub(crate) fn suppress_tables(tables: &[Table], rules: Rules) -> Result<Vec<Published>> {
    suppress_audited(tables, rules, locate)
}

/// `suppress_tables` with the audit to satisfy.
fn suppress_audited(
    tables: &[Table],
    rules: Rules,
    audit: impl Fn(&[Published]) -> Vec<Located>,
) -> Result<Vec<Published>> {
    let mut works = tables
        .iter()
        .map(|t| Work::new(t, rules))
        .collect::<Result<Vec<_>>>()?;
    let links = links(&works)?;
    loop {
        protect(&mut works, &links);
        let views: Vec<Published> = works.iter().map(Work::publish).collect();
        let mut open: Vec<(usize, usize)> = audit(&views)
            .into_iter()
            .filter(|f| matches!(f.problem, Problem::Pinned { .. } | Problem::Unverified(_)))
            .filter_map(|f| Some((f.table, works[f.table].grid.index_of(&f.key)?)))
            .collect();
        if open.is_empty() {
            return Ok(views);
        }
        open.sort_unstable();
        open.dedup();
        let mut progress = false;
        for &(t, index) in &open {
            if let Some(p) = works[t].protection(index, true) {
                works[t].apply(&p);
                progress = true;
            }
        }
        if !progress {
            progress = open.iter().any(|&(t, index)| widen(&mut works, t, index));
        }
        if !progress {
            // Every non-zero cell of the population is hidden: then all relations are
            // homogeneous and doubling every unknown is feasible, so nothing can be pinned. If
            // the audit says otherwise, no table it flags may be published.
            let mut names: Vec<&str> = open.iter().map(|&(t, _)| works[t].name.as_str()).collect();
            names.dedup();
            return Err(Error::Other(format!(
                "cell suppression: the audit still finds disclosed cells in aggregate table(s) {} \
                 with nothing left to suppress; nothing is published",
                names.join(", ")
            )));
        }
    }
}

/// One table being worked on.
struct Work {
    name: String,
    population: String,
    grid: Grid,
    values: Vec<u64>,
    k: u64,
    /// The rule each primary-suppressed cell broke.
    primary: Vec<Option<Rule>>,
    suppressed: Vec<bool>,
    /// Covered by a protection chosen in this table.
    protected: Vec<bool>,
}

impl Work {
    fn new(table: &Table, rules: Rules) -> Result<Work> {
        let fail = |why: String| Error::Other(format!("aggregate table {}: {why}", table.name));
        let width = table.dims.len();
        if table.dims.iter().collect::<HashSet<_>>().len() != width {
            return Err(fail("a dimension is named twice".into()));
        }
        for key in table.cells.keys() {
            if key.len() != width {
                return Err(fail(format!(
                    "a cell has {} labels for {width} dimensions",
                    key.len()
                )));
            }
            if let Some(d) = key.iter().position(|l| l == TOTAL) {
                return Err(fail(format!(
                    "dimension {} has a label spelled {TOTAL}, which marks margins",
                    table.dims[d]
                )));
            }
        }
        let grid = Grid::new(
            table.dims.clone(),
            Grid::labels_of(width, table.cells.keys().map(Vec::as_slice)),
        )
        .map_err(fail)?;
        let mut values = vec![0u64; grid.len()];
        for (key, &count) in &table.cells {
            if let Some(index) = grid.index_of(key) {
                values[index] = count;
            }
        }
        // A margin with j summed dimensions is the sum of its line along any one of them,
        // whose members have j - 1: fill them in that order.
        let mut by_summed: Vec<Vec<usize>> = vec![Vec::new(); width + 1];
        for index in 0..grid.len() {
            let summed = (0..width)
                .filter(|&d| grid.coord(index, d) == grid.total_coord(d))
                .count();
            by_summed[summed].push(index);
        }
        for cells in &by_summed[1..] {
            for &index in cells {
                let d = (0..width)
                    .find(|&d| grid.coord(index, d) == grid.total_coord(d))
                    .unwrap_or(0);
                values[index] = (0..grid.total_coord(d))
                    .map(|c| values[grid.with(index, d, c)])
                    .sum();
            }
        }
        let primary: Vec<Option<Rule>> = (0..grid.len())
            .map(|index| {
                let count = values[index];
                let who =
                    table
                        .contributors
                        .get(&grid.key(index))
                        .copied()
                        .unwrap_or(Contributors {
                            distinct: count,
                            largest: count.min(1),
                        });
                rules.broken(count, who)
            })
            .collect();
        Ok(Work {
            name: table.name.clone(),
            population: table.population.clone(),
            protected: vec![false; grid.len()],
            grid,
            values,
            k: rules.k,
            suppressed: primary.iter().map(Option::is_some).collect(),
            primary,
        })
    }

    fn publish(&self) -> Published {
        let cells: Vec<PublishedCell> = (0..self.grid.len())
            .map(|index| {
                let hidden = self.suppressed[index];
                let primary = self.is_primary(index);
                PublishedCell {
                    key: self.grid.key(index),
                    count: (!hidden).then_some(self.values[index]),
                    primary,
                    secondary: hidden && !primary,
                }
            })
            .collect();
        let mut by_rule = ByRule::default();
        for &rule in self.primary.iter().flatten() {
            by_rule.add(rule);
        }
        Published {
            name: self.name.clone(),
            population: self.population.clone(),
            dims: self.grid.dims.clone(),
            primary: by_rule.total(),
            by_rule,
            secondary: cells.iter().filter(|c| c.secondary).count(),
            cells,
        }
    }

    fn is_primary(&self, index: usize) -> bool {
        self.primary[index].is_some()
    }

    /// Cells to hide so that `target` is no longer pinned within this table: the cheapest
    /// rectangle, or, when that would hide many people, a cheaper pattern found by linear
    /// programming if there is one. `fresh` asks for at least one newly hidden cell.
    fn protection(&self, target: usize, fresh: bool) -> Option<Protection> {
        let cube = self.cheapest_cube(target, fresh);
        let expensive = 40 * self.k.max(1);
        match cube {
            Some(c) if c.cost <= expensive => Some(c),
            cube => match (cube, self.lp_protection(target, fresh)) {
                (Some(c), Some(l)) => Some(if l.cost < c.cost { l } else { c }),
                (c, l) => c.or(l),
            },
        }
    }

    fn apply(&mut self, p: &Protection) {
        for &c in &p.hide {
            self.suppressed[c] = true;
        }
        for &c in &p.protected {
            self.protected[c] = true;
        }
    }

    /// The cheapest rectangle (hypercube) with `target` at a corner that protects it: all
    /// corners non-zero, and the shift along it free over at least two integers. The cost is
    /// the counts it newly hides. The shift moves every corner by the same amount, so every
    /// corner is protected by it.
    fn cheapest_cube(&self, target: usize, fresh: bool) -> Option<Protection> {
        const MAX_CUBES: usize = 50_000;
        let g = &self.grid;
        let dims = g.dims.len();
        if dims == 0 || self.values[target] == 0 {
            return None;
        }
        let own: Vec<usize> = (0..dims).map(|d| g.coord(target, d)).collect();
        let mut options: Vec<Vec<usize>> = (0..dims)
            .map(|d| {
                let mut o: Vec<usize> = (0..=g.total_coord(d))
                    .filter(|&c| c != own[d] && self.values[g.with(target, d, c)] > 0)
                    .collect();
                o.sort_by_key(|&c| (self.values[g.with(target, d, c)], c));
                o
            })
            .collect();
        if options.iter().any(Vec::is_empty) {
            return None;
        }
        if options.iter().map(Vec::len).product::<usize>() > MAX_CUBES {
            // Keep the cheapest neighbours, and TOTAL, which always completes a cube.
            let keep = (MAX_CUBES as f64).powf(1.0 / dims as f64).floor().max(2.0) as usize;
            for (d, o) in options.iter_mut().enumerate() {
                let total = g.total_coord(d);
                let has_total = o.contains(&total);
                o.truncate(keep);
                if has_total && !o.contains(&total) {
                    o.push(total);
                }
            }
        }
        let mut best: Option<((u64, usize), Vec<usize>)> = None;
        let mut pick = vec![0usize; dims];
        'cubes: loop {
            let alt: Vec<usize> = (0..dims).map(|d| options[d][pick[d]]).collect();
            if let Some((cost, corners)) = self.cube(target, &own, &alt)
                && (!fresh || cost.1 > 0)
                && best.as_ref().is_none_or(|(b, _)| cost < *b)
            {
                best = Some((cost, corners));
            }
            for d in 0..=dims {
                if d == dims {
                    break 'cubes;
                }
                pick[d] += 1;
                if pick[d] < options[d].len() {
                    break;
                }
                pick[d] = 0;
            }
        }
        best.map(|((cost, _), corners)| Protection {
            protected: corners.clone(),
            hide: corners,
            cost,
        })
    }

    /// Protection by the classic single-cell LP (Fischetti–Salazar): the cheapest change `y`
    /// of the table's non-zero cells that keeps every line adding up and every cell ≥ 1 and
    /// moves `target` by one, counting each visible cell's count per unit it moves (hidden
    /// cells move almost free). The cells that move are hidden; those moving by a whole unit
    /// are protected by the same shift. Both directions are tried.
    fn lp_protection(&self, target: usize, fresh: bool) -> Option<Protection> {
        use microlp::{ComparisonOp, OptimizationDirection, Problem, Variable};
        let g = &self.grid;
        let cells: Vec<usize> = (0..g.len()).filter(|&c| self.values[c] > 0).collect();
        let mut local = vec![usize::MAX; g.len()];
        for (i, &c) in cells.iter().enumerate() {
            local[c] = i;
        }
        let lines = g.lines();
        let mut best: Option<Protection> = None;
        for step in [1.0, -1.0] {
            if step < 0.0 && self.values[target] < 2 {
                continue;
            }
            let mut lp = Problem::new(OptimizationDirection::Minimize);
            let vars: Vec<(Variable, Variable)> = cells
                .iter()
                .map(|&c| {
                    let weight = if self.suppressed[c] {
                        1e-3
                    } else {
                        self.values[c] as f64
                    };
                    let up = lp.add_var(weight, (0.0, f64::INFINITY));
                    let down = lp.add_var(weight, (0.0, (self.values[c] - 1) as f64));
                    (up, down)
                })
                .collect();
            let (up, down) = vars[local[target]];
            lp.add_constraint([(up, 1.0), (down, -1.0)].as_slice(), ComparisonOp::Eq, step);
            for line in &lines {
                let signed = line
                    .members
                    .iter()
                    .map(|&m| (m, 1.0))
                    .chain([(line.total, -1.0)]);
                let expr: Vec<(Variable, f64)> = signed
                    .filter(|&(c, _)| local[c] != usize::MAX)
                    .flat_map(|(c, sign)| {
                        let (up, down) = vars[local[c]];
                        [(up, sign), (down, -sign)]
                    })
                    .collect();
                if !expr.is_empty() {
                    lp.add_constraint(expr.as_slice(), ComparisonOp::Eq, 0.0);
                }
            }
            let Ok(solution) = lp.solve().map(|o| o.into_solution()) else {
                continue;
            };
            let Ok(solution) = solution else { continue };
            let moved: Vec<(usize, f64)> = cells
                .iter()
                .zip(&vars)
                .map(|(&c, &(up, down))| (c, solution.var_value(up) - solution.var_value(down)))
                .filter(|&(_, y)| y.abs() > 1e-6)
                .collect();
            let cost = moved
                .iter()
                .filter(|&&(c, _)| !self.suppressed[c])
                .map(|&(c, _)| self.values[c])
                .sum();
            let fresh_cells = moved.iter().any(|&(c, _)| !self.suppressed[c]);
            if (fresh && !fresh_cells) || best.as_ref().is_some_and(|b| b.cost <= cost) {
                continue;
            }
            best = Some(Protection {
                hide: moved.iter().map(|&(c, _)| c).collect(),
                protected: moved
                    .iter()
                    .filter(|&&(_, y)| y.abs() >= 1.0 - 1e-6)
                    .map(|&(c, _)| c)
                    .collect(),
                cost,
            });
        }
        best
    }

    /// The corners of the cube spanned by `own` and `alt` coordinates, with its cost (counts
    /// newly hidden, cells newly hidden), if it protects its corners.
    fn cube(
        &self,
        target: usize,
        own: &[usize],
        alt: &[usize],
    ) -> Option<((u64, usize), Vec<usize>)> {
        let g = &self.grid;
        let dims = own.len();
        // Along a dimension where both coordinates are labels, the two corners shift in
        // opposite directions; where one is TOTAL, in the same direction.
        let flips: Vec<bool> = (0..dims)
            .map(|d| own[d] != g.total_coord(d) && alt[d] != g.total_coord(d))
            .collect();
        let mut room = [u64::MAX; 2];
        let mut cost = (0u64, 0usize);
        let mut corners = Vec::with_capacity(1 << dims);
        for mask in 0..1usize << dims {
            let mut index = target;
            let mut side = 0;
            for d in (0..dims).filter(|d| mask >> d & 1 == 1) {
                index = g.with(index, d, alt[d]);
                side ^= usize::from(flips[d]);
            }
            let value = self.values[index];
            if value == 0 {
                return None;
            }
            room[side] = room[side].min(value - 1);
            if !self.suppressed[index] {
                cost.0 += value;
                cost.1 += 1;
            }
            corners.push(index);
        }
        (room[0].saturating_add(room[1]) >= 1).then_some((cost, corners))
    }
}

/// Cells to hide for one cell's sake, and which of them that protects.
struct Protection {
    hide: Vec<usize>,
    protected: Vec<usize>,
    /// Counts newly hidden.
    cost: u64,
}

/// Cells that several tables of one population publish: `(table, index)` groups.
fn links(works: &[Work]) -> Result<Vec<Vec<(usize, usize)>>> {
    let mut groups: BTreeMap<CellId, Vec<(usize, usize)>> = BTreeMap::new();
    for (t, w) in works.iter().enumerate() {
        for index in 0..w.grid.len() {
            groups
                .entry((w.population.as_str(), w.grid.identity(index)))
                .or_default()
                .push((t, index));
        }
    }
    let mut links = Vec::new();
    for group in groups.into_values().filter(|g| g.len() > 1) {
        let (t0, i0) = group[0];
        if let Some(&(t, _)) = group
            .iter()
            .find(|&&(t, i)| works[t].values[i] != works[t0].values[i0])
        {
            return Err(Error::Other(format!(
                "aggregate tables {} and {} count population {} but disagree on their common \
                 cell [{}]",
                works[t0].name,
                works[t].name,
                works[t0].population,
                works[t0].grid.key(i0).join(", ")
            )));
        }
        links.push(group);
    }
    Ok(links)
}

/// Gives every hidden cell a rectangle in its table and keeps linked cells hidden alike, until
/// nothing changes.
fn protect(works: &mut [Work], links: &[Vec<(usize, usize)>]) {
    loop {
        let mut changed = false;
        for group in links {
            if group.iter().any(|&(t, i)| works[t].suppressed[i]) {
                for &(t, i) in group {
                    changed |= !works[t].suppressed[i];
                    works[t].suppressed[i] = true;
                }
            }
        }
        for w in works.iter_mut() {
            for index in 0..w.grid.len() {
                if w.suppressed[index] && !w.protected[index] {
                    changed = true;
                    match w.protection(index, false) {
                        Some(p) => w.apply(&p),
                        // A zero-dimensional table's lone total is on no line; otherwise no
                        // pattern was found within the search limits: the audit decides.
                        None => w.protected[index] = true,
                    }
                }
            }
        }
        if !changed {
            return;
        }
    }
}

/// Last resort for a cell still pinned: hide the smallest visible non-zero cell on one of its
/// lines, else anywhere in its population. Returns whether anything was hidden.
fn widen(works: &mut [Work], t: usize, index: usize) -> bool {
    let w = &works[t];
    let on_lines = (0..w.grid.dims.len())
        .flat_map(|d| (0..=w.grid.total_coord(d)).map(move |c| (t, w.grid.with(index, d, c))));
    let visible =
        |works: &[Work], (t, i): (usize, usize)| works[t].values[i] > 0 && !works[t].suppressed[i];
    let candidate = on_lines
        .filter(|&c| visible(works, c))
        .min_by_key(|&(t, i)| (works[t].values[i], t, i))
        .or_else(|| {
            let population = &works[t].population;
            works
                .iter()
                .enumerate()
                .filter(|(_, w)| &w.population == population)
                .flat_map(|(t, w)| (0..w.grid.len()).map(move |i| (t, i)))
                .filter(|&c| visible(works, c))
                .min_by_key(|&(t, i)| (works[t].values[i], t, i))
        });
    match candidate {
        Some((t, i)) => {
            works[t].suppressed[i] = true;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
