//! Floating-point work of one forward pass, for throughput figures (GFLOP/s).
//!
//! Counts the matrix products of the layer stack as the reference runs them (2·m·n·k per
//! product; softmax, norms and activations excluded), so that Rust and PyTorch are judged
//! on the same count. The CPU path skips some of this work (test rows' K/V, the last
//! layer's unused outputs); it is still counted, as useful work.

use crate::config::ModelConfig;

/// FLOPs of `model(x, y)` with `n_train` train rows, `n_test` test rows and `cols` feature
/// columns.
pub fn forward_flops(cfg: &ModelConfig, n_train: usize, n_test: usize, cols: usize) -> f64 {
    let e = cfg.emsize as f64;
    let nhid = cfg.nhid() as f64;
    let t = (cols.div_ceil(cfg.features_per_group) + 1) as f64;
    let (n, m) = (n_train as f64, n_test as f64);
    let r = n + m;
    let features = 2.0 * r * t * e * 3.0 * e // Q, K, V
        + 4.0 * r * t * t * e // scores and weighting, all heads
        + 2.0 * r * t * e * e; // output projection
    let items = 2.0 * r * t * e * e // Q
        + 2.0 * n * t * e * 2.0 * e // K, V of the train rows
        + 4.0 * t * n * n * e // train rows → train rows
        + 4.0 * t * m * n * e // test rows → train rows
        + 2.0 * r * t * e * e; // output projection
    let mlp = 4.0 * r * t * e * nhid;
    let decoder = 2.0 * m * (e * nhid + nhid * cfg.n_out() as f64);
    cfg.nlayers as f64 * (features + items + mlp) + decoder
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Task;
    use crate::random_weights::default_config;

    #[test]
    fn matches_the_shared_estimate_for_the_default_model() {
        // ../shared/README.md: 6 047 GFLOP at (1000, 1000, 100) widened to 251 columns
        let cfg = ModelConfig::from_json(&default_config(Task::Classification)).unwrap();
        let g = forward_flops(&cfg, 1000, 1000, 251) / 1e9;
        assert!((g - 6047.0).abs() / 6047.0 < 0.02, "{g} GFLOP");
    }
}
