//! The train-set cache of "fit once, predict many", as an explicit value that can be saved
//! to and loaded from safetensors.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::{Dtype, SafeTensors, View};
use serde::{Deserialize, Serialize};
use tabpfn_attention::KvCache;

use crate::error::{ModelError, Result};
use crate::nn::to_vec;
use crate::transformer::PerFeatureTransformer;
use crate::x_encoder::XEncoderState;
use crate::y_encoder::YEncoderState;

const FORMAT: &str = "tabpfn-rs.train-cache.v1";

/// Everything test rows need from the train rows (reference `fit_with_cache` state).
#[derive(Debug, Clone)]
pub struct TrainCache {
    pub(crate) n_features: usize,
    pub(crate) n_train: usize,
    pub(crate) x_state: XEncoderState,
    pub(crate) y_state: YEncoderState,
    /// Projected positional embeddings `[G, E]`.
    pub(crate) embeddings: Tensor<2>,
    /// Per layer: head-0 K/V of the train rows, `[G+1, 1, N, D]`.
    pub(crate) kv: Vec<KvCache>,
    pub(crate) query_chunk: Option<usize>,
    /// The same K/V as host buffers for the CPU kernels, made once (at fit time on the CPU
    /// path, else at the first CPU predict) instead of on every call.
    pub(crate) host_kv: std::sync::OnceLock<Vec<crate::cpu::HeadZeroKv>>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    n_features: usize,
    n_train: usize,
    n_layers: usize,
    emsize: usize,
    x_state: XEncoderState,
    y_state: YEncoderState,
}

/// A tensor to write: shape and little-endian bytes (f32, or f64 via [`Raw::f64`]).
pub(crate) struct Raw(pub(crate) Vec<usize>, pub(crate) Vec<u8>, pub(crate) Dtype);

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.2
    }
    fn shape(&self) -> &[usize] {
        &self.0
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.1)
    }
    fn data_len(&self) -> usize {
        self.1.len()
    }
}

fn raw<const D: usize>(t: &Tensor<D>) -> Raw {
    let shape = t.dims().to_vec();
    let bytes = to_vec(t.clone())
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    Raw(shape, bytes, Dtype::F32)
}

impl Raw {
    pub(crate) fn f64(shape: Vec<usize>, values: &[f64]) -> Self {
        Raw(
            shape,
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Dtype::F64,
        )
    }
}

impl TrainCache {
    /// Number of train rows cached.
    pub fn n_train(&self) -> usize {
        self.n_train
    }

    /// Number of feature columns the cache was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Per-layer head-0 K/V of the train rows.
    pub fn layer_kv(&self) -> &[KvCache] {
        &self.kv
    }

    pub(crate) fn check_compatible(
        &self,
        model: &PerFeatureTransformer,
        cols: usize,
    ) -> Result<()> {
        if self.kv.len() != model.n_layers() {
            return Err(ModelError::Cache(format!(
                "built for {} layers, the model has {}",
                self.kv.len(),
                model.n_layers()
            )));
        }
        if self.embeddings.dims()[1] != model.config().emsize {
            return Err(ModelError::Cache(format!(
                "built for emsize {}, the model has {}",
                self.embeddings.dims()[1],
                model.config().emsize
            )));
        }
        if cols != self.n_features {
            return Err(ModelError::Input {
                name: "x".into(),
                reason: format!(
                    "has {cols} feature columns, the cache was fitted on {}",
                    self.n_features
                ),
            });
        }
        Ok(())
    }

    fn header(&self) -> Header {
        Header {
            format: FORMAT.into(),
            n_features: self.n_features,
            n_train: self.n_train,
            n_layers: self.kv.len(),
            emsize: self.embeddings.dims()[1],
            x_state: self.x_state.clone(),
            y_state: self.y_state.clone(),
        }
    }

    /// The cache's tensors under `prefix` (for files holding several caches).
    pub(crate) fn raw_tensors(&self, prefix: &str) -> Vec<(String, Raw)> {
        let mut tensors: Vec<(String, Raw)> =
            vec![(format!("{prefix}embeddings"), raw(&self.embeddings))];
        for (l, kv) in self.kv.iter().enumerate() {
            tensors.push((format!("{prefix}layers.{l}.k"), raw(kv.keys())));
            tensors.push((format!("{prefix}layers.{l}.v"), raw(kv.values())));
        }
        tensors
    }

