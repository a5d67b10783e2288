//! Layer 4 of the pipeline parity (issue 5): end to end on real datasets, Rust vs the
//! reference estimators, next to the reference's own seed-to-seed spread.
//!
//! ```text
//! cargo run --release -p tabpfn-model --example pipeline_parity -- DATASETS_DIR TAG CLF_MODEL REG_MODEL
//! ```
//! `DATASETS_DIR` holds `<name>.json` and `<name>_<TAG>.npz` from `python/gen_datasets.py`
//! (`scripts/parity-pipeline.sh` makes them for the default-size model). Exits non-zero if
//! Rust differs from Python(random_state=0) by more than Python(0) from Python(1).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use burn::tensor::Device;
use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use serde_json::Value;
use tabpfn_model::{
    DataFrame, EstimatorConfig, PerFeatureTransformer, TabPFNClassifier, TabPFNRegressor, Target,
};

pub const DATASETS: [&str; 5] = ["iris", "wine", "breast_cancer", "digits", "diabetes"];

/// One row of the table.
pub struct Row {
    pub name: String,
    pub task: String,
    /// max |Δ| Rust vs Python(random_state=0): probabilities, or mean / std(y_test).
    pub rust_vs_python: f32,
    /// max |Δ| Python(0) vs Python(1), same unit.
    pub python_seed_gap: f32,
    /// Argmax agreement Rust vs Python(0) (classification).
    pub agreement: Option<f32>,
    /// max |Δ| Rust vs Python(random_state=0), both with `FINGERPRINT_FEATURE` off (where
    /// the fixture has it).
    pub no_fingerprint: Option<f32>,
    /// max |Δ| Python(0) vs Python(0) on inputs moved by one ulp: the reference's own
    /// sensitivity to float noise (where the fixture has it).
    pub python_ulp_gap: Option<f32>,
}

fn matrix(v: &Value) -> (Vec<f64>, usize, usize) {
    let rows = v.as_array().unwrap();
    let cols = rows[0].as_array().unwrap().len();
    let data = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
        .collect();
    (data, rows.len(), cols)
}

fn frame(v: &Value) -> DataFrame {
    let (x, r, c) = matrix(v);
    DataFrame::from_rows(&x, r, c).unwrap()
}

/// max |a − b|; panics on a length mismatch or a NaN (a broken output never "matches").
fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    match tabpfn_test_support::max_abs_diff(a, b) {
        Ok((d, _)) => d as f32,
        Err(m) => panic!("comparison failed: {m:?}"),
    }
}

fn argmax(p: &[f32], c: usize) -> Vec<usize> {
    p.chunks(c)
        .map(|r| (0..c).fold(0, |b, i| if r[i] > r[b] { i } else { b }))
        .collect()
}

