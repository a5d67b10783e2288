//! safetensors in the layout of `tabpfn.checkpoint.save_as_safetensors` (tabpfn ≥ 8.0.4).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{SafeTensors, View};

use crate::dtype::{decode_f32, Dtype};

use crate::json::py_dumps;
use crate::{Checkpoint, Format, Tensor32, WeightsError};

/// A safetensors file starts with a little-endian u64 header length and then `{`; whether
/// that length fits the file is for the reader to say (a clear error, not "not a zip").
pub(crate) fn looks_like(bytes: &[u8]) -> bool {
    bytes.len() >= 9 && bytes[8] == b'{' && !bytes.starts_with(b"PK")
}

fn st_err(path: &Path, e: impl std::fmt::Display) -> WeightsError {
    WeightsError::Safetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Checkpoint, WeightsError> {
    let declared = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
    if declared > (bytes.len() - 8) as u64 {
        return Err(st_err(
            path,
            format!(
                "the header claims {declared} bytes, but the file has only {} after the length \
                 field (truncated?)",
                bytes.len() - 8
            ),
        ));
    }
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| st_err(path, format!("{e:?}")))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| st_err(path, format!("{e:?}")))?;
    let mut ckpt = Checkpoint::empty(Format::Safetensors);
    if let Some(m) = meta.metadata() {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in keys {
            let v: serde_json::Value = serde_json::from_str(&m[k])
                .map_err(|e| st_err(path, format!("header metadata `{k}` is not JSON: {e}")))?;
            ckpt.metadata.insert(k.clone(), v);
        }
    }
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    for name in names {
        let view = st
            .tensor(&name)
            .map_err(|e| st_err(path, format!("{name}: {e:?}")))?;
        let dtype = Dtype::from_safetensors(view.dtype()).ok_or_else(|| {
            WeightsError::UnsupportedDtype(format!(
                "tensor `{name}` is {:?}; only float tensors are supported",
                view.dtype()
            ))
        })?;
        let values = decode_f32(&name, dtype, view.data())?;
        let dtype_name = dtype.name();
        *ckpt
            .info
            .source_dtypes
            .entry(dtype_name.to_string())
            .or_default() += 1;
        ckpt.tensors.push((
            name,
            Tensor32 {
                shape: view.shape().to_vec(),
                data: values,
            },
        ));
    }
    ckpt.has_state_dict = true;
    ckpt.finish(path)
}

struct F32View<'a>(&'a Tensor32);

impl View for F32View<'_> {
    fn dtype(&self) -> safetensors::Dtype {
        safetensors::Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
    fn data_len(&self) -> usize {
        self.0.data.len() * 4
    }
}

pub(crate) fn write(ckpt: &Checkpoint, out: &Path) -> Result<(), WeightsError> {
    let metadata: HashMap<String, String> = ckpt
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), py_dumps(v)))
        .collect();
    let views: Vec<(&str, F32View)> = ckpt
        .tensors
        .iter()
        .map(|(n, t)| (n.as_str(), F32View(t)))
        .collect();
    let bytes = safetensors::tensor::serialize(views, Some(metadata))
        .map_err(|e| st_err(out, format!("{e:?}")))?;
    crate::files::write_atomic(out, &bytes)
}
