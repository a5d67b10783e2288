//! AVX2 + FMA versions of the element-wise kernels (8 lanes), picked at run time by the
//! portable entry points ([`available`] says whether this CPU runs them).
//!
//! The arithmetic functions are safe `#[target_feature]` functions (calling them from code
//! compiled without AVX2 still needs `unsafe` and a prior [`available`] check); only the
//! vector loads and stores touch raw pointers, through [`load8`] and [`store8`], which
//! bounds-check their slice first.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether this CPU runs the AVX2 kernels (which use FMA too).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
pub use avx2::*;

#[cfg(target_arch = "x86_64")]
// One safety contract for every function here, stated in the module docs: calling one
// from code compiled without AVX2 + FMA requires a prior `available()`.
#[allow(clippy::missing_safety_doc)]
mod avx2 {
    use super::*;
    use crate::elementwise::{gelu_f32, ERF_A, ERF_P};
    use crate::exp::{
        pow2_f32, EXP_HI, EXP_LO, EXP_POLY, LN2_HI, LN2_LO, LOG2E, POW2_LO, POW2_POLY, ROUND_MAGIC,
    };

    /// The first 8 values of `s` as a vector (panics if `s` is shorter).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn load8(s: &[f32]) -> __m256 {
        let s = &s[..8];
        // SAFETY: `s` holds 8 readable floats; unaligned loads need no alignment.
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }

    /// Stores `v` into the first 8 values of `s` (panics if `s` is shorter).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn store8(s: &mut [f32], v: __m256) {
        let s = &mut s[..8];
        // SAFETY: `s` holds 8 writable floats, borrowed mutably.
        unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) }
    }

    /// The 8 lanes as an array.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn lanes(v: __m256) -> [f32; 8] {
        let mut a = [0.0f32; 8];
        store8(&mut a, v);
        a
    }

    /// [`crate::exp_f32`] on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn exp8(x: __m256) -> __m256 {
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

    /// [`crate::pow2_f32`] on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn pow2x8(y: __m256) -> __m256 {
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

    /// The sum of the 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn hsum(v: __m256) -> f32 {
        lanes(v).iter().sum()
    }

    /// The largest value of `row` (−∞ when empty; NaNs are skipped like `x > m` does).
    #[target_feature(enable = "avx2,fma")]
    pub fn row_max(row: &[f32]) -> f32 {
        let mut mv = _mm256_set1_ps(f32::NEG_INFINITY);
        let mut chunks = row.chunks_exact(8);
        for c in &mut chunks {
            mv = _mm256_max_ps(mv, load8(c));
        }
        let mut m = lanes(mv)
            .iter()
            .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
        for &v in chunks.remainder() {
            m = if v > m { v } else { m };
        }
        m
    }

    /// `s[..8] ← 2^(s[..8] · scale + shift)`, returning the new values.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn pow2_in_place(s: &mut [f32], scale: __m256, shift: __m256) -> __m256 {
        let e = pow2x8(_mm256_fmadd_ps(load8(s), scale, shift));
        store8(s, e);
        e
    }

    /// `row ← 2^(row · scale + shift)`; returns the sum of the new values.
    #[target_feature(enable = "avx2,fma")]
    pub fn pow2_row(row: &mut [f32], scale: f32, shift: f32) -> f32 {
        let (sv, hv) = (_mm256_set1_ps(scale), _mm256_set1_ps(shift));
        // two independent vectors per step: one pow2x8 is a ~40-cycle dependency chain (four
        // run out of the 16 vector registers and spill)
        let mut acc = [_mm256_setzero_ps(); 2];
        let mut j = 0;
        while j + 16 <= row.len() {
            for (u, a) in acc.iter_mut().enumerate() {
                *a = _mm256_add_ps(*a, pow2_in_place(&mut row[j + 8 * u..], sv, hv));
            }
            j += 16;
        }
        while j + 8 <= row.len() {
            acc[0] = _mm256_add_ps(acc[0], pow2_in_place(&mut row[j..], sv, hv));
            j += 8;
        }
        let mut s = hsum(_mm256_add_ps(acc[0], acc[1]));
        for v in &mut row[j..] {
            let e = pow2_f32(v.mul_add(scale, shift));
            *v = e;
            s += e;
        }
        s
    }

    /// [`crate::gelu_in_place`]: the same operations as its scalar loop, per lane.
    #[target_feature(enable = "avx2,fma")]
    pub fn gelu_in_place(x: &mut [f32]) {
        let sign = _mm256_set1_ps(-0.0);
        let one = _mm256_set1_ps(1.0);
        let mut chunks = x.chunks_exact_mut(8);
        for c in &mut chunks {
            let u = load8(c);
            let z = _mm256_mul_ps(u, _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
            let a = _mm256_andnot_ps(sign, z);
            let t = _mm256_div_ps(
                one,
                _mm256_add_ps(one, _mm256_mul_ps(_mm256_set1_ps(ERF_P), a)),
            );
            let mut poly = _mm256_set1_ps(ERF_A[0]);
            for c in &ERF_A[1..] {
                poly = _mm256_add_ps(_mm256_mul_ps(poly, t), _mm256_set1_ps(*c));
            }
            let ex = exp8(_mm256_xor_ps(sign, _mm256_mul_ps(a, a)));
            let y = _mm256_sub_ps(one, _mm256_mul_ps(_mm256_mul_ps(poly, t), ex));
            let erf = _mm256_or_ps(y, _mm256_and_ps(z, sign));
            let g = _mm256_mul_ps(
                _mm256_mul_ps(_mm256_set1_ps(0.5), u),
                _mm256_add_ps(one, erf),
            );
            store8(c, g);
        }
        for v in chunks.into_remainder() {
            *v = gelu_f32(*v);
        }
    }

    /// [`crate::add_layer_norm`] for widths that are a multiple of 8.
    #[target_feature(enable = "avx2,fma")]
    pub fn add_layer_norm(x: &mut [f32], y: &[f32], e: usize) {
        debug_assert!(e.is_multiple_of(8));
        let inv_e = 1.0 / e as f32;
        for (xt, yt) in x.chunks_exact_mut(e).zip(y.chunks_exact(e)) {
            let mut acc = _mm256_setzero_ps();
            for (xs, ys) in xt.chunks_exact_mut(8).zip(yt.chunks_exact(8)) {
                let v = _mm256_add_ps(load8(xs), load8(ys));
                store8(xs, v);
                acc = _mm256_add_ps(acc, v);
            }
            let mean = _mm256_set1_ps(hsum(acc) * inv_e);
            let mut acc = _mm256_setzero_ps();
            for xs in xt.chunks_exact(8) {
                let d = _mm256_sub_ps(load8(xs), mean);
                acc = _mm256_add_ps(acc, _mm256_mul_ps(d, d));
            }
            let inv = _mm256_set1_ps(1.0 / (hsum(acc) * inv_e + 1e-5).sqrt());
            for xs in xt.chunks_exact_mut(8) {
                let d = _mm256_sub_ps(load8(xs), mean);
                store8(xs, _mm256_mul_ps(d, inv));
            }
        }
    }
}

