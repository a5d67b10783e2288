//! The y-encoder's data-dependent steps (reference `get_y_encoder`): test rows get NaN
//! targets, NaN/±inf are flagged (−2/+2/+4) and replaced by the mean of the finite train
//! targets, and for classifiers each target becomes the number of distinct train labels
//! strictly below it. The linear projection runs on the device.

use serde::{Deserialize, Serialize};

use crate::x_encoder::nan_indicator;

/// Fitted y-encoder state (what the reference keeps for predict-from-cache).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YEncoderState {
    pub nan_mean: f32,
    /// Sorted distinct train labels (after imputation); `None` for regression.
    pub classes: Option<Vec<f32>>,
}

/// Encoder input `[rows, 2]` row-major (`[y', indicator]`) for `y_train` followed by
/// `rows - y_train.len()` test rows, and the fitted state.
pub fn fit_transform(
    y_train: &[f32],
    rows: usize,
    classification: bool,
) -> (Vec<f32>, YEncoderState) {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for &v in y_train.iter().filter(|v| v.is_finite()) {
        sum += v as f64;
        n += 1;
    }
    let nan_mean = (sum / n.max(1) as f64) as f32;
    let classes = classification.then(|| {
        let mut u: Vec<f32> = y_train
            .iter()
            .map(|&v| if v.is_finite() { v } else { nan_mean })
            .collect();
        u.sort_by(|a, b| a.total_cmp(b));
        u.dedup_by(|a, b| a == b);
        u
    });
    let state = YEncoderState { nan_mean, classes };
    let mut y = y_train.to_vec();
    y.resize(rows, f32::NAN);
    (encode(&y, &state), state)
}

/// Encoder input `[rows, 2]` for `rows` test rows only (predict-from-cache).
pub fn transform(rows: usize, state: &YEncoderState) -> Vec<f32> {
    encode(&vec![f32::NAN; rows], state)
}

fn encode(y: &[f32], state: &YEncoderState) -> Vec<f32> {
    let mut out = Vec::with_capacity(y.len() * 2);
    for &v in y {
        let ind = nan_indicator(v);
        let mut val = if v.is_finite() { v } else { state.nan_mean };
        if let Some(classes) = &state.classes {
            val = classes.iter().filter(|&&u| u < val).count() as f32;
        }
        out.push(val);
        out.push(ind);
    }
    out
}
