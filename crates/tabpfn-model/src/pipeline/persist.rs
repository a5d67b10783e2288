//! Saving and loading fitted estimators (`--save-fit` / `--load-fit`, Python `save` /
//! `load`): one safetensors file with the encoded train table (float64), each member's
//! train-row K/V cache when fitted with `fit_with_cache`, and a JSON header (format, task,
//! model config, estimator knobs, encoder, the task head's labels or targets, seeds).
//! Member preprocessing is re-derived on load from the stored table and seeds — it is
//! deterministic, so the members are the same ones. Many-class fits nest these files
//! ([`super::persist_many_class`]).
//!
//! Integrity: a SHA-256 over the header and every tensor (name, dtype, shape, bytes) is
//! stored next to the header and checked before anything else is read, so a modified or
//! truncated file is an error, never a silently different prediction. Every count in the
//! header is then checked against the others (see `Fitted::load`).

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::SafeTensors;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tabpfn_weights::dtype::{decode_f64, Dtype};

use super::encode::TableEncoder;
use super::estimator::EstimatorConfig;
use super::fitted::Head;
use crate::cache::TrainCache;
use crate::error::{ModelError, Result};
use crate::tensor_file::{self, Raw};
use crate::torch_rng::TorchRng;
use crate::transformer::PerFeatureTransformer;

pub(super) const FORMAT: &str = "tabpfn-rs.fit.v2";
const KEY: &str = "tabpfn_fit";
const HASH_KEY: &str = "tabpfn_fit_sha256";

/// The part of the saved state both tasks share.
#[derive(Serialize, Deserialize)]
pub(crate) struct Common {
    pub config: EstimatorConfig,
    #[serde(default)]
    pub target_name: Option<String>,
    pub encoder: TableEncoder,
    pub seeds: Vec<u64>,
}

/// The header: format, task, model, the common state and the task head's.
#[derive(Serialize, Deserialize)]
struct FitHeader<C, H> {
    format: String,
    task: String,
    model_config: Value,
    common: C,
    head: H,
    /// One cache header per member (fit_with_cache), else empty.
    caches: Vec<String>,
    /// The generator of the positional embeddings baked into the caches.
    torch_rng: TorchRng,
    /// [`PerFeatureTransformer::weights_sha256`] of the model fitted with (absent in fits
    /// saved before it was recorded: those are checked by configuration only).
    #[serde(default)]
    model_weights_sha256: Option<String>,
}

pub(super) fn bad(path: &Path, m: impl std::fmt::Display) -> ModelError {
    ModelError::SavedFit(format!("{}: {m}", path.display()))
}

/// SHA-256 over the header text and every tensor (name, dtype, shape, bytes) in name order.
fn digest<'a>(
    header: &str,
    tensors: impl Iterator<Item = (&'a str, safetensors::Dtype, &'a [usize], &'a [u8])>,
) -> String {
    let mut tensors: Vec<_> = tensors.collect();
    tensors.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    h.update((header.len() as u64).to_le_bytes());
    h.update(header.as_bytes());
    for (name, dtype, shape, data) in tensors {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(format!("{dtype:?}{shape:?}").as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    format!("{:x}", h.finalize())
}

/// Serialises the common and head state, the encoded train columns and the member caches
/// (`path` names the result in errors).
#[allow(clippy::too_many_arguments)]
pub(crate) fn to_bytes<H: Serialize>(
    path: &Path,
    task: &str,
    model: &PerFeatureTransformer,
    common: &Common,
    head: &H,
    columns: &[Vec<f64>],
    rows: usize,
    caches: &[Option<&TrainCache>],
) -> Result<Vec<u8>> {
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
            tensors.extend(c.raw_tensors(&format!("members.{i}."))?);
            cache_headers.push(c.header_json()?);
        }
    }
    let header = FitHeader {
        format: FORMAT.into(),
        task: task.into(),
        model_config: serde_json::to_value(model.config()).map_err(|e| bad(path, e))?,
        model_weights_sha256: Some(model.weights_sha256()),
        common,
        head,
        caches: cache_headers,
        torch_rng: model.torch_rng(),
    };
    let text = serde_json::to_string(&header).map_err(|e| bad(path, e))?;
    signed(path, text, &tensors)
}

