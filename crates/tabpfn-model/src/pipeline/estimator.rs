//! What the classifier and the regressor share: knobs, input limits, the top-level
//! encoding, fitting the members and running the network on them.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;

use ndarray::Array2;

use super::encode::{CategoricalInference, TableEncoder};
use super::fitted::MemberSpec;
use super::frame::DataFrame;
use super::member::{FeatureOrder, MemberMatrix, MemberPipeline, MemberSteps, PreprocessorConfig};
use super::polynomial::PolynomialFeatures;
use super::power::SafePower;
use crate::cache::TrainCache;
use crate::error::{input_err, Result};
use crate::transformer::{ForwardOptions, Logits, PerFeatureTransformer, Table};

/// Layer-stack state (bytes) of the members that [`Runner::member_groups`] puts in one group:
/// five members of (1000 + 1000) rows × 30 features at E = 192. Beyond it a layer's steps
/// are long enough that their barriers cost little, and memory matters more.
pub(crate) const MEMBER_GROUP_BYTES: usize = 256 << 20;

/// How `fit` prepares the members (`fit_mode` of the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FitMode {
    /// Preprocess at fit; one full forward over [train; test] per member at predict.
    #[default]
    FitPreprocessors,
    /// Also cache each member's train-row K/V at fit; predict runs the test rows only.
    FitWithCache,
    /// Keep only the encoded table; redo the preprocessing at every predict, with the
    /// reference's `low_memory` seeds (which differ from the other modes).
    LowMemory,
}

impl std::str::FromStr for FitMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fit_preprocessors" => Ok(Self::FitPreprocessors),
            "fit_with_cache" => Ok(Self::FitWithCache),
            "low_memory" => Ok(Self::LowMemory),
            other => Err(format!(
                "unknown fit mode `{other}` (expected fit_preprocessors, fit_with_cache or low_memory)"
            )),
        }
    }
}

/// Soft outlier clipping inside the network (`OUTLIER_REMOVAL_STD`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum OutlierRemoval {
    /// 12 σ for the classifier, off for the regressor.
    #[default]
    Auto,
    Off,
    Std(f32),
}

/// Per-member row subsampling (`inference_config.SUBSAMPLE_SAMPLES` of 2.2.1): each
/// member's context is its own random subset of the training rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SubsampleSamples {
    /// `min(n, train rows)` rows per member.
    Count(usize),
    /// `int(f × train rows) + 1` rows per member, `0 < f < 1` (the reference adds 1).
    Fraction(f64),
}

impl SubsampleSamples {
    /// Rows each member sees out of `n_train`.
    pub fn rows(self, n_train: usize) -> usize {
        match self {
            Self::Count(k) => k.min(n_train),
            // truncation toward zero, as Python's int(); f < 1 keeps it below n_train
            Self::Fraction(f) => ((f * n_train as f64) as usize + 1).min(n_train),
        }
    }

    fn validate(self) -> Result<()> {
        match self {
            Self::Count(0) => Err(input_err(
                "subsample_samples",
                "must be at least 1 row (or a fraction between 0 and 1)",
            )),
            Self::Fraction(f) if !(f > 0.0 && f < 1.0) => Err(input_err(
                "subsample_samples",
                format!("a fraction must lie strictly between 0 and 1, got {f}"),
            )),
            _ => Ok(()),
        }
    }
}

impl std::str::FromStr for SubsampleSamples {
    type Err = String;

    /// `"5000"` is a row count, `"0.25"` a fraction of the training rows.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim();
        if let Ok(k) = t.parse::<usize>() {
            if k >= 1 {
                return Ok(Self::Count(k));
            }
        }
        match t.parse::<f64>() {
            Ok(f) if f > 0.0 && f < 1.0 => Ok(Self::Fraction(f)),
            _ => Err(format!(
                "`{s}` is neither a row count (an integer ≥ 1) nor a fraction strictly between 0 and 1"
            )),
        }
    }
}

