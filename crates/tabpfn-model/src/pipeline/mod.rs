//! The estimator pipeline of `tabpfn` 2.2.1 around the network: input encoding, the
//! 8-member preprocessing ensemble, one forward per member, post-processing
//! (`../shared/reference/pipeline.md` is the specification; each module names the
//! reference step it ports).
//!
//! ```no_run
//! use std::sync::Arc;
//! use burn::tensor::Device;
//! use tabpfn_model::pipeline::{Column, DataFrame, EstimatorConfig, TabPFNClassifier, Target};
//! use tabpfn_model::PerFeatureTransformer;
//!
//! let model = Arc::new(PerFeatureTransformer::load("tabpfn-v2-classifier.ckpt", &Device::flex())?);
//! let x = DataFrame::new(vec![
//!     Column::numeric("age", vec![23.0, 41.0, 35.0, 52.0]),
//!     Column::text("city", vec![Some("Oslo".into()), None, Some("Rome".into()), Some("Oslo".into())]),
//! ])?;
//! let y = Target::Text(vec!["no".into(), "yes".into(), "no".into(), "yes".into()]);
//! let fitted = TabPFNClassifier::new(model, EstimatorConfig::default())?.fit(&x, &y)?;
//! let proba = fitted.predict_proba(&x)?;
//! # Ok::<(), tabpfn_model::ModelError>(())
//! ```

pub mod categorical;
pub mod classifier;
pub mod encode;
pub mod ensemble;
pub mod estimator;
pub mod frame;
pub mod member;
pub mod numpy_rng;
pub(crate) mod persist;
pub mod postprocess;
pub mod power;
pub mod quantile;
pub mod regressor;
pub mod stats;
pub mod svd;

pub use classifier::{FittedClassifier, Probabilities, TabPFNClassifier};
pub use encode::{CategoricalInference, TableEncoder};
pub use estimator::{EstimatorConfig, FitMode, OutlierRemoval};
pub use frame::{ClassLabel, Column, ColumnValues, DataFrame, Target};
pub use member::{MemberMatrix, PreprocessorConfig};
pub use numpy_rng::NumpyRng;
pub use regressor::{FittedRegressor, RegressionOutput, TabPFNRegressor, DEFAULT_QUANTILES};

/// A read-only view of one fitted ensemble member.
#[derive(Debug, Clone, Copy)]
pub struct MemberView<'a> {
    member: &'a estimator::Member,
    class_permutation: Option<&'a [usize]>,
}

impl<'a> MemberView<'a> {
    pub(crate) fn new(
        member: &'a estimator::Member,
        class_permutation: Option<&'a [usize]>,
    ) -> Self {
        Self {
            member,
            class_permutation,
        }
    }

    /// The member's seed (drawn from the main generator).
    pub fn seed(&self) -> u64 {
        self.member.seed
    }

    /// Name of the member's feature transform (`quantile_uni_coarse`, `none`, …).
    pub fn transform_name(&self) -> &'static str {
        self.member.config.name()
    }

    pub fn class_permutation(&self) -> Option<&'a [usize]> {
        self.class_permutation
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
