//! The train-set cache of "fit once, predict many", as an explicit value that can be saved
//! to and loaded from safetensors.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::SafeTensors;
use serde::{Deserialize, Serialize};
use tabpfn_attention::{read_back, HostKv, KvCache};
use tabpfn_weights::dtype::{decode_f32, Dtype};

use crate::error::{ModelError, Result};
use crate::tensor_file::{self, Raw};
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
    /// Per layer: head-0 K/V of the train rows, `[G+1, 1, N, D]`, in the form of the stack
    /// that built it (device tensors, or host buffers on the CPU kernels).
    pub(crate) kv: Vec<KvCache>,
    /// [`PerFeatureTransformer::weights_sha256`] of the model that built it: the K/V are
    /// only valid for those weights, and a model of the same shape would not notice.
    pub(crate) weights_sha256: String,
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
    /// Absent in caches written before the digest was recorded; those load unchecked.
    #[serde(default)]
    model_weights_sha256: Option<String>,
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
        let loaded = model.weights_sha256();
        if self.weights_sha256 != loaded {
            return Err(ModelError::Cache(format!(
                "built with other weights than this model's (weights SHA-256 {}, the model's \
                 {loaded}); use the model it was fitted with",
                self.weights_sha256
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
            model_weights_sha256: Some(self.weights_sha256.clone()),
        }
    }

    /// The cache's tensors under `prefix` (for files holding several caches).
    pub(crate) fn raw_tensors(&self, prefix: &str) -> Result<Vec<(String, Raw)>> {
        let mut tensors = vec![(
            format!("{prefix}embeddings"),
            Raw::f32(
                self.embeddings.dims().to_vec(),
                &read_back(self.embeddings.clone(), "the positional embeddings")?,
            ),
        )];
        for (l, kv) in self.kv.iter().enumerate() {
            let host = kv.host()?;
            let [b, h, s, dk] = host.shape();
            let dv = kv.d_v();
            tensors.push((
                format!("{prefix}layers.{l}.k"),
                Raw::f32(vec![b, h, s, dk], host.keys()),
            ));
            tensors.push((
                format!("{prefix}layers.{l}.v"),
                Raw::f32(vec![b, h, s, dv], host.values()),
            ));
        }
        Ok(tensors)
    }

    /// The JSON header describing the cache (format, sizes, encoder states).
    pub(crate) fn header_json(&self) -> Result<String> {
        serde_json::to_string(&self.header()).map_err(|e| ModelError::Cache(e.to_string()))
    }

    /// Writes the cache as safetensors, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let tensors = self.raw_tensors("")?;
        let meta: HashMap<String, String> =
            [("tabpfn_cache".to_string(), self.header_json()?)].into();
        tensor_file::write(path, &tensors, meta)
    }

    /// Reads a cache written by [`TrainCache::save`] for `model`.
    pub fn load(path: impl AsRef<Path>, model: &PerFeatureTransformer) -> Result<Self> {
        let path = path.as_ref();
        let bytes = tensor_file::read(path)?;
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
    /// tensors under `prefix` of an open safetensors file, in the form `model`'s layer
    /// stack reads.
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
        if header.n_layers != model.n_layers() {
            return Err(bad(format!(
                "built for {} layers, the model has {}",
                header.n_layers,
                model.n_layers()
            )));
        }
        let device = model.device();
        let get = |name: &str, rank: usize| -> Result<(Vec<usize>, Vec<f32>)> {
            let name = format!("{prefix}{name}");
            let v = st
                .tensor(&name)
                .map_err(|e| bad(format!("{name}: {e:?}")))?;
            if v.dtype() != safetensors::Dtype::F32 || v.shape().len() != rank {
                return Err(bad(format!(
                    "{name}: {:?} of rank {}, expected F32 of rank {rank}",
                    v.dtype(),
                    v.shape().len()
                )));
            }
            Ok((v.shape().to_vec(), decode_f32(&name, Dtype::F32, v.data())?))
        };
        let cfg = model.config();
        header
            .x_state
            .validate(header.n_features, cfg.features_per_group)
            .map_err(|e| bad(format!("x_state: {e}")))?;
        if header.n_train == 0 {
            return Err(bad(
                "n_train is 0; a cache holds at least one train row".into()
            ));
        }
        let g = header.x_state.n_groups;
        let (es, ed) = get("embeddings", 2)?;
        if es != [g, cfg.emsize] {
            return Err(bad(format!(
                "{prefix}embeddings: shape {es:?}, expected [{g}, {}]",
                cfg.emsize
            )));
        }
        let embeddings = Tensor::from_data(TensorData::new(ed, [es[0], es[1]]), device);
        let d = cfg.emsize / cfg.nhead;
        let kv_shape = vec![g + 1, 1, header.n_train, d];
        let mut kv = Vec::with_capacity(header.n_layers);
        for l in 0..header.n_layers {
            let (ks, k) = get(&format!("layers.{l}.k"), 4)?;
            let (vs, v) = get(&format!("layers.{l}.v"), 4)?;
            if ks != kv_shape || vs != kv_shape {
                return Err(bad(format!(
                    "{prefix}layers.{l}: k {ks:?}, v {vs:?}, expected {kv_shape:?} (feature \
                     groups + 1, head 0, train rows, head size)"
                )));
            }
            let host = HostKv::new(k, v, [ks[0], ks[1], ks[2], ks[3]], vs[3])?;
            let cache = KvCache::from_host(host);
            kv.push(if model.cache_on_host() {
                cache
            } else {
                let (k, v) = cache.tensors(device);
                KvCache::new(k, v)?
            });
        }
        let cache = Self {
            n_features: header.n_features,
            n_train: header.n_train,
            x_state: header.x_state,
            y_state: header.y_state,
            embeddings,
            kv,
            weights_sha256: header
                .model_weights_sha256
                .unwrap_or_else(|| model.weights_sha256()),
        };
        cache.check_compatible(model, cache.n_features)?;
        Ok(cache)
    }
}
