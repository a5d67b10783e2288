//! Scalar `exp` and `2^y` in f32, written so that each performs exactly the fused
//! multiply-adds of one lane of its vector version in [`crate::simd`]: the scalar and AVX2
//! paths give the same bits, so results do not depend on the CPU.

pub(crate) const EXP_LO: f32 = -87.0;
pub(crate) const EXP_HI: f32 = 88.0;
pub(crate) const LOG2E: f32 = std::f32::consts::LOG2_E;
pub(crate) const LN2_HI: f32 = 0.693_359_4;
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
pub(crate) const ROUND_MAGIC: f32 = 12_582_912.0;
pub(crate) const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];

/// `exp(x)` in f32 to ~1 ulp (Cephes-style reduction by ln 2, degree-6 polynomial, 2ⁿ built
/// in the exponent bits); `x < -87` gives 0. Same fused multiply-adds, in the same order, as
/// the 8-lane [`crate::simd::exp8`], so both give identical bits.
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
pub(crate) const POW2_LO: f32 = -125.0;
/// Near-minimax polynomial for 2ᶠ on [−½, ½] (degree 6, highest first; ≤ 1.5 ulp).
pub(crate) const POW2_POLY: [f32; 7] = [
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
/// fused multiply-adds, in the same order, as [`crate::simd::pow2x8`].
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
            let err = ((got - want) / want).abs();
            assert!(err.is_finite(), "exp({x}) = {got}, want {want}");
            worst = worst.max(err);
            x += 0.0137;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(0.0), 1.0);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn pow2_matches_f64_to_two_ulp() {
        let mut worst = 0.0f64;
        let mut y = -124.0f32;
        while y < 127.0 {
            let want = 2f64.powf(y as f64);
            let got = pow2_f32(y) as f64;
            let err = ((got - want) / want).abs();
            assert!(err.is_finite(), "2^{y} = {got}, want {want}");
            worst = worst.max(err);
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
}
