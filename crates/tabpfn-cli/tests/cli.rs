//! The real binary on fixture models: forward parity, convert, info, and bad input.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use predicates::prelude::*;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn cli() -> Command {
    Command::cargo_bin("tabpfn-cli").unwrap()
}

fn read(path: &std::path::Path, name: &str) -> ArrayD<f32> {
    let mut npz = NpzReader::new(std::fs::File::open(path).unwrap()).unwrap();
    npz.by_name(name).unwrap()
}

/// max |Δ|; fails on a shape mismatch or a NaN (the callers check the tolerance).
fn max_diff(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let (a, b): (Vec<f32>, Vec<f32>) = (a.iter().copied().collect(), b.iter().copied().collect());
    tabpfn_test_support::max_abs_diff(&a, &b)
        .unwrap_or_else(|m| panic!("{m:?}"))
        .0 as f32
}

#[test]
fn forward_matches_reference_on_a_fixture() {
    let dir = tempfile::tempdir().unwrap();
    for (model, case, mode, extra) in [
        (
            "model/tiny_reg.ckpt",
            "model/reg_specials.npz",
            "full",
            vec![],
        ),
        (
            "model/tiny_reg.ckpt",
            "model/reg_specials.npz",
            "cache",
            vec![],
        ),
        (
            "model/default2_clf.ckpt",
            "model/default_clf.npz",
            "full",
            vec!["--remove-outliers-std", "12"],
        ),
    ] {
        let out = dir.path().join("out.npz");
        cli()
            .args(["forward", "--model"])
            .arg(fixture(model))
            .arg("--input")
            .arg(fixture(case))
            .arg("--output")
            .arg(&out)
            .args(["--mode", mode])
            .args(&extra)
            .assert()
            .success();
        let key = if mode == "cache" {
            "logits_cache"
        } else {
            "logits"
        };
        let d = max_diff(&read(&out, "logits"), &read(&fixture(case), key));
        println!("{case} ({mode}): max |Δ| logits = {d:.3e}");
        assert!(d <= 1e-5);
        if model.contains("reg") && mode == "full" {
            for stat in ["mean", "median", "mode"] {
                let d = max_diff(&read(&out, stat), &read(&fixture(case), stat));
                assert!(d <= 1e-5, "{stat}: {d}");
            }
        }
    }
}

/// `--torch-rng cuda` swaps the positional embeddings for CUDA's draws (checked against an
/// H100's in `tabpfn_model::rng`): the outputs move away from the CPU reference by far more
/// than float noise, and a zero grid limit is refused.
#[test]
fn torch_rng_cuda_reproduces_another_run() {
    let dir = tempfile::tempdir().unwrap();
    let case = fixture("model/default_clf.npz");
    let forward = |out: &Path, extra: &[&str]| {
        let mut c = cli();
        c.args(["forward", "--model"])
            .arg(fixture("model/default2_clf.ckpt"))
            .arg("--input")
            .arg(&case)
            .arg("--output")
            .arg(out)
            .args(["--remove-outliers-std", "12"])
            .args(extra);
        c
    };
    let run = |rng: &str, out: &Path| {
        forward(out, &["--torch-rng", rng]).assert().success();
        read(out, "logits")
    };
    let cpu = run("cpu", &dir.path().join("cpu.npz"));
    let cuda = run("cuda", &dir.path().join("cuda.npz"));
    let reference = read(&case, "logits");
    assert!(max_diff(&cpu, &reference) <= 1e-5);
    let moved = max_diff(&cuda, &reference);
    println!("--torch-rng cuda vs the CPU reference: max |Δ| logits = {moved:.3e}");
    assert!(moved > 1e-2, "{moved}");
    forward(
        &dir.path().join("x.npz"),
        &["--torch-rng", "cuda", "--cuda-grid-limit", "0"],
    )
    .assert()
    .failure()
    .stderr(predicate::str::contains("--cuda-grid-limit"));
}

#[test]
fn convert_then_info() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    cli()
        .arg("convert")
        .arg(fixture("model/tiny_clf.ckpt"))
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("converted"));
    cli().arg("info").arg(&out).assert().success().stdout(
        predicate::str::contains("classification (up to 10 classes)")
            .and(predicate::str::contains("sha256")),
    );
    cli()
        .args(["info", "--json"])
        .arg(fixture("model/tiny_reg.ckpt"))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"task\": \"regression\""));
}

#[test]
fn bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npz");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["info".into(), "/no/such/file.ckpt".into()],
            "/no/such/file.ckpt",
        ),
        (
            vec![
                "info".into(),
                fixture("weights/global_os_system.ckpt")
                    .display()
                    .to_string(),
            ],
            "os.system",
        ),
        (
            vec![
                "convert".into(),
                fixture("model/tiny_clf.ckpt").display().to_string(),
                "/missing-dir/x.safetensors".into(),
            ],
            "does not exist",
        ),
        (
            vec![
                "forward".into(),
                "--model".into(),
                fixture("model/tiny_clf.ckpt").display().to_string(),
                "--input".into(),
                fixture("weights/mixed_expected.npz").display().to_string(),
                "--output".into(),
                out.display().to_string(),
            ],
            "no array `x`",
        ),
        (
            vec![
                "forward".into(),
                "--model".into(),
                fixture("weights/wrong_shape.ckpt").display().to_string(),
                "--input".into(),
                fixture("model/clf2_basic.npz").display().to_string(),
                "--output".into(),
                out.display().to_string(),
            ],
            "decoder_dict.standard.0.weight",
        ),
        (
            vec![
                "forward".into(),
                "--model".into(),
                fixture("model/tiny_clf.ckpt").display().to_string(),
                "--input".into(),
                fixture("model/clf2_basic.npz").display().to_string(),
                "--output".into(),
                out.display().to_string(),
                "--device".into(),
                "cuda".into(),
            ],
            "cuda",
        ),
    ];
    for (args, needle) in cases {
        cli()
            .args(&args)
            .assert()
            .failure()
            .stderr(predicate::str::contains("error:").and(predicate::str::contains(needle)));
        assert!(!out.exists(), "{args:?} left an output file");
    }
}

#[test]
fn help_of_every_subcommand() {
    for sub in ["forward", "convert", "info"] {
        cli()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
}
