//! Exact samplers for integer noise (Canonne, Kamath and Steinke 2020, "The Discrete Gaussian
//! for Differential Privacy", Algorithms 1 and 2): Bernoulli(exp(−γ)) by rational arithmetic,
//! the geometric count behind it, and the discrete Laplace that pure ε-DP releases draw from.
//!
//! Only integers and uniform integer draws are used, never floating point: a floating-point
//! Laplace leaks through the gaps in the doubles it can return (Mironov 2012). The draws come
//! from whatever `Rng` the caller passes; releases pass a keyed CSPRNG so a retry reproduces
//! its noise.

use rand::Rng;

/// A non-negative rational `num / den` (`den > 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ratio {
    pub num: u128,
    pub den: u128,
}

impl Ratio {
    pub(crate) fn new(num: u128, den: u128) -> Ratio {
        assert!(den > 0, "a ratio needs a positive denominator");
        let g = gcd(num, den);
        Ratio {
            num: num / g,
            den: den / g,
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// True with probability `p.num / p.den` (at most 1).
fn bernoulli<R: Rng + ?Sized>(rng: &mut R, num: u128, den: u128) -> bool {
    rng.gen_range(0..den) < num
}

/// True with probability exp(−γ) (Algorithm 1). Products that would overflow `u128` only arise
/// for γ above 2^64, whose probability exp(−γ) no run could ever observe, and answer false.
pub(crate) fn bernoulli_exp<R: Rng + ?Sized>(rng: &mut R, gamma: Ratio) -> bool {
    let Ratio { num, den } = gamma;
    if num <= den {
        return bernoulli_exp_at_most_one(rng, num, den);
    }
    for _ in 0..num / den {
        if !bernoulli_exp_at_most_one(rng, 1, 1) {
            return false;
        }
    }
    bernoulli_exp_at_most_one(rng, num % den, den)
}

/// exp(−num/den) for num ≤ den: the parity of the first K with Bernoulli(γ/K) false.
fn bernoulli_exp_at_most_one<R: Rng + ?Sized>(rng: &mut R, num: u128, den: u128) -> bool {
    let mut k: u128 = 1;
    loop {
        let Some(scaled) = den.checked_mul(k) else {
            return k % 2 == 1;
        };
        if !bernoulli(rng, num, scaled) {
            return k % 2 == 1;
        }
        k += 1;
    }
}

/// The number of successes before the first failure of Bernoulli(exp(−1)): geometric with
/// P(V = v) = (1 − 1/e) e^(−v).
fn geometric_exp_one<R: Rng + ?Sized>(rng: &mut R) -> u128 {
    let mut v = 0;
    while bernoulli_exp(rng, Ratio { num: 1, den: 1 }) {
        v += 1;
    }
    v
}

/// The discrete Laplace with scale `scale = t/s`: P(Y = y) ∝ exp(−|y| s / t) (Algorithm 2).
pub(crate) fn discrete_laplace<R: Rng + ?Sized>(rng: &mut R, scale: Ratio) -> i64 {
    let (t, s) = (scale.num, scale.den);
    assert!(t > 0, "the discrete Laplace needs a positive scale");
    loop {
        let u = rng.gen_range(0..t);
        if !bernoulli_exp(rng, Ratio::new(u, t)) {
            continue;
        }
        let v = geometric_exp_one(rng);
        let Some(x) = v.checked_mul(t).and_then(|vt| vt.checked_add(u)) else {
            continue;
        };
        let y = i64::try_from(x / s).unwrap_or(i64::MAX);
        let negative = rng.r#gen::<bool>();
        if negative && y == 0 {
            continue;
        }
        return if negative { -y } else { y };
    }
}

#[cfg(test)]
mod tests;
