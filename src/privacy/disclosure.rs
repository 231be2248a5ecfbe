//! What an attacker can work out about suppressed cells, as tau-ARGUS's audit does it: one who
//! reads every published count, and knows that every margin is the sum of its line, that every
//! suppressed cell is an integer ≥ 1 (zeros are always published) and at most its smallest
//! published enclosing total. Each cell's minimum and maximum are solved by linear programming,
//! one connected group of suppressed cells at a time; a cell whose range holds a single integer
//! is disclosed. Tables of the same population that publish the same cell (same dimensions not
//! summed over, same labels) are solved together, the shared cell being one unknown.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use microlp::{ComparisonOp, OptimizationDirection};

use super::grid::{CellId, Grid, Line};
use super::table::{Problem, Published};

/// A problem found in a cell, with the index of its table in the examined slice.
pub(super) struct Located {
    pub table: usize,
    pub key: Vec<String>,
    pub problem: Problem,
}

/// Every cell of `tables` that is malformed, inconsistent or disclosed, or that could not be
/// shown safe; only the tables too large to lay out when any is (linked tables are solved
/// together, so none can be shown safe without it).
pub(super) fn locate(tables: &[Published]) -> Vec<Located> {
    match Model::build(tables) {
        Ok(mut model) => {
            model.solve();
            model.findings
        }
        Err(too_large) => too_large,
    }
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

/// One table's cells by grid index: None = missing, Some(None) = suppressed, Some(Some(v)) =
/// published.
type Cells = Vec<Option<Option<u64>>>;

/// The values some table publishes, by cell shared across a population: `(value, table)`.
type Known<'a> = HashMap<CellId<'a>, (u64, usize)>;

struct Model {
    grids: Vec<Grid>,
    unknowns: Vec<Unknown>,
    equations: BTreeSet<Equation>,
    findings: Vec<Located>,
}

/// Tolerance when reading integers off floating-point LP bounds.
const EPS: f64 = 1e-6;

impl Model {
    fn build(tables: &[Published]) -> Result<Model, Vec<Located>> {
        let mut findings = Vec::new();
        let mut grids = Vec::new();
        let mut cells = Vec::new();
        let mut too_large = Vec::new();
        for (t, table) in tables.iter().enumerate() {
            match read_table(t, table, &mut findings) {
                Ok((grid, values)) => {
                    grids.push(grid);
                    cells.push(values);
                }
                Err(why) => too_large.push(Located {
                    table: t,
                    key: Vec::new(),
                    problem: Problem::Unverified(why),
                }),
            }
        }
        if !too_large.is_empty() {
            return Err(too_large);
        }
        let known = published_values(tables, &grids, &cells, &mut findings);
        let (mut unknowns, terms) = terms(tables, &grids, &cells, &known, &mut findings);
        cap_by_totals(&mut unknowns, &grids, &terms);
        let equations = equations(&grids, &terms, &mut findings);
        Ok(Model {
            grids,
            unknowns,
            equations,
            findings,
        })
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

/// Lays table `t` out on its grid, reporting cells with the wrong number of labels, cells
/// published twice and cells missing; `Err` when its grid is too large to lay out.
fn read_table(
    t: usize,
    table: &Published,
    findings: &mut Vec<Located>,
) -> Result<(Grid, Cells), String> {
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
    )?;
    let published = keys.clone().count();
    // Each missing cell is a finding and an unknown: when most are missing, the labels were
    // combined to blow the table up, and one finding says so.
    if grid.len() > 2 * published {
        return Err(format!(
            "only {published} of its {} cells are published",
            grid.len()
        ));
    }
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
    Ok((grid, values))
}

/// Values any table publishes, by (population, identity); a cell two tables publish with
/// different values is reported.
fn published_values<'a>(
    tables: &'a [Published],
    grids: &[Grid],
    cells: &[Cells],
    findings: &mut Vec<Located>,
) -> Known<'a> {
    let mut known = Known::new();
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
    known
}

/// The unknowns, numbered as they are first met, one per cell shared across linked tables.
#[derive(Default)]
struct Numbering<'a> {
    ids: HashMap<CellId<'a>, usize>,
    unknowns: Vec<Unknown>,
}

impl<'a> Numbering<'a> {
    /// The unknown of cell `id`, met at `at`; a suppressed (not missing) cell is not zero.
    fn unknown(&mut self, id: CellId<'a>, at: (usize, usize), suppressed: bool) -> usize {
        let next = self.unknowns.len();
        let u = *self.ids.entry(id).or_insert(next);
        if u == next {
            self.unknowns.push(Unknown {
                lower: 0.0,
                upper: f64::INFINITY,
                at: Vec::new(),
            });
        }
        if suppressed {
            self.unknowns[u].lower = 1.0;
        }
        self.unknowns[u].at.push(at);
        u
    }
}

/// What the attacker knows of every cell of every table: its value where any linked table
/// publishes it, an unknown otherwise. A cell suppressed here and published by another table
/// is reported pinned.
fn terms<'a>(
    tables: &'a [Published],
    grids: &[Grid],
    cells: &[Cells],
    known: &Known<'a>,
    findings: &mut Vec<Located>,
) -> (Vec<Unknown>, Vec<Vec<Term>>) {
    let mut numbering = Numbering::default();
    let mut terms = Vec::new();
    for (t, grid) in grids.iter().enumerate() {
        let mut row = Vec::with_capacity(grid.len());
        for (index, value) in cells[t].iter().enumerate() {
            if let Some(Some(v)) = *value {
                row.push(Term::Known(v));
                continue;
            }
            let id = (tables[t].population.as_str(), grid.identity(index));
            let term = match known.get(&id) {
                Some(&(v, from)) => {
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
                }
                None => Term::Unknown(numbering.unknown(id, (t, index), value.is_some())),
            };
            row.push(term);
        }
        terms.push(row);
    }
    (numbering.unknowns, terms)
}

