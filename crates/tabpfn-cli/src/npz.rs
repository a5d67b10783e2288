//! `.npz` input and output of `tabpfn-cli forward` (format: docs/forward-format.md).

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use ndarray::ArrayD;
use ndarray_npy::{NpzWriter, ReadNpyExt};

/// The largest `.npz` file `forward` reads: its tables are one network call's rows.
pub const MAX_NPZ_BYTES: u64 = 4 << 30;

/// Decompressed bytes an `.npz` may hold in all, beyond this multiple of its own size
/// (numpy's `savez_compressed` of float tables stays far below it).
pub const MAX_NPZ_INFLATION: u64 = 16;

/// Decompressed bytes every `.npz` may hold regardless of its size.
pub const BASE_NPZ_INFLATED: u64 = 64 << 20;

/// An `.npz` archive read whole (bounded), its arrays decoded on demand.
pub struct Npz {
    path: PathBuf,
    zip: zip::ZipArchive<Cursor<Vec<u8>>>,
    /// Decompressed bytes the archive may still produce.
    budget: u64,
}

impl Npz {
    /// Opens `path` (at most [`MAX_NPZ_BYTES`]).
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = tabpfn_weights::files::read_bounded(path, MAX_NPZ_BYTES, ".npz inputs")?;
        Self::from_bytes(path, bytes)
    }

    /// An archive held in `bytes` (read from `path`, which errors name).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let budget = BASE_NPZ_INFLATED.saturating_add(MAX_NPZ_INFLATION * bytes.len() as u64);
        let zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| anyhow!("{}: not a readable .npz file ({e})", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            zip,
            budget,
        })
    }

    /// Array `name` (float32 or float64, returned as f32). Its `.npy` header is checked
    /// against the bytes the entry really holds before anything is sized by it.
    ///
    /// # Shapes
    /// Whatever the file stores.
    pub fn read_f32(&mut self, name: &str) -> Result<ArrayD<f32>> {
        let p = self.path.display().to_string();
        let entry = format!("{name}.npy");
        let names: Vec<String> = self.zip.file_names().map(str::to_string).collect();
        if !names.contains(&entry) {
            let found: Vec<&str> = names.iter().map(|n| n.trim_end_matches(".npy")).collect();
            bail!("{p}: no array `{name}` (found: {})", found.join(", "));
        }
        let mut f = self
            .zip
            .by_name(&entry)
            .map_err(|e| anyhow!("{p}: array `{name}`: {e}"))?;
        if f.size() > self.budget {
            bail!(
                "{p}: array `{name}` claims {} bytes, more than the {} bytes left of the \
                 archive's decompression budget ({MAX_NPZ_INFLATION} × its size + \
                 {BASE_NPZ_INFLATED}); refusing a zip bomb",
                f.size(),
                self.budget
            );
        }
        let mut bytes = Vec::with_capacity(f.size() as usize);
        (&mut f)
            .take(self.budget.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| anyhow!("{p}: array `{name}`: {e}"))?;
        if bytes.len() as u64 > self.budget {
            bail!("{p}: array `{name}` inflates beyond the archive's decompression budget; refusing a zip bomb");
        }
        self.budget -= bytes.len() as u64;
        let header = NpyHeader::parse(&bytes).map_err(|e| anyhow!("{p}: array `{name}`: {e}"))?;
        let data = bytes.len() - header.data_start;
        let expected = header
            .shape
            .iter()
            .try_fold(header.item_bytes, |n, &d| n.checked_mul(d));
        if expected != Some(data) {
            bail!(
                "{p}: array `{name}`: its header claims shape {:?} of {}-byte values, but the \
                 entry holds {data} data bytes",
                header.shape,
                header.item_bytes
            );
        }
        let read = |e: ndarray_npy::ReadNpyError| anyhow!("{p}: array `{name}`: {e}");
        match header.item_bytes {
            4 => ArrayD::<f32>::read_npy(Cursor::new(&bytes)).map_err(read),
            _ => Ok(ArrayD::<f64>::read_npy(Cursor::new(&bytes))
                .map_err(read)?
                .mapv(|v| v as f32)),
        }
    }
}

/// What an `.npy` header says: float width, shape, where the data starts.
struct NpyHeader {
    item_bytes: usize,
    shape: Vec<usize>,
    data_start: usize,
}

impl NpyHeader {
    fn parse(b: &[u8]) -> std::result::Result<Self, String> {
        if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
            return Err("not an .npy array (bad magic)".into());
        }
        let (len, start): (usize, usize) = match b[6] {
            1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
            2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
            v => return Err(format!("unsupported .npy version {v}")),
        };
        let end = start
            .checked_add(len)
            .filter(|&e| e <= b.len())
            .ok_or("the .npy header runs past the end of the entry")?;
        let text =
            std::str::from_utf8(&b[start..end]).map_err(|_| "the .npy header is not text")?;
        let descr = field(text, "descr")
            .and_then(|v| v.split(['\'', '"']).nth(1))
            .ok_or("the .npy header has no `descr`")?;
        let item_bytes = match descr {
            "<f4" | ">f4" | "=f4" => 4,
            "<f8" | ">f8" | "=f8" => 8,
            other => return Err(format!("dtype `{other}`; expected float32 or float64")),
        };
        let shape_text = field(text, "shape")
            .and_then(|v| v.strip_prefix('('))
            .and_then(|v| v.split(')').next())
            .ok_or("the .npy header has no `shape`")?;
        let shape = shape_text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<usize>()
                    .map_err(|_| format!("bad shape entry `{s}`"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Self {
            item_bytes,
            shape,
            data_start: end,
        })
    }
}

/// The text after `'key':` in an `.npy` header dict.
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let i = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[i + key.len() + 2..];
    Some(rest.trim_start().strip_prefix(':')?.trim_start())
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
