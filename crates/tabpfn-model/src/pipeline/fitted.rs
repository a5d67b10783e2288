//! What a fitted classifier and a fitted regressor share, written once: the fitted
//! ensemble (encoded training table, members, knobs, network runner), fitting the members,
//! running them on test rows batch by batch, saving and loading. A task [`Head`] adds what
//! differs — the labels or targets each member is fitted on and the post-processing of its
//! logits — and [`Fitted<H>`] puts the two together ([`FittedClassifier`],
//! [`FittedRegressor`]).
//!
//! [`FittedClassifier`]: super::FittedClassifier
//! [`FittedRegressor`]: super::FittedRegressor

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::encode::TableEncoder;
use super::ensemble::{feature_shift_counts, subsample_rows};
use super::estimator::{batches, slice_rows, Encoded, EstimatorConfig, FitMode, Member, Runner};
use super::frame::DataFrame;
use super::member::{MemberMatrix, PreprocessorConfig};
use super::persist;
use super::power::SafePower;
use super::MemberView;
use crate::cache::TrainCache;
use crate::error::{input_err, ModelError, Result};
use crate::transformer::{Logits, PerFeatureTransformer};

/// The task-specific part of a fit (sealed: implemented by the classification and the
/// regression heads of this crate).
pub trait Head: Clone + std::fmt::Debug + Send + Sync + private::HeadImpl {
    /// The task as saved fits name it (`classifier`, `regressor`).
    const TASK: &'static str;
    /// What `OutlierRemoval::Auto` means for the task.
    const AUTO_OUTLIER_STD: Option<f32>;
}

/// The head's internals, unnameable outside the crate (the sealed-trait pattern).
mod private {
    use super::*;

    /// How one member is fitted: its preprocessing, the targets the network sees for the
    /// train rows, and (regression) the target transform those targets went through.
    pub struct MemberSpec {
        pub config: PreprocessorConfig,
        pub y_train: Vec<f32>,
        pub target: Option<SafePower>,
        /// Classification: the class permutation (shown by [`MemberView`]).
        pub class_permutation: Option<Vec<usize>>,
        /// The training rows the member sees, in order (`None`: all, in table order).
        pub rows: Option<Vec<usize>>,
    }

    pub trait HeadImpl: Sized {
        /// The head's part of a saved fit's header.
        type Saved: Serialize + DeserializeOwned;

        fn saved(&self) -> Self::Saved;

        /// Rebuilds the head from a saved fit, checking every field against the ensemble
        /// (train rows, member count) and the model.
        fn from_saved(
            saved: Self::Saved,
            ensemble: &FittedEnsemble,
            model: &PerFeatureTransformer,
        ) -> Result<Self>;

        /// One spec per member, in member order (none when the task needs no network,
        /// e.g. a constant regression target); `rows[i]` are member `i`'s training rows
        /// when the fit subsamples them.
        fn member_specs(
            &self,
            ensemble: &FittedEnsemble,
            rows: Option<Vec<Vec<usize>>>,
        ) -> Vec<MemberSpec>;
    }
}
pub(crate) use private::{HeadImpl, MemberSpec};

/// The part of a fit both tasks share.
#[derive(Debug, Clone)]
pub struct FittedEnsemble {
    pub(crate) runner: Runner,
    pub(crate) target_name: Option<String>,
    pub(crate) config: EstimatorConfig,
    pub(crate) encoded: Encoded,
    /// One seed per member (the reference's draws).
    pub(crate) seeds: Vec<u64>,
    /// The fitted members (empty in `low_memory` mode: re-derived at every predict).
    pub(crate) members: Vec<Member>,
}

impl FittedEnsemble {
    /// Training rows.
    pub fn n_train(&self) -> usize {
        self.encoded.rows
    }

    /// Feature columns.
    pub fn n_features(&self) -> usize {
        self.encoded.encoder.feature_names().len()
    }

    /// Feature names in training order.
    pub fn feature_names(&self) -> &[String] {
        self.encoded.encoder.feature_names()
    }

    /// Whether each feature column was text at fit (else numeric).
    pub fn feature_is_text(&self) -> &[bool] {
        self.encoded.encoder.text_columns()
    }

    /// The target column's name, if one was set.
    pub fn target_name(&self) -> Option<&str> {
        self.target_name.as_deref()
    }

    /// The estimator knobs this fit used.
    pub fn config(&self) -> &EstimatorConfig {
        &self.config
    }

    /// The network.
    pub fn model(&self) -> &Arc<PerFeatureTransformer> {
        &self.runner.model
    }

