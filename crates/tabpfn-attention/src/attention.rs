use burn::tensor::module::{attention, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::Tensor;

use crate::{check_shape, AttentionError, KvCache, Result};

/// Sizes of one attention module (the reference's `MultiHeadAttention.__init__` arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionConfig {
    /// Model width E (input and output size).
    pub emsize: usize,
    /// Query heads H.
    pub nhead: usize,
    /// K/V heads; `nhead / share_kv_across_n_heads` in the reference.
    pub nhead_kv: usize,
    /// Key (and query) head size.
    pub d_k: usize,
    /// Value head size.
    pub d_v: usize,
    /// Scale of QKᵀ; `None` is 1/√d_k.
    pub softmax_scale: Option<f64>,
    /// Dropout probability as configured; never applied (inference only).
    pub dropout_p: f64,
}

impl AttentionConfig {
    /// The TabPFN v2 layout: `d_k = d_v = E / H`, one K/V head per query head.
    pub fn standard(emsize: usize, nhead: usize) -> Result<Self> {
        if nhead == 0 || !emsize.is_multiple_of(nhead) {
            return Err(AttentionError::Config(format!(
                "emsize ({emsize}) must be a positive multiple of nhead ({nhead})"
            )));
        }
        Ok(Self {
            emsize,
            nhead,
            nhead_kv: nhead,
            d_k: emsize / nhead,
            d_v: emsize / nhead,
            softmax_scale: None,
            dropout_p: 0.0,
        })
    }

    fn validate(&self) -> Result<()> {
        if self.nhead == 0 || self.nhead_kv == 0 || !self.nhead.is_multiple_of(self.nhead_kv) {
            return Err(AttentionError::Config(format!(
                "nhead ({}) must be a positive multiple of nhead_kv ({})",
                self.nhead, self.nhead_kv
            )));
        }
        if self.emsize == 0 || self.d_k == 0 || self.d_v == 0 {
            return Err(AttentionError::Config(format!(
                "emsize, d_k and d_v must be positive (got {}, {}, {})",
                self.emsize, self.d_k, self.d_v
            )));
        }
        Ok(())
    }

    fn scale(&self) -> f64 {
        self.softmax_scale
            .unwrap_or_else(|| (1.0 / self.d_k as f64).sqrt())
    }
}

/// The attention's parameters exactly as the checkpoint stores them.
///
/// Exactly one of `w_qkv` or `w_q` is set, as in the reference's `set_parameters`:
/// * `w_qkv [3, H, Dk, E]` (every TabPFN v2 checkpoint), or
/// * `w_q [1, H, Dk, E]` with either `w_kv [2, Hkv, Dk, E]` or `w_k [Hkv, Dk, E]` +
///   `w_v [Hkv, Dv, E]`.
///
/// `w_out` is `[H, Dv, E]`.
#[derive(Debug, Clone, Default)]
pub struct AttentionWeights {
    pub w_qkv: Option<Tensor<4>>,
    pub w_q: Option<Tensor<4>>,
    pub w_kv: Option<Tensor<4>>,
    pub w_k: Option<Tensor<3>>,
    pub w_v: Option<Tensor<3>>,
    pub w_out: Option<Tensor<3>>,
}

/// Which K/V heads a projection produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvHeads {
    /// All `nhead_kv` heads (self-attention and plain cross-attention).
    All,
    /// Head 0 only, later shared by every query head (`reuse_first_head_kv` /
    /// `only_cache_first_head_kv` in the reference).
    First,
}

/// Which implementation computes `softmax(q·kᵀ·scale)·v` once the heads are projected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AttentionCore {
    /// Burn's `attention` op (the tested reference; its GPU backends pick a flash kernel
    /// when autotuned).
    #[default]
    Stock,
    /// The online-softmax CubeCL kernel of `tabpfn-cubecl` on cube (wgpu / cuda) devices
    /// when this build has a GPU feature and the head sizes fit it (≤ 64); Burn's op
    /// otherwise.
    Custom,
}