/// Runs one dataset with `model` and compares with the stored reference outputs.
pub fn run_dataset(dir: &Path, tag: &str, name: &str, model: Arc<PerFeatureTransformer>) -> Row {
    let d: Value =
        serde_json::from_reader(File::open(dir.join(format!("{name}.json"))).unwrap()).unwrap();
    let mut npz =
        NpzReader::new(File::open(dir.join(format!("{name}_{tag}.npz"))).unwrap()).unwrap();
    let (x_train, x_test) = (frame(&d["x_train"]), frame(&d["x_test"]));
    let y: Vec<f64> = d["y_train"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let task = d["task"].as_str().unwrap().to_string();
    let get = |npz: &mut NpzReader<File>, k: &str| -> Vec<f32> {
        let a: ArrayD<f32> = npz.by_name(k).unwrap();
        a.iter().copied().collect()
    };
    let has = |npz: &mut NpzReader<File>, k: &str| {
        npz.names()
            .unwrap()
            .iter()
            .any(|n| n.trim_end_matches(".npy") == k)
    };
    let no_fp = EstimatorConfig {
        fingerprint_feature: false,
        ..Default::default()
    };
    if task == "classification" {
        let proba = |cfg: EstimatorConfig| {
            TabPFNClassifier::new(model.clone(), cfg)
                .unwrap()
                .fit(&x_train, &Target::Numeric(y.clone()))
                .unwrap()
                .predict_proba(&x_test)
                .unwrap()
        };
        let p = proba(EstimatorConfig::default());
        let (p0, p1) = (get(&mut npz, "proba_rs0"), get(&mut npz, "proba_rs1"));
        let no_fingerprint = has(&mut npz, "proba_nofp")
            .then(|| max_abs(&proba(no_fp).data, &get(&mut npz, "proba_nofp")));
        let python_ulp_gap =
            has(&mut npz, "proba_ulp").then(|| max_abs(&get(&mut npz, "proba_ulp"), &p0));
        let c = p.classes;
        let (a, b) = (argmax(&p.data, c), argmax(&p0, c));
        let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f32 / a.len() as f32;
        Row {
            name: name.into(),
            task,
            rust_vs_python: max_abs(&p.data, &p0),
            python_seed_gap: max_abs(&p0, &p1),
            agreement: Some(agree),
            no_fingerprint,
            python_ulp_gap,
        }
    } else {
        let mean = |cfg: EstimatorConfig| {
            TabPFNRegressor::new(model.clone(), cfg)
                .unwrap()
                .fit(&x_train, &Target::Numeric(y.clone()))
                .unwrap()
                .predict(&x_test)
                .unwrap()
        };
        let m = mean(EstimatorConfig::default());
        let (m0, m1) = (get(&mut npz, "mean_rs0"), get(&mut npz, "mean_rs1"));
        let no_fingerprint_abs =
            has(&mut npz, "mean_nofp").then(|| max_abs(&mean(no_fp), &get(&mut npz, "mean_nofp")));
        let python_ulp_abs =
            has(&mut npz, "mean_ulp").then(|| max_abs(&get(&mut npz, "mean_ulp"), &m0));
        let yt: Vec<f64> = d["y_test"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let mu = yt.iter().sum::<f64>() / yt.len() as f64;
        let sd = (yt.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / yt.len() as f64).sqrt() as f32;
        Row {
            name: name.into(),
            task,
            rust_vs_python: max_abs(&m, &m0) / sd,
            python_seed_gap: max_abs(&m0, &m1) / sd,
            agreement: None,
            no_fingerprint: no_fingerprint_abs.map(|d| d / sd),
            python_ulp_gap: python_ulp_abs.map(|d| d / sd),
        }
    }
}

pub fn print_table(rows: &[Row]) {
    println!("| dataset | task | max |Δ| Rust vs Python (rs=0) | max |Δ| Python rs=0 vs rs=1 | max |Δ| Python vs Python one ulp off | argmax agreement | max |Δ| Rust vs Python, fingerprint off |");
    println!("|---|---|---|---|---|---|---|");
    let opt =
        |v: Option<f32>, unit: &str| v.map_or("–".to_string(), |d| format!("{d:.3e}{unit}"));
    for r in rows {
        let unit = if r.task == "regression" {
            " × std(y)"
        } else {
            ""
        };
        println!(
            "| {} | {} | {:.3e}{unit} | {:.3e}{unit} | {} | {} | {} |",
            r.name,
            r.task,
            r.rust_vs_python,
            r.python_seed_gap,
            opt(r.python_ulp_gap, unit),
            r.agreement
                .map_or("–".to_string(), |a| format!("{:.1}%", a * 100.0)),
            opt(r.no_fingerprint, unit),
        );
    }
}

#[allow(dead_code)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        eprintln!("usage: pipeline_parity DATASETS_DIR TAG CLF_MODEL REG_MODEL");
        std::process::exit(2);
    }
    let dir = Path::new(&args[0]);
    let device = Device::flex();
    let clf = Arc::new(PerFeatureTransformer::load(&args[2], &device).expect("classifier model"));
    let reg = Arc::new(PerFeatureTransformer::load(&args[3], &device).expect("regressor model"));
    let rows: Vec<Row> = DATASETS
        .iter()
        .map(|&n| {
            let m = if n == "diabetes" {
                reg.clone()
            } else {
                clf.clone()
            };
            run_dataset(dir, &args[1], n, m)
        })
        .collect();
    print_table(&rows);
    let bad: Vec<&str> = rows
        .iter()
        .filter(|r| r.rust_vs_python > r.python_seed_gap)
        .map(|r| r.name.as_str())
        .collect();
    if !bad.is_empty() {
        eprintln!(
            "Rust-vs-Python gap exceeds the Python seed-to-seed gap on: {}",
            bad.join(", ")
        );
        std::process::exit(1);
    }
}