    /// Members as fitted (or, in `low_memory` mode, re-derived now).
    fn members_for_predict<H: Head>(&self, head: &H) -> Result<Cow<'_, [Member]>> {
        if self.members.is_empty() {
            Ok(Cow::Owned(self.fit_members(head, false)?))
        } else {
            Ok(Cow::Borrowed(&self.members))
        }
    }

    /// Fits every member's preprocessing (and with `with_cache` its K/V cache).
    fn fit_members<H: Head>(&self, head: &H, with_cache: bool) -> Result<Vec<Member>> {
        let rows = self.config.subsample_samples.map(|s| {
            subsample_rows(
                self.config.random_state,
                self.config.n_estimators,
                self.n_train(),
                s.rows(self.n_train()),
            )
        });
        let specs = head.member_specs(self, rows);
        if specs.len() > self.seeds.len() {
            return Err(input_err(
                "ensemble",
                format!("{} members but {} seeds", specs.len(), self.seeds.len()),
            ));
        }
        let shifts = feature_shift_counts(self.config.random_state, self.config.n_estimators);
        let mut members = specs
            .into_iter()
            .zip(&self.seeds)
            .zip(shifts)
            .map(|((spec, &seed), shift)| {
                self.runner
                    .fit_member(spec, seed, shift, &self.encoded, &self.config)
            })
            .collect::<Result<Vec<_>>>()?;
        if with_cache {
            let mut refs: Vec<&mut Member> = members.iter_mut().collect();
            self.runner.build_caches(&mut refs)?;
        }
        Ok(members)
    }

    /// Runs every member on the rows of `x` batch by batch, reducing each batch's raw
    /// member logits (in member order) with `reduce`; `progress(rows)` after each member ×
    /// batch.
    fn run<H: Head>(
        &self,
        head: &H,
        x: &DataFrame,
        progress: &mut dyn FnMut(usize),
        mut reduce: impl FnMut(&[&Member], &[Logits]) -> Result<Vec<f32>>,
    ) -> Result<Vec<f32>> {
        let cols = self.encoded.transform(x)?;
        let members = self.members_for_predict(head)?;
        let refs: Vec<&Member> = members.iter().collect();
        let mut out = Vec::new();
        for range in batches(x.rows(), self.config.batch_size) {
            let part = slice_rows(&cols, range.clone());
            let logits = self
                .runner
                .members_logits(&refs, &part, range.len(), progress)?;
            out.extend(reduce(&refs, &logits)?);
        }
        Ok(out)
    }
}

/// A fitted estimator: the shared [`FittedEnsemble`] and the task's [`Head`].
#[derive(Debug, Clone)]
pub struct Fitted<H: Head> {
    pub(crate) ensemble: FittedEnsemble,
    pub(crate) head: H,
}

impl<H: Head> Fitted<H> {
    /// Builds the fit and, unless `low_memory`, fits its members.
    pub(crate) fn new(ensemble: FittedEnsemble, head: H) -> Result<Self> {
        let mut f = Self { ensemble, head };
        let mode = f.ensemble.config.fit_mode;
        if mode != FitMode::LowMemory {
            f.ensemble.members = f
                .ensemble
                .fit_members(&f.head, mode == FitMode::FitWithCache)?;
        }
        Ok(f)
    }

    /// The part of the fit both tasks share (feature names, knobs, the network).
    pub fn ensemble(&self) -> &FittedEnsemble {
        &self.ensemble
    }

    /// Training rows.
    pub fn n_train(&self) -> usize {
        self.ensemble.n_train()
    }

    /// Feature columns.
    pub fn n_features(&self) -> usize {
        self.ensemble.n_features()
    }

    /// Feature names in training order.
    pub fn feature_names(&self) -> &[String] {
        self.ensemble.feature_names()
    }

    /// The estimator knobs this fit used.
    pub fn config(&self) -> &EstimatorConfig {
        self.ensemble.config()
    }

    /// Names the target column (kept with a saved fit, for tools that read tables).
    pub fn set_target_name(&mut self, name: impl Into<String>) {
        self.ensemble.target_name = Some(name.into());
    }

    /// The target column's name, if one was set.
    pub fn target_name(&self) -> Option<&str> {
        self.ensemble.target_name()
    }

    /// Runs every member on `x` batch by batch and reduces each batch's raw logits.
    pub(crate) fn run(
        &self,
        x: &DataFrame,
        progress: &mut dyn FnMut(usize),
        reduce: impl FnMut(&[&Member], &[Logits]) -> Result<Vec<f32>>,
    ) -> Result<Vec<f32>> {
        self.ensemble.run(&self.head, x, progress, reduce)
    }

