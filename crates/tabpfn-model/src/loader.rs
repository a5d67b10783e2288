//! Checkpoint → network: every state-dict key is checked against the architecture the
//! config describes (name and shape) before anything is built; missing and unknown keys are
//! errors.

use std::collections::BTreeMap;

use burn::tensor::Device;
use tabpfn_attention::{AttentionConfig, AttentionWeights, MultiHeadAttention};
use tabpfn_weights::{Checkpoint, Tensor32};

use crate::bar_distribution::BarDistribution;
use crate::config::{ModelConfig, Task};
use crate::decoder::Decoder;
use crate::error::{ModelError, Result};
use crate::layer::PerFeatureEncoderLayer;
use crate::mlp::Mlp;
use crate::nn::{tensor3, tensor4, Linear};
use crate::transformer::PerFeatureTransformer;

/// A training statistic of regressors, unused at inference: optional, checked when present.
const OPTIONAL: &str = "criterion.losses_per_bucket";

/// Every state-dict tensor a checkpoint of this config must hold, with its shape.
pub fn expected_tensors(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (e, f, h, nhid) = (cfg.emsize, cfg.features_per_group, cfg.nhead, cfg.nhid());
    let d = e / h;
    let enc = if cfg.remove_duplicate_features { 6 } else { 5 };
    let mut v = vec![(format!("encoder.{enc}.layer.weight"), vec![e, 2 * f])];
    if cfg.encoder_use_bias {
        v.push((format!("encoder.{enc}.layer.bias"), vec![e]));
    }
    let y = if cfg.task() == Task::Classification {
        2
    } else {
        1
    };
    v.push((format!("y_encoder.{y}.layer.weight"), vec![e, 2]));
    v.push((format!("y_encoder.{y}.layer.bias"), vec![e]));
    if cfg.feature_positional_embedding.is_some() {
        v.push((
            "feature_positional_embedding_embeddings.weight".into(),
            vec![e, e / 4],
        ));
        v.push((
            "feature_positional_embedding_embeddings.bias".into(),
            vec![e],
        ));
    }
    for l in 0..cfg.nlayers {
        let p = format!("transformer_encoder.layers.{l}");
        for a in ["self_attn_between_features", "self_attn_between_items"] {
            v.push((format!("{p}.{a}._w_qkv"), vec![3, h, d, e]));
            v.push((format!("{p}.{a}._w_out"), vec![h, d, e]));
        }
        v.push((format!("{p}.mlp.linear1.weight"), vec![nhid, e]));
        v.push((format!("{p}.mlp.linear2.weight"), vec![e, nhid]));
    }
    let n_out = cfg.n_out();
    v.push(("decoder_dict.standard.0.weight".into(), vec![nhid, e]));
    v.push(("decoder_dict.standard.0.bias".into(), vec![nhid]));
    v.push(("decoder_dict.standard.2.weight".into(), vec![n_out, nhid]));
    v.push(("decoder_dict.standard.2.bias".into(), vec![n_out]));
    if cfg.task() == Task::Regression {
        v.push(("criterion.borders".into(), vec![cfg.num_buckets + 1]));
        v.push(("criterion.losses_per_bucket".into(), vec![cfg.num_buckets]));
    }
    v
}

/// Checks the checkpoint's state dict against [`expected_tensors`]: every expected key
/// present with its shape, no other key.
fn validate<'a>(
    ckpt: &'a Checkpoint,
    cfg: &ModelConfig,
) -> Result<BTreeMap<&'a str, &'a Tensor32>> {
    let mut found: BTreeMap<&str, &Tensor32> =
        ckpt.tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut tensors = BTreeMap::new();
    for (name, shape) in expected_tensors(cfg) {
        let Some((key, t)) = found.remove_entry(name.as_str()) else {
            if name == OPTIONAL {
                continue;
            }
            return Err(ModelError::Weights {
                name,
                reason: format!("missing (expected shape {shape:?})"),
            });
        };
        if t.shape != shape {
            return Err(ModelError::Weights {
                name,
                reason: format!("has shape {:?}, expected {shape:?}", t.shape),
            });
        }
        if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Weights {
                name,
                reason: format!(
                    "element {i} is {}; a usable checkpoint holds finite weights only",
                    t.data[i]
                ),
            });
        }
        tensors.insert(key, t);
    }
    if let Some((name, t)) = found.iter().next() {
        return Err(ModelError::Weights {
            name: name.to_string(),
            reason: format!(
                "unexpected key (shape {:?}) for this architecture; {} unused key(s) in total",
                t.shape,
                found.len()
            ),
        });
    }
    Ok(tensors)
}

