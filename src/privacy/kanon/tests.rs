//! Tests of the lattice search: it agrees with an exhaustive search, keeps within the suppression
//! bound, and refuses bad input.

use super::*;

/// Month codes 0..12 → quarter → year → *.
fn month() -> Dimension {
    Dimension::new("month", 4, |code, level| match level {
        0 => code,
        1 => code / 3,
        2 => 0,
        _ => 0,
    })
}

/// Prefecture-like codes 0..8 → region (pairs) → *.
fn region() -> Dimension {
    Dimension::new("region", 3, |code, level| match level {
        0 => code,
        1 => code / 2,
        _ => 0,
    })
}

/// Row counts as tallies in which every row is its own subject.
fn tallies(h: &HashMap<Vec<u16>, u64>) -> HashMap<Vec<u16>, Tally> {
    let mut next = 0u32;
    let mut keys: Vec<_> = h.iter().collect();
    keys.sort();
    keys.into_iter()
        .map(|(key, &rows)| {
            let mut subjects = Subjects::default();
            for _ in 0..rows.min(64) {
                subjects.insert(next, usize::MAX);
                next += 1;
            }
            (key.clone(), Tally { rows, subjects })
        })
        .collect()
}

/// The search over row counts, every row its own subject, with no minimum levels.
fn choose_levels(
    h: &HashMap<Vec<u16>, u64>,
    dims: &[Dimension],
    k: u64,
    max_suppression: f64,
) -> Result<Choice> {
    super::choose_levels(&tallies(h), dims, k, max_suppression, &vec![0; dims.len()])
}

fn released_classes(
    h: &HashMap<Vec<u16>, u64>,
    dims: &[Dimension],
    levels: &[u8],
    k: u64,
) -> Result<Release> {
    super::released_classes(&tallies(h), dims, levels, k)
}

fn hist(rows: &[(&[u16], u64)]) -> HashMap<Vec<u16>, u64> {
    let mut h = HashMap::new();
    for (key, count) in rows {
        *h.entry(key.to_vec()).or_insert(0) += count;
    }
    h
}

/// Every node of the lattice scored the slow way, from the finest histogram.
fn brute_force(h: &HashMap<Vec<u16>, u64>, dims: &[Dimension], k: u64, max_sup: f64) -> Choice {
    let lattice = Lattice::new(&tallies(h), dims, k, max_sup).expect("valid input");
    let node = |levels: &[u8]| {
        let mut node = lattice.finest.clone();
        let mut at = vec![0u8; dims.len()];
        for d in 0..dims.len() {
            while at[d] < levels[d] {
                node = lattice.raise(&node, &at, d);
                at[d] += 1;
            }
        }
        node
    };
    let top = lattice.top();
    let top_hist = node(&top);
    let mut best = Best {
        count: lattice.count(&top_hist),
        loss: lattice.loss(&top, &top_hist),
        levels: top,
    };
    let mut levels = vec![0u8; dims.len()];
    'all: loop {
        let hist = node(&levels);
        lattice.offer(&levels, &hist, lattice.count(&hist), &mut best);
        for d in 0..=dims.len() {
            if d == dims.len() {
                break 'all;
            }
            levels[d] += 1;
            if levels[d] < dims[d].levels {
                break;
            }
            levels[d] = 0;
        }
    }
    Choice {
        levels: best.levels,
        suppressed_rows: best.count.suppressed,
        total_rows: lattice.total,
        achieved_k: best.count.min_released,
        loss: best.loss / (lattice.total as f64 * dims.len() as f64),
    }
}

