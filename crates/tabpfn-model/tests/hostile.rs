//! Hostile models, saved fits and caches (issue 16): every value read from a file is checked
//! before it sizes an allocation or indexes an array, and non-finite numbers are refused
//! where they enter — weights at load, overflow at predict — with errors naming the tensor,
//! field or stage.

use std::sync::Arc;

use serde_json::Value;
use tabpfn_model::random_weights::tiny_checkpoint;
use tabpfn_model::{
    Column, DataFrame, Device, EstimatorConfig, FitMode, FittedClassifier, FittedRegressor,
    ModelConfig, PerFeatureTransformer, TabPFNClassifier, TabPFNRegressor, Target, Task,
    TrainCache,
};
use tabpfn_weights::Checkpoint;

fn model(task: Task) -> Arc<PerFeatureTransformer> {
    Arc::new(
        PerFeatureTransformer::from_checkpoint(&tiny_checkpoint(task, 1).unwrap(), &Device::flex())
            .unwrap(),
    )
}

fn table() -> (DataFrame, Target, Target) {
    let x = DataFrame::new(vec![
        Column::numeric("a", (0..30).map(|i| (i as f64 * 0.7).sin()).collect()),
        Column::numeric("b", (0..30).map(|i| (i % 7) as f64).collect()),
    ])
    .unwrap();
    let labels = Target::Numeric((0..30).map(|i| (i % 3) as f64).collect());
    let values = Target::Numeric((0..30).map(|i| i as f64 * 0.5 + 1.0).collect());
    (x, labels, values)
}

/// The 2-member `fit_with_cache` knobs the saved-fit tests use.
fn cached_config() -> EstimatorConfig {
    EstimatorConfig {
        n_estimators: 2,
        fit_mode: FitMode::FitWithCache,
        ..Default::default()
    }
}

fn cached_classifier(
    m: &Arc<PerFeatureTransformer>,
    x: &DataFrame,
    y: &Target,
) -> FittedClassifier {
    TabPFNClassifier::new(m.clone(), cached_config())
        .unwrap()
        .fit(x, y)
        .unwrap()
}

fn cached_regressor(m: &Arc<PerFeatureTransformer>, x: &DataFrame, y: &Target) -> FittedRegressor {
    TabPFNRegressor::new(m.clone(), cached_config())
        .unwrap()
        .fit(x, y)
        .unwrap()
}

#[test]
fn non_finite_weights_are_refused_naming_the_tensor() {
    for bad in [f32::NAN, f32::INFINITY] {
        let mut ck = tiny_checkpoint(Task::Classification, 1).unwrap();
        let (name, t) = &mut ck.tensors[3];
        t.data[1] = bad;
        let name = name.clone();
        let e = PerFeatureTransformer::from_checkpoint(&ck, &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&name) && e.contains("finite"), "{e}");
    }
}

#[test]
fn huge_weights_overflow_into_an_error_not_nan_probabilities() {
    let mut ck = tiny_checkpoint(Task::Classification, 1).unwrap();
    for (name, t) in &mut ck.tensors {
        if name.starts_with("decoder_dict") {
            t.data.iter_mut().for_each(|v| *v *= 1e30);
        }
    }
    let m = Arc::new(PerFeatureTransformer::from_checkpoint(&ck, &Device::flex()).unwrap());
    let (x, y, _) = table();
    let cfg = EstimatorConfig {
        n_estimators: 1,
        ..Default::default()
    };
    let e = TabPFNClassifier::new(m, cfg)
        .unwrap()
        .fit(&x, &y)
        .unwrap()
        .predict_proba(&x)
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite"), "{e}");
}

