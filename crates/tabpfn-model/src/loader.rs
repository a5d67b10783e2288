//! Checkpoint → network: every state-dict key is checked against the architecture the
//! config describes (name and shape) before anything is built; missing and unknown keys are
//! errors.

use std::collections::BTreeMap;

use burn::tensor::Device;
use tabpfn_attention::{AttentionConfig, AttentionWeights, MultiHeadAttention};
use tabpfn_weights::{Checkpoint, Tensor32};

use crate::config::{ModelConfig, Task};
use crate::decoder::Decoder;
use crate::error::{ModelError, Result};
use crate::layer::PerFeatureEncoderLayer;
use crate::mlp::Mlp;
use crate::nn::{tensor3, tensor4, Linear};
use crate::transformer::PerFeatureTransformer;

struct WeightMap<'a> {
    tensors: BTreeMap<&'a str, &'a Tensor32>,
    taken: Vec<String>,
}

impl<'a> WeightMap<'a> {
    fn new(ckpt: &'a Checkpoint) -> Self {
        Self {
            tensors: ckpt.tensors.iter().map(|(n, t)| (n.as_str(), t)).collect(),
            taken: Vec::new(),
        }
    }

    fn take(&mut self, name: &str, shape: &[usize]) -> Result<&'a Tensor32> {
        let t = self
            .tensors
            .remove(name)
            .ok_or_else(|| ModelError::Weights {
                name: name.to_string(),
                reason: format!("missing (expected shape {shape:?})"),
            })?;
        if t.shape != shape {
            return Err(ModelError::Weights {
                name: name.to_string(),
                reason: format!("has shape {:?}, expected {shape:?}", t.shape),
            });
        }
        self.taken.push(name.to_string());
        Ok(t)
    }

    fn finish(self) -> Result<()> {
        if let Some((name, t)) = self.tensors.iter().next() {
            return Err(ModelError::Weights {
                name: name.to_string(),
                reason: format!(
                    "unexpected key (shape {:?}) for this architecture; {} unused key(s) in total",
                    t.shape,
                    self.tensors.len()
                ),
            });
        }
        Ok(())
    }
}

fn attention(
    w: &mut WeightMap<'_>,
    prefix: &str,
    cfg: &ModelConfig,
    device: &Device,
) -> Result<MultiHeadAttention> {
    let (e, h) = (cfg.emsize, cfg.nhead);
    let d = e / h;
    let mut acfg = AttentionConfig::standard(e, h)?;
    acfg.dropout_p = cfg.dropout;
    let qkv = w.take(&format!("{prefix}._w_qkv"), &[3, h, d, e])?;
    let out = w.take(&format!("{prefix}._w_out"), &[h, d, e])?;
    Ok(MultiHeadAttention::new(
        acfg,
        AttentionWeights {
            w_qkv: Some(tensor4(qkv, device)),
            w_out: Some(tensor3(out, device)),
            ..Default::default()
        },
    )?)
}

/// Builds the network from a checkpoint read by `tabpfn-weights`.
pub fn from_checkpoint(ckpt: &Checkpoint, device: &Device) -> Result<PerFeatureTransformer> {
    let cfg = ModelConfig::from_json(ckpt.config())?;
    let (e, f, nhid) = (cfg.emsize, cfg.features_per_group, cfg.nhid());
    let mut w = WeightMap::new(ckpt);

    let enc_idx = if cfg.remove_duplicate_features { 6 } else { 5 };
    let enc_w = w.take(&format!("encoder.{enc_idx}.layer.weight"), &[e, 2 * f])?;
    let enc_b = if cfg.encoder_use_bias {
        Some(w.take(&format!("encoder.{enc_idx}.layer.bias"), &[e])?)
    } else {
        None
    };
    let x_proj = Linear::from_torch(enc_w, enc_b, device);

    let y_idx = match cfg.task() {
        Task::Classification => 2,
        Task::Regression => 1,
    };
    let y_proj = Linear::from_torch(
        w.take(&format!("y_encoder.{y_idx}.layer.weight"), &[e, 2])?,
        Some(w.take(&format!("y_encoder.{y_idx}.layer.bias"), &[e])?),
        device,
    );

    let pos_proj = match cfg.feature_positional_embedding.as_deref() {
        Some(_) => Some(Linear::from_torch(
            w.take(
                "feature_positional_embedding_embeddings.weight",
                &[e, e / 4],
            )?,
            Some(w.take("feature_positional_embedding_embeddings.bias", &[e])?),
            device,
        )),
        None => None,
    };

    let mut layers = Vec::with_capacity(cfg.nlayers);
    for l in 0..cfg.nlayers {
        let p = format!("transformer_encoder.layers.{l}");
        let feat = attention(
            &mut w,
            &format!("{p}.self_attn_between_features"),
            &cfg,
            device,
        )?;
        let items = attention(
            &mut w,
            &format!("{p}.self_attn_between_items"),
            &cfg,
            device,
        )?;
        let mlp = Mlp {
            linear1: Linear::from_torch(
                w.take(&format!("{p}.mlp.linear1.weight"), &[nhid, e])?,
                None,
                device,
            ),
            linear2: Linear::from_torch(
                w.take(&format!("{p}.mlp.linear2.weight"), &[e, nhid])?,
                None,
                device,
            ),
        };
        layers.push(PerFeatureEncoderLayer::new(feat, items, mlp, e, device));
    }

    let n_out = cfg.n_out();
    let decoder = Decoder {
        hidden: Linear::from_torch(
            w.take("decoder_dict.standard.0.weight", &[nhid, e])?,
            Some(w.take("decoder_dict.standard.0.bias", &[nhid])?),
            device,
        ),
        output: Linear::from_torch(
            w.take("decoder_dict.standard.2.weight", &[n_out, nhid])?,
            Some(w.take("decoder_dict.standard.2.bias", &[n_out])?),
            device,
        ),
    };

    let borders = match cfg.task() {
        Task::Regression => {
            let b = w
                .take("criterion.borders", &[cfg.num_buckets + 1])?
                .data
                .clone();
            // a training statistic, unused at inference; optional, but checked when present
            if w.tensors.contains_key("criterion.losses_per_bucket") {
                w.take("criterion.losses_per_bucket", &[cfg.num_buckets])?;
            }
            // same checks as the head itself: finite, ascending, positive outer widths
            crate::bar_distribution::BarDistribution::new(b.clone())?;
            Some(b)
        }
        Task::Classification => None,
    };
    w.finish()?;

    Ok(PerFeatureTransformer::new(
        cfg,
        x_proj,
        y_proj,
        pos_proj,
        layers,
        decoder,
        borders,
        device.clone(),
    ))
}
