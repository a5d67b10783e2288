//! Small building blocks shared by the network's modules.

use burn::tensor::activation::gelu;
use burn::tensor::module::{layer_norm, linear};
use burn::tensor::{Device, Tensor, TensorData};
use tabpfn_weights::Tensor32;

/// `y = x·Wᵀ + b` with the weight stored matmul-ready as `[in, out]`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[in, out]` (the transpose of torch's `[out, in]`).
    pub weight: Tensor<2>,
    pub bias: Option<Tensor<1>>,
}

impl Linear {
    /// From torch's `[out, in]` weight and optional `[out]` bias. The weight is transposed
    /// on the host, so the device holds a contiguous `[in, out]` matrix (a transposed view
    /// makes Burn's CPU matmul pick its algorithm from the row count).
    pub fn from_torch(weight: &Tensor32, bias: Option<&Tensor32>, device: &Device) -> Self {
        let (out, inp) = (weight.shape[0], weight.shape[1]);
        let mut t = vec![0.0f32; inp * out];
        for o in 0..out {
            for i in 0..inp {
                t[i * out + o] = weight.data[o * inp + i];
            }
        }
        Self {
            weight: Tensor::from_data(TensorData::new(t, [inp, out]), device),
            bias: bias.map(|b| tensor1(b, device)),
        }
    }

    /// `[..., in]` → `[..., out]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        linear(x, self.weight.clone(), self.bias.clone())
    }
}

/// Post-norm LayerNorm of the reference: over the last axis, eps 1e-5, biased variance,
/// no affine parameters (`gamma` is a constant ones vector).
#[derive(Debug, Clone)]
pub struct PlainLayerNorm {
    ones: Tensor<1>,
}

impl PlainLayerNorm {
    pub fn new(emsize: usize, device: &Device) -> Self {
        Self {
            ones: Tensor::ones([emsize], device),
        }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        layer_norm(x, self.ones.clone(), None, 1e-5)
    }
}

/// Exact (erf) GELU, as torch's `nn.GELU()` default.
pub fn gelu_erf<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    gelu(x)
}

pub fn tensor1(t: &Tensor32, device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(t.data.clone(), [t.data.len()]), device)
}

pub fn tensor3(t: &Tensor32, device: &Device) -> Tensor<3> {
    Tensor::from_data(
        TensorData::new(t.data.clone(), [t.shape[0], t.shape[1], t.shape[2]]),
        device,
    )
}

pub fn tensor4(t: &Tensor32, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(
            t.data.clone(),
            [t.shape[0], t.shape[1], t.shape[2], t.shape[3]],
        ),
        device,
    )
}
