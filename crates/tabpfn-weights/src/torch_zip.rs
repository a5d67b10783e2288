//! Reader for torch's zip checkpoint format (`torch.save` since 1.6).

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use crate::pickle::{unpickle, StorageDtype, TensorRef, Value};
use crate::{Checkpoint, Format, Tensor32, WeightsError};

/// Magic of torch's legacy (pre-zip) serialisation: a pickled int 0x1950a86a20f9469cfc6c.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

fn zip_err(path: &Path, e: impl std::fmt::Display) -> WeightsError {
    WeightsError::Zip {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Reads a torch zip checkpoint held in `bytes` (read from `path`).
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Checkpoint, WeightsError> {
    if !bytes.starts_with(b"PK\x03\x04") {
        let reason = if bytes.len() > 12 && bytes[2..12] == LEGACY_MAGIC {
            "legacy (pre-1.6, non-zip) torch format; re-save it with a current torch.save".into()
        } else {
            "not a zip archive (expected a torch .ckpt or a .safetensors file)".into()
        };
        return Err(WeightsError::NotACheckpoint {
            path: path.to_path_buf(),
            reason,
        });
    }
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
        let mut buf = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut buf)
            .map_err(|e| zip_err(path, format!("{name}: {e}")))?;
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
    let root = unpickle(&pickle)?;
    if root.as_dict().is_none() {
        return Err(WeightsError::NotACheckpoint {
            path: path.to_path_buf(),
            reason: format!("the pickled object is a {}, expected a dict", root.kind()),
        });
    }

    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
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
            storages.insert(t.storage.key.clone(), data);
        }
        let raw = &storages[&t.storage.key];
        gather(name, t, raw, big_endian)
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
    let numel: usize = t.size.iter().product();
    if numel > 0 {
        let last = t.offset
            + t.size
                .iter()
                .zip(&t.stride)
                .map(|(s, st)| (s - 1) * st)
                .sum::<usize>();
        if last >= t.storage.numel {
            return Err(terr(format!(
                "view (offset {}, size {:?}, stride {:?}) reaches element {last}, storage has {}",
                t.offset, t.size, t.stride, t.storage.numel
            )));
        }
    }
    let read = |i: usize| -> f32 {
        let b = &raw[i * es..(i + 1) * es];
        let mut a = [0u8; 8];
        a[..es].copy_from_slice(b);
        if big_endian {
            a[..es].reverse();
        }
        match t.storage.dtype {
            StorageDtype::F32 => f32::from_le_bytes([a[0], a[1], a[2], a[3]]),
            StorageDtype::F64 => f64::from_le_bytes(a) as f32,
            StorageDtype::F16 => half::f16::from_le_bytes([a[0], a[1]]).to_f32(),
            StorageDtype::Bf16 => half::bf16::from_le_bytes([a[0], a[1]]).to_f32(),
        }
    };
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
