//! The output head `decoder_dict.standard`: Linear(E→nhid) → GELU → Linear(nhid→n_out),
//! applied to the target column of the test rows.

use burn::tensor::Tensor;

use crate::nn::{gelu_erf, Linear};

#[derive(Debug, Clone)]
pub struct Decoder {
    /// `decoder_dict.standard.0`
    pub hidden: Linear,
    /// `decoder_dict.standard.2`
    pub output: Linear,
}

impl Decoder {
    /// `[M, E]` → logits `[M, n_out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(gelu_erf(self.hidden.forward(x)))
    }
}
