//! Yeo-Johnson power transform as the reference's `SafePowerTransformer` (scipy ≥ 1.12
//! overflow-safe formulas, λ by scipy's bounded Brent `fminbound`), on one column.

use super::stats;

/// `_yeojohnson_transform(x, λ)` for one value.
pub fn yeo_johnson(x: f64, lambda: f64) -> f64 {
    let eps = f64::EPSILON;
    if x >= 0.0 {
        if lambda.abs() < eps {
            x.ln_1p()
        } else {
            (lambda * x.ln_1p()).exp_m1() / lambda
        }
    } else if (lambda - 2.0).abs() > eps {
        -((2.0 - lambda) * (-x).ln_1p()).exp_m1() / (2.0 - lambda)
    } else {
        -(-x).ln_1p()
    }
}

/// `_yeojohnson_inverse_transform(x, λ)` for one value (NaN where the log argument is < 0).
pub fn yeo_johnson_inverse(x: f64, lambda: f64) -> f64 {
    let eps = f64::EPSILON;
    if x >= 0.0 {
        if lambda.abs() < eps {
            x.exp_m1()
        } else {
            ((x * lambda + 1.0).ln() / lambda).exp_m1()
        }
    } else if (lambda - 2.0).abs() > eps {
        -((-(2.0 - lambda) * x + 1.0).ln() / (2.0 - lambda)).exp_m1()
    } else {
        -(-x).exp_m1()
    }
}

/// Negative Yeo-Johnson log-likelihood (`_neg_llf`); +inf where the transformed
/// variance underflows.
fn neg_llf(lambda: f64, data: &[f64], log_term: f64) -> f64 {
    let n = data.len() as f64;
    let trans: Vec<f64> = data.iter().map(|&x| yeo_johnson(x, lambda)).collect();
    let var = stats::var(&trans);
    if var < f64::MIN_POSITIVE {
        return f64::INFINITY;
    }
    let llf = -n / 2.0 * var.ln() + (lambda - 1.0) * log_term;
    if llf.is_infinite() {
        return f64::INFINITY;
    }
    -llf
}

/// scipy `optimize.fminbound(f, x1, x2, xtol, maxfun=500)` (bounded Brent), step for step.
pub fn fminbound(f: impl Fn(f64) -> f64, x1: f64, x2: f64, xatol: f64) -> f64 {
    let maxfun = 500;
    let sqrt_eps = 2.2e-16f64.sqrt();
    let golden_mean = 0.5 * (3.0 - 5.0f64.sqrt());
    let (mut a, mut b) = (x1, x2);
    let mut fulc = a + golden_mean * (b - a);
    let (mut nfc, mut xf) = (fulc, fulc);
    let (mut rat, mut e) = (0.0f64, 0.0f64);
    let mut fx = f(xf);
    let mut num = 1;
    let (mut ffulc, mut fnfc) = (fx, fx);
    let mut xm = 0.5 * (a + b);
    let mut tol1 = sqrt_eps * xf.abs() + xatol / 3.0;
    let mut tol2 = 2.0 * tol1;
    let sign = |v: f64| {
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    while (xf - xm).abs() > (tol2 - 0.5 * (b - a)) {
        let mut golden = true;
        if e.abs() > tol1 {
            golden = false;
            let mut r = (xf - nfc) * (fx - ffulc);
            let mut q = (xf - fulc) * (fx - fnfc);
            let mut p = (xf - fulc) * q - (xf - nfc) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            r = e;
            e = rat;
            if p.abs() < (0.5 * q * r).abs() && p > q * (a - xf) && p < q * (b - xf) {
                rat = (p + 0.0) / q;
                let x = xf + rat;
                if (x - a) < tol2 || (b - x) < tol2 {
                    let d = xm - xf;
                    let si = sign(d) + if d == 0.0 { 1.0 } else { 0.0 };
                    rat = tol1 * si;
                }
            } else {
                golden = true;
            }
        }
        if golden {
            e = if xf >= xm { a - xf } else { b - xf };
            rat = golden_mean * e;
        }
        let si = sign(rat) + if rat == 0.0 { 1.0 } else { 0.0 };
        let x = xf + si * rat.abs().max(tol1);
        let fu = f(x);
        num += 1;
        if fu <= fx {
            if x >= xf {
                a = xf;
            } else {
                b = xf;
            }
            fulc = nfc;
            ffulc = fnfc;
            nfc = xf;
            fnfc = fx;
            xf = x;
            fx = fu;
        } else {
            if x < xf {
                a = x;
            } else {
                b = x;
            }
            if fu <= fnfc || nfc == xf {
                fulc = nfc;
                ffulc = fnfc;
                nfc = x;
                fnfc = fu;
            } else if fu <= ffulc || fulc == xf || fulc == nfc {
                fulc = x;
                ffulc = fu;
            }
        }
        xm = 0.5 * (a + b);
        tol1 = sqrt_eps * xf.abs() + xatol / 3.0;
        tol2 = 2.0 * tol1;
        if num >= maxfun {
            break;
        }
    }
    xf
}

/// `_yeojohnson_normmax`: the maximum-likelihood λ of finite data.
fn normmax(x: &[f64]) -> f64 {
    if x.iter().all(|&v| v == 0.0) {
        return 1.0;
    }
    let max_abs = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let log1p_max_x = (20.0 * max_abs).ln_1p();
    let log_eps = f64::EPSILON.ln();
    let log_tiny = (f64::MIN_POSITIVE.ln() - log_eps) / 2.0;
    let log_max = (f64::MAX.ln() + log_eps) / 2.0;
    let mut lb = log_tiny / log1p_max_x;
    let mut ub = log_max / log1p_max_x;
    if x.iter().all(|&v| v < 0.0) {
        (lb, ub) = (2.0 - ub, 2.0 - lb);
    } else if x.iter().any(|&v| v < 0.0) {
        (lb, ub) = ((2.0 - ub).max(lb), (2.0 - lb).min(ub));
    }
    let signed: Vec<f64> = x
        .iter()
        .map(|&v| {
            let s = if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            };
            s * v.abs().ln_1p()
        })
        .collect();
    let log_term = stats::pairwise_sum(&signed);
    fminbound(|l| neg_llf(l, x, log_term), lb, ub, 1.48e-8)
}