impl AttentionCore {
    /// Whether the custom kernel runs for these head sizes on `device`.
    pub fn is_custom_on(self, device: &burn::tensor::Device, d_k: usize, d_v: usize) -> bool {
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        {
            self == Self::Custom
                && tabpfn_cubecl::is_cube(device)
                && d_k <= tabpfn_cubecl::MAX_HEAD_DIM
                && d_v <= tabpfn_cubecl::MAX_HEAD_DIM
        }
        #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
        {
            let _ = (device, d_k, d_v);
            false
        }
    }
}

/// TabPFN's multi-head attention. Weights are kept as matmul-ready `[in, out]` matrices.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    config: AttentionConfig,
    /// `[E, H·Dk]`: column `h·Dk + d` is the query weight of head h, dim d.
    w_q: Tensor<2>,
    /// `[E, Hkv·Dk]`.
    w_k: Tensor<2>,
    /// `[E, Hkv·Dv]`.
    w_v: Tensor<2>,
    /// `[H·Dv, E]`.
    w_out: Tensor<2>,
}

/// The projection matrices copied to the host, row-major and matmul-ready, for the CPU
/// kernels: `w_q [E, H·Dk]`, `w_k [E, Hkv·Dk]`, `w_v [E, Hkv·Dv]`, `w_out [H·Dv, E]`.
#[derive(Debug, Clone)]
pub struct HostWeights {
    pub w_q: Vec<f32>,
    pub w_k: Vec<f32>,
    pub w_v: Vec<f32>,
    pub w_out: Vec<f32>,
}

/// `[heads, d, E]` (the checkpoint's contraction-last layout) → `[E, heads·d]`.
fn to_in_out(w: Tensor<3>) -> Tensor<2> {
    let [h, d, e] = w.dims();
    w.reshape([h * d, e]).transpose()
}

impl MultiHeadAttention {
    /// Builds the module from checkpoint tensors, checking every shape against `config`.
    pub fn new(config: AttentionConfig, weights: AttentionWeights) -> Result<Self> {
        config.validate()?;
        let AttentionConfig {
            emsize: e,
            nhead: h,
            nhead_kv: hkv,
            d_k: dk,
            d_v: dv,
            ..
        } = config;
        let w_out = weights
            .w_out
            .ok_or_else(|| AttentionError::Config("missing `_w_out`".into()))?;
        check_shape("_w_out", &w_out.dims(), &[Some(h), Some(dv), Some(e)])?;

        let (w_q, w_k, w_v) = match (weights.w_qkv, weights.w_q) {
            (Some(w_qkv), None) => {
                if weights.w_kv.is_some() || weights.w_k.is_some() || weights.w_v.is_some() {
                    return Err(AttentionError::Config(
                        "`_w_qkv` excludes `_w_kv`, `_w_k` and `_w_v`".into(),
                    ));
                }
                if dk != dv || hkv != h {
                    return Err(AttentionError::Config(format!(
                        "`_w_qkv` needs d_k == d_v and nhead_kv == nhead (got d_k {dk}, d_v {dv}, \
                         nhead {h}, nhead_kv {hkv})"
                    )));
                }
                check_shape(
                    "_w_qkv",
                    &w_qkv.dims(),
                    &[Some(3), Some(h), Some(dk), Some(e)],
                )?;
                let part = |i: usize| w_qkv.clone().narrow(0, i, 1).reshape([h, dk, e]);
                (part(0), part(1), part(2))
            }
            (None, Some(w_q)) => {
                check_shape("_w_q", &w_q.dims(), &[Some(1), Some(h), Some(dk), Some(e)])?;
                let w_q = w_q.reshape([h, dk, e]);
                match (weights.w_kv, weights.w_k, weights.w_v) {
                    (Some(w_kv), None, None) => {
                        if dk != dv {
                            return Err(AttentionError::Config(format!(
                                "`_w_kv` needs d_k == d_v (got {dk} and {dv})"
                            )));
                        }
                        check_shape(
                            "_w_kv",
                            &w_kv.dims(),
                            &[Some(2), Some(hkv), Some(dk), Some(e)],
                        )?;
                        let k = w_kv.clone().narrow(0, 0, 1).reshape([hkv, dk, e]);
                        let v = w_kv.narrow(0, 1, 1).reshape([hkv, dv, e]);
                        (w_q, k, v)
                    }
                    (None, Some(w_k), Some(w_v)) => {
                        check_shape("_w_k", &w_k.dims(), &[Some(hkv), Some(dk), Some(e)])?;
                        check_shape("_w_v", &w_v.dims(), &[Some(hkv), Some(dv), Some(e)])?;
                        (w_q, w_k, w_v)
                    }
                    _ => {
                        return Err(AttentionError::Config(
                            "with `_w_q`, give either `_w_kv` or both `_w_k` and `_w_v`".into(),
                        ))
                    }
                }
            }
            _ => {
                return Err(AttentionError::Config(
                    "give exactly one of `_w_qkv` and `_w_q`".into(),
                ))
            }
        };

        Ok(Self {
            w_q: to_in_out(w_q),
            w_k: to_in_out(w_k),
            w_v: to_in_out(w_v),
            w_out: w_out.reshape([h * dv, e]),
            config,
        })
    }

