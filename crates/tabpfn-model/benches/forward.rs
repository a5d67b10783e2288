//! Forward pass of the default-size (12-layer, E = 192) network with random weights.
//!
//! `cargo bench -p tabpfn-model` runs (train, test, features) = (100, 100, 10);
//! `TABPFN_BENCH_LARGE=1` adds (1000, 1000, 100) and (5000, 1000, 20) (minutes each on
//! 2 CPU cores). Feature counts are widened like the reference's preprocessing does for
//! half the ensemble members (2.5·d + 1).

use criterion::{criterion_group, criterion_main, Criterion};
use tabpfn_model::random_weights::{default_config, random_checkpoint};
use tabpfn_model::{ForwardOptions, PerFeatureTransformer, Table, Task};

fn table(rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|i| (((i as u64).wrapping_mul(2_654_435_761) % 1000) as f32) / 250.0 - 2.0)
        .collect()
}

fn bench(c: &mut Criterion) {
    let device = tabpfn_model::device::from_env().unwrap();
    let ck = random_checkpoint(&default_config(Task::Classification), 0).unwrap();
    let model = PerFeatureTransformer::from_checkpoint(&ck, &device).unwrap();
    let mut shapes = vec![(100usize, 100usize, 10usize)];
    if std::env::var_os("TABPFN_BENCH_LARGE").is_some() {
        shapes.extend([(1000, 1000, 100), (5000, 1000, 20)]);
    }
    let mut group = c.benchmark_group("forward_12_layers");
    group.sample_size(10);
    for (n, m, d) in shapes {
        let cols = (5 * d).div_ceil(2) + 1;
        let x = table(n + m, cols);
        let y: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
        group.bench_function(format!("train{n}_test{m}_features{d}(width{cols})"), |b| {
            b.iter(|| {
                model
                    .forward(
                        Table::new(&x, n + m, cols).unwrap(),
                        &y,
                        ForwardOptions::default(),
                    )
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
