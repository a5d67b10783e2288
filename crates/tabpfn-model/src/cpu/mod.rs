//! The CPU path of the layer stack: the same maths as [`crate::layer`], on host `f32`
//! buffers, with the attention of `tabpfn_attention::cpu` and the MLP and post-norm on the
//! kernels of `tabpfn-kernels`.
//!
//! Why a separate path: burn-flex's generic ops run TabPFN's shapes at a fraction of this
//! CPU's matmul rate; here each sub-layer is one fused pass over cache-sized blocks. The
//! Burn path stays the reference (`Kernels::Stock`) and runs on every other device; both
//! are driven by the one layer loop of [`crate::stack`].
//!
//! Layout: the state is `[R, T, E]` row-major (rows, tokens, width), as on the Burn side.

mod layer;

use tabpfn_attention::CpuAttention;

use crate::error::Result;
use crate::layer::PerFeatureEncoderLayer;

/// One `PerFeatureEncoderLayer` for the CPU path.
#[derive(Debug, Clone)]
pub struct HostLayer {
    feat: CpuAttention,
    items: CpuAttention,
    /// `[E, nhid]`.
    w1: Vec<f32>,
    /// `[nhid, E]`.
    w2: Vec<f32>,
    e: usize,
    nhid: usize,
}

impl HostLayer {
    fn new(l: &PerFeatureEncoderLayer, e: usize) -> Result<Option<Self>> {
        if l.mlp.linear1.bias.is_some() || l.mlp.linear2.bias.is_some() {
            return Ok(None);
        }
        let w1 = tabpfn_attention::read_back(l.mlp.linear1.weight.clone(), "mlp.linear1")?;
        let w2 = tabpfn_attention::read_back(l.mlp.linear2.weight.clone(), "mlp.linear2")?;
        if !w1.len().is_multiple_of(e) || w1.len() != w2.len() {
            return Ok(None);
        }
        let (Some(feat), Some(items)) = (
            CpuAttention::new(&l.attn_between_features)?,
            CpuAttention::new(&l.attn_between_items)?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Self {
            feat,
            items,
            nhid: w1.len() / e,
            w1,
            w2,
            e,
        }))
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
    pub(crate) fn new(layers: &[PerFeatureEncoderLayer], emsize: usize) -> Result<Option<Self>> {
        let mut out = Vec::with_capacity(layers.len());
        for l in layers {
            match HostLayer::new(l, emsize)? {
                Some(h) => out.push(h),
                None => return Ok(None),
            }
        }
        Ok(Some(Self { layers: out }))
    }
}
