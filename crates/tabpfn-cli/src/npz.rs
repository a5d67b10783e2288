//! `.npz` input and output of `tabpfn-cli forward` (format: docs/forward-format.md).

use std::fs::File;
use std::path::Path;

use anyhow::{bail, Context, Result};
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{NpzReader, NpzWriter};

/// Reads a float array (f32 or f64, converted to f32) from an npz file.
pub fn read_f32(npz: &mut NpzReader<File>, path: &Path, name: &str) -> Result<ArrayD<f32>> {
    let names = npz
        .names()
        .with_context(|| format!("{}: not a readable .npz file", path.display()))?;
    if !names.iter().any(|n| n == name) {
        bail!(
            "{}: no array `{name}` (found: {})",
            path.display(),
            names.join(", ")
        );
    }
    if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<f32>, IxDyn>(name) {
        return Ok(a);
    }
    let a: ArrayD<f64> = npz.by_name(name).with_context(|| {
        format!(
            "{}: array `{name}` must be float32 or float64",
            path.display()
        )
    })?;
    Ok(a.mapv(|v| v as f32))
}

/// Writes arrays to `path` atomically (built in memory: forward outputs are small).
pub fn write_atomic(path: &Path, arrays: &[(&str, ArrayD<f32>)]) -> Result<()> {
    let mut w = NpzWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, a) in arrays {
        w.add_array(*name, a)?;
    }
    let bytes = w.finish()?.into_inner();
    tabpfn_weights::files::write_atomic(path, &bytes)?;
    Ok(())
}
