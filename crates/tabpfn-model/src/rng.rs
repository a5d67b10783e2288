//! torch's CPU `randn` for float32, reproduced: MT19937 (`torch.manual_seed`) and the two
//! normal samplers of `aten/src/ATen/native/cpu/DistributionTemplates.h`.
//!
//! * numel ≥ 16 (contiguous float32): all uniforms are drawn first (24-bit, one 32-bit draw
//!   each), then every block of 16 becomes 8 Box–Muller pairs `(j, j + 8)`; a ragged tail
//!   redraws and transforms the last 16 elements.
//! * numel < 16: per element, `normal_distribution<double>` with 53-bit uniforms from two
//!   32-bit draws, caching the sine sample for the next element.

const N: usize = 624;
const M: usize = 397;

/// MT19937 seeded like `at::mt19937(seed)`.
pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl Mt19937 {
    pub fn new(seed: u64) -> Self {
        let mut state = [0u32; N];
        state[0] = (seed & 0xffff_ffff) as u32;
        for j in 1..N {
            let prev = state[j - 1];
            state[j] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(j as u32);
        }
        Self { state, index: N }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % N] & 0x7fff_ffff);
            let mut v = self.state[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.state[i] = v;
        }
        self.index = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        let lo = self.next_u32() as u64;
        (hi << 32) | lo
    }
}

/// `torch.manual_seed(seed); torch.randn(numel)` on CPU in float32.
pub fn torch_randn_f32(seed: u64, numel: usize) -> Vec<f32> {
    let mut g = Mt19937::new(seed);
    if numel >= 16 {
        let uniform =
            |g: &mut Mt19937| ((g.next_u32() & 0x00ff_ffff) as f64 / (1u64 << 24) as f64) as f32;
        let mut data: Vec<f32> = (0..numel).map(|_| uniform(&mut g)).collect();
        let mut i = 0;
        while i + 16 <= numel {
            fill16(&mut data[i..i + 16]);
            i += 16;
        }
        if !numel.is_multiple_of(16) {
            let tail = &mut data[numel - 16..];
            for v in tail.iter_mut() {
                *v = uniform(&mut g);
            }
            fill16(tail);
        }
        data
    } else {
        let mut cached: Option<f64> = None;
        (0..numel)
            .map(|_| {
                if let Some(c) = cached.take() {
                    return c as f32;
                }
                let u = |g: &mut Mt19937| {
                    (g.next_u64() & ((1u64 << 53) - 1)) as f64 / (1u64 << 53) as f64
                };
                let u1 = u(&mut g);
                let u2 = u(&mut g);
                let r = (-2.0 * (-u2).ln_1p()).sqrt();
                let theta = 2.0 * std::f64::consts::PI * u1;
                cached = Some(r * theta.sin());
                (r * theta.cos()) as f32
            })
            .collect()
    }
}

fn fill16(d: &mut [f32]) {
    let two_pi = (2.0 * std::f64::consts::PI) as f32;
    for j in 0..8 {
        let u1 = 1.0f32 - d[j];
        let u2 = d[j + 8];
        let radius = (-2.0f32 * u1.ln()).sqrt();
        let theta = two_pi * u2;
        d[j] = radius * theta.cos();
        d[j + 8] = radius * theta.sin();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_sequence() {
        // First outputs of the reference mt19937ar with init_genrand(5489).
        let mut g = Mt19937::new(5489);
        assert_eq!(g.next_u32(), 3_499_211_612);
        assert_eq!(g.next_u32(), 581_869_302);
        assert_eq!(g.next_u32(), 3_890_346_734);
    }

    #[test]
    fn randn_seed0_first_row() {
        // torch.manual_seed(0); torch.randn(16, 48)[0, :8] (architecture.md §4.5)
        let t = torch_randn_f32(0, 16 * 48);
        let expected = [
            -1.125_839_8f32,
            -1.152_360_2,
            -0.250_578_58,
            -0.433_878_8,
            0.848_710_36,
            0.692_009_15,
            -0.316_012_77,
            -2.115_219_4,
        ];
        for (a, b) in t.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
