//! Sampling helpers over the static tables: weighted and uniform choice.

use rand::Rng;

/// A discrete distribution over table indices, built once per table.
pub struct Weighted {
    cumulative: Vec<u64>,
}

impl Weighted {
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect();
        Weighted { cumulative }
    }

    /// An index drawn with probability proportional to its weight (0 for an all-zero table).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        if total == 0 {
            return 0;
        }
        let x = rng.gen_range(0..total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}

/// Uniform choice from a static, non-empty table.
pub fn pick<T: Copy, R: Rng + ?Sized>(rng: &mut R, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn weighted_follows_weights_and_skips_zeroes() {
        let w = Weighted::new([1, 0, 3]);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[w.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((2.8..3.2).contains(&ratio), "{ratio}");
    }

    #[test]
    fn empty_weights_give_index_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(Weighted::new([]).sample(&mut rng), 0);
    }
}