/// The file of header `text` and `tensors`, with the integrity hash over both.
pub(super) fn signed(path: &Path, text: String, tensors: &[(String, Raw)]) -> Result<Vec<u8>> {
    let hash = digest(
        &text,
        tensors
            .iter()
            .map(|(n, r)| (n.as_str(), r.dtype(), r.shape(), r.bytes())),
    );
    let meta = HashMap::from([(KEY.to_string(), text), (HASH_KEY.to_string(), hash)]);
    tensor_file::serialize(path, tensors, meta)
}

/// The fit's header text and the rest of a saved fit's safetensors metadata.
fn fit_metadata(path: &Path, bytes: &[u8]) -> Result<(String, HashMap<String, String>)> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(path, format!("not a saved fit ({e:?})")))?;
    let mut meta = meta.metadata().clone().unwrap_or_default();
    let text = meta.remove(KEY).ok_or_else(|| {
        bad(
            path,
            format!("no `{KEY}` header; not a file written by --save-fit"),
        )
    })?;
    Ok((text, meta))
}

/// The header text and tensors of a saved fit whose integrity hash matches.
pub(super) fn verified<'a>(path: &Path, bytes: &'a [u8]) -> Result<(String, SafeTensors<'a>)> {
    let (text, meta) = fit_metadata(path, bytes)?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(path, format!("{e:?}")))?;
    let stored = meta.get(HASH_KEY).ok_or_else(|| {
        bad(
            path,
            "has no integrity hash (written by an older version?); fit it again",
        )
    })?;
    let found = digest(
        &text,
        st.tensors()
            .iter()
            .map(|(n, t)| (n.as_str(), t.dtype(), t.shape(), t.data())),
    );
    if *stored != found {
        return Err(bad(
            path,
            "integrity check failed: the file was modified or corrupted after it was saved",
        ));
    }
    Ok((text, st))
}

/// The `task` a saved fit's header names, to pick the loader; the loader then checks the
/// integrity hash over everything, this name included.
pub(crate) fn saved_task_name(path: &Path, bytes: &[u8]) -> Result<String> {
    let (text, _) = fit_metadata(path, bytes)?;
    let header: Value = serde_json::from_str(&text).map_err(|e| bad(path, e))?;
    header
        .get("task")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad(path, "header has no `task`"))
}

/// The parsed header `text`, checked to be of this format and of `task` first: another
/// task's header has other fields, which the typed parse would report less clearly.
pub(super) fn checked_header(path: &Path, text: &str, task: &str) -> Result<Value> {
    let value: Value = serde_json::from_str(text).map_err(|e| bad(path, e))?;
    let field = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("?");
    if field("format") != FORMAT {
        return Err(bad(
            path,
            format!("format `{}`, expected `{FORMAT}`", field("format")),
        ));
    }
    if field("task") != task {
        let hint = if field("task") == super::persist_many_class::TASK {
            " (FittedEstimator::load reads it)"
        } else {
            ""
        };
        return Err(bad(
            path,
            format!("holds a fitted {}, not a {task}{hint}", field("task")),
        ));
    }
    Ok(value)
}

/// What [`from_bytes`] returns: the states, the encoded train columns and the member caches.
pub(crate) struct Loaded<H> {
    pub common: Common,
    pub head: H,
    pub columns: Vec<Vec<f64>>,
    pub rows: usize,
    pub caches: Vec<TrainCache>,
}

