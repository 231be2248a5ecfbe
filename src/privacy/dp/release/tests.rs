use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

fn key(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|&l| l.to_owned()).collect()
}

fn two_by_two(counts: [u64; 4]) -> Vec<(Vec<String>, u64)> {
    let keys = [["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"]];
    keys.iter().zip(counts).map(|(k, c)| (key(k), c)).collect()
}

const TABLE: Budgeted = Budgeted {
    sensitivity: 2,
    epsilon_micro: 500_000,
};

fn publish(interior: &[(Vec<String>, u64)], seed: u64) -> Published {
    let dims = key(&["d1", "d2"]);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    release("t", "p", &dims, interior, TABLE, &mut rng)
}

fn count(published: &Published, labels: &[&str]) -> u64 {
    let cell = published.cells.iter().find(|c| c.key == key(labels));
    cell.and_then(|c| c.count).expect("every cell is published")
}

#[test]
fn every_cell_and_margin_is_published_and_totals_add_up() {
    let p = publish(&two_by_two([0, 3, 40, 0]), 7);
    assert_eq!(p.cells.len(), 4 + 2 + 2 + 1);
    assert!(
        p.cells
            .iter()
            .all(|c| c.count.is_some() && !c.primary && !c.secondary)
    );
    for d1 in ["a", "b"] {
        assert_eq!(
            count(&p, &[d1, TOTAL]),
            count(&p, &[d1, "x"]) + count(&p, &[d1, "y"])
        );
    }
    for d2 in ["x", "y"] {
        assert_eq!(
            count(&p, &[TOTAL, d2]),
            count(&p, &["a", d2]) + count(&p, &["b", d2])
        );
    }
    assert_eq!(
        count(&p, &[TOTAL, TOTAL]),
        count(&p, &["a", TOTAL]) + count(&p, &["b", TOTAL])
    );
}

#[test]
fn the_seed_fixes_the_noise_and_another_seed_changes_it() {
    let interior = two_by_two([10, 20, 30, 40]);
    assert_eq!(publish(&interior, 1), publish(&interior, 1));
    assert!((2..20).any(|seed| publish(&interior, seed) != publish(&interior, 1)));
}

/// The 95 % margin of one cell covers the noise 95 % of the time, not much more.
#[test]
fn the_margin_of_error_covers_95_percent_of_the_noise() {
    let interior = two_by_two([1000; 4]);
    let m = TABLE.margin_of_error(1);
    let runs = 4000;
    let mut inside = 0;
    for seed in 0..runs {
        let p = publish(&interior, seed);
        inside += (count(&p, &["a", "x"]) as i64 - 1000).unsigned_abs().le(&m) as u64;
    }
    let share = inside as f64 / runs as f64;
    assert!(
        (0.94..0.965).contains(&share),
        "coverage {share} with margin {m}"
    );
    let total = TABLE.margin_of_error(4);
    assert!(
        total > m && total < 4 * m,
        "a sum of 4 cells: {total} vs one cell {m}"
    );
}

/// Adding or removing one subscriber moves the interior by at most the sensitivity in L1;
/// the chance of any published value changes by at most e^ε (checked on one cell, the one
/// the subscriber moves most, within sampling error).
#[test]
fn neighbouring_tables_give_outputs_within_e_to_the_epsilon() {
    let with = two_by_two([3, 1, 0, 5]);
    let without = two_by_two([1, 1, 0, 5]);
    let runs = 40_000;
    let histogram = |interior: &[(Vec<String>, u64)], offset: u64| {
        let mut h: BTreeMap<u64, u64> = BTreeMap::new();
        for seed in 0..runs {
            *h.entry(count(&publish(interior, offset + seed), &["a", "x"]))
                .or_default() += 1;
        }
        h
    };
    let (p, q) = (histogram(&with, 0), histogram(&without, runs));
    let bound = (TABLE.epsilon_micro as f64 / MICRO as f64).exp();
    let mut checked = 0;
    for (value, &n) in &p {
        let m = q.get(value).copied().unwrap_or(0);
        if n < 400 || m < 400 {
            continue;
        }
        let ratio = n as f64 / m as f64;
        // Three standard errors of the log ratio of two binomial counts.
        let slack = (3.0 * (1.0 / n as f64 + 1.0 / m as f64).sqrt()).exp();
        assert!(
            ratio <= bound * slack && 1.0 / ratio <= bound * slack,
            "value {value}: {ratio}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "too few values seen often enough: {checked}");
}