    /// The module's sizes.
    pub fn config(&self) -> &AttentionConfig {
        &self.config
    }

    /// The weights as host matrices (see [`HostWeights`]), for [`crate::cpu`].
    pub fn host_weights(&self) -> Result<HostWeights> {
        Ok(HostWeights {
            w_q: crate::read_back(self.w_q.clone(), "w_q")?,
            w_k: crate::read_back(self.w_k.clone(), "w_k")?,
            w_v: crate::read_back(self.w_v.clone(), "w_v")?,
            w_out: crate::read_back(self.w_out.clone(), "w_out")?,
        })
    }

    /// The softmax scale (`1/√d_k` unless the config sets one).
    pub fn softmax_scale(&self) -> f64 {
        self.config.scale()
    }

    fn check_input(&self, what: &str, x: &Tensor<3>) -> Result<()> {
        check_shape(what, &x.dims(), &[None, None, Some(self.config.emsize)])
    }

    /// Projects keys and values of `x_kv` (`[B, S_kv, E]`) into a [`KvCache`] with all K/V
    /// heads or head 0 only.
    pub fn project_kv(&self, x_kv: Tensor<3>, heads: KvHeads) -> Result<KvCache> {
        self.check_input("x_kv", &x_kv)?;
        let c = &self.config;
        let [b, s, _] = x_kv.dims();
        let hc = match heads {
            KvHeads::All => c.nhead_kv,
            KvHeads::First => 1,
        };
        let (w_k, w_v) = match heads {
            KvHeads::All => (self.w_k.clone(), self.w_v.clone()),
            KvHeads::First => (
                self.w_k.clone().narrow(1, 0, c.d_k),
                self.w_v.clone().narrow(1, 0, c.d_v),
            ),
        };
        let k = linear(x_kv.clone(), w_k, None)
            .reshape([b, s, hc, c.d_k])
            .swap_dims(1, 2);
        let v = linear(x_kv, w_v, None)
            .reshape([b, s, hc, c.d_v])
            .swap_dims(1, 2);
        KvCache::new(k, v)
    }

    /// Queries from `x` (`[B, S, E]`) attend to `kv`; returns `[B, S, E]` (without the
    /// residual). Query head h reads cached head `h / (H / Hc)`.
    ///
    /// With `query_chunk = Some(n)` the queries are processed `n` rows at a time, which
    /// bounds the score memory and gives the same result as one pass. With `None` the
    /// chunk is picked so that one score tensor stays within [`SCORE_BUDGET_BYTES`]
    /// (GPU backends cap buffer sizes; a single pass at (1000 train rows, 251 token
    /// columns) would need 6 GB of scores).
    pub fn attend(
        &self,
        x: Tensor<3>,
        kv: &KvCache,
        query_chunk: Option<usize>,
    ) -> Result<Tensor<3>> {
        self.attend_with(x, kv, query_chunk, AttentionCore::Stock)
    }

