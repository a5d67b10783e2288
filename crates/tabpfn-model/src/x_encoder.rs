//! The x-encoder's data-dependent steps (reference `SequentialEncoder` steps 0–4), run on
//! the host because they are cheap and full of per-column decisions. The learned linear
//! projection (step 5) is `x_proj` of [`crate::PerFeatureTransformer`], on the device.
//!
//! Each feature group ("slot") of `F` consecutive columns is encoded independently:
//! 0. RemoveEmptyFeatures: columns whose rows all equal row 0 (exact float equality, NaN
//!    never equal) are dropped and the rest moved to the front, zero-filled behind;
//! 1. NanHandling: indicators −2 (NaN), +2 (+inf), +4 (−inf), then NaN/±inf replaced by the
//!    mean of the finite train values (0 when there is none);
//! 3. InputNormalization: optional soft outlier clipping (σ), then z-scoring with the train
//!    mean and Bessel std (std 0 → 1, and 1 when only one row is used), clipped to ±100;
//! 4. VariableNumFeatures: scaling by √(F / used), `used` counted on the normalised values.
//!
//! Fit statistics use the train rows (the first `n_train`); the two "constant" tests use
//! every row of the fitting call, as in the reference.

use serde::{Deserialize, Serialize};

/// Fitted state of the x-encoder for one table: everything `_fit` stores in the reference.
/// All per-column vectors are slot-major: index `g * F + f`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XEncoderState {
    pub features_per_group: usize,
    pub n_groups: usize,
    /// Non-constant mask of the raw columns.
    pub keep: Vec<bool>,
    /// Imputation values (after compaction).
    pub nan_mean: Vec<f32>,
    /// Soft-clipping bounds, when outlier removal is on.
    pub outlier_lower: Option<Vec<f32>>,
    pub outlier_upper: Option<Vec<f32>>,
    pub norm_mean: Vec<f32>,
    pub norm_std: Vec<f32>,
    /// Non-constant normalised columns per slot, at least 1.
    pub used: Vec<usize>,
}

impl XEncoderState {
    /// Checks a state read from a file against `cols` feature columns and the model's
    /// `features_per_group`: every per-column vector `G · F` long, `used` one per group
    /// within `1..=F`, all statistics finite.
    pub(crate) fn validate(&self, cols: usize, features_per_group: usize) -> Result<(), String> {
        let f = features_per_group;
        if self.features_per_group != f {
            return Err(format!(
                "features_per_group {} for a model with {f}",
                self.features_per_group
            ));
        }
        let g = cols.div_ceil(f);
        if self.n_groups != g {
            return Err(format!(
                "{} feature groups for {cols} columns",
                self.n_groups
            ));
        }
        let n = g * f;
        let lens = [
            ("keep", self.keep.len()),
            ("nan_mean", self.nan_mean.len()),
            ("norm_mean", self.norm_mean.len()),
            ("norm_std", self.norm_std.len()),
            (
                "outlier_lower",
                self.outlier_lower.as_ref().map_or(n, Vec::len),
            ),
            (
                "outlier_upper",
                self.outlier_upper.as_ref().map_or(n, Vec::len),
            ),
        ];
        if let Some((name, len)) = lens.iter().find(|(_, len)| *len != n) {
            return Err(format!("`{name}` holds {len} values, expected {n}"));
        }
        if self.outlier_lower.is_some() != self.outlier_upper.is_some() {
            return Err("only one of the outlier bounds is present".into());
        }
        if self.used.len() != g || self.used.iter().any(|&u| u == 0 || u > f) {
            return Err(format!("`used` must hold {g} counts in 1..={f}"));
        }
        let finite = |v: &Vec<f32>| v.iter().all(|x| x.is_finite());
        if !(finite(&self.nan_mean) && finite(&self.norm_mean) && finite(&self.norm_std)) {
            return Err("non-finite normalisation statistics".into());
        }
        Ok(())
    }

    /// The first feature group whose fitted statistics overflow float32 (values near
    /// ±3.4e38), which the reference turns into NaN and rejects.
    pub fn overflowing_group(&self) -> Option<usize> {
        let bad = |v: &f32| !v.is_finite();
        (0..self.nan_mean.len())
            .find(|&i| bad(&self.nan_mean[i]) || bad(&self.norm_mean[i]) || bad(&self.norm_std[i]))
            .map(|i| i / self.features_per_group)
    }
}

