//! The `.npz` reader of `tabpfn-cli forward` (bounded archive, `.npy` headers checked
//! against the entry's bytes): `x` and `y` read as float arrays. Seeds: the fixture
//! forward cases.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.npz");
    let Ok(mut npz) = tabpfn_cli::npz::Npz::from_bytes(path, data.to_vec()) else {
        return;
    };
    for name in ["x", "y"] {
        let _ = npz.read_f32(name);
    }
});
