//! Reader for torch's zip checkpoint format (`torch.save` since 1.6).

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use crate::dtype::element_f32;
use crate::pickle::{unpickle_within, TensorRef, Value};
use crate::{Checkpoint, Format, Tensor32, WeightsError};

/// Magic of torch's legacy (pre-zip) serialisation: the pickled int 0x1950a86a20f9469cfc6c,
/// i.e. PROTO 2 (`80 02`), LONG1 of 10 bytes (`8a 0a`), then the little-endian bytes.
const LEGACY_MAGIC: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];

/// Whether `bytes` start like a legacy (pre-1.6) `torch.save` file.
pub(crate) fn is_legacy(bytes: &[u8]) -> bool {
    bytes.starts_with(&LEGACY_MAGIC)
}

/// Decompressed bytes a checkpoint archive may hold in all, beyond this multiple of its
/// own size: torch stores weights uncompressed (1:1), so more is a zip bomb.
pub const MAX_INFLATION: u64 = 16;

/// Decompressed bytes every archive may hold regardless of its size.
pub const BASE_INFLATED_BYTES: u64 = 64 << 20;

/// The largest tensor this reader builds (elements): 2³² f32 values (16 GiB), beyond any
/// TabPFN weight.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 32;

/// How many times over the state_dict may read its storages (as f32): tensors may share a
/// storage (slices, tied weights) and f16/bf16 storages double in size, but a dict of many
/// entries re-using one large view is a memory bomb.
pub const MAX_VIEW_AMPLIFICATION: u64 = 4;

/// f32 bytes the state_dict's tensors may hold beyond that multiple (small views).
pub const BASE_VIEW_BYTES: u64 = 1 << 20;

/// The highest tensor rank accepted (TabPFN weights have rank ≤ 4).
pub const MAX_RANK: usize = 16;

fn zip_err(path: &Path, e: impl std::fmt::Display) -> WeightsError {
    WeightsError::Zip {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads a torch zip checkpoint held in `bytes` (read from `path`).
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Checkpoint, WeightsError> {
    if !bytes.starts_with(b"PK\x03\x04") {
        let reason = if is_legacy(bytes) {
            "legacy (pre-1.6, non-zip) torch format; re-save it with a current torch.save".into()
        } else {
            "neither a zip archive (torch .ckpt) nor a .safetensors file".into()
        };
        return Err(WeightsError::NotACheckpoint {
            path: path.to_path_buf(),
            reason,
        });
    }
    let mut inflate_budget =
        BASE_INFLATED_BYTES.saturating_add(MAX_INFLATION.saturating_mul(bytes.len() as u64));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_err(path, e))?;
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    let pkl = names
        .iter()
        .find(|n| n.ends_with("data.pkl") && n.matches('/').count() <= 1)
        .cloned()
        .ok_or_else(|| WeightsError::NotACheckpoint {
            path: path.to_path_buf(),
            reason: "zip archive without a `<name>/data.pkl` entry".into(),
        })?;
    let prefix = pkl.trim_end_matches("data.pkl").to_string();

    let mut read_entry = |name: &str| -> Result<Option<Vec<u8>>, WeightsError> {
        let mut f = match zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(zip_err(path, e)),
        };
        // the header's size is a claim, not a fact: reserve at most what is left of the
        // budget and read no more than that
        let claimed = f.size();
        if claimed > inflate_budget {
            return Err(zip_err(
                path,
                format!(
                    "entry `{name}` claims {claimed} bytes, more than the {inflate_budget} bytes \
                     left of this archive's decompression budget ({MAX_INFLATION} × its size + \
                     {BASE_INFLATED_BYTES}); refusing a zip bomb"
                ),
            ));
        }
        let mut buf = Vec::with_capacity(claimed as usize);
        (&mut f)
            .take(inflate_budget.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| zip_err(path, format!("{name}: {e}")))?;
        let got = buf.len() as u64;
        if got > inflate_budget {
            return Err(zip_err(
                path,
                format!(
                    "entry `{name}` inflates beyond the archive's decompression budget \
                     ({MAX_INFLATION} × its size + {BASE_INFLATED_BYTES} bytes); refusing a zip bomb"
                ),
            ));
        }
        if got != claimed {
            return Err(zip_err(
                path,
                format!("entry `{name}` holds {got} bytes, its header claims {claimed}"),
            ));
        }
        inflate_budget -= got;
        Ok(Some(buf))
    };

    let big_endian = match read_entry(&format!("{prefix}byteorder"))? {
        None => false,
        Some(b) => match String::from_utf8_lossy(&b).trim() {
            "little" => false,
            "big" => true,
            other => {
                return Err(WeightsError::NotACheckpoint {
                    path: path.to_path_buf(),
                    reason: format!("unknown byteorder `{other}`"),
                })
            }
        },
    };
    let pickle = read_entry(&pkl)?.unwrap_or_default();
    let root = unpickle_within(&pickle, pickle.len().min(bytes.len()))?;
    if root.as_dict().is_none() {
        return Err(WeightsError::NotACheckpoint {
            path: path.to_path_buf(),
            reason: format!("the pickled object is a {}, expected a dict", root.kind()),
        });
    }

    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let (mut storage_bytes, mut view_bytes) = (0u64, 0u64);
    let mut load_tensor = |name: &str, t: &TensorRef| -> Result<Tensor32, WeightsError> {
        if !storages.contains_key(&t.storage.key) {
            let data =
                read_entry(&format!("{prefix}data/{}", t.storage.key))?.ok_or_else(|| {
                    WeightsError::Tensor {
                        name: name.to_string(),
                        reason: format!(
                            "storage `data/{}` is missing from the archive",
                            t.storage.key
                        ),
                    }
                })?;
            storage_bytes += data.len() as u64;
            storages.insert(t.storage.key.clone(), data);
        }
        // `gather` bounds one view by its storage; the sum over the dict is bounded here
        let tensor = gather(name, t, &storages[&t.storage.key], big_endian)?;
        view_bytes = view_bytes.saturating_add(4 * tensor.data.len() as u64);
        let allowed = BASE_VIEW_BYTES.saturating_add(MAX_VIEW_AMPLIFICATION * storage_bytes);
        if view_bytes > allowed {
            return Err(WeightsError::Tensor {
                name: name.to_string(),
                reason: format!(
                    "the state_dict's tensors reach {view_bytes} bytes as f32, more than \
                     {MAX_VIEW_AMPLIFICATION} × the {storage_bytes} bytes of their storages + \
                     {BASE_VIEW_BYTES}; views re-used this often are not a checkpoint"
                ),
            });
        }
        Ok(tensor)
    };

    let mut ckpt = Checkpoint::empty(Format::TorchZip);
    for (k, v) in root.as_dict().unwrap_or_default() {
        let Value::Str(key) = k else {
            return Err(WeightsError::Pickle(format!(
                "top-level key {k:?} is not a string"
            )));
        };
        match key.as_str() {
            "state_dict" => {
                let entries = v.as_dict().ok_or_else(|| WeightsError::WrongType {
                    key: "state_dict".into(),
                    found: v.kind().into(),
                    expected: "a dict of tensors".into(),
                })?;
                for (name, t) in entries {
                    let Value::Str(name) = name else {
                        return Err(WeightsError::Pickle(format!(
                            "state_dict key {name:?} is not a string"
                        )));
                    };
                    let Value::Tensor(tref) = t else {
                        return Err(WeightsError::WrongType {
                            key: format!("state_dict.{name}"),
                            found: t.kind().into(),
                            expected: "a tensor".into(),
                        });
                    };
                    let tensor = load_tensor(name, tref)?;
                    *ckpt
                        .info
                        .source_dtypes
                        .entry(tref.storage.dtype.name().to_string())
                        .or_default() += 1;
                    ckpt.tensors.push((name.clone(), tensor));
                }
                ckpt.has_state_dict = true;
            }
            other => {
                let json = crate::json::to_json(v).map_err(|reason| WeightsError::WrongType {
                    key: other.to_string(),
                    found: reason,
                    expected: "plain data (dict, list, str, number, bool, None)".into(),
                })?;
                ckpt.metadata.insert(other.to_string(), json);
            }
        }
    }
    ckpt.finish(path)
}

