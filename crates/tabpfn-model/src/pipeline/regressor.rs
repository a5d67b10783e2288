//! `TabPFNRegressor` of 2.2.1: fit → predict (mean / median / mode / quantiles / full).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::encode::TableEncoder;
use super::ensemble::{low_memory_seeds, regressor_configs, regressor_draws};
use super::estimator::{
    attach_caches, batches, check_fit_shape, slice_rows, Encoded, EstimatorConfig, FitMode, Member,
    Runner,
};
use super::frame::{DataFrame, Target};
use super::member::MemberMatrix;
use super::postprocess::{combine_regression, member_borders, translate_probs};
use super::power::SafePower;
use super::stats;
use super::{persist, MemberView};
use crate::bar_distribution::BarDistribution;
use crate::cache::TrainCache;
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
    /// Checks that the model is a regressor.
    pub fn new(model: Arc<PerFeatureTransformer>, config: EstimatorConfig) -> Result<Self> {
        if model.task() != Task::Regression {
            return Err(input_err(
                "model",
                "is a classification checkpoint; TabPFNRegressor needs a regressor",
            ));
        }
        Ok(Self { model, config })
    }

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
        let std_borders = self
            .model
            .borders()
            .ok_or_else(|| input_err("model", "has no bar-distribution borders"))?
            .to_vec();
        let (std32, mean32) = (std as f32, mean as f32);
        let raw_borders: Vec<f32> = std_borders.iter().map(|&z| z * std32 + mean32).collect();
        let runner = Runner::new(self.model.clone(), cfg, None);
        let n = cfg.n_estimators;
        let seeds = if cfg.fit_mode == FitMode::LowMemory {
            low_memory_seeds(cfg.random_state, n, None).1
        } else {
            regressor_draws(cfg.random_state, n).member_seeds
        };
        let mut fitted = FittedRegressor {
            runner,
            target_name: None,
            config: cfg.clone(),
            encoded,
            y_z,
            constant,
            std_borders,
            raw_borders,
            seeds,
            members: Vec::new(),
        };
        if constant.is_none() && cfg.fit_mode != FitMode::LowMemory {
            fitted.members = fitted.fit_members(cfg.fit_mode == FitMode::FitWithCache)?;
        }
        Ok(fitted)
    }
}

/// A member's z-space borders and the buckets whose logits are cancelled.
type MemberBorders = (Vec<f32>, Option<Vec<bool>>);

/// What a saved regressor fit holds besides the encoded table and the caches.
#[derive(Serialize, Deserialize)]
struct SavedState {
    config: EstimatorConfig,
    #[serde(default)]
    target_name: Option<String>,
    encoder: TableEncoder,
    y_z: Vec<f64>,
    constant: Option<f64>,
    raw_borders: Vec<f32>,
    seeds: Vec<u64>,
}

/// A fitted member's target transform, kept next to it.
#[derive(Debug, Clone)]
struct RegressionMember {
    member: Member,
    target: Option<SafePower>,
}

/// A fitted regressor.
#[derive(Debug, Clone)]
pub struct FittedRegressor {
    runner: Runner,
    target_name: Option<String>,
    config: EstimatorConfig,
    encoded: Encoded,
    y_z: Vec<f64>,
    constant: Option<f64>,
    std_borders: Vec<f32>,
    raw_borders: Vec<f32>,
    seeds: Vec<u64>,
    members: Vec<RegressionMember>,
}

impl FittedRegressor {
    fn fit_members(&self, with_cache: bool) -> Result<Vec<RegressionMember>> {
        // Every safepower member fits the same transform on the same targets (the
        // reference re-fits one shared object): fit it once.
        let to_f32 = |y: &[f64]| -> Vec<f32> { y.iter().map(|&v| v as f32).collect() };
        let plain_y = to_f32(&self.y_z);
        let (power, power_y) = SafePower::fit_transform(&self.y_z);
        let power_y = to_f32(&power_y);
        let mut members = regressor_configs(self.config.n_estimators)
            .iter()
            .zip(&self.seeds)
            .map(|(&(config, uses_power), &seed)| {
                let (target, y) = if uses_power {
                    (Some(power), power_y.clone())
                } else {
                    (None, plain_y.clone())
                };
                let member = self.runner.fit_member(
                    config,
                    seed,
                    &self.encoded,
                    y,
                    self.config.fingerprint_feature,
                )?;
                Ok(RegressionMember { member, target })
            })
            .collect::<Result<Vec<_>>>()?;
        if with_cache {
            let mut refs: Vec<&mut Member> = members.iter_mut().map(|m| &mut m.member).collect();
            self.runner.build_caches(&mut refs)?;
        }
        Ok(members)
    }

