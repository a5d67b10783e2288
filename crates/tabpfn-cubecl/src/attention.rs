//! Attention with an online softmax, one kernel pass: `softmax(q·kᵀ·scale)·v` without the
//! `[S, N]` score matrix.
//!
//! A cube holds `QUERY_TILE` query rows of one (batch, head) pair; its units load `KEY_TILE`
//! keys and values at a time into shared memory, and every unit runs the whole key sequence
//! against its own query with running max / sum (the flash-attention recurrence). The
//! items attention of TabPFN folds the test rows' H query heads onto head 0's shared K/V
//! (`[T, 1, M·H, D]` against `[T, 1, N, D]`), so one K/V tile serves 64 queries of every
//! head at once.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::Shape;
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::ops::reshape;
use burn_cubecl::tensor::CubeTensor;

use crate::grid::{split_count, MAX_CUBES_PER_AXIS};

/// Query rows per cube (one per unit).
pub(crate) const QUERY_TILE: usize = 64;
/// Keys staged in shared memory per step.
const KEY_TILE: usize = 32;
/// A running maximum below every real score; finite because WGSL rejects `-inf` literals.
const NEG_BIG: f32 = -3.0e38;

/// Stages `valid` rows of `width` elements, `src[base ..]`, into a `KEY_TILE`-row tile,
/// zeros past the last valid row: the cube's `QUERY_TILE` units stride through it together,
/// so neighbouring units read neighbouring elements (coalesced loads). Keys and values are
/// staged alike.
#[cube]
fn stage_tile<F: Float>(
    src: &Tensor<F>,
    base: usize,
    valid: usize,
    #[comptime] width: usize,
    tile: &mut Shared<[F]>,
    unit: usize,
) {
    let mut i = unit;
    while i < KEY_TILE * width {
        let mut value = F::new(0.0);
        if i < valid * width {
            value = src[base + i];
        }
        tile[i] = value;
        i += QUERY_TILE;
    }
}

#[cube(launch)]
fn attention_kernel<F: Float>(
    q: &Tensor<F>,
    k: &Tensor<F>,
    v: &Tensor<F>,
    out: &mut Tensor<F>,
    scale: f32,
    #[comptime] d_k: usize,
    #[comptime] d_v: usize,
    #[define(F)] _dtype: ElemType,
) {
    // grid: x = query tiles, (y, z) = the (batch·head) index split over two axes
    let bh = (CUBE_POS_Z * CUBE_COUNT_Y + CUBE_POS_Y) as usize;
    let n_bh = q.shape(0);
    if bh >= n_bh {
        terminate!();
    }
    let s_len = q.shape(1);
    let n_len = k.shape(1);
    let unit = UNIT_POS_X as usize;
    let row = CUBE_POS_X as usize * QUERY_TILE + unit;
    let active = row < s_len;

    let scale = F::cast_from(scale);
    let mut q_row = Array::<F>::new(d_k);
    let q_base = (bh * s_len + row) * d_k;
    #[unroll]
    for i in 0..d_k {
        let mut value = F::new(0.0);
        if active {
            value = q[q_base + i] * scale;
        }
        q_row[i] = value;
    }
    let mut acc = Array::<F>::new(d_v);
    #[unroll]
    for i in 0..d_v {
        acc[i] = F::new(0.0);
    }
    let mut run_max = F::new(NEG_BIG);
    let mut run_sum = F::new(0.0);

    let mut k_tile = Shared::<[F]>::new_slice(KEY_TILE * d_k);
    let mut v_tile = Shared::<[F]>::new_slice(KEY_TILE * d_v);
    let mut scores = Array::<F>::new(KEY_TILE);
    let k_base = bh * n_len * d_k;
    let v_base = bh * n_len * d_v;
    let n_tiles = n_len.div_ceil(KEY_TILE);

    for t in 0..n_tiles {
        let start = t * KEY_TILE;
        let valid = min(KEY_TILE, n_len - start);
        let (k_at, v_at) = (k_base + start * d_k, v_base + start * d_v);
        stage_tile(k, k_at, valid, d_k, &mut k_tile, unit);
        stage_tile(v, v_at, valid, d_v, &mut v_tile, unit);
        sync_cube();

        let mut tile_max = F::new(NEG_BIG);
        #[unroll]
        for j in 0..KEY_TILE {
            let mut s = F::new(NEG_BIG);
            if j < valid {
                let mut dot = F::new(0.0);
                #[unroll]
                for d in 0..d_k {
                    dot += q_row[d] * k_tile[j * d_k + d];
                }
                s = dot;
            }
            scores[j] = s;
            tile_max = max(tile_max, s);
        }
        let new_max = max(run_max, tile_max);
        let correction = F::exp(run_max - new_max);
        run_sum *= correction;
        #[unroll]
        for d in 0..d_v {
            acc[d] *= correction;
        }
        #[unroll]
        for j in 0..KEY_TILE {
            if j < valid {
                let p = F::exp(scores[j] - new_max);
                run_sum += p;
                #[unroll]
                for d in 0..d_v {
                    acc[d] += p * v_tile[j * d_v + d];
                }
            }
        }
        run_max = new_max;
        // the next tile overwrites shared memory only after every unit is done with this one
        sync_cube();
    }

    if active {
        let o_base = (bh * s_len + row) * d_v;
        #[unroll]
        for d in 0..d_v {
            out[o_base + d] = acc[d] / run_sum;
        }
    }
}

/// `q [B, H, S, Dk]`, `k [B, H, N, Dk]`, `v [B, H, N, Dv]` → `[B, H, S, Dv]`, scores scaled by
/// `scale`. Shapes are checked by the caller (`crate::attention`); `N ≥ 1`.
pub(crate) fn launch(q: CubeTensor, k: CubeTensor, v: CubeTensor, scale: f32) -> CubeTensor {
    let [b, h, s, d_k] = q.meta.shape().dims::<4>();
    let [_, _, n, _] = k.meta.shape().dims::<4>();
    let d_v = v.meta.shape().dims::<4>()[3];
    let bh = b * h;
    let flat = |t: CubeTensor, rows: usize, d: usize| {
        reshape(into_contiguous(t), Shape::new([bh, rows, d]))
    };
    let (q, k, v) = (flat(q, s, d_k), flat(k, n, d_k), flat(v, n, d_v));
    let dtype = q.dtype;
    let out = empty_device_contiguous_dtype(
        q.client.clone(),
        q.device.clone(),
        Shape::new([bh, s, d_v]),
        dtype,
    );
    if bh == 0 || s == 0 {
        return reshape(out, Shape::new([b, h, s, d_v]));
    }
    let (y, z) = split_count(bh);
    let count = CubeCount::Static(s.div_ceil(QUERY_TILE) as u32, y, z);
    debug_assert!(s.div_ceil(QUERY_TILE) <= MAX_CUBES_PER_AXIS);
    attention_kernel::launch(
        &q.client.clone(),
        count,
        CubeDim::new_1d(QUERY_TILE as u32),
        q.into_tensor_arg(),
        k.into_tensor_arg(),
        v.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        scale,
        d_k,
        d_v,
        dtype_to_storage_type(dtype),
    );
    reshape(out, Shape::new([b, h, s, d_v]))
}
