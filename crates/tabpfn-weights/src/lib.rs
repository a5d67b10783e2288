//! TabPFN checkpoint files without Python.
//!
//! * [`Checkpoint::open`] reads the official torch `.ckpt` (zip + pickle) through a
//!   restricted unpickler that refuses every global and opcode a weights file does not need,
//!   or a `.safetensors` file in the layout of `tabpfn.checkpoint.save_as_safetensors`
//!   (tabpfn ≥ 8.0.4: the state dict as tensors, every other checkpoint key JSON-encoded in
//!   the header metadata).
//! * [`Checkpoint::save_safetensors`] writes that layout, atomically.
//!
//! Tensors are handed out as row-major f32 ([`Tensor32`]); f16, bf16 and f64 storages are
//! converted and the conversion is recorded in [`SourceInfo`]. This crate knows formats,
//! not architectures: validating names and shapes against the network is `tabpfn-model`'s job.

pub mod dtype;
mod error;
pub mod files;
pub mod json;
pub mod pickle;
mod safetensors_io;
mod torch_zip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use dtype::Dtype;
pub use error::WeightsError;

/// The largest checkpoint file read: 16 GiB, far beyond any TabPFN checkpoint (v2: ~30 MB).
pub const MAX_FILE_BYTES: u64 = 16 << 30;

/// A row-major float32 tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor32 {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor32 {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The on-disk format a checkpoint was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TorchZip,
    Safetensors,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::TorchZip => "torch zip (.ckpt)",
            Format::Safetensors => "safetensors",
        })
    }
}

/// Where a checkpoint came from and what was converted on the way in.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub format: Format,
    pub path: PathBuf,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub file_size: u64,
    /// Stored dtype name → number of tensors; anything but float32 was converted.
    pub source_dtypes: BTreeMap<String, usize>,
}

/// A loaded checkpoint: the state dict (in file order) and every other top-level entry.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// `state_dict` entries in file order, including `criterion.*` for regressors.
    pub tensors: Vec<(String, Tensor32)>,
    /// Every top-level entry except `state_dict` (e.g. `config`), as JSON.
    pub metadata: BTreeMap<String, serde_json::Value>,
    pub info: SourceInfo,
    has_state_dict: bool,
}

impl Checkpoint {
    fn empty(format: Format) -> Self {
        Self {
            tensors: Vec::new(),
            metadata: BTreeMap::new(),
            info: SourceInfo {
                format,
                path: PathBuf::new(),
                sha256: String::new(),
                file_size: 0,
                source_dtypes: BTreeMap::new(),
            },
            has_state_dict: false,
        }
    }

    fn finish(mut self, path: &Path) -> Result<Self, WeightsError> {
        if !self.has_state_dict {
            return Err(WeightsError::MissingKey("state_dict".into()));
        }
        match self.metadata.get("config") {
            None => return Err(WeightsError::MissingKey("config".into())),
            Some(serde_json::Value::Object(_)) => {}
            Some(other) => {
                return Err(WeightsError::WrongType {
                    key: "config".into(),
                    found: json_kind(other).into(),
                    expected: "a dict".into(),
                })
            }
        }
        self.info.path = path.to_path_buf();
        Ok(self)
    }

    /// Builds an in-memory checkpoint (e.g. random weights for benchmarks); `metadata` must
    /// hold a dict-valued `config`.
    pub fn from_parts(
        tensors: Vec<(String, Tensor32)>,
        metadata: BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, WeightsError> {
        for (name, t) in &tensors {
            if t.numel() != t.data.len() {
                return Err(WeightsError::Tensor {
                    name: name.clone(),
                    reason: format!(
                        "shape {:?} needs {} values, got {}",
                        t.shape,
                        t.numel(),
                        t.data.len()
                    ),
                });
            }
        }
        let mut ck = Self::empty(Format::Safetensors);
        ck.tensors = tensors;
        ck.metadata = metadata;
        ck.has_state_dict = true;
        ck.finish(Path::new("<memory>"))
    }

    /// Reads a `.ckpt` (torch zip) or `.safetensors` file of at most [`MAX_FILE_BYTES`];
    /// the format is detected from the content, not the extension.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, WeightsError> {
        let path = path.as_ref();
        let bytes = files::read_bounded(path, MAX_FILE_BYTES, "checkpoint files")?;
        Self::from_bytes(path, &bytes)
    }

    /// Parses a checkpoint already in memory (e.g. one embedded in a binary); `path` only
    /// names it in error messages.
    pub fn from_bytes(path: impl AsRef<Path>, bytes: &[u8]) -> Result<Self, WeightsError> {
        let path = path.as_ref();
        if bytes.is_empty() {
            return Err(WeightsError::NotACheckpoint {
                path: path.to_path_buf(),
                reason: "the file is empty".into(),
            });
        }
        // zip archives start with "PK"; safetensors with an 8-byte header length and `{`
        let mut ckpt = if safetensors_io::looks_like(bytes) {
            safetensors_io::read(path, bytes)?
        } else {
            torch_zip::read(path, bytes)?
        };
        ckpt.info.sha256 = format!("{:x}", Sha256::digest(bytes));
        ckpt.info.file_size = bytes.len() as u64;
        Ok(ckpt)
    }

    /// The `config` dict.
    pub fn config(&self) -> &serde_json::Map<String, serde_json::Value> {
        match self.metadata.get("config") {
            Some(serde_json::Value::Object(m)) => m,
            _ => unreachable_config(),
        }
    }

    /// Looks a state-dict tensor up by name.
    pub fn tensor(&self, name: &str) -> Option<&Tensor32> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Total number of tensor elements.
    pub fn num_parameters(&self) -> usize {
        self.tensors.iter().map(|(_, t)| t.numel()).sum()
    }

    /// Writes the checkpoint as safetensors in tabpfn's layout: tensors = the state dict,
    /// header metadata = every other entry as `json.dumps(value, sort_keys=True)`.
    /// Writes a temporary file next to `out` and renames it, so a failure leaves nothing.
    pub fn save_safetensors(&self, out: impl AsRef<Path>) -> Result<(), WeightsError> {
        safetensors_io::write(self, out.as_ref())
    }
}

fn unreachable_config() -> &'static serde_json::Map<String, serde_json::Value> {
    // `finish` guarantees a dict-valued config for every constructed checkpoint.
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, serde_json::Value>> =
        std::sync::OnceLock::new();
    EMPTY.get_or_init(serde_json::Map::new)
}

pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "dict",
    }
}
