//! Element-wise kernels of the CPU path: exact-erf GELU and the post-norm `LN(x + y)`,
//! each with a portable scalar loop and an AVX2 version in [`crate::simd`].

use crate::exp::exp_f32;

pub(crate) const ERF_P: f32 = 0.327_591_1;
pub(crate) const ERF_A: [f32; 5] = [
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
pub(crate) fn gelu_f32(u: f32) -> f32 {
    0.5 * u * (1.0 + erf_f32(u * std::f32::consts::FRAC_1_SQRT_2))
}

/// Exact GELU in place: `x · ½(1 + erf(x/√2))` (torch's `nn.GELU()` default).
pub fn gelu_in_place(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::available() {
        // SAFETY: AVX2 and FMA are present (checked just above).
        unsafe { crate::simd::gelu_in_place(x) };
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
    assert!(
        e > 0 && x.len().is_multiple_of(e),
        "add_layer_norm: {} values are not whole tokens of {e}",
        x.len()
    );
    #[cfg(target_arch = "x86_64")]
    if e.is_multiple_of(8) && crate::simd::available() {
        // SAFETY: AVX2 and FMA are present (checked just above); tokens are whole
        // multiples of 8.
        unsafe { crate::simd::add_layer_norm(x, y, e) };
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

#[cfg(test)]
mod tests {
    use super::*;
    use tabpfn_test_support::assert_close;

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
        let want: Vec<f64> = xs
            .iter()
            .map(|&x| {
                let x64 = x as f64;
                0.5 * x64 * (1.0 + erf_series(x64 / 2f64.sqrt()))
            })
            .collect();
        let got: Vec<f64> = got.iter().map(|&g| g as f64).collect();
        assert_close("gelu", &got, &want, 5e-7);
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
