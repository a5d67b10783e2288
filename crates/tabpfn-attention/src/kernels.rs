//! Hand-written CPU kernels on plain `f32` slices: strided matrix views, `gemm`-crate matrix
//! products, a vectorised `exp`, and a fused softmax attention over blocks of queries.
//!
//! Why: burn-flex's stock attention materialises scores through generic tensor ops and runs
//! at roughly a quarter of this CPU's matmul rate at TabPFN's shapes; these kernels keep a
//! block of scores in cache, share one K/V across query heads without repeating it, and call
//! the `gemm` crate directly. The Burn module path ([`crate::MultiHeadAttention`]) stays the
//! reference the tests compare against.
//!
//! SIMD: the element-wise kernels have an AVX2 + FMA version ([`simd`], picked at run time)
//! and a portable scalar one; the scalar `exp` does the same fused multiply-adds as a vector
//! lane (`f32::mul_add`), so both give the same bits.

use std::ops::Range;

/// A read-only strided matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// A writable strided matrix view (same indexing as [`MatRef`]).
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

impl<'a> MatRef<'a> {
    /// Row-major view of `rows × cols` with row stride `rs` (≥ cols). Panics if `data` is
    /// too short: views are built by this crate's callers from sizes they just allocated.
    pub fn new(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> Self {
        Self::strided(data, rows, cols, rs, 1)
    }

    fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        assert!(
            span(rows, cols, rs, cs) <= data.len(),
            "matrix view {rows}×{cols} (strides {rs}, {cs}) over {} values",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Rows `r` and columns `c` of the view.
    pub fn sub(self, r: Range<usize>, c: Range<usize>) -> Self {
        assert!(
            r.end <= self.rows && c.end <= self.cols,
            "sub-view out of range"
        );
        let off = r.start * self.rs + c.start * self.cs;
        let rows = r.len();
        let cols = c.len();
        let end = off + span(rows, cols, self.rs, self.cs);
        Self::strided(&self.data[off..end.max(off)], rows, cols, self.rs, self.cs)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<'a> MatMut<'a> {
    /// Row-major view of `rows × cols` with row stride `rs` (≥ cols).
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize, rs: usize) -> Self {
        assert!(
            span(rows, cols, rs, 1) <= data.len(),
            "matrix view {rows}×{cols} (row stride {rs}) over {} values",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    /// Columns `c` of the view, all rows.
    pub fn cols_range(self, c: Range<usize>) -> MatMut<'a> {
        assert!(c.end <= self.cols, "column range out of view");
        let off = c.start * self.cs;
        let cols = c.len();
        let end = off + span(self.rows, cols, self.rs, self.cs);
        MatMut {
            data: &mut self.data[off..end.max(off)],
            rows: self.rows,
            cols,
            rs: self.rs,
            cs: self.cs,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows `start..start + len`, all columns.
    fn rows_from(&mut self, start: usize, len: usize) -> MatMut<'_> {
        assert!(start + len <= self.rows, "row range out of view");
        MatMut {
            data: &mut self.data[start * self.rs..],
            rows: len,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }

    /// Multiplies row `i` by `f(i)`.
    fn scale_rows(&mut self, f: impl Fn(usize) -> f32) {
        for i in 0..self.rows {
            let c = f(i);
            if c == 1.0 {
                continue;
            }
            if self.cs == 1 {
                for x in self.row_mut(i) {
                    *x *= c;
                }
            } else {
                for j in 0..self.cols {
                    self.data[i * self.rs + j * self.cs] *= c;
                }
            }
        }
    }

    /// Row `i` (needs a unit column stride).
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        assert_eq!(self.cs, 1);
        let s = i * self.rs;
        &mut self.data[s..s + self.cols]
    }
}

/// Whether a product may spread over the rayon pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// Single-threaded (inside an already parallel loop).
    One,
    /// All threads of the current rayon pool.
    Pool,
}

/// `dst = a · b` (or `dst += a · b` with `accumulate`). Shapes: `a [m, k]`, `b [k, n]`,
/// `dst [m, n]`; panics on a mismatch (a bug in the caller, never a data error).
pub fn matmul(
    dst: &mut MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
    threads: Threads,
) {
    assert!(
        a.cols == b.rows && dst.rows == a.rows && dst.cols == b.cols,
        "matmul shapes: [{}, {}] · [{}, {}] → [{}, {}]",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        dst.rows,
        dst.cols
    );
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[i * dst.rs + j * dst.cs] = 0.0;
                }
            }
        }
        return;
    }
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::Pool => match rayon::current_num_threads() {
            0 | 1 => gemm::Parallelism::None,
            t => gemm::Parallelism::Rayon(t),
        },
    };
    // SAFETY: the three views were bounds-checked at construction (every index
    // (i, j) < (rows, cols) maps inside its slice), `dst` is borrowed mutably and so does
    // not alias `a` or `b`, and the strides fit in isize because the slices exist.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            dst.cs as isize,
            dst.rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;
