//! Parity of the estimator pipeline with the reference `TabPFNClassifier` /
//! `TabPFNRegressor` (tabpfn 2.2.1) on `fixtures/pipeline` (python/gen_pipeline.py), in the
//! four layers of pipeline.md §6.4:
//! 1. every random and integer decision identical (exact);
//! 2. member input matrices: bit-exact for `none` members, ≤ 1e-9 relative for
//!    quantile/SVD members, ≤ 1e-6 for safepower members — fingerprint column excluded
//!    where the reference hashes floats that are not bit-exact (all but `none` members);
//! 3. the network and post-processing on the reference's own member matrices: logits and
//!    probabilities ≤ 1e-5, regression outputs ≤ 1e-5 × std(y);
//!    (layer 4, real datasets, is `tests/pipeline_datasets.rs`).

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::{Array2, ArrayD};
use ndarray_npy::NpzReader;
use serde_json::Value;
use tabpfn_model::pipeline::ensemble::{
    classifier_draws, low_memory_seeds, regressor_draws, subsample_rows,
};
use tabpfn_model::pipeline::{
    Column, DataFrame, EstimatorConfig, FitMode, InferenceConfig, NumpyRng, OutlierRemoval,
    TabPFNClassifier, TabPFNRegressor, Target, DEFAULT_QUANTILES,
};
use tabpfn_model::{ForwardOptions, PerFeatureTransformer, Table, Task};
use tabpfn_test_support::{assert_close, max_abs_diff};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn model(file: &str) -> Arc<PerFeatureTransformer> {
    static MODELS: OnceLock<Mutex<HashMap<String, Arc<PerFeatureTransformer>>>> = OnceLock::new();
    let mut m = MODELS.get_or_init(Default::default).lock().unwrap();
    m.entry(file.to_string())
        .or_insert_with(|| {
            Arc::new(
                PerFeatureTransformer::load(
                    dir().join("model").join(file),
                    &tabpfn_model::device::from_env().unwrap(),
                )
                .unwrap_or_else(|e| panic!("{file}: {e}")),
            )
        })
        .clone()
}

struct Case {
    name: String,
    meta: Value,
    npz: NpzReader<File>,
}

fn load_case(name: &str) -> Case {
    let p = dir().join("pipeline");
    let meta: Value =
        serde_json::from_reader(File::open(p.join(format!("{name}.json"))).unwrap()).unwrap();
    let npz = NpzReader::new(File::open(p.join(format!("{name}.npz"))).unwrap()).unwrap();
    Case {
        name: name.to_string(),
        meta,
        npz,
    }
}

fn frame(meta: &Value, part: &str) -> DataFrame {
    let cols = meta["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap();
            let vals = c[part].as_array().unwrap();
            if c["kind"] == "text" {
                Column::text(
                    name,
                    vals.iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect(),
                )
            } else {
                Column::numeric(
                    name,
                    vals.iter()
                        .map(|v| v.as_f64().unwrap_or(f64::NAN))
                        .collect(),
                )
            }
        })
        .collect();
    DataFrame::new(cols).unwrap()
}

fn target(meta: &Value) -> Target {
    let y = meta["y_train"].as_array().unwrap();
    if y[0].is_string() {
        Target::Text(y.iter().map(|v| v.as_str().unwrap().to_string()).collect())
    } else {
        Target::Numeric(y.iter().map(|v| v.as_f64().unwrap()).collect())
    }
}

