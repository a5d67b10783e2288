//! Element types of stored tensors and the one decoder of their bytes, for every format
//! the workspace reads (torch storages, safetensors checkpoints, caches and saved fits).

use crate::WeightsError;

/// A floating-point element type a tensor can be stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dtype {
    F32,
    F64,
    F16,
    Bf16,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
            Self::F16 | Self::Bf16 => 2,
        }
    }

    /// Torch's name for the dtype.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F64 => "float64",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }

    /// The safetensors dtype of the same name, if it is one of these.
    pub fn from_safetensors(d: safetensors::Dtype) -> Option<Self> {
        Some(match d {
            safetensors::Dtype::F32 => Self::F32,
            safetensors::Dtype::F64 => Self::F64,
            safetensors::Dtype::F16 => Self::F16,
            safetensors::Dtype::BF16 => Self::Bf16,
            _ => return None,
        })
    }

    /// Element `i` of `bytes` (little-endian unless `big_endian`) as f64. The caller has
    /// checked that `bytes` holds element `i`.
    #[inline]
    fn read(self, bytes: &[u8], i: usize, big_endian: bool) -> f64 {
        let es = self.size();
        let mut a = [0u8; 8];
        a[..es].copy_from_slice(&bytes[i * es..(i + 1) * es]);
        if big_endian {
            a[..es].reverse();
        }
        match self {
            Self::F32 => f32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            Self::F64 => f64::from_le_bytes(a),
            Self::F16 => half::f16::from_le_bytes([a[0], a[1]]).to_f64(),
            Self::Bf16 => half::bf16::from_le_bytes([a[0], a[1]]).to_f64(),
        }
    }
}

fn length_error(what: &str, dtype: Dtype, len: usize) -> WeightsError {
    WeightsError::Tensor {
        name: what.to_string(),
        reason: format!(
            "{len} bytes is not a whole number of {} elements ({} bytes each)",
            dtype.name(),
            dtype.size()
        ),
    }
}

/// Decodes a whole buffer of little-endian `dtype` elements to f32 (`what` names it in
/// errors).
pub fn decode_f32(what: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, WeightsError> {
    if !bytes.len().is_multiple_of(dtype.size()) {
        return Err(length_error(what, dtype, bytes.len()));
    }
    let n = bytes.len() / dtype.size();
    Ok((0..n).map(|i| dtype.read(bytes, i, false) as f32).collect())
}

/// Decodes a whole buffer of little-endian `dtype` elements to f64 (`what` names it in
/// errors).
pub fn decode_f64(what: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f64>, WeightsError> {
    if !bytes.len().is_multiple_of(dtype.size()) {
        return Err(length_error(what, dtype, bytes.len()));
    }
    let n = bytes.len() / dtype.size();
    Ok((0..n).map(|i| dtype.read(bytes, i, false)).collect())
}

/// Element `i` of a raw storage as f32 (torch storages may be big-endian). Panics if
/// `bytes` does not hold element `i`: callers bound-check the view first.
#[inline]
pub(crate) fn element_f32(dtype: Dtype, bytes: &[u8], i: usize, big_endian: bool) -> f32 {
    dtype.read(bytes, i, big_endian) as f32
}

/// Little-endian bytes of f32 values.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes of f64 values.
pub fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_round_trips_its_values() {
        let v = [1.5f32, -2.25, 0.0, 65504.0];
        assert_eq!(decode_f32("t", Dtype::F32, &f32_bytes(&v)).unwrap(), v);
        let w = [1.5f64, -2.25, 1e300];
        assert_eq!(decode_f64("t", Dtype::F64, &f64_bytes(&w)).unwrap(), w);
        let h: Vec<u8> = v
            .iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect();
        assert_eq!(decode_f32("t", Dtype::F16, &h).unwrap(), v);
        let b: Vec<u8> = v
            .iter()
            .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
            .collect();
        assert_eq!(decode_f32("t", Dtype::Bf16, &b).unwrap()[..3], v[..3]);
    }

    #[test]
    fn a_ragged_buffer_is_an_error() {
        let e = decode_f32("layers.0.k", Dtype::F32, &[0u8; 7]).unwrap_err();
        assert!(e.to_string().contains("layers.0.k"), "{e}");
    }
}
