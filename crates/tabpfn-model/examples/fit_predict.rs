//! The library API in a few lines: load a checkpoint, fit a classifier on a table with a
//! numeric and a text column, predict probabilities and labels.
//!
//! ```text
//! cargo run --release -p tabpfn-model --example fit_predict -- [MODEL]
//! ```
//! `MODEL` defaults to the small random-weight test checkpoint in `fixtures/model` (its
//! predictions are noise; pass a real classifier checkpoint for real ones).

use std::sync::Arc;

use burn::tensor::Device;
use tabpfn_model::PerFeatureTransformer;
use tabpfn_model::{Column, DataFrame, EstimatorConfig, TabPFNClassifier, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/model/tiny_clf.ckpt"
        )
        .to_string()
    });
    let model = Arc::new(PerFeatureTransformer::load(&path, &Device::flex())?);

    // 12 training rows: a numeric column with a missing value and a text column.
    let size = [
        1.0,
        1.2,
        0.9,
        3.1,
        2.9,
        3.3,
        1.1,
        f64::NAN,
        3.0,
        0.8,
        3.2,
        2.8,
    ];
    let colour = [
        "red", "red", "blue", "green", "green", "blue", "red", "red", "green", "blue", "green",
        "green",
    ];
    let label = [
        "small", "small", "small", "big", "big", "big", "small", "small", "big", "small", "big",
        "big",
    ];
    let x_train = DataFrame::new(vec![
        Column::numeric("size", size.to_vec()),
        Column::text(
            "colour",
            colour.iter().map(|c| Some(c.to_string())).collect(),
        ),
    ])?;
    let y_train = Target::Text(label.iter().map(|s| s.to_string()).collect());

    let classifier = TabPFNClassifier::new(model, EstimatorConfig::default())?;
    let fitted = classifier.fit(&x_train, &y_train)?;

    let x_test = DataFrame::new(vec![
        Column::numeric("size", vec![1.05, 3.05]),
        Column::text("colour", vec![Some("red".into()), None]),
    ])?;
    let proba = fitted.predict_proba(&x_test)?;
    let labels = fitted.predict(&x_test)?;
    for (i, label) in labels.iter().enumerate() {
        let p: Vec<String> = fitted
            .classes()
            .iter()
            .zip(proba.row(i))
            .map(|(c, p)| format!("{c}={p:.3}"))
            .collect();
        println!("row {i}: {label} ({})", p.join(", "));
    }
    Ok(())
}