fn config(meta: &Value, mode: FitMode) -> EstimatorConfig {
    // `rust_params`: the knobs that give the reference's run in this port, where they
    // differ (the wide-table rule, which the reference runs with an explicit config)
    let p = meta.get("rust_params").unwrap_or(&meta["params"]);
    let mut c = EstimatorConfig {
        fit_mode: mode,
        ..Default::default()
    };
    if let Some(v) = p["n_estimators"].as_u64() {
        c.n_estimators = v as usize;
    }
    if let Some(v) = p["random_state"].as_u64() {
        c.random_state = v;
    }
    if let Some(v) = p["softmax_temperature"].as_f64() {
        c.softmax_temperature = v as f32;
    }
    if let Some(v) = p["average_before_softmax"].as_bool() {
        c.average_before_softmax = v;
    }
    if let Some(v) = p["balance_probabilities"].as_bool() {
        c.balance_probabilities = v;
    }
    if let Some(v) = p["categorical_features_indices"].as_array() {
        c.categorical_features_indices =
            Some(v.iter().map(|i| i.as_u64().unwrap() as usize).collect());
    }
    if let Some(v) = p.get("ignore_pretraining_limits").and_then(Value::as_bool) {
        c.ignore_pretraining_limits = v;
    }
    // the fixture's inference_config dict goes through the one parser every front end uses
    if let Some(ic) = p.get("inference_config") {
        let task = if meta["task"] == "classification" {
            Task::Classification
        } else {
            Task::Regression
        };
        InferenceConfig::from_json(ic)
            .and_then(|ic| ic.apply(&mut c, task))
            .unwrap_or_else(|e| panic!("inference_config {ic}: {e}"));
    }
    c
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn arr2(npz: &mut NpzReader<File>, name: &str) -> Array2<f64> {
    npz.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Max |Δ| / max(1, |expected|) over a column, NaN positions required to match.
fn column_diff(case: &str, what: &str, got: &[f64], expected: &[f64]) -> f64 {
    assert_eq!(got.len(), expected.len(), "{case}/{what}: rows");
    let mut worst = 0.0f64;
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        assert_eq!(
            a.is_nan(),
            b.is_nan(),
            "{case}/{what}: row {i}: {a} vs {b} (NaN mismatch)"
        );
        if !a.is_nan() {
            worst = worst.max((a - b).abs() / b.abs().max(1.0));
        }
    }
    worst
}

/// Layer 2 for one member matrix; returns the worst relative difference.
fn compare_matrix(
    case: &str,
    what: &str,
    got: &tabpfn_model::pipeline::MemberMatrix,
    expected: &Array2<f64>,
    transform: &str,
    skip: Option<usize>,
) -> f64 {
    assert_eq!(
        [got.rows, got.n_columns()],
        [expected.nrows(), expected.ncols()],
        "{case}/{what}: shape"
    );
    let tol = if transform == "safepower" { 1e-6 } else { 1e-9 };
    let mut worst = 0.0f64;
    for j in 0..got.n_columns() {
        if Some(j) == skip {
            continue;
        }
        let exp: Vec<f64> = expected.column(j).to_vec();
        if transform == "none" {
            for (i, (a, b)) in got.columns[j].iter().zip(&exp).enumerate() {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{case}/{what}: column {j} row {i}: {a:e} vs {b:e}, must be bit-exact"
                );
            }
        } else {
            let d = column_diff(case, &format!("{what} col {j}"), &got.columns[j], &exp);
            if d > tol {
                let k = exp.len().min(4);
                println!(
                    "{case}/{what} ({transform}): column {j} Δ {d:e}; first rows {:?}, expected {:?}",
                    &got.columns[j][..k],
                    &exp[..k]
                );
            }
            worst = worst.max(d);
        }
    }
    assert!(
        worst <= tol,
        "{case}/{what} ({transform}): worst relative Δ {worst:e} > {tol:e}"
    );
    worst
}