    /// Saves the fitted regressor (encoded train table, encoder, standardised targets,
    /// seeds and, with `fit_with_cache`, each member's K/V cache) to one safetensors file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let state = SavedState {
            config: self.config.clone(),
            target_name: self.target_name.clone(),
            encoder: self.encoded.encoder.clone(),
            y_z: self.y_z.clone(),
            constant: self.constant,
            raw_borders: self.raw_borders.clone(),
            seeds: self.seeds.clone(),
        };
        let caches: Vec<Option<&TrainCache>> = self
            .members
            .iter()
            .map(|m| m.member.cache.as_ref())
            .collect();
        persist::save(
            path.as_ref(),
            "regressor",
            &self.runner.model,
            &state,
            &self.encoded.columns,
            self.encoded.rows,
            &caches,
        )
    }

    /// Loads a regressor saved by [`save`](Self::save); `model` must be the one it was
    /// fitted with (its configuration is checked).
    pub fn load(path: impl AsRef<Path>, model: Arc<PerFeatureTransformer>) -> Result<Self> {
        let loaded = persist::load::<SavedState>(path.as_ref(), "regressor", &model)?;
        let s = loaded.state;
        let std_borders = model
            .borders()
            .ok_or_else(|| input_err("model", "has no bar-distribution borders"))?
            .to_vec();
        let mut fitted = FittedRegressor {
            target_name: s.target_name,
            runner: Runner::new(model, &s.config, None),
            encoded: Encoded {
                encoder: s.encoder,
                columns: loaded.columns,
                rows: loaded.rows,
            },
            y_z: s.y_z,
            constant: s.constant,
            std_borders,
            raw_borders: s.raw_borders,
            seeds: s.seeds,
            members: Vec::new(),
            config: s.config,
        };
        if fitted.constant.is_none() && fitted.config.fit_mode != FitMode::LowMemory {
            fitted.members = fitted.fit_members(false)?;
            let mut plain: Vec<Member> = fitted.members.iter().map(|m| m.member.clone()).collect();
            attach_caches(&mut plain, loaded.caches, path.as_ref())?;
            for (m, p) in fitted.members.iter_mut().zip(plain) {
                m.member = p;
            }
        }
        Ok(fitted)
    }

    pub fn n_train(&self) -> usize {
        self.encoded.rows
    }

    pub fn n_features(&self) -> usize {
        self.encoded.encoder.feature_names().len()
    }

    pub fn feature_names(&self) -> &[String] {
        self.encoded.encoder.feature_names()
    }

    /// Names the target column (kept with a saved fit, for tools that read tables).
    pub fn set_target_name(&mut self, name: impl Into<String>) {
        self.target_name = Some(name.into());
    }

    /// The target column's name, if one was set.
    pub fn target_name(&self) -> Option<&str> {
        self.target_name.as_deref()
    }

    /// Whether each feature column was text at fit (else numeric).
    pub fn feature_is_text(&self) -> &[bool] {
        self.encoded.encoder.text_columns()
    }

    /// The estimator knobs this fit used.
    pub fn config(&self) -> &EstimatorConfig {
        &self.config
    }

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
        let cols = self.encoded.transform(x)?;
        let rows = x.rows();
        if let Some(c) = self.constant {
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
        let members = if self.members.is_empty() {
            std::borrow::Cow::Owned(self.fit_members(false)?)
        } else {
            std::borrow::Cow::Borrowed(&self.members[..])
        };
        let borders = self.member_borders(&members)?;
        let mut logits = Vec::with_capacity(rows * (self.std_borders.len() - 1));
        for range in batches(rows, self.config.batch_size) {
            let part = slice_rows(&cols, range.clone());
            let refs: Vec<&Member> = members.iter().map(|m| &m.member).collect();
            let member_logits =
                self.runner
                    .members_logits(&refs, &part, range.len(), &mut progress)?;
            logits.extend(self.final_logits(&member_logits, &borders)?);
        }
        outputs_from_logits(logits, self.raw_borders.clone(), rows, quantiles)
    }

    fn member_borders(&self, members: &[RegressionMember]) -> Result<Vec<MemberBorders>> {
        members
            .iter()
            .map(|m| member_borders(&self.std_borders, m.target.as_ref()))
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
        let k = self.std_borders.len() - 1;
        let t = self.config.softmax_temperature;
        let rebinned: Vec<Vec<f32>> = member_logits
            .iter()
            .zip(borders)
            .map(|(logits, (b, cancel))| {
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
                    out.extend(translate_probs(&l, b, &self.std_borders));
                }
                out
            })
            .collect();
        Ok(combine_regression(
            &rebinned,
            k,
            self.config.average_before_softmax,
        ))
    }

    /// Post-processing alone: every output type from each member's raw network logits
    /// (`[rows, K]`, in member order) — for custom runners and parity checks.
    pub fn outputs_from_member_logits(
        &self,
        member_logits: &[Logits],
        quantiles: &[f32],
    ) -> Result<RegressionOutput> {
        let borders = self.member_borders(&self.members)?;
        let logits = self.final_logits(member_logits, &borders)?;
        let rows = member_logits.first().map_or(0, |l| l.rows);
        outputs_from_logits(logits, self.raw_borders.clone(), rows, quantiles)
    }

    /// Mean prediction per row (the default output type).
    pub fn predict(&self, x: &DataFrame) -> Result<Vec<f32>> {
        Ok(self.predict_full(x, &[])?.mean)
    }

    /// The fitted members (empty in `low_memory` mode), for inspection.
    pub fn members(&self) -> Vec<MemberView<'_>> {
        self.members
            .iter()
            .map(|m| MemberView::new(&m.member, None))
            .collect()
    }

    /// Member `i`'s matrix for the rows of `x`.
    pub fn member_test_matrix(&self, i: usize, x: &DataFrame) -> Result<MemberMatrix> {
        let member = self
            .members
            .get(i)
            .ok_or_else(|| input_err("member", format!("index {i} out of range")))?;
        Ok(member
            .member
            .pipeline
            .transform(&self.encoded.transform(x)?, x.rows()))
    }

    /// Member `i`'s target transform λ, if it has one.
    pub fn member_target_lambda(&self, i: usize) -> Option<f64> {
        self.members.get(i)?.target.map(|t| t.power.lambda)
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
    out.logits = logits;
    Ok(out)
}
