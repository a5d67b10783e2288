use burn::tensor::{Device, Tensor, TensorData};

use crate::{check_shape, AttentionError, Result};

/// Keys and values of one attention call, kept so that later queries can attend to them
/// without recomputing the projection ("fit once, predict many").
///
/// Stored head-major, ready for the attention kernels: `k: [batch, heads, seq_kv, d_k]`,
/// `v: [batch, heads, seq_kv, d_v]`, where `heads` is either the module's K/V head count or
/// 1 (head 0 only, as the reference caches for the items attention of test rows).
///
/// The cache lives where the path that made it runs: as Burn tensors on a device, or as host
/// buffers for the CPU kernels ([`HostKv`]) — one copy either way. Each path reads the
/// other's form too, converting on the way.
#[derive(Debug, Clone)]
pub struct KvCache {
    storage: Storage,
}

// a cache is one per layer: the size difference of the variants does not matter
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Storage {
    Device { k: Tensor<4>, v: Tensor<4> },
    Host(HostKv),
}

/// K/V as host buffers, row-major `k [B, Hc, S, Dk]` and `v [B, Hc, S, Dv]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostKv {
    k: Vec<f32>,
    v: Vec<f32>,
    /// `[B, Hc, S, Dk]`.
    shape: [usize; 4],
    dv: usize,
}

fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| AttentionError::Config(format!("K/V shape {shape:?} overflows usize")))
}

impl HostKv {
    /// From row-major buffers of `k [B, Hc, S, Dk]` and `v [B, Hc, S, dv]`.
    pub fn new(k: Vec<f32>, v: Vec<f32>, shape: [usize; 4], dv: usize) -> Result<Self> {
        let [b, h, s, _] = shape;
        let nk = checked_numel(&shape)?;
        let nv = checked_numel(&[b, h, s, dv])?;
        if k.len() != nk || v.len() != nv {
            return Err(AttentionError::Shape {
                tensor: "kv_cache".into(),
                expected: format!("k {shape:?} ({nk} values), v [{b}, {h}, {s}, {dv}] ({nv})"),
                found: vec![k.len(), v.len()],
            });
        }
        Ok(Self { k, v, shape, dv })
    }

    /// Keys, row-major `[B, Hc, S, Dk]`.
    pub fn keys(&self) -> &[f32] {
        &self.k
    }

    /// Values, row-major `[B, Hc, S, Dv]`.
    pub fn values(&self) -> &[f32] {
        &self.v
    }

    /// `[B, Hc, S, Dk]`.
    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }

    /// Cached positions S.
    pub fn len(&self) -> usize {
        self.shape[2]
    }

    /// True when no position is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Head 0 of batch entry `b`: `(k [S, Dk], v [S, Dv])`.
    pub fn column(&self, b: usize) -> (&[f32], &[f32]) {
        let [_, h, s, dk] = self.shape;
        let (sk, sv) = (h * s * dk, h * s * self.dv);
        (
            &self.k[b * sk..b * sk + s * dk],
            &self.v[b * sv..b * sv + s * self.dv],
        )
    }

    fn narrow_batch(&self, start: usize, len: usize) -> Self {
        let [_, h, s, dk] = self.shape;
        let (sk, sv) = (h * s * dk, h * s * self.dv);
        Self {
            k: self.k[start * sk..(start + len) * sk].to_vec(),
            v: self.v[start * sv..(start + len) * sv].to_vec(),
            shape: [len, h, s, dk],
            dv: self.dv,
        }
    }
}

impl KvCache {
    /// Builds a cache from head-major K `[B, Hc, S, Dk]` and V `[B, Hc, S, Dv]` tensors.
    pub fn new(k: Tensor<4>, v: Tensor<4>) -> Result<Self> {
        let [b, h, s, _] = k.dims();
        check_shape("v", &v.dims(), &[Some(b), Some(h), Some(s), None])?;
        Ok(Self {
            storage: Storage::Device { k, v },
        })
    }

    /// A cache of host buffers (the CPU kernels' form).
    pub fn from_host(kv: HostKv) -> Self {
        Self {
            storage: Storage::Host(kv),
        }
    }

