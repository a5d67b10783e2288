//! Property tests of the CSV reader: any table of cells written by a standard CSV writer
//! (quoting commas, quotes and delimiters) reads back cell for cell, in any chunk size,
//! with every missing token read as missing — and arbitrary bytes never panic.

use proptest::prelude::*;
use tabpfn_cli::csv_input::{CsvStream, CsvTable};

const MISSING: [&str; 8] = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"];

/// A cell: a number, free text with the characters quoting must protect, or missing.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| v.to_string()),
        "[a-z]{1,3}[,;\"|a-z0-9 ]{0,6}[a-z]",
        proptest::sample::select(&MISSING[..]).prop_map(str::to_string),
    ]
}

fn table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    (1usize..6, 1usize..12).prop_flat_map(|(cols, rows)| {
        (
            Just((0..cols).map(|j| format!("col{j}")).collect::<Vec<_>>()),
            proptest::collection::vec(proptest::collection::vec(cell(), cols), rows),
        )
    })
}

fn write(
    dir: &std::path::Path,
    delim: u8,
    header: &[String],
    rows: &[Vec<String>],
) -> std::path::PathBuf {
    let path = dir.join("t.csv");
    let mut w = csv::WriterBuilder::new()
        .delimiter(delim)
        .from_path(&path)
        .unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    path
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn written_tables_read_back_cell_for_cell(
        (header, rows) in table(),
        delim in proptest::sample::select(vec![b',', b';', b'\t', b'|']),
        chunk in 1usize..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), delim, &header, &rows);
        // the delimiter is sniffed from the header when not given (a one-column header
        // has none to sniff)
        let given = (header.len() == 1).then_some(delim);
        let mut s = CsvStream::open(&path, given).unwrap();
        prop_assert_eq!(&s.headers, &header);
        let mut got: Vec<Vec<Option<String>>> = Vec::new();
        while let Some(t) = s.next_chunk(chunk).unwrap() {
            prop_assert!(t.rows.len() <= chunk);
            got.extend(t.rows);
        }
        prop_assert_eq!(got.len(), rows.len());
        for (g, want) in got.iter().zip(&rows) {
            for (c, w) in g.iter().zip(want) {
                let w = w.trim();
                let expected = (!MISSING.contains(&w)).then(|| w.to_string());
                prop_assert_eq!(c, &expected);
            }
        }
        // the whole-file reader sees the same rows
        let all = CsvTable::read(&path, Some(delim)).unwrap();
        prop_assert_eq!(all.rows, got);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(mut s) = CsvStream::open(&path, None) {
            while let Ok(Some(t)) = s.next_chunk(2) {
                for j in 0..t.headers.len() {
                    let _ = t.typed_column(j, t.is_numeric(j));
                }
            }
        }
    }
}
