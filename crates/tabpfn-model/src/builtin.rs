//! The built-in models: small v2-architecture networks pre-trained in this repository
//! (`docs/demo-model.md`), embedded in every binary that links this crate so that the CLI
//! and the Python package work without a download. Not TabPFN v2 quality: for real
//! predictions load the official checkpoint.

use tabpfn_weights::Checkpoint;

use crate::config::Task;
use crate::error::Result;
use crate::transformer::PerFeatureTransformer;
use burn::tensor::Device;

const CLASSIFIER: &[u8] = include_bytes!("../assets/tabpfn-mini-classifier.safetensors");
const REGRESSOR: &[u8] = include_bytes!("../assets/tabpfn-mini-regressor.safetensors");

/// The name the built-in classifier reports (file name in errors and summaries).
pub const CLASSIFIER_NAME: &str = "tabpfn-mini-classifier (built in)";

/// The name the built-in regressor reports.
pub const REGRESSOR_NAME: &str = "tabpfn-mini-regressor (built in)";

/// The notice front ends print when they fall back to a built-in model.
pub const NOTICE: &str = "using the built-in demo model tabpfn-mini (not TabPFN v2 quality); \
for real predictions pass the official checkpoint (README: \"Official weights\")";

/// The built-in model for `task` as a checkpoint (for `info` and conversion), or `None`
/// when this build has none for the task (every build has both today; the `Option` keeps
/// front ends honest should a slim build drop one).
pub fn checkpoint(task: Task) -> Option<Result<Checkpoint>> {
    let bytes = match task {
        Task::Classification => CLASSIFIER,
        Task::Regression => REGRESSOR,
    };
    Some(parse(name(task), bytes))
}

/// The name the built-in model for `task` reports.
pub fn name(task: Task) -> &'static str {
    match task {
        Task::Classification => CLASSIFIER_NAME,
        Task::Regression => REGRESSOR_NAME,
    }
}

fn parse(name: &str, bytes: &[u8]) -> Result<Checkpoint> {
    Ok(Checkpoint::from_bytes(name, bytes)?)
}

/// The built-in model for `task` on `device`; `None` when this build has none for it.
pub fn model(task: Task, device: &Device) -> Option<Result<PerFeatureTransformer>> {
    checkpoint(task).map(|c| PerFeatureTransformer::from_checkpoint(&c?, device))
}
