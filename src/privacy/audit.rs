//! The disclosure audit of published tables, as tau-ARGUS does it: what can an attacker who
//! reads every published count, and knows that every margin is the sum of its line, that every
//! suppressed cell is an integer ≥ 1 (zeros are always published) and at most its smallest
//! published enclosing total, work out about each suppressed cell? Each cell's minimum and
//! maximum are solved by linear programming, one connected group of suppressed cells at a time;
//! a cell whose range holds a single integer is disclosed. Tables of the same population that
//! publish the same cell (same dimensions not summed over, same labels) are audited together,
//! the shared cell being one unknown.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use microlp::{ComparisonOp, OptimizationDirection};

use super::cells::Published;
use super::grid::{CellId, Grid};

/// One problem found in a published table.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditFinding {
    pub table: String,
    /// The cell, TOTAL in the dimensions it sums over.
    pub key: Vec<String>,
    pub problem: Problem,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// A published count in 1..k-1.
    SmallCount { count: u64, k: u64 },
    /// A suppressed cell whose feasible range holds a single integer.
    Pinned { min: f64, max: f64 },
    /// Published counts that do not add up, or admit no values at all for the suppressed cells.
    Inconsistent(String),
    /// The table cannot be read as a table: wrong key length, a duplicate or missing cell.
    Malformed(String),
    /// The solver could not bound this cell, so it cannot be shown safe.
    Unverified(String),
}

impl fmt::Display for AuditFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table {}, cell [{}]: ", self.table, self.key.join(", "))?;
        match &self.problem {
            Problem::SmallCount { count, k } => {
                write!(f, "published count {count} is below k = {k}")
            }
            Problem::Pinned { min, max } => write!(
                f,
                "suppressed cell can be worked out from the published counts (between {min} and {max})"
            ),
            Problem::Inconsistent(why) => write!(f, "inconsistent: {why}"),
            Problem::Malformed(why) => write!(f, "malformed: {why}"),
            Problem::Unverified(why) => write!(f, "could not be audited: {why}"),
        }
    }
}

/// Published counts in `1..k`: primary suppression missed them.
pub fn check_primary(published: &Published, k: u64) -> Vec<AuditFinding> {
    published
        .cells
        .iter()
        .filter_map(|cell| match cell.count {
            Some(count) if count >= 1 && count < k => Some(AuditFinding {
                table: published.name.clone(),
                key: cell.key.clone(),
                problem: Problem::SmallCount { count, k },
            }),
            _ => None,
        })
        .collect()
}

/// Audits one table on its own (what `verify` can do with a CSV read back from disk).
pub fn audit(published: &Published) -> Vec<AuditFinding> {
    audit_linked(std::slice::from_ref(published))
}

/// Audits tables together, sharing the cells that tables of one population both publish.
pub fn audit_linked(tables: &[Published]) -> Vec<AuditFinding> {
    locate(tables)
        .into_iter()
        .map(|f| AuditFinding {
            table: tables[f.table].name.clone(),
            key: f.key,
            problem: f.problem,
        })
        .collect()
}

/// A finding with the index of its table in the audited slice.
pub(super) struct Located {
    pub table: usize,
    pub key: Vec<String>,
    pub problem: Problem,
}

/// What the attacker knows of one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Term {
    Known(u64),
    Unknown(usize),
}

/// The unknowns: suppressed cells (and missing ones), merged across linked tables.
struct Unknown {
    lower: f64,
    upper: f64,
    /// `(table, cell index)` where this unknown appears.
    at: Vec<(usize, usize)>,
}

/// One equation `Σ coef · x = rhs` over unknowns.
type Equation = (Vec<(usize, i64)>, i128);

struct Model {
    grids: Vec<Grid>,
    unknowns: Vec<Unknown>,
    equations: BTreeSet<Equation>,
    findings: Vec<Located>,
}

pub(super) fn locate(tables: &[Published]) -> Vec<Located> {
    let mut model = Model::build(tables);
    model.solve();
    model.findings
}

/// Tolerance when reading integers off floating-point LP bounds.
const EPS: f64 = 1e-6;

