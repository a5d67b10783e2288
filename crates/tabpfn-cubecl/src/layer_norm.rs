//! `LayerNorm(x + residual)` over the last axis in one kernel: TabPFN's post-norm sub-layer
//! end (`state ← LN(state + f(state))`), no affine parameters, biased variance.
//!
//! One cube per row; its units stride over the row, and the mean and then the variance of
//! the centred values (two passes, as torch computes them) are tree-reduced in shared memory.
//! The sum `x + residual` is recomputed on each pass instead of being written out.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::Shape;
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::ops::reshape;
use burn_cubecl::tensor::CubeTensor;

use crate::grid::split_count;

/// Units per row (a power of two, for the tree reduction).
const BLOCK: usize = 64;
const LOG2_BLOCK: usize = 6;

/// The sum of every unit's `partial` (a tree over `sums`, `BLOCK` long), returned to all.
#[cube]
fn block_sum<F: Float>(partial: F, sums: &mut Shared<[F]>, unit: usize) -> F {
    sums[unit] = partial;
    sync_cube();
    #[unroll]
    for level in 0..LOG2_BLOCK {
        let stride = (BLOCK / 2) >> level;
        if unit < stride {
            let sum = sums[unit] + sums[unit + stride];
            sums[unit] = sum;
        }
        sync_cube();
    }
    let total = sums[0];
    // every unit reads the total before the buffer is reused
    sync_cube();
    total
}

#[cube(launch)]
fn residual_layer_norm_kernel<F: Float>(
    x: &Tensor<F>,
    residual: &Tensor<F>,
    out: &mut Tensor<F>,
    eps: f32,
    #[define(F)] _dtype: ElemType,
) {
    let row = (CUBE_POS_Z * CUBE_COUNT_Y + CUBE_POS_Y) as usize;
    if row >= x.shape(0) {
        terminate!();
    }
    let width = x.shape(1);
    let base = row * width;
    let unit = UNIT_POS_X as usize;
    let mut sums = Shared::<[F]>::new_slice(BLOCK);
    let n = F::cast_from(width);

    let mut partial = F::new(0.0);
    let mut i = unit;
    while i < width {
        partial += x[base + i] + residual[base + i];
        i += BLOCK;
    }
    let mean = block_sum::<F>(partial, &mut sums, unit) / n;

    let mut partial = F::new(0.0);
    let mut i = unit;
    while i < width {
        let c = x[base + i] + residual[base + i] - mean;
        partial += c * c;
        i += BLOCK;
    }
    let var = block_sum::<F>(partial, &mut sums, unit) / n;
    let inv_std = F::new(1.0) / F::sqrt(var + F::cast_from(eps));

    let mut i = unit;
    while i < width {
        out[base + i] = (x[base + i] + residual[base + i] - mean) * inv_std;
        i += BLOCK;
    }
}

/// `x`, `residual`: the same shape `[..., E]` → `LN(x + residual)`, same shape.
pub(crate) fn launch(x: CubeTensor, residual: CubeTensor, eps: f32) -> CubeTensor {
    let shape = x.meta.shape().clone();
    let width = shape.last().copied().unwrap_or(1);
    let rows = shape.num_elements() / width.max(1);
    let flat = |t: CubeTensor| reshape(into_contiguous(t), Shape::new([rows, width]));
    let (x, residual) = (flat(x), flat(residual));
    let dtype = x.dtype;
    let out = empty_device_contiguous_dtype(
        x.client.clone(),
        x.device.clone(),
        Shape::new([rows, width]),
        dtype,
    );
    if rows == 0 || width == 0 {
        return reshape(out, shape);
    }
    let (y, z) = split_count(rows);
    residual_layer_norm_kernel::launch(
        &x.client.clone(),
        CubeCount::Static(1, y, z),
        CubeDim::new_1d(BLOCK as u32),
        x.into_tensor_arg(),
        residual.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        eps,
        dtype_to_storage_type(dtype),
    );
    reshape(out, shape)
}