const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];

/// `exp(x)` in f32 to ~1 ulp (Cephes-style reduction by ln 2, degree-6 polynomial, 2ⁿ built
/// in the exponent bits); `x < -87` gives 0. Same fused multiply-adds, in the same order, as
/// the 8-lane [`simd::exp8`], so both give identical bits.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let xc = x.clamp(EXP_LO, EXP_HI);
    let t = xc.mul_add(LOG2E, ROUND_MAGIC);
    let n = t - ROUND_MAGIC;
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, xc));
    let r2 = r * r;
    let mut p = EXP_POLY[0];
    for c in &EXP_POLY[1..] {
        p = p.mul_add(r, *c);
    }
    let e = p.mul_add(r2, r) + 1.0;
    let bits = t
        .to_bits()
        .wrapping_sub(ROUND_MAGIC.to_bits())
        .wrapping_add(127)
        << 23;
    if x < EXP_LO {
        0.0
    } else {
        e * f32::from_bits(bits)
    }
}

/// Lower clamp of [`pow2_f32`]'s argument: 2⁻¹²⁵ keeps the result a normal float.
const POW2_LO: f32 = -125.0;
/// Near-minimax polynomial for 2ᶠ on [−½, ½] (degree 6, highest first; ≤ 1.5 ulp).
const POW2_POLY: [f32; 7] = [
    1.499_088_8e-4,
    1.339_308_3e-3,
    9.619_674e-3,
    5.550_347_3e-2,
    2.402_263_7e-1,
    6.931_472e-1,
    1.0,
];

/// `2^y` in f32 to ~1.5 ulp, for the softmax numerators (`y ≤ 0` up to rounding; `y` must
/// stay below 128): n = round(y), a polynomial in y − n, n added to the exponent bits.
/// Arguments below −125 give ~2⁻¹²⁵ instead of underflowing, which no softmax sum (≥ 1)
/// can see. Why not [`exp_f32`]: with ln 2 folded into the caller's scale there is no
/// Cody–Waite reduction and no upper clamp, about half the instructions per element —
/// the exponential is the second-largest cost of attention after the products. Same
/// fused multiply-adds, in the same order, as [`simd::pow2x8`].
#[inline(always)]
pub fn pow2_f32(y: f32) -> f32 {
    // `max` this way round keeps a NaN
    let yc = if y < POW2_LO { POW2_LO } else { y };
    let n = yc.round_ties_even();
    let f = yc - n;
    let mut p = POW2_POLY[0];
    for c in &POW2_POLY[1..] {
        p = p.mul_add(f, *c);
    }
    f32::from_bits(p.to_bits().wrapping_add((n as i32 as u32) << 23))
}

/// AVX2 + FMA versions of the element-wise kernels (8 lanes).
#[cfg(target_arch = "x86_64")]
pub mod simd {
    use std::arch::x86_64::*;

    use super::{EXP_HI, EXP_LO, EXP_POLY, LN2_HI, LN2_LO, LOG2E, POW2_LO, POW2_POLY, ROUND_MAGIC};