impl Model {
    fn build(tables: &[Published]) -> Model {
        let mut findings = Vec::new();
        let mut grids = Vec::new();
        // Per table: None = missing, Some(None) = suppressed, Some(Some(v)) = published.
        let mut cells: Vec<Vec<Option<Option<u64>>>> = Vec::new();
        for (t, table) in tables.iter().enumerate() {
            let width = table.dims.len();
            let mut malformed = |key: &[String], why: String| {
                findings.push(Located {
                    table: t,
                    key: key.to_vec(),
                    problem: Problem::Malformed(why),
                })
            };
            for cell in table.cells.iter().filter(|c| c.key.len() != width) {
                malformed(
                    &cell.key,
                    format!("{} labels for {width} dimensions", cell.key.len()),
                );
            }
            let keys = table.cells.iter().filter(|c| c.key.len() == width);
            let grid = Grid::new(
                table.dims.clone(),
                Grid::labels_of(width, keys.clone().map(|c| c.key.as_slice())),
            );
            let mut values = vec![None; grid.len()];
            for cell in keys {
                if let Some(index) = grid.index_of(&cell.key) {
                    if values[index].is_some() {
                        malformed(&cell.key, "cell published twice".into());
                    }
                    values[index] = Some(cell.count);
                }
            }
            for (index, _) in values.iter().enumerate().filter(|(_, v)| v.is_none()) {
                malformed(&grid.key(index), "cell missing".into());
            }
            grids.push(grid);
            cells.push(values);
        }

        // Values any table publishes, by (population, identity).
        let mut known: HashMap<CellId, (u64, usize)> = HashMap::new();
        for (t, grid) in grids.iter().enumerate() {
            for (index, value) in cells[t].iter().enumerate() {
                let Some(Some(v)) = *value else { continue };
                let id = (tables[t].population.as_str(), grid.identity(index));
                match known.get(&id) {
                    Some(&(other, from)) if other != v => findings.push(Located {
                        table: t,
                        key: grid.key(index),
                        problem: Problem::Inconsistent(format!(
                            "published as {v} here and as {other} in table {}",
                            tables[from].name
                        )),
                    }),
                    Some(_) => {}
                    None => {
                        known.insert(id, (v, t));
                    }
                }
            }
        }

        let mut ids: HashMap<CellId, usize> = HashMap::new();
        let mut unknowns: Vec<Unknown> = Vec::new();
        let mut terms = Vec::new();
        for (t, grid) in grids.iter().enumerate() {
            let mut row = Vec::with_capacity(grid.len());
            for (index, value) in cells[t].iter().enumerate() {
                let term = match *value {
                    Some(Some(v)) => Term::Known(v),
                    _ => {
                        let id = (tables[t].population.as_str(), grid.identity(index));
                        if let Some(&(v, from)) = known.get(&id) {
                            // Suppressed here, published by table `from`.
                            if value.is_some() {
                                debug_assert_ne!(from, t);
                                findings.push(Located {
                                    table: t,
                                    key: grid.key(index),
                                    problem: Problem::Pinned {
                                        min: v as f64,
                                        max: v as f64,
                                    },
                                });
                            }
                            Term::Known(v)
                        } else {
                            let next = unknowns.len();
                            let u = *ids.entry(id).or_insert(next);
                            if u == next {
                                unknowns.push(Unknown {
                                    lower: 0.0,
                                    upper: f64::INFINITY,
                                    at: Vec::new(),
                                });
                            }
                            // Suppressed (not missing) anywhere: not zero.
                            if value.is_some() {
                                unknowns[u].lower = 1.0;
                            }
                            unknowns[u].at.push((t, index));
                            Term::Unknown(u)
                        }
                    }
                };
                row.push(term);
            }
            terms.push(row);
        }

        for unknown in &mut unknowns {
            for &(t, index) in &unknown.at {
                for e in grids[t].enclosing(index) {
                    if let Term::Known(v) = terms[t][e] {
                        unknown.upper = unknown.upper.min(v as f64);
                    }
                }
            }
        }

        let mut equations = BTreeSet::new();
        for (t, grid) in grids.iter().enumerate() {
            for line in grid.lines() {
                let mut coefs: BTreeMap<usize, i64> = BTreeMap::new();
                let mut rhs: i128 = 0;
                let signed = line
                    .members
                    .iter()
                    .map(|&m| (m, 1i64))
                    .chain(std::iter::once((line.total, -1)));
                for (index, sign) in signed {
                    match terms[t][index] {
                        Term::Known(v) => rhs -= i128::from(sign) * i128::from(v),
                        Term::Unknown(u) => *coefs.entry(u).or_default() += sign,
                    }
                }
                coefs.retain(|_, c| *c != 0);
                if coefs.is_empty() {
                    if rhs != 0 {
                        let total = match terms[t][line.total] {
                            Term::Known(v) => v,
                            Term::Unknown(_) => 0,
                        };
                        findings.push(Located {
                            table: t,
                            key: grid.key(line.total),
                            problem: Problem::Inconsistent(format!(
                                "its line sums to {}, not {total}",
                                i128::from(total) + rhs
                            )),
                        });
                    }
                    continue;
                }
                equations.insert((coefs.into_iter().collect(), rhs));
            }
        }
        Model {
            grids,
            unknowns,
            equations,
            findings,
        }
    }

