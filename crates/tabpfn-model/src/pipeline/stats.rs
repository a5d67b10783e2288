//! The scalers and imputers of the reference pipelines (sklearn `StandardScaler`,
//! `SimpleImputer(mean)`, the "safe" wrappers that map ±inf to NaN around them), column by
//! column in float64.

/// numpy's pairwise summation of a contiguous 1-D array (`np.sum`, `np.mean` on vectors).
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `np.mean` of a vector.
pub fn mean(a: &[f64]) -> f64 {
    pairwise_sum(a) / a.len() as f64
}

/// `np.var` (ddof 0) of a vector.
pub fn var(a: &[f64]) -> f64 {
    let m = mean(a);
    let d: Vec<f64> = a.iter().map(|x| (x - m) * (x - m)).collect();
    pairwise_sum(&d) / a.len() as f64
}

/// sklearn `_is_constant_feature`: variance at rounding-noise level.
pub fn is_constant_feature(var: f64, mean: f64, n: usize) -> bool {
    let eps = f64::EPSILON;
    let n = n as f64;
    let upper = n * eps * var + (n * mean * eps).powi(2);
    var <= upper
}

fn inf_to_nan(x: f64) -> f64 {
    if x.is_infinite() {
        f64::NAN
    } else {
        x
    }
}

/// `SimpleImputer(strategy="mean", keep_empty_features=True)` on one column: the mean of
/// the non-NaN values, 0 for an all-NaN column.
pub fn nan_mean(col: &[f64]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for &v in col {
        if !v.is_nan() {
            sum += v;
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// sklearn `StandardScaler` statistics of one finite column (first `partial_fit`).
fn scaler_stats(col: &[f64]) -> (f64, f64) {
    let n = col.len() as f64;
    let sum: f64 = col.iter().fold(0.0, |a, &v| a + v);
    let mean = sum / n;
    let t = sum / n;
    let mut correction = 0.0;
    let mut sq = 0.0;
    for &v in col {
        let d = v - t;
        correction += d;
        sq += d * d;
    }
    let var = (sq - correction * correction / n) / n;
    let mut scale = var.sqrt();
    if is_constant_feature(var, mean, col.len()) || scale < 10.0 * f64::EPSILON {
        scale = 1.0;
    }
    (mean, scale)
}

/// The reference's "safe" standard scaler on one column: inf→NaN, mean-impute, scale
/// (centering optional), inf→NaN, mean-impute. Fitted on train values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafeScaler {
    pre_impute: f64,
    mean: f64,
    scale: f64,
    with_mean: bool,
    post_impute: f64,
}

impl SafeScaler {
    /// Fits on the column and returns the transformed train column too.
    pub fn fit_transform(col: &[f64], with_mean: bool) -> (Self, Vec<f64>) {
        let pre: Vec<f64> = col.iter().map(|&v| inf_to_nan(v)).collect();
        let pre_impute = nan_mean(&pre);
        let imputed: Vec<f64> = pre
            .iter()
            .map(|&v| if v.is_nan() { pre_impute } else { v })
            .collect();
        let (mean, scale) = scaler_stats(&imputed);
        let scaled: Vec<f64> = imputed
            .iter()
            .map(|&v| {
                inf_to_nan(if with_mean {
                    (v - mean) / scale
                } else {
                    v / scale
                })
            })
            .collect();
        let post_impute = nan_mean(&scaled);
        let s = Self {
            pre_impute,
            mean,
            scale,
            with_mean,
            post_impute,
        };
        let out = scaled
            .iter()
            .map(|&v| if v.is_nan() { s.post_impute } else { v })
            .collect();
        (s, out)
    }

    pub fn transform(&self, v: f64) -> f64 {
        let v = inf_to_nan(v);
        let v = if v.is_nan() { self.pre_impute } else { v };
        let v = inf_to_nan(if self.with_mean {
            (v - self.mean) / self.scale
        } else {
            v / self.scale
        });
        if v.is_nan() {
            self.post_impute
        } else {
            v
        }
    }

    /// `inverse_transform` of the scaler in float32 in/out like the reference's borders
    /// (`x * scale + mean`, each step rounded to float32; the imputers invert as identity).
    pub fn inverse_f32(&self, x: f32) -> f32 {
        let scaled = (x as f64 * self.scale) as f32;
        if self.with_mean {
            (scaled as f64 + self.mean) as f32
        } else {
            scaled
        }
    }
}