    /// Whether this CPU runs the AVX2 kernels (which use FMA too).
    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// [`super::exp_f32`] on 8 lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp8(x: __m256) -> __m256 {
        let xc = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(EXP_LO)),
            _mm256_set1_ps(EXP_HI),
        );
        let magic = _mm256_set1_ps(ROUND_MAGIC);
        let t = _mm256_fmadd_ps(xc, _mm256_set1_ps(LOG2E), magic);
        let n = _mm256_sub_ps(t, magic);
        let r = _mm256_fmadd_ps(
            n,
            _mm256_set1_ps(-LN2_LO),
            _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_HI), xc),
        );
        let r2 = _mm256_mul_ps(r, r);
        let mut p = _mm256_set1_ps(EXP_POLY[0]);
        for c in &EXP_POLY[1..] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(*c));
        }
        let e = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0));
        let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_sub_epi32(
                _mm256_castps_si256(t),
                _mm256_set1_epi32(ROUND_MAGIC.to_bits() as i32),
            ),
            _mm256_set1_epi32(127),
        ));
        let res = _mm256_mul_ps(e, _mm256_castsi256_ps(bits));
        let under = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(EXP_LO));
        _mm256_andnot_ps(under, res)
    }

    /// [`super::pow2_f32`] on 8 lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn pow2x8(y: __m256) -> __m256 {
        // max(lo, y) returns y when y is NaN
        let yc = _mm256_max_ps(_mm256_set1_ps(POW2_LO), y);
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(yc);
        let f = _mm256_sub_ps(yc, n);
        let mut p = _mm256_set1_ps(POW2_POLY[0]);
        for c in &POW2_POLY[1..] {
            p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(*c));
        }
        let shift = _mm256_slli_epi32::<23>(_mm256_cvtps_epi32(n));
        _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), shift))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hmax(v: __m256) -> f32 {
        let mut a = [0.0f32; 8];
        _mm256_storeu_ps(a.as_mut_ptr(), v);
        a.iter()
            .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
    }

    /// The sum of the 8 lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn hsum(v: __m256) -> f32 {
        let mut a = [0.0f32; 8];
        _mm256_storeu_ps(a.as_mut_ptr(), v);
        a.iter().sum()
    }

    /// The largest value of `row` (−∞ when empty).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn row_max(row: &[f32]) -> f32 {
        let whole = row.len() / 8 * 8;
        let p = row.as_ptr();
        let mut mv = _mm256_set1_ps(f32::NEG_INFINITY);
        let mut j = 0;
        while j < whole {
            mv = _mm256_max_ps(mv, _mm256_loadu_ps(p.add(j)));
            j += 8;
        }
        let mut m = hmax(mv);
        for &v in &row[whole..] {
            m = if v > m { v } else { m };
        }
        m
    }

    /// `*p[..8] ← 2^(p[..8] · scale + shift)`, returning the new values.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pow2_in_place(p: *mut f32, scale: __m256, shift: __m256) -> __m256 {
        let e = pow2x8(_mm256_fmadd_ps(_mm256_loadu_ps(p), scale, shift));
        _mm256_storeu_ps(p, e);
        e
    }

    /// `row ← 2^(row · scale + shift)`; returns the sum of the new values.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn pow2_row(row: &mut [f32], scale: f32, shift: f32) -> f32 {
        let p = row.as_mut_ptr();
        let (sv, hv) = (_mm256_set1_ps(scale), _mm256_set1_ps(shift));
        // two independent vectors per step: one pow2x8 is a ~40-cycle dependency chain (four
        // run out of the 16 vector registers and spill)
        let mut acc = [_mm256_setzero_ps(); 2];
        let mut j = 0;
        while j + 16 <= row.len() {
            for (u, a) in acc.iter_mut().enumerate() {
                *a = _mm256_add_ps(*a, pow2_in_place(p.add(j + 8 * u), sv, hv));
            }
            j += 16;
        }
        while j + 8 <= row.len() {
            acc[0] = _mm256_add_ps(acc[0], pow2_in_place(p.add(j), sv, hv));
            j += 8;
        }
        let mut s = hsum(_mm256_add_ps(acc[0], acc[1]));
        for v in &mut row[j..] {
            let e = super::pow2_f32(v.mul_add(scale, shift));
            *v = e;
            s += e;
        }
        s
    }
}

