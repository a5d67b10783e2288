//! `TabPFNRegressor` of 2.2.1: fit → predict (mean / median / mode / quantiles / full).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::classifier::check_finite;
use super::ensemble::{low_memory_seeds, regressor_configs, regressor_draws, REGRESSOR_CONFIGS};
use super::estimator::{check_fit_shape, Encoded, EstimatorConfig, FitMode, Member, Runner};
use super::fitted::{Fitted, FittedEnsemble, Head, HeadImpl, MemberSpec};
use super::frame::{DataFrame, Target};
use super::postprocess::{combine_regression, member_borders, translate_probs};
use super::power::SafePower;
use super::stats;
use crate::bar_distribution::BarDistribution;
use crate::config::Task;
use crate::error::{input_err, Result};
use crate::transformer::{Logits, PerFeatureTransformer};

/// The reference's default quantiles.
pub const DEFAULT_QUANTILES: [f32; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// A TabPFN regressor: a loaded regression network and the estimator knobs.
#[derive(Debug, Clone)]
pub struct TabPFNRegressor {
    model: Arc<PerFeatureTransformer>,
    config: EstimatorConfig,
}

/// Everything `predict(output_type="full")` returns, per test row.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionOutput {
    pub mean: Vec<f32>,
    pub median: Vec<f32>,
    pub mode: Vec<f32>,
    /// One vector per requested quantile.
    pub quantiles: Vec<Vec<f32>>,
    /// Final logits over the raw-space bars, `[rows, K]` row-major (empty for a
    /// constant target).
    pub logits: Vec<f32>,
    /// Raw-space bar borders `[K + 1]` (empty for a constant target).
    pub borders: Vec<f32>,
}

impl TabPFNRegressor {
    /// Checks that the model is a regressor and that every knob of `config` is valid.
    pub fn new(model: Arc<PerFeatureTransformer>, config: EstimatorConfig) -> Result<Self> {
        if model.task() != Task::Regression {
            return Err(input_err(
                "model",
                "is a classification checkpoint; TabPFNRegressor needs a regressor",
            ));
        }
        config.validate()?;
        Ok(Self { model, config })
    }

    /// The estimator knobs.
    pub fn config(&self) -> &EstimatorConfig {
        &self.config
    }

    /// Fits on `x` (train table) and numeric `y`.
    pub fn fit(&self, x: &DataFrame, y: &Target) -> Result<FittedRegressor> {
        let cfg = &self.config;
        check_fit_shape(x, y.len(), cfg)?;
        let y = match y {
            Target::Numeric(v) => v,
            Target::Text(v) => {
                return Err(input_err(
                    "y",
                    format!(
                        "is text (first value `{}`); a regression target must be numeric",
                        v.first().map_or("", String::as_str)
                    ),
                ))
            }
        };
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(input_err(
                "y",
                format!("row {i} is {}; regression targets must be finite", y[i]),
            ));
        }
        let encoded = Encoded::fit(x, cfg)?;
        let constant = y.iter().all(|&v| v == y[0]).then_some(y[0]);
        let mean = stats::mean(y);
        let std = stats::var(y).sqrt() + 1e-20;
        let y_z: Vec<f64> = y.iter().map(|v| (v - mean) / std).collect();
        if let Some(i) = y_z.iter().position(|v| !v.is_finite()) {
            return Err(input_err(
                "y",
                format!(
                    "row {i} ({}) overflows when standardised (mean {mean}, std {std}); \
                     rescale the target",
                    y[i]
                ),
            ));
        }
        let std_borders = model_borders(&self.model)?;
        let (std32, mean32) = (std as f32, mean as f32);
        let raw_borders: Vec<f32> = std_borders.iter().map(|&z| z * std32 + mean32).collect();
        check_finite(
            &raw_borders,
            "the target's bar borders (std × borders + mean)",
        )?;
        let n = cfg.n_estimators;
        let seeds = if cfg.fit_mode == FitMode::LowMemory {
            low_memory_seeds(cfg.random_state, n, None).1
        } else {
            regressor_draws(cfg.random_state, n).member_seeds
        };
        let ensemble = FittedEnsemble {
            runner: Runner::new(self.model.clone(), cfg, Regression::AUTO_OUTLIER_STD),
            target_name: None,
            config: cfg.clone(),
            encoded,
            seeds,
            members: Vec::new(),
        };
        let head = Regression::new(y_z, constant, std_borders, raw_borders);
        Fitted::new(ensemble, head)
    }
}

