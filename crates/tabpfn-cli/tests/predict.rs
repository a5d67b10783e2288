//! `tabpfn-cli predict` end to end: the bundled example CSVs, output formats, saved fits,
//! and every bad-input case of issue 6 (clear message naming file/line/column, non-zero
//! exit, no output file left behind).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn clf_model() -> PathBuf {
    root().join("fixtures/model/tiny_clf.ckpt")
}

fn reg_model() -> PathBuf {
    root().join("fixtures/model/tiny_reg.ckpt")
}

fn example(name: &str) -> PathBuf {
    root().join("examples").join(name)
}

fn cli() -> Command {
    Command::cargo_bin("tabpfn-cli").unwrap()
}

fn iris(model: &Path) -> Command {
    let mut c = cli();
    c.arg("predict")
        .arg("--model")
        .arg(model)
        .arg("--train")
        .arg(example("iris_train.csv"))
        .args([
            "--target",
            "species",
            "--id-column",
            "id",
            "--n-estimators",
            "2",
        ])
        .arg("--test")
        .arg(example("iris_test.csv"));
    c
}

#[test]
fn iris_classification_to_csv_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pred.csv");
    iris(&clf_model())
        .arg("--output")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "predicted 45 rows × 4 features (3 classes, 2 members)",
        ));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,prediction,proba_setosa,proba_versicolor,proba_virginica"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 45);
    for r in rows {
        let f: Vec<&str> = r.split(',').collect();
        assert!(f[0].starts_with("iris-"));
        assert!(["setosa", "versicolor", "virginica"].contains(&f[1]), "{r}");
        let p: Vec<f64> = f[2..].iter().map(|v| v.parse().unwrap()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{r}");
    }
    // No temp file left next to the output.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn diabetes_regression_formats_and_quantiles() {
    let base = || {
        let mut c = cli();
        c.arg("predict")
            .arg("--model")
            .arg(reg_model())
            .arg("--train")
            .arg(example("diabetes_train.csv"))
            .args([
                "--target",
                "progression",
                "--drop",
                "id",
                "--n-estimators",
                "2",
                "-q",
            ])
            .arg("--test")
            .arg(example("diabetes_test.csv"));
        c
    };
    let out = base()
        .args(["--format", "jsonl"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 133);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(first["mean"].as_f64().unwrap().is_finite());

    let out = base()
        .args([
            "--format",
            "json",
            "--output-type",
            "quantiles",
            "--quantiles",
            "0.1,0.5,0.9",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 133);
    for r in rows {
        let q: Vec<f64> = ["quantile_0.1", "quantile_0.5", "quantile_0.9"]
            .iter()
            .map(|k| r[k].as_f64().unwrap())
            .collect();
        assert!(q[0] <= q[1] && q[1] <= q[2], "{r}");
    }
}

/// More classes than the model's outputs (the many-class output code): the saved fit
/// predicts the same bytes.
#[test]
fn saved_many_class_fit_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    let rows: String = (0..44)
        .map(|i| format!("{},{},c{}\n", i % 9, (i * 7) % 5, i % 11))
        .collect();
    std::fs::write(&train, format!("a,b,y\n{rows}")).unwrap();
    std::fs::write(&test, "a,b\n1,2\n3,4\n8,0\n").unwrap();
    let fit = dir.path().join("many.fit");
    let run = |args: &[&std::ffi::OsStr]| {
        cli()
            .arg("predict")
            .arg("--model")
            .arg(clf_model())
            .arg("--test")
            .arg(&test)
            .arg("-q")
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let a = run(&[
        "--train".as_ref(),
        train.as_os_str(),
        "--target".as_ref(),
        "y".as_ref(),
        "--n-estimators".as_ref(),
        "1".as_ref(),
        "--save-fit".as_ref(),
        fit.as_os_str(),
    ]);
    let b = run(&["--load-fit".as_ref(), fit.as_os_str()]);
    assert!(String::from_utf8_lossy(&a).contains("proba_c10"));
    assert_eq!(a, b);
}

#[test]
fn saved_fit_predicts_the_same_without_the_training_csv() {
    let dir = tempfile::tempdir().unwrap();
    let fit = dir.path().join("iris.fit");
    let a = iris(&clf_model())
        .args(["--fit-mode", "fit-with-cache", "-q"])
        .arg("--save-fit")
        .arg(&fit)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let load = |extra: &[&str]| {
        let mut c = cli();
        c.arg("predict")
            .arg("--model")
            .arg(clf_model())
            .arg("--load-fit")
            .arg(&fit)
            .arg("--test")
            .arg(example("iris_test.csv"))
            .args(["--id-column", "id", "-q"])
            .args(extra);
        c
    };
    let b = load(&[]).assert().success().get_output().stdout.clone();
    assert_eq!(a, b);
    // the caches hold CPU-generator embeddings: loading them for a CUDA-generator run is
    // refused instead of mixing the two
    load(&["--torch-rng", "cuda"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--torch-rng"));
}

/// Runs predict on a tiny train/test pair and expects failure with `needle` in stderr and
/// no output file.
fn bad(train: &str, test: &str, extra: &[&str], model: &Path, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("train.csv");
    let te = dir.path().join("test.csv");
    std::fs::write(&tr, train).unwrap();
    std::fs::write(&te, test).unwrap();
    let out = dir.path().join("out.csv");
    cli()
        .arg("predict")
        .arg("--model")
        .arg(model)
        .arg("--train")
        .arg(&tr)
        .arg("--test")
        .arg(&te)
        .args(["--n-estimators", "1"])
        .args(if extra.contains(&"--target") {
            &[][..]
        } else {
            &["--target", "y"][..]
        })
        .args(extra)
        .arg("--output")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains(needle));
    assert!(!out.exists(), "output written despite the error ({needle})");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n != "train.csv" && n != "test.csv")
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

const TRAIN: &str = "a,b,y\n1,2,x\n2,3,z\n3,1,x\n4,5,z\n";
const TEST: &str = "a,b\n1.5,2\n";

#[test]
fn bad_inputs_are_clear_errors() {
    let m = clf_model();
    bad("", TEST, &[], &m, "train.csv is empty");
    bad(
        "a,b,y\n",
        TEST,
        &[],
        &m,
        "train.csv has a header but no data rows",
    );
    bad(
        "a,b,y\n1,2,x\n2,3\n3,1,x\n",
        TEST,
        &[],
        &m,
        "train.csv:3: row has 2 fields, but the header has 3",
    );
    bad(
        TRAIN,
        TEST,
        &["--target", "label"],
        &m,
        "no target column `label`",
    );
    bad(TRAIN, "a\n1.5\n", &[], &m, "test.csv: missing column `b`");
    bad(
        TRAIN,
        "a,b,c\n1.5,2,0\n",
        &[],
        &m,
        "test.csv: column `c` is not a feature",
    );
    bad(
        TRAIN,
        "a,b\n1.5,high\n",
        &[],
        &m,
        "test.csv:2: column `b` holds `high`, but it is numeric",
    );
    bad(
        "a,b,y\n1,2,low\n2,3,high\n3,1,low\n",
        TEST,
        &[],
        &reg_model(),
        "train.csv:2: the regression target `y` holds `low`",
    );
    bad(
        TRAIN,
        TEST,
        &["--inference-config", "NOPE=1"],
        &m,
        "unknown key `NOPE`",
    );
    bad(
        TRAIN,
        TEST,
        &["--inference-config", "FEATURE_SHIFT_METHOD=spin"],
        &m,
        "`FEATURE_SHIFT_METHOD`: must be \"shuffle\", \"rotate\" or None",
    );
    bad(
        TRAIN,
        TEST,
        &["--inference-config", "/no/such/knobs.json"],
        &m,
        "neither KEY=VALUE nor a readable JSON file",
    );
    bad(
        TRAIN,
        TEST,
        &[
            "--inference-config",
            "SUBSAMPLE_SAMPLES=2",
            "--subsample-samples",
            "3",
        ],
        &m,
        "give one",
    );
    bad(
        TRAIN,
        TEST,
        &["--inference-config", "MAX_NUMBER_OF_CLASSES=1"],
        &m,
        "`alphabet_size`: must be between 2 and the class limit 1 (MAX_NUMBER_OF_CLASSES",
    );
    bad(
        "a,a,y\n1,2,x\n2,3,z\n",
        TEST,
        &[],
        &m,
        "column name `a` appears twice",
    );
    bad(
        "a,b,y\n1,2,\n2,3,z\n",
        TEST,
        &[],
        &m,
        "train.csv:2: the target `y` is missing",
    );
    bad(
        TRAIN,
        TEST,
        &["--task", "regression"],
        &m,
        "disagrees with the model",
    );
}

#[test]
fn missing_files_and_non_models() {
    let dir = tempfile::tempdir().unwrap();
    let not_model = dir.path().join("model.ckpt");
    std::fs::write(&not_model, "this is not a checkpoint").unwrap();
    bad(TRAIN, TEST, &[], &not_model, "cannot load model");
    cli()
        .arg("predict")
        .arg("--model")
        .arg(clf_model())
        .arg("--train")
        .arg(dir.path().join("nope.csv"))
        .args(["--target", "y", "--test"])
        .arg(dir.path().join("nope2.csv"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot open").and(predicate::str::contains("nope.csv")));
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_an_error() {
    bad(
        TRAIN,
        TEST,
        &["--device", "cuda"],
        &clf_model(),
        "this build has no cuda backend",
    );
}

#[test]
fn semicolon_files_and_quoted_text_columns() {
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("train.csv");
    let te = dir.path().join("test.csv");
    let mut s = String::from("size;\"colour, shade\";y\n");
    for i in 0..12 {
        s += &format!(
            "{};\"{}\";{}\n",
            i as f64 / 3.0,
            if i % 3 == 0 { "red, dark" } else { "blue" },
            if i % 2 == 0 { "a" } else { "b" }
        );
    }
    std::fs::write(&tr, s).unwrap();
    std::fs::write(&te, "\"colour, shade\";size\nblue;1.5\nNA;2\n").unwrap();
    let out = cli()
        .arg("predict")
        .arg("--model")
        .arg(clf_model())
        .arg("--train")
        .arg(&tr)
        .arg("--test")
        .arg(&te)
        .args(["--target", "y", "--n-estimators", "2", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().next().unwrap(), "prediction,proba_a,proba_b");
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn help_of_every_subcommand() {
    for (sub, needles) in [
        (
            "predict",
            &[
                "--model",
                "--train",
                "--target",
                "--test",
                "--output",
                "--format",
                "--output-type",
                "--quantiles",
                "--n-estimators",
                "--seed",
                "--softmax-temperature",
                "--categorical",
                "--fit-mode",
                "--threads",
                "--device",
                "--ignore-limits",
                "--id-column",
                "--drop",
                "--delimiter",
                "--batch-size",
                "--save-fit",
                "--load-fit",
                "--quiet",
            ][..],
        ),
        (
            "forward",
            &[
                "--model", "--input", "--output", "--mode", "--device", "--repeat",
            ][..],
        ),
        ("convert", &["<INPUT>", "<OUTPUT>"][..]),
        ("info", &["<MODEL>", "--json"][..]),
    ] {
        let out = cli()
            .args([sub, "--help"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        for n in needles {
            assert!(text.contains(n), "`{sub} --help` lacks {n}:\n{text}");
        }
    }
    cli()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("predict"));
}

/// Streaming the test file in small chunks gives the same predictions as one chunk (to
/// float noise: the network sees differently shaped batches), in every format.
/// Every number in a CSV, JSON or JSON-lines output (ids and labels are not numbers).
fn numbers(text: &str) -> Vec<f64> {
    text.split([',', '\n', ':', '}', ']'])
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .collect()
}

#[test]
fn small_batches_stream_the_same_predictions() {
    for format in ["csv", "json", "jsonl"] {
        let run = |batch: &str| {
            let out = iris(&clf_model())
                .args(["-q", "--format", format, "--batch-size", batch])
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            String::from_utf8(out).unwrap()
        };
        let (a, b) = (run("7"), run("2048"));
        let (na, nb) = (numbers(&a), numbers(&b));
        assert_eq!(na.len(), 45 * 3, "{format}: {a}");
        tabpfn_test_support::assert_close(&format!("{format}: batch 7 vs 2048"), &na, &nb, 1e-5);
        match format {
            "json" => assert_eq!(
                serde_json::from_str::<serde_json::Value>(&a)
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .len(),
                45
            ),
            "jsonl" => assert!(a
                .lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())),
            _ => assert_eq!(a.lines().count(), 46),
        }
    }
}

/// `--kernels stock` (Burn's ops) and the default `auto` (the CPU kernels here) give the
/// same probabilities.
#[test]
fn stock_and_auto_kernels_predict_the_same() {
    let probabilities = |kernels: &str| -> Vec<f64> {
        let out = iris(&clf_model())
            .args(["-q", "--kernels", kernels])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        numbers(&String::from_utf8(out).unwrap())
    };
    let (auto, stock) = (probabilities("auto"), probabilities("stock"));
    assert_eq!(auto.len(), 45 * 3);
    let d = tabpfn_test_support::assert_close("probabilities, stock vs auto", &stock, &auto, 1e-5);
    eprintln!("stock vs auto kernels: max |Δ| = {d:e}");
}

/// Without --model the built-in demo model runs, says so on stderr, and beats the
/// majority class on the README example (the test file carries the true species).
#[test]
fn builtin_demo_model_is_the_default_and_predicts_sensibly() {
    let out = cli()
        .arg("predict")
        .arg("--train")
        .arg(example("iris_train.csv"))
        .args(["--target", "species", "--id-column", "id"])
        .arg("--test")
        .arg(example("iris_test.csv"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "using the built-in demo model tabpfn-mini",
        ))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let truth: Vec<String> = std::fs::read_to_string(example("iris_test.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    let predicted: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(predicted.len(), truth.len());
    let correct = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
    let accuracy = correct as f64 / truth.len() as f64;
    println!(
        "tabpfn-mini on the iris example: accuracy {accuracy:.3} ({correct}/{})",
        truth.len()
    );
    // majority class of this stratified split is 1/3
    assert!(accuracy > 0.5, "demo model accuracy {accuracy}");
}

/// Without --model a numeric target with many distinct values picks the built-in
/// regressor (said on stderr), which is no worse than the training mean on held-out rows
/// of the diabetes example; `--task` overrides the guess, and a saved fit of the built-in
/// regressor loads back without --model.
#[test]
fn builtin_regressor_is_picked_for_numeric_targets() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example("diabetes_train.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (header, rows) = (lines[0], &lines[1..]);
    let cut = 250;
    let write = |name: &str, part: &[&str]| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{header}\n{}\n", part.join("\n"))).unwrap();
        p
    };
    let train = write("train.csv", &rows[..cut]);
    let test = write("test.csv", &rows[cut..]);
    let fit = dir.path().join("reg.fit");
    let out = cli()
        .arg("predict")
        .arg("--train")
        .arg(&train)
        .args(["--target", "progression"])
        .arg("--test")
        .arg(&test)
        .arg("--save-fit")
        .arg(&fit)
        .assert()
        .success()
        .stderr(predicate::str::contains("so this is regression"))
        .stderr(predicate::str::contains("tabpfn-mini-regressor (built in)"))
        .get_output()
        .stdout
        .clone();
    let target = |l: &str| l.rsplit(',').next().unwrap().parse::<f64>().unwrap();
    let y_train: Vec<f64> = rows[..cut].iter().map(|l| target(l)).collect();
    let y_test: Vec<f64> = rows[cut..].iter().map(|l| target(l)).collect();
    let pred: Vec<f64> = String::from_utf8(out)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(pred.len(), y_test.len());
    assert!(pred.iter().all(|v| v.is_finite()), "non-finite prediction");
    let mean = y_train.iter().sum::<f64>() / y_train.len() as f64;
    let sse: f64 = pred.iter().zip(&y_test).map(|(p, y)| (p - y).powi(2)).sum();
    let sst: f64 = y_test.iter().map(|y| (mean - y).powi(2)).sum();
    let r2 = 1.0 - sse / sst;
    println!("tabpfn-mini regressor on held-out diabetes rows: R² {r2:.3} (vs the training mean)");
    // the shipped regressor scores R² 0.59 here (session 15, docs/demo-model.md); the bar
    // catches a pipeline that loses the features (R² ≈ 0) or the target's scale or sign (≪ 0)
    assert!(r2 > 0.3, "built-in regressor R² {r2}");
    // the saved fit says it is a regression: no --model, no --task needed to load it
    cli()
        .arg("predict")
        .arg("--load-fit")
        .arg(&fit)
        .arg("--test")
        .arg(&test)
        .assert()
        .success()
        .stderr(predicate::str::contains("holds a regression fit"));
    // --task overrides the guess: a text target cannot be a regression target
    cli()
        .arg("predict")
        .arg("--train")
        .arg(example("iris_train.csv"))
        .args([
            "--target",
            "species",
            "--id-column",
            "id",
            "--task",
            "regression",
        ])
        .arg("--test")
        .arg(example("iris_test.csv"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("it must be numeric"));
}

/// A training table past the 10 000-row pretraining limit: refused with a hint, then run
/// with `--subsample-samples` (count and fraction); bad values are clear errors.
#[test]
fn subsample_samples_runs_training_files_beyond_the_row_limit() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("big.csv");
    let mut text = String::from("a,b,y\n");
    for i in 0..12_000u32 {
        let a = ((i * 37) % 101) as f32 / 10.0;
        let b = ((i * 53) % 97) as f32 / 7.0;
        writeln!(text, "{a},{b},{}", if a + b > 12.0 { "hi" } else { "lo" }).unwrap();
    }
    std::fs::write(&train, text).unwrap();
    let test = dir.path().join("test.csv");
    std::fs::write(&test, "a,b\n1.0,2.0\n9.5,13.0\n").unwrap();
    let run = |extra: &[&str]| {
        let mut c = cli();
        c.arg("predict")
            .arg("--model")
            .arg(clf_model())
            .arg("--train")
            .arg(&train)
            .arg("--test")
            .arg(&test)
            .args(["--target", "y", "--n-estimators", "2", "-q"])
            .args(extra);
        c
    };
    run(&[]).assert().failure().stderr(
        predicate::str::contains("12000 training rows")
            .and(predicate::str::contains("subsample_samples")),
    );
    // 0.9 × 12 000 rows per member is still above the limit
    run(&["--subsample-samples", "0.9"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("(10801 per member)"));
    for arg in ["500", "0.05"] {
        let out = run(&["--subsample-samples", arg]).assert().success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert_eq!(stdout.lines().count(), 3, "{arg}: {stdout}");
        assert!(
            stdout.starts_with("prediction,proba_hi,proba_lo"),
            "{stdout}"
        );
    }
    for bad in ["0", "1.5", "-3", "abc", "nan"] {
        run(&[&format!("--subsample-samples={bad}")])
            .assert()
            .failure()
            .stderr(predicate::str::contains("--subsample-samples"));
    }
}

/// A saved fit carries its own estimator settings: flags that would change them are
/// refused next to --load-fit instead of being silently ignored; an id column named like a
/// prediction column is refused before any output is written.
#[test]
fn load_fit_refuses_estimator_flags_and_output_names_must_be_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let fit = dir.path().join("fit.safetensors");
    iris(&clf_model())
        .arg("--save-fit")
        .arg(&fit)
        .arg("-q")
        .assert()
        .success();
    let from_fit = |test: &Path| {
        let mut c = cli();
        c.arg("predict")
            .arg("--model")
            .arg(clf_model())
            .arg("--load-fit")
            .arg(&fit)
            .arg("--test")
            .arg(test);
        c
    };
    for flag in [
        &["--n-estimators", "3"][..],
        &["--seed", "4"],
        &["--softmax-temperature", "0.5"],
        &["--fit-mode", "low-memory"],
        &["--subsample-samples", "10"],
        &["--balance-probabilities"],
    ] {
        from_fit(&example("iris_test.csv"))
            .args(flag)
            .assert()
            .failure()
            .stderr(predicate::str::contains("cannot be used with"));
    }
    let test = dir.path().join("test.csv");
    let text = std::fs::read_to_string(example("iris_test.csv"))
        .unwrap()
        .replacen("id,", "prediction,", 1);
    std::fs::write(&test, text).unwrap();
    let out = dir.path().join("out.json");
    from_fit(&test)
        .args(["--id-column", "prediction", "-o"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("`prediction` would appear twice"));
    assert!(!out.exists());
}

/// A column with no value in the training file runs (an all-NaN numeric column, as pandas
/// reads it; the pipeline fixtures check it against the reference), and so does a table
/// wider than the 500 features, each member seeing 500 of them, with a notice.
#[test]
fn all_missing_columns_and_wide_tables_predict() {
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("train.csv");
    let te = dir.path().join("test.csv");
    std::fs::write(&tr, "a,b,y\n1,,x\n2,NA,z\n3,,x\n4,,z\n").unwrap();
    std::fs::write(&te, "a,b\n1.5,\n3.5,7\n").unwrap();
    let out = cli()
        .arg("predict")
        .arg("--model")
        .arg(clf_model())
        .arg("--train")
        .arg(&tr)
        .args(["--target", "y", "--n-estimators", "2", "-q"])
        .arg("--test")
        .arg(&te)
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");

    let f = 503;
    let header: Vec<String> = (0..f).map(|j| format!("f{j}")).collect();
    let row = |i: usize| -> String {
        (0..f)
            .map(|j| format!("{}", ((i * 31 + j * 17) % 23) as f64 / 7.0))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut train = format!("{},y\n", header.join(","));
    for i in 0..20 {
        train.push_str(&format!(
            "{},{}\n",
            row(i),
            if i % 2 == 0 { "x" } else { "z" }
        ));
    }
    let test = format!("{}\n{}\n", header.join(","), row(3));
    std::fs::write(&tr, train).unwrap();
    std::fs::write(&te, test).unwrap();
    let run = |extra: &[&str]| {
        cli()
            .arg("predict")
            .arg("--model")
            .arg(clf_model())
            .arg("--train")
            .arg(&tr)
            .args(["--target", "y", "--n-estimators", "2", "--format", "json"])
            .args(extra)
            .arg("--test")
            .arg(&te)
            .assert()
            .success()
    };
    let sub = run(&[]).stderr(predicate::str::contains(
        "has 503 feature columns, more than the 500",
    ));
    let all = run(&["--ignore-limits"]);
    assert_ne!(
        sub.get_output().stdout,
        all.get_output().stdout,
        "subsampling the features changed nothing"
    );
}

/// Eleven classes: the many-class output code, with a notice, one probability per class.
#[test]
fn more_classes_than_the_model_predict_through_the_output_code() {
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("train.csv");
    let te = dir.path().join("test.csv");
    let many: String = std::iter::once("a,y\n".to_string())
        .chain((0..44).map(|i| format!("{},c{}\n", i % 11, i % 11)))
        .collect();
    std::fs::write(&tr, many).unwrap();
    std::fs::write(&te, "a\n1\n7\n").unwrap();
    let out = cli()
        .arg("predict")
        .arg("--model")
        .arg(clf_model())
        .arg("--train")
        .arg(&tr)
        .args(["--target", "y", "--n-estimators", "1", "--format", "json"])
        .arg("--test")
        .arg(&te)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "many-class output code, 8 codebook rows",
        ));
    let rows: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let r = rows[0].as_object().unwrap();
    let total: f64 = (0..11)
        .map(|c| r[&format!("proba_c{c}")].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-5, "{total}");
}

/// `--load-fit` without `--model` reads the fit's task from its header first: a file that
/// is not a saved fit (too short, a huge header length, not JSON) is a clear error naming it.
#[test]
fn load_fit_without_model_rejects_files_that_are_not_fits() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "short.fit",
            vec![1, 2, 3],
            "shorter than a safetensors header",
        ),
        ("huge.fit", u64::MAX.to_le_bytes().to_vec(), "more than the"),
        (
            "text.fit",
            [&5u64.to_le_bytes()[..], b"hello"].concat(),
            "header is not JSON",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        cli()
            .arg("predict")
            .arg("--load-fit")
            .arg(&p)
            .arg("--test")
            .arg(example("iris_test.csv"))
            .assert()
            .failure()
            .stderr(predicate::str::contains(name))
            .stderr(predicate::str::contains(want));
    }
}
