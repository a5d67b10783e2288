//! torch's `randn` for float32, reproduced on the host for both of torch's generators.
//!
//! The reference draws the feature positional embeddings with `torch.randn` on the device
//! that runs the model, so the same checkpoint and data give different predictions under
//! PyTorch on CPU and on CUDA. [`TorchRng`] picks which of the two runs to reproduce.
//!
//! **CPU** (default): MT19937 (`torch.manual_seed`) and the two normal samplers of
//! `aten/src/ATen/native/cpu/DistributionTemplates.h`.
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

/// Which torch generator the feature positional embeddings reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum TorchRng {
    /// `torch.randn` on CPU (MT19937): what the reference computes with `device="cpu"`.
    #[default]
    Cpu,
    /// `torch.randn` on a CUDA device (Philox4x32-10, see [`cuda_randn_f32`]):
    /// what the reference computes with `device="cuda"`. `grid_limit` is the GPU's
    /// `multiProcessorCount · maxThreadsPerMultiProcessor / 256`; it only matters beyond
    /// `256 · grid_limit` values (the embeddings need `48 ·` feature groups, so
    /// 5 632 groups on an H100), below that every GPU draws the same numbers.
    Cuda { grid_limit: u32 },
}

impl TorchRng {
    /// CUDA with an H100's grid limit (132 multiprocessors × 2048 threads / 256).
    pub const CUDA_H100: TorchRng = TorchRng::Cuda { grid_limit: 1056 };

    /// `torch.manual_seed(seed); torch.randn(numel)` in float32 on this generator.
    pub fn randn(self, seed: u64, numel: usize) -> Vec<f32> {
        match self {
            TorchRng::Cpu => torch_randn_f32(seed, numel),
            TorchRng::Cuda { grid_limit } => cuda_randn_f32(seed, numel, grid_limit),
        }
    }
}

impl std::fmt::Display for TorchRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TorchRng::Cpu => write!(f, "cpu"),
            TorchRng::Cuda { grid_limit } => write!(f, "cuda (grid limit {grid_limit})"),
        }
    }
}

/// `torch.manual_seed(seed); torch.randn(numel, device="cuda")` in float32, computed on
/// the host.
///
/// torch fills the tensor with a grid-stride kernel of 256-thread blocks, `ceil(numel/256)`
/// blocks but at most `grid_limit`; thread `t` seeds a cuRAND Philox4x32-10 state with
/// (seed, subsequence `t`, offset 0 right after `manual_seed`) and takes one
/// `curand_normal4` per round `r` (two Box–Muller pairs of its `r`-th 128-bit counter
/// block), whose `i`-th value goes to element `t + (4r + i) · stride` (stride = threads in
/// the grid; one round covers everything unless the grid limit binds). The device's
/// fast `logf`/`sincosf` are not bit-reproducible on a CPU: values agree to ~3e-6 absolute
/// (measured against an H100's draws in the unit test's fixture).
pub fn cuda_randn_f32(seed: u64, numel: usize, grid_limit: u32) -> Vec<f32> {
    let blocks = numel.div_ceil(256).min(grid_limit.max(1) as usize);
    let stride = 256 * blocks;
    let key = [seed as u32, (seed >> 32) as u32];
    let mut out = vec![0.0f32; numel];
    for t in 0..stride {
        // round r of the grid-stride loop: the thread's (r+1)-th counter block
        for r in 0u64.. {
            let base = t + 4 * r as usize * stride;
            if base >= numel {
                break;
            }
            let ctr = [
                r as u32,
                (r >> 32) as u32,
                t as u32,
                (t as u64 >> 32) as u32,
            ];
            let x = philox4x32_10(ctr, key);
            let (a, b) = box_muller(x[0], x[1]);
            let (c, d) = box_muller(x[2], x[3]);
            for (i, v) in [a, b, c, d].into_iter().enumerate() {
                if let Some(o) = out.get_mut(base + i * stride) {
                    *o = v;
                }
            }
        }
    }
    out
}

