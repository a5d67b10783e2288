//! `tabpfn-cli predict` on Parquet (fixtures/parquet, python/gen_parquet.py): the same
//! predictions as from the CSV files, Parquet output that reads back, schema-typed columns,
//! and the files the reader refuses, each with a message naming the file and the column.

use std::path::PathBuf;

use assert_cmd::Command;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use predicates::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pq(name: &str) -> PathBuf {
    root().join("fixtures/parquet").join(name)
}

fn cli() -> Command {
    Command::cargo_bin("tabpfn-cli").unwrap()
}

fn predict(train: PathBuf, test: PathBuf, target: &str) -> Command {
    let mut c = cli();
    c.arg("predict")
        .arg("--model")
        .arg(root().join("fixtures/model/tiny_clf.ckpt"))
        .arg("--train")
        .arg(train)
        .arg("--test")
        .arg(test)
        .args(["--target", target, "--n-estimators", "2", "-q"]);
    c
}

/// `predict` on the bundled iris CSV files.
fn iris_csv() -> Command {
    predict(
        root().join("examples/iris_train.csv"),
        root().join("examples/iris_test.csv"),
        "species",
    )
}

#[test]
fn parquet_input_predicts_what_csv_input_predicts() {
    let csv = iris_csv().args(["--id-column", "id"]).assert().success();
    let pq_out = predict(pq("iris_train.parquet"), pq("iris_test.parquet"), "species")
        .args(["--id-column", "id"])
        .assert()
        .success();
    let (a, b) = (
        String::from_utf8_lossy(&csv.get_output().stdout).to_string(),
        String::from_utf8_lossy(&pq_out.get_output().stdout).to_string(),
    );
    assert_eq!(a.lines().count(), 46);
    assert_eq!(a, b, "CSV and Parquet inputs differ");
}

#[test]
fn parquet_output_reads_back_as_the_csv_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pred.parquet");
    iris_csv()
        .args(["--id-column", "id", "--batch-size", "7", "-o"])
        .arg(&out)
        .assert()
        .success();
    let csv = iris_csv().args(["--id-column", "id"]).assert().success();
    let csv = String::from_utf8_lossy(&csv.get_output().stdout).to_string();
    let mut csv_rows = csv.lines();
    let header: Vec<&str> = csv_rows.next().unwrap().split(',').collect();
    let reader = SerializedFileReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(names, header);
    let mut n = 0;
    for (row, line) in reader.get_row_iter(None).unwrap().zip(csv_rows) {
        let row = row.unwrap();
        let want: Vec<&str> = line.split(',').collect();
        for (i, (_, f)) in row.get_column_iter().enumerate() {
            match f {
                Field::Str(s) => assert_eq!(s, want[i]),
                Field::Float(v) => assert_eq!(*v, want[i].parse::<f32>().unwrap(), "col {i}"),
                Field::Double(v) => assert_eq!(*v as f32, want[i].parse::<f32>().unwrap()),
                other => panic!("unexpected field {other:?}"),
            }
        }
        n += 1;
    }
    assert_eq!(n, 45);
}

#[test]
fn every_supported_column_type_with_nulls_is_read() {
    // integers, floats, booleans, strings, dictionary strings, decimals; nulls missing
    predict(pq("mixed.parquet"), pq("mixed.parquet"), "y")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "prediction,proba_p,proba_q,proba_r",
        ));
}

#[test]
fn nested_timestamp_and_truncated_files_are_clear_errors() {
    for (file, needle) in [
        ("nested.parquet", "`l`"),
        ("timestamp.parquet", "`t`"),
        ("truncated.parquet", "truncated.parquet"),
    ] {
        let out = predict(pq(file), pq("mixed.parquet"), "a")
            .assert()
            .failure()
            .stderr(predicate::str::contains(needle))
            .stderr(predicate::str::contains("panicked").not());
        println!(
            "{file}: {}",
            String::from_utf8_lossy(&out.get_output().stderr).trim()
        );
    }
}