#[test]
fn finest_node_meeting_k_is_chosen_not_the_top() {
    // Each quarter has ≥ 5 rows per region pair, but single months and single codes do not.
    let mut rows = Vec::new();
    for m in 0..12u16 {
        for r in 0..8u16 {
            rows.push((vec![m, r], 2u64));
        }
    }
    let h: HashMap<Vec<u16>, u64> = rows.into_iter().collect();
    let dims = [month(), region()];
    let choice = choose_levels(&h, &dims, 5, 0.0).expect("valid input");
    // (quarter, code): 3 months × 2 = 6 rows; (month, pair): 2 codes × 2 = 4 rows < 5.
    assert_eq!(choice.levels, vec![1, 0]);
    assert_eq!(choice.suppressed_rows, 0);
    assert_eq!(choice.achieved_k, 6);
    assert_eq!(choice.total_rows, 192);
    assert!(choice.loss > 0.0 && choice.loss < 1.0);
}

#[test]
fn finer_node_beats_coarsest_even_when_both_meet_k() {
    let h = hist(&[(&[0, 0], 10), (&[1, 0], 10), (&[0, 1], 10), (&[1, 1], 10)]);
    let choice = choose_levels(&h, &[month(), region()], 5, 0.0).expect("valid input");
    assert_eq!(choice.levels, vec![0, 0]);
    assert_eq!(choice.loss, 0.0);
    assert_eq!(choice.achieved_k, 10);
}

#[test]
fn suppression_bound_is_respected_and_used() {
    // 100 rows in one cell, 3 outliers elsewhere: with 5% allowed the outliers are
    // suppressed at the finest node; with 0% the data must be generalized.
    let h = hist(&[(&[0, 0], 100), (&[11, 7], 1), (&[6, 5], 1), (&[9, 2], 1)]);
    let dims = [month(), region()];
    let loose = choose_levels(&h, &dims, 5, 0.05).expect("valid input");
    assert_eq!(loose.levels, vec![0, 0]);
    assert_eq!(loose.suppressed_rows, 3);
    assert_eq!(loose.achieved_k, 100);
    let strict = choose_levels(&h, &dims, 5, 0.0).expect("valid input");
    assert_eq!(strict.suppressed_rows, 0);
    assert_ne!(strict.levels, vec![0, 0]);
    let tight = choose_levels(&h, &dims, 5, 0.02).expect("valid input");
    assert!(tight.suppressed_rows as f64 <= 0.02 * 103.0);
}

#[test]
fn fewer_rows_than_k_suppresses_everything_at_the_top() {
    let h = hist(&[(&[0, 0], 2), (&[3, 1], 1)]);
    let choice = choose_levels(&h, &[month(), region()], 5, 0.05).expect("valid input");
    assert_eq!(choice.levels, vec![3, 2]);
    assert_eq!(choice.suppressed_rows, 3);
    assert_eq!(choice.achieved_k, 0);
    let release = released_classes(&h, &[month(), region()], &choice.levels, 5).expect("valid");
    assert!(!release.is_released(&[0, 0]));
}

#[test]
fn released_classes_match_the_choice() {
    let h = hist(&[(&[0, 0], 100), (&[11, 7], 1), (&[0, 1], 6)]);
    let dims = [month(), region()];
    let choice = choose_levels(&h, &dims, 5, 0.05).expect("valid input");
    let release = released_classes(&h, &dims, &choice.levels, 5).expect("valid input");
    assert!(release.is_released(&[0, 0]));
    assert!(release.is_released(&[0, 1]));
    assert!(!release.is_released(&[11, 7]));
    assert!(
        !release.is_released(&[5, 5]),
        "a code never seen is not released"
    );
    assert!(!release.is_released(&[0]), "wrong arity is not released");
    assert!(released_classes(&h, &dims, &[4, 0], 5).is_err());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let h = hist(&[(&[0], 10)]);
    assert!(choose_levels(&h, &[month(), region()], 5, 0.05).is_err());
    let flat = Dimension::new("flat", 0, |c, _| c);
    assert!(choose_levels(&h, &[flat], 5, 0.05).is_err());
    let wide = Dimension::new("wide", 2, |c, l| if l == 0 { c } else { 0 });
    let many = vec![wide; 5];
    let mut h = HashMap::new();
    h.insert(vec![0, 0, 0, 0, 0], 1);
    h.insert(vec![60_000, 60_000, 60_000, 60_000, 60_000], 1);
    for c in 0..40_000u16 {
        h.insert(vec![c, c, c, c, c], 1);
    }
    assert!(
        choose_levels(&h, &many, 5, 0.05).is_err(),
        "5 × 16 bits do not fit a key"
    );
}

