//! Parity of the attention with the reference `MultiHeadAttention` (tabpfn 2.2.1) on the
//! eight scenarios of `fixtures/attention` (regenerate with `scripts/regen-fixtures.sh`).
//! Every test prints its measured max |Δ| and fails above 1e-5 (float32).

use std::fs::File;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use serde_json::Value;
use tabpfn_attention::{AttentionConfig, AttentionWeights, KvCache, KvHeads, MultiHeadAttention};
use tabpfn_test_support::max_abs_diff;

const TOL: f32 = 1e-5;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/attention")
}

struct Case {
    npz: NpzReader<File>,
    meta: Value,
    device: Device,
}

impl Case {
    fn open(name: &str) -> Self {
        let index: Value =
            serde_json::from_reader(File::open(dir().join("index.json")).expect("index.json"))
                .unwrap();
        let npz = NpzReader::new(File::open(dir().join(format!("{name}.npz"))).expect("fixture"))
            .unwrap();
        Self {
            npz,
            meta: index[name].clone(),
            device: Device::flex(),
        }
    }

    fn has(&mut self, name: &str) -> bool {
        self.npz.names().unwrap().iter().any(|n| n == name)
    }

    fn array(&mut self, name: &str) -> ArrayD<f32> {
        self.npz
            .by_name(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn tensor<const D: usize>(&mut self, name: &str) -> Tensor<D> {
        let a = self.array(name);
        let shape: [usize; D] = a.shape().try_into().expect("rank");
        Tensor::from_data(
            TensorData::new(a.iter().copied().collect::<Vec<_>>(), shape),
            &self.device,
        )
    }

    fn opt<const D: usize>(&mut self, name: &str) -> Option<Tensor<D>> {
        self.has(name).then(|| self.tensor(name))
    }

    fn module(&mut self) -> MultiHeadAttention {
        let m = &self.meta;
        let u = |k: &str| m[k].as_u64().unwrap() as usize;
        let config = AttentionConfig {
            emsize: u("emsize"),
            nhead: u("nhead"),
            nhead_kv: u("nhead_kv"),
            d_k: u("d_k"),
            d_v: u("d_v"),
            softmax_scale: None,
            dropout_p: m["dropout_p"].as_f64().unwrap(),
        };
        let weights = AttentionWeights {
            w_qkv: self.opt("_w_qkv"),
            w_q: self.opt("_w_q"),
            w_kv: self.opt("_w_kv"),
            w_k: self.opt("_w_k"),
            w_v: self.opt("_w_v"),
            w_out: self.opt("_w_out"),
        };
        MultiHeadAttention::new(config, weights).expect("build attention")
    }
}

/// max |Δ|; fails on a shape mismatch or a NaN (the callers check the tolerance).
fn max_diff<const D: usize>(name: &str, got: Tensor<D>, expected: &ArrayD<f32>) -> f32 {
    assert_eq!(got.dims().as_slice(), expected.shape(), "{name}: shape");
    let got: Vec<f32> = got.into_data().convert::<f32>().try_into_vec().unwrap();
    let want: Vec<f32> = expected.iter().copied().collect();
    let d = max_abs_diff(&got, &want)
        .unwrap_or_else(|m| panic!("{name}: {m:?}"))
        .0 as f32;
    println!(
        "{name}: max |Δ| = {d:.3e} over {} values (tolerance {TOL:.0e})",
        got.len()
    );
    d
}

fn check<const D: usize>(name: &str, got: Tensor<D>, expected: &ArrayD<f32>) {
    let d = max_diff(name, got, expected);
    assert!(d <= TOL, "{name}: max |Δ| {d:e} > {TOL:e}");
}

/// For large-magnitude outputs float32 rounding scales with the values, so the bound is
/// relative: max |Δ| ≤ 1e-5 · max(1, max |expected|).
fn check_relative<const D: usize>(name: &str, got: Tensor<D>, expected: &ArrayD<f32>) {
    assert!(
        expected.iter().all(|v| v.is_finite()),
        "{name}: fixture not finite"
    );
    let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let d = max_diff(name, got, expected);
    println!(
        "{name}: max |expected| = {scale:.3}, relative max |Δ| = {:.3e}",
        d / scale
    );
    assert!(
        d <= TOL * scale,
        "{name}: max |Δ| {d:e} > {TOL:e} · {scale}"
    );
}

#[test]
fn basic_self_attention() {
    let mut c = Case::open("basic_self");
    let m = c.module();
    let out = m.forward(c.tensor("x"), None).unwrap();
    check("basic_self", out, &c.array("out"));
}

#[test]
fn cross_attention_large_magnitude() {
    let mut c = Case::open("cross");
    let m = c.module();
    let out = m.forward(c.tensor("x"), Some(c.tensor("x_kv"))).unwrap();
    check_relative("cross", out, &c.array("out"));
}

#[test]
fn different_dk_and_dv() {
    let mut c = Case::open("dk_ne_dv");
    let m = c.module();
    assert_eq!((m.config().d_k, m.config().d_v), (4, 6));
    let out = m.forward(c.tensor("x"), None).unwrap();
    check("dk_ne_dv", out, &c.array("out"));
}

#[test]
fn kv_shared_across_heads() {
    let mut c = Case::open("share_kv");
    let m = c.module();
    assert_eq!(m.config().nhead / m.config().nhead_kv, 2);
    let out = m.forward(c.tensor("x"), Some(c.tensor("x_kv"))).unwrap();
    check("share_kv", out, &c.array("out"));
}

#[test]
fn cache_build_populates_head0_kv() {
    let mut c = Case::open("cache_build");
    let m = c.module();
    let x = c.tensor::<3>("x");
    let kv = m.project_kv(x.clone(), KvHeads::All).unwrap();
    let out = m.attend(x.clone(), &kv, None).unwrap();
    check("cache_build/out", out, &c.array("out"));
    let cache = m.project_kv(x, KvHeads::First).unwrap();
    assert_eq!(cache.heads(), 1);
    check(
        "cache_build/kv_cache",
        cache.to_reference_layout(&c.device).unwrap(),
        &c.array("kv_cache"),
    );
}

#[test]
fn use_cached_kv() {
    let mut c = Case::open("use_cached");
    let m = c.module();
    let cache = KvCache::from_reference_layout(c.tensor("kv_cache")).unwrap();
    let out = m.attend(c.tensor("x"), &cache, None).unwrap();
    check("use_cached/cached", out, &c.array("out"));
    // the uncached multi-query path (test rows → train rows, head-0 K/V) agrees
    let kv = m.project_kv(c.tensor("x_kv"), KvHeads::First).unwrap();
    let out = m.attend(c.tensor("x"), &kv, None).unwrap();
    check("use_cached/reuse_first_head", out, &c.array("out_reuse"));
}

#[test]
fn streaming_queries_in_chunks() {
    let mut c = Case::open("streaming");
    let m = c.module();
    let x = c.tensor::<3>("x");
    let kv = m.project_kv(x.clone(), KvHeads::All).unwrap();
    let expected = c.array("out");
    for chunk in [1, 4, 5, 13] {
        let out = x.clone() + m.attend(x.clone(), &kv, Some(chunk)).unwrap();
        check(&format!("streaming/chunk={chunk}"), out, &expected);
    }
    let one = m.attend(x.clone(), &kv, None).unwrap();
    let chunked = m.attend(x, &kv, Some(4)).unwrap();
    let d = max_diff(
        "streaming/chunked-vs-one-pass",
        chunked,
        &ndarray::ArrayD::from_shape_vec(
            one.dims().to_vec(),
            one.into_data().convert::<f32>().try_into_vec().unwrap(),
        )
        .unwrap(),
    );
    assert!(d <= 1e-6);
}

#[test]
fn large_batch_dropout_configured_eval() {
    let mut c = Case::open("large_dropout_eval");
    let m = c.module();
    assert!(m.config().dropout_p > 0.0, "the fixture configures dropout");
    let out = m.forward(c.tensor("x"), None).unwrap();
    check("large_dropout_eval", out, &c.array("out"));
}

#[test]
fn shape_errors_name_the_tensor() {
    let mut c = Case::open("basic_self");
    let m = c.module();
    let bad = Tensor::<3>::zeros([2, 3, 7], &c.device);
    let err = m.forward(bad, None).unwrap_err().to_string();
    assert!(
        err.contains("`x_kv`") && err.contains("[2, 3, 7]") && err.contains("16"),
        "{err}"
    );
    let w = AttentionWeights {
        w_qkv: Some(Tensor::zeros([3, 4, 4, 15], &c.device)),
        w_out: Some(Tensor::zeros([4, 4, 16], &c.device)),
        ..Default::default()
    };
    let err = MultiHeadAttention::new(AttentionConfig::standard(16, 4).unwrap(), w)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("_w_qkv") && err.contains("[3, 4, 4, 15]") && err.contains("[3, 4, 4, 16]"),
        "{err}"
    );
}
