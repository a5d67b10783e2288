//! numpy's legacy `RandomState` (MT19937), for the draws of tabpfn-extensions'
//! `ManyClassClassifier` (`sklearn.utils.check_random_state(int)`): integer seeding,
//! `randint`, `uniform`/`random_sample`, `permutation`.

use crate::torch_rng::Mt19937;

/// A `np.random.RandomState(seed)`: numpy seeds MT19937 exactly as torch's CPU generator
/// does, so the core is [`crate::torch_rng::Mt19937`].
pub struct RandomState {
    mt: Mt19937,
}

impl RandomState {
    /// `RandomState(seed)` for `0 ≤ seed < 2³²` (`mt19937_seed`, Knuth's initialiser).
    pub fn new(seed: u32) -> Self {
        Self {
            mt: Mt19937::new(seed as u64),
        }
    }

    /// `genrand_int32`.
    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// `random_sample()`: a 53-bit double in [0, 1).
    pub fn random(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `uniform(low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.random()
    }

    /// Masked rejection in `0..=max` with 32-bit draws (`max < 2³²`), as the legacy
    /// `randint` and `random_interval` do.
    fn masked(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `randint(low, high)` (high exclusive, `high − low ≤ 2³²`).
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        debug_assert!(low < high && high - low <= 1 << 32);
        low + self.masked((high - low - 1) as u32) as i64
    }

    /// `permutation(n)` (the legacy Fisher–Yates `shuffle`).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.masked(i as u32) as usize;
            v.swap(i, j);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `np.random.RandomState(5489).randint(0, 2**32, dtype=np.uint32)` gives MT19937's
    /// reference first output for that seed.
    #[test]
    fn first_output_of_the_reference_seed() {
        let mut r = RandomState::new(5489);
        assert_eq!(r.next_u32(), 3_499_211_612);
    }
}
