//! The reference's global "svd" transformer: `[Z, TruncatedSVD(safe_scale(Z))]`.
//! sklearn runs ARPACK; a dense SVD with sklearn's `svd_flip(u_based_decision=False)` sign
//! rule spans the same components (agreement ~1e-12 relative on well-separated spectra).

use nalgebra::DMatrix;

use super::stats::SafeScaler;
use crate::error::{input_err, Result};

/// Fitted SVD features: per-column scalers and the top `k` right singular vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct SvdFeatures {
    scalers: Vec<SafeScaler>,
    /// `[k, F]` row-major, sign-fixed like sklearn's `components_`.
    components: Vec<f64>,
    k: usize,
    f: usize,
}

impl SvdFeatures {
    /// Number of SVD components for `rows` train rows and `features` input features.
    pub fn n_components(rows: usize, features: usize) -> usize {
        1.max((rows / 10 + 1).min(features / 2))
    }

    /// Fits on the train matrix `z` (`[rows, f]` row-major) and returns the `[rows, k]`
    /// train features (`U·Σ`).
    pub fn fit_transform(z: &[f64], rows: usize, f: usize, k: usize) -> Result<(Self, Vec<f64>)> {
        let mut scalers = Vec::with_capacity(f);
        let mut scaled = DMatrix::<f64>::zeros(rows, f);
        for j in 0..f {
            let col: Vec<f64> = (0..rows).map(|i| z[i * f + j]).collect();
            let (s, out) = SafeScaler::fit_transform(&col, false);
            scalers.push(s);
            for (i, v) in out.into_iter().enumerate() {
                scaled[(i, j)] = v;
            }
        }
        let svd = nalgebra::linalg::SVD::try_new(scaled, true, true, f64::EPSILON, 0).ok_or_else(
            || {
                input_err(
                    "svd features",
                    "the singular value decomposition did not converge",
                )
            },
        )?;
        let u = svd.u.expect("requested U");
        let v_t = svd.v_t.expect("requested Vᵀ");
        let sv = svd.singular_values;
        // nalgebra returns them sorted when asked through `new`; sort explicitly to be sure.
        let mut order: Vec<usize> = (0..sv.len()).collect();
        order.sort_by(|&a, &b| {
            sv[b]
                .partial_cmp(&sv[a])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if k > order.len() {
            return Err(input_err(
                "svd features",
                format!("{k} components requested from a {rows} × {f} matrix"),
            ));
        }
        let mut components = vec![0.0; k * f];
        let mut train = vec![0.0; rows * k];
        for (c, &idx) in order.iter().take(k).enumerate() {
            let row: Vec<f64> = (0..f).map(|j| v_t[(idx, j)]).collect();
            let mut best = 0;
            for j in 1..f {
                if row[j].abs() > row[best].abs() {
                    best = j;
                }
            }
            let sign = if row[best] < 0.0 {
                -1.0
            } else if row[best] > 0.0 {
                1.0
            } else {
                0.0
            };
            for j in 0..f {
                components[c * f + j] = row[j] * sign;
            }
            for i in 0..rows {
                train[i * k + c] = u[(i, idx)] * sign * sv[idx];
            }
        }
        Ok((
            Self {
                scalers,
                components,
                k,
                f,
            },
            train,
        ))
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// `[rows, k]` features of new rows (`scale(z) @ componentsᵀ`).
    pub fn transform(&self, z: &[f64], rows: usize) -> Vec<f64> {
        let (f, k) = (self.f, self.k);
        let mut out = vec![0.0; rows * k];
        let mut scaled = vec![0.0; f];
        for i in 0..rows {
            for j in 0..f {
                scaled[j] = self.scalers[j].transform(z[i * f + j]);
            }
            for c in 0..k {
                let comp = &self.components[c * f..(c + 1) * f];
                out[i * k + c] = scaled.iter().zip(comp).map(|(a, b)| a * b).sum();
            }
        }
        out
    }
}
