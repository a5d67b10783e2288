//! More than 10 classes: the output code of tabpfn-extensions' `ManyClassClassifier`
//! (0.2.0 on tabpfn 2.2.1, `python/gen_many_class.py`) against this port. The codebook
//! (the extension's legacy `RandomState` draws) must be identical, the probabilities within
//! 1e-5, with `FINGERPRINT_FEATURE` off and on.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use serde_json::Value;
use tabpfn_model::pipeline::{
    fit_many_class, Column, DataFrame, FittedEstimator, ManyClassConfig, Target,
};
use tabpfn_model::{EstimatorConfig, PerFeatureTransformer};
use tabpfn_test_support::max_abs_diff;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn frame(rows: &Value) -> DataFrame {
    let rows = rows.as_array().unwrap();
    let d = rows[0].as_array().unwrap().len();
    DataFrame::new(
        (0..d)
            .map(|j| {
                Column::numeric(
                    format!("f{j}"),
                    rows.iter()
                        .map(|r| r[j].as_f64().unwrap_or(f64::NAN))
                        .collect(),
                )
            })
            .collect(),
    )
    .unwrap()
}

fn case(name: &str) {
    let meta: Value =
        serde_json::from_reader(File::open(dir().join(format!("pipeline/{name}.json"))).unwrap())
            .unwrap();
    let mut npz =
        NpzReader::new(File::open(dir().join(format!("pipeline/{name}.npz"))).unwrap()).unwrap();
    let model = Arc::new(
        PerFeatureTransformer::load(
            dir().join("model/tiny_clf.ckpt"),
            &tabpfn_model::device::from_env().unwrap(),
        )
        .unwrap(),
    );
    let (x, xt) = (frame(&meta["x_train"]), frame(&meta["x_test"]));
    let y = Target::Numeric(
        meta["y_train"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect(),
    );
    let expected_book: Vec<Vec<usize>> = meta["codebook"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let mut report = Vec::new();
    for (tag, fingerprint, tol) in [("nofp", false, 1e-5), ("default", true, 1e-5)] {
        let cfg = EstimatorConfig {
            n_estimators: meta["n_estimators"].as_u64().unwrap() as usize,
            random_state: meta["random_state"].as_u64().unwrap(),
            fingerprint_feature: fingerprint,
            ..Default::default()
        };
        let fit = fit_many_class(model.clone(), &cfg, &ManyClassConfig::default(), &x, &y).unwrap();
        assert_eq!(fit.codebook(), &expected_book[..], "{name}: codebook");
        let p = fit.predict_proba(&xt).unwrap();
        let want: ArrayD<f64> = npz.by_name(&format!("proba_{tag}")).unwrap();
        let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
        let (d, _) =
            max_abs_diff(&p.data, &want).unwrap_or_else(|e| panic!("{name} ({tag}): {e:?}"));
        report.push(format!("{tag} {d:.2e}"));
        assert!(
            d <= tol,
            "{name} ({tag}): probabilities max |Δ| {d:e} > {tol:e}"
        );
    }
    println!(
        "{name}: codebook of {} rows identical; probabilities max |Δ| vs the extension: {}",
        expected_book.len(),
        report.join(", ")
    );
}

#[test]
fn fifteen_classes_match_the_extension() {
    case("many_class_15");
}

#[test]
fn thirty_one_classes_match_the_extension() {
    case("many_class_31");
}

fn tiny(name: &str) -> Arc<PerFeatureTransformer> {
    Arc::new(
        PerFeatureTransformer::load(
            dir().join(format!("model/{name}.ckpt")),
            &tabpfn_model::device::from_env().unwrap(),
        )
        .unwrap(),
    )
}

/// 12 classes on a numeric column with gaps and a text column with missing values.
fn mixed_table(n: usize) -> (DataFrame, Target) {
    let x = DataFrame::new(vec![
        Column::numeric(
            "a",
            (0..n)
                .map(|i| {
                    if i % 7 == 3 {
                        f64::NAN
                    } else {
                        (i as f64 * 0.37) % 5.0
                    }
                })
                .collect(),
        ),
        Column::text(
            "b",
            (0..n)
                .map(|i| (i % 5 != 0).then(|| format!("t{}", i % 3)))
                .collect(),
        ),
    ])
    .unwrap();
    (
        x,
        Target::Numeric((0..n).map(|i| (i % 12) as f64).collect()),
    )
}

/// A many-class fit saves (file and bytes) and loads back to the same predictions, bit for
/// bit, in both the joint (train rows predicted with the test rows) and the row-independent
/// mode; a damaged file or the wrong model is a clear error.
#[test]
fn a_saved_many_class_fit_predicts_the_same() {
    let model = tiny("tiny_clf");
    let (x, y) = mixed_table(60);
    let dir = tempfile::tempdir().unwrap();
    for row_independent in [false, true] {
        let cfg = EstimatorConfig {
            n_estimators: 2,
            row_independent,
            ..Default::default()
        };
        let fit = fit_many_class(model.clone(), &cfg, &ManyClassConfig::default(), &x, &y).unwrap();
        let want = fit.predict_proba(&x).unwrap();
        let path = dir.path().join("many.fit");
        fit.save(&path).unwrap();
        let bytes = fit.to_bytes().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "save and to_bytes agree"
        );
        for back in [
            FittedEstimator::load(&path, model.clone()).unwrap(),
            FittedEstimator::from_bytes(&bytes, model.clone()).unwrap(),
        ] {
            let FittedEstimator::ManyClass(back) = &back else {
                panic!("loaded as another kind of fit")
            };
            assert_eq!(back.codebook(), fit.codebook());
            assert_eq!(back.classes(), fit.classes());
            let got = back.predict_proba(&x).unwrap();
            let (d, _) = max_abs_diff(&got.data, &want.data).unwrap();
            assert!(d == 0.0, "row_independent {row_independent}: max |Δ| {d:e}");
            assert_eq!(
                back.to_bytes().unwrap(),
                bytes,
                "a reload saves the same bytes"
            );
        }
        assert_eq!(
            FittedEstimator::saved_task(&path).unwrap(),
            tabpfn_model::Task::Classification
        );
        let mut damaged = bytes.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 1;
        let e = FittedEstimator::from_bytes(&damaged, model.clone()).unwrap_err();
        assert!(e.to_string().contains("integrity check failed"), "{e}");
        let e = FittedEstimator::from_bytes(&bytes, tiny("tiny_reg")).unwrap_err();
        assert!(e.to_string().contains("not a regressor"), "{e}");
    }
}
