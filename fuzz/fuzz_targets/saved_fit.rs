//! Saved fits (`--load-fit`): the input is written to a file, re-signed (so mutations reach
//! the field-by-field validation behind the integrity hash, not only the hash check),
//! loaded for the tiny fixture classifier or regressor (byte 0 picks), and a fit that
//! loads predicts a small table of its own feature columns.
#![no_main]
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tabpfn_model::{Column, DataFrame, Device, FittedEstimator, PerFeatureTransformer, Task};

fn model(task: Task) -> Arc<PerFeatureTransformer> {
    static M: OnceLock<[Arc<PerFeatureTransformer>; 2]> = OnceLock::new();
    let ms = M.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/model/");
        let load = |f: &str| Arc::new(PerFeatureTransformer::load(format!("{root}{f}"), &Device::flex()).unwrap());
        [load("tiny_clf.ckpt"), load("tiny_reg.ckpt")]
    });
    ms[usize::from(task == Task::Regression)].clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let dir = std::env::temp_dir().join(format!("tabpfn-fuzz-fit-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("fit.safetensors");
    if std::fs::write(&path, body).is_err() {
        return;
    }
    let _ = tabpfn_model::internals::resign_saved_fit(&path);
    let task = if pick & 1 == 0 { Task::Classification } else { Task::Regression };
    let Ok(fit) = FittedEstimator::load(&path, model(task)) else { return };
    let e = fit.ensemble();
    let cols: Vec<Column> = e
        .feature_names()
        .iter()
        .zip(e.feature_is_text())
        .map(|(n, &text)| {
            if text {
                Column::text(n.clone(), vec![Some("a".into()), None, Some("zz".into())])
            } else {
                Column::numeric(n.clone(), vec![0.5, f64::NAN, -3.0])
            }
        })
        .collect();
    if let Ok(x) = DataFrame::new(cols) {
        match &fit {
            FittedEstimator::Classifier(f) => {
                let _ = f.predict_proba(&x);
            }
            FittedEstimator::Regressor(f) => {
                let _ = f.predict_full(&x, &[0.5]);
            }
            FittedEstimator::ManyClass(f) => {
                let _ = f.predict_proba(&x);
            }
        }
    }
});
