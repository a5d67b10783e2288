//! Random-weight checkpoints of any v2 configuration, for benchmarks and tests that must
//! not depend on Python (values: seeded Gaussian noise at fan-in scale, like python/common.py,
//! but not the same numbers).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tabpfn_weights::{Checkpoint, Tensor32};

use crate::config::{ModelConfig, Task};
use crate::error::Result;
use crate::loader::expected_tensors;
use crate::torch_rng::Mt19937;

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

/// A small random-weight checkpoint (2 layers, E = 16, 2 heads) for examples and quick
/// tests: the v2 architecture and file layout at toy size.
pub fn tiny_checkpoint(task: Task, seed: u64) -> Result<Checkpoint> {
    let mut cfg = default_config(task);
    for (k, v) in [
        ("emsize", 16),
        ("nhead", 2),
        ("nlayers", 2),
        ("num_buckets", 100),
    ] {
        cfg.insert(k.into(), v.into());
    }
    random_checkpoint(&cfg, seed)
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
