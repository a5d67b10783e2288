use thiserror::Error;

/// Everything that can go wrong when building or calling the attention.
#[derive(Debug, Error)]
pub enum AttentionError {
    /// A tensor does not have the shape the call needs.
    #[error("tensor `{tensor}` has shape {found:?}, expected {expected}")]
    Shape {
        tensor: String,
        expected: String,
        found: Vec<usize>,
    },
    /// The configuration or the combination of weights is not one the reference allows.
    #[error("invalid attention configuration: {0}")]
    Config(String),
    /// A computation failed on the device (or its result could not be read back).
    #[error("{0}")]
    Device(String),
}
