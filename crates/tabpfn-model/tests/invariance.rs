//! Partition invariance (issue 19): in `fit_with_cache`, and in the other modes with
//! `row_independent`, a test row's prediction is the same bits whatever rows it is
//! predicted with — batch sizes 1, 7, 1000 or the whole table, or any split into calls —
//! on data with a train-constant and a test-constant column. Without `row_independent`
//! (the reference's `fit_preprocessors`), the difference is printed: test rows take part in
//! the constant-column masks there.

use std::sync::Arc;

use tabpfn_model::random_weights::tiny_checkpoint;
use tabpfn_model::{
    Column, DataFrame, Device, EstimatorConfig, FitMode, FittedEstimator, PerFeatureTransformer,
    TabPFNClassifier, TabPFNRegressor, Target, Task,
};

fn model(task: Task) -> Arc<PerFeatureTransformer> {
    Arc::new(
        PerFeatureTransformer::from_checkpoint(&tiny_checkpoint(task, 2).unwrap(), &Device::flex())
            .unwrap(),
    )
}

fn wave(i: usize, k: f64) -> f64 {
    ((i as f64 + 1.0) * k).sin() * 3.0
}

/// 60 train rows, 53 test rows; `c_train` is constant on the train rows only, `c_test` on
/// the test rows only, `t` is text with missing cells, `n` has NaNs.
fn tables() -> (DataFrame, DataFrame, Vec<f64>) {
    let (n_tr, n_te) = (60, 53);
    let build = |rows: usize, off: usize, train: bool| {
        DataFrame::new(vec![
            Column::numeric("a", (0..rows).map(|i| wave(i + off, 0.37)).collect()),
            Column::numeric(
                "c_train",
                (0..rows)
                    .map(|i| if train { 1.5 } else { wave(i, 0.9) })
                    .collect(),
            ),
            Column::numeric(
                "c_test",
                (0..rows)
                    .map(|i| if train { wave(i, 1.3) } else { -2.0 })
                    .collect(),
            ),
            Column::numeric(
                "n",
                (0..rows)
                    .map(|i| {
                        if (i + off).is_multiple_of(5) {
                            f64::NAN
                        } else {
                            wave(i + off, 0.11)
                        }
                    })
                    .collect(),
            ),
            Column::text(
                "t",
                (0..rows)
                    .map(|i| match (i + off) % 4 {
                        0 => None,
                        k => Some(format!("cat{k}")),
                    })
                    .collect(),
            ),
        ])
        .unwrap()
    };
    let y = (0..n_tr).map(|i| ((i * 7) % 3) as f64).collect();
    (build(n_tr, 0, true), build(n_te, 1000, false), y)
}

fn rows(x: &DataFrame, r: std::ops::Range<usize>) -> DataFrame {
    DataFrame::new(
        x.columns()
            .iter()
            .map(|c| match &c.values {
                tabpfn_model::ColumnValues::Numeric(v) => {
                    Column::numeric(&c.name, v[r.clone()].to_vec())
                }
                tabpfn_model::ColumnValues::Text(v) => Column::text(&c.name, v[r.clone()].to_vec()),
            })
            .collect(),
    )
    .unwrap()
}

/// Per-row outputs of `f` (probabilities or regression means) for `x`, with `batch` rows
/// per network call.
fn predict(f: &FittedEstimator, x: &DataFrame) -> Vec<Vec<f32>> {
    match f {
        FittedEstimator::Classifier(c) => {
            let p = c.predict_proba(x).unwrap();
            (0..p.rows).map(|i| p.row(i).to_vec()).collect()
        }
        FittedEstimator::ManyClass(c) => {
            let p = c.predict_proba(x).unwrap();
            (0..p.rows).map(|i| p.row(i).to_vec()).collect()
        }
        FittedEstimator::Regressor(r) => {
            let o = r.predict_full(x, &[0.25]).unwrap();
            (0..x.rows())
                .map(|i| vec![o.mean[i], o.median[i], o.quantiles[0][i]])
                .collect()
        }
    }
}

