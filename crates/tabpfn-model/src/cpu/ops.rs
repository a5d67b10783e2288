//! Element-wise kernels of the CPU path: exact-erf GELU and the post-norm `LN(x + y)`.

use tabpfn_attention::kernels::exp_f32;

const ERF_P: f32 = 0.327_591_1;
const ERF_A: [f32; 5] = [
    1.061_405_4,
    -1.453_152,
    1.421_413_7,
    -0.284_496_74,
    0.254_829_6,
];

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (max abs error 1.5e-7, the formula PyTorch's
/// vectorised CPU `erf` uses too). Same operations as a lane of the AVX2 version.
#[inline(always)]
fn erf_f32(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + ERF_P * a);
    let mut poly = ERF_A[0];
    for c in &ERF_A[1..] {
        poly = poly * t + c;
    }
    let y = 1.0 - poly * t * exp_f32(-(a * a));
    if x < 0.0 {
        -y
    } else {
        y
    }
}

#[inline(always)]
fn gelu_f32(u: f32) -> f32 {
    0.5 * u * (1.0 + erf_f32(u * std::f32::consts::FRAC_1_SQRT_2))
}

/// Exact GELU in place: `x · ½(1 + erf(x/√2))` (torch's `nn.GELU()` default).
pub fn gelu_in_place(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if tabpfn_attention::kernels::simd::available() {
        // SAFETY: AVX2 is present.
        unsafe { avx2::gelu_in_place(x) };
        return;
    }
    for v in x.iter_mut() {
        *v = gelu_f32(*v);
    }
}

/// `x ← LayerNorm(x + y)` per token of width `e` (eps 1e-5, biased variance, no affine
/// parameters: the reference's post-norm). `x` and `y` hold whole tokens.
pub fn add_layer_norm(x: &mut [f32], y: &[f32], e: usize) {
    assert_eq!(x.len(), y.len(), "add_layer_norm: x and y differ in length");
    #[cfg(target_arch = "x86_64")]
    if e.is_multiple_of(8) && tabpfn_attention::kernels::simd::available() {
        // SAFETY: AVX2 is present; lengths are equal and tokens are whole multiples of 8.
        unsafe { avx2::add_layer_norm(x, y, e) };
        return;
    }
    let inv_e = 1.0 / e as f32;
    for (xt, yt) in x.chunks_exact_mut(e).zip(y.chunks_exact(e)) {
        let mut sum = 0.0f32;
        for (a, b) in xt.iter_mut().zip(yt) {
            *a += *b;
            sum += *a;
        }
        let mean = sum * inv_e;
        let ss: f32 = xt.iter().map(|a| (a - mean) * (a - mean)).sum();
        let inv = 1.0 / (ss * inv_e + 1e-5).sqrt();
        for a in xt.iter_mut() {
            *a = (*a - mean) * inv;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use tabpfn_attention::kernels::simd::{exp8, hsum};

    use super::{gelu_f32, ERF_A, ERF_P};

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu_in_place(x: &mut [f32]) {
        let whole = x.len() / 8 * 8;
        let p = x.as_mut_ptr();
        let sign = _mm256_set1_ps(-0.0);
        let one = _mm256_set1_ps(1.0);
        let mut i = 0;
        while i < whole {
            let u = _mm256_loadu_ps(p.add(i));
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
            _mm256_storeu_ps(p.add(i), g);
            i += 8;
        }
        for v in &mut x[whole..] {
            *v = gelu_f32(*v);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn add_layer_norm(x: &mut [f32], y: &[f32], e: usize) {
        let inv_e = 1.0 / e as f32;
        for (xt, yt) in x.chunks_exact_mut(e).zip(y.chunks_exact(e)) {
            let (px, py) = (xt.as_mut_ptr(), yt.as_ptr());
            let mut acc = _mm256_setzero_ps();
            let mut j = 0;
            while j < e {
                let v = _mm256_add_ps(_mm256_loadu_ps(px.add(j)), _mm256_loadu_ps(py.add(j)));
                _mm256_storeu_ps(px.add(j), v);
                acc = _mm256_add_ps(acc, v);
                j += 8;
            }
            let mean = _mm256_set1_ps(hsum(acc) * inv_e);
            let mut acc = _mm256_setzero_ps();
            let mut j = 0;
            while j < e {
                let d = _mm256_sub_ps(_mm256_loadu_ps(px.add(j)), mean);
                acc = _mm256_add_ps(acc, _mm256_mul_ps(d, d));
                j += 8;
            }
            let inv = _mm256_set1_ps(1.0 / (hsum(acc) * inv_e + 1e-5).sqrt());
            let mut j = 0;
            while j < e {
                let d = _mm256_sub_ps(_mm256_loadu_ps(px.add(j)), mean);
                _mm256_storeu_ps(px.add(j), _mm256_mul_ps(d, inv));
                j += 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series in f64 (|x| ≤ 4.3 here, ~1e-9 after cancellation): an
    /// independent reference.
    fn erf_series(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn gelu_matches_the_erf_definition() {
        let xs: Vec<f32> = (0..6001).map(|i| -6.0 + i as f32 * 0.002).collect();
        let mut got = xs.clone();
        gelu_in_place(&mut got);
        let worst = xs
            .iter()
            .zip(&got)
            .map(|(&x, &g)| {
                let x64 = x as f64;
                let want = 0.5 * x64 * (1.0 + erf_series(x64 / 2f64.sqrt()));
                (g as f64 - want).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "max |Δ| {worst}");
    }

    #[test]
    fn layer_norm_of_a_sum() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0];
        let y = vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0];
        add_layer_norm(&mut x, &y, 4);
        // token 1: 2,3,4,5 → mean 3.5, var 1.25
        let s = (1.25f32 + 1e-5).sqrt();
        for (i, v) in [-1.5, -0.5, 0.5, 1.5].iter().enumerate() {
            assert!((x[i] - v / s).abs() < 1e-6);
        }
        // token 2: 10,10,10,12 → mean 10.5, var 0.75
        let s = (0.75f32 + 1e-5).sqrt();
        assert!((x[7] - 1.5 / s).abs() < 1e-6);
    }
}
