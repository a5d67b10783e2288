//! TabPFN v2's custom CubeCL kernels for Burn's GPU backends (wgpu, cuda).
//!
//! Three kernels replace chains of stock ops on the network's hot path; each is a Burn
//! backend extension, so under Burn's fusion it is recorded lazily like any other op:
//!
//! * [`attention`]: `softmax(q·kᵀ·scale)·v` with an online softmax in one pass, no score
//!   matrix (the items attention's test queries of every head run against head 0's K/V);
//! * [`residual_layer_norm`]: `LayerNorm(x + residual)` (the post-norm sub-layer end);
//! * [`gelu_erf`]: exact GELU.
//!
//! The stock Burn ops stay the tested reference: `tabpfn_model::Kernels::Stock` runs
//! without these, and the test suites compare the two on the GPU backend they run on
//! (`scripts/test-wgpu.sh`: Mesa's software Vulkan driver, no GPU needed).
//!
//! Every function answers [`KernelError`] instead of launching where the kernel does not
//! apply (not a cube device, mismatched shapes, head sizes over [`MAX_HEAD_DIM`]); callers
//! fall back to the stock ops.
//!
//! Without the `wgpu` or `cuda` feature this crate is empty.
#![cfg(any(feature = "wgpu", feature = "cuda"))]

mod attention;
mod gelu;
mod grid;
mod layer_norm;

use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, DispatchDevice};
use burn::tensor::{DType, Device, Shape, Tensor};
use burn_cubecl::CubeBackend;

/// The largest K or V head size [`attention`] handles: its key tile then needs 16 KiB of
/// shared memory, WebGPU's guaranteed minimum (TabPFN v2's heads are 32 wide).
pub const MAX_HEAD_DIM: usize = 64;

/// The most query rows (per batch and head) one [`attention`] call addresses; callers chunk
/// longer query sequences.
pub const MAX_QUERIES: usize = grid::MAX_CUBES_PER_AXIS * attention::QUERY_TILE;

/// Why a kernel was not launched; the caller runs the stock ops instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error("custom kernels run on cube (wgpu / cuda) devices only")]
    NotCube,
    #[error("{0}")]
    Unsupported(String),
}

/// The kernels as a Burn backend extension: implemented for the cube backend, recorded
/// lazily under fusion (shapes and dtypes below are what each op returns).
#[backend_extension(Cube, Fusion)]
pub trait TabpfnKernels: Backend {
    /// `x`, `residual`: `[..., E]` → `LN(x + residual)`.
    #[fusion(dtype = x, shape = x)]
    fn residual_layer_norm(
        x: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self>;

    /// Any shape → exact GELU.
    #[fusion(dtype = x, shape = x)]
    fn gelu_erf(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `q [B, H, S, Dk]`, `k [B, H, N, Dk]`, `v [B, H, N, Dv]` → `[B, H, S, Dv]`.
    #[fusion(dtype = q, shape = attention_shape(q, v))]
    fn attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;
}

fn attention_shape(q: &Shape, v: &Shape) -> Shape {
    Shape::new([q[0], q[1], q[2], v[3]])
}

impl TabpfnKernels for CubeBackend {
    fn residual_layer_norm(
        x: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self> {
        layer_norm::launch(x, residual, eps)
    }

    fn gelu_erf(x: FloatTensor<Self>) -> FloatTensor<Self> {
        gelu::launch(x)
    }

    fn attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        attention::launch(q, k, v, scale)
    }
}

/// Whether `device` runs Burn's cube backend (where these kernels apply).
pub fn is_cube(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Cube(_))
}

/// A float32 tensor on a cube device (the kernels' constants and accumulators are f32).
fn on_cube<const D: usize>(t: &Tensor<D>) -> Result<(), KernelError> {
    if !is_cube(&t.device()) {
        return Err(KernelError::NotCube);
    }
    match t.dtype() {
        DType::F32 => Ok(()),
        other => Err(KernelError::Unsupported(format!(
            "the kernels compute in float32, got a {other:?} tensor"
        ))),
    }
}

/// `LayerNorm(x + residual)` over the last axis (eps `eps`, no affine parameters, biased
/// variance).
///
/// # Shapes
/// `x`, `residual`: `[..., E]` (equal) → `[..., E]`.
pub fn residual_layer_norm<const D: usize>(
    x: Tensor<D>,
    residual: Tensor<D>,
    eps: f32,
) -> Result<Tensor<D>, KernelError> {
    on_cube(&x)?;
    if x.dims() != residual.dims() {
        return Err(KernelError::Unsupported(format!(
            "residual_layer_norm: x {:?} and residual {:?} differ",
            x.dims(),
            residual.dims()
        )));
    }
    Ok(Tensor::from_dispatch(
        <Dispatch as TabpfnKernels>::residual_layer_norm(
            x.into_dispatch(),
            residual.into_dispatch(),
            eps,
        ),
    ))
}

/// Exact (erf) GELU of every element.
///
/// # Shapes
/// any → the same.
pub fn gelu_erf<const D: usize>(x: Tensor<D>) -> Result<Tensor<D>, KernelError> {
    on_cube(&x)?;
    Ok(Tensor::from_dispatch(
        <Dispatch as TabpfnKernels>::gelu_erf(x.into_dispatch()),
    ))
}

/// `softmax(q·kᵀ·scale)·v` per (batch, head), without materialising the scores.
///
/// # Shapes
/// `q [B, H, S, Dk]`, `k [B, H, N, Dk]`, `v [B, H, N, Dv]` → `[B, H, S, Dv]`, with `N ≥ 1`
/// and `Dk, Dv ≤` [`MAX_HEAD_DIM`], `S ≤` [`MAX_QUERIES`].
pub fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    scale: f32,
) -> Result<Tensor<4>, KernelError> {
    on_cube(&q)?;
    let ([b, h, s, dk], [kb, kh, n, kdk], [vb, vh, vn, dv]) = (q.dims(), k.dims(), v.dims());
    let unsupported = |why: &str| {
        Err(KernelError::Unsupported(format!(
            "attention: {why} (q {:?}, k {:?}, v {:?})",
            q.dims(),
            k.dims(),
            v.dims()
        )))
    };
    if (kb, kh, kdk) != (b, h, dk) || (vb, vh, vn) != (b, h, n) {
        return unsupported("q, k and v disagree");
    }
    if n == 0 {
        return unsupported("no keys");
    }
    if dk == 0 || dv == 0 || dk > MAX_HEAD_DIM || dv > MAX_HEAD_DIM {
        return unsupported("head sizes must lie in 1..=64");
    }
    if s > MAX_QUERIES || b.saturating_mul(h) > grid::MAX_CUBES_PER_AXIS * grid::MAX_CUBES_PER_AXIS
    {
        return unsupported("more queries or heads than one launch addresses");
    }
    Ok(Tensor::from_dispatch(
        <Dispatch as TabpfnKernels>::attention(
            q.into_dispatch(),
            k.into_dispatch(),
            v.into_dispatch(),
            scale,
        ),
    ))
}