/// Keeps every unknown at most its smallest published enclosing total.
fn cap_by_totals(unknowns: &mut [Unknown], grids: &[Grid], terms: &[Vec<Term>]) {
    for unknown in unknowns {
        for &(t, index) in &unknown.at {
            for e in grids[t].enclosing(index) {
                if let Term::Known(v) = terms[t][e] {
                    unknown.upper = unknown.upper.min(v as f64);
                }
            }
        }
    }
}

/// The equations of every line with an unknown; a line of published counts that does not add
/// up is reported.
fn equations(
    grids: &[Grid],
    terms: &[Vec<Term>],
    findings: &mut Vec<Located>,
) -> BTreeSet<Equation> {
    let mut equations = BTreeSet::new();
    for (t, grid) in grids.iter().enumerate() {
        for line in grid.lines() {
            let (coefs, rhs) = line_equation(&line, &terms[t]);
            if !coefs.is_empty() {
                equations.insert((coefs, rhs));
            } else if rhs != 0 {
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
        }
    }
    equations
}

/// Members minus total = 0, the known values moved to the right-hand side.
fn line_equation(line: &Line, terms: &[Term]) -> Equation {
    let mut coefs: BTreeMap<usize, i64> = BTreeMap::new();
    let mut rhs: i128 = 0;
    let signed = line
        .members
        .iter()
        .map(|&m| (m, 1i64))
        .chain(std::iter::once((line.total, -1)));
    for (index, sign) in signed {
        match terms[index] {
            Term::Known(v) => rhs -= i128::from(sign) * i128::from(v),
            Term::Unknown(u) => *coefs.entry(u).or_default() += sign,
        }
    }
    coefs.retain(|_, c| *c != 0);
    (coefs.into_iter().collect(), rhs)
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

/// The lowest and highest value each unknown took in the feasible points seen so far.
struct Seen {
    min: Vec<f64>,
    max: Vec<f64>,
}

impl Seen {
    fn new(n: usize) -> Self {
        Seen {
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
        }
    }

    fn observe(&mut self, values: &[f64]) {
        for (i, &v) in values.iter().enumerate() {
            self.min[i] = self.min[i].min(v);
            self.max[i] = self.max[i].max(v);
        }
    }

    /// Whether the points seen already put two integers in unknown `i`'s range.
    fn wide(&self, i: usize) -> bool {
        let (lo, hi) = (self.min[i], self.max[i]);
        hi == f64::INFINITY || (lo - EPS).ceil() + 1.0 <= (hi + EPS).floor()
    }
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
    /// cheaply: first optima in random directions, then, for the cells left, their own maximum
    /// and minimum.
    fn bound(&self, report: &mut impl FnMut(usize, Problem)) {
        let n = self.lower.len();
        let mut seen = Seen::new(n);
        match self.optimize(
            &vec![0.0; n],
            OptimizationDirection::Maximize,
            f64::INFINITY,
        ) {
            Outcome::Optimal(values) => seen.observe(&values),
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
        self.explore(&mut seen);
        for i in 0..n {
            if !seen.wide(i) {
                self.bound_one(i, &mut seen, report);
            }
        }
    }

    /// Optima in random ±1 directions over the cells not yet shown safe: each moves many cells
    /// at once (the sum of all cells would not do, as the margins make it constant). Stops once
    /// directions keep showing few of the open cells safe.
    fn explore(&self, seen: &mut Seen) {
        let n = self.lower.len();
        // Cells with no published total above them may be unbounded, and an unbounded optimum
        // has no vertex to learn from: the search caps them, which only drops points.
        let cap = 4.0 * self.equations.iter().map(|(_, rhs)| rhs.abs()).sum::<f64>()
            + 4.0 * n as f64
            + 16.0;
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
            let open: Vec<usize> = (0..n).filter(|&i| !seen.wide(i)).collect();
            if open.is_empty() {
                break;
            }
            let mut objective = vec![0.0; n];
            for &i in &open {
                objective[i] = coin();
            }
            match self.optimize(&objective, OptimizationDirection::Maximize, cap) {
                Outcome::Optimal(values) => seen.observe(&values),
                Outcome::Unbounded => {}
                Outcome::Infeasible | Outcome::Failed(_) => break,
            }
            let left = open.iter().filter(|&&i| !seen.wide(i)).count();
            // Stop once a direction shows fewer than a tenth of the open cells safe.
            stalls = if left * 10 > open.len() * 9 {
                stalls + 1
            } else {
                0
            };
        }
    }

    /// Maximizes, then minimizes, unknown `i` until its range is seen to hold two integers;
    /// reports it pinned if it never does.
    fn bound_one(&self, i: usize, seen: &mut Seen, report: &mut impl FnMut(usize, Problem)) {
        let mut objective = vec![0.0; self.lower.len()];
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
                    seen.observe(&values);
                }
                Outcome::Unbounded => {
                    seen.max[i] = f64::INFINITY;
                }
                Outcome::Infeasible | Outcome::Failed(_) => {
                    report(
                        self.global[i],
                        Problem::Unverified("the solver failed to bound the cell".into()),
                    );
                    break;
                }
            }
            if seen.wide(i) {
                break;
            }
        }
        if !seen.wide(i) && !range.iter().any(|r| r.is_nan()) {
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
