//! The CPU path of the layer stack: the same maths as [`crate::layer`], on host `f32`
//! buffers with the hand-written kernels of [`tabpfn_attention::kernels`] and [`ops`].
//!
//! Why a separate path: burn-flex's generic ops run TabPFN's shapes at a fraction of this
//! CPU's matmul rate (exact GELU alone costs more than the MLP's matmuls; attention scores
//! go through several materialised tensors). Here each sub-layer is one fused pass over
//! cache-sized blocks: projection → attention → output projection → residual + LayerNorm.
//! The Burn path stays in the crate as the reference (`Kernels::Stock`) and runs on every
//! other device.
//!
//! Layout: the state is `[R, T, E]` row-major (rows, tokens, width), as on the Burn side.

mod layer;
pub mod ops;

use tabpfn_attention::MultiHeadAttention;

use crate::layer::PerFeatureEncoderLayer;
use crate::nn::to_vec;

pub use layer::{HeadZeroKv, HostKv};

/// One attention module's weights for the CPU path.
#[derive(Debug, Clone)]
pub(crate) struct HostAttention {
    /// `[E, 3·H·D]`: query, key and value projections side by side (one product for all).
    w_qkv: Vec<f32>,
    /// `[H·D, E]`.
    w_out: Vec<f32>,
    heads: usize,
    d: usize,
    scale: f32,
}

impl HostAttention {
    /// `None` when the module is not TabPFN v2's layout (one K/V head per query head and
    /// `d_k == d_v`); the caller then keeps the Burn path.
    fn new(a: &MultiHeadAttention) -> Option<Self> {
        let c = a.config();
        if c.nhead_kv != c.nhead || c.d_k != c.d_v {
            return None;
        }
        let w = a.host_weights();
        let (e, hd) = (c.emsize, c.nhead * c.d_k);
        let mut w_qkv = Vec::with_capacity(e * 3 * hd);
        for i in 0..e {
            for part in [&w.w_q, &w.w_k, &w.w_v] {
                w_qkv.extend_from_slice(&part[i * hd..(i + 1) * hd]);
            }
        }
        Some(Self {
            w_qkv,
            w_out: w.w_out,
            heads: c.nhead,
            d: c.d_k,
            scale: a.softmax_scale() as f32,
        })
    }

    fn hd(&self) -> usize {
        self.heads * self.d
    }
}

/// One `PerFeatureEncoderLayer` for the CPU path. Its sub-layers are public for the
/// component benchmarks; [`crate::PerFeatureTransformer::cpu_layers`] hands them out.
#[derive(Debug, Clone)]
pub struct HostLayer {
    feat: HostAttention,
    items: HostAttention,
    /// `[E, nhid]`.
    w1: Vec<f32>,
    /// `[nhid, E]`.
    w2: Vec<f32>,
    e: usize,
    nhid: usize,
}

impl HostLayer {
    fn new(l: &PerFeatureEncoderLayer, e: usize) -> Option<Self> {
        let w1 = to_vec(l.mlp.linear1.weight.clone());
        let w2 = to_vec(l.mlp.linear2.weight.clone());
        if l.mlp.linear1.bias.is_some() || l.mlp.linear2.bias.is_some() || w1.len() % e != 0 {
            return None;
        }
        Some(Self {
            feat: HostAttention::new(&l.attn_between_features)?,
            items: HostAttention::new(&l.attn_between_items)?,
            nhid: w1.len() / e,
            w1,
            w2,
            e,
        })
    }
}

/// The whole layer stack as host buffers.
#[derive(Debug, Clone)]
pub(crate) struct HostStack {
    pub(crate) layers: Vec<HostLayer>,
}

impl HostStack {
    /// Copies the weights of `layers`; `None` if some layer has a layout the kernels do not
    /// cover (never for TabPFN v2 checkpoints).
    pub(crate) fn new(layers: &[PerFeatureEncoderLayer], emsize: usize) -> Option<Self> {
        let layers = layers
            .iter()
            .map(|l| HostLayer::new(l, emsize))
            .collect::<Option<Vec<_>>>()?;
        Some(Self { layers })
    }
}
