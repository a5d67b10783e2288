//! The TabPFN v2 network (Hollmann et al., Nature 2025) on Burn, matching the reference
//! `tabpfn` 2.2.1 `PerFeatureTransformer`.
//!
//! Crate graph: `tabpfn-weights` (checkpoint files) → this crate (config, encoders, layers,
//! decoder, bar distribution, KV cache) → `tabpfn-cli`. The attention lives in
//! `tabpfn-attention`.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use tabpfn_model::{ForwardOptions, PerFeatureTransformer, Table};
//!
//! let device = Device::flex();
//! let model = PerFeatureTransformer::load("tabpfn-v2-classifier.ckpt", &device)?;
//! // 3 train rows then 1 test row, 2 features
//! let x = [0.1f32, 1.0, 0.3, 2.0, 0.2, 1.5, 0.25, 1.7];
//! let y = [0.0f32, 1.0, 0.0];
//! let logits = model.forward(Table::new(&x, 4, 2)?, &y, ForwardOptions::default())?;
//! assert_eq!(logits.rows, 1);
//! # Ok::<(), tabpfn_model::ModelError>(())
//! ```

pub mod bar_distribution;
pub mod cache;
pub mod config;
pub mod cpu;
pub mod decoder;
pub mod device;
pub mod error;
pub mod flops;
pub mod layer;
pub mod loader;
pub mod mlp;
pub mod nn;
pub mod pipeline;
pub mod random;
pub mod rng;
pub mod transformer;
pub mod x_encoder;
pub mod y_encoder;

pub use bar_distribution::BarDistribution;
pub use cache::TrainCache;
pub use config::{ModelConfig, Task};
pub use error::{ModelError, Result};
pub use rng::TorchRng;
pub use transformer::{ForwardOptions, Kernels, Logits, PerFeatureTransformer, Table};