    /// The members as predictions use them (re-derived in `low_memory` mode).
    pub(crate) fn members_for_predict(&self) -> Result<Cow<'_, [Member]>> {
        self.ensemble.members_for_predict(&self.head)
    }

    /// The fitted members (empty in `low_memory` mode), for inspection.
    pub fn members(&self) -> Vec<MemberView<'_>> {
        self.ensemble.members.iter().map(MemberView::new).collect()
    }

    /// Member `i`'s matrix for the rows of `x` (what the network sees after the train rows).
    pub fn member_test_matrix(&self, i: usize, x: &DataFrame) -> Result<MemberMatrix> {
        let member = self.ensemble.members.get(i).ok_or_else(|| {
            input_err(
                "member",
                format!(
                    "index {i} out of range ({} members)",
                    self.ensemble.members.len()
                ),
            )
        })?;
        Ok(member
            .pipeline
            .transform(&self.ensemble.encoded.transform(x)?, x.rows()))
    }

    /// Saves the fit (encoded train table, encoder, the head's labels or targets, seeds
    /// and, with `fit_with_cache`, each member's K/V cache) to one safetensors file,
    /// atomically; `tabpfn-cli --load-fit` and the Python package read it too.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes_named(path)?;
        Ok(tabpfn_weights::files::write_atomic(path, &bytes)?)
    }

    /// The saved-fit file as bytes (what [`save`](Self::save) writes), e.g. for pickling.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.to_bytes_named(Path::new("<bytes>"))
    }

    pub(super) fn to_bytes_named(&self, path: &Path) -> Result<Vec<u8>> {
        let e = &self.ensemble;
        let caches: Vec<Option<&TrainCache>> = e.members.iter().map(|m| m.cache.as_ref()).collect();
        persist::to_bytes(
            path,
            H::TASK,
            &e.runner.model,
            &persist::Common {
                config: e.config.clone(),
                target_name: e.target_name.clone(),
                encoder: e.encoder().clone(),
                seeds: e.seeds.clone(),
            },
            &self.head.saved(),
            &e.encoded.columns,
            e.encoded.rows,
            &caches,
        )
    }

    /// Loads a fit saved by [`save`](Self::save); `model` must be the one it was fitted
    /// with (its configuration is checked, and every field of the file against the others).
    pub fn load(path: impl AsRef<Path>, model: Arc<PerFeatureTransformer>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = crate::tensor_file::read(path)?;
        Self::from_bytes_named(path, &bytes, model)
    }

    /// Loads a fit from the bytes of a saved-fit file ([`to_bytes`](Self::to_bytes)).
    pub fn from_bytes(bytes: &[u8], model: Arc<PerFeatureTransformer>) -> Result<Self> {
        Self::from_bytes_named(Path::new("<bytes>"), bytes, model)
    }

    pub(super) fn from_bytes_named(
        path: &Path,
        bytes: &[u8],
        model: Arc<PerFeatureTransformer>,
    ) -> Result<Self> {
        let loaded = persist::from_bytes::<H::Saved>(path, bytes, H::TASK, &model)?;
        let common = loaded.common;
        let runner = Runner::new(model.clone(), &common.config, H::AUTO_OUTLIER_STD);
        let encoded = Encoded {
            encoder: common.encoder,
            columns: loaded.columns,
            rows: loaded.rows,
        };
        let ensemble = FittedEnsemble {
            runner,
            target_name: common.target_name,
            config: common.config,
            encoded,
            seeds: common.seeds,
            members: Vec::new(),
        };
        let bad = |m: String| ModelError::SavedFit(format!("{}: {m}", path.display()));
        ensemble.validate().map_err(bad)?;
        let head = H::from_saved(loaded.head, &ensemble, &model).map_err(|e| match e {
            ModelError::Input { name, reason } => bad(format!("field `{name}` {reason}")),
            other => other,
        })?;
        let mut fitted = Self { ensemble, head };
        if fitted.ensemble.config.fit_mode != FitMode::LowMemory {
            fitted.ensemble.members = fitted.ensemble.fit_members(&fitted.head, false)?;
            let with_cache = fitted.ensemble.config.fit_mode == FitMode::FitWithCache;
            let (members, caches) = (fitted.ensemble.members.len(), loaded.caches.len());
            if with_cache && caches != members || !with_cache && caches != 0 {
                return Err(bad(format!(
                    "field `caches` holds {caches} member caches; a {:?} fit of {members} \
                     members holds {}",
                    fitted.ensemble.config.fit_mode,
                    if with_cache { members } else { 0 }
                )));
            }
            attach_caches(&mut fitted.ensemble.members, loaded.caches).map_err(bad)?;
        } else if !loaded.caches.is_empty() {
            return Err(bad("a low_memory fit cannot hold member caches".into()));
        }
        Ok(fitted)
    }
}

impl FittedEnsemble {
    pub(crate) fn encoder(&self) -> &TableEncoder {
        &self.encoded.encoder
    }