fn model_borders(model: &PerFeatureTransformer) -> Result<Vec<f32>> {
    Ok(model
        .borders()
        .ok_or_else(|| input_err("model", "has no bar-distribution borders"))?
        .to_vec())
}

/// The regression head of a fit: standardised targets, the constant (if the target is
/// one), the model's z-space borders and the raw-space ones, and the safepower target
/// transform every `safepower` member shares.
#[derive(Debug, Clone)]
pub struct Regression {
    y_z: Vec<f64>,
    constant: Option<f64>,
    std_borders: Vec<f32>,
    raw_borders: Vec<f32>,
    /// Fitted once: every safepower member fits the same transform on the same targets
    /// (the reference re-fits one shared object). None for a constant target.
    power: Option<(SafePower, Vec<f32>)>,
}

/// The regression head's part of a saved fit.
#[doc(hidden)]
#[derive(Serialize, Deserialize)]
pub struct SavedRegression {
    y_z: Vec<f64>,
    constant: Option<f64>,
    raw_borders: Vec<f32>,
}

impl Regression {
    fn new(y_z: Vec<f64>, constant: Option<f64>, std_borders: Vec<f32>, raw: Vec<f32>) -> Self {
        let power = constant.is_none().then(|| {
            let (power, power_y) = SafePower::fit_transform(&y_z);
            (power, power_y.iter().map(|&v| v as f32).collect())
        });
        Self {
            power,
            y_z,
            constant,
            std_borders,
            raw_borders: raw,
        }
    }
}

impl Head for Regression {
    const TASK: &'static str = "regressor";
    const AUTO_OUTLIER_STD: Option<f32> = None;
}

impl HeadImpl for Regression {
    type Saved = SavedRegression;

    fn saved(&self) -> SavedRegression {
        SavedRegression {
            y_z: self.y_z.clone(),
            constant: self.constant,
            raw_borders: self.raw_borders.clone(),
        }
    }

    fn from_saved(
        s: SavedRegression,
        ensemble: &FittedEnsemble,
        model: &PerFeatureTransformer,
    ) -> Result<Self> {
        if s.y_z.len() != ensemble.n_train() {
            return Err(input_err(
                "y_z",
                format!(
                    "holds {} targets for {} training rows",
                    s.y_z.len(),
                    ensemble.n_train()
                ),
            ));
        }
        if let Some(i) = s.y_z.iter().position(|v| !v.is_finite()) {
            return Err(input_err("y_z", format!("value {i} is {}", s.y_z[i])));
        }
        if s.constant.is_some_and(|c| !c.is_finite()) {
            return Err(input_err("constant", "is not finite"));
        }
        let std_borders = model_borders(model)?;
        if s.raw_borders.len() != std_borders.len() {
            return Err(input_err(
                "raw_borders",
                format!(
                    "holds {} borders, the model has {}",
                    s.raw_borders.len(),
                    std_borders.len()
                ),
            ));
        }
        // same checks as the bar distribution itself: finite, ascending
        BarDistribution::new(s.raw_borders.clone())
            .map_err(|e| input_err("raw_borders", e.to_string()))?;
        Ok(Self::new(s.y_z, s.constant, std_borders, s.raw_borders))
    }

