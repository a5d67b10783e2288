//! Timings for `scripts/bench-vs-python.sh` (the Rust side; `python/bench_forward.py` is the
//! PyTorch side). Each prints one line: `min X s, median Y s over R runs` (+ extras).
//!
//! ```text
//! cargo run --release -p tabpfn-model --example bench -- e2e MODEL CASE.npz REPEAT [OUT.npz]
//!     fit + predict_proba of the default 8-member TabPFNClassifier; CASE.npz holds
//!     x_train [n, d], y_train [n], x_test [m, d] (float64); OUT.npz gets the last run's
//!     probabilities [m, classes] as `logits` (so `python/compare.py` reads it);
//!     TABPFN_TORCH_RNG=cuda reproduces the reference run on CUDA (`TorchRng::CUDA_H100`)
//! cargo run --release -p tabpfn-model --example bench -- cache MODEL N_TRAIN COLS REPEAT
//!     predict one row from a fit_with_cache cache vs a full forward over N_TRAIN + 1 rows
//! cargo run --release -p tabpfn-model --example bench -- sgemm
//!     the matmul rate of this machine through the kernels' gemm (all rayon threads)
//! cargo run --release -p tabpfn-model --example bench -- attend S N
//!     one attention head, S queries x N keys, K/V read in place vs packed (1 thread)
//! ```

use std::error::Error;
use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use ndarray::{Array2, ArrayD, Axis};
use ndarray_npy::{NpzReader, NpzWriter};
use tabpfn_kernels::{
    attend, attend_packed, matmul, Blocks, MatMut, MatRef, PackedKv, Scratch, Threads,
};
use tabpfn_model::{Column, DataFrame, EstimatorConfig, TabPFNClassifier, Target};
use tabpfn_model::{ForwardOptions, PerFeatureTransformer, Table, TorchRng};

type Res<T> = Result<T, Box<dyn Error>>;

fn stats(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[0], t[t.len() / 2])
}

fn time<T>(repeat: usize, mut f: impl FnMut() -> Res<T>) -> Res<(f64, f64)> {
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        std::hint::black_box(f()?);
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(stats(times))
}

fn frame(x: &ArrayD<f64>) -> Res<DataFrame> {
    let cols = (0..x.shape()[1])
        .map(|j| {
            Column::numeric(
                format!("f{j}"),
                x.index_axis(Axis(1), j).iter().copied().collect(),
            )
        })
        .collect();
    Ok(DataFrame::new(cols)?)
}

fn e2e(model: &str, case: &str, repeat: usize, save: Option<&str>) -> Res<()> {
    let device = tabpfn_model::device::from_env()?;
    let rng = match std::env::var("TABPFN_TORCH_RNG").as_deref() {
        Ok("cuda") => TorchRng::CUDA_H100,
        Ok("cpu") | Err(_) => TorchRng::Cpu,
        Ok(other) => return Err(format!("TABPFN_TORCH_RNG={other}: expected cpu or cuda").into()),
    };
    let model = Arc::new(PerFeatureTransformer::load(model, &device)?.with_torch_rng(rng));
    let mut npz = NpzReader::new(File::open(case)?)?;
    let x_train: ArrayD<f64> = npz.by_name("x_train")?;
    let y_train: ArrayD<f64> = npz.by_name("y_train")?;
    let x_test: ArrayD<f64> = npz.by_name("x_test")?;
    let (train, test) = (frame(&x_train)?, frame(&x_test)?);
    let y = Target::Numeric(y_train.iter().copied().collect());
    let config = EstimatorConfig {
        ignore_pretraining_limits: true,
        ..EstimatorConfig::default()
    };
    let clf = TabPFNClassifier::new(model, config)?;
    let mut proba = None;
    let (min, med) = time(repeat, || {
        proba = Some(clf.fit(&train, &y)?.predict_proba(&test)?);
        Ok(())
    })?;
    println!("rust e2e: min {min:.3} s, median {med:.3} s over {repeat} runs");
    if let (Some(path), Some(p)) = (save, proba) {
        let mut npz = NpzWriter::new(File::create(path)?);
        npz.add_array(
            "logits",
            &Array2::from_shape_vec((p.rows, p.classes), p.data)?,
        )?;
        npz.finish()?;
    }
    Ok(())
}

