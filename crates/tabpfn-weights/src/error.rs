use std::path::PathBuf;

use thiserror::Error;

/// Errors of reading, validating and writing checkpoint files.
#[derive(Debug, Error)]
pub enum WeightsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a TabPFN checkpoint: {reason}")]
    NotACheckpoint { path: PathBuf, reason: String },
    #[error("{path}: corrupt or truncated zip archive: {reason}")]
    Zip { path: PathBuf, reason: String },
    #[error(
        "pickle refers to the global `{0}`, which a weights file never needs; refusing to load it"
    )]
    ForbiddenGlobal(String),
    #[error("pickle uses opcode {opcode} at byte {offset}, which a weights file never needs; refusing to load it")]
    ForbiddenOpcode { opcode: String, offset: usize },
    #[error("malformed pickle: {0}")]
    Pickle(String),
    #[error("unsupported tensor dtype: {0}")]
    UnsupportedDtype(String),
    #[error("tensor `{name}`: {reason}")]
    Tensor { name: String, reason: String },
    #[error("checkpoint has no `{0}` entry")]
    MissingKey(String),
    #[error("checkpoint entry `{key}` is a {found}, expected {expected}")]
    WrongType {
        key: String,
        found: String,
        expected: String,
    },
    #[error("{path}: invalid safetensors file: {reason}")]
    Safetensors { path: PathBuf, reason: String },
}