#[test]
fn a_tiny_softmax_temperature_is_an_error_for_both_tasks() {
    let (x, labels, values) = table();
    let cfg = EstimatorConfig {
        n_estimators: 1,
        softmax_temperature: 1e-40,
        ..Default::default()
    };
    let e = TabPFNClassifier::new(model(Task::Classification), cfg.clone())
        .unwrap()
        .fit(&x, &labels)
        .unwrap()
        .predict_proba(&x)
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite"), "{e}");
    let e = TabPFNRegressor::new(model(Task::Regression), cfg)
        .unwrap()
        .fit(&x, &values)
        .unwrap()
        .predict(&x)
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite"), "{e}");
}

#[test]
fn config_dimensions_beyond_the_limits_are_refused_before_sizing_anything() {
    let base = tiny_checkpoint(Task::Classification, 1).unwrap();
    for (field, value, needle) in [
        ("nlayers", Value::from(1_000_000_000u64), "nlayers"),
        ("emsize", Value::from(1u64 << 40), "emsize"),
        // emsize × nhid_factor wraps usize on 64-bit
        ("nhid_factor", Value::from(u64::MAX / 8), "nhid_factor"),
        ("num_buckets", Value::from(u64::MAX), "num_buckets"),
    ] {
        let mut cfg = base.config().clone();
        cfg.insert(field.into(), value);
        let t = std::time::Instant::now();
        let e = ModelConfig::from_json(&cfg).unwrap_err().to_string();
        assert!(e.contains(needle), "{field}: {e}");
        assert!(t.elapsed().as_secs_f64() < 1.0);
        let ck = Checkpoint::from_parts(
            base.tensors.clone(),
            [("config".to_string(), Value::Object(cfg))].into(),
        )
        .unwrap();
        assert!(PerFeatureTransformer::from_checkpoint(&ck, &Device::flex()).is_err());
    }
}

#[test]
fn estimator_knobs_are_validated_when_the_estimator_is_built() {
    let m = model(Task::Classification);
    for (cfg, needle) in [
        (
            EstimatorConfig {
                n_estimators: 0,
                ..Default::default()
            },
            "n_estimators",
        ),
        (
            EstimatorConfig {
                n_estimators: 10_001,
                ..Default::default()
            },
            "n_estimators",
        ),
        (
            EstimatorConfig {
                softmax_temperature: f32::NAN,
                ..Default::default()
            },
            "softmax_temperature",
        ),
        (
            EstimatorConfig {
                batch_size: Some(0),
                ..Default::default()
            },
            "batch_size",
        ),
    ] {
        let e = TabPFNClassifier::new(m.clone(), cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "{e}");
    }
}

/// Edits the JSON header of a saved fit with `f`, then re-signs it, so that only the
/// field validation stands between the edit and the predictions.
fn tamper(path: &std::path::Path, f: impl Fn(&mut Value)) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut meta: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let fit = meta["__metadata__"]["tabpfn_fit"]
        .as_str()
        .unwrap()
        .to_string();
    let mut fit: Value = serde_json::from_str(&fit).unwrap();
    f(&mut fit);
    meta["__metadata__"]["tabpfn_fit"] = Value::String(fit.to_string());
    let header = serde_json::to_vec(&meta).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(&bytes[8 + n..]);
    std::fs::write(path, out).unwrap();
    tabpfn_model::internals::resign_saved_fit(path).unwrap();
}