/// Encoder input `[R, G, 2F]` row-major: `[x_0..x_{F-1}, ind_0..ind_{F-1}]` per (row, group).
#[derive(Debug, Clone)]
pub struct EncodedX {
    pub rows: usize,
    pub n_groups: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

/// The reference NaN-handling indicator: −2 NaN, +2 +inf, +4 −inf, 0 otherwise.
pub(crate) fn nan_indicator(v: f32) -> f32 {
    if v.is_nan() {
        -2.0
    } else if v == f32::INFINITY {
        2.0
    } else if v == f32::NEG_INFINITY {
        4.0
    } else {
        0.0
    }
}

/// Rows that are not all equal to row 0 (the reference's `(x[1:] == x[0]).sum(0) != R - 1`).
fn non_constant(col: &[f32]) -> bool {
    let Some(first) = col.first() else {
        return false;
    };
    col[1..].iter().filter(|v| *v == first).count() != col.len() - 1
}

/// Mean over values for which `take` holds, 0 when there is none (torch_nanmean with the
/// count clipped at 1).
fn masked_mean(col: &[f32], take: impl Fn(f32) -> bool) -> f32 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for &v in col {
        if take(v) {
            sum += v as f64;
            n += 1;
        }
    }
    (sum / n.max(1) as f64) as f32
}

/// torch_nanstd: Bessel-corrected std over non-NaN values with the divisor clipped at 1.
fn nan_std(col: &[f32], mean: f32) -> f32 {
    let (mut ss, mut n) = (0.0f64, 0usize);
    for &v in col {
        if !v.is_nan() {
            let d = mean as f64 - v as f64;
            ss += d * d;
            n += 1;
        }
    }
    (ss / (n as f64 - 1.0).max(1.0)).sqrt() as f32
}

fn soft_clip(v: f32, lower: f32, upper: f32) -> f32 {
    let v = (-(1.0f32 + v.abs()).ln() + lower).max(v);
    ((1.0f32 + v.abs()).ln() + upper).min(v)
}

/// Options the estimator sets on the encoder at run time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct XEncoderOptions {
    /// Soft outlier clipping at this many standard deviations (classifier estimator: 12).
    pub remove_outliers_std: Option<f32>,
    /// Decide which columns are constant (and count the used features per group) on the
    /// train rows only, as a train-set cache does, instead of on train and test rows (the
    /// reference's `model(x, y)`): then a test row's encoding depends on that row alone.
    pub train_only_statistics: bool,
}

/// Groups the columns of `x` (`[rows, cols]` row-major) into `F`-wide slots, column-major:
/// returns `G * F` columns of `rows` values, padding columns zero.
fn slot_columns(x: &[f32], rows: usize, cols: usize, f: usize) -> (usize, Vec<Vec<f32>>) {
    let g = cols.div_ceil(f);
    let mut out = vec![vec![0.0f32; rows]; g * f];
    for r in 0..rows {
        for c in 0..cols {
            out[c][r] = x[r * cols + c];
        }
    }
    (g, out)
}

