//! safetensors in the layout of `tabpfn.checkpoint.save_as_safetensors` (tabpfn ≥ 8.0.4).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::json::py_dumps;
use crate::{Checkpoint, Format, Tensor32, WeightsError};

/// A safetensors file starts with a little-endian u64 header length and then `{`.
pub(crate) fn looks_like(bytes: &[u8]) -> bool {
    if bytes.len() < 9 {
        return false;
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[..8]);
    let n = u64::from_le_bytes(n);
    n > 0 && n < bytes.len() as u64 && bytes[8] == b'{'
}

fn st_err(path: &Path, e: impl std::fmt::Display) -> WeightsError {
    WeightsError::Safetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Checkpoint, WeightsError> {
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
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F64 => data
                .chunks_exact(8)
                .map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    f64::from_le_bytes(a) as f32
                })
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(WeightsError::UnsupportedDtype(format!(
                    "tensor `{name}` is {other:?}; only float tensors are supported"
                )))
            }
        };
        let dtype_name = match view.dtype() {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::F16 => "float16",
            _ => "bfloat16",
        };
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
    fn dtype(&self) -> Dtype {
        Dtype::F32
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
    let io = |source| WeightsError::Io {
        path: out.to_path_buf(),
        source,
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(WeightsError::Io {
            path: out.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("output directory `{}` does not exist", dir.display()),
            ),
        });
    }
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
    let mut tmp = tempfile_in(&dir, out).map_err(io)?;
    let result = (|| {
        tmp.1.write_all(&bytes)?;
        tmp.1.sync_all()?;
        std::fs::rename(&tmp.0, out)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp.0);
        return Err(io(e));
    }
    Ok(())
}

fn tempfile_in(dir: &Path, out: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let stem = out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    for i in 0..1000u32 {
        let p = dir.join(format!(".{stem}.{}.{i}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("could not create a temporary file"))
}
