//! sklearn `QuantileTransformer(output_distribution="uniform")` on one column, as the
//! reference's `AdaptiveQuantileTransformer` runs it (no row subsampling below 100 000
//! rows). Bit-exact with numpy's `nanpercentile` ("linear") and `interp`.

/// A fitted column: monotone quantiles and their reference levels.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileColumn {
    quantiles: Vec<f64>,
    references: Vec<f64>,
}

/// `np.linspace(0, 1, n)`.
fn linspace01(n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![0.0];
    }
    let step = 1.0 / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + 0.0).collect();
    v[n - 1] = 1.0;
    v
}

/// numpy's `_lerp(a, b, t)`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// `np.percentile(sorted, q * 100)` with the default "linear" method, `q` in [0, 1].
fn percentile_sorted(sorted: &[f64], q_times_100: f64) -> f64 {
    let n = sorted.len();
    let q = q_times_100 / 100.0;
    let virtual_index = (n - 1) as f64 * q;
    if virtual_index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if virtual_index < 0.0 {
        return sorted[0];
    }
    let prev = virtual_index.floor();
    let gamma = virtual_index - prev;
    let p = prev as usize;
    lerp(sorted[p], sorted[p + 1], gamma)
}

/// numpy's `np.interp(x, xp, fp)` for one finite x and increasing (possibly tied) xp.
fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if n == 1 {
        return fp[0];
    }
    if x > xp[n - 1] {
        return fp[n - 1];
    }
    if x < xp[0] {
        return fp[0];
    }
    // Largest j with xp[j] <= x.
    let j = xp.partition_point(|&v| v <= x) - 1;
    if j == n - 1 {
        return fp[j];
    }
    if xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut res = slope * (x - xp[j]) + fp[j];
    if res.is_nan() {
        res = slope * (x - xp[j + 1]) + fp[j + 1];
        if res.is_nan() && fp[j] == fp[j + 1] {
            res = fp[j];
        }
    }
    res
}

impl QuantileColumn {
    /// Fits on one train column (NaN ignored). `n_quantiles` is the effective count
    /// (`max(1, min(requested, rows, 20000))`). `None` if the column has no finite value.
    pub fn fit(col: &[f64], n_quantiles: usize) -> Option<Self> {
        let mut v: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.partial_cmp(b).expect("NaN filtered"));
        let references = linspace01(n_quantiles);
        let mut quantiles: Vec<f64> = references
            .iter()
            .map(|&r| percentile_sorted(&v, r * 100.0))
            .collect();
        for i in 1..quantiles.len() {
            if quantiles[i] < quantiles[i - 1] {
                quantiles[i] = quantiles[i - 1];
            }
        }
        Some(Self {
            quantiles,
            references,
        })
    }

    /// Transforms a whole column (allocates the mirrored tables once).
    pub fn transform_column(&self, col: &[f64]) -> Vec<f64> {
        let q = &self.quantiles;
        let r = &self.references;
        let neg_q: Vec<f64> = q.iter().rev().map(|v| -v).collect();
        let neg_r: Vec<f64> = r.iter().rev().map(|v| -v).collect();
        col.iter()
            .map(|&x| {
                if x.is_nan() {
                    return x;
                }
                let mut y = 0.5 * (interp(x, q, r) - interp(-x, &neg_q, &neg_r));
                if x == q[q.len() - 1] {
                    y = 1.0;
                }
                if x == q[0] {
                    y = 0.0;
                }
                y
            })
            .collect()
    }
}
