//! The CSV reader of `predict` (delimiter sniffing, quoting, missing tokens, typing): the
//! input is written to a file and streamed in chunks of 3 rows, every column typed both
//! ways. Seeds: the example CSVs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tabpfn_cli::csv_input::CsvStream;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("tabpfn-fuzz-csv-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("t.csv");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(mut s) = CsvStream::open(&path, None) else { return };
    while let Ok(Some(chunk)) = s.next_chunk(3) {
        for j in 0..chunk.headers.len() {
            let numeric = chunk.is_numeric(j);
            let _ = chunk.typed_column(j, numeric);
            let _ = chunk.typed_column(j, !numeric);
        }
    }
});