fn decisions_and_matrices(name: &str) {
    let mut c = load_case(name);
    let meta = c.meta.clone();
    let x_train = frame(&meta, "train");
    let x_test = frame(&meta, "test");
    let y = target(&meta);
    let cfg = config(&meta, FitMode::FitPreprocessors);
    let is_clf = meta["task"] == "classification";
    let m = model(meta["model"].as_str().unwrap());
    let members_meta = meta["members"].as_array().unwrap().clone();
    let n = members_meta.len();
    let expected_seeds: Vec<u64> = members_meta
        .iter()
        .map(|m| m["seed"].as_u64().unwrap())
        .collect();

    // Layer 1: the main generator's draws and the low_memory seeds.
    let lm_expected: Vec<u64> = meta["low_memory_seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    if is_clf {
        let n_classes = meta["classes"].as_array().unwrap().len();
        let d = classifier_draws(cfg.random_state, n, n_classes, cfg.class_shift);
        assert_eq!(d.member_seeds, expected_seeds, "{name}: member seeds");
        let perms: Vec<Vec<usize>> = members_meta
            .iter()
            .map(|m| usizes(&m["class_permutation"]))
            .collect();
        assert_eq!(
            d.class_permutations.unwrap(),
            perms,
            "{name}: class permutations"
        );
        assert_eq!(
            low_memory_seeds(cfg.random_state, n, Some((n_classes, cfg.class_shift))).1,
            lm_expected,
            "{name}: low_memory seeds"
        );
    } else {
        assert_eq!(
            regressor_draws(cfg.random_state, n).member_seeds,
            expected_seeds,
            "{name}: member seeds"
        );
        assert_eq!(
            low_memory_seeds(cfg.random_state, n, None).1,
            lm_expected,
            "{name}: low_memory seeds"
        );
    }

    // Layer 1: the subsampled rows of each member (own generator, seeded by D1).
    if let Some(sub) = cfg.subsample_samples {
        let n_train = meta["n_train"].as_u64().unwrap() as usize;
        let got = subsample_rows(cfg.random_state, n, n_train, sub.rows(n_train));
        let expected: Vec<Vec<usize>> = members_meta
            .iter()
            .map(|m| usizes(&m["subsample_ix"]))
            .collect();
        assert_eq!(got, expected, "{name}: subsampled rows");
        println!(
            "{name}: layer 1, {n} members' subsampled rows identical ({} of {n_train} each)",
            sub.rows(n_train)
        );
    }

    let (views_data, test_mats): (Vec<_>, Vec<_>) = if is_clf {
        let fitted = TabPFNClassifier::new(m.clone(), cfg.clone())
            .unwrap()
            .fit(&x_train, &y)
            .unwrap();
        let classes: Vec<String> = fitted.classes().iter().map(|c| c.to_string()).collect();
        let exp_classes: Vec<String> = meta["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                v => format!("{}", v.as_f64().unwrap()),
            })
            .collect();
        assert_eq!(classes, exp_classes, "{name}: classes");
        let views = fitted
            .members()
            .iter()
            .map(|v| {
                (
                    v.seed(),
                    v.transform_name(),
                    v.salt(),
                    v.feature_permutation().to_vec(),
                    v.categorical_indices().to_vec(),
                    v.fingerprint_column(),
                    v.x_train().clone(),
                    v.y_train().to_vec(),
                    v.class_permutation().map(|p| p.to_vec()),
                )
            })
            .collect();
        let tests = (0..n)
            .map(|i| fitted.member_test_matrix(i, &x_test).unwrap())
            .collect();
        (views, tests)
    } else {
        let fitted = TabPFNRegressor::new(m.clone(), cfg.clone())
            .unwrap()
            .fit(&x_train, &y)
            .unwrap();
        for (i, mm) in members_meta.iter().enumerate() {
            let lam = fitted.member_target_lambda(i);
            match mm["target_lambda"].as_f64() {
                Some(e) => {
                    let d = (lam.unwrap() - e).abs();
                    assert!(
                        d <= 1e-7 * e.abs().max(1.0),
                        "{name}: member {i} target λ {lam:?} vs {e}"
                    );
                }
                None => assert!(lam.is_none(), "{name}: member {i} has a target transform"),
            }
        }
        let views = fitted
            .members()
            .iter()
            .map(|v| {
                (
                    v.seed(),
                    v.transform_name(),
                    v.salt(),
                    v.feature_permutation().to_vec(),
                    v.categorical_indices().to_vec(),
                    v.fingerprint_column(),
                    v.x_train().clone(),
                    v.y_train().to_vec(),
                    None,
                )
            })
            .collect();
        let tests = (0..n)
            .map(|i| fitted.member_test_matrix(i, &x_test).unwrap())
            .collect();
        (views, tests)
    };

    let mut worst_by_kind: HashMap<&str, f64> = HashMap::new();
    for (i, ((seed, tname, salt, perm, cat_ix, fp_col, x_tr, y_tr, _), x_te)) in
        views_data.iter().zip(&test_mats).enumerate()
    {
        let mm = &members_meta[i];
        assert_eq!(*seed, expected_seeds[i], "{name}: member {i} seed");
        assert_eq!(
            *tname,
            mm["transform"].as_str().unwrap(),
            "{name}: member {i} config"
        );
        assert_eq!(*salt, mm["salt"].as_u64(), "{name}: member {i} salt");
        assert_eq!(
            perm,
            &usizes(&mm["feature_permutation"]),
            "{name}: member {i} feature permutation"
        );
        assert_eq!(
            cat_ix,
            &usizes(&mm["cat_ix"]),
            "{name}: member {i} categorical indices"
        );
        assert_eq!(
            *fp_col,
            mm["fingerprint_column"].as_u64().map(|v| v as usize),
            "{name}: member {i} fingerprint column"
        );

        // Layer 2.
        let skip = if *tname == "none" { None } else { *fp_col };
        let exp_tr = arr2(&mut c.npz, &format!("m{i}_x_train"));
        let exp_te = arr2(&mut c.npz, &format!("m{i}_x_test"));
        let w1 = compare_matrix(
            name,
            &format!("member {i} train"),
            x_tr,
            &exp_tr,
            tname,
            skip,
        );
        let w2 = compare_matrix(
            name,
            &format!("member {i} test"),
            x_te,
            &exp_te,
            tname,
            skip,
        );
        let e = worst_by_kind.entry(tname).or_insert(0.0);
        *e = e.max(w1).max(w2);
        let exp_y: ArrayD<f64> = c.npz.by_name(&format!("m{i}_y_train")).unwrap();
        let y_tr64: Vec<f64> = y_tr.iter().map(|&v| v as f64).collect();
        let exp_y: Vec<f64> = exp_y.iter().copied().collect();
        let ytol = if is_clf { 0.0 } else { 1e-6 };
        assert_close(&format!("{name}: member {i} y"), &y_tr64, &exp_y, ytol);
    }
    let mut kinds: Vec<_> = worst_by_kind.into_iter().collect();
    kinds.sort_by(|a, b| a.0.cmp(b.0));
    for (k, w) in kinds {
        println!(
            "{name}: layer 2, {k} members: worst relative Δ {w:.3e}{}",
            if k == "none" {
                " (bit-exact incl. fingerprint)"
            } else {
                " (fingerprint column excluded)"
            }
        );
    }
    println!("{name}: layer 1 ok ({n} member seeds, permutations, salts, categorical indices)");
    let _ = c.name;
}