    /// Builds a cache from the reference's `_kv_cache` layout `[B, S, 2, Hc, D]`.
    pub fn from_reference_layout(kv: Tensor<5>) -> Result<Self> {
        let [b, s, two, h, d] = kv.dims();
        check_shape(
            "kv_cache",
            &[b, s, two, h, d],
            &[None, None, Some(2), None, None],
        )?;
        let k = kv
            .clone()
            .narrow(2, 0, 1)
            .reshape([b, s, h, d])
            .swap_dims(1, 2);
        let v = kv.narrow(2, 1, 1).reshape([b, s, h, d]).swap_dims(1, 2);
        Self::new(k, v)
    }

    /// The reference's `_kv_cache` layout `[B, S, 2, Hc, D]` on `device`; needs `d_k == d_v`.
    pub fn to_reference_layout(&self, device: &Device) -> Result<Tensor<5>> {
        let [b, h, s, dk] = self.dims();
        let dv = self.d_v();
        if dk != dv {
            return Err(AttentionError::Config(format!(
                "the stacked [B, S, 2, H, D] cache layout needs d_k == d_v (got {dk} and {dv})"
            )));
        }
        let (k, v) = self.tensors(device);
        let k = k.swap_dims(1, 2).reshape([b, s, 1, h, dk]);
        let v = v.swap_dims(1, 2).reshape([b, s, 1, h, dv]);
        Ok(Tensor::cat(vec![k, v], 2))
    }

    /// `[B, Hc, S, Dk]`.
    pub fn dims(&self) -> [usize; 4] {
        match &self.storage {
            Storage::Device { k, .. } => k.dims(),
            Storage::Host(h) => h.shape,
        }
    }

    /// Value head size Dv.
    pub fn d_v(&self) -> usize {
        match &self.storage {
            Storage::Device { v, .. } => v.dims()[3],
            Storage::Host(h) => h.dv,
        }
    }

    /// Batch size B.
    pub fn batch(&self) -> usize {
        self.dims()[0]
    }

    /// Number of cached heads Hc.
    pub fn heads(&self) -> usize {
        self.dims()[1]
    }

    /// Number of cached positions (rows attended to).
    pub fn len(&self) -> usize {
        self.dims()[2]
    }

    /// True when no position is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// K and V as tensors on `device` (uploaded when the cache holds host buffers).
    pub fn tensors(&self, device: &Device) -> (Tensor<4>, Tensor<4>) {
        match &self.storage {
            Storage::Device { k, v } => (k.clone(), v.clone()),
            Storage::Host(h) => {
                let [b, hc, s, dk] = h.shape;
                (
                    Tensor::from_data(TensorData::new(h.k.clone(), [b, hc, s, dk]), device),
                    Tensor::from_data(TensorData::new(h.v.clone(), [b, hc, s, h.dv]), device),
                )
            }
        }
    }

    /// The host form: borrowed when the cache holds host buffers, else read back from the
    /// device.
    pub fn host(&self) -> Result<std::borrow::Cow<'_, HostKv>> {
        match &self.storage {
            Storage::Host(h) => Ok(std::borrow::Cow::Borrowed(h)),
            Storage::Device { k, v } => {
                let dv = v.dims()[3];
                let shape = k.dims();
                Ok(std::borrow::Cow::Owned(HostKv::new(
                    crate::read_back(k.clone(), "cached keys")?,
                    crate::read_back(v.clone(), "cached values")?,
                    shape,
                    dv,
                )?))
            }
        }
    }

    /// The cache restricted to heads `start..start + len` (head 0 alone: `narrow_heads(0, 1)`).
    pub fn narrow_heads(&self, start: usize, len: usize, device: &Device) -> Self {
        let (k, v) = self.tensors(device);
        Self {
            storage: Storage::Device {
                k: k.narrow(1, start, len),
                v: v.narrow(1, start, len),
            },
        }
    }

    /// The cache restricted to batch entries `start..start + len`, in the same form.
    pub fn narrow_batch(&self, start: usize, len: usize) -> Self {
        let storage = match &self.storage {
            Storage::Device { k, v } => Storage::Device {
                k: k.clone().narrow(0, start, len),
                v: v.clone().narrow(0, start, len),
            },
            Storage::Host(h) => Storage::Host(h.narrow_batch(start, len)),
        };
        Self { storage }
    }
}