/// `FEATURE_SHIFT_METHOD` / `CLASS_SHIFT_METHOD`: how members vary the order of the
/// features (their columns) or of the classes (their labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ShiftMethod {
    /// `"shuffle"`: a random permutation per member.
    #[default]
    Shuffle,
    /// `"rotate"`: a cyclic shift per member.
    Rotate,
    /// `None`: the original order.
    Identity,
}

/// One entry of `REGRESSION_Y_PREPROCESS_TRANSFORMS`: what a regressor member's targets
/// go through before the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetTransform {
    /// `None`: the z-scored targets as they are.
    None,
    /// `"safepower"`: Yeo-Johnson + standardisation, inverted on the bar borders.
    SafePower,
}

fn default_y_transforms() -> Vec<TargetTransform> {
    vec![TargetTransform::None, TargetTransform::SafePower]
}
fn default_max_classes() -> usize {
    MAX_CLASSES
}
fn default_max_features() -> usize {
    MAX_FEATURES
}
fn default_max_samples() -> usize {
    MAX_SAMPLES
}
fn default_true() -> bool {
    true
}

/// The estimator knobs of the reference (defaults of 2.2.1). The `inference_config` keys
/// map onto these fields as [`super::inference_config`] describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimatorConfig {
    pub n_estimators: usize,
    pub softmax_temperature: f32,
    pub average_before_softmax: bool,
    /// Classifier only: divide by the train class prior and renormalise.
    pub balance_probabilities: bool,
    pub random_state: u64,
    /// Columns the user declares categorical (kept iff ≤ 30 distinct values).
    pub categorical_features_indices: Option<Vec<usize>>,
    pub fit_mode: FitMode,
    /// Lifts the 500-feature and 10 000-sample limits (never the 10-class limit).
    pub ignore_pretraining_limits: bool,
    pub categorical_inference: CategoricalInference,
    pub outlier_removal: OutlierRemoval,
    pub fingerprint_feature: bool,
    /// Test rows per network call (`None`: all at once). Test rows are independent, so
    /// this bounds memory without changing results beyond float noise.
    pub batch_size: Option<usize>,
    /// Attention query chunk inside the network (memory bound, same result).
    pub query_chunk: Option<usize>,
    /// Every test row's prediction depends on that row and the fit alone, bit for bit,
    /// whatever other rows are predicted with it (batches, partitions): the network's
    /// constant-column masks and used-feature counts come from the train rows only, as in
    /// `fit_with_cache`. Off (the reference's `fit_preprocessors` / `low_memory`), the test
    /// rows of a call take part in them (docs/large-data.md measures the difference).
    #[serde(default)]
    pub row_independent: bool,
    /// Per-member row subsampling (`None`: every member sees every training row). The
    /// 10 000-row pretraining limit applies to the rows a member sees.
    #[serde(default)]
    pub subsample_samples: Option<SubsampleSamples>,
    /// `FEATURE_SHIFT_METHOD`.
    #[serde(default)]
    pub feature_shift: ShiftMethod,
    /// `CLASS_SHIFT_METHOD` (classifier only).
    #[serde(default)]
    pub class_shift: ShiftMethod,
    /// `PREPROCESS_TRANSFORMS`: the member configs, balanced over the members (`None`:
    /// the task's default pair).
    #[serde(default)]
    pub preprocess_transforms: Option<Vec<PreprocessorConfig>>,
    /// `REGRESSION_Y_PREPROCESS_TRANSFORMS` (regressor only), crossed with the member
    /// configs.
    #[serde(default = "default_y_transforms")]
    pub regression_y_transforms: Vec<TargetTransform>,
    /// `USE_SKLEARN_16_DECIMAL_PRECISION`: probabilities rounded to 16 decimals (and
    /// below 1e-16 set to 0) before the final renormalisation.
    #[serde(default)]
    pub sklearn_16_decimal_precision: bool,
    /// `FIX_NAN_BORDERS_AFTER_TARGET_TRANSFORM`: bar borders that a target transform's
    /// inverse maps to NaN/±inf (or beyond ±1e3 … the reference's limits) are repaired and
    /// their buckets cancelled.
    #[serde(default = "default_true")]
    pub fix_nan_borders: bool,
    /// `POLYNOMIAL_FEATURES`.
    #[serde(default)]
    pub polynomial_features: PolynomialFeatures,
    /// `MAX_NUMBER_OF_CLASSES` (never above the model's outputs).
    #[serde(default = "default_max_classes")]
    pub max_classes: usize,
    /// `MAX_NUMBER_OF_FEATURES`: wider tables are subsampled per member to this many
    /// features, unless `ignore_pretraining_limits` (then every member sees all).
    #[serde(default = "default_max_features")]
    pub max_features: usize,
    /// `MAX_NUMBER_OF_SAMPLES`: the most training rows a member may see, unless
    /// `ignore_pretraining_limits`.
    #[serde(default = "default_max_samples")]
    pub max_samples: usize,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        Self {
            n_estimators: 8,
            softmax_temperature: 0.9,
            average_before_softmax: false,
            balance_probabilities: false,
            random_state: 0,
            categorical_features_indices: None,
            fit_mode: FitMode::FitPreprocessors,
            ignore_pretraining_limits: false,
            categorical_inference: CategoricalInference::default(),
            outlier_removal: OutlierRemoval::Auto,
            fingerprint_feature: true,
            batch_size: None,
            query_chunk: None,
            row_independent: false,
            subsample_samples: None,
            feature_shift: ShiftMethod::Shuffle,
            class_shift: ShiftMethod::Shuffle,
            preprocess_transforms: None,
            regression_y_transforms: default_y_transforms(),
            sklearn_16_decimal_precision: false,
            fix_nan_borders: true,
            polynomial_features: PolynomialFeatures::No,
            max_classes: MAX_CLASSES,
            max_features: MAX_FEATURES,
            max_samples: MAX_SAMPLES,
        }
    }
}

