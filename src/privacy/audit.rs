//! The audit of published tables: counts below k that primary suppression missed, and every
//! suppressed cell an attacker can work out from what is published, alone or across the tables
//! of one population.

use super::disclosure::locate;
use super::table::{Problem, Published};

/// One problem found in a published table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AuditFinding {
    pub table: String,
    /// The cell, TOTAL in the dimensions it sums over.
    pub key: Vec<String>,
    pub problem: Problem,
}

/// Audits tables together, sharing the cells that tables of one population both publish.
pub(crate) fn audit_linked(tables: &[Published]) -> Vec<AuditFinding> {
    locate(tables)
        .into_iter()
        .map(|f| AuditFinding {
            table: tables[f.table].name.clone(),
            key: f.key,
            problem: f.problem,
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::table::{PublishedCell, TOTAL};
    use super::*;

    /// Audits one table on its own.
    pub(in super::super) fn audit(published: &Published) -> Vec<AuditFinding> {
        audit_linked(std::slice::from_ref(published))
    }

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
            by_rule: Default::default(),
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
            by_rule: Default::default(),
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
