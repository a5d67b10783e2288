//! Exact GELU, `x·Φ(x) = ½·x·(1 + erf(x/√2))` (torch's `nn.GELU()` default), one read and
//! one write per element.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::Shape;
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::ops::reshape;
use burn_cubecl::tensor::CubeTensor;

use crate::grid::split_count;

const BLOCK: usize = 256;

#[cube(launch)]
fn gelu_kernel<F: Float>(x: &Tensor<F>, out: &mut Tensor<F>, #[define(F)] _dtype: ElemType) {
    let cube = (CUBE_POS_Z * CUBE_COUNT_Y + CUBE_POS_Y) as usize;
    let i = cube * BLOCK + UNIT_POS_X as usize;
    if i < x.len() {
        let value = x[i];
        out[i] = value * F::new(0.5) * (F::new(1.0) + F::erf(value * F::new(0.70710677)));
    }
}

/// Any shape → GELU of every element, same shape.
pub(crate) fn launch(x: CubeTensor) -> CubeTensor {
    let shape = x.meta.shape().clone();
    let n = shape.num_elements();
    let x = reshape(into_contiguous(x), Shape::new([n]));
    let dtype = x.dtype;
    let out =
        empty_device_contiguous_dtype(x.client.clone(), x.device.clone(), Shape::new([n]), dtype);
    if n == 0 {
        return reshape(out, shape);
    }
    let (y, z) = split_count(n.div_ceil(BLOCK));
    gelu_kernel::launch(
        &x.client.clone(),
        CubeCount::Static(1, y, z),
        CubeDim::new_1d(BLOCK as u32),
        x.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        dtype_to_storage_type(dtype),
    );
    reshape(out, shape)
}
