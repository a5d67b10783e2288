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

/// Writes arrays to `path` via a temporary file and a rename.
pub fn write_atomic(path: &Path, arrays: &[(&str, ArrayD<f32>)]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{}: output directory `{}` does not exist",
            path.display(),
            dir.display()
        );
    }
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let mut w = NpzWriter::new(File::create(&tmp)?);
        for (name, a) in arrays {
            w.add_array(*name, a)?;
        }
        w.finish()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
