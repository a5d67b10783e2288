//! The CPU path of [`MultiHeadAttention`]: the same maths on host `f32` buffers with the
//! kernels of `tabpfn-kernels`, for both axes of TabPFN's attention.
//!
//! * [`CpuAttention::self_attend_rows`]: attention between features — every row's `T`
//!   tokens attend to each other, all heads;
//! * [`CpuAttention::last_token_attend_rows`]: the same for the last (target) token's
//!   queries only, what the last layer needs;
//! * [`CpuAttention::attend_column`]: attention between items for one token column — train
//!   rows attend to the train rows with every head; test rows attend to head 0's K/V shared
//!   by all query heads (the reference's multi-query path), so their heads are stacked into
//!   one `[M·H, D]` query matrix against one K/V.
//!
//! Each sub-layer is one fused pass over cache-sized blocks: projection → attention →
//! output projection → `residual(x, out)`, where the caller's `residual` applies the
//! layer's post-norm (`x ← LN(x + out)` in TabPFN). Layout: states are row-major
//! `[rows, T, E]` (rows, tokens, width), a column is `[rows, E]`.

use rayon::prelude::*;
use tabpfn_kernels::{
    attend, attend_packed, matmul, query_block, Blocks, MatMut, MatRef, PackedKv, Scratch, Threads,
};

use crate::{HostKv, MultiHeadAttention};

/// Tokens per parallel task of the feature attention: big enough for efficient products,
/// small enough that a task's buffers stay in L2.
pub const TOKENS_PER_TASK: usize = 256;

/// Writes the sub-layer's output `out` into the state tokens `x` (same length, whole
/// tokens of width E): the layer's residual + post-norm.
pub trait Residual: Fn(&mut [f32], &[f32]) + Sync {}
impl<F: Fn(&mut [f32], &[f32]) + Sync> Residual for F {}

/// Which rows of a column query the items attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queries {
    /// Train and test rows (a layer's full forward).
    All,
    /// Test rows only (the last layer, whose train rows the decoder never reads).
    TestOnly,
}

/// Where test rows of one column get their keys and values.
#[derive(Clone, Copy, Debug)]
pub enum ColumnKv<'a> {
    /// Projected from this call's train rows.
    FromTrain,
    /// From an earlier fit: head-0 `k [N, D]`, `v [N, D]` of this column.
    Cached {
        k: &'a [f32],
        v: &'a [f32],
        n: usize,
    },
}

impl<'a> ColumnKv<'a> {
    /// Column `col` of a host cache (`[T, 1, N, D]`), or [`ColumnKv::FromTrain`].
    pub fn of(cache: Option<&'a HostKv>, col: usize) -> Self {
        match cache {
            None => Self::FromTrain,
            Some(c) => {
                let (k, v) = c.column(col);
                Self::Cached { k, v, n: c.len() }
            }
        }
    }
}

/// One attention module's weights as host matrices for the CPU kernels.
#[derive(Debug, Clone)]
pub struct CpuAttention {
    /// `[E, 3·H·D]`: query, key and value projections side by side (one product for all).
    w_qkv: Vec<f32>,
    /// `[H·D, E]`.
    w_out: Vec<f32>,
    e: usize,
    heads: usize,
    d: usize,
    scale: f32,
}

/// Rows per parallel task so that `rows` splits into a few tasks per thread.
fn rows_per_task(rows: usize, n_keys: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    query_block(n_keys).min(rows.div_ceil(4 * threads)).max(1)
}

impl CpuAttention {
    /// The host form of `a`; `None` when the module is not TabPFN v2's layout (one K/V head
    /// per query head and `d_k == d_v`), and the caller keeps the Burn path.
    pub fn new(a: &MultiHeadAttention) -> crate::Result<Option<Self>> {
        let c = a.config();
        if c.nhead_kv != c.nhead || c.d_k != c.d_v {
            return Ok(None);
        }
        let w = a.host_weights()?;
        let (e, hd) = (c.emsize, c.nhead * c.d_k);
        let mut w_qkv = Vec::with_capacity(e * 3 * hd);
        for i in 0..e {
            for part in [&w.w_q, &w.w_k, &w.w_v] {
                w_qkv.extend_from_slice(&part[i * hd..(i + 1) * hd]);
            }
        }
        Ok(Some(Self {
            w_qkv,
            w_out: w.w_out,
            e,
            heads: c.nhead,
            d: c.d_k,
            scale: a.softmax_scale() as f32,
        }))
    }

