//! `TabPFNClassifier` of 2.2.1: fit → predict_proba / predict.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::encode::TableEncoder;
use super::ensemble::{classifier_configs, classifier_draws, low_memory_seeds};
use super::estimator::{
    attach_caches, batches, check_fit_shape, slice_rows, Encoded, EstimatorConfig, FitMode, Member,
    Runner, MAX_CLASSES,
};
use super::frame::{ClassLabel, DataFrame, Target};
use super::member::MemberMatrix;
use super::postprocess::{combine_class_logits, mean_class_logits, unpermute_classes};
use super::{persist, MemberView};
use crate::cache::TrainCache;
use crate::config::Task;
use crate::error::{input_err, Result};
use crate::transformer::{Logits, PerFeatureTransformer};

/// A TabPFN classifier: a loaded classification network and the estimator knobs.
#[derive(Debug, Clone)]
pub struct TabPFNClassifier {
    model: Arc<PerFeatureTransformer>,
    config: EstimatorConfig,
}

/// Per-class probabilities `[rows, classes]`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Probabilities {
    pub rows: usize,
    pub classes: usize,
    pub data: Vec<f32>,
}

impl Probabilities {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.classes..(i + 1) * self.classes]
    }
}

/// Sorted class labels and each train row's class index (`LabelEncoder`).
fn encode_labels(y: &Target) -> Result<(Vec<ClassLabel>, Vec<usize>)> {
    match y {
        Target::Numeric(v) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(input_err(
                    "y",
                    format!("row {i} is {}; class labels must be finite", v[i]),
                ));
            }
            let mut classes = v.clone();
            classes.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
            classes.dedup();
            let idx = v
                .iter()
                .map(|x| classes.iter().position(|c| c == x).expect("present"))
                .collect();
            Ok((classes.into_iter().map(ClassLabel::Numeric).collect(), idx))
        }
        Target::Text(v) => {
            let mut classes = v.clone();
            classes.sort_unstable();
            classes.dedup();
            let idx = v
                .iter()
                .map(|x| classes.binary_search(x).expect("present"))
                .collect();
            Ok((classes.into_iter().map(ClassLabel::Text).collect(), idx))
        }
    }
}

impl TabPFNClassifier {
    /// Checks that the model is a classifier.
    pub fn new(model: Arc<PerFeatureTransformer>, config: EstimatorConfig) -> Result<Self> {
        if model.task() != Task::Classification {
            return Err(input_err(
                "model",
                "is a regression checkpoint; TabPFNClassifier needs a classifier",
            ));
        }
        Ok(Self { model, config })
    }

    pub fn config(&self) -> &EstimatorConfig {
        &self.config
    }

    /// Fits the ensemble on `x` (train table) and `y` (one label per row).
    pub fn fit(&self, x: &DataFrame, y: &Target) -> Result<FittedClassifier> {
        let cfg = &self.config;
        check_fit_shape(x, y.len(), cfg)?;
        let (classes, y_idx) = encode_labels(y)?;
        let n_classes = classes.len();
        let n_out = self.model.config().n_out();
        if n_classes > MAX_CLASSES || n_classes > n_out {
            return Err(input_err(
                "y",
                format!(
                    "has {n_classes} classes; TabPFN supports at most {}",
                    MAX_CLASSES.min(n_out)
                ),
            ));
        }
        let mut class_counts = vec![0usize; n_classes];
        for &c in &y_idx {
            class_counts[c] += 1;
        }
        let encoded = Encoded::fit(x, cfg)?;
        let n = cfg.n_estimators;
        let (perms, seeds) = if cfg.fit_mode == FitMode::LowMemory {
            let (p, s) = low_memory_seeds(cfg.random_state, n, Some(n_classes));
            (p.expect("classifier draws class permutations"), s)
        } else {
            let d = classifier_draws(cfg.random_state, n, n_classes);
            (d.class_permutations.expect("classifier"), d.member_seeds)
        };
        let runner = Runner::new(self.model.clone(), cfg, Some(12.0));
        let mut fitted = FittedClassifier {
            runner,
            target_name: None,
            config: cfg.clone(),
            encoded,
            classes,
            class_counts,
            y_idx,
            seeds,
            perms,
            members: Vec::new(),
        };
        if cfg.fit_mode != FitMode::LowMemory {
            fitted.members = fitted.fit_members(cfg.fit_mode == FitMode::FitWithCache)?;
        }
        Ok(fitted)
    }
}