/// Layer 3: the Rust network and post-processing on the reference's member matrices.
fn network_on_reference_members(name: &str) {
    let mut c = load_case(name);
    let meta = c.meta.clone();
    let x_train = frame(&meta, "train");
    let y = target(&meta);
    let cfg = config(&meta, FitMode::FitPreprocessors);
    let is_clf = meta["task"] == "classification";
    let m = model(meta["model"].as_str().unwrap());
    let opts = ForwardOptions {
        remove_outliers_std: match cfg.outlier_removal {
            OutlierRemoval::Auto => is_clf.then_some(12.0),
            OutlierRemoval::Off => None,
            OutlierRemoval::Std(s) => Some(s),
        },
        query_chunk: None,
        ..Default::default()
    };
    let n = meta["members"].as_array().unwrap().len();
    let mut logits = Vec::new();
    let mut worst_logit = 0.0f64;
    for i in 0..n {
        let tr = arr2(&mut c.npz, &format!("m{i}_x_train"));
        let te = arr2(&mut c.npz, &format!("m{i}_x_test"));
        let yv: ArrayD<f64> = c.npz.by_name(&format!("m{i}_y_train")).unwrap();
        let cols = tr.ncols();
        let rows = tr.nrows() + te.nrows();
        let x: Vec<f32> = tr.iter().chain(te.iter()).map(|&v| v as f32).collect();
        let yv: Vec<f32> = yv.iter().map(|&v| v as f32).collect();
        let l = m
            .forward(Table::new(&x, rows, cols).unwrap(), &yv, opts)
            .unwrap();
        let exp: ArrayD<f32> = c.npz.by_name(&format!("m{i}_logits")).unwrap();
        let exp: Vec<f32> = exp.iter().copied().collect();
        let d = assert_close(&format!("{name}: member {i} logits"), &l.data, &exp, 1e-5);
        worst_logit = worst_logit.max(d);
        logits.push(l);
    }
    println!("{name}: layer 3, member logits worst max |Δ| {worst_logit:.3e}");
    assert!(
        worst_logit <= 1e-5,
        "{name}: member logits {worst_logit:e} > 1e-5"
    );
    if is_clf {
        let fitted = TabPFNClassifier::new(m, cfg)
            .unwrap()
            .fit(&x_train, &y)
            .unwrap();
        let p = fitted.proba_from_member_logits(&logits).unwrap();
        let exp: ArrayD<f32> = c.npz.by_name("proba").unwrap();
        let d = max_diff(&p.data, &exp);
        println!("{name}: layer 3, probabilities max |Δ| {d:.3e}");
        assert!(d <= 1e-5, "{name}: probabilities {d:e} > 1e-5");
    } else {
        let fitted = TabPFNRegressor::new(m, cfg)
            .unwrap()
            .fit(&x_train, &y)
            .unwrap();
        let out = fitted
            .outputs_from_member_logits(&logits, &DEFAULT_QUANTILES)
            .unwrap();
        let yv = match &y {
            Target::Numeric(v) => v.clone(),
            _ => unreachable!(),
        };
        let mean = yv.iter().sum::<f64>() / yv.len() as f64;
        let std =
            (yv.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / yv.len() as f64).sqrt() as f32;
        let tol = (1e-5 * std) as f64;
        let mut report = Vec::new();
        for (what, got) in [
            ("mean", &out.mean),
            ("median", &out.median),
            ("mode", &out.mode),
        ] {
            let exp: ArrayD<f32> = c.npz.by_name(what).unwrap();
            let d = max_diff(got, &exp);
            report.push(format!("{what} {d:.2e}"));
            assert!(d <= tol, "{name}: {what} {d:e} > {tol:e} (1e-5 × std(y))");
        }
        let exp: ArrayD<f32> = c.npz.by_name("quantiles").unwrap();
        let flat: Vec<f32> = out.quantiles.iter().flatten().copied().collect();
        let d = max_diff(&flat, &exp);
        report.push(format!("quantiles {d:.2e}"));
        assert!(d <= tol, "{name}: quantiles {d:e} > {tol:e}");
        println!(
            "{name}: layer 3, regression outputs max |Δ|: {} (tolerance 1e-5 × std(y) = {tol:.2e})",
            report.join(", ")
        );
    }
}

