//! After the network: the classifier's class un-permutation, temperature, averaging and
//! balancing; the regressor's border transforms, re-binning onto the standard borders and
//! averaging (pipeline.md §2.8, §4.2–4.3). Float32 like the reference's torch code.

use super::power::SafePower;
use crate::bar_distribution::softmax;
use crate::error::{input_err, Result};
use crate::transformer::Logits;

/// Member logits restricted to the `n_classes` real classes and un-permuted: column `c`
/// is logit `perm[c]` (the member was trained on labels `perm[y]`).
pub fn unpermute_classes(logits: &Logits, perm: Option<&[usize]>, n_classes: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.rows * n_classes);
    for i in 0..logits.rows {
        let row = logits.row(i);
        for c in 0..n_classes {
            out.push(row[perm.map_or(c, |p| p[c])]);
        }
    }
    out
}

/// Combines per-member class logits (`[rows, C]` each, already un-permuted) into
/// probabilities `[rows, C]`: temperature, softmax-then-mean (or mean-then-softmax),
/// optional balancing by the train class counts, final renormalisation.
pub fn combine_class_logits(
    members: &[Vec<f32>],
    rows: usize,
    n_classes: usize,
    temperature: f32,
    average_before_softmax: bool,
    class_counts: Option<&[usize]>,
    sklearn_16_decimals: bool,
) -> Vec<f32> {
    let scaled: Vec<Vec<f32>> = members
        .iter()
        .map(|m| {
            if temperature != 1.0 {
                m.iter().map(|v| v / temperature).collect()
            } else {
                m.clone()
            }
        })
        .collect();
    let n = scaled.len() as f32;
    let mut out = vec![0f32; rows * n_classes];
    for i in 0..rows {
        let row = &mut out[i * n_classes..(i + 1) * n_classes];
        if average_before_softmax {
            let mut mean = vec![0f32; n_classes];
            for m in &scaled {
                for c in 0..n_classes {
                    mean[c] += m[i * n_classes + c];
                }
            }
            mean.iter_mut().for_each(|v| *v /= n);
            row.copy_from_slice(&softmax(&mean));
        } else {
            for m in &scaled {
                let p = softmax(&m[i * n_classes..(i + 1) * n_classes]);
                for c in 0..n_classes {
                    row[c] += p[c];
                }
            }
            row.iter_mut().for_each(|v| *v /= n);
        }
        if let Some(counts) = class_counts {
            let total: usize = counts.iter().sum();
            for c in 0..n_classes {
                let prior = (counts[c] as f64 / total as f64) as f32;
                row[c] /= prior;
            }
            let s: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
        if sklearn_16_decimals {
            round_16_decimals(row);
        }
        let s: f32 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= s);
    }
    out
}

/// Mean of the member logits after temperature (`predict_logits`), `[rows, C]`.
pub fn mean_class_logits(members: &[Vec<f32>], temperature: f32) -> Vec<f32> {
    let len = members.first().map_or(0, Vec::len);
    let n = members.len() as f32;
    let mut out = vec![0f32; len];
    for m in members {
        for (o, v) in out.iter_mut().zip(m) {
            *o += if temperature != 1.0 {
                v / temperature
            } else {
                *v
            };
        }
    }
    out.iter_mut().for_each(|v| *v /= n);
    out
}

/// `USE_SKLEARN_16_DECIMAL_PRECISION`: `np.around(p, 16)` in float32 (multiply, round half
/// to even, divide), then probabilities below `PROBABILITY_EPSILON_ROUND_ZERO` = 1e-3 set
/// to 0 (the caller renormalises).
fn round_16_decimals(row: &mut [f32]) {
    let scale = 1e16_f32;
    for v in row.iter_mut() {
        let r = (*v * scale).round_ties_even() / scale;
        *v = if r < 1e-3 { 0.0 } else { r };
    }
}

