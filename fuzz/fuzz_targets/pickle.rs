//! The restricted unpickler on arbitrary bytes; what it accepts is also converted to JSON
//! (the checkpoint metadata path). Seeds: the `data.pkl` of the fixture checkpoints.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = tabpfn_weights::pickle::unpickle(data) {
        let _ = tabpfn_weights::json::to_json(&v);
        let _ = format!("{v:?}");
    }
});