/// Max |Δ| against a fixture array; fails on a length mismatch or a NaN (the caller
/// checks the tolerance).
fn max_diff(got: &[f32], exp: &ArrayD<f32>) -> f64 {
    let exp: Vec<f32> = exp.iter().copied().collect();
    max_abs_diff(got, &exp)
        .unwrap_or_else(|m| panic!("{m:?}"))
        .0
}

/// `fit_with_cache` predicts what `fit_preprocessors` predicts.
#[test]
fn fit_with_cache_matches_fit_preprocessors() {
    for name in ["clf_mixed", "reg_small_knobs"] {
        let c = load_case(name);
        let meta = &c.meta;
        let (x_train, x_test, y) = (frame(meta, "train"), frame(meta, "test"), target(meta));
        let m = model(meta["model"].as_str().unwrap());
        let run = |mode| -> Vec<f32> {
            let cfg = config(meta, mode);
            if meta["task"] == "classification" {
                TabPFNClassifier::new(m.clone(), cfg)
                    .unwrap()
                    .fit(&x_train, &y)
                    .unwrap()
                    .predict_proba(&x_test)
                    .unwrap()
                    .data
            } else {
                TabPFNRegressor::new(m.clone(), cfg)
                    .unwrap()
                    .fit(&x_train, &y)
                    .unwrap()
                    .predict(&x_test)
                    .unwrap()
            }
        };
        let a = run(FitMode::FitPreprocessors);
        let b = run(FitMode::FitWithCache);
        let d = assert_close(
            &format!("{name}: fit_with_cache vs fit_preprocessors"),
            &a,
            &b,
            1e-5,
        );
        println!("{name}: fit_with_cache vs fit_preprocessors max |Δ| {d:.3e}");
    }
}