/// The largest value of `row` (−∞ when empty).
fn row_max(row: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: AVX2 and FMA are present.
        return unsafe { simd::row_max(row) };
    }
    row.iter()
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// `row ← 2^(row · scale + shift)`; returns the sum of the new values.
fn pow2_row(row: &mut [f32], scale: f32, shift: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: AVX2 and FMA are present.
        return unsafe { simd::pow2_row(row, scale, shift) };
    }
    let mut s = 0.0f32;
    for v in row.iter_mut() {
        *v = pow2_f32(v.mul_add(scale, shift));
        s += *v;
    }
    s
}

/// Softmax numerators of one chunk of keys, `scores` (`rows × n`, row stride `ld`):
/// `s ← exp(scale·(s − max))`, where each row's running maximum `maxes[i]` (−∞ before the
/// first chunk) and sum `sums[i]` carry over from the earlier chunks (the caller divides
/// by the sum at the end, on the smaller attention output). On return `factors[i]` is what
/// the row's output accumulated so far must be multiplied by
/// (`exp(scale·(old max − new max))`, 0 before the first chunk).
fn softmax_chunk(
    scores: &mut [f32],
    rows: usize,
    n: usize,
    ld: usize,
    scale: f32,
    run: &mut Running,
) {
    assert!(rows == 0 || (ld >= n && (rows - 1) * ld + n <= scores.len()));
    // exp(scale·(s − m)) = 2^(s·scale₂ − m·scale₂) with scale₂ = scale·log₂e
    let scale2 = scale * LOG2E;
    for i in 0..rows {
        let row = &mut scores[i * ld..i * ld + n];
        let old = run.maxes[i];
        let m = row_max(row).max(old);
        let factor = if old == f32::NEG_INFINITY {
            0.0
        } else {
            exp_f32((old - m) * scale)
        };
        let chunk_sum = pow2_row(row, scale2, -m * scale2);
        run.sums[i] = run.sums[i] * factor + chunk_sum;
        run.maxes[i] = m;
        run.factors[i] = factor;
    }
}

/// Per-row state of an online softmax over key chunks.
#[derive(Default, Debug)]
struct Running {
    maxes: Vec<f32>,
    sums: Vec<f32>,
    factors: Vec<f32>,
}

impl Running {
    fn reset(&mut self, rows: usize) {
        self.maxes.clear();
        self.maxes.resize(rows, f32::NEG_INFINITY);
        self.sums.clear();
        self.sums.resize(rows, 0.0);
        self.factors.resize(rows, 0.0);
    }
}

/// Reusable buffers of [`attend`] (one per thread).
#[derive(Default, Debug)]
pub struct Scratch {
    scores: Vec<f32>,
    running: Running,
}

/// A block of scores is bounded to 512 KB (one L2 of this Zen 3): measured best among 2^15–2^18.
const SCORE_BLOCK: usize = 1 << 17;

/// Keys per chunk of the online softmax, used beyond `2 · KEY_CHUNK` keys (a multiple of 8).
const KEY_CHUNK: usize = 1024;

/// Keys per softmax chunk for `n_keys` keys: all of them up to `2 · KEY_CHUNK`.
fn key_chunk(n_keys: usize) -> usize {
    if n_keys > 2 * KEY_CHUNK {
        KEY_CHUNK
    } else {
        n_keys.max(1)
    }
}

/// How many query rows [`attend`] processes at once for `n_keys` keys.
pub fn query_block(n_keys: usize) -> usize {
    let b = (SCORE_BLOCK / key_chunk(n_keys)).clamp(12, 512);
    // whole 6-column tiles of gemm's AVX2 micro-kernel (the queries are its columns)
    b - b % 6
}

/// Keys and values laid out once for many blocks of queries: K transposed to `[D, N₈]` (N
/// rounded up to a multiple of 8, zero-padded) and V contiguous `[N, Dv]`.
///
/// Why: `gemm`'s AVX2 micro-kernel reads the key side of `q·kᵀ` as a column-major matrix
/// whose row count is a multiple of 8; keys in any other layout (rows of a fused QKV
/// product) are re-packed for every block of queries, which at 5 000 keys and ~26 queries
/// per block costs as much as the products themselves.
#[derive(Debug, Clone)]
pub struct PackedKv {
    kt: Vec<f32>,
    v: Vec<f32>,
    n: usize,
    ld: usize,
    d: usize,
    dv: usize,
}