    /// Head size D.
    pub fn head_dim(&self) -> usize {
        self.d
    }

    fn hd(&self) -> usize {
        self.heads * self.d
    }

    /// Attention between features over all `t` tokens of every row of `x [rows, t, E]`,
    /// in place: `residual(tokens, attention(tokens))` per block of rows.
    pub fn self_attend_rows(&self, x: &mut [f32], t: usize, residual: &impl Residual) {
        let (e, hd, d) = (self.e, self.hd(), self.d);
        let rows_per = (TOKENS_PER_TASK / t).max(1);
        x.par_chunks_mut(rows_per * t * e).for_each_init(
            || (Scratch::default(), Vec::new(), Vec::new(), Vec::new()),
            |(scratch, qkv, o, y), chunk| {
                let tokens = chunk.len() / e;
                qkv.resize(tokens * 3 * hd, 0.0);
                o.resize(tokens * hd, 0.0);
                y.resize(tokens * e, 0.0);
                matmul(
                    &mut MatMut::new(qkv, tokens, 3 * hd, 3 * hd),
                    MatRef::new(chunk, tokens, e, e),
                    MatRef::new(&self.w_qkv, e, 3 * hd, 3 * hd),
                    false,
                    Threads::One,
                );
                let qkv_m = MatRef::new(qkv, tokens, 3 * hd, 3 * hd);
                for (r, o_row) in o.chunks_mut(t * hd).enumerate() {
                    let rows_r = r * t..(r + 1) * t;
                    for h in 0..self.heads {
                        let c = h * d..(h + 1) * d;
                        let mut out = MatMut::new(o_row, t, hd, hd).cols_range(c.clone());
                        attend(
                            qkv_m.sub(rows_r.clone(), c.clone()),
                            qkv_m.sub(rows_r.clone(), hd + c.start..hd + c.end),
                            qkv_m.sub(rows_r.clone(), 2 * hd + c.start..2 * hd + c.end),
                            &mut out,
                            self.scale,
                            scratch,
                            Blocks::AsGiven,
                        );
                    }
                }
                self.project_out_into(o, y, tokens, Threads::One);
                residual(chunk, y);
            },
        );
    }

    /// Attention between features for the last token only (its queries against all `t`
    /// tokens' K/V) of every row of `x [rows, t, E]`; returns the last tokens after
    /// `residual`, `[rows, E]`. `x` is not modified.
    pub fn last_token_attend_rows(
        &self,
        x: &[f32],
        rows: usize,
        t: usize,
        residual: &impl Residual,
    ) -> Vec<f32> {
        let (e, hd, d) = (self.e, self.hd(), self.d);
        let w = MatRef::new(&self.w_qkv, e, 3 * hd, 3 * hd);
        let rows_per = (TOKENS_PER_TASK / t).max(1);
        let mut target = vec![0.0f32; rows * e];
        target
            .par_chunks_mut(rows_per * e)
            .zip(x.par_chunks(rows_per * t * e))
            .for_each_init(Scratch::default, |scratch, (tgt, xs)| {
                let n = tgt.len() / e;
                let tokens = n * t;
                let mut kv = vec![0.0f32; tokens * 2 * hd];
                matmul(
                    &mut MatMut::new(&mut kv, tokens, 2 * hd, 2 * hd),
                    MatRef::new(xs, tokens, e, e),
                    w.sub(0..e, hd..3 * hd),
                    false,
                    Threads::One,
                );
                let last = &xs[(t - 1) * e..];
                let mut q = vec![0.0f32; n * hd];
                matmul(
                    &mut MatMut::new(&mut q, n, hd, hd),
                    MatRef::new(last, n, e, t * e),
                    w.sub(0..e, 0..hd),
                    false,
                    Threads::One,
                );
                let kv_m = MatRef::new(&kv, tokens, 2 * hd, 2 * hd);
                let q_m = MatRef::new(&q, n, hd, hd);
                let mut o = vec![0.0f32; n * hd];
                for (r, o_row) in o.chunks_mut(hd).enumerate() {
                    let rows_r = r * t..(r + 1) * t;
                    for h in 0..self.heads {
                        let c = h * d..(h + 1) * d;
                        let mut out = MatMut::new(o_row, 1, hd, hd).cols_range(c.clone());
                        attend(
                            q_m.sub(r..r + 1, c.clone()),
                            kv_m.sub(rows_r.clone(), c.clone()),
                            kv_m.sub(rows_r.clone(), hd + c.start..hd + c.end),
                            &mut out,
                            self.scale,
                            scratch,
                            Blocks::AsGiven,
                        );
                    }
                }
                let y = self.project_out(&o, n, Threads::One);
                for r in 0..n {
                    tgt[r * e..(r + 1) * e].copy_from_slice(&last[r * t * e..r * t * e + e]);
                }
                residual(tgt, &y);
            });
        target
    }