fn cache(model: &str, n: usize, cols: usize, repeat: usize) -> Res<()> {
    let device = tabpfn_model::device::from_env()?;
    let model = PerFeatureTransformer::load(model, &device)?;
    let x: Vec<f32> = (0..(n + 1) * cols)
        .map(|i| (((i as u64).wrapping_mul(2_654_435_761) % 1000) as f32) / 250.0 - 2.0)
        .collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
    let opts = ForwardOptions::default();
    let t = Instant::now();
    let cache = model.fit_cache(Table::new(&x[..n * cols], n, cols)?, &y, opts)?;
    let fit = t.elapsed().as_secs_f64();
    let row = Table::new(&x[n * cols..], 1, cols)?;
    let (cmin, cmed) = time(repeat * 10, || Ok(model.predict_cached(&cache, row, None)?))?;
    let full = Table::new(&x, n + 1, cols)?;
    let (fmin, fmed) = time(repeat, || Ok(model.forward(full, &y, opts)?))?;
    println!(
        "rust cache: fit_with_cache {fit:.3} s; predict 1 row from the cache min {cmin:.4} s, \
         median {cmed:.4} s over {} runs; full forward ({n} + 1 rows) min {fmin:.3} s, median \
         {fmed:.3} s over {repeat} runs; ratio full/cached (median) {:.0}x",
        repeat * 10,
        fmed / cmed
    );
    Ok(())
}

fn sgemm() -> Res<()> {
    let threads = rayon::current_num_threads();
    for (m, k, n) in [(2048, 2048, 2048), (4096, 4096, 4096), (50_000, 192, 576)] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0.0f32; m * n];
        let (min, _) = time(5, || {
            matmul(
                &mut MatMut::new(&mut c, m, n, n),
                MatRef::new(&a, m, k, k),
                MatRef::new(&b, k, n, n),
                false,
                Threads::Pool,
            );
            Ok(())
        })?;
        let gflops = 2.0 * (m * k * n) as f64 / min / 1e9;
        println!(
            "sgemm [{m}, {k}] x [{k}, {n}] on {threads} threads: {gflops:.1} GFLOP/s (best of 5)"
        );
    }
    Ok(())
}

/// One head of the items attention on one thread: `s` queries against `n` keys (D = 32) whose
/// K/V sit in a fused `[n, 2·6·32]` product, read in place vs packed once.
fn attend_head(s: usize, n: usize) -> Res<()> {
    let (d, hd) = (32, 192);
    let f = |i: usize| ((i * 2_654_435_761) % 1000) as f32 / 1000.0 - 0.5;
    let q: Vec<f32> = (0..s * d).map(f).collect();
    let kv: Vec<f32> = (0..n * 2 * hd).map(|i| f(i + 7)).collect();
    let kv_m = MatRef::new(&kv, n, 2 * hd, 2 * hd);
    let (k, v) = (kv_m.sub(0..n, 0..d), kv_m.sub(0..n, hd..hd + d));
    let mut out = vec![0.0f32; s * d];
    let mut scratch = Scratch::default();
    let qm = MatRef::new(&q, s, d, d);
    let gflop = 4.0 * (s * n * d) as f64 / 1e9;
    let (in_place, _) = time(5, || {
        attend(
            qm,
            k,
            v,
            &mut MatMut::new(&mut out, s, d, d),
            0.17,
            &mut scratch,
            Blocks::AsGiven,
        );
        Ok(())
    })?;
    let (packed, _) = time(5, || {
        let kv = PackedKv::new(k, v);
        attend_packed(
            qm,
            &kv,
            &mut MatMut::new(&mut out, s, d, d),
            0.17,
            &mut scratch,
            Blocks::AsGiven,
        );
        Ok(())
    })?;
    println!(
        "one head, {s} queries x {n} keys, 1 thread: in place {:.1} ms ({:.1} GFLOP/s), packed {:.1} ms ({:.1} GFLOP/s)",
        in_place * 1e3,
        gflop / in_place,
        packed * 1e3,
        gflop / packed
    );
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| -> Res<usize> {
        Ok(args
            .get(i)
            .ok_or("missing argument (see the file's header)")?
            .parse()?)
    };
    match args.first().map(String::as_str) {
        Some("e2e") if (4..=5).contains(&args.len()) => {
            e2e(&args[1], &args[2], num(3)?, args.get(4).map(String::as_str))
        }
        Some("cache") if args.len() == 5 => cache(&args[1], num(2)?, num(3)?, num(4)?),
        Some("sgemm") => sgemm(),
        Some("attend") if args.len() == 3 => attend_head(num(1)?, num(2)?),
        _ => {
            Err("usage: bench e2e MODEL CASE.npz REPEAT [OUT.npz] | cache MODEL N COLS REPEAT | sgemm | attend S N".into())
        }
    }
}