    /// [`Self::attend`] with the core chosen by `core`. The custom kernel holds no score
    /// matrix, so without a `query_chunk` it runs all queries in one pass.
    pub fn attend_with(
        &self,
        x: Tensor<3>,
        kv: &KvCache,
        query_chunk: Option<usize>,
        core: AttentionCore,
    ) -> Result<Tensor<3>> {
        self.check_input("x", &x)?;
        let c = &self.config;
        let [b, s, _] = x.dims();
        check_shape(
            "kv_cache.k",
            &kv.dims(),
            &[Some(b), None, None, Some(c.d_k)],
        )?;
        if kv.d_v() != c.d_v {
            return Err(AttentionError::Shape {
                tensor: "kv_cache.v".into(),
                expected: format!("head size {}", c.d_v),
                found: vec![kv.d_v()],
            });
        }
        let hc = kv.heads();
        if hc == 0 || !c.nhead.is_multiple_of(hc) {
            return Err(AttentionError::Config(format!(
                "cached K/V has {hc} heads, which does not divide nhead {}",
                c.nhead
            )));
        }
        if kv.is_empty() {
            return Err(AttentionError::Config(
                "attention over zero keys: the K/V source has no rows".into(),
            ));
        }
        let device = x.device();
        let custom = core.is_custom_on(&device, c.d_k, c.d_v);
        let query_chunk = if custom {
            // no score matrix to bound, only the kernel's query reach: `n` rows carry
            // `n · share` queries once the heads sharing a K/V head are folded in
            let cap = (custom_max_queries() / (c.nhead / hc)).max(1);
            match query_chunk {
                Some(n) => Some(n.min(cap)),
                None => (s > cap).then_some(cap),
            }
        } else {
            query_chunk.or_else(|| auto_query_chunk(b, c.nhead, s, kv.len(), SCORE_BUDGET_BYTES))
        };
        let (k, v) = kv.tensors(&device);
        match query_chunk {
            Some(n) if n > 0 && n < s => {
                let mut outs = Vec::with_capacity(s.div_ceil(n));
                let mut start = 0;
                while start < s {
                    let len = n.min(s - start);
                    outs.push(self.attend_once(x.clone().narrow(1, start, len), &k, &v, custom)?);
                    start += len;
                }
                Ok(Tensor::cat(outs, 1))
            }
            _ => self.attend_once(x, &k, &v, custom),
        }
    }

    fn attend_once(
        &self,
        x: Tensor<3>,
        k: &Tensor<4>,
        v: &Tensor<4>,
        custom: bool,
    ) -> Result<Tensor<3>> {
        let c = &self.config;
        let [b, s, _] = x.dims();
        let hc = k.dims()[1];
        let share = c.nhead / hc;
        // Query heads that share a K/V head are folded into the query sequence, so the
        // shared K/V is never repeated in memory: [B, S, Hc, share, Dk] → [B, Hc, S·share, Dk].
        let q = linear(x, self.w_q.clone(), None)
            .reshape([b, s, hc, share, c.d_k])
            .permute([0, 2, 1, 3, 4])
            .reshape([b, hc, s * share, c.d_k]);
        let o = if custom {
            custom_core(q, k, v, c.scale())?
        } else {
            self.stock_core(q, k, v)
        };
        let o = o
            .reshape([b, hc, s, share, c.d_v])
            .permute([0, 2, 1, 3, 4])
            .reshape([b, s, c.nhead * c.d_v]);
        Ok(linear(o, self.w_out.clone(), None))
    }