impl PackedKv {
    /// From `k [N, D]` and `v [N, Dv]` (any strides; N ≥ 1).
    pub fn new(k: MatRef<'_>, v: MatRef<'_>) -> Self {
        assert!(
            k.rows == v.rows && k.rows > 0,
            "packed K/V: k [{}, {}], v [{}, {}]",
            k.rows,
            k.cols,
            v.rows,
            v.cols
        );
        let (n, d, dv) = (k.rows, k.cols, v.cols);
        let ld = n.next_multiple_of(8);
        let mut kt = vec![0.0f32; d * ld];
        for (c, row) in kt.chunks_exact_mut(ld).enumerate() {
            for (j, x) in row[..n].iter_mut().enumerate() {
                *x = k.data[j * k.rs + c * k.cs];
            }
        }
        let mut vc = Vec::with_capacity(n * dv);
        for j in 0..n {
            vc.extend((0..dv).map(|c| v.data[j * v.rs + c * v.cs]));
        }
        Self {
            kt,
            v: vc,
            n,
            ld,
            d,
            dv,
        }
    }

    /// Keys N.
    pub fn rows(&self) -> usize {
        self.n
    }
}

/// Softmax attention of one head: `out = softmax(scale · q·kᵀ) · v` with
/// `q [S, D]`, `k [N, D]`, `v [N, Dv]`, `out [S, Dv]` (any strides), queries in blocks.
/// Single-threaded: callers parallelise over heads, groups or query blocks. When many
/// blocks share one K/V (N in the thousands), [`attend_packed`] is faster.
pub fn attend(
    q: MatRef<'_>,
    k: MatRef<'_>,
    v: MatRef<'_>,
    out: &mut MatMut<'_>,
    scale: f32,
    scratch: &mut Scratch,
) {
    attend_blocks(q, k, k.rows, v, out, scale, scratch);
}

/// [`attend`] on keys and values laid out by [`PackedKv::new`]: `q [S, D]`, `out [S, Dv]`.
pub fn attend_packed(
    q: MatRef<'_>,
    kv: &PackedKv,
    out: &mut MatMut<'_>,
    scale: f32,
    scratch: &mut Scratch,
) {
    let k = MatRef::strided(&kv.kt, kv.ld, kv.d, 1, kv.ld);
    let v = MatRef::new(&kv.v, kv.n, kv.dv, kv.dv);
    attend_blocks(q, k, kv.n, v, out, scale, scratch);
}

