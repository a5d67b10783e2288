//! Layer 4 of the pipeline parity: iris, wine, breast_cancer, digits (subset) and diabetes
//! end to end with the small random-weight checkpoints, Rust vs the reference estimators.
//! Bar: the Rust–Python difference is no larger than Python's own difference between
//! `random_state=0` and `random_state=1` (pipeline.md §6.4(4)); with `FINGERPRINT_FEATURE`
//! off (no hash of floats that differ in the last bits) ≤ 1e-5 in probability (× std(y)
//! for the regressor). The table also prints Python's own change when every input moves by
//! one ulp. The default-size run is `scripts/parity-pipeline.sh`.

#[path = "../examples/pipeline_parity.rs"]
mod parity;

use std::path::PathBuf;
use std::sync::Arc;

use tabpfn_model::PerFeatureTransformer;

#[test]
fn real_datasets_end_to_end() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let dir = fixtures.join("pipeline/datasets");
    let load = |f: &str| {
        Arc::new(
            PerFeatureTransformer::load(
                fixtures.join("model").join(f),
                &tabpfn_model::device::from_env().unwrap(),
            )
            .unwrap(),
        )
    };
    let (clf, reg) = (load("tiny_clf.ckpt"), load("tiny_reg.ckpt"));
    let rows: Vec<parity::Row> = parity::DATASETS
        .iter()
        .map(|&n| {
            parity::run_dataset(
                &dir,
                "tiny",
                n,
                if n == "diabetes" {
                    reg.clone()
                } else {
                    clf.clone()
                },
            )
        })
        .collect();
    parity::print_table(&rows);
    for r in &rows {
        // fingerprint off, nothing hashes floats: the two pipelines agree to float noise
        let nf = r
            .no_fingerprint
            .unwrap_or_else(|| panic!("{}: the fixture lacks the fingerprint-off run", r.name));
        assert!(
            nf.is_finite() && nf <= 1e-5,
            "{}: fingerprint off, Rust vs Python {nf:e} > 1e-5",
            r.name
        );
        assert!(
            r.rust_vs_python <= r.python_seed_gap,
            "{}: Rust vs Python {:e} exceeds Python's seed-to-seed gap {:e}",
            r.name,
            r.rust_vs_python,
            r.python_seed_gap
        );
    }
}
