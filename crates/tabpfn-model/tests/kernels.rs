//! The CPU kernels (`Kernels::Auto`) against Burn's stock ops (`Kernels::Stock`) on tables
//! larger than the reference fixtures, so that query blocking, task splitting and the
//! stacked-head path of the items attention all run with several blocks.
//!
//! Tolerance 1e-5 absolute on logits, as for the reference parity tests.

use tabpfn_model::random_weights::{default_config, random_checkpoint};
use tabpfn_model::{ForwardOptions, Kernels, Logits, PerFeatureTransformer, Table, Task};
use tabpfn_test_support::assert_close;

fn table(rows: usize, cols: usize, salt: u64) -> Vec<f32> {
    (0..rows * cols)
        .map(|i| {
            let h = (i as u64 + salt).wrapping_mul(2_654_435_761) % 10_007;
            h as f32 / 2_500.0 - 2.0
        })
        .collect()
}

fn model(task: Task, nlayers: usize) -> PerFeatureTransformer {
    let mut cfg = default_config(task);
    cfg.insert("nlayers".into(), nlayers.into());
    let ck = random_checkpoint(&cfg, 7).unwrap();
    PerFeatureTransformer::from_checkpoint(&ck, &tabpfn_model::device::from_env().unwrap()).unwrap()
}

/// Max |Δ| of two logit tables; fails above 1e-5, on a shape mismatch or a NaN.
fn max_diff(what: &str, a: &Logits, b: &Logits) -> f64 {
    assert_eq!((a.rows, a.n_out), (b.rows, b.n_out), "{what}: shapes");
    assert_close(what, &a.data, &b.data, 1e-5)
}

fn compare(task: Task, n: usize, m: usize, cols: usize) {
    let fast = model(task, 2);
    let stock = fast.clone().with_kernels(Kernels::Stock);
    let x = table(n + m, cols, n as u64);
    let y: Vec<f32> = match task {
        Task::Classification => (0..n).map(|i| (i % 4) as f32).collect(),
        Task::Regression => (0..n).map(|i| (i as f32 * 0.37).sin()).collect(),
    };
    let opts = ForwardOptions::default();
    let t = Table::new(&x, n + m, cols).unwrap();
    let a = fast.forward(t, &y, opts).unwrap();
    let b = stock.forward(t, &y, opts).unwrap();
    let d = max_diff("forward", &a, &b);
    println!("{task:?} ({n}, {m}, {cols}) forward: max |Δ| fast vs stock = {d:.3e}");

    let train = Table::new(&x[..n * cols], n, cols).unwrap();
    let test = Table::new(&x[n * cols..], m, cols).unwrap();
    let ca = fast.fit_cache(train, &y, opts).unwrap();
    let cb = stock.fit_cache(train, &y, opts).unwrap();
    // either implementation's cache works with either implementation
    for (what, cache) in [("fast cache", &ca), ("stock cache", &cb)] {
        let pa = fast.predict_cached(cache, test, None).unwrap();
        let pb = stock.predict_cached(cache, test, None).unwrap();
        let d1 = max_diff(&format!("{what}: fast vs stock"), &pa, &pb);
        let d2 = max_diff(&format!("{what}: vs full forward"), &pa, &b);
        println!("  {what}: fast vs stock {d1:.3e}, vs full forward {d2:.3e}");
    }
}

#[test]
fn classifier_700_train_300_test() {
    compare(Task::Classification, 700, 300, 9);
}

#[test]
fn regressor_with_one_feature_and_few_rows() {
    compare(Task::Regression, 5, 3, 1);
}

/// More train rows than one softmax key chunk holds (2 · 1024), so the items attention
/// takes the online-softmax path (running max and sum over 1024-key chunks, the output
/// rescaled between chunks), with a last chunk that is not a multiple of 8 keys.
#[test]
fn classifier_beyond_two_key_chunks() {
    compare(Task::Classification, 2_501, 37, 3);
}