    /// Burn's attention op on `q [B, Hc, S', Dk]` against `k`, `v` (`[B, Hc, N, D]`).
    fn stock_core(&self, q: Tensor<4>, k: &Tensor<4>, v: &Tensor<4>) -> Tensor<4> {
        let c = &self.config;
        // Burn's GPU backends run their flash kernels only when `scale` is `None` (their
        // own 1/√d_k); any other scale is folded into q so that the flash path stays open.
        let default_scale = 1.0 / (c.d_k as f64).sqrt();
        let q = if c.scale() == default_scale {
            q
        } else {
            q * (c.scale() / default_scale)
        };
        let options = AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: false,
        };
        attention(q, k.clone(), v.clone(), None, None, options)
    }

    /// Plain attention: self-attention when `x_kv` is `None`, else cross-attention to
    /// `x_kv` (`[B, S_kv, E]`), with all K/V heads.
    pub fn forward(&self, x: Tensor<3>, x_kv: Option<Tensor<3>>) -> Result<Tensor<3>> {
        self.forward_with(x, x_kv, AttentionCore::Stock)
    }

    /// [`Self::forward`] with the core chosen by `core`.
    pub fn forward_with(
        &self,
        x: Tensor<3>,
        x_kv: Option<Tensor<3>>,
        core: AttentionCore,
    ) -> Result<Tensor<3>> {
        let kv = self.project_kv(x_kv.unwrap_or_else(|| x.clone()), KvHeads::All)?;
        self.attend_with(x, &kv, None, core)
    }
}

/// The custom kernel on `q`, `k`, `v` (`[B, Hc, ·, D]`); the caller checked that it applies
/// ([`AttentionCore::is_custom_on`]).
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn custom_core(q: Tensor<4>, k: &Tensor<4>, v: &Tensor<4>, scale: f64) -> Result<Tensor<4>> {
    tabpfn_cubecl::attention(q, k.clone(), v.clone(), scale as f32)
        .map_err(|e| AttentionError::Config(format!("custom attention kernel: {e}")))
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn custom_max_queries() -> usize {
    tabpfn_cubecl::MAX_QUERIES
}

#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
fn custom_max_queries() -> usize {
    usize::MAX
}

#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
fn custom_core(_: Tensor<4>, _: &Tensor<4>, _: &Tensor<4>, _: f64) -> Result<Tensor<4>> {
    Err(AttentionError::Config(
        "the custom attention kernel needs a build with the wgpu or cuda feature".into(),
    ))
}

/// The most bytes of attention scores one pass of [`MultiHeadAttention::attend`] holds when
/// the caller sets no query chunk: 1 GiB, under the per-buffer limits of GPU backends.
pub const SCORE_BUDGET_BYTES: usize = 1 << 30;

/// The query chunk that keeps the `f32` scores of `batch × heads` query blocks against
/// `keys` keys within `budget` bytes; `None` when all `queries` fit in one pass.
pub fn auto_query_chunk(
    batch: usize,
    heads: usize,
    queries: usize,
    keys: usize,
    budget: usize,
) -> Option<usize> {
    let per_query = batch
        .saturating_mul(heads)
        .saturating_mul(keys)
        .saturating_mul(std::mem::size_of::<f32>())
        .max(1);
    let fits = (budget / per_query).max(1);
    (fits < queries).then_some(fits)
}

#[cfg(test)]
mod tests {
    use super::auto_query_chunk;

    #[test]
    fn query_chunk_bounds_the_scores() {
        // (1000, 1000, 10): 26 columns × 6 heads × 1000 keys fit 1 GiB in one pass
        assert_eq!(auto_query_chunk(26, 6, 1000, 1000, 1 << 30), None);
        // (1000, 1000, 100): 251 columns need chunks of 178 queries (6.02 MB per query)
        let chunk = auto_query_chunk(251, 6, 1000, 1000, 1 << 30).unwrap();
        assert_eq!(chunk, (1usize << 30) / (251 * 6 * 1000 * 4));
        assert!(chunk * 251 * 6 * 1000 * 4 <= 1 << 30);
        // a budget below one query's scores still makes progress
        assert_eq!(auto_query_chunk(4, 2, 10, 100, 16), Some(1));
    }
}