/// The block loop of [`attend`]: `k` may hold zero rows beyond the first `n` (padding for
/// the matmul layout); their scores are computed and ignored.
///
/// Beyond `2 · KEY_CHUNK` keys the keys go in chunks of [`KEY_CHUNK`] with an online
/// softmax (running max and sum per query, earlier output rescaled when the max grows), so
/// a query block no longer shrinks as the keys grow: at 10 000 keys a 512 KB score block
/// would hold 12 queries, each re-reading all K/V from L3. Up to that, one chunk holds all
/// keys and this is the plain two-pass softmax.
fn attend_blocks(
    q: MatRef<'_>,
    k: MatRef<'_>,
    n: usize,
    v: MatRef<'_>,
    out: &mut MatMut<'_>,
    scale: f32,
    scratch: &mut Scratch,
) {
    let (s, ld) = (q.rows, k.rows);
    assert!(
        q.cols == k.cols && v.rows == n && n <= ld && out.rows == s && out.cols == v.cols && n > 0,
        "attention shapes: q [{}, {}], k [{}, {}], v [{}, {}], out [{}, {}]",
        q.rows,
        q.cols,
        n,
        k.cols,
        v.rows,
        v.cols,
        out.rows,
        out.cols
    );
    let (block, chunk) = (query_block(n), key_chunk(n));
    // a chunk's scores span its keys rounded up to the padding, at most `ld`
    scratch
        .scores
        .resize(block.min(s) * chunk.next_multiple_of(8).min(ld), 0.0);
    let mut start = 0;
    while start < s {
        let len = block.min(s - start);
        let run = &mut scratch.running;
        run.reset(len);
        let mut o_rows = out.rows_from(start, len);
        let mut c0 = 0;
        while c0 < n {
            let c1 = (c0 + chunk).min(n);
            // the zero rows padding K up to a multiple of 8 keep gemm from re-packing it
            let kp = c1.next_multiple_of(8).min(ld) - c0;
            let scores = &mut scratch.scores[..len * kp];
            matmul(
                &mut MatMut::new(scores, len, kp, kp),
                q.sub(start..start + len, 0..q.cols),
                k.sub(c0..c0 + kp, 0..k.cols).t(),
                false,
                Threads::One,
            );
            softmax_chunk(scores, len, c1 - c0, kp, scale, run);
            if c0 > 0 {
                let factors = &run.factors;
                o_rows.scale_rows(|i| factors[i]);
            }
            matmul(
                &mut o_rows,
                MatRef::new(scores, len, c1 - c0, kp),
                v.sub(c0..c1, 0..v.cols),
                c0 > 0,
                Threads::One,
            );
            c0 = c1;
        }
        let sums = &run.sums;
        o_rows.scale_rows(|i| 1.0 / sums[i]);
        start += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        let mut worst = 0.0f32;
        let mut x = -86.0f32;
        while x < 88.0 {
            let want = x.exp();
            let got = exp_f32(x);
            worst = worst.max(((got - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(0.0), 1.0);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_exp_gives_the_scalar_bits() {
        use std::arch::x86_64::*;
        if !simd::available() {
            return;
        }
        let xs: Vec<f32> = (0..4000).map(|i| -100.0 + i as f32 * 0.0473).collect();
        for c in xs.chunks_exact(8) {
            let mut out = [0.0f32; 8];
            // SAFETY: AVX2 checked above; 8 values in and out.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), simd::exp8(_mm256_loadu_ps(c.as_ptr()))) };
            for (x, o) in c.iter().zip(out) {
                assert_eq!(o.to_bits(), exp_f32(*x).to_bits(), "exp({x})");
            }
        }
    }

    #[test]
    fn pow2_matches_f64_to_two_ulp() {
        let mut worst = 0.0f64;
        let mut y = -124.0f32;
        while y < 127.0 {
            let want = 2f64.powf(y as f64);
            let got = pow2_f32(y) as f64;
            worst = worst.max(((got - want) / want).abs());
            y += 0.00731;
        }
        // 2 ulp of the unit roundoff 2⁻²⁴
        assert!(worst < f32::EPSILON as f64, "relative error {worst}");
        assert_eq!(pow2_f32(0.0), 1.0);
        assert_eq!(pow2_f32(-3.0), 0.125);
        // far below the range: clamped to a tiny normal number, never NaN or negative
        let tiny = pow2_f32(-1000.0);
        assert!(tiny > 0.0 && tiny < 1e-37, "{tiny}");
        assert!(pow2_f32(f32::NAN).is_nan());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_pow2_gives_the_scalar_bits() {
        use std::arch::x86_64::*;
        if !simd::available() {
            return;
        }
        let mut ys: Vec<f32> = (0..4000).map(|i| -130.0 + i as f32 * 0.0629).collect();
        ys.extend([f32::NAN, -0.5, 0.5, -1.5, 2.5, -125.0, -125.5, 1e-7]);
        for c in ys.chunks_exact(8) {
            let mut out = [0.0f32; 8];
            // SAFETY: AVX2 checked above; 8 values in and out.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr(), simd::pow2x8(_mm256_loadu_ps(c.as_ptr())))
            };
            for (y, o) in c.iter().zip(out) {
                let s = pow2_f32(*y);
                assert!(
                    o.to_bits() == s.to_bits() || (o.is_nan() && s.is_nan()),
                    "2^{y}: {o} vs {s}"
                );
            }
        }
        // the row kernel: unrolled body, single-vector step and scalar tail agree with the
        // scalar function on every length
        for len in [0usize, 3, 8, 15, 16, 17, 31, 40, 1000, 1003] {
            let row: Vec<f32> = (0..len).map(|i| -(i as f32) * 0.37).collect();
            let mut got = row.clone();
            // SAFETY: AVX2 checked above.
            let sum = unsafe { simd::pow2_row(&mut got, 0.5, -0.25) };
            let want: Vec<f32> = row
                .iter()
                .map(|v| pow2_f32(v.mul_add(0.5, -0.25)))
                .collect();
            assert_eq!(got, want, "len {len}");
            let want_sum: f64 = want.iter().map(|&v| v as f64).sum();
            assert!(
                (sum as f64 - want_sum).abs() <= 1e-6 * want_sum.max(1.0),
                "len {len}"
            );
        }
    }

    fn naive_attention(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        s: usize,
        n: usize,
        d: usize,
        scale: f32,
    ) -> Vec<f32> {
        let mut out = vec![0.0f64; s * d];
        for i in 0..s {
            let sc: Vec<f64> = (0..n)
                .map(|j| {
                    (0..d)
                        .map(|c| (q[i * d + c] * k[j * d + c]) as f64)
                        .sum::<f64>()
                        * scale as f64
                })
                .collect();
            let m = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = sc.iter().map(|x| (x - m).exp()).collect();
            let z: f64 = e.iter().sum();
            for j in 0..n {
                for c in 0..d {
                    out[i * d + c] += e[j] / z * v[j * d + c] as f64;
                }
            }
        }
        out.into_iter().map(|x| x as f32).collect()
    }

    #[test]
    fn fused_attention_matches_a_naive_one() {
        fused_case(37, 1029, 8);
        // TabPFN's head size, tails of blocks, one key
        fused_case(13, 77, 32);
        fused_case(6, 16, 32);
        fused_case(1, 1, 32);
        // thousands of keys: key chunks with an online softmax, N not a multiple of 8,
        // a last chunk of 52 keys, more queries than one block
        fused_case(70, 3001, 32);
        fused_case(130, 2100, 32);
    }

    fn fused_case(s: usize, n: usize, d: usize) {
        let f = |i: usize, salt: u64| {
            ((((i as u64 + salt) * 2_654_435_761) % 1000) as f32) / 300.0 - 1.6
        };
        let q: Vec<f32> = (0..s * d).map(|i| f(i, 1)).collect();
        let k: Vec<f32> = (0..n * d).map(|i| f(i, 7)).collect();
        let v: Vec<f32> = (0..n * d).map(|i| f(i, 13)).collect();
        let want = naive_attention(&q, &k, &v, s, n, d, 0.35);
        let mut scratch = Scratch::default();
        let mut out = vec![0.0; s * d];
        attend(
            MatRef::new(&q, s, d, d),
            MatRef::new(&k, n, d, d),
            MatRef::new(&v, n, d, d),
            &mut MatMut::new(&mut out, s, d, d),
            0.35,
            &mut scratch,
        );
        // the packed layout, from K/V interleaved in one buffer as a fused product leaves them
        let kv: Vec<f32> = (0..n)
            .flat_map(|j| k[j * d..(j + 1) * d].iter().chain(&v[j * d..(j + 1) * d]))
            .copied()
            .collect();
        let kvm = MatRef::new(&kv, n, 2 * d, 2 * d);
        let packed = PackedKv::new(kvm.sub(0..n, 0..d), kvm.sub(0..n, d..2 * d));
        assert_eq!(packed.rows(), n);
        let mut out_packed = vec![0.0; s * d];
        attend_packed(
            MatRef::new(&q, s, d, d),
            &packed,
            &mut MatMut::new(&mut out_packed, s, d, d),
            0.35,
            &mut scratch,
        );
        for got in [&out, &out_packed] {
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            // f32 sums over n keys: rounding error grows like √n
            let tol = 2e-6 * (n as f32 / 1029.0).sqrt().max(1.0);
            assert!(worst < tol, "max |Δ| {worst} (tolerance {tol}) at {s}×{n}");
        }
    }
}
