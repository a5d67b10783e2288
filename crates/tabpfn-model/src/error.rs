use thiserror::Error;

/// Errors of building or running the TabPFN network.
#[derive(Debug, Error)]
pub enum ModelError {
    /// A config field has a value this port (or the reference) does not support.
    #[error("config field `{field}` = {value}: {expected}")]
    Config {
        field: String,
        value: String,
        expected: String,
    },
    /// A checkpoint tensor is missing, unexpected, or has the wrong shape.
    #[error("checkpoint tensor `{name}`: {reason}")]
    Weights { name: String, reason: String },
    /// An input array has the wrong shape or content.
    #[error("input `{name}`: {reason}")]
    Input { name: String, reason: String },
    /// A saved train-set cache does not match the model or is corrupt.
    #[error("cache: {0}")]
    Cache(String),
    /// A file given as a saved fit is not one, or does not match the model.
    #[error("saved fit {0}")]
    SavedFit(String),
    /// A model or stage produced NaN or infinite values (names the stage).
    #[error("non-finite output: {0}")]
    NonFinite(String),
    /// A device name is unknown or its backend was not compiled in.
    #[error("device: {0}")]
    Device(String),
    #[error(transparent)]
    Attention(#[from] tabpfn_attention::AttentionError),
    #[error(transparent)]
    Checkpoint(#[from] tabpfn_weights::WeightsError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn input_err(name: &str, reason: impl Into<String>) -> ModelError {
    ModelError::Input {
        name: name.to_string(),
        reason: reason.into(),
    }
}