    /// The JSON header describing the cache (format, sizes, encoder states).
    pub(crate) fn header_json(&self) -> Result<String> {
        serde_json::to_string(&self.header()).map_err(|e| ModelError::Cache(e.to_string()))
    }

    /// Writes the cache as safetensors (temp file + rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let tensors = self.raw_tensors("");
        let meta: HashMap<String, String> =
            [("tabpfn_cache".to_string(), self.header_json()?)].into();
        write_safetensors(path, &tensors, meta)
    }

    /// Reads a cache written by [`TrainCache::save`] onto `model`'s device.
    pub fn load(path: impl AsRef<Path>, model: &PerFeatureTransformer) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |m: String| ModelError::Cache(format!("{}: {m}", path.display()));
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("{e:?}")))?;
        let header = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("tabpfn_cache"))
            .ok_or_else(|| bad("no `tabpfn_cache` header; not a train-set cache".into()))?
            .clone();
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("{e:?}")))?;
        Self::from_safetensors(&st, "", &header, model).map_err(|e| match e {
            ModelError::Cache(m) => bad(m),
            other => other,
        })
    }

    /// Rebuilds a cache from `header` (see [`header_json`](Self::header_json)) and the
    /// tensors under `prefix` of an open safetensors file.
    pub(crate) fn from_safetensors(
        st: &SafeTensors<'_>,
        prefix: &str,
        header: &str,
        model: &PerFeatureTransformer,
    ) -> Result<Self> {
        let bad = ModelError::Cache;
        let header: Header = serde_json::from_str(header).map_err(|e| bad(e.to_string()))?;
        if header.format != FORMAT {
            return Err(bad(format!(
                "format `{}`, expected `{FORMAT}`",
                header.format
            )));
        }
        let device = model.device();
        let get = |name: &str| -> Result<(Vec<usize>, Vec<f32>)> {
            let name = format!("{prefix}{name}");
            let v = st
                .tensor(&name)
                .map_err(|e| bad(format!("{name}: {e:?}")))?;
            if v.dtype() != Dtype::F32 {
                return Err(bad(format!("{name}: dtype {:?}, expected F32", v.dtype())));
            }
            let data = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok((v.shape().to_vec(), data))
        };
        let t4 = |name: &str| -> Result<Tensor<4>> {
            let (s, d) = get(name)?;
            if s.len() != 4 {
                return Err(bad(format!("{prefix}{name}: rank {}, expected 4", s.len())));
            }
            Ok(Tensor::from_data(
                TensorData::new(d, [s[0], s[1], s[2], s[3]]),
                device,
            ))
        };
        let (es, ed) = get("embeddings")?;
        if es.len() != 2 {
            return Err(bad(format!("{prefix}embeddings: expected rank 2")));
        }
        let embeddings = Tensor::from_data(TensorData::new(ed, [es[0], es[1]]), device);
        let mut kv = Vec::with_capacity(header.n_layers);
        for l in 0..header.n_layers {
            kv.push(KvCache::new(
                t4(&format!("layers.{l}.k"))?,
                t4(&format!("layers.{l}.v"))?,
            )?);
        }
        let cache = Self {
            n_features: header.n_features,
            n_train: header.n_train,
            x_state: header.x_state,
            y_state: header.y_state,
            embeddings,
            kv,
            query_chunk: None,
            host_kv: Default::default(),
        };
        cache.check_compatible(model, cache.n_features)?;
        Ok(cache)
    }
}

/// Serialises `tensors` with `meta` and writes them atomically (temp file + rename).
pub(crate) fn write_safetensors(
    path: &Path,
    tensors: &[(String, Raw)],
    meta: HashMap<String, String>,
) -> Result<()> {
    let bytes =
        safetensors::tensor::serialize(tensors.iter().map(|(n, r)| (n.as_str(), r)), Some(meta))
            .map_err(|e| ModelError::Cache(format!("{e:?}")))?;
    let tmp = path.with_extension("tmp-write");
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