fn fit(task: Task, mode: FitMode, row_independent: bool, batch: Option<usize>) -> FittedEstimator {
    let (x, _, y) = tables();
    let cfg = EstimatorConfig {
        n_estimators: 3,
        fit_mode: mode,
        row_independent,
        batch_size: batch,
        ..Default::default()
    };
    let y = Target::Numeric(y);
    match task {
        Task::Classification => FittedEstimator::Classifier(
            TabPFNClassifier::new(model(task), cfg)
                .unwrap()
                .fit(&x, &y)
                .unwrap(),
        ),
        Task::Regression => FittedEstimator::Regressor(
            TabPFNRegressor::new(model(task), cfg)
                .unwrap()
                .fit(&x, &y)
                .unwrap(),
        ),
    }
}

fn bits(v: &[Vec<f32>]) -> Vec<Vec<u32>> {
    v.iter()
        .map(|r| r.iter().map(|x| x.to_bits()).collect())
        .collect()
}

#[test]
fn every_row_is_the_same_bits_in_any_batch_or_split() {
    let (_, test, _) = tables();
    for task in [Task::Classification, Task::Regression] {
        for (mode, ri) in [
            (FitMode::FitWithCache, false),
            (FitMode::FitPreprocessors, true),
            (FitMode::LowMemory, true),
        ] {
            let whole = bits(&predict(&fit(task, mode, ri, None), &test));
            for batch in [1usize, 7, 1000] {
                let got = bits(&predict(&fit(task, mode, ri, Some(batch)), &test));
                assert_eq!(got, whole, "{task:?} {mode:?}: batch {batch}");
            }
            // separate calls on arbitrary splits (e.g. partitions of a distributed table)
            let f = fit(task, mode, ri, None);
            let mut split = Vec::new();
            for r in [0..1, 1..20, 20..21, 21..53] {
                split.extend(predict(&f, &rows(&test, r)));
            }
            assert_eq!(bits(&split), whole, "{task:?} {mode:?}: splits");
            println!("{task:?} {mode:?} row_independent={ri}: bit-identical over batches 1, 7, 1000, whole and 4 splits");
        }
    }
}

#[test]
fn the_reference_mode_differs_only_through_the_test_rows_statistics() {
    // the bare network: a column constant on the train rows but not on the test rows is
    // dropped with train-only statistics and kept otherwise
    let m = model(Task::Classification);
    let (n, t, c) = (30usize, 9usize, 3usize);
    let x: Vec<f32> = (0..(n + t) * c)
        .map(|i| {
            let (r, j) = (i / c, i % c);
            if j == 1 && r < n {
                0.5
            } else {
                ((i as f32) * 0.37).sin()
            }
        })
        .collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
    let table = tabpfn_model::Table::new(&x, n + t, c).unwrap();
    let on = |train_only| tabpfn_model::ForwardOptions {
        train_only_statistics: train_only,
        ..Default::default()
    };
    let a = m.forward(table, &y, on(false)).unwrap();
    let b = m.forward(table, &y, on(true)).unwrap();
    let d = tabpfn_test_support::max_abs_diff(&a.data, &b.data)
        .unwrap()
        .0;
    println!("bare network, a train-constant column: train-only vs train+test statistics max |Δ| {d:.3e}");
    assert!(d > 1e-3, "the column should matter");

    // the estimators remove train-constant columns before the network, so there the two
    // modes give the same bits
    let (_, test, _) = tables();
    for task in [Task::Classification, Task::Regression] {
        let reference = predict(&fit(task, FitMode::FitPreprocessors, false, None), &test);
        let invariant = predict(&fit(task, FitMode::FitPreprocessors, true, None), &test);
        let cached = predict(&fit(task, FitMode::FitWithCache, false, None), &test);
        assert_eq!(
            bits(&reference),
            bits(&invariant),
            "{task:?}: reference vs row_independent"
        );
        assert_eq!(
            bits(&invariant),
            bits(&cached),
            "{task:?}: row_independent vs fit_with_cache"
        );
        println!(
            "{task:?}: fit_preprocessors with and without row_independent and fit_with_cache: \
             the same bits (train-constant columns never reach the network)"
        );
    }
}