#[test]
fn tampered_classifier_fits_are_refused_naming_the_field() {
    let (x, y, _) = table();
    let m = model(Task::Classification);
    let fitted = cached_classifier(&m, &x, &y);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fit");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("y_idx", Box::new(|v| v["head"]["y_idx"][0] = 7.into())),
        (
            "class_counts",
            Box::new(|v| v["head"]["class_counts"][0] = 99.into()),
        ),
        (
            "perms",
            Box::new(|v| v["head"]["perms"][1] = serde_json::json!([0, 0, 1])),
        ),
        (
            "perms",
            Box::new(|v| v["head"]["perms"] = serde_json::json!([[0, 1, 2]])),
        ),
        (
            "classes",
            Box::new(|v| {
                v["head"]["classes"] =
                    serde_json::json!([{"Numeric": 1.0}, {"Numeric": 0.0}, {"Numeric": 2.0}])
            }),
        ),
        (
            "seeds",
            Box::new(|v| v["common"]["seeds"] = serde_json::json!([1])),
        ),
        (
            "n_estimators",
            Box::new(|v| v["common"]["config"]["n_estimators"] = 1_000_000_000_000u64.into()),
        ),
        (
            "encoder",
            Box::new(|v| v["common"]["encoder"]["passthrough"] = serde_json::json!([0, 0])),
        ),
        ("caches", Box::new(|v| v["caches"] = serde_json::json!([]))),
    ];
    for (field, edit) in cases {
        fitted.save(&path).unwrap();
        tamper(&path, edit);
        let e = FittedClassifier::load(&path, m.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(field) || (field == "caches" && e.contains("cache")),
            "{field}: {e}"
        );
        println!("{field}: {e}");
    }
    // untouched it loads and predicts the same
    fitted.save(&path).unwrap();
    let back = FittedClassifier::load(&path, m).unwrap();
    assert_eq!(
        back.predict_proba(&x).unwrap(),
        fitted.predict_proba(&x).unwrap()
    );
}

