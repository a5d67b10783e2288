//! `TabPFNClassifier` of 2.2.1: fit → predict_proba / predict.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ensemble::{classifier_configs, classifier_draws, low_memory_seeds, CLASSIFIER_CONFIGS};
use super::estimator::{check_fit_shape, Encoded, EstimatorConfig, FitMode, Runner};
use super::fitted::FittedEstimator;
use super::fitted::{Fitted, FittedEnsemble, Head, HeadImpl, MemberSpec};
use super::frame::{ClassLabel, DataFrame, Target};
use super::many_class::{fit_many_class, ManyClassConfig};
use super::postprocess::{combine_class_logits, mean_class_logits, unpermute_classes};
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
    /// Row `i`'s probabilities (one per class, in [`Fitted::classes`] order).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.classes..(i + 1) * self.classes]
    }
}

/// Sorted class labels and each train row's class index (`LabelEncoder`).
pub(crate) fn encode_labels(y: &Target) -> Result<(Vec<ClassLabel>, Vec<usize>)> {
    match y {
        Target::Numeric(v) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(input_err(
                    "y",
                    format!("row {i} is {}; class labels must be finite", v[i]),
                ));
            }
            let mut classes = v.clone();
            classes.sort_by(f64::total_cmp);
            classes.dedup();
            let idx = v
                .iter()
                .map(|x| classes.partition_point(|c| c < x))
                .collect();
            Ok((classes.into_iter().map(ClassLabel::Numeric).collect(), idx))
        }
        Target::Text(v) => {
            let mut classes = v.clone();
            classes.sort_unstable();
            classes.dedup();
            let idx = v
                .iter()
                .map(|x| classes.partition_point(|c| c < x))
                .collect();
            Ok((classes.into_iter().map(ClassLabel::Text).collect(), idx))
        }
    }
}

impl TabPFNClassifier {
    /// Checks that the model is a classifier and that every knob of `config` is valid.
    pub fn new(model: Arc<PerFeatureTransformer>, config: EstimatorConfig) -> Result<Self> {
        if model.task() != Task::Classification {
            return Err(input_err(
                "model",
                "is a regression checkpoint; TabPFNClassifier needs a classifier",
            ));
        }
        config.validate()?;
        Ok(Self { model, config })
    }

    /// The estimator knobs.
    pub fn config(&self) -> &EstimatorConfig {
        &self.config
    }

    /// Fits on `x` and `y` whatever the number of classes: a plain ensemble up to the
    /// model's class limit, above it the many-class output code with `many`'s knobs
    /// ([`FittedEstimator::ManyClass`]; front ends say so).
    pub fn fit_estimator(
        &self,
        x: &DataFrame,
        y: &Target,
        many: &ManyClassConfig,
    ) -> Result<FittedEstimator> {
        let (classes, _) = encode_labels(y)?;
        if classes.len() > self.class_limit() {
            return Ok(FittedEstimator::ManyClass(fit_many_class(
                self.model.clone(),
                &self.config,
                many,
                x,
                y,
            )?));
        }
        Ok(FittedEstimator::Classifier(self.fit(x, y)?))
    }

    /// The most classes one ensemble handles: `MAX_NUMBER_OF_CLASSES`, at most the
    /// model's outputs.
    pub fn class_limit(&self) -> usize {
        self.config.max_classes.min(self.model.config().n_out())
    }

