//! Small building blocks shared by the network's modules.

use burn::tensor::activation::gelu;
use burn::tensor::module::{layer_norm, linear};
use burn::tensor::{Device, Tensor, TensorData};
use tabpfn_attention::AttentionCore;
use tabpfn_weights::Tensor32;

use crate::transformer::Kernels;

/// Which implementation the Burn layer stack's hot ops take: Burn's stock ops, or the custom
/// CubeCL kernels of `tabpfn-cubecl` ([`Kernels::Auto`] on a cube device in a build with the
/// `wgpu` or `cuda` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BurnOps {
    custom: bool,
}

impl BurnOps {
    /// Burn's stock ops only.
    pub const STOCK: Self = Self { custom: false };

    pub fn new(kernels: Kernels, device: &Device) -> Self {
        Self {
            custom: kernels == Kernels::Auto && crate::device::is_cube(device),
        }
    }

    /// The attention core these ops use.
    pub fn attention_core(self) -> AttentionCore {
        if self.custom {
            AttentionCore::Custom
        } else {
            AttentionCore::Stock
        }
    }

    /// Exact GELU.
    pub fn gelu<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        if self.custom {
            if let Ok(y) = tabpfn_cubecl::gelu_erf(x.clone()) {
                return y;
            }
        }
        gelu_erf(x)
    }
}

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
        layer_norm(x, self.ones.clone(), None, EPS)
    }

    /// `LN(x + residual)`: one kernel under custom [`BurnOps`], else the add and
    /// [`Self::forward`].
    pub fn forward_residual<const D: usize>(
        &self,
        x: Tensor<D>,
        residual: Tensor<D>,
        ops: BurnOps,
    ) -> Tensor<D> {
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        if ops.custom {
            if let Ok(y) =
                tabpfn_cubecl::residual_layer_norm(x.clone(), residual.clone(), EPS as f32)
            {
                return y;
            }
        }
        let _ = ops;
        self.forward(x + residual)
    }
}

/// The reference's LayerNorm epsilon.
const EPS: f64 = 1e-5;

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

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;

    #[test]
    fn auto_takes_the_custom_kernels_on_a_cube_device_only() {
        let gpu = Device::wgpu(Default::default());
        let core = |k, d: &Device| BurnOps::new(k, d).attention_core();
        assert_eq!(core(Kernels::Auto, &gpu), AttentionCore::Custom);
        assert_eq!(core(Kernels::Stock, &gpu), AttentionCore::Stock);
        assert_eq!(core(Kernels::Auto, &Device::flex()), AttentionCore::Stock);
    }
}