/// The error of a load that must fail (without printing the whole fit when it does not).
fn load_err<T>(r: tabpfn_model::Result<T>) -> String {
    match r {
        Ok(_) => panic!("the tampered file loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tampered_regressor_fits_and_caches_are_refused() {
    let (x, _, y) = table();
    let m = model(Task::Regression);
    let fitted = cached_regressor(&m, &x, &y);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fit");
    fitted.save(&path).unwrap();
    tamper(&path, |v| v["head"]["y_z"] = serde_json::json!([0.0]));
    let e = load_err(FittedRegressor::load(&path, m.clone()));
    assert!(e.contains("y_z"), "{e}");
    fitted.save(&path).unwrap();
    tamper(&path, |v| v["head"]["raw_borders"][3] = (-1e9).into());
    let e = load_err(FittedRegressor::load(&path, m.clone()));
    assert!(e.contains("raw_borders"), "{e}");
    // a member cache whose encoder state disagrees with its K/V
    fitted.save(&path).unwrap();
    tamper(&path, |v| {
        let c = v["caches"][0].as_str().unwrap().to_string();
        let mut c: Value = serde_json::from_str(&c).unwrap();
        c["x_state"]["n_groups"] = 40.into();
        v["caches"][0] = Value::String(c.to_string());
    });
    let e = load_err(FittedRegressor::load(&path, m.clone()));
    assert!(e.contains("x_state"), "{e}");
    // a stand-alone cache file with a foreign header
    let xt: Vec<f32> = (0..60).map(|i| i as f32 * 0.1).collect();
    let yt: Vec<f32> = (0..30).map(|i| i as f32).collect();
    let cache = m
        .fit_cache(
            tabpfn_model::Table::new(&xt, 30, 2).unwrap(),
            &yt,
            Default::default(),
        )
        .unwrap();
    let cpath = dir.path().join("cache");
    cache.save(&cpath).unwrap();
    assert!(TrainCache::load(&cpath, &m).is_ok());
    let other = model(Task::Classification);
    let e = load_err(TrainCache::load(&cpath, &other));
    assert!(e.contains("other weights"), "{e}");
}

#[test]
fn a_fit_loaded_with_other_weights_of_the_same_shape_is_refused() {
    let (x, y, _) = table();
    let a = model(Task::Classification);
    let b = Arc::new(
        PerFeatureTransformer::from_checkpoint(
            &tiny_checkpoint(Task::Classification, 2).unwrap(),
            &Device::flex(),
        )
        .unwrap(),
    );
    assert_eq!(a.config(), b.config());
    assert_ne!(a.weights_sha256(), b.weights_sha256());
    let fitted = cached_classifier(&a, &x, &y);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fit");
    fitted.save(&path).unwrap();
    FittedClassifier::load(&path, a.clone()).unwrap();
    let e = load_err(FittedClassifier::load(&path, b.clone()));
    assert!(e.contains("other weights"), "{e}");
    // the same weights loaded again (a new process) are the same model
    let a2 = model(Task::Classification);
    assert_eq!(a.weights_sha256(), a2.weights_sha256());
    FittedClassifier::load(&path, a2).unwrap();
    // a bare train-set cache, in memory and from its file
    let xt: Vec<f32> = (0..60).map(|i| (i % 7) as f32).collect();
    let yt: Vec<f32> = (0..30).map(|i| (i % 2) as f32).collect();
    let table = tabpfn_model::Table::new(&xt, 30, 2).unwrap();
    let cache = a.fit_cache(table, &yt, Default::default()).unwrap();
    a.predict_cached(&cache, table, None).unwrap();
    let e = load_err(b.predict_cached(&cache, table, None));
    assert!(e.contains("other weights"), "{e}");
    let cpath = dir.path().join("cache");
    cache.save(&cpath).unwrap();
    TrainCache::load(&cpath, &a).unwrap();
    let e = load_err(TrainCache::load(&cpath, &b));
    assert!(e.contains("other weights"), "{e}");
}

#[test]
fn tampered_many_class_fits_are_refused_naming_the_field() {
    let (x, _, _) = table();
    let y = Target::Numeric((0..30).map(|i| (i % 12) as f64).collect());
    let m = model(Task::Classification);
    let cfg = EstimatorConfig {
        n_estimators: 1,
        ..Default::default()
    };
    let fitted = tabpfn_model::pipeline::fit_many_class(
        m.clone(),
        &cfg,
        &tabpfn_model::ManyClassConfig::default(),
        &x,
        &y,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fit");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("`book`", Box::new(|v| v["book"][0][0] = 99.into())),
        ("`book`", Box::new(|v| v["book"] = serde_json::json!([]))),
        (
            "rest symbol in every row",
            Box::new(|v| {
                for r in v["book"].as_array_mut().unwrap() {
                    r[0] = 9.into();
                }
            }),
        ),
        ("`alphabet`", Box::new(|v| v["alphabet"] = 1.into())),
        ("`alphabet`", Box::new(|v| v["alphabet"] = 1_000_000.into())),
        (
            "one per class",
            Box::new(|v| {
                v["classes"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "`classes`",
            Box::new(|v| v["classes"].as_array_mut().unwrap().swap(0, 1)),
        ),
        (
            "tensors",
            Box::new(|v| {
                let extra = v["book"][0].clone();
                v["book"].as_array_mut().unwrap().push(extra);
            }),
        ),
        ("tensors", Box::new(|v| v["x_train"] = Value::Null)),
        (
            "tensors",
            Box::new(|v| {
                v["x_train"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "`x_train`",
            Box::new(|v| v["x_train"][0]["name"] = "renamed".into()),
        ),
        (
            "x_train.1: expected a 1-d U8",
            Box::new(|v| v["x_train"][1]["text"] = true.into()),
        ),
    ];
    for (field, edit) in cases {
        fitted.save(&path).unwrap();
        tamper(&path, edit);
        let e = load_err(tabpfn_model::FittedEstimator::load(&path, m.clone()));
        assert!(e.contains(field), "{field}: {e}");
        println!("{field}: {e}");
    }
    // untouched it loads and predicts the same
    fitted.save(&path).unwrap();
    let back = tabpfn_model::FittedEstimator::load(&path, m).unwrap();
    let tabpfn_model::FittedEstimator::ManyClass(back) = back else {
        panic!("loaded as another kind of fit")
    };
    assert_eq!(
        back.predict_proba(&x).unwrap(),
        fitted.predict_proba(&x).unwrap()
    );
}
