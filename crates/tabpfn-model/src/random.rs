//! Random-weight checkpoints of any v2 configuration, for benchmarks and tests that must
//! not depend on Python (values: seeded Gaussian noise at fan-in scale, like python/common.py,
//! but not the same numbers).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tabpfn_weights::{Checkpoint, Tensor32};

use crate::config::{ModelConfig, Task};
use crate::error::Result;
use crate::rng::Mt19937;

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

/// A checkpoint with `config` and seeded random weights.
pub fn random_checkpoint(config: &Map<String, Value>, seed: u64) -> Result<Checkpoint> {
    let cfg = ModelConfig::from_json(config)?;
    let mut g = Mt19937::new(seed);
    let mut normal = move || {
        let u1 = (g.next_u32() as f64 + 1.0) / 4_294_967_297.0;
        let u2 = g.next_u32() as f64 / 4_294_967_296.0;
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    };
    let mut tensors = Vec::new();
    for (name, shape) in expected_tensors(&cfg) {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = if name == "criterion.borders" {
            (0..n)
                .map(|i| -4.0 + 8.0 * i as f32 / (n - 1) as f32)
                .collect()
        } else {
            let fan_in = if name.ends_with("_w_out") {
                shape[0] * shape[1]
            } else if shape.len() >= 2 {
                shape[shape.len() - 1]
            } else {
                0
            };
            let scale = if fan_in > 0 {
                1.0 / (fan_in as f32).sqrt()
            } else {
                0.2
            };
            (0..n).map(|_| normal() * scale).collect()
        };
        tensors.push((name, Tensor32 { shape, data }));
    }
    let metadata = BTreeMap::from([("config".to_string(), Value::Object(config.clone()))]);
    Ok(Checkpoint::from_parts(tensors, metadata)?)
}

/// The v2 default configuration (12 layers, E = 192, 6 heads, F = 2) as a config dict.
pub fn default_config(task: Task) -> Map<String, Value> {
    let (classes, buckets) = match task {
        Task::Classification => (10, 5000),
        Task::Regression => (0, 5000),
    };
    serde_json::json!({
        "emsize": 192, "nhead": 6, "nlayers": 12, "nhid_factor": 4, "features_per_group": 2,
        "max_num_classes": classes, "num_buckets": buckets, "seed": 0
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_checkpoints_pass_the_loader() {
        for task in [Task::Classification, Task::Regression] {
            let mut cfg = default_config(task);
            cfg.insert("nlayers".into(), 1.into());
            let ck = random_checkpoint(&cfg, 1).unwrap();
            crate::loader::from_checkpoint(&ck, &burn::tensor::Device::flex()).unwrap();
        }
    }
}
