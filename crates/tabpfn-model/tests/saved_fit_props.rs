//! Property test of saved fits: for random small tables, tasks, fit modes and knobs, a fit
//! saved and loaded again predicts exactly (bit for bit) what the original predicts, and
//! two saves of one fit are the same bytes.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use tabpfn_model::random_weights::tiny_checkpoint;
use tabpfn_model::{
    Column, DataFrame, Device, EstimatorConfig, FitMode, FittedEstimator, PerFeatureTransformer,
    TabPFNClassifier, TabPFNRegressor, Target, Task,
};

fn model(task: Task) -> Arc<PerFeatureTransformer> {
    static M: OnceLock<[Arc<PerFeatureTransformer>; 2]> = OnceLock::new();
    let ms = M.get_or_init(|| {
        [Task::Classification, Task::Regression].map(|t| {
            Arc::new(
                PerFeatureTransformer::from_checkpoint(
                    &tiny_checkpoint(t, 4).unwrap(),
                    &Device::flex(),
                )
                .unwrap(),
            )
        })
    });
    ms[usize::from(task == Task::Regression)].clone()
}

/// A column: numeric with NaNs, or text with missing cells.
fn column(rows: usize, j: usize) -> impl Strategy<Value = Column> {
    prop_oneof![
        proptest::collection::vec(prop_oneof![9 => -5.0f64..5.0, 1 => Just(f64::NAN)], rows)
            .prop_map(move |v| Column::numeric(format!("n{j}"), v)),
        proptest::collection::vec(
            proptest::option::weighted(0.9, proptest::sample::select(vec!["a", "b", "c"])),
            rows
        )
        .prop_map(move |v| Column::text(
            format!("t{j}"),
            v.into_iter().map(|s| s.map(str::to_string)).collect()
        )),
    ]
}

fn case() -> impl Strategy<Value = (DataFrame, Vec<f64>, bool, FitMode, usize, u64)> {
    (6usize..25, 1usize..4).prop_flat_map(|(rows, cols)| {
        let columns: Vec<_> = (0..cols).map(|j| column(rows, j)).collect();
        (
            columns.prop_map(|c| DataFrame::new(c).unwrap()),
            proptest::collection::vec(0u8..3, rows)
                .prop_map(|v| v.into_iter().map(f64::from).collect()),
            any::<bool>(),
            proptest::sample::select(vec![
                FitMode::FitPreprocessors,
                FitMode::FitWithCache,
                FitMode::LowMemory,
            ]),
            1usize..4,
            0u64..1000,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_saved_fit_predicts_exactly_what_it_predicted((x, y, classify, mode, n, seed) in case()) {
        // a classification target needs two classes; make sure of it
        let mut y = y;
        y[0] = 0.0;
        y[1] = 1.0;
        let cfg = EstimatorConfig { n_estimators: n, fit_mode: mode, random_state: seed, ..Default::default() };
        let fitted = if classify {
            FittedEstimator::Classifier(
                TabPFNClassifier::new(model(Task::Classification), cfg).unwrap().fit(&x, &Target::Numeric(y)).unwrap(),
            )
        } else {
            FittedEstimator::Regressor(
                TabPFNRegressor::new(model(Task::Regression), cfg).unwrap().fit(&x, &Target::Numeric(y)).unwrap(),
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fit");
        fitted.save(&path).unwrap();
        // a save is a pure function of the fit: the same bytes every time
        let again = dir.path().join("again");
        fitted.save(&again).unwrap();
        prop_assert!(std::fs::read(&path).unwrap() == std::fs::read(&again).unwrap(), "two saves differ");
        let task = if classify { Task::Classification } else { Task::Regression };
        let back = FittedEstimator::load(&path, model(task)).unwrap();
        match (&fitted, &back) {
            (FittedEstimator::Classifier(a), FittedEstimator::Classifier(b)) => {
                prop_assert_eq!(a.predict_proba(&x).unwrap(), b.predict_proba(&x).unwrap());
                prop_assert_eq!(a.classes(), b.classes());
            }
            (FittedEstimator::Regressor(a), FittedEstimator::Regressor(b)) => {
                prop_assert_eq!(a.predict_full(&x, &[0.2]).unwrap(), b.predict_full(&x, &[0.2]).unwrap());
            }
            _ => prop_assert!(false, "the task changed"),
        }
    }
}
