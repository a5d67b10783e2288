//! Saving and loading fitted estimators (`--save-fit` / `--load-fit`, Python `save` /
//! `load`): one safetensors file with the encoded train table (float64), each member's
//! train-row K/V cache when fitted with `fit_with_cache`, and a JSON header (format, task,
//! model config, estimator knobs, encoder, the task head's labels or targets, seeds).
//! Member preprocessing is re-derived on load from the stored table and seeds — it is
//! deterministic, so the members are the same ones. A many-class fit (the output code)
//! nests one such file per codebook row, next to the codebook and the training table.
//!
//! Integrity: a SHA-256 over the header and every tensor (name, dtype, shape, bytes) is
//! stored next to the header and checked before anything else is read, so a modified or
//! truncated file is an error, never a silently different prediction. Every count in the
//! header is then checked against the others (see `Fitted::load`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use safetensors::tensor::SafeTensors;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tabpfn_weights::dtype::{decode_f64, Dtype};

use super::classifier::FittedClassifier;
use super::encode::TableEncoder;
use super::estimator::EstimatorConfig;
use super::fitted::Head;
use super::frame::{ClassLabel, Column, ColumnValues, DataFrame};
use super::many_class::{FittedManyClass, MAX_CODEBOOK_ROWS};
use crate::cache::TrainCache;
use crate::error::{ModelError, Result};
use crate::tensor_file::{self, Raw};
use crate::torch_rng::TorchRng;
use crate::transformer::PerFeatureTransformer;

const FORMAT: &str = "tabpfn-rs.fit.v2";
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

fn bad(path: &Path, m: impl std::fmt::Display) -> ModelError {
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
fn signed(path: &Path, text: String, tensors: &[(String, Raw)]) -> Result<Vec<u8>> {
    let hash = digest(
        &text,
        tensors
            .iter()
            .map(|(n, r)| (n.as_str(), r.dtype(), r.shape(), r.bytes())),
    );
    let meta = HashMap::from([(KEY.to_string(), text), (HASH_KEY.to_string(), hash)]);
    tensor_file::serialize(path, tensors, meta)
}

/// The header text and tensors of a saved fit whose integrity hash matches.
fn verified<'a>(path: &Path, bytes: &'a [u8]) -> Result<(String, SafeTensors<'a>)> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(path, format!("not a saved fit ({e:?})")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let text = meta.get(KEY).ok_or_else(|| {
        bad(
            path,
            format!("no `{KEY}` header; not a file written by --save-fit"),
        )
    })?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(path, format!("{e:?}")))?;
    let stored = meta.get(HASH_KEY).ok_or_else(|| {
        bad(
            path,
            "has no integrity hash (written by an older version?); fit it again",
        )
    })?;
    let found = digest(
        text,
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
    Ok((text.clone(), st))
}

/// The `task` a saved fit's header names, to pick the loader; the loader then checks the
/// integrity hash over everything, this name included.
pub(crate) fn saved_task_name(path: &Path, bytes: &[u8]) -> Result<String> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
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
    let header: Value = serde_json::from_str(text).map_err(|e| bad(path, e))?;
    header
        .get("task")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad(path, "header has no `task`"))
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
    // format and task first: another task's header has other fields
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(path, e))?;
    let field = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("?");
    if field("format") != FORMAT {
        return Err(bad(
            path,
            format!("format `{}`, expected `{FORMAT}`", field("format")),
        ));
    }
    if field("task") != task {
        return Err(bad(
            path,
            format!("holds a fitted {}, not a {task}", field("task")),
        ));
    }
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
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(path, format!("{e:?}")))?;
    let mut meta = meta.metadata().clone().unwrap_or_default();
    let text = meta
        .get(KEY)
        .ok_or_else(|| bad(path, format!("no `{KEY}` header")))?
        .clone();
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
        Some(MANY_CLASS_TASK) => Ok(crate::Task::Classification),
        other => Err(bad(
            path,
            format!(
                "task {other:?}, expected \"classifier\", \"regressor\" or \"{MANY_CLASS_TASK}\""
            ),
        )),
    }
}

