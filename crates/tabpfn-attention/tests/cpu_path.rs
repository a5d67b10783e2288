//! The CPU path (`tabpfn_attention::cpu`, hand-written kernels on host buffers) against the
//! Burn path (`MultiHeadAttention`, the module the reference parity tests check) on the
//! same weights: attention between features, between items (train rows with all heads,
//! test rows on head 0's K/V, from a cache or not). Tolerance 1e-5 absolute (float32).

use burn::tensor::{Device, Tensor, TensorData};
use tabpfn_attention::cpu::{ColumnKv, Queries};
use tabpfn_attention::{
    read_back, AttentionConfig, AttentionWeights, CpuAttention, KvCache, KvHeads,
    MultiHeadAttention,
};
use tabpfn_test_support::assert_close;

const E: usize = 32;
const H: usize = 4;

fn values(n: usize, salt: u64) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = (i as u64 + salt).wrapping_mul(2_654_435_761) % 10_007;
            h as f32 / 5_000.0 - 1.0
        })
        .collect()
}

fn weights(device: &Device) -> AttentionWeights {
    let d = E / H;
    let w_qkv = Tensor::<4>::from_data(
        TensorData::new(
            values(3 * H * d * E, 1)
                .iter()
                .map(|v| v * 0.4)
                .collect::<Vec<_>>(),
            [3, H, d, E],
        ),
        device,
    );
    // output weights at ~1/√(H·d) scale, so outputs are O(1) as in a trained model
    let w_out: Vec<f32> = values(H * d * E, 2).iter().map(|v| v * 0.2).collect();
    let w_out = Tensor::<3>::from_data(TensorData::new(w_out, [H, d, E]), device);
    AttentionWeights {
        w_qkv: Some(w_qkv),
        w_out: Some(w_out),
        ..Default::default()
    }
}

fn module(device: &Device) -> MultiHeadAttention {
    MultiHeadAttention::new(AttentionConfig::standard(E, H).unwrap(), weights(device)).unwrap()
}

/// The residual that keeps the attention output alone: `x ← out`.
fn output_only(x: &mut [f32], out: &[f32]) {
    x.copy_from_slice(out)
}

#[test]
fn features_attention_matches_the_burn_module() {
    let device = Device::flex();
    let m = module(&device);
    let cpu = CpuAttention::new(&m).unwrap().expect("v2 layout");
    let (rows, t) = (37, 9);
    let x = values(rows * t * E, 3);
    let burn = m
        .forward(
            Tensor::<3>::from_data(TensorData::new(x.clone(), [rows, t, E]), &device),
            None,
        )
        .unwrap();
    let want = read_back(burn, "burn").unwrap();
    let mut got = x.clone();
    cpu.self_attend_rows(&mut got, t, &output_only);
    let d = assert_close("features attention", &got, &want, 1e-5);
    println!("features attention: CPU vs Burn max |Δ| {d:.3e}");

    // the last token alone, as the last layer runs it
    let last = cpu.last_token_attend_rows(&x, rows, t, &output_only);
    let want_last: Vec<f32> = (0..rows)
        .flat_map(|r| want[(r * t + t - 1) * E..(r * t + t) * E].to_vec())
        .collect();
    let d = assert_close("last-token features attention", &last, &want_last, 1e-5);
    println!("last-token features attention: CPU vs Burn max |Δ| {d:.3e}");
}

