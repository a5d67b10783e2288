//! Structure-aware: the input is split into a pickle and up to four storages, which the
//! harness wraps in a valid torch zip (so mutations reach the unpickler, the tensor views
//! and the loader instead of dying at the zip CRC). Byte 0 picks the pickle's share,
//! byte 1 whether entries are deflated.
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (head, rest) = data.split_at(2);
    let cut = rest.len() * head[0] as usize / 255;
    let (pkl, storages) = rest.split_at(cut);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if head[1] & 1 == 1 {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut entries: Vec<(String, &[u8])> = vec![("m/data.pkl".into(), pkl)];
    let n = storages.len().div_ceil(4).max(1);
    for (i, s) in storages.chunks(n).enumerate() {
        entries.push((format!("m/data/{i}"), s));
    }
    entries.push(("m/byteorder".into(), if head[1] & 2 == 2 { b"big" } else { b"little" }));
    for (name, bytes) in entries {
        if w.start_file(name, opts).is_err() || w.write_all(bytes).is_err() {
            return;
        }
    }
    let Ok(cursor) = w.finish() else { return };
    let bytes = cursor.into_inner();
    if let Ok(ck) = tabpfn_weights::Checkpoint::from_bytes("fuzz.ckpt", &bytes) {
        let _ = tabpfn_model::PerFeatureTransformer::from_checkpoint(
            &ck,
            &burn::tensor::Device::flex(),
        );
    }
});
