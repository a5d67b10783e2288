//! TabPFN v2 (Hollmann et al., Nature 2025) on Burn: the network and the estimator pipeline
//! of the reference `tabpfn` 2.2.1 — `TabPFNClassifier` and `TabPFNRegressor` with their
//! encoding, 8-member preprocessing ensemble and post-processing — for any Burn device.
//!
//! ```
//! use std::sync::Arc;
//! use tabpfn_model::{
//!     random_weights, Column, DataFrame, Device, EstimatorConfig, PerFeatureTransformer,
//!     TabPFNClassifier, Target, Task,
//! };
//!
//! // a real run loads the official checkpoint: PerFeatureTransformer::load("….ckpt", &device)
//! let device = Device::flex();
//! let ckpt = random_weights::tiny_checkpoint(Task::Classification, 0)?;
//! let model = Arc::new(PerFeatureTransformer::from_checkpoint(&ckpt, &device)?);
//!
//! let x = DataFrame::new(vec![
//!     Column::numeric("size", vec![1.0, 3.1, f64::NAN, 2.9, 1.2, 3.3]),
//!     Column::text("colour", ["red", "blue", "red", "blue", "red", "blue"]
//!         .iter().map(|s| Some(s.to_string())).collect()),
//! ])?;
//! let y = Target::Text(["small", "big", "small", "big", "small", "big"]
//!     .iter().map(|s| s.to_string()).collect());
//! let config = EstimatorConfig { n_estimators: 2, ..Default::default() };
//! let fitted = TabPFNClassifier::new(model, config)?.fit(&x, &y)?;
//! let proba = fitted.predict_proba(&x)?; // [rows, classes]; fitted.classes() names them
//! assert_eq!((proba.rows, proba.classes), (6, 2));
//! # Ok::<(), tabpfn_model::ModelError>(())
//! ```
//!
//! Crate graph: `tabpfn-weights` (checkpoint files) → this crate ← `tabpfn-attention` ←
//! `tabpfn-kernels`; this crate → `tabpfn-cli` and the Python package. Inside it: the
//! network ([`PerFeatureTransformer`]: x/y encoders, the layer stack (`stack.rs`) run by
//! Burn's ops or the CPU kernels, decoder, bar distribution, [`TrainCache`]) and the
//! estimators ([`pipeline`]). The reference's behaviour is specified in `docs/pipeline.md`
//! and `docs/parity.md` of the repository.

// no unsafe code, except the cuda build's probe for the CUDA libraries (`device.rs`)
#![cfg_attr(not(feature = "cuda"), forbid(unsafe_code))]
#![cfg_attr(feature = "cuda", deny(unsafe_code))]

pub mod bar_distribution;
pub mod builtin;
pub mod cache;
pub mod config;
mod cpu;
mod decoder;
pub mod device;
pub mod error;
mod flops;
mod layer;
mod loader;
mod mlp;
mod nn;
pub mod pipeline;
pub mod random_weights;
mod stack;
mod tensor_file;
pub mod torch_rng;
pub mod transformer;
mod x_encoder;
mod y_encoder;

pub use bar_distribution::BarDistribution;
pub use burn::tensor::Device;
pub use cache::TrainCache;
pub use config::{ModelConfig, Task};
pub use error::{ModelError, Result};
pub use pipeline::{
    ClassLabel, Column, ColumnValues, DataFrame, EstimatorConfig, FitMode, FittedClassifier,
    FittedEstimator, FittedManyClass, FittedRegressor, InferenceConfig, ManyClassConfig,
    Probabilities, RegressionOutput, SubsampleSamples, TabPFNClassifier, TabPFNRegressor, Target,
};
pub use torch_rng::TorchRng;
pub use transformer::{ForwardOptions, Kernels, Logits, PerFeatureTransformer, Table};

/// Internals the benchmarks and examples of this repository time on their own; not a
/// stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::cpu::HostLayer;
    pub use crate::flops::forward_flops;
    pub use crate::layer::PerFeatureEncoderLayer;

    /// Recomputes a saved fit's integrity hash in place (tests and fuzzing only: it lets
    /// an edited file reach the field validation behind the hash).
    pub fn resign_saved_fit(path: &std::path::Path) -> crate::Result<()> {
        crate::pipeline::persist::resign(path)
    }
    pub use crate::x_encoder::{fit_transform, XEncoderOptions};
}
