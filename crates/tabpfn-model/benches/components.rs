//! Per-component CPU costs at TabPFN v2 shapes (E = 192, 6 heads, MLP hidden 768):
//! the matmul, the MLP, attention between items (test rows → train rows' head-0 K/V),
//! attention between features, and the host-side x-encoder.

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use tabpfn_attention::{AttentionConfig, AttentionWeights, KvHeads, MultiHeadAttention};
use tabpfn_model::mlp::Mlp;
use tabpfn_model::nn::Linear;
use tabpfn_model::x_encoder::{fit_transform, XEncoderOptions};

fn rand<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 0.1), device)
}

fn attention(device: &Device) -> MultiHeadAttention {
    MultiHeadAttention::new(
        AttentionConfig::standard(192, 6).unwrap(),
        AttentionWeights {
            w_qkv: Some(rand([3, 6, 32, 192], device)),
            w_out: Some(rand([6, 32, 192], device)),
            ..Default::default()
        },
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let device = Device::flex();
    let mut g = c.benchmark_group("components");
    g.sample_size(10);

    let a = rand([50_000, 192], &device);
    let w = rand([192, 576], &device);
    g.bench_function("matmul_50000x192x576", |b| {
        b.iter(|| a.clone().matmul(w.clone()).into_data())
    });

    let mlp = Mlp {
        linear1: Linear {
            weight: rand([192, 768], &device),
            bias: None,
        },
        linear2: Linear {
            weight: rand([768, 192], &device),
            bias: None,
        },
    };
    g.bench_function("mlp_192_768_192_50000_tokens", |b| {
        b.iter(|| mlp.forward(a.clone()).into_data())
    });

    let attn = attention(&device);
    // 51 token columns (50 feature groups + target); 1000 train rows; 1000 test rows
    let train = rand([51, 1000, 192], &device);
    let test = rand([51, 1000, 192], &device);
    let kv = attn.project_kv(train.clone(), KvHeads::All).unwrap();
    let kv0 = kv.narrow_heads(0, 1);
    g.bench_function("items_train_1000_self", |b| {
        b.iter(|| attn.attend(train.clone(), &kv, None).unwrap().into_data())
    });
    g.bench_function("items_test_1000_to_train_1000_head0", |b| {
        b.iter(|| attn.attend(test.clone(), &kv0, None).unwrap().into_data())
    });
    let rows = rand([2000, 51, 192], &device);
    g.bench_function("features_2000_rows_51_tokens", |b| {
        b.iter(|| attn.forward(rows.clone(), None).unwrap().into_data())
    });

    let x: Vec<f32> = (0..2000 * 100)
        .map(|i| ((i * 7919) % 1000) as f32 / 100.0)
        .collect();
    g.bench_function("x_encoder_2000x100", |b| {
        b.iter(|| {
            fit_transform(
                &x,
                2000,
                100,
                1000,
                2,
                XEncoderOptions {
                    remove_outliers_std: Some(12.0),
                },
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
