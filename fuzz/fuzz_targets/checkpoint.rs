//! `Checkpoint::from_bytes` (format detection, torch zip, safetensors) and, for what it
//! accepts, the model loader (config parsing, tensor names and shapes, finiteness).
//! Seeds: every fixture checkpoint.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ck) = tabpfn_weights::Checkpoint::from_bytes("fuzz.ckpt", data) {
        let _ = tabpfn_model::PerFeatureTransformer::from_checkpoint(
            &ck,
            &burn::tensor::Device::flex(),
        );
    }
});
