//! The estimator pipeline of `tabpfn` 2.2.1 around the network: input encoding, the
//! 8-member preprocessing ensemble, one forward per member, post-processing (specified in
//! the repository's `docs/pipeline.md`; each module names the reference step it ports).
//!
//! Data flow: [`DataFrame`] → [`TableEncoder`] (column typing, categorical codes) → per
//! member a [`member`] pipeline (feature transform, shifts, fingerprint) → the network
//! ([`crate::PerFeatureTransformer`]) → [`postprocess`] (class permutation, temperature,
//! averaging; regression re-binning). [`fitted`] holds what both estimators share.
//!
//! ```
//! use std::sync::Arc;
//! use tabpfn_model::{random_weights, Column, DataFrame, Device, EstimatorConfig};
//! use tabpfn_model::{PerFeatureTransformer, TabPFNRegressor, Target, Task};
//!
//! let ckpt = random_weights::tiny_checkpoint(Task::Regression, 0)?;
//! let model = Arc::new(PerFeatureTransformer::from_checkpoint(&ckpt, &Device::flex())?);
//! let x = DataFrame::new(vec![Column::numeric("age", vec![23.0, 41.0, 35.0, 52.0, 30.0])])?;
//! let y = Target::Numeric(vec![1.5, 3.0, 2.2, 4.1, 2.0]);
//! let config = EstimatorConfig { n_estimators: 2, ..Default::default() };
//! let fitted = TabPFNRegressor::new(model, config)?.fit(&x, &y)?;
//! let out = fitted.predict_full(&x, &[0.1, 0.9])?; // mean, median, mode, quantiles
//! assert_eq!(out.mean.len(), 5);
//! # Ok::<(), tabpfn_model::ModelError>(())
//! ```

pub mod categorical;
pub mod classifier;
pub mod encode;
pub mod ensemble;
pub mod estimator;
pub mod fitted;
pub mod frame;
pub mod inference_config;
pub mod many_class;
pub mod member;
pub mod mt19937;
pub mod numpy_rng;
pub(crate) mod persist;
mod persist_many_class;
pub mod polynomial;
pub mod postprocess;
pub mod power;
pub mod quantile;
pub mod regressor;
pub mod stats;
pub mod svd;

pub use classifier::{FittedClassifier, Probabilities, TabPFNClassifier};
pub use encode::{CategoricalInference, TableEncoder};
pub use estimator::{
    EstimatorConfig, FitMode, OutlierRemoval, ShiftMethod, SubsampleSamples, TargetTransform,
};
pub use fitted::{Fitted, FittedEnsemble, FittedEstimator, Head};
pub use frame::{ClassLabel, Column, ColumnValues, DataFrame, Target};
pub use inference_config::InferenceConfig;
pub use many_class::{fit_many_class, FittedManyClass, ManyClassConfig};
pub use member::{
    AppendOriginal, CategoricalTransform, FeatureTransform, MemberMatrix, PreprocessorConfig,
};
pub use numpy_rng::NumpyRng;
pub use regressor::{FittedRegressor, RegressionOutput, TabPFNRegressor, DEFAULT_QUANTILES};

/// A read-only view of one fitted ensemble member.
#[derive(Debug, Clone, Copy)]
pub struct MemberView<'a> {
    member: &'a estimator::Member,
}

impl<'a> MemberView<'a> {
    pub(crate) fn new(member: &'a estimator::Member) -> Self {
        Self { member }
    }

    /// The member's seed (drawn from the main generator).
    pub fn seed(&self) -> u64 {
        self.member.seed
    }

    /// Name of the member's feature transform (`quantile_uni_coarse`, `none`, …).
    pub fn transform_name(&self) -> &'static str {
        self.member.config.name()
    }

    /// Classification: the member's permutation of the class indices.
    pub fn class_permutation(&self) -> Option<&'a [usize]> {
        self.member.class_permutation.as_deref()
    }

    pub fn salt(&self) -> Option<u64> {
        self.member.pipeline.salt()
    }

    pub fn feature_permutation(&self) -> &'a [usize] {
        self.member.pipeline.permutation()
    }

    pub fn categorical_indices(&self) -> &'a [usize] {
        self.member.pipeline.categorical_indices()
    }

    pub fn fingerprint_column(&self) -> Option<usize> {
        self.member.pipeline.fingerprint_column()
    }

    /// The member's train matrix (what the network sees first).
    pub fn x_train(&self) -> &'a MemberMatrix {
        &self.member.x_train
    }

    /// The member's train targets as handed to the network.
    pub fn y_train(&self) -> &'a [f32] {
        &self.member.y_train
    }
}