/// A member's bar borders in z-space after undoing its target transform, and the
/// buckets whose logits must be ignored (`transform_borders_one` with NaN-border repair).
pub fn member_borders(
    std_borders: &[f32],
    target: Option<&SafePower>,
    repair_nan_borders: bool,
) -> Result<(Vec<f32>, Option<Vec<bool>>)> {
    let Some(t) = target else {
        return Ok((std_borders.to_vec(), None));
    };
    let mut b: Vec<f32> = std_borders.iter().map(|&z| t.inverse_f32(z)).collect();
    // FIX_NAN_BORDERS_AFTER_TARGET_TRANSFORM off: no border is treated as broken
    let broken: Vec<bool> = b
        .iter()
        .map(|&v| repair_nan_borders && (!v.is_finite() || !(-1e3..=1e3).contains(&v)))
        .collect();
    let mut cancel: Option<Vec<bool>> = None;
    if broken.iter().any(|&x| x) {
        let k = b.len();
        let rights = (0..k - 1).filter(|&i| broken[i] && !broken[i + 1]).count();
        let lefts = (0..k - 1).filter(|&i| !broken[i] && broken[i + 1]).count();
        if lefts > 1 || rights > 1 || (rights == 1 && !broken[0]) || (lefts == 1 && !broken[k - 1])
        {
            return Err(input_err(
                "target transform",
                "maps the bar borders to non-finite values in the middle of the range; \
                 the reference fails on this target too",
            ));
        }
        if rights == 1 {
            let first_good = (0..k - 1)
                .find(|&i| broken[i] && !broken[i + 1])
                .expect("counted")
                + 1;
            let v = b[first_good];
            b[..first_good].iter_mut().for_each(|x| *x = v);
            b[0] = b[1] - 1.0;
        }
        if lefts == 1 {
            let last_good = (0..k - 1)
                .find(|&i| !broken[i] && broken[i + 1])
                .expect("counted");
            let v = b[last_good];
            b[last_good + 1..].iter_mut().for_each(|x| *x = v);
            b[k - 1] = b[k - 2] + 1.0;
        }
        cancel = Some((0..k - 1).map(|i| broken[i] || broken[i + 1]).collect());
    }
    // _repair_borders
    let k = b.len();
    if b[k - 1].is_nan() {
        let largest = b
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .fold(f32::NEG_INFINITY, f32::max);
        b.iter_mut()
            .filter(|v| v.is_nan())
            .for_each(|v| *v = largest);
        b[k - 1] *= 2.0;
    }
    if b[k - 1] - b[k - 2] < 1e-6 {
        b[k - 1] *= 1.1;
    }
    if b[0] == b[1] {
        b[0] -= (b[0] * 0.1).abs();
    }
    if b.windows(2).all(|w| w[0] > w[1]) {
        b.reverse();
        if let Some(c) = cancel.as_mut() {
            c.reverse();
        }
    }
    Ok((b, cancel))
}

/// `translate_probs_across_borders`: the member's distribution (logits over bars `frm`)
/// re-binned onto the bars `to`, as probabilities.
pub fn translate_probs(logits: &[f32], frm: &[f32], to: &[f32]) -> Vec<f32> {
    let probs = softmax(logits);
    let n_bars = frm.len() - 1;
    // torch's CPU cumsum accumulates in double
    let mut so_far = Vec::with_capacity(probs.len());
    let mut acc = 0.0f64;
    for &p in &probs {
        acc += p as f64;
        so_far.push(acc as f32 - p);
    }
    let mut left: Vec<f32> = to
        .iter()
        .map(|&y| {
            let mut ix = frm.partition_point(|&b| b < y) as i64 - 1;
            if y == frm[0] {
                ix = 0;
            }
            if y == frm[n_bars] {
                ix = n_bars as i64 - 1;
            }
            let ix = ix.clamp(0, n_bars as i64 - 1) as usize;
            let width = frm[ix + 1] - frm[ix];
            let share = ((y - frm[ix]) / width).clamp(0.0, 1.0);
            let mut v = so_far[ix] + probs[ix] * share;
            if y <= frm[0] {
                v = 0.0;
            }
            if y >= frm[n_bars] {
                v = 1.0;
            }
            v.clamp(0.0, 1.0)
        })
        .collect();
    let last = left.len() - 1;
    left[0] = 0.0;
    left[last] = 1.0;
    left.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect()
}

/// Combines the re-binned member probabilities (`[rows, K]` each) into the final logits
/// `log(mean)` (or `log(softmax(mean(log)))` when averaging before the softmax).
pub fn combine_regression(
    members: &[Vec<f32>],
    k: usize,
    average_before_softmax: bool,
) -> Vec<f32> {
    let len = members.first().map_or(0, Vec::len);
    let n = members.len() as f32;
    let mut out = vec![0f32; len];
    if average_before_softmax {
        for m in members {
            for (o, v) in out.iter_mut().zip(m) {
                *o += v.ln();
            }
        }
        out.iter_mut().for_each(|v| *v /= n);
        for row in out.chunks_mut(k) {
            let p = softmax(row);
            row.copy_from_slice(&p);
        }
    } else {
        for m in members {
            for (o, v) in out.iter_mut().zip(m) {
                *o += v;
            }
        }
        out.iter_mut().for_each(|v| *v /= n);
    }
    out.iter_mut().for_each(|v| *v = v.ln());
    out
}