    /// Bounds every unknown, one connected component at a time.
    fn solve(&mut self) {
        let mut parent: Vec<usize> = (0..self.unknowns.len()).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for (coefs, _) in &self.equations {
            let first = root(&mut parent, coefs[0].0);
            for &(u, _) in &coefs[1..] {
                let r = root(&mut parent, u);
                parent[r] = first;
            }
        }
        let mut components: BTreeMap<usize, (Vec<usize>, Vec<&Equation>)> = BTreeMap::new();
        for u in 0..self.unknowns.len() {
            let r = root(&mut parent, u);
            components.entry(r).or_default().0.push(u);
        }
        for equation in &self.equations {
            let r = root(&mut parent, equation.0[0].0);
            if let Some(c) = components.get_mut(&r) {
                c.1.push(equation);
            }
        }
        let mut found = Vec::new();
        for (members, equations) in components.values() {
            Component::new(&self.unknowns, members, equations).bound(&mut |u, problem| {
                found.push((u, problem));
            });
        }
        for (u, problem) in found {
            for &(t, index) in &self.unknowns[u].at {
                // A cell only missing is already reported as such.
                if self.unknowns[u].lower > 0.0 {
                    self.findings.push(Located {
                        table: t,
                        key: self.grids[t].key(index),
                        problem: problem.clone(),
                    });
                }
            }
        }
    }
}

/// One connected group of unknowns and the equations over them, renumbered from 0.
struct Component {
    global: Vec<usize>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    equations: Vec<(Vec<(usize, f64)>, f64)>,
}

enum Outcome {
    Optimal(Vec<f64>),
    Unbounded,
    Infeasible,
    Failed(String),
}

impl Component {
    fn new(unknowns: &[Unknown], members: &[usize], equations: &[&Equation]) -> Self {
        let local: HashMap<usize, usize> =
            members.iter().enumerate().map(|(i, &u)| (u, i)).collect();
        Component {
            global: members.to_vec(),
            lower: members.iter().map(|&u| unknowns[u].lower).collect(),
            upper: members.iter().map(|&u| unknowns[u].upper).collect(),
            equations: equations
                .iter()
                .map(|(coefs, rhs)| {
                    (
                        coefs.iter().map(|&(u, c)| (local[&u], c as f64)).collect(),
                        *rhs as f64,
                    )
                })
                .collect(),
        }
    }