#[test]
fn numpy_rng_matches_numpy() {
    let cases: Value =
        serde_json::from_reader(File::open(dir().join("pipeline/numpy_rng.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for case in cases.as_array().unwrap() {
        let seed = case["seed"].as_u64().unwrap();
        let mut g = NumpyRng::new(seed);
        for call in case["calls"].as_array().unwrap() {
            let a: Vec<i64> = call["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            let op = call["op"].as_str().unwrap();
            let got: Value = match op {
                "integers" => g.integers(a[0], a[1]).into(),
                "integers_n" => g.integers_n(a[0], a[1], a[2] as usize).into(),
                "random" => (0..a[0]).map(|_| g.random()).collect::<Vec<f64>>().into(),
                "permutation" => g.permutation(a[0] as usize).into(),
                "choice_nr" => g
                    .choice_without_replacement(a[0] as usize, a[1] as usize)
                    .into(),
                other => panic!("unknown op {other}"),
            };
            assert_eq!(got, call["out"], "seed {seed}: {op}{a:?}");
            checked += 1;
        }
    }
    println!("numpy default_rng: {checked} calls identical to numpy");
}

macro_rules! cases {
    ($($name:ident),*) => {
        mod decisions_and_member_matrices { $( #[test] fn $name() { super::decisions_and_matrices(stringify!($name)); } )* }
        mod network_and_postprocessing { $( #[test] fn $name() { super::network_on_reference_members(stringify!($name)); } )* }
    };
}
cases!(
    clf_mixed,
    clf_binary_numeric,
    clf_4class_knobs,
    reg_mixed,
    reg_small_knobs,
    clf_7class_text,
    reg_onehot,
    clf_small_1feat,
    clf_subsample,
    clf_subsample_all,
    reg_subsample,
    clf_knobs_rotate,
    clf_custom_transforms,
    reg_custom_transforms,
    clf_all_missing,
    clf_all_missing_small,
    reg_all_missing,
    clf_wide,
    clf_polynomial,
    reg_polynomial_all
);

/// A saved fit predicts exactly what the in-memory fit predicts, in every fit mode.
#[test]
fn saved_fit_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for (name, mode) in [
        ("clf_mixed", FitMode::FitWithCache),
        ("clf_binary_numeric", FitMode::LowMemory),
        ("reg_small_knobs", FitMode::FitWithCache),
        ("reg_mixed", FitMode::FitPreprocessors),
    ] {
        let c = load_case(name);
        let meta = &c.meta;
        let (x_train, x_test, y) = (frame(meta, "train"), frame(meta, "test"), target(meta));
        let m = model(meta["model"].as_str().unwrap());
        let path = dir.path().join(format!("{name}.fit"));
        let cfg = config(meta, mode);
        let (a, b) = if meta["task"] == "classification" {
            let f = TabPFNClassifier::new(m.clone(), cfg)
                .unwrap()
                .fit(&x_train, &y)
                .unwrap();
            f.save(&path).unwrap();
            let g = tabpfn_model::pipeline::FittedClassifier::load(&path, m.clone()).unwrap();
            assert_eq!(f.classes(), g.classes());
            (
                f.predict_proba(&x_test).unwrap().data,
                g.predict_proba(&x_test).unwrap().data,
            )
        } else {
            let f = TabPFNRegressor::new(m.clone(), cfg)
                .unwrap()
                .fit(&x_train, &y)
                .unwrap();
            f.save(&path).unwrap();
            let g = tabpfn_model::pipeline::FittedRegressor::load(&path, m.clone()).unwrap();
            (f.predict(&x_test).unwrap(), g.predict(&x_test).unwrap())
        };
        assert_eq!(a, b, "{name} ({mode:?}): loaded fit predicts differently");
        // The wrong task is refused with a message naming the file.
        let err = if meta["task"] == "classification" {
            tabpfn_model::pipeline::FittedRegressor::load(&path, model("tiny_reg.ckpt"))
                .unwrap_err()
        } else {
            tabpfn_model::pipeline::FittedClassifier::load(&path, model("tiny_clf.ckpt"))
                .unwrap_err()
        };
        assert!(err.to_string().contains(&format!("{name}.fit")), "{err}");
        println!("{name} ({mode:?}): save → load → predict identical; wrong task refused: {err}");
    }
}
