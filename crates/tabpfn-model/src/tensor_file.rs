//! The safetensors files this crate writes and reads itself — train-set caches and saved
//! fits: tensors to write ([`Raw`]), an atomic [`write`], and a [`read`] that refuses files
//! beyond a size budget before allocating.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, View};
use tabpfn_weights::dtype::{f32_bytes, f64_bytes};

use crate::error::{ModelError, Result};

/// The largest cache or saved-fit file read: 64 GiB, beyond any fit of 10⁵ rows; a larger
/// size is a corrupt or hostile file.
pub const MAX_FILE_BYTES: u64 = 64 << 30;

/// A tensor to write: shape, little-endian bytes and dtype.
pub(crate) struct Raw {
    shape: Vec<usize>,
    bytes: Vec<u8>,
    dtype: Dtype,
}

impl Raw {
    pub(crate) fn f32(shape: Vec<usize>, values: &[f32]) -> Self {
        Self {
            shape,
            bytes: f32_bytes(values),
            dtype: Dtype::F32,
        }
    }

    pub(crate) fn f64(shape: Vec<usize>, values: &[f64]) -> Self {
        Self {
            shape,
            bytes: f64_bytes(values),
            dtype: Dtype::F64,
        }
    }

    /// Opaque bytes, a 1-d uint8 tensor (a nested file).
    pub(crate) fn u8(bytes: &[u8]) -> Self {
        Self {
            shape: vec![bytes.len()],
            bytes: bytes.to_vec(),
            dtype: Dtype::U8,
        }
    }

    /// A copy of a tensor read from a file.
    pub(crate) fn from_view(t: &safetensors::tensor::TensorView<'_>) -> Self {
        Self {
            shape: t.shape().to_vec(),
            bytes: t.data().to_vec(),
            dtype: t.dtype(),
        }
    }

    pub(crate) fn dtype(&self) -> Dtype {
        self.dtype
    }

    pub(crate) fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Serialises `tensors` with header `meta` (`name` names the file in errors).
pub(crate) fn serialize(
    name: &Path,
    tensors: &[(String, Raw)],
    meta: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes =
        safetensors::tensor::serialize(tensors.iter().map(|(n, r)| (n.as_str(), r)), Some(meta))
            .map_err(|e| ModelError::Cache(format!("{}: {e:?}", name.display())))?;
    Ok(canonical_header(bytes))
}

/// The same file with its JSON header's keys in sorted order: safetensors writes the
/// metadata map in hash order, so two saves of one fit would differ in bytes (and a
/// pickled estimator could not be content-addressed, e.g. by Dask's tokenizer). The
/// header only holds strings and integers, so the sorted form has the same length and
/// every data offset stays valid; anything unexpected leaves the bytes as they were.
fn canonical_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    else {
        return bytes;
    };
    let Some(header) = bytes.get(8..8usize.saturating_add(len)) else {
        return bytes;
    };
    let text = String::from_utf8_lossy(header);
    let trimmed = text.trim_end_matches(' ');
    // serde_json's map is a BTreeMap (no `preserve_order`): serialising sorts every key
    let Ok(sorted) =
        serde_json::from_str::<serde_json::Value>(trimmed).and_then(|v| serde_json::to_string(&v))
    else {
        return bytes;
    };
    if sorted.len() == trimmed.len() {
        bytes[8..8 + sorted.len()].copy_from_slice(sorted.as_bytes());
    }
    bytes
}

/// Serialises `tensors` with header `meta` and writes them to `path` atomically.
pub(crate) fn write(
    path: &Path,
    tensors: &[(String, Raw)],
    meta: HashMap<String, String>,
) -> Result<()> {
    let bytes = serialize(path, tensors, meta)?;
    Ok(tabpfn_weights::files::write_atomic(path, &bytes)?)
}

/// Reads a whole file of at most [`MAX_FILE_BYTES`].
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    Ok(tabpfn_weights::files::read_bounded(
        path,
        MAX_FILE_BYTES,
        "saved fits and caches",
    )?)
}