/// The `task` of a saved many-class fit ([`super::many_class`]).
pub(crate) const MANY_CLASS_TASK: &str = "many-class classifier";

/// A saved many-class fit's header. Each codebook row's ensemble is a whole saved
/// classifier fit, stored as the bytes of tensor `rows.{i}` (so each row carries its own
/// hash, model and field checks); the training table's numeric columns are the float64
/// tensors `x_train.{j}`, its text columns are here.
#[derive(Serialize, Deserialize)]
struct ManyClassHeader {
    format: String,
    task: String,
    classes: Vec<ClassLabel>,
    alphabet: usize,
    book: Vec<Vec<usize>>,
    /// The training table predicted with the test rows; `None` for a row-independent fit.
    x_train: Option<Vec<SavedColumn>>,
}

#[derive(Serialize, Deserialize)]
struct SavedColumn {
    name: String,
    /// A text column's values; `None` for a numeric column (tensor `x_train.{j}`).
    text: Option<Vec<Option<String>>>,
}

/// Serialises a many-class fit (`path` names the result in errors).
pub(crate) fn many_class_to_bytes(path: &Path, fit: &FittedManyClass) -> Result<Vec<u8>> {
    let mut tensors = Vec::with_capacity(fit.rows.len());
    for (i, row) in fit.rows.iter().enumerate() {
        let bytes = row.to_bytes_named(path)?;
        tensors.push((format!("rows.{i}"), Raw::u8(&bytes)));
    }
    let x_train = fit.x_train.as_ref().map(|x| {
        x.columns()
            .iter()
            .enumerate()
            .map(|(j, c)| match &c.values {
                ColumnValues::Numeric(v) => {
                    tensors.push((format!("x_train.{j}"), Raw::f64(vec![v.len()], v)));
                    SavedColumn {
                        name: c.name.clone(),
                        text: None,
                    }
                }
                ColumnValues::Text(v) => SavedColumn {
                    name: c.name.clone(),
                    text: Some(v.clone()),
                },
            })
            .collect()
    });
    let header = ManyClassHeader {
        format: FORMAT.into(),
        task: MANY_CLASS_TASK.into(),
        classes: fit.classes.clone(),
        alphabet: fit.alphabet,
        book: fit.book.clone(),
        x_train,
    };
    let text = serde_json::to_string(&header).map_err(|e| bad(path, e))?;
    signed(path, text, &tensors)
}