/// What a saved classifier fit holds besides the encoded table and the caches.
#[derive(Serialize, Deserialize)]
struct SavedState {
    config: EstimatorConfig,
    #[serde(default)]
    target_name: Option<String>,
    encoder: TableEncoder,
    classes: Vec<ClassLabel>,
    class_counts: Vec<usize>,
    y_idx: Vec<usize>,
    seeds: Vec<u64>,
    perms: Vec<Vec<usize>>,
}

/// A fitted classifier: the encoders, the members and the network.
#[derive(Debug, Clone)]
pub struct FittedClassifier {
    runner: Runner,
    target_name: Option<String>,
    config: EstimatorConfig,
    encoded: Encoded,
    classes: Vec<ClassLabel>,
    class_counts: Vec<usize>,
    y_idx: Vec<usize>,
    seeds: Vec<u64>,
    perms: Vec<Vec<usize>>,
    members: Vec<Member>,
}

impl FittedClassifier {
    fn fit_members(&self, with_cache: bool) -> Result<Vec<Member>> {
        let configs = classifier_configs(self.config.n_estimators);
        let mut members = configs
            .iter()
            .zip(&self.seeds)
            .zip(&self.perms)
            .map(|((&config, &seed), perm)| {
                let y: Vec<f32> = self.y_idx.iter().map(|&c| perm[c] as f32).collect();
                self.runner.fit_member(
                    config,
                    seed,
                    &self.encoded,
                    y,
                    self.config.fingerprint_feature,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        if with_cache {
            let mut refs: Vec<&mut Member> = members.iter_mut().collect();
            self.runner.build_caches(&mut refs)?;
        }
        Ok(members)
    }

    /// Saves the fitted classifier (encoded train table, encoder, labels, seeds and, with
    /// `fit_with_cache`, each member's K/V cache) to one safetensors file, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let state = SavedState {
            config: self.config.clone(),
            target_name: self.target_name.clone(),
            encoder: self.encoded.encoder.clone(),
            classes: self.classes.clone(),
            class_counts: self.class_counts.clone(),
            y_idx: self.y_idx.clone(),
            seeds: self.seeds.clone(),
            perms: self.perms.clone(),
        };
        let caches: Vec<Option<&TrainCache>> =
            self.members.iter().map(|m| m.cache.as_ref()).collect();
        persist::save(
            path.as_ref(),
            "classifier",
            &self.runner.model,
            &state,
            &self.encoded.columns,
            self.encoded.rows,
            &caches,
        )
    }

    /// Loads a classifier saved by [`save`](Self::save); `model` must be the one it was
    /// fitted with (its configuration is checked).
    pub fn load(path: impl AsRef<Path>, model: Arc<PerFeatureTransformer>) -> Result<Self> {
        let loaded = persist::load::<SavedState>(path.as_ref(), "classifier", &model)?;
        let s = loaded.state;
        let runner = Runner::new(model, &s.config, Some(12.0));
        let mut fitted = FittedClassifier {
            runner,
            target_name: s.target_name,
            encoded: Encoded {
                encoder: s.encoder,
                columns: loaded.columns,
                rows: loaded.rows,
            },
            classes: s.classes,
            class_counts: s.class_counts,
            y_idx: s.y_idx,
            seeds: s.seeds,
            perms: s.perms,
            members: Vec::new(),
            config: s.config,
        };
        if fitted.config.fit_mode != FitMode::LowMemory {
            fitted.members = fitted.fit_members(false)?;
            attach_caches(&mut fitted.members, loaded.caches, path.as_ref())?;
        }
        Ok(fitted)
    }

    /// Class labels in probability-column order (sorted).
    pub fn classes(&self) -> &[ClassLabel] {
        &self.classes
    }

    /// Train rows per class.
    pub fn class_counts(&self) -> &[usize] {
        &self.class_counts
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

    fn members_for_predict(&self) -> Result<std::borrow::Cow<'_, [Member]>> {
        if self.members.is_empty() {
            Ok(std::borrow::Cow::Owned(self.fit_members(false)?))
        } else {
            Ok(std::borrow::Cow::Borrowed(&self.members))
        }
    }

    /// Runs every member on the rows of `x` batch by batch and reduces each batch's raw
    /// member logits with `reduce`.
    fn run(
        &self,
        x: &DataFrame,
        mut progress: impl FnMut(usize),
        reduce: impl Fn(&Self, &[Logits]) -> Result<Vec<f32>>,
    ) -> Result<Vec<f32>> {
        let cols = self.encoded.transform(x)?;
        let members = self.members_for_predict()?;
        let mut out = Vec::with_capacity(x.rows() * self.classes.len());
        for range in batches(x.rows(), self.config.batch_size) {
            let part = slice_rows(&cols, range.clone());
            let refs: Vec<&Member> = members.iter().collect();
            let logits = self
                .runner
                .members_logits(&refs, &part, range.len(), &mut progress)?;
            out.extend(reduce(self, &logits)?);
        }
        Ok(out)
    }

    fn unpermuted(&self, logits: &[Logits]) -> Result<Vec<Vec<f32>>> {
        if logits.len() != self.perms.len() {
            return Err(input_err(
                "member logits",
                format!("{} given for {} members", logits.len(), self.perms.len()),
            ));
        }
        Ok(logits
            .iter()
            .zip(&self.perms)
            .map(|(l, p)| unpermute_classes(l, Some(p), self.classes.len()))
            .collect())
    }

    /// Post-processing alone: class probabilities from each member's raw network logits
    /// (`[rows, n_out]`, in member order) — for custom runners and parity checks.
    pub fn proba_from_member_logits(&self, logits: &[Logits]) -> Result<Probabilities> {
        let members = self.unpermuted(logits)?;
        let rows = logits.first().map_or(0, |l| l.rows);
        let c = self.classes.len();
        let data = combine_class_logits(
            &members,
            rows,
            c,
            self.config.softmax_temperature,
            self.config.average_before_softmax,
            self.config
                .balance_probabilities
                .then_some(&self.class_counts[..]),
        );
        Ok(Probabilities {
            rows,
            classes: c,
            data,
        })
    }

    /// Class probabilities `[rows, classes]`.
    pub fn predict_proba(&self, x: &DataFrame) -> Result<Probabilities> {
        self.predict_proba_with_progress(x, |_| {})
    }

    /// [`predict_proba`](Self::predict_proba), calling `progress(rows)` after each
    /// member × batch of test rows.
    pub fn predict_proba_with_progress(
        &self,
        x: &DataFrame,
        progress: impl FnMut(usize),
    ) -> Result<Probabilities> {
        let data = self.run(x, progress, |s, l| {
            s.proba_from_member_logits(l).map(|p| p.data)
        })?;
        Ok(Probabilities {
            rows: x.rows(),
            classes: self.classes.len(),
            data,
        })
    }

    /// Mean member logits after temperature, `[rows, classes]` (`predict_logits`).
    pub fn predict_logits(&self, x: &DataFrame) -> Result<Probabilities> {
        let data = self.run(
            x,
            |_| {},
            |s, l| {
                s.unpermuted(l)
                    .map(|m| mean_class_logits(&m, s.config.softmax_temperature))
            },
        )?;
        Ok(Probabilities {
            rows: x.rows(),
            classes: self.classes.len(),
            data,
        })
    }

    /// The most probable class of each row.
    pub fn predict(&self, x: &DataFrame) -> Result<Vec<ClassLabel>> {
        let p = self.predict_proba(x)?;
        Ok(argmax_labels(&p, &self.classes))
    }

    /// The fitted members (empty in `low_memory` mode until predict), for inspection.
    pub fn members(&self) -> Vec<MemberView<'_>> {
        self.members
            .iter()
            .zip(&self.perms)
            .map(|(m, p)| MemberView::new(m, Some(p)))
            .collect()
    }

    /// Member `i`'s matrix for the rows of `x` (what the network sees after the train rows).
    pub fn member_test_matrix(&self, i: usize, x: &DataFrame) -> Result<MemberMatrix> {
        let member = self
            .members
            .get(i)
            .ok_or_else(|| input_err("member", format!("index {i} out of range")))?;
        Ok(member
            .pipeline
            .transform(&self.encoded.transform(x)?, x.rows()))
    }
}

/// Label of the largest probability of each row (first on ties, like `argmax`).
pub fn argmax_labels(p: &Probabilities, classes: &[ClassLabel]) -> Vec<ClassLabel> {
    (0..p.rows)
        .map(|i| {
            let row = p.row(i);
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            classes[best].clone()
        })
        .collect()
}