#[test]
fn non_nested_hierarchy_is_refined_not_trusted() {
    // Level 1 groups codes {0,1} and {2,3}, level 2 groups {0,2} and {1,3}: not a tree.
    let odd = Dimension::new("odd", 4, |code, level| match level {
        0 => code,
        1 => code / 2,
        2 => code % 2,
        _ => 0,
    });
    let h = hist(&[(&[0], 3), (&[1], 3), (&[2], 3), (&[3], 3)]);
    // Taken at its word, level 1 would release {0,1} and {2,3} with 6 rows each; refined by
    // level 2 above it, its groups are the four single codes of 3 rows, so level 2 is needed.
    let choice = choose_levels(&h, std::slice::from_ref(&odd), 5, 0.0).expect("valid input");
    assert_eq!(choice.levels, vec![2]);
    assert_eq!(choice.achieved_k, 6);
    let release = released_classes(&h, &[odd], &[1], 5).expect("valid input");
    assert_eq!(release.released.len(), 0);
}

/// A realistic size: 9 quasi-identifiers, ~7,000 nodes, ~200,000 distinct
/// combinations. Run with `cargo test --release -- --ignored lattice_search_is_fast`.
#[test]
#[ignore = "performance check, run in release"]
fn lattice_search_is_fast() {
    use rand::{Rng, SeedableRng};
    let shapes: [(u16, u8); 9] = [
        (36, 4),
        (48, 4),
        (11, 3),
        (5, 3),
        (6, 3),
        (2, 2),
        (3, 2),
        (4, 2),
        (2, 2),
    ];
    let dims: Vec<Dimension> = shapes
        .iter()
        .enumerate()
        .map(|(i, &(_, levels))| {
            Dimension::new(format!("q{i}"), levels, move |code, level| {
                match (levels, level) {
                    (_, 0) => code,
                    (4, 1) => code / 3,
                    (4, 2) => code / 12,
                    (3, 1) => code / 2,
                    _ => 0,
                }
            })
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut h: HashMap<Vec<u16>, u64> = HashMap::new();
    while h.len() < 200_000 {
        // Skewed like real data: small codes are common, large ones rare.
        let key = shapes
            .iter()
            .map(|&(n, _)| {
                let u: f64 = rng.r#gen();
                ((u * u * f64::from(n)) as u16).min(n - 1)
            })
            .collect();
        *h.entry(key).or_insert(0) += 1;
    }
    // CPU time, not wall time: the test machines are shared.
    let cpu = crate::phase::thread_cpu_seconds;
    let start = cpu();
    let choice = choose_levels(&h, &dims, 5, 0.05).expect("valid input");
    let seconds = cpu() - start;
    eprintln!("{choice:?} in {seconds:.2} s of CPU");
    assert!(seconds < 5.0, "took {seconds:.2} s");
    assert!(choice.achieved_k >= 5);
}

proptest::proptest! {
    #[test]
    fn search_matches_brute_force(
        cells in proptest::collection::vec((0u16..12, 0u16..8, 0u16..3, 1u64..6), 1..60),
        k in 2u64..8,
        max_sup in 0.0f64..0.2,
    ) {
        let third = Dimension::new("kind", 2, |c, l| if l == 0 { c } else { 0 });
        let dims = [month(), region(), third];
        let mut h = HashMap::new();
        for (a, b, c, n) in &cells {
            *h.entry(vec![*a, *b, *c]).or_insert(0) += n;
        }
        let fast = choose_levels(&h, &dims, k, max_sup).expect("valid input");
        let again = choose_levels(&h, &dims, k, max_sup).expect("valid input");
        proptest::prop_assert_eq!(&fast, &again);
        let slow = brute_force(&h, &dims, k, max_sup);
        proptest::prop_assert_eq!(&fast.levels, &slow.levels);
        proptest::prop_assert_eq!(fast.suppressed_rows, slow.suppressed_rows);
        let total: u64 = h.values().sum();
        if total >= k {
            proptest::prop_assert!(fast.suppressed_rows as f64 <= max_sup * total as f64);
            proptest::prop_assert!(fast.achieved_k >= k);
        }
    }
}

/// Tallies of (codes, subject) rows.
fn subject_rows(rows: &[(&[u16], u32)], cap: usize) -> HashMap<Vec<u16>, Tally> {
    let mut h: HashMap<Vec<u16>, Tally> = HashMap::new();
    for &(key, subject) in rows {
        let t = h.entry(key.to_vec()).or_default();
        t.rows += 1;
        t.subjects.insert(subject, cap);
    }
    h
}

#[test]
fn a_class_needs_k_distinct_subjects_not_k_rows() {
    // Month 0 holds 40 rows of subject 1 and one row each of subjects 2..4: 44 rows, 4
    // subjects. Month 1 holds one row each of subjects 10..15.
    let mut rows: Vec<(&[u16], u32)> = vec![(&[0], 1); 40];
    rows.extend((2..5).map(|s| (&[0u16][..], s)));
    rows.extend((10..16).map(|s| (&[1u16][..], s)));
    let h = subject_rows(&rows, 5);
    let choice = super::choose_levels(&h, &[month()], 5, 0.9, &[0]).expect("valid");
    assert_eq!(choice.levels, vec![0]);
    assert_eq!(
        choice.suppressed_rows, 43,
        "the dominated month is suppressed"
    );
    assert_eq!(choice.achieved_k, 6);
    let release = super::released_classes(&h, &[month()], &[0], 5).expect("valid");
    assert!(!release.is_released(&[0]));
    assert!(release.is_released(&[1]));
    // Without the suppression allowance the months merge (quarter 0 holds 10 subjects).
    let strict = super::choose_levels(&h, &[month()], 5, 0.0, &[0]).expect("valid");
    assert_eq!((strict.levels, strict.suppressed_rows), (vec![1], 0));
}

#[test]
fn merged_subject_sets_count_each_subject_once() {
    let mut a = Subjects::default();
    let mut b = Subjects::default();
    for id in [5, 1, 3] {
        a.insert(id, 4);
    }
    for id in [3, 5, 9, 7] {
        b.insert(id, 4);
    }
    assert_eq!(b.len(), 4);
    let mut c = a.clone();
    c.merge(&a, 4);
    assert_eq!(c.len(), 3, "a set merged with itself is unchanged");
    let mut d = Subjects::default();
    d.insert(9, 4);
    d.merge(&c, 4);
    assert_eq!(d, Subjects([1, 3, 5, 9].into_iter().collect()));
    a.merge(&b, 4);
    assert_eq!(a.len(), 4, "capped");
}

#[test]
fn minimum_levels_bound_the_search_from_below() {
    let h = hist(&[(&[0, 0], 10), (&[1, 0], 10), (&[0, 1], 10), (&[1, 1], 10)]);
    let dims = [month(), region()];
    let free = choose_levels(&h, &dims, 5, 0.0).expect("valid");
    assert_eq!(free.levels, vec![0, 0]);
    let pinned = super::choose_levels(&tallies(&h), &dims, 5, 0.0, &[2, 1]).expect("valid");
    assert_eq!(pinned.levels, vec![2, 1]);
    assert!(super::choose_levels(&tallies(&h), &dims, 5, 0.0, &[4, 0]).is_err());
}