    fn member_specs(
        &self,
        ensemble: &FittedEnsemble,
        rows: Option<Vec<Vec<usize>>>,
    ) -> Vec<MemberSpec> {
        let Some((power, power_y)) = &self.power else {
            return Vec::new();
        };
        let cfg = ensemble.config();
        let configs = regressor_configs(
            cfg.n_estimators,
            cfg.member_configs(&REGRESSOR_CONFIGS),
            &cfg.regression_y_transforms,
        );
        let Some(rows) = rows else {
            let plain: Vec<f32> = self.y_z.iter().map(|&v| v as f32).collect();
            return configs
                .into_iter()
                .map(|(config, uses_power)| {
                    let (target, y_train) = if uses_power {
                        (Some(*power), power_y.clone())
                    } else {
                        (None, plain.clone())
                    };
                    MemberSpec {
                        config,
                        y_train,
                        target,
                        class_permutation: None,
                        rows: None,
                    }
                })
                .collect();
        };
        // Subsampled: each safepower member's targets go through a transform fitted on its
        // own rows, but the reference re-fits one shared transform object member after
        // member, so every member's borders are mapped back with the *last* fit
        // (docs/large-data.md, "Subsampling").
        let mut specs: Vec<MemberSpec> = configs
            .into_iter()
            .zip(rows)
            .map(|((config, uses_power), idx)| {
                let y_sub: Vec<f64> = idx.iter().map(|&r| self.y_z[r]).collect();
                let (target, y_train) = if uses_power {
                    let (p, y) = SafePower::fit_transform(&y_sub);
                    (Some(p), y.iter().map(|&v| v as f32).collect())
                } else {
                    (None, y_sub.iter().map(|&v| v as f32).collect())
                };
                MemberSpec {
                    config,
                    y_train,
                    target,
                    class_permutation: None,
                    rows: Some(idx),
                }
            })
            .collect();
        if let Some(last) = specs.iter().rev().find_map(|s| s.target) {
            for s in specs.iter_mut().filter(|s| s.target.is_some()) {
                s.target = Some(last);
            }
        }
        specs
    }
}

/// A member's z-space borders and the buckets whose logits are cancelled.
type MemberBorders = (Vec<f32>, Option<Vec<bool>>);

/// A fitted regressor.
pub type FittedRegressor = Fitted<Regression>;

impl Fitted<Regression> {
    /// Every output type for the rows of `x`, with the given quantiles.
    pub fn predict_full(&self, x: &DataFrame, quantiles: &[f32]) -> Result<RegressionOutput> {
        self.predict_full_with_progress(x, quantiles, |_| {})
    }

    /// [`predict_full`](Self::predict_full), calling `progress(rows)` after each member ×
    /// batch of test rows.
    pub fn predict_full_with_progress(
        &self,
        x: &DataFrame,
        quantiles: &[f32],
        mut progress: impl FnMut(usize),
    ) -> Result<RegressionOutput> {
        if let Some(&q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(input_err("quantiles", format!("{q} is outside [0, 1]")));
        }
        let rows = x.rows();
        if let Some(c) = self.head.constant {
            // still validates the test table against the fit
            self.ensemble.encoded.transform(x)?;
            let v = vec![c as f32; rows];
            return Ok(RegressionOutput {
                mean: v.clone(),
                median: v.clone(),
                mode: v.clone(),
                quantiles: quantiles.iter().map(|_| v.clone()).collect(),
                logits: Vec::new(),
                borders: Vec::new(),
            });
        }
        let members = self.members_for_predict()?;
        let borders = self.member_borders(&members)?;
        let logits = self.run(x, &mut progress, |_, l| self.final_logits(l, &borders))?;
        outputs_from_logits(logits, self.head.raw_borders.clone(), rows, quantiles)
    }

    fn member_borders(&self, members: &[Member]) -> Result<Vec<MemberBorders>> {
        members
            .iter()
            .map(|m| {
                member_borders(
                    &self.head.std_borders,
                    m.target.as_ref(),
                    self.config().fix_nan_borders,
                )
            })
            .collect()
    }

