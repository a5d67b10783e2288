//! Saving and loading fitted estimators (`--save-fit` / `--load-fit`): one safetensors
//! file with the encoded train table (float64), each member's train-row K/V cache when
//! fitted with `fit_with_cache`, and a JSON header (format, task, model config, estimator
//! knobs, encoder, labels, seeds). Member preprocessing is re-derived on load from the
//! stored table and seeds — it is deterministic, so the members are the same ones.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cache::{write_safetensors, Raw, TrainCache};
use crate::error::{ModelError, Result};
use crate::rng::TorchRng;
use crate::transformer::PerFeatureTransformer;

const FORMAT: &str = "tabpfn-rs.fit.v1";
const KEY: &str = "tabpfn_fit";

/// What the header holds besides the task-specific state.
#[derive(Serialize, Deserialize)]
pub(crate) struct FitHeader<S> {
    pub format: String,
    pub task: String,
    pub model_config: Value,
    pub state: S,
    /// One cache header per member (fit_with_cache), else empty.
    pub caches: Vec<String>,
    /// The generator of the positional embeddings baked into the caches (absent in files
    /// from before it existed: the CPU one).
    #[serde(default)]
    pub torch_rng: TorchRng,
}

fn bad(path: &Path, m: impl std::fmt::Display) -> ModelError {
    ModelError::SavedFit(format!("{}: {m}", path.display()))
}

/// Writes `state`, the encoded train columns and the member caches to `path`.
pub(crate) fn save<S: Serialize>(
    path: &Path,
    task: &str,
    model: &PerFeatureTransformer,
    state: &S,
    columns: &[Vec<f64>],
    rows: usize,
    caches: &[Option<&TrainCache>],
) -> Result<()> {
    let mut flat = vec![0.0; rows * columns.len()];
    for (j, c) in columns.iter().enumerate() {
        for (i, &v) in c.iter().enumerate() {
            flat[i * columns.len() + j] = v;
        }
    }
    let mut tensors = vec![(
        "encoded_train".to_string(),
        Raw::f64(vec![rows, columns.len()], &flat),
    )];
    let mut cache_headers = Vec::new();
    for (i, c) in caches.iter().enumerate() {
        if let Some(c) = c {
            tensors.extend(c.raw_tensors(&format!("members.{i}.")));
            cache_headers.push(c.header_json()?);
        }
    }
    let header = FitHeader {
        format: FORMAT.into(),
        task: task.into(),
        model_config: serde_json::to_value(model.config()).map_err(|e| bad(path, e))?,
        state,
        caches: cache_headers,
        torch_rng: model.torch_rng(),
    };
    let meta: HashMap<String, String> = [(
        KEY.to_string(),
        serde_json::to_string(&header).map_err(|e| bad(path, e))?,
    )]
    .into();
    write_safetensors(path, &tensors, meta)
}

/// What [`load`] returns: the state, the encoded train columns and the member caches.
pub(crate) struct Loaded<S> {
    pub state: S,
    pub columns: Vec<Vec<f64>>,
    pub rows: usize,
    pub caches: Vec<TrainCache>,
}

/// Reads a file written by [`save`] for `task`, checking it against `model`.
pub(crate) fn load<S: for<'de> Deserialize<'de>>(
    path: &Path,
    task: &str,
    model: &PerFeatureTransformer,
) -> Result<Loaded<S>> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(path, format!("not a saved fit ({e:?})")))?;
    let text = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(KEY))
        .ok_or_else(|| {
            bad(
                path,
                format!("no `{KEY}` header; not a file written by --save-fit"),
            )
        })?;
    let header: FitHeader<Value> = serde_json::from_str(text).map_err(|e| bad(path, e))?;
    if header.format != FORMAT {
        return Err(bad(
            path,
            format!("format `{}`, expected `{FORMAT}`", header.format),
        ));
    }
    if header.task != task {
        return Err(bad(
            path,
            format!("holds a fitted {}, not a {task}", header.task),
        ));
    }
    let current = serde_json::to_value(model.config()).map_err(|e| bad(path, e))?;
    if current != header.model_config {
        return Err(bad(
            path,
            "was fitted with a model of a different configuration than the one loaded",
        ));
    }
    if !header.caches.is_empty() && header.torch_rng != model.torch_rng() {
        return Err(bad(
            path,
            format!(
                "its K/V caches hold the positional embeddings of torch's {} generator, but \
                 the model reproduces the {} one (--torch-rng)",
                header.torch_rng,
                model.torch_rng()
            ),
        ));
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(path, format!("{e:?}")))?;
    let t = st
        .tensor("encoded_train")
        .map_err(|e| bad(path, format!("encoded_train: {e:?}")))?;
    if t.dtype() != Dtype::F64 || t.shape().len() != 2 {
        return Err(bad(path, "encoded_train: expected a 2-d float64 tensor"));
    }
    let (rows, cols) = (t.shape()[0], t.shape()[1]);
    let flat: Vec<f64> = t
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    let columns = (0..cols)
        .map(|j| (0..rows).map(|i| flat[i * cols + j]).collect())
        .collect();
    let caches = header
        .caches
        .iter()
        .enumerate()
        .map(|(i, h)| TrainCache::from_safetensors(&st, &format!("members.{i}."), h, model))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| bad(path, e))?;
    let state = serde_json::from_value(header.state).map_err(|e| bad(path, e))?;
    Ok(Loaded {
        state,
        columns,
        rows,
        caches,
    })
}
