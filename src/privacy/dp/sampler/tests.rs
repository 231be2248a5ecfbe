use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The chi-square statistic's 99.9th percentile for `df` degrees of freedom (Wilson–Hilferty).
fn chi2_critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.09;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

/// Chi-square goodness of fit of `draw` to `pmf` over `-range..=range`, the two tails beyond
/// each one bin; returns (statistic, critical value).
fn chi_square(
    n: usize,
    range: i64,
    pmf: impl Fn(i64) -> f64,
    mut draw: impl FnMut() -> i64,
) -> (f64, f64) {
    let width = (2 * range + 3) as usize;
    let bin = |y: i64| (y.clamp(-range - 1, range + 1) + range + 1) as usize;
    let mut seen = vec![0u64; width];
    for _ in 0..n {
        seen[bin(draw())] += 1;
    }
    let inner: f64 = (-range..=range).map(&pmf).sum();
    let mut expected: Vec<f64> = (-range - 1..=range + 1).map(&pmf).collect();
    expected[0] = (1.0 - inner) / 2.0;
    expected[width - 1] = (1.0 - inner) / 2.0;
    let stat = seen
        .iter()
        .zip(&expected)
        .map(|(&o, &p)| {
            let e = p * n as f64;
            (o as f64 - e).powi(2) / e
        })
        .sum();
    (stat, chi2_critical(width - 1))
}

fn laplace_pmf(scale: f64) -> impl Fn(i64) -> f64 {
    let q = (-1.0 / scale).exp();
    move |y| (1.0 - q) / (1.0 + q) * q.powi(y.unsigned_abs() as i32)
}

#[test]
fn bernoulli_exp_matches_exp_minus_gamma() {
    let mut r = rng(1);
    let n = 200_000;
    for (num, den) in [(0, 1), (1, 3), (1, 1), (7, 4), (5, 2)] {
        let hits = (0..n)
            .filter(|_| bernoulli_exp(&mut r, Ratio::new(num, den)))
            .count();
        let p = (-(num as f64) / den as f64).exp();
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        let seen = hits as f64 / n as f64;
        assert!(
            (seen - p).abs() <= 5.0 * sd + 1e-12,
            "γ = {num}/{den}: {seen} vs {p}"
        );
    }
}

#[test]
fn discrete_laplace_fits_its_pmf_at_several_scales() {
    for (seed, (t, s)) in [(1, 1), (5, 2), (10, 1), (200, 3)].into_iter().enumerate() {
        let scale = Ratio::new(t, s);
        let mut r = rng(seed as u64 + 10);
        let tau = t as f64 / s as f64;
        let range = (4.0 * tau).ceil() as i64;
        let (stat, critical) = chi_square(60_000, range, laplace_pmf(tau), || {
            discrete_laplace(&mut r, scale)
        });
        assert!(
            stat < critical,
            "scale {t}/{s}: χ² {stat:.1} ≥ {critical:.1}"
        );
    }
}

/// A shifted or one-sided sampler must fail the test the samplers pass.
#[test]
fn the_goodness_of_fit_test_rejects_a_biased_sampler() {
    let mut r = rng(3);
    let scale = Ratio::new(5, 1);
    let (stat, critical) = chi_square(60_000, 20, laplace_pmf(5.0), || {
        discrete_laplace(&mut r, scale) + 1
    });
    assert!(stat > critical, "χ² {stat:.1} should exceed {critical:.1}");
}

#[test]
fn noise_is_symmetric_around_zero() {
    let mut r = rng(4);
    let n = 100_000;
    let draws: Vec<i64> = (0..n)
        .map(|_| discrete_laplace(&mut r, Ratio::new(3, 1)))
        .collect();
    let positive = draws.iter().filter(|&&y| y > 0).count() as f64;
    let negative = draws.iter().filter(|&&y| y < 0).count() as f64;
    let sd = (positive + negative).sqrt();
    assert!(
        (positive - negative).abs() < 5.0 * sd,
        "{positive} vs {negative}"
    );
    let mean = draws.iter().sum::<i64>() as f64 / n as f64;
    assert!(mean.abs() < 0.05, "mean {mean}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A seed fixes the noise: a retried release draws the same.
    #[test]
    fn a_seed_reproduces_its_draws(seed in any::<u64>(), t in 1u128..10_000, s in 1u128..1_000) {
        let scale = Ratio::new(t, s);
        let a: Vec<i64> = { let mut r = rng(seed); (0..8).map(|_| discrete_laplace(&mut r, scale)).collect() };
        let b: Vec<i64> = { let mut r = rng(seed); (0..8).map(|_| discrete_laplace(&mut r, scale)).collect() };
        prop_assert_eq!(a, b);
    }

    /// Draws stay within reach of the scale (a far tail beyond 60 scales has probability
    /// below e^-60).
    #[test]
    fn draws_stay_within_their_tails(seed in any::<u64>(), t in 1u128..1_000_000, s in 1u128..1_000) {
        let mut r = rng(seed);
        let reach = 60 * (t / s + 1);
        prop_assert!(discrete_laplace(&mut r, Ratio::new(t, s)).unsigned_abs() as u128 <= reach);
    }

    #[test]
    fn ratios_keep_their_value(num in 0u128..1 << 60, den in 1u128..1 << 60) {
        let r = Ratio::new(num, den);
        prop_assert_eq!(r.num * den, num * r.den);
        prop_assert_eq!(gcd(r.num, r.den), 1);
    }
}
