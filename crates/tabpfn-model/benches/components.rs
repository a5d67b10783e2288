//! Per-component CPU costs at TabPFN v2 shapes (E = 192, 6 heads, MLP hidden 768), for the
//! CPU kernels (`kernels/…`, what the model runs on the CPU) and Burn's stock ops
//! (`stock/…`, the reference path): matmul, MLP, attention between items and between
//! features, the x-encoder, and the estimator's preprocessing (8 members).
//!
//! `cargo bench -p tabpfn-model --bench components`; runs on `TABPFN_DEVICE` (default cpu).

use std::sync::Arc;

use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use tabpfn_attention::KvHeads;
use tabpfn_kernels::{matmul, MatMut, MatRef, Threads};
use tabpfn_model::internals::{fit_transform, XEncoderOptions};
use tabpfn_model::random_weights::{default_config, random_checkpoint};
use tabpfn_model::{
    Column, DataFrame, EstimatorConfig, PerFeatureTransformer, TabPFNClassifier, Target, Task,
};

fn values(n: usize, salt: u64) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u64 + salt).wrapping_mul(2_654_435_761) % 2001) as f32) / 1000.0 - 1.0)
        .collect()
}

fn bench(c: &mut Criterion) {
    let device = tabpfn_model::device::from_env().unwrap();
    let mut cfg = default_config(Task::Classification);
    cfg.insert("nlayers".into(), 1.into());
    let model =
        PerFeatureTransformer::from_checkpoint(&random_checkpoint(&cfg, 3).unwrap(), &device)
            .unwrap();
    let stock = &model.layers()[0];
    let mut g = c.benchmark_group("components");
    g.sample_size(10);

    // matmul [50000, 192] × [192, 576] (the QKV projection of 50 000 tokens)
    let a = values(50_000 * 192, 1);
    let w = values(192 * 576, 2);
    let mut out = vec![0.0f32; 50_000 * 576];
    g.bench_function("kernels/matmul_50000x192x576", |b| {
        b.iter(|| {
            matmul(
                &mut MatMut::new(&mut out, 50_000, 576, 576),
                MatRef::new(&a, 50_000, 192, 192),
                MatRef::new(&w, 192, 576, 576),
                false,
                Threads::Pool,
            )
        })
    });
    let at = Tensor::<2>::random([50_000, 192], Distribution::Normal(0.0, 1.0), &device);
    let wt = Tensor::<2>::random([192, 576], Distribution::Normal(0.0, 0.1), &device);
    g.bench_function("stock/matmul_50000x192x576", |b| {
        b.iter(|| at.clone().matmul(wt.clone()).into_data())
    });

    // one head of softmax attention, 1000 queries × 1000 keys, head size 32 (one thread)
    {
        use tabpfn_kernels::{attend, Scratch};
        let q = values(1000 * 32, 7);
        let k = values(1000 * 32, 8);
        let v = values(1000 * 32, 9);
        let mut o = vec![0.0f32; 1000 * 32];
        {
            let mut scratch = Scratch::default();
            g.bench_function("kernels/attend_1000x1000_d32", |b| {
                b.iter(|| {
                    attend(
                        MatRef::new(&q, 1000, 32, 32),
                        MatRef::new(&k, 1000, 32, 32),
                        MatRef::new(&v, 1000, 32, 32),
                        &mut MatMut::new(&mut o, 1000, 32, 32),
                        0.17,
                        &mut scratch,
                        tabpfn_kernels::Blocks::AsGiven,
                    )
                })
            });
        }
    }

    // MLP 192 → 768 (exact GELU) → 192 over 50 000 tokens, residual + LayerNorm included
    // for the kernels (stock: MLP alone)
    if let Some(layers) = model.cpu_layers() {
        let mut x = values(50_000 * 192, 3);
        g.bench_function("kernels/mlp_50000_tokens", |b| {
            b.iter(|| layers[0].mlp(&mut x))
        });
    }
    g.bench_function("stock/mlp_50000_tokens", |b| {
        b.iter(|| stock.mlp.forward(at.clone()).into_data())
    });

    // attention between items: 1000 train rows (self, 6 heads) + 1000 test rows (head-0
    // K/V), 51 token columns, projections, residual and LayerNorm included
    if let Some(layers) = model.cpu_layers() {
        let mut x = values(2000 * 51 * 192, 4);
        g.bench_function("kernels/items_1000_train_1000_test_51_columns", |b| {
            b.iter(|| layers[0].items_attention(&mut x, 2000, 51, 1000, None, false))
        });
    }
    let train = Tensor::<3>::random([51, 1000, 192], Distribution::Normal(0.0, 1.0), &device);
    let test = Tensor::<3>::random([51, 1000, 192], Distribution::Normal(0.0, 1.0), &device);
    let items = &stock.attn_between_items;
    g.bench_function("stock/items_1000_train_1000_test_51_columns", |b| {
        b.iter(|| {
            let kv = items.project_kv(train.clone(), KvHeads::All).unwrap();
            let o1 = items.attend(train.clone(), &kv, None).unwrap();
            let o2 = items
                .attend(test.clone(), &kv.narrow_heads(0, 1, &device), None)
                .unwrap();
            (o1.into_data(), o2.into_data())
        })
    });

    // attention between features: 2000 rows × 51 tokens
    if let Some(layers) = model.cpu_layers() {
        let mut x = values(2000 * 51 * 192, 5);
        g.bench_function("kernels/features_2000_rows_51_tokens", |b| {
            b.iter(|| layers[0].features_attention(&mut x, 51))
        });
    }
    let rows = Tensor::<3>::random([2000, 51, 192], Distribution::Normal(0.0, 1.0), &device);
    g.bench_function("stock/features_2000_rows_51_tokens", |b| {
        b.iter(|| {
            stock
                .attn_between_features
                .forward(rows.clone(), None)
                .unwrap()
                .into_data()
        })
    });

    // host x-encoder: 2000 rows × 100 columns, σ = 12 clipping
    let x: Vec<f32> = values(2000 * 100, 6);
    g.bench_function("x_encoder_2000x100", |b| {
        b.iter(|| {
            let opts = XEncoderOptions {
                remove_outliers_std: Some(12.0),
                train_only_statistics: false,
            };
            fit_transform(&x, 2000, 100, 1000, 2, opts)
        })
    });

    // estimator preprocessing: fit (fit_preprocessors: 8 members' transforms, no network)
    // on 1000 rows × 10 numeric columns
    let cols: Vec<Column> = (0..10)
        .map(|j| {
            let v = values(1000, 100 + j as u64);
            Column::numeric(format!("f{j}"), v.iter().map(|&x| x as f64).collect())
        })
        .collect();
    let frame = DataFrame::new(cols).unwrap();
    let y = Target::Numeric((0..1000).map(|i| (i % 3) as f64).collect());
    let clf = TabPFNClassifier::new(Arc::new(model.clone()), EstimatorConfig::default()).unwrap();
    g.bench_function("preprocessing_fit_8_members_1000x10", |b| {
        b.iter(|| clf.fit(&frame, &y).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