/// Copies a (possibly strided, possibly offset) view out of a raw storage, as f32.
fn gather(
    name: &str,
    t: &TensorRef,
    raw: &[u8],
    big_endian: bool,
) -> Result<Tensor32, WeightsError> {
    let terr = |reason: String| WeightsError::Tensor {
        name: name.to_string(),
        reason,
    };
    let es = t.storage.dtype.size();
    let available = raw.len() / es;
    if available < t.storage.numel {
        return Err(terr(format!(
            "storage `data/{}` holds {} bytes, the pickle declares {} elements of {} bytes",
            t.storage.key,
            raw.len(),
            t.storage.numel,
            es
        )));
    }
    if t.size.len() > MAX_RANK {
        return Err(terr(format!(
            "rank {} exceeds the limit of {MAX_RANK}",
            t.size.len()
        )));
    }
    let numel = t
        .size
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
        .ok_or_else(|| {
            terr(format!(
                "size {:?} exceeds the limit of {MAX_TENSOR_ELEMENTS} elements",
                t.size
            ))
        })?;
    // a view never holds more elements than its storage: weights are never expanded
    // (stride-0) tensors, and this bounds memory by the file's own contents
    if numel > t.storage.numel {
        return Err(terr(format!(
            "view of size {:?} has {numel} elements, more than its storage's {}; expanded \
             (stride-0) views are not weights",
            t.size, t.storage.numel
        )));
    }
    if numel > 0 {
        let last = t
            .size
            .iter()
            .zip(&t.stride)
            .try_fold(t.offset, |acc, (&s, &st)| {
                (s - 1).checked_mul(st).and_then(|x| acc.checked_add(x))
            });
        match last {
            Some(last) if last < t.storage.numel => {}
            _ => {
                return Err(terr(format!(
                    "view (offset {}, size {:?}, stride {:?}) reaches beyond its storage of {} \
                     elements",
                    t.offset, t.size, t.stride, t.storage.numel
                )))
            }
        }
    }
    let read = |i: usize| element_f32(t.storage.dtype, raw, i, big_endian);
    let mut data = Vec::with_capacity(numel);
    let rank = t.size.len();
    let mut idx = vec![0usize; rank];
    for _ in 0..numel {
        let off = t.offset + idx.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        data.push(read(off));
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < t.size[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor32 {
        shape: t.size.clone(),
        data,
    })
}
