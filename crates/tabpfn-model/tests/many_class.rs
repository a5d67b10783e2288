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
use tabpfn_model::pipeline::{fit_many_class, Column, DataFrame, ManyClassConfig, Target};
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
