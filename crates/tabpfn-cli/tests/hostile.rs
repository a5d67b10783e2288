//! The CLI as an attacker or a careless user would drive it (issue 16): outputs that are
//! inputs, planted temp names, directories, concurrent runs, flag errors after a header,
//! CSVs built to take the parser down, numerical overflow, tampered saved fits. Every case
//! is a clear error with a non-zero exit and no destroyed or partial file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model(name: &str) -> PathBuf {
    root().join("fixtures/model").join(name)
}

fn example(name: &str) -> PathBuf {
    root().join("examples").join(name)
}

fn cli() -> Command {
    Command::cargo_bin("tabpfn-cli").unwrap()
}

/// `predict` with the tiny classifier on `train` (target column `y`) and `test`.
fn predict_tiny_clf(train: &Path, test: &Path) -> Command {
    let mut cmd = cli();
    cmd.arg("predict")
        .arg("--model")
        .arg(model("tiny_clf.ckpt"))
        .arg("--train")
        .arg(train)
        .arg("--test")
        .arg(test)
        .args(["--target", "y"]);
    cmd
}

fn iris_in(dir: &Path) -> (Command, PathBuf, PathBuf, PathBuf) {
    let (args, train, test, m) = iris_args(dir);
    let mut c = cli();
    c.args(args);
    (c, train, test, m)
}

/// The arguments of [`iris_in`].
fn iris_args(dir: &Path) -> (Vec<std::ffi::OsString>, PathBuf, PathBuf, PathBuf) {
    let (train, test, m) = (
        dir.join("train.csv"),
        dir.join("test.csv"),
        dir.join("m.ckpt"),
    );
    std::fs::copy(example("iris_train.csv"), &train).unwrap();
    std::fs::copy(example("iris_test.csv"), &test).unwrap();
    std::fs::copy(model("tiny_clf.ckpt"), &m).unwrap();
    let mut args: Vec<std::ffi::OsString> =
        vec!["predict".into(), "--model".into(), m.clone().into()];
    args.extend([
        "--train".into(),
        train.clone().into(),
        "--test".into(),
        test.clone().into(),
    ]);
    for a in [
        "--target",
        "species",
        "--id-column",
        "id",
        "--n-estimators",
        "1",
        "-q",
    ] {
        args.push(a.into());
    }
    (args, train, test, m)
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    for which in ["train", "test", "model"] {
        let (mut c, train, test, m) = iris_in(dir.path());
        let target = match which {
            "train" => train,
            "test" => test,
            _ => m,
        };
        let before = std::fs::read(&target).unwrap();
        // another spelling of the same path
        let spelled = dir.path().join(".").join(target.file_name().unwrap());
        c.arg("--output")
            .arg(&spelled)
            .assert()
            .failure()
            .stderr(predicate::str::contains("same file"));
        assert_eq!(std::fs::read(&target).unwrap(), before, "{which} changed");
    }
    // convert a a
    let m = dir.path().join("m.ckpt");
    let before = std::fs::read(&m).unwrap();
    cli()
        .arg("convert")
        .arg(&m)
        .arg(&m)
        .assert()
        .failure()
        .stderr(predicate::str::contains("same file"));
    assert_eq!(std::fs::read(&m).unwrap(), before);
}

#[test]
fn an_output_directory_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, ..) = iris_in(dir.path());
    let out = dir.path().join("outdir");
    std::fs::create_dir(&out).unwrap();
    c.arg("--output")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("directory"));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");
}

#[cfg(unix)]
#[test]
fn a_planted_symlink_at_an_old_temp_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, ..) = iris_in(dir.path());
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    // the names earlier versions used for their temp files
    for planted in [".out.csv.tmp-write", "out.tmp-write"] {
        std::os::unix::fs::symlink(&victim, dir.path().join(planted)).unwrap();
    }
    let out = dir.path().join("out.csv");
    c.arg("--output").arg(&out).assert().success();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("id,prediction"));
}

#[test]
fn concurrent_runs_on_one_output_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let runs: Vec<std::process::Child> = (0..4)
        .map(|i| {
            let (args, ..) = iris_args(&dir.path().join(format!("{i}")).tap_mkdir());
            std::process::Command::new(assert_cmd::cargo::cargo_bin("tabpfn-cli"))
                .args(args)
                .arg("--seed")
                .arg(i.to_string())
                .arg("--output")
                .arg(&out)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 46, "a whole file of one run:\n{text}");
    assert!(text.starts_with("id,prediction"));
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn nothing_reaches_stdout_before_the_run_cannot_fail_on_its_flags() {
    let out = cli()
        .arg("predict")
        .arg("--model")
        .arg(model("tiny_reg.ckpt"))
        .arg("--train")
        .arg(example("diabetes_train.csv"))
        .args(["--target", "progression", "--id-column", "id"])
        .arg("--test")
        .arg(example("diabetes_test.csv"))
        .args(["--output-type", "quantiles", "--quantiles", "0.5,1.5"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("1.5"))
        .get_output()
        .stdout
        .clone();
    assert!(out.is_empty(), "stdout: {}", String::from_utf8_lossy(&out));
}

#[test]
fn an_unterminated_quote_is_an_error_not_one_long_label() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    std::fs::write(&train, "a,y\n1,x\n2,\"z\n3,x\n4,z\n5,x\n").unwrap();
    std::fs::write(&test, "a\n1.5\n").unwrap();
    predict_tiny_clf(&train, &test)
        .assert()
        .failure()
        .stderr(predicate::str::contains("train.csv:3").and(predicate::str::contains("quote")));
}

#[test]
fn two_hundred_thousand_columns_are_read_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200_000;
    let header: Vec<String> = (0..n).map(|j| format!("c{j}")).collect();
    let row: Vec<&str> = vec!["1"; n];
    let train = dir.path().join("train.csv");
    std::fs::write(
        &train,
        format!(
            "{},y\n{},a\n{},b\n",
            header.join(","),
            row.join(","),
            row.join(",")
        ),
    )
    .unwrap();
    let t = Instant::now();
    predict_tiny_clf(&train, &train)
        .assert()
        .failure()
        // read in full, the width noticed (members would see 500 of them), then refused
        // because every column is constant
        .stderr(
            predicate::str::contains("200000 feature columns")
                .and(predicate::str::contains("all features are constant")),
        );
    let s = t.elapsed().as_secs_f64();
    println!("200 000-column table read and refused in {s:.2} s");
    assert!(s < 30.0, "{s} s");
}