/// Builds the network from a checkpoint read by `tabpfn-weights`.
pub fn from_checkpoint(ckpt: &Checkpoint, device: &Device) -> Result<PerFeatureTransformer> {
    let cfg = ModelConfig::from_json(ckpt.config())?;
    let w = validate(ckpt, &cfg)?;
    // every expected key is present after `validate`
    let get = |name: &str| w[name];
    let linear = |prefix: &str, bias: bool| {
        Linear::from_torch(
            get(&format!("{prefix}.weight")),
            bias.then(|| get(&format!("{prefix}.bias"))),
            device,
        )
    };
    let attention = |prefix: &str| -> Result<MultiHeadAttention> {
        let mut acfg = AttentionConfig::standard(cfg.emsize, cfg.nhead)?;
        acfg.dropout_p = cfg.dropout;
        Ok(MultiHeadAttention::new(
            acfg,
            AttentionWeights {
                w_qkv: Some(tensor4(get(&format!("{prefix}._w_qkv")), device)),
                w_out: Some(tensor3(get(&format!("{prefix}._w_out")), device)),
                ..Default::default()
            },
        )?)
    };

    let enc_idx = if cfg.remove_duplicate_features { 6 } else { 5 };
    let y_idx = match cfg.task() {
        Task::Classification => 2,
        Task::Regression => 1,
    };
    let mut layers = Vec::with_capacity(cfg.nlayers);
    for l in 0..cfg.nlayers {
        let p = format!("transformer_encoder.layers.{l}");
        let mlp = Mlp {
            linear1: linear(&format!("{p}.mlp.linear1"), false),
            linear2: linear(&format!("{p}.mlp.linear2"), false),
        };
        layers.push(PerFeatureEncoderLayer::new(
            attention(&format!("{p}.self_attn_between_features"))?,
            attention(&format!("{p}.self_attn_between_items"))?,
            mlp,
            cfg.emsize,
            device,
        ));
    }
    let borders = match cfg.task() {
        Task::Regression => {
            let b = get("criterion.borders").data.clone();
            // same checks as the head itself: finite, ascending, positive outer widths
            BarDistribution::new(b.clone())?;
            Some(b)
        }
        Task::Classification => None,
    };

    let x_proj = linear(&format!("encoder.{enc_idx}.layer"), cfg.encoder_use_bias);
    let y_proj = linear(&format!("y_encoder.{y_idx}.layer"), true);
    let decoder = Decoder {
        hidden: linear("decoder_dict.standard.0", true),
        output: linear("decoder_dict.standard.2", true),
    };
    // the CPU kernels read host copies of the weights (a few MB)
    let host = if crate::device::is_cpu(device) {
        crate::cpu::HostStack::new(&layers, cfg.emsize, &x_proj, &y_proj, &decoder)?
            .map(std::sync::Arc::new)
    } else {
        None
    };

    Ok(PerFeatureTransformer {
        x_proj,
        y_proj,
        pos_proj: cfg
            .feature_positional_embedding
            .is_some()
            .then(|| linear("feature_positional_embedding_embeddings", true)),
        layers,
        decoder,
        borders,
        device: device.clone(),
        host,
        kernels: Default::default(),
        torch_rng: Default::default(),
        weights_sha256: weights_sha256(&w),
        config: cfg,
    })
}

/// SHA-256 over the validated weights in name order: each name, its shape and its values
/// as little-endian f32.
fn weights_sha256(w: &BTreeMap<&str, &Tensor32>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = Vec::new();
    for (name, t) in w {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((t.shape.len() as u64).to_le_bytes());
        for &d in &t.shape {
            h.update((d as u64).to_le_bytes());
        }
        buf.clear();
        buf.extend(t.data.iter().flat_map(|v| v.to_le_bytes()));
        h.update(&buf);
    }
    h.finalize().into()
}