pub(crate) const MAX_FEATURES: usize = 500;
pub(crate) const MAX_SAMPLES: usize = 10_000;
pub(crate) const MAX_CLASSES: usize = 10;

/// The most ensemble members a configuration may ask for: far beyond any useful ensemble
/// (the reference's default is 8), and it bounds what a saved fit may claim.
pub const MAX_ESTIMATORS: usize = 10_000;

impl EstimatorConfig {
    /// Checks every knob's value; the estimators call it in `new`, saved fits at load.
    pub fn validate(&self) -> Result<()> {
        if self.n_estimators == 0 || self.n_estimators > MAX_ESTIMATORS {
            return Err(input_err(
                "n_estimators",
                format!(
                    "must be between 1 and {MAX_ESTIMATORS}, got {}",
                    self.n_estimators
                ),
            ));
        }
        if !(self.softmax_temperature > 0.0 && self.softmax_temperature.is_finite()) {
            return Err(input_err(
                "softmax_temperature",
                format!(
                    "must be a positive number, got {}",
                    self.softmax_temperature
                ),
            ));
        }
        if let OutlierRemoval::Std(s) = self.outlier_removal {
            if !(s > 0.0 && s.is_finite()) {
                return Err(input_err(
                    "outlier_removal",
                    format!("must be a positive number of standard deviations, got {s}"),
                ));
            }
        }
        if self.batch_size == Some(0) {
            return Err(input_err("batch_size", "must be at least 1"));
        }
        if self.query_chunk == Some(0) {
            return Err(input_err("query_chunk", "must be at least 1"));
        }
        if let Some(s) = self.subsample_samples {
            s.validate()?;
        }
        if let Some(list) = &self.preprocess_transforms {
            if list.is_empty() {
                return Err(input_err(
                    "PREPROCESS_TRANSFORMS",
                    "is an empty list; give at least one preprocessor config",
                ));
            }
            for (i, c) in list.iter().enumerate() {
                if let Some(f) = c.subsample_features {
                    if !(f > 0.0 && f.is_finite() && f <= MAX_FEATURE_FRACTION) {
                        return Err(input_err(
                            "PREPROCESS_TRANSFORMS",
                            format!(
                                "entry {i}: subsample_features must be a fraction above 0 \
                                 (at most {MAX_FEATURE_FRACTION}), or -1 for all features; got {f}"
                            ),
                        ));
                    }
                }
            }
        }
        if self.regression_y_transforms.is_empty() {
            return Err(input_err(
                "REGRESSION_Y_PREPROCESS_TRANSFORMS",
                "is empty; give at least one target transform (None or \"safepower\")",
            ));
        }
        for (key, v) in [
            ("MAX_NUMBER_OF_CLASSES", self.max_classes),
            ("MAX_NUMBER_OF_FEATURES", self.max_features),
            ("MAX_NUMBER_OF_SAMPLES", self.max_samples),
        ] {
            if v == 0 {
                return Err(input_err(key, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The member configs before balancing: `PREPROCESS_TRANSFORMS` or `default`.
    pub(crate) fn member_configs<'a>(
        &'a self,
        default: &'a [PreprocessorConfig],
    ) -> &'a [PreprocessorConfig] {
        self.preprocess_transforms.as_deref().unwrap_or(default)
    }

    /// How many features each member sees of a table with `n_features` (after its
    /// constant columns are dropped) when that is fewer than all: above
    /// `max_features`, unless `ignore_pretraining_limits` is set.
    pub fn member_feature_limit(&self, n_features: usize) -> Option<usize> {
        self.member_feature_cap().filter(|&m| n_features > m)
    }

    /// The most features a member sees: `max_features`, none with
    /// `ignore_pretraining_limits`.
    fn member_feature_cap(&self) -> Option<usize> {
        (!self.ignore_pretraining_limits).then_some(self.max_features)
    }
}

/// `subsample_features` above this would draw more than a hundred times the features
/// (with replacement): far beyond anything useful, and it bounds the member's width.
pub const MAX_FEATURE_FRACTION: f64 = 100.0;

/// Shape checks of `fit` (`validate_Xy_fit` and the pretraining limits).
pub(crate) fn check_fit_shape(
    x: &DataFrame,
    n_targets: usize,
    cfg: &EstimatorConfig,
) -> Result<()> {
    cfg.validate()?;
    if x.n_columns() == 0 {
        return Err(input_err(
            "X",
            "has no feature columns; at least 1 is required",
        ));
    }
    if x.rows() < 2 {
        return Err(input_err(
            "X",
            format!("has {} training rows; at least 2 are required", x.rows()),
        ));
    }
    if n_targets != x.rows() {
        return Err(input_err(
            "y",
            format!("has {n_targets} values but X has {} rows", x.rows()),
        ));
    }
    // wider tables than `max_features` are subsampled per member (MemberSteps), not refused
    if !cfg.ignore_pretraining_limits {
        // the limit is on a member's context, which subsampling shrinks
        let seen = cfg.subsample_samples.map_or(x.rows(), |s| s.rows(x.rows()));
        let max = cfg.max_samples;
        if seen > max {
            return Err(input_err(
                "X",
                format!(
                    "has {} training rows{}; TabPFN v2 was pretrained on at most {max} \
                     (subsample them per member with subsample_samples, or set \
                     ignore_pretraining_limits to run anyway)",
                    x.rows(),
                    if seen < x.rows() {
                        format!(" ({seen} per member)")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// Column-major copy of an encoded matrix.
pub(crate) fn columns_of(x: &Array2<f64>) -> Vec<Vec<f64>> {
    (0..x.ncols()).map(|j| x.column(j).to_vec()).collect()
}

/// A fitted member: its pipeline, train matrix, targets and (optionally) K/V cache.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub config: PreprocessorConfig,
    pub seed: u64,
    pub pipeline: MemberPipeline,
    pub x_train: MemberMatrix,
    pub y_train: Vec<f32>,
    /// Regression: the member's target transform (its outputs are mapped back through it).
    pub target: Option<SafePower>,
    /// Classification: the member's permutation of the class indices.
    pub class_permutation: Option<Vec<usize>>,
    pub cache: Option<TrainCache>,
}

/// The network side of an ensemble: model, options, and how members are run.
#[derive(Debug, Clone)]
pub(crate) struct Runner {
    pub model: Arc<PerFeatureTransformer>,
    pub options: ForwardOptions,
}

impl Runner {
    /// The runner for `cfg`; `auto_outlier_std` is what `OutlierRemoval::Auto` means for
    /// the task (12 σ for the classifier, off for the regressor).
    pub fn new(
        model: Arc<PerFeatureTransformer>,
        cfg: &EstimatorConfig,
        auto_outlier_std: Option<f32>,
    ) -> Self {
        let remove_outliers_std = match cfg.outlier_removal {
            OutlierRemoval::Auto => auto_outlier_std,
            OutlierRemoval::Off => None,
            OutlierRemoval::Std(s) => Some(s),
        };
        Self {
            model,
            options: ForwardOptions {
                remove_outliers_std,
                query_chunk: cfg.query_chunk,
                train_only_statistics: cfg.row_independent,
            },
        }
    }

    /// Fits one member's preprocessing on the encoded train columns (no K/V cache yet:
    /// [`Self::build_caches`]).
    /// `shift` is the member's drawn feature shift count (for `FEATURE_SHIFT_METHOD`
    /// "rotate").
    pub fn fit_member(
        &self,
        spec: MemberSpec,
        seed: u64,
        shift: i64,
        train: &Encoded,
        cfg: &EstimatorConfig,
    ) -> Result<Member> {
        let steps = MemberSteps {
            fingerprint: cfg.fingerprint_feature,
            order: match cfg.feature_shift {
                ShiftMethod::Shuffle => FeatureOrder::Shuffle,
                ShiftMethod::Rotate => FeatureOrder::Rotate(shift),
                ShiftMethod::Identity => FeatureOrder::Keep,
            },
            max_features: cfg.member_feature_cap(),
            polynomial: cfg.polynomial_features,
        };
        // the reference gathers a subsampled member's rows in draw order (not sorted)
        let gathered;
        let (columns, rows) = match &spec.rows {
            Some(idx) => {
                gathered = gather_rows(&train.columns, idx);
                (&gathered, idx.len())
            }
            None => (&train.columns, train.rows),
        };
        let (pipeline, x_train) = MemberPipeline::fit_transform(
            &spec.config,
            columns,
            rows,
            train.categorical(),
            seed,
            steps,
        )?;
        Ok(Member {
            config: spec.config,
            seed,
            pipeline,
            x_train,
            y_train: spec.y_train,
            target: spec.target,
            class_permutation: spec.class_permutation,
            cache: None,
        })
    }

    /// Runs each member's train rows through the network once and keeps their K/V
    /// (`fit_with_cache`); small members several at once, as in [`Self::members_logits`].
    pub fn build_caches(&self, members: &mut [&mut Member]) -> Result<()> {
        let groups = {
            let shared: Vec<&Member> = members.iter().map(|m| &**m).collect();
            self.member_groups(&shared, 0)
        };
        for g in groups {
            members[g].par_iter_mut().try_for_each(|m| -> Result<()> {
                let xf = m.x_train.to_f32_rows();
                let table = Table::new(&xf, m.x_train.rows, m.x_train.n_columns())?;
                m.cache = Some(self.model.fit_cache(table, &m.y_train, self.options)?);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Consecutive runs of members to put through the network at once (with `test_rows`
    /// test rows each): while their layer-stack states (`rows × (features + 1) × E`
    /// floats, the feature count bounding the tokens) together stay within
    /// [`MEMBER_GROUP_BYTES`]; one member per run on a single thread.
    ///
    /// Why: a member's layer is a chain of short parallel steps (projections, attention
    /// blocks, LayerNorm), and at the end of each one thread spins while another finishes;
    /// with other members in flight it takes their work instead (−15 % wall time at
    /// 8 × (1000, 1000, 10) on 2 threads). Large tables keep one member at a time.
    fn member_groups(&self, members: &[&Member], test_rows: usize) -> Vec<Range<usize>> {
        let e = self.model.config().emsize;
        let state = |m: &Member| {
            (m.x_train.rows + test_rows)
                * (m.x_train.n_columns() + 1)
                * e
                * std::mem::size_of::<f32>()
        };
        let budget = if rayon::current_num_threads() > 1 {
            MEMBER_GROUP_BYTES
        } else {
            0
        };
        let mut groups = Vec::new();
        let mut i = 0;
        while i < members.len() {
            let (mut j, mut bytes) = (i + 1, state(members[i]));
            while j < members.len() && bytes + state(members[j]) <= budget {
                bytes += state(members[j]);
                j += 1;
            }
            groups.push(i..j);
            i = j;
        }
        groups
    }

    /// Raw network logits `[rows, n_out]` of the member for encoded test columns.
    pub fn member_logits(
        &self,
        member: &Member,
        x_test: &[Vec<f64>],
        rows: usize,
    ) -> Result<Logits> {
        let test = member.pipeline.transform(x_test, rows);
        self.logits_for(member, &test)
    }

    /// Every member's raw logits `[rows, n_out]` for the same encoded test columns, in
    /// member order, calling `progress(rows)` after each member. Small members run
    /// several at once ([`Self::member_groups`]).
    pub fn members_logits(
        &self,
        members: &[&Member],
        x_test: &[Vec<f64>],
        rows: usize,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Logits>> {
        let mut out = Vec::with_capacity(members.len());
        for g in self.member_groups(members, rows) {
            let logits: Vec<Result<Logits>> = members[g]
                .par_iter()
                .map(|m| self.member_logits(m, x_test, rows))
                .collect();
            for l in logits {
                out.push(l?);
                progress(rows);
            }
        }
        Ok(out)
    }

    /// Runs the network on a member's train rows and the given transformed test rows.
    pub fn logits_for(&self, member: &Member, test: &MemberMatrix) -> Result<Logits> {
        let cols = member.x_train.n_columns();
        if let Some(cache) = &member.cache {
            let xt = test.to_f32_rows();
            return self.model.predict_cached(
                cache,
                Table::new(&xt, test.rows, cols)?,
                self.options.query_chunk,
            );
        }
        let n = member.x_train.rows;
        let mut x = member.x_train.to_f32_rows();
        x.extend(test.to_f32_rows());
        self.model.forward(
            Table::new(&x, n + test.rows, cols)?,
            &member.y_train,
            self.options,
        )
    }
}

/// The fitted top-level encoding plus what predict needs to re-encode test tables.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub encoder: TableEncoder,
    pub columns: Vec<Vec<f64>>,
    pub rows: usize,
}

impl Encoded {
    pub fn fit(x: &DataFrame, cfg: &EstimatorConfig) -> Result<Self> {
        let encoder = TableEncoder::fit(
            x,
            cfg.categorical_features_indices.as_deref(),
            &cfg.categorical_inference,
        )?;
        let m = encoder.transform(x)?;
        Ok(Self {
            encoder,
            columns: columns_of(&m),
            rows: x.rows(),
        })
    }

    pub fn transform(&self, x: &DataFrame) -> Result<Vec<Vec<f64>>> {
        Ok(columns_of(&self.encoder.transform(x)?))
    }

    pub fn categorical(&self) -> &[usize] {
        self.encoder.categorical()
    }
}

/// Splits `0..rows` into batches of `batch` rows (all at once when `None`).
pub(crate) fn batches(rows: usize, batch: Option<usize>) -> Vec<std::ops::Range<usize>> {
    let b = batch.unwrap_or(rows).max(1);
    (0..rows.div_ceil(b).max(1))
        .map(|i| i * b..((i + 1) * b).min(rows))
        .collect()
}

/// Rows `idx` (in that order) of column-major data.
pub(crate) fn gather_rows(columns: &[Vec<f64>], idx: &[usize]) -> Vec<Vec<f64>> {
    columns
        .iter()
        .map(|c| idx.iter().map(|&r| c[r]).collect())
        .collect()
}

/// Rows `range` of column-major data.
pub(crate) fn slice_rows(columns: &[Vec<f64>], range: std::ops::Range<usize>) -> Vec<Vec<f64>> {
    columns.iter().map(|c| c[range.clone()].to_vec()).collect()
}
