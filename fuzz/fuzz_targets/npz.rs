//! The `.npz` reader of `tabpfn-cli forward`: the input is written to a file and `x` and
//! `y` are read as float arrays. Seeds: the fixture forward cases.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("tabpfn-fuzz-npz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("t.npz");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(f) = std::fs::File::open(&path) else { return };
    let Ok(mut npz) = ndarray_npy::NpzReader::new(f) else { return };
    for name in ["x", "y"] {
        let _ = tabpfn_cli::npz::read_f32(&mut npz, &path, name);
    }
});
