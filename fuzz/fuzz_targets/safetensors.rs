//! The safetensors path of `Checkpoint::from_bytes` (inputs that start like a zip are
//! skipped) and the loader behind it. Seeds: the converted fixture models.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK") {
        return;
    }
    if let Ok(ck) = tabpfn_weights::Checkpoint::from_bytes("fuzz.safetensors", data) {
        let _ = tabpfn_model::PerFeatureTransformer::from_checkpoint(
            &ck,
            &burn::tensor::Device::flex(),
        );
    }
});
