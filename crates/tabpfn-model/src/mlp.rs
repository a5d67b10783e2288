//! The layer MLP: `GELU(x·W1ᵀ)·W2ᵀ`, no biases (`transformer_encoder.layers.l.mlp`).

use burn::tensor::Tensor;

use crate::nn::{BurnOps, Linear};

#[derive(Debug, Clone)]
pub struct Mlp {
    /// `linear1`: E → nhid.
    pub linear1: Linear,
    /// `linear2`: nhid → E.
    pub linear2: Linear,
}

impl Mlp {
    /// `[..., E]` → `[..., E]` (without the residual).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_with(x, BurnOps::STOCK)
    }

    /// [`Self::forward`] with the GELU that `ops` selects.
    pub(crate) fn forward_with<const D: usize>(&self, x: Tensor<D>, ops: BurnOps) -> Tensor<D> {
        self.linear2.forward(ops.gelu(self.linear1.forward(x)))
    }
}