    /// Optimizes over the unknowns, each also kept at most `cap`.
    fn optimize(&self, objective: &[f64], direction: OptimizationDirection, cap: f64) -> Outcome {
        let mut lp = microlp::Problem::new(direction);
        let vars: Vec<microlp::Variable> = (0..self.lower.len())
            .map(|i| lp.add_var(objective[i], (self.lower[i], self.upper[i].min(cap))))
            .collect();
        for (coefs, rhs) in &self.equations {
            let expr: Vec<(microlp::Variable, f64)> =
                coefs.iter().map(|&(i, c)| (vars[i], c)).collect();
            lp.add_constraint(expr.as_slice(), ComparisonOp::Eq, *rhs);
        }
        match lp.solve() {
            Ok(outcome) => match outcome.solution() {
                Some(solution) => {
                    Outcome::Optimal(vars.iter().map(|&v| solution.var_value(v)).collect())
                }
                None => Outcome::Failed("the solver stopped without a solution".into()),
            },
            Err(microlp::Error::Unbounded) => Outcome::Unbounded,
            Err(microlp::Error::Infeasible) => Outcome::Infeasible,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    /// Reports each unknown whose range holds fewer than two integers. Every vertex the solver
    /// returns is a feasible point, so the spread of the points seen proves most cells safe
    /// cheaply: first optima in random ±1 directions over the cells not yet shown safe (each
    /// moves many cells at once; the sum of all cells would not do, as the margins make it
    /// constant), then, for the cells left, their own maximum and minimum.
    fn bound(&self, report: &mut impl FnMut(usize, Problem)) {
        let n = self.lower.len();
        let mut seen_min = vec![f64::INFINITY; n];
        let mut seen_max = vec![f64::NEG_INFINITY; n];
        let observe = |values: &[f64], lo: &mut [f64], hi: &mut [f64]| {
            for (i, &v) in values.iter().enumerate() {
                lo[i] = lo[i].min(v);
                hi[i] = hi[i].max(v);
            }
        };
        let wide =
            |lo: f64, hi: f64| hi == f64::INFINITY || (lo - EPS).ceil() + 1.0 <= (hi + EPS).floor();
        // Cells with no published total above them may be unbounded, and an unbounded optimum
        // has no vertex to learn from: the search phase caps them, which only drops points.
        let cap = 4.0 * self.equations.iter().map(|(_, rhs)| rhs.abs()).sum::<f64>()
            + 4.0 * n as f64
            + 16.0;
        match self.optimize(
            &vec![0.0; n],
            OptimizationDirection::Maximize,
            f64::INFINITY,
        ) {
            Outcome::Optimal(values) => observe(&values, &mut seen_min, &mut seen_max),
            Outcome::Unbounded => {}
            Outcome::Infeasible => {
                report(
                    self.global[0],
                    Problem::Inconsistent(
                        "no values of the suppressed cells fit the published counts".into(),
                    ),
                );
                return;
            }
            Outcome::Failed(why) => {
                for &u in &self.global {
                    report(u, Problem::Unverified(why.clone()));
                }
                return;
            }
        }
        // xorshift64: deterministic, so the same tables get the same audit.
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
        let mut coin = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state & 1 == 0 { 1.0 } else { -1.0 }
        };
        let mut stalls = 0;
        while stalls < 2 {
            let open: Vec<usize> = (0..n)
                .filter(|&i| !wide(seen_min[i], seen_max[i]))
                .collect();
            if open.is_empty() {
                break;
            }
            let mut objective = vec![0.0; n];
            for &i in &open {
                objective[i] = coin();
            }
            match self.optimize(&objective, OptimizationDirection::Maximize, cap) {
                Outcome::Optimal(values) => observe(&values, &mut seen_min, &mut seen_max),
                Outcome::Unbounded => {}
                Outcome::Infeasible | Outcome::Failed(_) => break,
            }
            let left = open
                .iter()
                .filter(|&&i| !wide(seen_min[i], seen_max[i]))
                .count();
            // Stop once a direction shows fewer than a tenth of the open cells safe.
            stalls = if left * 10 > open.len() * 9 {
                stalls + 1
            } else {
                0
            };
        }
        for i in 0..n {
            if wide(seen_min[i], seen_max[i]) {
                continue;
            }
            let mut objective = vec![0.0; n];
            objective[i] = 1.0;
            let mut range = [f64::NAN; 2];
            for (slot, direction) in [
                OptimizationDirection::Maximize,
                OptimizationDirection::Minimize,
            ]
            .into_iter()
            .enumerate()
            {
                match self.optimize(&objective, direction, f64::INFINITY) {
                    Outcome::Optimal(values) => {
                        range[slot] = values[i];
                        observe(&values, &mut seen_min, &mut seen_max);
                    }
                    Outcome::Unbounded => {
                        seen_max[i] = f64::INFINITY;
                    }
                    Outcome::Infeasible | Outcome::Failed(_) => {
                        report(
                            self.global[i],
                            Problem::Unverified("the solver failed to bound the cell".into()),
                        );
                        break;
                    }
                }
                if wide(seen_min[i], seen_max[i]) {
                    break;
                }
            }
            if !wide(seen_min[i], seen_max[i]) && !range.iter().any(|r| r.is_nan()) {
                report(
                    self.global[i],
                    Problem::Pinned {
                        min: range[1],
                        max: range[0],
                    },
                );
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::cells::{PublishedCell, TOTAL};
    use super::*;

    fn total() -> String {
        TOTAL.to_string()
    }

    /// A published 2-D table from a matrix of counts, None = suppressed, margins computed from
    /// the true values in `truth`.
    fn table(name: &str, truth: &[&[u64]], suppressed: &[(usize, usize)]) -> Published {
        let rows = truth.len();
        let cols = truth[0].len();
        let label = |i: usize, n: usize| if i == n { total() } else { format!("{i}") };
        let mut cells = Vec::new();
        for r in 0..=rows {
            for c in 0..=cols {
                let value: u64 = (0..rows)
                    .filter(|&i| r == rows || i == r)
                    .flat_map(|i| {
                        (0..cols)
                            .filter(move |&j| c == cols || j == c)
                            .map(move |j| (i, j))
                    })
                    .map(|(i, j)| truth[i][j])
                    .sum();
                let hidden = suppressed.contains(&(r, c));
                cells.push(PublishedCell {
                    key: vec![label(r, rows), label(c, cols)],
                    count: if hidden { None } else { Some(value) },
                    primary: false,
                    secondary: hidden,
                });
            }
        }
        Published {
            name: name.into(),
            population: "p".into(),
            dims: vec!["row".into(), "col".into()],
            cells,
            primary: 0,
            secondary: suppressed.len(),
        }
    }

    fn pinned(findings: &[AuditFinding]) -> Vec<Vec<String>> {
        findings
            .iter()
            .filter(|f| matches!(f.problem, Problem::Pinned { .. }))
            .map(|f| f.key.clone())
            .collect()
    }

    #[test]
    fn single_suppressed_cell_in_a_line_is_pinned() {
        let t = table("t", &[&[10, 3], &[20, 30]], &[(0, 1)]);
        let findings = audit(&t);
        assert_eq!(
            pinned(&findings),
            vec![vec!["0".to_string(), "1".to_string()]]
        );
        assert_eq!(findings[0].problem, Problem::Pinned { min: 3.0, max: 3.0 });
    }

    #[test]
    fn rectangle_of_suppressed_cells_is_safe() {
        let t = table(
            "t",
            &[&[10, 3, 7], &[20, 30, 8], &[5, 6, 9]],
            &[(0, 1), (0, 2), (1, 1), (1, 2)],
        );
        assert_eq!(audit(&t), vec![]);
    }

    #[test]
    fn lower_bound_of_one_can_pin_a_pair() {
        // Row 0's two suppressed cells sum to 2 and each is at least 1.
        let t = table(
            "t",
            &[&[10, 1, 1], &[20, 30, 8], &[5, 6, 9]],
            &[(0, 1), (0, 2), (1, 1), (1, 2)],
        );
        let found = pinned(&audit(&t));
        assert!(found.contains(&vec!["0".to_string(), "1".to_string()]));
        assert!(found.contains(&vec!["0".to_string(), "2".to_string()]));
    }

    /// Two rectangles joined by one cell: every row and column with a suppressed cell holds at
    /// least two, yet rows 0–1 minus columns 0–1 give the bridge cell exactly.
    pub(in super::super) fn bridge() -> (Vec<Vec<u64>>, Vec<(usize, usize)>) {
        let truth = vec![
            vec![6, 7, 20, 30, 40],
            vec![8, 9, 5, 31, 41],
            vec![22, 23, 6, 7, 42],
            vec![24, 25, 8, 9, 43],
            vec![50, 51, 52, 53, 54],
        ];
        let suppressed = vec![
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
            (1, 2),
            (2, 2),
            (2, 3),
            (3, 2),
            (3, 3),
        ];
        (truth, suppressed)
    }

    #[test]
    fn combination_of_lines_pins_a_bridge_cell() {
        let (truth, suppressed) = bridge();
        let rows: Vec<&[u64]> = truth.iter().map(Vec::as_slice).collect();
        let t = table("t", &rows, &suppressed);
        let found = pinned(&audit(&t));
        assert_eq!(found, vec![vec!["1".to_string(), "2".to_string()]]);
    }

    #[test]
    fn small_published_counts_are_reported() {
        let t = table("t", &[&[10, 3], &[20, 30]], &[]);
        let findings = check_primary(&t, 5);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].problem, Problem::SmallCount { count: 3, k: 5 });
        assert!(findings[0].to_string().contains("below k = 5"));
    }

    #[test]
    fn tampered_and_malformed_tables_are_reported() {
        let mut t = table("t", &[&[10, 6], &[20, 30]], &[]);
        t.cells[0].count = Some(11);
        assert!(
            audit(&t)
                .iter()
                .any(|f| matches!(f.problem, Problem::Inconsistent(_)))
        );
        let mut t = table("t", &[&[10, 6], &[20, 30]], &[]);
        t.cells.remove(1);
        t.cells.push(PublishedCell {
            key: vec!["0".into()],
            count: Some(1),
            primary: false,
            secondary: false,
        });
        let problems: Vec<Problem> = audit(&t).into_iter().map(|f| f.problem).collect();
        assert!(problems.contains(&Problem::Malformed("cell missing".into())));
        assert!(problems.contains(&Problem::Malformed("1 labels for 2 dimensions".into())));
    }

    #[test]
    fn linked_tables_are_audited_together() {
        // Alone, b hides row 0's total among two suppressed totals of its TOTAL column; table a
        // (same population, rows only) publishes that count, which gives the cell away.
        let b = table(
            "b",
            &[&[10, 6], &[20, 30]],
            &[(0, 2), (1, 2), (0, 0), (1, 0)],
        );
        assert_eq!(pinned(&audit(&b)), Vec::<Vec<String>>::new());
        let row = |label: &str, count| PublishedCell {
            key: vec![label.to_string()],
            count: Some(count),
            primary: false,
            secondary: false,
        };
        let a = Published {
            name: "a".into(),
            population: "p".into(),
            dims: vec!["row".into()],
            cells: vec![row("0", 16), row("1", 50), row(TOTAL, 66)],
            primary: 0,
            secondary: 0,
        };
        let linked = audit_linked(&[a.clone(), b.clone()]);
        assert!(pinned(&linked).contains(&vec!["0".to_string(), total()]));
        assert!(linked.iter().all(|f| f.table == "b"));
        let mut elsewhere = a;
        elsewhere.population = "q".into();
        assert_eq!(audit_linked(&[elsewhere, b]), vec![]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// On 2 × 2 tables the LP bounds must agree with the attacker's exact integer
        /// knowledge, found by trying every table that fits what is published.
        #[test]
        fn lp_agrees_with_enumeration_on_small_tables(
            values in proptest::collection::vec(0u64..3, 4),
            mask in 0u16..512,
        ) {
            let truth: Vec<&[u64]> = values.chunks(2).collect();
            let values = &values;
            let hidden: Vec<(usize, usize)> = (0..9)
                .filter(|b| mask >> b & 1 == 1)
                .map(|b| (b / 3, b % 3))
                .filter(|&(r, c)| {
                    // Zeros are published.
                    let v: u64 = (0..2).filter(|&i| r == 2 || i == r)
                        .flat_map(|i| (0..2).filter(move |&j| c == 2 || j == c).map(move |j| values[i * 2 + j]))
                        .sum();
                    v > 0
                })
                .collect();
            let t = table("t", &truth, &hidden);
            let shown: Vec<Option<u64>> = t.cells.iter().map(|c| c.count).collect();
            let mut range = [(u64::MAX, 0u64); 9];
            for candidate in 0..10u64.pow(4) {
                let x: Vec<u64> = (0..4).map(|i| candidate / 10u64.pow(i) % 10).collect();
                let cells: Vec<u64> = (0..9)
                    .map(|b| {
                        let (r, c) = (b / 3, b % 3);
                        (0..2).filter(|&i| r == 2 || i == r)
                            .flat_map(|i| (0..2).filter(move |&j| c == 2 || j == c).map(move |j| i * 2 + j))
                            .map(|i| x[i])
                            .sum()
                    })
                    .collect();
                let fits = cells.iter().zip(&shown).all(|(&v, s)| match s {
                    Some(p) => v == *p,
                    None => v >= 1,
                });
                if fits {
                    for (r, &v) in range.iter_mut().zip(&cells) {
                        *r = (r.0.min(v), r.1.max(v));
                    }
                }
            }
            let expected: Vec<Vec<String>> = (0..9)
                .filter(|&b| shown[b].is_none() && range[b].0 == range[b].1)
                .map(|b| t.cells[b].key.clone())
                .collect();
            let findings = audit(&t);
            let mut found = pinned(&findings);
            found.sort_by_key(|key| t.cells.iter().position(|c| &c.key == key));
            proptest::prop_assert_eq!(found, expected);
            proptest::prop_assert_eq!(findings.len(), pinned(&findings).len());
        }
    }
}