/// The Philox4x32-10 block function (Salmon et al. 2011, as in cuRAND).
fn philox4x32_10(mut c: [u32; 4], mut k: [u32; 2]) -> [u32; 4] {
    const M0: u64 = 0xD251_1F53;
    const M1: u64 = 0xCD9E_8D57;
    const W0: u32 = 0x9E37_79B9;
    const W1: u32 = 0xBB67_AE85;
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let p0 = M0 * c[0] as u64;
        let p1 = M1 * c[2] as u64;
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
    }
    c
}

/// cuRAND's `_curand_box_muller` of two 32-bit draws: (r·sin θ, r·cos θ).
fn box_muller(x: u32, y: u32) -> (f32, f32) {
    const INV: f32 = 2.328_306_4e-10; // 2^-32
    const INV_2PI: f32 = 2.328_306_4e-10 * std::f32::consts::TAU;
    let u = (x as f32).mul_add(INV, INV / 2.0);
    let v = (y as f32).mul_add(INV_2PI, INV_2PI / 2.0);
    let r = (-2.0f32 * u.ln()).sqrt() as f64;
    let (sin, cos) = (v as f64).sin_cos();
    ((r * sin) as f32, (r * cos) as f32)
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

    /// Draws of `torch.randn(..., device="cuda")` on an H100 (`python/gen_cuda_randn.py`).
    fn cuda_draws() -> ndarray_npy::NpzReader<std::fs::File> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/rng/cuda_randn.npz"
        );
        ndarray_npy::NpzReader::new(std::fs::File::open(path).expect(path)).expect(path)
    }

    #[test]
    fn cuda_randn_matches_an_h100() {
        let mut npz = cuda_draws();
        let limit: ndarray::ArrayD<i64> = npz.by_name("grid_limit").unwrap();
        let limit = limit.first().copied().unwrap() as u32;
        // the committed draws are an H100's (limit 1056); the small cases fit any GPU's grid
        let rng = TorchRng::Cuda { grid_limit: limit };
        let mut cases = 0;
        for name in npz.names().unwrap() {
            let Some(spec) = name.strip_prefix("randn_") else {
                continue;
            };
            let p: Vec<u64> = spec.split('_').map(|v| v.parse().unwrap()).collect();
            let want: ndarray::ArrayD<f32> = npz.by_name(&name).unwrap();
            let got = rng.randn(p[0], (p[1] * p[2]) as usize);
            let want_v: Vec<f32> = want.iter().copied().collect();
            // the device's fast logf / sincosf are approximations
            tabpfn_test_support::assert_close(&name, &got, &want_v, 5e-6);
            // the CPU generator draws other numbers
            let cpu = torch_randn_f32(p[0], got.len());
            assert!(
                cpu.iter()
                    .zip(want.iter())
                    .any(|(a, b)| (a - b).abs() > 0.1),
                "{name}"
            );
            cases += 1;
        }
        assert_eq!(cases, 7);
        // 576 000 values exceed the H100's grid (1056 blocks · 256 threads): several values
        // per thread, at a stride of the grid's size
        let want: ndarray::ArrayD<f32> = npz.by_name("sample_0_3000_192").unwrap();
        let idx: ndarray::ArrayD<i64> = npz.by_name("sample_0_3000_192_index").unwrap();
        let got = cuda_randn_f32(0, 3000 * 192, limit);
        for (&i, &w) in idx.iter().zip(want.iter()) {
            let g = got[i as usize];
            assert!((g - w).abs() < 5e-6, "element {i}: {g} vs {w}");
        }
        // without the limit the layout differs
        let unlimited = cuda_randn_f32(0, 3000 * 192, u32::MAX);
        assert!(idx
            .iter()
            .zip(want.iter())
            .any(|(&i, &w)| (unlimited[i as usize] - w).abs() > 0.1));
    }

    #[test]
    fn philox_known_answer() {
        // Random123's known-answer vectors for philox4x32_10
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
    }

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