/// The SIMD paths must give the scalar paths' bits. These tests need a CPU with AVX2 and
/// FMA; elsewhere they are reported as ignored (see build.rs), not passed.
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::elementwise::gelu_f32;
    use crate::exp::{exp_f32, pow2_f32};

    /// Runs `f` with AVX2 enabled; the cfg above guarantees the CPU has it.
    fn with_avx2(f: impl FnOnce()) {
        assert!(
            available(),
            "build.rs saw AVX2 + FMA but this CPU lacks them"
        );
        f()
    }

    #[test]
    #[cfg_attr(
        not(tabpfn_host_avx2),
        ignore = "the build machine has no AVX2 + FMA, so the vector kernels cannot run"
    )]
    fn vector_exp_gives_the_scalar_bits() {
        with_avx2(|| {
            let xs: Vec<f32> = (0..4000).map(|i| -100.0 + i as f32 * 0.0473).collect();
            for c in xs.chunks_exact(8) {
                // SAFETY: AVX2 and FMA are present (with_avx2).
                let out = unsafe { lanes(exp8(load8(c))) };
                for (x, o) in c.iter().zip(out) {
                    assert_eq!(o.to_bits(), exp_f32(*x).to_bits(), "exp({x})");
                }
            }
        });
    }

    #[test]
    #[cfg_attr(
        not(tabpfn_host_avx2),
        ignore = "the build machine has no AVX2 + FMA, so the vector kernels cannot run"
    )]
    fn vector_pow2_gives_the_scalar_bits() {
        with_avx2(|| {
            let mut ys: Vec<f32> = (0..4000).map(|i| -130.0 + i as f32 * 0.0629).collect();
            ys.extend([f32::NAN, -0.5, 0.5, -1.5, 2.5, -125.0, -125.5, 1e-7]);
            for c in ys.chunks_exact(8) {
                // SAFETY: AVX2 and FMA are present (with_avx2).
                let out = unsafe { lanes(pow2x8(load8(c))) };
                for (y, o) in c.iter().zip(out) {
                    let s = pow2_f32(*y);
                    assert!(
                        o.to_bits() == s.to_bits() || (o.is_nan() && s.is_nan()),
                        "2^{y}: {o} vs {s}"
                    );
                }
            }
            // the row kernel: unrolled body, single-vector step and scalar tail agree with
            // the scalar function on every length
            for len in [0usize, 3, 8, 15, 16, 17, 31, 40, 1000, 1003] {
                let row: Vec<f32> = (0..len).map(|i| -(i as f32) * 0.37).collect();
                let mut got = row.clone();
                // SAFETY: AVX2 and FMA are present (with_avx2).
                let sum = unsafe { pow2_row(&mut got, 0.5, -0.25) };
                let want: Vec<f32> = row
                    .iter()
                    .map(|v| pow2_f32(v.mul_add(0.5, -0.25)))
                    .collect();
                assert_eq!(got, want, "len {len}");
                let want_sum: f64 = want.iter().map(|&v| v as f64).sum();
                assert!(
                    (sum as f64 - want_sum).abs() <= 1e-6 * want_sum.max(1.0),
                    "len {len}: sum {sum} vs {want_sum}"
                );
            }
        });
    }

    #[test]
    #[cfg_attr(
        not(tabpfn_host_avx2),
        ignore = "the build machine has no AVX2 + FMA, so the vector kernels cannot run"
    )]
    fn vector_gelu_gives_the_scalar_bits() {
        with_avx2(|| {
            let xs: Vec<f32> = (0..1003).map(|i| -9.0 + i as f32 * 0.0179).collect();
            let mut got = xs.clone();
            // SAFETY: AVX2 and FMA are present (with_avx2).
            unsafe { gelu_in_place(&mut got) };
            for (x, g) in xs.iter().zip(&got) {
                assert_eq!(g.to_bits(), gelu_f32(*x).to_bits(), "gelu({x})");
            }
        });
    }

    #[test]
    #[cfg_attr(
        not(tabpfn_host_avx2),
        ignore = "the build machine has no AVX2 + FMA, so the vector kernels cannot run"
    )]
    fn vector_row_max_skips_nothing() {
        with_avx2(|| {
            for len in [0usize, 1, 7, 8, 9, 23, 64] {
                let row: Vec<f32> = (0..len).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
                let want = row
                    .iter()
                    .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
                // SAFETY: AVX2 and FMA are present (with_avx2).
                assert_eq!(unsafe { row_max(&row) }, want, "len {len}");
            }
        });
    }
}