    /// Attention between items of one token column `xc [rows, E]` (the first `n_train`
    /// rows are train rows), then `residual` on the querying rows. Returns the train rows'
    /// head-0 K/V (`[N, D]` each) when `keep`.
    #[allow(clippy::too_many_arguments)]
    pub fn attend_column(
        &self,
        xc: &mut [f32],
        rows: usize,
        n_train: usize,
        source: ColumnKv<'_>,
        queries: Queries,
        keep: bool,
        residual: &impl Residual,
    ) -> Option<(Vec<f32>, Vec<f32>)> {
        let (e, hd, d) = (self.e, self.hd(), self.d);
        let m = rows - n_train;
        let q_start = if queries == Queries::All { 0 } else { n_train };
        let nq = rows - q_start;
        let w = MatRef::new(&self.w_qkv, e, 3 * hd, 3 * hd);

        // keys and values: all heads when train rows query, else head 0 only
        let train_queries = queries == Queries::All && n_train > 0;
        let mut kv_all = Vec::new();
        let mut head0 = None;
        if train_queries {
            kv_all = vec![0.0f32; n_train * 2 * hd];
            matmul(
                &mut MatMut::new(&mut kv_all, n_train, 2 * hd, 2 * hd),
                MatRef::new(xc, n_train, e, e),
                w.sub(0..e, hd..3 * hd),
                false,
                Threads::Pool,
            );
        } else if let ColumnKv::FromTrain = source {
            if n_train > 0 {
                head0 = Some(self.head_zero_kv(xc, n_train));
            }
        }
        let (k0, v0, n_keys) = match (source, &head0) {
            (ColumnKv::Cached { k, v, n }, _) => {
                (MatRef::new(k, n, d, d), MatRef::new(v, n, d, d), n)
            }
            (ColumnKv::FromTrain, Some((k, v))) => (
                MatRef::new(k, n_train, d, d),
                MatRef::new(v, n_train, d, d),
                n_train,
            ),
            (ColumnKv::FromTrain, None) => {
                let kv_m = MatRef::new(&kv_all, n_train, 2 * hd, 2 * hd);
                (
                    kv_m.sub(0..n_train, 0..d),
                    kv_m.sub(0..n_train, hd..hd + d),
                    n_train,
                )
            }
        };

        let mut q = vec![0.0f32; nq * hd];
        matmul(
            &mut MatMut::new(&mut q, nq, hd, hd),
            MatRef::new(&xc[q_start * e..], nq, e, e),
            w.sub(0..e, 0..hd),
            false,
            Threads::Pool,
        );
        let mut o = vec![0.0f32; nq * hd];
        let (o_train, o_test) = o.split_at_mut((n_train - q_start.min(n_train)) * hd);
        let (q_train, q_test) = q.split_at((n_train - q_start.min(n_train)) * hd);

        if train_queries {
            let kv_m = MatRef::new(&kv_all, n_train, 2 * hd, 2 * hd);
            let per = rows_per_task(n_train, n_train);
            let packed: Vec<SharedKv<'_>> = (0..self.heads)
                .into_par_iter()
                .map(|h| {
                    let c = h * d..(h + 1) * d;
                    SharedKv::new(
                        kv_m.sub(0..n_train, c.clone()),
                        kv_m.sub(0..n_train, hd + c.start..hd + c.end),
                        n_train,
                    )
                })
                .collect();
            o_train.par_chunks_mut(per * hd).enumerate().for_each_init(
                Scratch::default,
                |scratch, (i, o_blk)| {
                    let len = o_blk.len() / hd;
                    let qm = MatRef::new(q_train, n_train, hd, hd);
                    for (h, kv) in packed.iter().enumerate() {
                        let c = h * d..(h + 1) * d;
                        let mut out = MatMut::new(o_blk, len, hd, hd).cols_range(c.clone());
                        kv.attend(
                            qm.sub(i * per..i * per + len, c),
                            &mut out,
                            self.scale,
                            scratch,
                            Blocks::AsGiven,
                        );
                    }
                },
            );
        }
        if m > 0 {
            // [M, H·D] row-major is [M·H, D]: every head of every test row is one query.
            // Tasks of whole blocks, a partial one padded: each test row's arithmetic is
            // then the same in any batch (row independence, `Blocks::Padded`)
            let stacked = m * self.heads;
            let per = query_block(n_keys);
            let kv = SharedKv::new(k0, v0, stacked);
            o_test.par_chunks_mut(per * d).enumerate().for_each_init(
                Scratch::default,
                |scratch, (i, o_blk)| {
                    let len = o_blk.len() / d;
                    let qm = MatRef::new(q_test, stacked, d, d);
                    kv.attend(
                        qm.sub(i * per..i * per + len, 0..d),
                        &mut MatMut::new(o_blk, len, d, d),
                        self.scale,
                        scratch,
                        Blocks::Padded,
                    );
                },
            );
        }

        let kept = (keep && n_train > 0).then(|| {
            let mut k = Vec::with_capacity(n_train * d);
            let mut v = Vec::with_capacity(n_train * d);
            for r in 0..n_train {
                k.extend_from_slice(&kv_all[r * 2 * hd..r * 2 * hd + d]);
                v.extend_from_slice(&kv_all[r * 2 * hd + hd..r * 2 * hd + hd + d]);
            }
            (k, v)
        });

        let y = self.project_out(&o, nq, Threads::Pool);
        let xq = &mut xc[q_start * e..];
        xq.par_chunks_mut(TOKENS_PER_TASK * e)
            .zip(y.par_chunks(TOKENS_PER_TASK * e))
            .for_each(|(xs, ys)| residual(xs, ys));
        kept
    }

