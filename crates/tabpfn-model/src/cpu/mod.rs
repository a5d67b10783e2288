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

use tabpfn_attention::{read_back, CpuAttention};
use tabpfn_kernels::{gelu_in_place, matmul, MatMut, MatRef, Threads};

use crate::decoder::Decoder;
use crate::error::Result;
use crate::layer::PerFeatureEncoderLayer;
use crate::nn::Linear;

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

/// A linear map on host buffers: `y = x·W + b` with `W [in, out]`.
#[derive(Debug, Clone)]
pub(crate) struct HostLinear {
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    inp: usize,
    out: usize,
}

impl HostLinear {
    fn new(l: &Linear) -> Result<Self> {
        let [inp, out] = l.weight.dims();
        Ok(Self {
            w: read_back(l.weight.clone(), "a linear weight")?,
            b: l.bias
                .as_ref()
                .map(|b| read_back(b.clone(), "a linear bias"))
                .transpose()?,
            inp,
            out,
        })
    }

    /// `x [rows, in]` → `[rows, out]` (row by row the same arithmetic in any batch).
    pub(crate) fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut y = vec![0.0f32; rows * self.out];
        if let Some(b) = &self.b {
            for r in y.chunks_exact_mut(self.out) {
                r.copy_from_slice(b);
            }
        }
        matmul(
            &mut MatMut::new(&mut y, rows, self.out, self.out),
            MatRef::new(x, rows, self.inp, self.inp),
            MatRef::new(&self.w, self.inp, self.out, self.out),
            self.b.is_some(),
            Threads::Pool,
        );
        y
    }
}

/// The network's input projections and output head on host buffers (the CPU path runs
/// them with the layers, so no Burn op sits between a test row and its logits).
#[derive(Debug, Clone)]
pub(crate) struct HostHead {
    /// `encoder.{5|6}.layer`: 2F → E.
    pub(crate) x_proj: HostLinear,
    /// `y_encoder.{2|1}.layer`: 2 → E.
    pub(crate) y_proj: HostLinear,
    /// `decoder_dict.standard.0` and `.2`.
    hidden: HostLinear,
    output: HostLinear,
}

impl HostHead {
    /// `[M, E]` → logits `[M, n_out]`: Linear → exact GELU → Linear.
    pub(crate) fn decode(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut h = self.hidden.forward(x, rows);
        gelu_in_place(&mut h);
        self.output.forward(&h, rows)
    }
}

/// The whole layer stack, with its head, as host buffers.
#[derive(Debug, Clone)]
pub(crate) struct HostStack {
    pub(crate) layers: Vec<HostLayer>,
    pub(crate) head: HostHead,
}

impl HostStack {
    /// Copies the weights of `layers` and of the head; `None` if some layer has a layout
    /// the kernels do not cover (never for TabPFN v2 checkpoints).
    pub(crate) fn new(
        layers: &[PerFeatureEncoderLayer],
        emsize: usize,
        x_proj: &Linear,
        y_proj: &Linear,
        decoder: &Decoder,
    ) -> Result<Option<Self>> {
        let mut out = Vec::with_capacity(layers.len());
        for l in layers {
            match HostLayer::new(l, emsize)? {
                Some(h) => out.push(h),
                None => return Ok(None),
            }
        }
        let head = HostHead {
            x_proj: HostLinear::new(x_proj)?,
            y_proj: HostLinear::new(y_proj)?,
            hidden: HostLinear::new(&decoder.hidden)?,
            output: HostLinear::new(&decoder.output)?,
        };
        Ok(Some(Self { layers: out, head }))
    }
}