/// Parses bytes written by [`to_bytes`] for `task` (`path` names them in errors),
/// checking their integrity and `model`.
pub(crate) fn from_bytes<H: DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    task: &str,
    model: &PerFeatureTransformer,
) -> Result<Loaded<H>> {
    let (text, st) = verified(path, bytes)?;
    let value = checked_header(path, &text, task)?;
    let header: FitHeader<Common, Value> =
        serde_json::from_value(value).map_err(|e| bad(path, e))?;
    let current = serde_json::to_value(model.config()).map_err(|e| bad(path, e))?;
    if current != header.model_config {
        return Err(bad(
            path,
            "was fitted with a model of a different configuration than the one loaded",
        ));
    }
    if let Some(saved) = &header.model_weights_sha256 {
        let loaded = model.weights_sha256();
        if *saved != loaded {
            return Err(bad(
                path,
                format!(
                    "was fitted with other weights than the model loaded (weights SHA-256 \
                     {saved}, the model's {loaded}); load it with the model it was fitted with"
                ),
            ));
        }
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
    let t = st
        .tensor("encoded_train")
        .map_err(|e| bad(path, format!("encoded_train: {e:?}")))?;
    if t.dtype() != safetensors::Dtype::F64 || t.shape().len() != 2 {
        return Err(bad(path, "encoded_train: expected a 2-d float64 tensor"));
    }
    let (rows, cols) = (t.shape()[0], t.shape()[1]);
    let flat = decode_f64("encoded_train", Dtype::F64, t.data())?;
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
    let head = serde_json::from_value(header.head).map_err(|e| bad(path, format!("head: {e}")))?;
    Ok(Loaded {
        common: header.common,
        head,
        columns,
        rows,
        caches,
    })
}

/// Recomputes the integrity hash of a saved fit in place, so that tests and the fuzzer can
/// reach the field-by-field validation behind the hash with edited files. Not for users:
/// re-signing a damaged file hides the damage.
pub(crate) fn resign(path: &Path) -> Result<()> {
    let bytes = tensor_file::read(path)?;
    let (text, mut meta) = fit_metadata(path, &bytes)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(path, format!("{e:?}")))?;
    let tensors: Vec<(String, Raw)> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, Raw::from_view(&t)))
        .collect();
    let hash = digest(
        &text,
        tensors
            .iter()
            .map(|(n, r)| (n.as_str(), r.dtype(), r.shape(), r.bytes())),
    );
    meta.insert(HASH_KEY.to_string(), hash);
    meta.insert(KEY.to_string(), text);
    tensor_file::write(path, &tensors, meta)
}

/// The largest safetensors header [`saved_task`] reads: a saved fit's header is its JSON
/// state plus one entry per tensor, far below this.
const MAX_HEADER_BYTES: u64 = 256 << 20;

/// Which estimator a saved-fit file holds, read from its header alone (the tensors are not
/// read), so that a front end can pick the matching model before loading the fit. The
/// integrity and model checks happen at the full load.
pub fn saved_task(path: &Path) -> Result<crate::Task> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| bad(path, format!("cannot open the saved fit: {e}")))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| bad(path, "shorter than a safetensors header; not a saved fit"))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER_BYTES {
        return Err(bad(
            path,
            format!("header of {n} bytes, more than the {MAX_HEADER_BYTES} a saved fit has"),
        ));
    }
    // grows with what the file really holds, not with the length it declares
    let mut text = Vec::new();
    f.take(n)
        .read_to_end(&mut text)
        .map_err(|e| bad(path, format!("cannot read the header: {e}")))?;
    if text.len() as u64 != n {
        return Err(bad(
            path,
            format!("header says {n} bytes, the file holds {}", text.len()),
        ));
    }
    let header: Value = serde_json::from_slice(&text)
        .map_err(|e| bad(path, format!("header is not JSON ({e}); not a saved fit")))?;
    let fit = header
        .get("__metadata__")
        .and_then(|m| m.get(KEY))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(
                path,
                format!("no `{KEY}` header; not a file written by --save-fit"),
            )
        })?;
    let fit: Value = serde_json::from_str(fit).map_err(|e| bad(path, e))?;
    match fit.get("task").and_then(Value::as_str) {
        Some(t) if t == <super::classifier::Classification as Head>::TASK => {
            Ok(crate::Task::Classification)
        }
        Some(t) if t == <super::regressor::Regression as Head>::TASK => Ok(crate::Task::Regression),
        Some(super::persist_many_class::TASK) => Ok(crate::Task::Classification),
        other => Err(bad(
            path,
            format!(
                "task {other:?}, expected \"classifier\", \"regressor\" or \"{}\"",
                super::persist_many_class::TASK
            ),
        )),
    }
}