    /// Fits the ensemble on `x` (train table) and `y` (one label per row); more classes
    /// than [`Self::class_limit`] need [`Self::fit_estimator`].
    pub fn fit(&self, x: &DataFrame, y: &Target) -> Result<FittedClassifier> {
        let cfg = &self.config;
        check_fit_shape(x, y.len(), cfg)?;
        let (classes, y_idx) = encode_labels(y)?;
        let n_classes = classes.len();
        let n_out = self.model.config().n_out();
        let limit = self.class_limit();
        if n_classes > limit {
            return Err(input_err(
                "y",
                format!(
                    "has {n_classes} classes; one TabPFN ensemble supports at most {limit}{} \
                     (fit_estimator fits the many-class output code)",
                    if cfg.max_classes < n_out {
                        " (MAX_NUMBER_OF_CLASSES)"
                    } else {
                        ""
                    }
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
            let (p, s) = low_memory_seeds(cfg.random_state, n, Some((n_classes, cfg.class_shift)));
            (p.unwrap_or_default(), s)
        } else {
            let d = classifier_draws(cfg.random_state, n, n_classes, cfg.class_shift);
            (d.class_permutations.unwrap_or_default(), d.member_seeds)
        };
        let ensemble = FittedEnsemble {
            runner: Runner::new(self.model.clone(), cfg, Classification::AUTO_OUTLIER_STD),
            target_name: None,
            config: cfg.clone(),
            encoded,
            seeds,
            members: Vec::new(),
        };
        let head = Classification {
            classes,
            class_counts,
            y_idx,
            perms,
        };
        Fitted::new(ensemble, head)
    }
}

/// The classification head of a fit: class labels, counts, each train row's class and
/// each member's class permutation.
#[derive(Debug, Clone)]
pub struct Classification {
    classes: Vec<ClassLabel>,
    class_counts: Vec<usize>,
    y_idx: Vec<usize>,
    perms: Vec<Vec<usize>>,
}

/// The classification head's part of a saved fit.
#[doc(hidden)]
#[derive(Serialize, Deserialize)]
pub struct SavedClassification {
    classes: Vec<ClassLabel>,
    class_counts: Vec<usize>,
    y_idx: Vec<usize>,
    perms: Vec<Vec<usize>>,
}

impl Head for Classification {
    const TASK: &'static str = "classifier";
    const AUTO_OUTLIER_STD: Option<f32> = Some(12.0);
}

impl HeadImpl for Classification {
    type Saved = SavedClassification;

    fn saved(&self) -> SavedClassification {
        SavedClassification {
            classes: self.classes.clone(),
            class_counts: self.class_counts.clone(),
            y_idx: self.y_idx.clone(),
            perms: self.perms.clone(),
        }
    }

    fn from_saved(
        s: SavedClassification,
        ensemble: &FittedEnsemble,
        model: &PerFeatureTransformer,
    ) -> Result<Self> {
        let c = s.classes.len();
        let limit = ensemble.config().max_classes.min(model.config().n_out());
        if c == 0 || c > limit {
            return Err(input_err(
                "classes",
                format!("holds {c} classes; the model supports 1 to {limit}"),
            ));
        }
        if s.classes.windows(2).any(|w| !w[0].precedes(&w[1])) {
            return Err(input_err("classes", "is not sorted and distinct"));
        }
        if s.y_idx.len() != ensemble.n_train() {
            return Err(input_err(
                "y_idx",
                format!(
                    "holds {} labels for {} training rows",
                    s.y_idx.len(),
                    ensemble.n_train()
                ),
            ));
        }
        let mut counts = vec![0usize; c];
        for (i, &y) in s.y_idx.iter().enumerate() {
            if y >= c {
                return Err(input_err(
                    "y_idx",
                    format!("row {i} has class index {y}, but there are {c} classes"),
                ));
            }
            counts[y] += 1;
        }
        if counts != s.class_counts {
            return Err(input_err(
                "class_counts",
                format!("is {:?}, but the labels count {counts:?}", s.class_counts),
            ));
        }
        if s.perms.len() != ensemble.config().n_estimators {
            return Err(input_err(
                "perms",
                format!(
                    "holds {} class permutations for {} members",
                    s.perms.len(),
                    ensemble.config().n_estimators
                ),
            ));
        }
        for (m, p) in s.perms.iter().enumerate() {
            let mut seen = vec![false; c];
            let ok = p.len() == c
                && p.iter()
                    .all(|&k| k < c && !std::mem::replace(&mut seen[k], true));
            if !ok {
                return Err(input_err(
                    "perms",
                    format!("member {m}'s {p:?} is not a permutation of 0..{c}"),
                ));
            }
        }
        Ok(Self {
            classes: s.classes,
            class_counts: s.class_counts,
            y_idx: s.y_idx,
            perms: s.perms,
        })
    }

    fn member_specs(
        &self,
        ensemble: &FittedEnsemble,
        rows: Option<Vec<Vec<usize>>>,
    ) -> Vec<MemberSpec> {
        let n = ensemble.config().n_estimators;
        let mut rows = rows.map(Vec::into_iter);
        classifier_configs(n, ensemble.config().member_configs(&CLASSIFIER_CONFIGS))
            .into_iter()
            .zip(&self.perms)
            .map(|(config, perm)| {
                let rows = rows.as_mut().and_then(Iterator::next);
                let y_train = match &rows {
                    Some(idx) => idx.iter().map(|&r| perm[self.y_idx[r]] as f32).collect(),
                    None => self.y_idx.iter().map(|&c| perm[c] as f32).collect(),
                };
                MemberSpec {
                    config,
                    y_train,
                    target: None,
                    class_permutation: Some(perm.clone()),
                    rows,
                }
            })
            .collect()
    }
}

/// A fitted classifier.
pub type FittedClassifier = Fitted<Classification>;

impl Fitted<Classification> {
    /// Class labels in probability-column order (sorted).
    pub fn classes(&self) -> &[ClassLabel] {
        &self.head.classes
    }

    /// Train rows per class.
    pub fn class_counts(&self) -> &[usize] {
        &self.head.class_counts
    }

    fn unpermuted(&self, logits: &[Logits]) -> Result<Vec<Vec<f32>>> {
        let perms = &self.head.perms;
        if logits.len() != perms.len() {
            return Err(input_err(
                "member logits",
                format!("{} given for {} members", logits.len(), perms.len()),
            ));
        }
        let c = self.head.classes.len();
        logits
            .iter()
            .zip(perms)
            .map(|(l, p)| {
                if l.n_out < c {
                    return Err(input_err(
                        "member logits",
                        format!("have {} outputs for {c} classes", l.n_out),
                    ));
                }
                Ok(unpermute_classes(l, Some(p), c))
            })
            .collect()
    }

    /// Post-processing alone: class probabilities from each member's raw network logits
    /// (`[rows, n_out]`, in member order) — for custom runners and parity checks.
    pub fn proba_from_member_logits(&self, logits: &[Logits]) -> Result<Probabilities> {
        let members = self.unpermuted(logits)?;
        let rows = logits.first().map_or(0, |l| l.rows);
        let c = self.head.classes.len();
        let cfg = self.config();
        let data = combine_class_logits(
            &members,
            rows,
            c,
            cfg.softmax_temperature,
            cfg.average_before_softmax,
            cfg.balance_probabilities
                .then_some(&self.head.class_counts[..]),
            cfg.sklearn_16_decimal_precision,
        );
        check_finite(&data, "class probabilities")?;
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
        mut progress: impl FnMut(usize),
    ) -> Result<Probabilities> {
        let data = self.run(x, &mut progress, |_, l| {
            self.proba_from_member_logits(l).map(|p| p.data)
        })?;
        Ok(Probabilities {
            rows: x.rows(),
            classes: self.head.classes.len(),
            data,
        })
    }

    /// Mean member logits after temperature, `[rows, classes]` (`predict_logits`).
    pub fn predict_logits(&self, x: &DataFrame) -> Result<Probabilities> {
        let t = self.config().softmax_temperature;
        let data = self.run(x, &mut |_| {}, |_, l| {
            let m = mean_class_logits(&self.unpermuted(l)?, t);
            check_finite(&m, "class logits")?;
            Ok(m)
        })?;
        Ok(Probabilities {
            rows: x.rows(),
            classes: self.head.classes.len(),
            data,
        })
    }

    /// The most probable class of each row.
    pub fn predict(&self, x: &DataFrame) -> Result<Vec<ClassLabel>> {
        let p = self.predict_proba(x)?;
        Ok(argmax_labels(&p, &self.head.classes))
    }

    /// The most probable class of each row of `p` (first on ties, like `argmax`).
    pub fn labels_of(&self, p: &Probabilities) -> Vec<ClassLabel> {
        argmax_labels(p, &self.head.classes)
    }
}

/// An error when `values` holds a NaN or an infinity: the network's logits overflowed
/// (extreme weights, or a temperature so small that logits / T overflow float32).
pub(crate) fn check_finite(values: &[f32], what: &str) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(crate::error::ModelError::NonFinite(format!(
            "{what}: value {i} is {} after post-processing; the network's logits overflow \
             float32 (check the model's weights and softmax_temperature)",
            values[i]
        ))),
    }
}

/// Label of the largest probability of each row (first on ties, like `argmax`).
pub(crate) fn argmax_labels(p: &Probabilities, classes: &[ClassLabel]) -> Vec<ClassLabel> {
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