/// One fitted column of `SafePowerTransformer(standardize=False)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerColumn {
    pub lambda: f64,
    /// sklearn leaves a constant column untransformed at fit (but not at transform).
    constant: bool,
}

impl PowerColumn {
    /// Fits λ on the column and returns the transformed train values.
    pub fn fit_transform(col: &[f64]) -> (Self, Vec<f64>) {
        let has_nan = col.iter().any(|v| v.is_nan());
        if !has_nan && stats::is_constant_feature(stats::var(col), stats::mean(col), col.len()) {
            return (
                Self {
                    lambda: 1.0,
                    constant: true,
                },
                col.to_vec(),
            );
        }
        let finite: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
        let lambda = if finite.is_empty() {
            f64::NAN
        } else {
            normmax(&finite)
        };
        let s = Self {
            lambda,
            constant: false,
        };
        let out = col.iter().map(|&v| s.transform(v)).collect();
        (s, out)
    }

    /// A column fitted on no value at all has λ = NaN; the reference's branch tests are
    /// then false, so x ≥ 0 maps to NaN and x < 0 to −log1p(−x) (an unknown category's
    /// −1 of an all-missing categorical column becomes −ln 2), as `yeo_johnson` does.
    pub fn transform(&self, x: f64) -> f64 {
        yeo_johnson(x, self.lambda)
    }

    /// Whether fit left the train column as it was.
    pub fn is_constant(&self) -> bool {
        self.constant
    }
}

/// The reference's `safepower` pipeline on one column: Yeo-Johnson, then the safe
/// standard scaler (with centering).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafePower {
    pub power: PowerColumn,
    pub scaler: stats::SafeScaler,
}

impl SafePower {
    pub fn fit_transform(col: &[f64]) -> (Self, Vec<f64>) {
        let (power, transformed) = PowerColumn::fit_transform(col);
        let (scaler, out) = stats::SafeScaler::fit_transform(&transformed, true);
        (Self { power, scaler }, out)
    }

    pub fn transform(&self, x: f64) -> f64 {
        self.scaler.transform(self.power.transform(x))
    }

    /// `inverse_transform` of a float32 value as the reference maps the bar borders:
    /// scaler inverse in float32 steps, Yeo-Johnson inverse in float64, result float32.
    pub fn inverse_f32(&self, x: f32) -> f32 {
        let unscaled = self.scaler.inverse_f32(x);
        yeo_johnson_inverse(unscaled as f64, self.power.lambda) as f32
    }
}