    /// Cross-field checks of a loaded fit (every count read from the file).
    fn validate(&self) -> std::result::Result<(), String> {
        let cfg = &self.config;
        cfg.validate().map_err(|e| e.to_string())?;
        if self.seeds.len() != cfg.n_estimators {
            return Err(format!(
                "field `seeds` holds {} seeds for n_estimators = {}",
                self.seeds.len(),
                cfg.n_estimators
            ));
        }
        let names = self.encoded.encoder.feature_names().len();
        if self.encoded.columns.len() != names {
            return Err(format!(
                "field `encoded_train` has {} columns, the encoder {names} features",
                self.encoded.columns.len()
            ));
        }
        self.encoded
            .encoder
            .validate()
            .map_err(|e| format!("field `encoder`: {e}"))?;
        if self.encoded.rows < 2 {
            return Err(format!(
                "field `encoded_train` has {} rows; a fit has at least 2",
                self.encoded.rows
            ));
        }
        Ok(())
    }
}

/// Puts caches read from a saved fit back onto freshly re-derived members.
fn attach_caches(
    members: &mut [Member],
    caches: Vec<TrainCache>,
) -> std::result::Result<(), String> {
    if caches.is_empty() {
        return Ok(());
    }
    if caches.len() != members.len() {
        return Err(format!(
            "{} member caches for {} members",
            caches.len(),
            members.len()
        ));
    }
    for (i, (m, c)) in members.iter_mut().zip(caches).enumerate() {
        if c.n_features() != m.x_train.n_columns() || c.n_train() != m.x_train.rows {
            return Err(format!(
                "member {i}'s cache holds {} rows × {} features, its re-derived member {} × {}",
                c.n_train(),
                c.n_features(),
                m.x_train.rows,
                m.x_train.n_columns()
            ));
        }
        m.cache = Some(c);
    }
    Ok(())
}

/// A fitted classifier or regressor, for front ends that serve both (the CLI, Python).
#[derive(Debug, Clone)]
pub enum FittedEstimator {
    Classifier(super::FittedClassifier),
    Regressor(super::FittedRegressor),
    /// A classifier of more classes than the model has outputs (the output code of
    /// [`super::many_class`]).
    ManyClass(super::FittedManyClass),
}

impl FittedEstimator {
    /// The shared part: feature names, knobs, the network.
    pub fn ensemble(&self) -> &FittedEnsemble {
        match self {
            Self::Classifier(f) => &f.ensemble,
            Self::Regressor(f) => &f.ensemble,
            Self::ManyClass(f) => f.ensemble(),
        }
    }

    /// Names the target column (kept with a saved fit).
    pub fn set_target_name(&mut self, name: impl Into<String>) {
        let name = Some(name.into());
        match self {
            Self::Classifier(f) => f.ensemble.target_name = name,
            Self::Regressor(f) => f.ensemble.target_name = name,
            Self::ManyClass(f) => f.set_target_name(name),
        }
    }

    /// Saves the fit (see [`Fitted::save`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        match self {
            Self::Classifier(f) => f.save(path),
            Self::Regressor(f) => f.save(path),
            Self::ManyClass(f) => f.save(path),
        }
    }

    /// Which task the saved fit at `path` holds, read from its header only: lets a front
    /// end pick the matching model before [`load`](Self::load) checks the rest.
    pub fn saved_task(path: impl AsRef<Path>) -> Result<crate::Task> {
        persist::saved_task(path.as_ref())
    }

    /// Loads a saved fit of the task `model` was trained for (a classifier's may be a
    /// many-class fit).
    pub fn load(path: impl AsRef<Path>, model: Arc<PerFeatureTransformer>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = crate::tensor_file::read(path)?;
        Self::from_bytes_named(path, &bytes, model)
    }

    /// The saved-fit bytes (see [`Fitted::to_bytes`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        match self {
            Self::Classifier(f) => f.to_bytes(),
            Self::Regressor(f) => f.to_bytes(),
            Self::ManyClass(f) => f.to_bytes(),
        }
    }

    /// Loads saved-fit bytes for the task `model` was trained for.
    pub fn from_bytes(bytes: &[u8], model: Arc<PerFeatureTransformer>) -> Result<Self> {
        Self::from_bytes_named(Path::new("<bytes>"), bytes, model)
    }

    fn from_bytes_named(
        path: &Path,
        bytes: &[u8],
        model: Arc<PerFeatureTransformer>,
    ) -> Result<Self> {
        Ok(match model.task() {
            crate::Task::Classification => {
                // anything unreadable falls through to the classifier's own errors
                let task = persist::saved_task_name(path, bytes);
                if matches!(&task, Ok(t) if t == super::persist_many_class::TASK) {
                    Self::ManyClass(super::persist_many_class::from_bytes(path, bytes, model)?)
                } else {
                    Self::Classifier(super::FittedClassifier::from_bytes_named(
                        path, bytes, model,
                    )?)
                }
            }
            crate::Task::Regression => Self::Regressor(super::FittedRegressor::from_bytes_named(
                path, bytes, model,
            )?),
        })
    }
}
