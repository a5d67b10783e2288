//! numpy's `np.random.default_rng(seed)`: `SeedSequence` → PCG64 → the `Generator` methods
//! the 2.2.1 pipeline calls. Every random decision of the ensemble (member seeds, class and
//! feature permutations, category shuffles, fingerprint salts) comes from these streams, so
//! they must reproduce numpy draw for draw (golden values: `fixtures/pipeline/numpy_rng.json`).

const PCG_MULT: u128 = (2549297995355413924u128 << 64) | 4865540595714422341u128;

/// numpy's `SeedSequence(seed).generate_state(4, uint64)` for a non-negative integer seed.
fn seed_sequence_words(seed: u64) -> [u64; 4] {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_L: u32 = 0xca01_f9dd;
    const MIX_R: u32 = 0x4973_f715;
    // The seed as little-endian 32-bit words; 0 is one zero word.
    let mut entropy = vec![seed as u32];
    if seed >> 32 != 0 {
        entropy.push((seed >> 32) as u32);
    }
    let mut hash_const = INIT_A;
    let mut hashmix = |mut v: u32| {
        v ^= hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_L.wrapping_mul(x).wrapping_sub(MIX_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; 4];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..4 {
        let s = pool[src];
        for (dst, p) in pool.iter_mut().enumerate() {
            if src != dst {
                let h = hashmix(s);
                *p = mix(*p, h);
            }
        }
    }
    for &e in entropy.iter().skip(4) {
        for p in pool.iter_mut() {
            let h = hashmix(e);
            *p = mix(*p, h);
        }
    }
    let mut hash_const = INIT_B;
    let mut words = [0u32; 8];
    for (i, w) in words.iter_mut().enumerate() {
        let mut v = pool[i % 4] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hash_const);
        *w = v ^ (v >> 16);
    }
    let mut out = [0u64; 4];
    for (k, o) in out.iter_mut().enumerate() {
        *o = words[2 * k] as u64 | ((words[2 * k + 1] as u64) << 32);
    }
    out
}

/// `np.random.default_rng(seed)`: PCG64 (XSL-RR 128/64) with numpy's buffered 32-bit draws.
#[derive(Debug, Clone)]
pub struct NumpyRng {
    state: u128,
    inc: u128,
    /// numpy keeps the high half of a 64-bit draw for the next 32-bit draw.
    pending_u32: Option<u32>,
}

impl NumpyRng {
    /// `np.random.default_rng(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> Self {
        let w = seed_sequence_words(seed);
        let initstate = ((w[0] as u128) << 64) | w[1] as u128;
        let initseq = ((w[2] as u128) << 64) | w[3] as u128;
        let mut rng = Self {
            state: 0,
            inc: (initseq << 1) | 1,
            pending_u32: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// One 64-bit output (`next_uint64`).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let x = ((s >> 64) as u64) ^ (s as u64);
        x.rotate_right((s >> 122) as u32)
    }

    /// One 32-bit output (`next_uint32`): halves of a 64-bit draw, low half first.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.pending_u32.take() {
            return v;
        }
        let v = self.next_u64();
        self.pending_u32 = Some((v >> 32) as u32);
        v as u32
    }

    /// `Generator.random()`: a double in [0, 1) from the top 53 bits.
    pub fn random(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// numpy's `random_bounded_uint64(off=0, rng=max)`: a value in `0..=max` (Lemire's
    /// method on 32-bit draws when `max` fits, on 64-bit draws otherwise).
    pub fn bounded(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        if max <= u32::MAX as u64 {
            if max == u32::MAX as u64 {
                return self.next_u32() as u64;
            }
            let max = max as u32;
            let excl = max + 1;
            let mut m = self.next_u32() as u64 * excl as u64;
            let mut left = m as u32;
            if left < excl {
                let threshold = (u32::MAX - max) % excl;
                while left < threshold {
                    m = self.next_u32() as u64 * excl as u64;
                    left = m as u32;
                }
            }
            m >> 32
        } else {
            if max == u64::MAX {
                return self.next_u64();
            }
            let excl = max + 1;
            let mut m = self.next_u64() as u128 * excl as u128;
            let mut left = m as u64;
            if left < excl {
                let threshold = (u64::MAX - max) % excl;
                while left < threshold {
                    m = self.next_u64() as u128 * excl as u128;
                    left = m as u64;
                }
            }
            (m >> 64) as u64
        }
    }

    /// `Generator.integers(low, high)` (high exclusive, `low < high`).
    pub fn integers(&mut self, low: i64, high: i64) -> i64 {
        debug_assert!(low < high);
        low + self.bounded((high - 1 - low) as u64) as i64
    }

    /// `Generator.integers(low, high, size)`: element by element, like numpy's fill.
    pub fn integers_n(&mut self, low: i64, high: i64, size: usize) -> Vec<i64> {
        (0..size).map(|_| self.integers(low, high)).collect()
    }

    /// numpy's `random_interval(max)`: masked rejection sampling in `0..=max`.
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        if max <= u32::MAX as u64 {
            loop {
                let v = (self.next_u32() as u64) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let v = self.next_u64() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `Generator.permutation(n)`: Fisher–Yates from the back with `random_interval`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            v.swap(i, j);
        }
        v
    }

    /// `Generator.choice(pop, size, replace=False)`: indices into the population. numpy
    /// takes Floyd's algorithm (then its Lemire-bounded `_shuffle_int` of the picks) unless
    /// `pop > 10 000` and `size > pop / 50`, where it shuffles the tail of `0..pop` in place
    /// and returns the last `size` entries.
    ///
    /// # Panics
    /// If `size > pop` (callers check).
    pub fn choice_without_replacement(&mut self, pop: usize, size: usize) -> Vec<usize> {
        assert!(
            size <= pop,
            "choice without replacement: pop {pop}, size {size}"
        );
        if pop > 10_000 && size > pop / 50 {
            let mut idx: Vec<usize> = (0..pop).collect();
            let first = (pop - size).max(1);
            for i in (first..pop).rev() {
                let j = self.bounded(i as u64) as usize;
                idx.swap(i, j);
            }
            return idx[pop - size..].to_vec();
        }
        let mut picked: Vec<usize> = Vec::with_capacity(size);
        let mut taken = std::collections::HashSet::with_capacity(size);
        for j in pop - size..pop {
            let v = self.bounded(j as u64) as usize;
            let v = if taken.contains(&v) { j } else { v };
            taken.insert(v);
            picked.push(v);
        }
        for i in (1..size).rev() {
            let j = self.bounded(i as u64) as usize;
            picked.swap(i, j);
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation() {
        let mut rng = NumpyRng::new(3);
        let mut p = rng.permutation(50);
        p.sort_unstable();
        assert_eq!(p, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn bounded_stays_in_range() {
        let mut rng = NumpyRng::new(9);
        for max in [1u64, 2, 7, 1000, u32::MAX as u64 - 1, 1 << 40] {
            for _ in 0..100 {
                assert!(rng.bounded(max) <= max);
            }
        }
    }
}