/// Fits the encoder on a call with `n_train` train rows first (all `rows` take part in the
/// constant tests) and transforms every row.
pub fn fit_transform(
    x: &[f32],
    rows: usize,
    cols: usize,
    n_train: usize,
    features_per_group: usize,
    options: XEncoderOptions,
) -> (EncodedX, XEncoderState) {
    let f = features_per_group;
    let (g, raw) = slot_columns(x, rows, cols, f);
    let mut state = XEncoderState {
        features_per_group: f,
        n_groups: g,
        keep: vec![false; g * f],
        nan_mean: vec![0.0; g * f],
        outlier_lower: options.remove_outliers_std.map(|_| vec![0.0; g * f]),
        outlier_upper: options.remove_outliers_std.map(|_| vec![0.0; g * f]),
        norm_mean: vec![0.0; g * f],
        norm_std: vec![1.0; g * f],
        used: vec![1; g],
    };
    // the rows that decide constancy: all of them (the reference), or the train rows
    let stat_rows = if options.train_only_statistics {
        n_train
    } else {
        rows
    };
    for (i, col) in raw.iter().enumerate() {
        state.keep[i] = non_constant(&col[..stat_rows]);
    }
    let compacted = compact(&raw, &state.keep, g, f, rows);
    let mut main = Vec::with_capacity(g * f);
    let mut ind = Vec::with_capacity(g * f);
    for (i, col) in compacted.into_iter().enumerate() {
        ind.push(col.iter().map(|&v| nan_indicator(v)).collect::<Vec<f32>>());
        let train = &col[..n_train];
        let m = masked_mean(train, f32::is_finite);
        state.nan_mean[i] = m;
        let mut col: Vec<f32> = col
            .iter()
            .map(|&v| if v.is_finite() { v } else { m })
            .collect();

        if let Some(sigma) = options.remove_outliers_std {
            let train = &col[..n_train];
            let m1 = masked_mean(train, |v| !v.is_nan());
            let s1 = nan_std(train, m1);
            let cut = s1 * sigma;
            let (lo, hi) = (m1 - cut, m1 + cut);
            let clean: Vec<f32> = train
                .iter()
                .map(|&v| if v > hi || v < lo { f32::NAN } else { v })
                .collect();
            let m2 = masked_mean(&clean, |v| !v.is_nan());
            let s2 = nan_std(&clean, m2);
            let cut = s2 * sigma;
            let (lo, hi) = (m2 - cut, m2 + cut);
            if let (Some(l), Some(u)) = (state.outlier_lower.as_mut(), state.outlier_upper.as_mut())
            {
                l[i] = lo;
                u[i] = hi;
            }
            for v in col.iter_mut() {
                *v = soft_clip(*v, lo, hi);
            }
        }

        let train = &col[..n_train];
        let mean = masked_mean(train, |v| !v.is_nan());
        let mut std = nan_std(train, mean);
        if std == 0.0 {
            std = 1.0;
        }
        if rows == 1 || n_train == 1 {
            std = 1.0;
        }
        state.norm_mean[i] = mean;
        state.norm_std[i] = std;
        normalize(&mut col, mean, std);
        main.push(col);
    }
    for gi in 0..g {
        let used = (0..f)
            .filter(|&fi| non_constant(&main[gi * f + fi][..stat_rows]))
            .count();
        state.used[gi] = used.max(1);
    }
    let enc = assemble(&main, &ind, &state.used, g, f, rows);
    (enc, state)
}

/// Transforms `x` (`[rows, cols]`) with a fitted state (the predict-from-cache path).
pub fn transform(x: &[f32], rows: usize, cols: usize, state: &XEncoderState) -> EncodedX {
    let f = state.features_per_group;
    let (g, raw) = slot_columns(x, rows, cols, f);
    debug_assert_eq!(g, state.n_groups);
    let compacted = compact(&raw, &state.keep, g, f, rows);
    let mut main = Vec::with_capacity(g * f);
    let mut ind = Vec::with_capacity(g * f);
    for (i, col) in compacted.into_iter().enumerate() {
        ind.push(col.iter().map(|&v| nan_indicator(v)).collect::<Vec<f32>>());
        let m = state.nan_mean[i];
        let mut col: Vec<f32> = col
            .iter()
            .map(|&v| if v.is_finite() { v } else { m })
            .collect();
        if let (Some(l), Some(u)) = (&state.outlier_lower, &state.outlier_upper) {
            for v in col.iter_mut() {
                *v = soft_clip(*v, l[i], u[i]);
            }
        }
        normalize(&mut col, state.norm_mean[i], state.norm_std[i]);
        main.push(col);
    }
    assemble(&main, &ind, &state.used, g, f, rows)
}

fn normalize(col: &mut [f32], mean: f32, std: f32) {
    let denom = std + 1e-16f32;
    for v in col.iter_mut() {
        *v = ((*v - mean) / denom).clamp(-100.0, 100.0);
    }
}

/// Moves each slot's kept columns to the front (original order) and zero-fills the rest.
fn compact(raw: &[Vec<f32>], keep: &[bool], g: usize, f: usize, rows: usize) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(g * f);
    for gi in 0..g {
        let mut slot: Vec<Vec<f32>> = (0..f)
            .filter(|&fi| keep[gi * f + fi])
            .map(|fi| raw[gi * f + fi].clone())
            .collect();
        slot.resize(f, vec![0.0; rows]);
        out.extend(slot);
    }
    out
}

fn assemble(
    main: &[Vec<f32>],
    ind: &[Vec<f32>],
    used: &[usize],
    g: usize,
    f: usize,
    rows: usize,
) -> EncodedX {
    let width = 2 * f;
    let mut data = vec![0.0f32; rows * g * width];
    for gi in 0..g {
        let scale = (f as f32 / used[gi] as f32).sqrt();
        for fi in 0..f {
            let (m, n) = (&main[gi * f + fi], &ind[gi * f + fi]);
            for r in 0..rows {
                let base = (r * g + gi) * width;
                data[base + fi] = m[r] * scale;
                data[base + f + fi] = n[r];
            }
        }
    }
    EncodedX {
        rows,
        n_groups: g,
        width,
        data,
    }
}