#[test]
fn out_of_range_knobs_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut args, ..) = iris_args(dir.path());
    // the last --n-estimators wins over iris_args' 1
    let at = args.iter().position(|a| a == "--n-estimators").unwrap();
    args[at + 1] = "10001".into();
    cli()
        .args(args)
        .assert()
        .failure()
        .stderr(predicate::str::contains("n_estimators"));
    // logits / 1e-40 overflow float32: an error naming the stage, never NaN probabilities
    let (mut c, ..) = iris_in(dir.path());
    c.args(["--softmax-temperature", "1e-40"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("non-finite"));
}

#[test]
fn a_bit_flipped_saved_fit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fit = dir.path().join("iris.fit");
    let (mut c, _, test, m) = iris_in(dir.path());
    c.args(["--fit-mode", "fit-with-cache"])
        .arg("--save-fit")
        .arg(&fit)
        .assert()
        .success();
    let clean = std::fs::read(&fit).unwrap();
    // flip one bit in the tensor data, one in the JSON header (a digit of a count)
    let header_len = u64::from_le_bytes(clean[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8_lossy(&clean[8..8 + header_len]).into_owned();
    let digit = 8 + header.find("\\\"y_idx\\\":[").unwrap() + 12;
    for at in [clean.len() - 3, digit] {
        let mut bytes = clean.clone();
        bytes[at] ^= 1;
        std::fs::write(&fit, &bytes).unwrap();
        cli()
            .arg("predict")
            .arg("--model")
            .arg(&m)
            .arg("--load-fit")
            .arg(&fit)
            .arg("--test")
            .arg(&test)
            .args(["--id-column", "id", "-q"])
            .assert()
            .failure()
            .stderr(
                predicate::str::contains("integrity check failed")
                    .or(predicate::str::contains("not a saved fit")),
            );
    }
}

/// An `.npz` entry whose `.npy` header claims far more data than the entry holds, a
/// deflated entry that inflates past the budget, and a non-float dtype: each refused
/// before anything is sized by the header.
#[test]
fn npz_headers_are_checked_against_their_bytes() {
    let npy = |descr: &str, shape: &str, data: &[u8]| {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend(data);
        b
    };
    let npz = |entries: &[(&str, Vec<u8>, bool)]| {
        let refs: Vec<(&str, &[u8], bool)> = entries
            .iter()
            .map(|(n, d, z)| (*n, d.as_slice(), *z))
            .collect();
        tabpfn_test_support::zip_archive(&refs)
    };
    let dir = tempfile::tempdir().unwrap();
    let y = npy("<f4", "(2,)", &[0u8; 8]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "huge shape",
            npz(&[
                ("x.npy", npy("<f4", "(1099511627776, 1)", &[0u8; 16]), false),
                ("y.npy", y.clone(), false),
            ]),
            "claims shape [1099511627776, 1]",
        ),
        (
            "int dtype",
            npz(&[
                ("x.npy", npy("<i8", "(2, 1)", &[0u8; 16]), false),
                ("y.npy", y.clone(), false),
            ]),
            "dtype `<i8`",
        ),
        (
            "zip bomb",
            npz(&[
                (
                    "x.npy",
                    npy("<f4", "(100000000, 1)", &vec![0u8; 400_000_000]),
                    true,
                ),
                ("y.npy", y, false),
            ]),
            "zip bomb",
        ),
    ];
    for (what, bytes, needle) in cases {
        let input = dir.path().join(format!("{}.npz", what.replace(' ', "_")));
        std::fs::write(&input, bytes).unwrap();
        let t = Instant::now();
        cli()
            .arg("forward")
            .arg("--model")
            .arg(model("tiny_clf.ckpt"))
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(dir.path().join("out.npz"))
            .assert()
            .failure()
            .stderr(
                predicate::str::contains(needle).and(predicate::str::contains("panicked").not()),
            );
        assert!(t.elapsed().as_secs_f64() < 20.0, "{what}");
    }
}