/// Parses bytes written by [`many_class_to_bytes`], checking their integrity, every row's
/// fit against `model`, and the codebook, the rows' labels and the training table against
/// each other.
pub(crate) fn many_class_from_bytes(
    path: &Path,
    bytes: &[u8],
    model: Arc<PerFeatureTransformer>,
) -> Result<FittedManyClass> {
    let (text, st) = verified(path, bytes)?;
    let h: ManyClassHeader = serde_json::from_str(&text).map_err(|e| bad(path, e))?;
    if h.format != FORMAT || h.task != MANY_CLASS_TASK {
        return Err(bad(
            path,
            format!(
                "format `{}`, task `{}`; expected `{FORMAT}`, `{MANY_CLASS_TASK}`",
                h.format, h.task
            ),
        ));
    }
    let n_classes = h.classes.len();
    let limit = model.config().n_out();
    if !(2..=limit).contains(&h.alphabet) {
        return Err(bad(
            path,
            format!(
                "alphabet of {} symbols; the model allows 2 to {limit}",
                h.alphabet
            ),
        ));
    }
    if n_classes < 2 || h.book.is_empty() || h.book.len() > MAX_CODEBOOK_ROWS {
        return Err(bad(
            path,
            format!(
                "{n_classes} classes and {} codebook rows; expected at least 2 classes and 1 \
                 to {MAX_CODEBOOK_ROWS} rows",
                h.book.len()
            ),
        ));
    }
    let mut rows = Vec::with_capacity(h.book.len());
    for (i, codes) in h.book.iter().enumerate() {
        if codes.len() != n_classes || codes.iter().any(|&c| c >= h.alphabet) {
            return Err(bad(
                path,
                format!(
                    "codebook row {i}: expected {n_classes} symbols below {}",
                    h.alphabet
                ),
            ));
        }
        let t = st.tensor(&format!("rows.{i}")).map_err(|_| {
            bad(
                path,
                format!(
                    "no tensor rows.{i}, but the codebook has {} rows",
                    h.book.len()
                ),
            )
        })?;
        if t.dtype() != safetensors::Dtype::U8 || t.shape().len() != 1 {
            return Err(bad(path, format!("rows.{i}: expected a 1-d uint8 tensor")));
        }
        let name = format!("{} (codebook row {i})", path.display());
        let row = FittedClassifier::from_bytes_named(Path::new(&name), t.data(), model.clone())?;
        // the row's labels are the symbols its codebook row uses, sorted
        let mut used: Vec<usize> = codes.clone();
        used.sort_unstable();
        used.dedup();
        let want: Vec<ClassLabel> = used
            .iter()
            .map(|&c| ClassLabel::Numeric(c as f64))
            .collect();
        if row.classes() != want.as_slice() {
            return Err(bad(
                path,
                format!("codebook row {i}: its fit's labels are not the row's symbols {used:?}"),
            ));
        }
        if let Some(first) = rows.first() {
            let first: &FittedClassifier = first;
            if row.ensemble().feature_names() != first.ensemble().feature_names()
                || row.n_train() != first.n_train()
            {
                return Err(bad(
                    path,
                    format!("codebook row {i}: fitted on another table than row 0"),
                ));
            }
        }
        rows.push(row);
    }
    let first = &rows[0];
    if first.config().row_independent == h.x_train.is_some() {
        return Err(bad(
            path,
            "the training table must be stored exactly when the fit is not row independent",
        ));
    }
    let numeric = h
        .x_train
        .as_ref()
        .map_or(0, |c| c.iter().filter(|c| c.text.is_none()).count());
    if st.len() != rows.len() + numeric {
        return Err(bad(path, "holds tensors the header does not name"));
    }
    let x_train = match h.x_train {
        None => None,
        Some(cols) => {
            let n = first.n_train();
            let mut columns = Vec::with_capacity(cols.len());
            for (j, c) in cols.into_iter().enumerate() {
                let values = match c.text {
                    Some(v) => ColumnValues::Text(v),
                    None => {
                        let t = st
                            .tensor(&format!("x_train.{j}"))
                            .map_err(|e| bad(path, format!("x_train.{j}: {e:?}")))?;
                        if t.dtype() != safetensors::Dtype::F64 || t.shape().len() != 1 {
                            return Err(bad(
                                path,
                                format!("x_train.{j}: expected a 1-d float64 tensor"),
                            ));
                        }
                        ColumnValues::Numeric(decode_f64("x_train", Dtype::F64, t.data())?)
                    }
                };
                if values.len() != n {
                    return Err(bad(
                        path,
                        format!(
                            "training column `{}` has {} rows, the fits {n}",
                            c.name,
                            values.len()
                        ),
                    ));
                }
                columns.push(Column {
                    name: c.name,
                    values,
                });
            }
            if columns.len() != first.ensemble().n_features() {
                return Err(bad(
                    path,
                    format!(
                        "training table of {} columns, the fits {}",
                        columns.len(),
                        first.ensemble().n_features()
                    ),
                ));
            }
            Some(DataFrame::new(columns).map_err(|e| bad(path, e))?)
        }
    };
    Ok(FittedManyClass {
        classes: h.classes,
        alphabet: h.alphabet,
        book: h.book,
        rows,
        x_train,
    })
}