    /// Final logits over the standard bars from the members' raw logits: temperature,
    /// cancelled buckets, re-binning through each member's borders, averaging, log.
    fn final_logits(
        &self,
        member_logits: &[Logits],
        borders: &[MemberBorders],
    ) -> Result<Vec<f32>> {
        if member_logits.len() != borders.len() {
            return Err(input_err(
                "member logits",
                format!(
                    "{} given for {} members",
                    member_logits.len(),
                    borders.len()
                ),
            ));
        }
        let k = self.head.std_borders.len() - 1;
        let t = self.config().softmax_temperature;
        let mut rebinned = Vec::with_capacity(member_logits.len());
        for (logits, (b, cancel)) in member_logits.iter().zip(borders) {
            if logits.n_out != k {
                return Err(input_err(
                    "member logits",
                    format!("have {} outputs for {k} bars", logits.n_out),
                ));
            }
            let mut out = Vec::with_capacity(logits.rows * k);
            for r in 0..logits.rows {
                let mut l: Vec<f32> = logits
                    .row(r)
                    .iter()
                    .map(|v| if t != 1.0 { v / t } else { *v })
                    .collect();
                if let Some(c) = cancel {
                    for (v, &dead) in l.iter_mut().zip(c) {
                        if dead {
                            *v = f32::NEG_INFINITY;
                        }
                    }
                }
                out.extend(translate_probs(&l, b, &self.head.std_borders));
            }
            rebinned.push(out);
        }
        let out = combine_regression(&rebinned, k, self.config().average_before_softmax);
        if let Some(i) = out.iter().position(|v| v.is_nan() || *v == f32::INFINITY) {
            return Err(crate::error::ModelError::NonFinite(format!(
                "regression logits: value {i} is {}; the network's logits overflow float32 \
                 (check the model's weights and softmax_temperature)",
                out[i]
            )));
        }
        Ok(out)
    }

    /// Post-processing alone: every output type from each member's raw network logits
    /// (`[rows, K]`, in member order) — for custom runners and parity checks.
    pub fn outputs_from_member_logits(
        &self,
        member_logits: &[Logits],
        quantiles: &[f32],
    ) -> Result<RegressionOutput> {
        let members = self.members_for_predict()?;
        let borders = self.member_borders(&members)?;
        let logits = self.final_logits(member_logits, &borders)?;
        let rows = member_logits.first().map_or(0, |l| l.rows);
        outputs_from_logits(logits, self.head.raw_borders.clone(), rows, quantiles)
    }

    /// Mean prediction per row (the default output type).
    pub fn predict(&self, x: &DataFrame) -> Result<Vec<f32>> {
        Ok(self.predict_full(x, &[])?.mean)
    }

    /// Member `i`'s target transform λ, if it has one.
    pub fn member_target_lambda(&self, i: usize) -> Option<f64> {
        self.ensemble.members.get(i)?.target.map(|t| t.power.lambda)
    }
}

/// Mean, median, mode and quantiles of final logits `[rows, K]` over raw-space `borders`.
pub fn outputs_from_logits(
    logits: Vec<f32>,
    borders: Vec<f32>,
    rows: usize,
    quantiles: &[f32],
) -> Result<RegressionOutput> {
    let dist = BarDistribution::new(borders.clone())?;
    let k = dist.num_bars();
    if logits.len() != rows * k {
        return Err(input_err(
            "logits",
            format!("hold {} values for {rows} rows × {k} bars", logits.len()),
        ));
    }
    let mut out = RegressionOutput {
        mean: Vec::with_capacity(rows),
        median: Vec::with_capacity(rows),
        mode: Vec::with_capacity(rows),
        quantiles: vec![Vec::with_capacity(rows); quantiles.len()],
        logits: Vec::new(),
        borders,
    };
    for r in 0..rows {
        let l = &logits[r * k..(r + 1) * k];
        out.mean.push(dist.mean(l)?);
        out.median.push(dist.median(l)?);
        out.mode.push(dist.mode(l)?);
        for (qi, &q) in quantiles.iter().enumerate() {
            out.quantiles[qi].push(dist.icdf(l, q)?);
        }
    }
    for (what, v) in [
        ("mean", &out.mean),
        ("median", &out.median),
        ("mode", &out.mode),
    ] {
        check_finite(v, &format!("regression {what}"))?;
    }
    out.logits = logits;
    Ok(out)
}