    /// Head-0 keys and values of `x [n, E]`: `([n, D], [n, D])`.
    pub fn head_zero_kv(&self, x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        let (e, hd, d) = (self.e, self.hd(), self.d);
        let w = MatRef::new(&self.w_qkv, e, 3 * hd, 3 * hd);
        let xm = MatRef::new(x, n, e, e);
        let mut k = vec![0.0f32; n * d];
        let mut v = vec![0.0f32; n * d];
        matmul(
            &mut MatMut::new(&mut k, n, d, d),
            xm,
            w.sub(0..e, hd..hd + d),
            false,
            Threads::Pool,
        );
        matmul(
            &mut MatMut::new(&mut v, n, d, d),
            xm,
            w.sub(0..e, 2 * hd..2 * hd + d),
            false,
            Threads::Pool,
        );
        (k, v)
    }

    /// `o [n, H·D] · w_out → [n, E]`.
    fn project_out(&self, o: &[f32], n: usize, threads: Threads) -> Vec<f32> {
        let mut y = vec![0.0f32; n * self.e];
        self.project_out_into(o, &mut y, n, threads);
        y
    }

    /// [`Self::project_out`] into `y [n, E]`.
    fn project_out_into(&self, o: &[f32], y: &mut [f32], n: usize, threads: Threads) {
        let (e, hd) = (self.e, self.hd());
        matmul(
            &mut MatMut::new(y, n, e, e),
            MatRef::new(o, n, hd, hd),
            MatRef::new(&self.w_out, hd, e, e),
            false,
            threads,
        );
    }
}

/// One head's keys and values as the items attention reads them: re-laid out once
/// ([`PackedKv`]) when enough query blocks share them to repay the copy, else in place.
enum SharedKv<'a> {
    Packed(PackedKv),
    InPlace(MatRef<'a>, MatRef<'a>),
}

impl<'a> SharedKv<'a> {
    /// `k [N, D]`, `v [N, D]`, queried by `queries` rows in all.
    fn new(k: MatRef<'a>, v: MatRef<'a>, queries: usize) -> Self {
        // packing costs about as much as one block of queries re-reading strided K/V
        if queries > 2 * query_block(k.rows()) {
            Self::Packed(PackedKv::new(k, v))
        } else {
            Self::InPlace(k, v)
        }
    }

    fn attend(
        &self,
        q: MatRef<'_>,
        out: &mut MatMut<'_>,
        scale: f32,
        scratch: &mut Scratch,
        blocks: Blocks,
    ) {
        match self {
            Self::Packed(kv) => attend_packed(q, kv, out, scale, scratch, blocks),
            Self::InPlace(k, v) => attend(q, *k, *v, out, scale, scratch, blocks),
        }
    }
}