#[test]
fn items_attention_matches_the_burn_module() {
    let device = Device::flex();
    let m = module(&device);
    let cpu = CpuAttention::new(&m).unwrap().expect("v2 layout");
    let (n_train, n_test) = (300, 41);
    let rows = n_train + n_test;
    let x = values(rows * E, 4);
    let col = Tensor::<3>::from_data(TensorData::new(x.clone(), [1, rows, E]), &device);
    let train = col.clone().narrow(1, 0, n_train);
    let test = col.narrow(1, n_train, n_test);
    let kv = m.project_kv(train.clone(), KvHeads::All).unwrap();
    let out_train = read_back(m.attend(train.clone(), &kv, None).unwrap(), "t").unwrap();
    let head0 = m.project_kv(train, KvHeads::First).unwrap();
    let out_test = read_back(m.attend(test, &head0, None).unwrap(), "t").unwrap();
    let want: Vec<f32> = out_train.iter().chain(&out_test).copied().collect();

    let mut got = x.clone();
    let kept = cpu
        .attend_column(
            &mut got,
            rows,
            n_train,
            ColumnKv::FromTrain,
            Queries::All,
            true,
            &output_only,
        )
        .expect("train rows' K/V kept");
    let d = assert_close("items attention", &got, &want, 1e-5);
    println!("items attention (train all heads, test head 0): CPU vs Burn max |Δ| {d:.3e}");

    // the kept head-0 K/V is the Burn path's head-0 projection
    let host0 = head0.host().unwrap();
    assert_close("kept keys", &kept.0, host0.keys(), 1e-5);
    assert_close("kept values", &kept.1, host0.values(), 1e-5);

    // test rows from a cache (host form) give the same outputs
    let cache = KvCache::from_host(host0.into_owned());
    let host = cache.host().unwrap();
    let mut got_test = x[n_train * E..].to_vec();
    let mut buf = vec![0.0f32; n_train * E];
    buf.extend_from_slice(&got_test);
    cpu.attend_column(
        &mut buf,
        rows,
        n_train,
        ColumnKv::of(Some(&host), 0),
        Queries::TestOnly,
        false,
        &output_only,
    );
    got_test.copy_from_slice(&buf[n_train * E..]);
    let d = assert_close("items attention from a cache", &got_test, &out_test, 1e-5);
    println!("items attention from a host cache: CPU vs Burn max |Δ| {d:.3e}");
}

#[test]
fn host_and_device_caches_convert_both_ways() {
    let device = Device::flex();
    let m = module(&device);
    let x = Tensor::<3>::from_data(TensorData::new(values(3 * 20 * E, 5), [3, 20, E]), &device);
    let dev = m.project_kv(x.clone(), KvHeads::First).unwrap();
    let host = KvCache::from_host(dev.host().unwrap().into_owned());
    assert_eq!(dev.dims(), host.dims());
    let (k1, v1) = dev.tensors(&device);
    let (k2, v2) = host.tensors(&device);
    assert_eq!(read_back(k1, "k").unwrap(), read_back(k2, "k").unwrap());
    assert_eq!(read_back(v1, "v").unwrap(), read_back(v2, "v").unwrap());
    // Burn's attention reads a host cache too
    let a = read_back(m.attend(x.clone(), &dev, None).unwrap(), "a").unwrap();
    let b = read_back(m.attend(x, &host, None).unwrap(), "b").unwrap();
    assert_eq!(a, b);
    // narrowing a host cache keeps its form and its values
    let one = host.narrow_batch(1, 1);
    let (k, _) = one.tensors(&device);
    let (kd, _) = dev.narrow_batch(1, 1).tensors(&device);
    assert_eq!(read_back(k, "k").unwrap(), read_back(kd, "k").unwrap());
}

/// A non-default softmax scale: the Burn path folds it into q (so that GPU backends keep
/// their flash kernels, which take no scale), the CPU path applies it in its kernel; both
/// agree, and differ from the default scale's outputs (the scale is not dropped).
#[test]
fn custom_softmax_scale_is_folded_into_the_queries() {
    let device = Device::flex();
    let base = module(&device);
    let mut config = AttentionConfig::standard(E, H).unwrap();
    config.softmax_scale = Some(0.9);
    let m = MultiHeadAttention::new(config, weights(&device)).unwrap();
    let cpu = CpuAttention::new(&m).unwrap().expect("v2 layout");
    let (rows, t) = (11, 7);
    let x = values(rows * t * E, 5);
    let input = || Tensor::<3>::from_data(TensorData::new(x.clone(), [rows, t, E]), &device);
    let want = read_back(m.forward(input(), None).unwrap(), "burn").unwrap();
    let mut got = x.clone();
    cpu.self_attend_rows(&mut got, t, &output_only);
    let d = assert_close("scaled features attention", &got, &want, 1e-5);
    println!("softmax_scale 0.9: CPU vs Burn (scale folded into q) max |Δ| {d:.3e}");
    let default = read_back(base.forward(input(), None).unwrap(), "burn").unwrap();
    let moved = default
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, |m, v| if v.is_nan() { f32::NAN } else { m.max(v) });
    assert!(moved > 1e-3, "the custom scale changed nothing ({moved})");
}
