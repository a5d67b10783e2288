use burn::tensor::Tensor;

use crate::{check_shape, AttentionError, Result};

/// Keys and values of one attention call, kept so that later queries can attend to them
/// without recomputing the projection ("fit once, predict many").
///
/// Stored head-major, ready for the attention kernel:
/// `k: [batch, heads, seq_kv, d_k]`, `v: [batch, heads, seq_kv, d_v]`, where `heads` is
/// either the module's K/V head count or 1 (head 0 only, as the reference caches for the
/// items attention of test rows).
#[derive(Debug, Clone)]
pub struct KvCache {
    pub(crate) k: Tensor<4>,
    pub(crate) v: Tensor<4>,
}

impl KvCache {
    /// Builds a cache from head-major K `[B, Hc, S, Dk]` and V `[B, Hc, S, Dv]`.
    pub fn new(k: Tensor<4>, v: Tensor<4>) -> Result<Self> {
        let [b, h, s, _] = k.dims();
        check_shape("v", &v.dims(), &[Some(b), Some(h), Some(s), None])?;
        Ok(Self { k, v })
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
        Ok(Self { k, v })
    }

    /// The reference's `_kv_cache` layout `[B, S, 2, Hc, D]`; needs `d_k == d_v`.
    pub fn to_reference_layout(&self) -> Result<Tensor<5>> {
        let [b, h, s, dk] = self.k.dims();
        let dv = self.v.dims()[3];
        if dk != dv {
            return Err(AttentionError::Config(format!(
                "the stacked [B, S, 2, H, D] cache layout needs d_k == d_v (got {dk} and {dv})"
            )));
        }
        let k = self.k.clone().swap_dims(1, 2).reshape([b, s, 1, h, dk]);
        let v = self.v.clone().swap_dims(1, 2).reshape([b, s, 1, h, dv]);
        Ok(Tensor::cat(vec![k, v], 2))
    }

    /// Keys `[B, Hc, S, Dk]`.
    pub fn keys(&self) -> &Tensor<4> {
        &self.k
    }

    /// Values `[B, Hc, S, Dv]`.
    pub fn values(&self) -> &Tensor<4> {
        &self.v
    }

    /// Batch size B.
    pub fn batch(&self) -> usize {
        self.k.dims()[0]
    }

    /// Number of cached heads Hc.
    pub fn heads(&self) -> usize {
        self.k.dims()[1]
    }

    /// Number of cached positions (rows attended to).
    pub fn len(&self) -> usize {
        self.k.dims()[2]
    }

    /// True when no position is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cache restricted to heads `start..start + len` (head 0 alone: `narrow_heads(0, 1)`).
    pub fn narrow_heads(&self, start: usize, len: usize) -> Self {
        Self {
            k: self.k.clone().narrow(1, start, len),
            v: self.v.clone().narrow(1, start, len),
        }
    }

    /// The cache restricted to batch entries `start..start + len`.
    pub fn narrow_batch(&self, start: usize, len: usize) -> Self {
        Self {
            k: self.k.clone().narrow(0, start, len),
            v: self.v.clone().narrow(0, start, len),
        }
    }
}
