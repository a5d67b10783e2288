//! Parity of the network with the reference `PerFeatureTransformer` (tabpfn 2.2.1) on the
//! random-weight checkpoints and cases of `fixtures/model` (python/gen_model.py).
//!
//! Tolerance: max |Δ| ≤ 1e-5 absolute on logits and on the regression outputs (which live
//! in the z-scored border space, magnitudes ≤ ~5). Every test prints what it measured.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use serde_json::Value;
use tabpfn_model::{
    BarDistribution, ForwardOptions, Kernels, Logits, PerFeatureTransformer, Table, Task,
};
use tabpfn_test_support::assert_close;

const TOL: f64 = 1e-5;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/model")
}

fn model(name: &str) -> PerFeatureTransformer {
    static MODELS: OnceLock<Mutex<HashMap<String, PerFeatureTransformer>>> = OnceLock::new();
    let mut m = MODELS.get_or_init(Default::default).lock().unwrap();
    m.entry(name.to_string())
        .or_insert_with(|| {
            PerFeatureTransformer::load(
                dir().join(format!("{name}.ckpt")),
                &tabpfn_model::device::from_env().unwrap(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"))
        })
        .clone()
}

fn check(case: &str, what: &str, got: &[f32], expected: &ArrayD<f32>) {
    let want: Vec<f32> = expected.iter().copied().collect();
    let d = assert_close(&format!("{case}/{what}"), got, &want, TOL);
    println!(
        "{case}/{what}: max |Δ| = {d:.3e} over {} values (tolerance {TOL:.0e})",
        got.len()
    );
}

/// Each case runs through both implementations of the layer stack: the CPU kernels
/// (`Kernels::Auto` on the CPU device) and Burn's stock ops (`Kernels::Stock`).
fn run_case(case: &str) {
    for kernels in [Kernels::Auto, Kernels::Stock] {
        run_case_with(&format!("{case}[{kernels:?}]"), case, kernels);
    }
}

fn run_case_with(label: &str, case: &str, kernels: Kernels) {
    let index: Value =
        serde_json::from_reader(File::open(dir().join("cases.json")).unwrap()).unwrap();
    let meta = &index[case];
    let mut npz = NpzReader::new(File::open(dir().join(format!("{case}.npz"))).unwrap()).unwrap();
    let x: ArrayD<f32> = npz.by_name("x").unwrap();
    let y: ArrayD<f32> = npz.by_name("y").unwrap();
    let (rows, cols) = (x.shape()[0], x.shape()[1]);
    let x: Vec<f32> = x.iter().copied().collect();
    let y: Vec<f32> = y.iter().copied().collect();
    let n = y.len();
    let m = model(meta["model"].as_str().unwrap()).with_kernels(kernels);
    let opts = ForwardOptions {
        remove_outliers_std: meta["outlier_std"].as_f64().map(|v| v as f32),
        query_chunk: None,
        ..Default::default()
    };

    let logits = m
        .forward(Table::new(&x, rows, cols).unwrap(), &y, opts)
        .unwrap();
    let expected: ArrayD<f32> = npz.by_name("logits").unwrap();
    assert_eq!(
        [logits.rows, logits.n_out],
        [expected.shape()[0], expected.shape()[1]]
    );
    check(label, "logits", &logits.data, &expected);

    if m.task() == Task::Regression {
        check_regression(label, &m, &logits, &mut npz, meta);
    }
    if meta["cache"].as_bool().unwrap() {
        let cache = m
            .fit_cache(Table::new(&x[..n * cols], n, cols).unwrap(), &y, opts)
            .unwrap();
        let test = Table::new(&x[n * cols..], rows - n, cols).unwrap();
        let cached = m.predict_cached(&cache, test, None).unwrap();
        check(
            label,
            "logits_cache",
            &cached.data,
            &npz.by_name("logits_cache").unwrap(),
        );
        // the cache survives a safetensors round trip unchanged
        let path = std::env::temp_dir().join(format!(
            "tabpfn-cache-{case}-{}.safetensors",
            std::process::id()
        ));
        cache.save(&path).unwrap();
        let loaded = tabpfn_model::TrainCache::load(&path, &m).unwrap();
        std::fs::remove_file(&path).ok();
        let again = m.predict_cached(&loaded, test, None).unwrap();
        assert_eq!(
            again.data, cached.data,
            "{label}: cache reloaded from disk gives other logits"
        );
    }
}

fn check_regression(
    case: &str,
    m: &PerFeatureTransformer,
    logits: &Logits,
    npz: &mut NpzReader<File>,
    meta: &Value,
) {
    let bar = BarDistribution::new(m.borders().unwrap().to_vec()).unwrap();
    let rows = 0..logits.rows;
    let mean: Vec<f32> = rows
        .clone()
        .map(|i| bar.mean(logits.row(i)).unwrap())
        .collect();
    let median: Vec<f32> = rows
        .clone()
        .map(|i| bar.median(logits.row(i)).unwrap())
        .collect();
    let mode: Vec<f32> = rows
        .clone()
        .map(|i| bar.mode(logits.row(i)).unwrap())
        .collect();
    check(case, "mean", &mean, &npz.by_name("mean").unwrap());
    check(case, "median", &median, &npz.by_name("median").unwrap());
    check(case, "mode", &mode, &npz.by_name("mode").unwrap());
    let qs: Vec<f32> = meta["quantiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q.as_f64().unwrap() as f32)
        .collect();
    let quantiles: Vec<f32> = rows
        .flat_map(|i| {
            qs.iter()
                .map(|&q| bar.icdf(logits.row(i), q).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    check(
        case,
        "quantiles",
        &quantiles,
        &npz.by_name("quantiles").unwrap(),
    );
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*
    };
}

cases!(
    clf2_basic,
    clf3_specials_odd,
    clf10,
    clf_1test,
    clf_500test,
    clf_1feat,
    clf_60feat,
    clf_outliers,
    clf_label_gaps,
    clf_1train,
    clf_f1_dup,
    reg_basic,
    reg_specials,
    default_clf,
);

#[test]
fn every_fixture_case_has_a_test() {
    let index: Value =
        serde_json::from_reader(File::open(dir().join("cases.json")).unwrap()).unwrap();
    assert_eq!(
        index.as_object().unwrap().len(),
        14,
        "add new fixture cases to cases!()"
    );
}
