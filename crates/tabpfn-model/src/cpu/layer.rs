//! One encoder layer on host buffers: attention between features (per row, over tokens),
//! attention between items (per token column, over rows), MLP; each `x ← LN(x + f(x))`.

use rayon::prelude::*;
use tabpfn_attention::kernels::{
    attend, attend_packed, matmul, query_block, MatMut, MatRef, PackedKv, Scratch, Threads,
};

use super::ops::{add_layer_norm, gelu_in_place};
use super::{HostAttention, HostLayer};

/// Tokens per parallel task of the feature attention and the MLP: big enough for efficient
/// products, small enough that a task's buffers stay in L2.
const TOKENS_PER_TASK: usize = 256;

/// Head-0 keys and values of the train rows for every token column, `[T, N, D]` each:
/// what test rows attend to in the items attention (the reference's KV cache).
#[derive(Debug, Clone)]
pub struct HeadZeroKv {
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    /// Train rows N.
    pub n: usize,
}

/// Where the items attention of test rows gets its keys and values.
#[derive(Clone, Copy)]
pub enum HostKv<'a> {
    /// From this call's train rows.
    FromTrain,
    /// From an earlier fit: `k`, `v` are `[T, N, D]`.
    Cached {
        k: &'a [f32],
        v: &'a [f32],
        n: usize,
    },
}

/// Which rows of a column query the items attention.
#[derive(Clone, Copy, PartialEq)]
enum Queries {
    All,
    TestOnly,
}

/// Rows per parallel task so that `rows` splits into a few tasks per thread.
fn rows_per_task(rows: usize, n_keys: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    query_block(n_keys).min(rows.div_ceil(4 * threads)).max(1)
}

impl HostLayer {
    /// The full layer, in place on `x [rows, t, E]` whose first `n_train` rows are train
    /// rows. Returns the train rows' head-0 K/V when `keep`.
    pub fn forward(
        &self,
        x: &mut [f32],
        rows: usize,
        t: usize,
        n_train: usize,
        kv: HostKv<'_>,
        keep: bool,
    ) -> Option<HeadZeroKv> {
        self.features_attention(x, t);
        let kept = self.items_attention(x, rows, t, n_train, kv, keep);
        self.mlp(x);
        kept
    }

    /// Attention between items for every token column of `x [rows, t, E]` (in place,
    /// `LN(x + ·)` included). Returns the train rows' head-0 K/V when `keep`.
    pub fn items_attention(
        &self,
        x: &mut [f32],
        rows: usize,
        t: usize,
        n_train: usize,
        kv: HostKv<'_>,
        keep: bool,
    ) -> Option<HeadZeroKv> {
        let e = self.e;
        let mut xc = vec![0.0f32; rows * e];
        let mut kept = keep.then(|| HeadZeroKv {
            k: Vec::with_capacity(t * n_train * self.items.d),
            v: Vec::with_capacity(t * n_train * self.items.d),
            n: n_train,
        });
        for col in 0..t {
            gather_column(x, &mut xc, t, col, e);
            let source = column_kv(kv, col, self.items.d);
            let k0v0 = self.items_column(&mut xc, rows, n_train, source, Queries::All, keep);
            scatter_column(&xc, x, t, col, e);
            if let (Some(kept), Some((k0, v0))) = (kept.as_mut(), k0v0) {
                kept.k.extend_from_slice(&k0);
                kept.v.extend_from_slice(&v0);
            }
        }
        kept
    }

    /// The last layer restricted to what the decoder reads: the target token (last of the
    /// `t`) of the test rows. `x` is not modified. Returns `[rows − n_train, E]`.
    pub fn forward_test_targets(
        &self,
        x: &[f32],
        rows: usize,
        t: usize,
        n_train: usize,
        kv: HostKv<'_>,
    ) -> Vec<f32> {
        let mut xc = self.features_target(x, rows, t);
        let source = column_kv(kv, t - 1, self.items.d);
        self.items_column(&mut xc, rows, n_train, source, Queries::TestOnly, false);
        let mut out = xc.split_off(n_train * self.e);
        self.mlp(&mut out);
        out
    }

    /// The last layer of a cache build: only the train rows' head-0 K/V of the items
    /// attention is needed. `x` holds train rows only and is overwritten.
    pub fn items_kv_only(&self, x: &mut [f32], rows: usize, t: usize) -> HeadZeroKv {
        self.features_attention(x, t);
        let (e, d) = (self.e, self.items.d);
        let mut xc = vec![0.0f32; rows * e];
        let mut k = Vec::with_capacity(t * rows * d);
        let mut v = Vec::with_capacity(t * rows * d);
        for col in 0..t {
            gather_column(x, &mut xc, t, col, e);
            let (k0, v0) = self.items.head_zero_kv(&xc, rows, e);
            k.extend_from_slice(&k0);
            v.extend_from_slice(&v0);
        }
        HeadZeroKv { k, v, n: rows }
    }

    /// Attention between features over all `t` tokens of every row of `x [rows, t, E]`,
    /// in place, `LN(x + ·)` included.
    pub fn features_attention(&self, x: &mut [f32], t: usize) {
        let a = &self.feat;
        let (e, hd, d) = (self.e, a.hd(), a.d);
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
                    MatRef::new(&a.w_qkv, e, 3 * hd, 3 * hd),
                    false,
                    Threads::One,
                );
                let qkv_m = MatRef::new(qkv, tokens, 3 * hd, 3 * hd);
                for (r, o_row) in o.chunks_mut(t * hd).enumerate() {
                    let rows_r = r * t..(r + 1) * t;
                    for h in 0..a.heads {
                        let c = h * d..(h + 1) * d;
                        let mut out = MatMut::new(o_row, t, hd, hd).cols_range(c.clone());
                        attend(
                            qkv_m.sub(rows_r.clone(), c.clone()),
                            qkv_m.sub(rows_r.clone(), hd + c.start..hd + c.end),
                            qkv_m.sub(rows_r.clone(), 2 * hd + c.start..2 * hd + c.end),
                            &mut out,
                            a.scale,
                            scratch,
                        );
                    }
                }
                a.project_out_into(o, y, tokens, e, Threads::One);
                add_layer_norm(chunk, y, e);
            },
        );
    }

    /// Attention between features for the target token only (queries of the last token
    /// against all tokens' K/V), `LN(x + ·)` of that token. Returns `[rows, E]`.
    fn features_target(&self, x: &[f32], rows: usize, t: usize) -> Vec<f32> {
        let a = &self.feat;
        let (e, hd, d) = (self.e, a.hd(), a.d);
        let w = MatRef::new(&a.w_qkv, e, 3 * hd, 3 * hd);
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
                    for h in 0..a.heads {
                        let c = h * d..(h + 1) * d;
                        let mut out = MatMut::new(o_row, 1, hd, hd).cols_range(c.clone());
                        attend(
                            q_m.sub(r..r + 1, c.clone()),
                            kv_m.sub(rows_r.clone(), c.clone()),
                            kv_m.sub(rows_r.clone(), hd + c.start..hd + c.end),
                            &mut out,
                            a.scale,
                            scratch,
                        );
                    }
                }
                let y = a.project_out(&o, n, e, Threads::One);
                for r in 0..n {
                    tgt[r * e..(r + 1) * e].copy_from_slice(&last[r * t * e..r * t * e + e]);
                }
                add_layer_norm(tgt, &y, e);
            });
        target
    }

    /// Attention between items of one token column `xc [rows, E]`, then `LN(x + ·)` of the
    /// querying rows. Train rows (the first `n_train`) attend to the train rows with every
    /// head; test rows attend to head 0's K/V, shared by all query heads (the reference's
    /// multi-query path), so the heads are stacked into one `[M·H, D]` query matrix.
    /// Returns the train rows' head-0 K/V (`[N, D]` each) when `keep`.
    fn items_column(
        &self,
        xc: &mut [f32],
        rows: usize,
        n_train: usize,
        source: HostKv<'_>,
        queries: Queries,
        keep: bool,
    ) -> Option<(Vec<f32>, Vec<f32>)> {
        let a = &self.items;
        let (e, hd, d) = (self.e, a.hd(), a.d);
        let m = rows - n_train;
        let q_start = if queries == Queries::All { 0 } else { n_train };
        let nq = rows - q_start;
        let w = MatRef::new(&a.w_qkv, e, 3 * hd, 3 * hd);

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
        } else if let HostKv::FromTrain = source {
            if n_train > 0 {
                head0 = Some(a.head_zero_kv(xc, n_train, e));
            }
        }
        let (k0, v0, n_keys) = match (source, &head0) {
            (HostKv::Cached { k, v, n }, _) => {
                (MatRef::new(k, n, d, d), MatRef::new(v, n, d, d), n)
            }
            (HostKv::FromTrain, Some((k, v))) => (
                MatRef::new(k, n_train, d, d),
                MatRef::new(v, n_train, d, d),
                n_train,
            ),
            (HostKv::FromTrain, None) => {
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
            let packed: Vec<SharedKv<'_>> = (0..a.heads)
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
                            a.scale,
                            scratch,
                        );
                    }
                },
            );
        }
        if m > 0 {
            // [M, H·D] row-major is [M·H, D]: every head of every test row is one query
            let stacked = m * a.heads;
            let per = rows_per_task(stacked, n_keys);
            let kv = SharedKv::new(k0, v0, stacked);
            o_test.par_chunks_mut(per * d).enumerate().for_each_init(
                Scratch::default,
                |scratch, (i, o_blk)| {
                    let len = o_blk.len() / d;
                    let qm = MatRef::new(q_test, stacked, d, d);
                    kv.attend(
                        qm.sub(i * per..i * per + len, 0..d),
                        &mut MatMut::new(o_blk, len, d, d),
                        a.scale,
                        scratch,
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

        let y = a.project_out(&o, nq, e, Threads::Pool);
        let xq = &mut xc[q_start * e..];
        xq.par_chunks_mut(TOKENS_PER_TASK * e)
            .zip(y.par_chunks(TOKENS_PER_TASK * e))
            .for_each(|(xs, ys)| add_layer_norm(xs, ys, e));
        kept
    }

    /// The MLP on every token of `x [tokens, E]`, in place, `LN(x + ·)` included.
    pub fn mlp(&self, x: &mut [f32]) {
        let (e, nhid) = (self.e, self.nhid);
        x.par_chunks_mut(TOKENS_PER_TASK * e).for_each_init(
            || (Vec::new(), Vec::new()),
            |(h, y), chunk| {
                let tokens = chunk.len() / e;
                h.resize(tokens * nhid, 0.0);
                y.resize(tokens * e, 0.0);
                matmul(
                    &mut MatMut::new(h, tokens, nhid, nhid),
                    MatRef::new(chunk, tokens, e, e),
                    MatRef::new(&self.w1, e, nhid, nhid),
                    false,
                    Threads::One,
                );
                gelu_in_place(h);
                matmul(
                    &mut MatMut::new(y, tokens, e, e),
                    MatRef::new(h, tokens, nhid, nhid),
                    MatRef::new(&self.w2, nhid, e, e),
                    false,
                    Threads::One,
                );
                add_layer_norm(chunk, y, e);
            },
        );
    }
}

impl HostAttention {
    /// `o [n, H·D] · w_out → [n, E]`.
    fn project_out(&self, o: &[f32], n: usize, e: usize, threads: Threads) -> Vec<f32> {
        let mut y = vec![0.0f32; n * e];
        self.project_out_into(o, &mut y, n, e, threads);
        y
    }

    /// [`Self::project_out`] into `y [n, E]`.
    fn project_out_into(&self, o: &[f32], y: &mut [f32], n: usize, e: usize, threads: Threads) {
        let hd = self.hd();
        matmul(
            &mut MatMut::new(y, n, e, e),
            MatRef::new(o, n, hd, hd),
            MatRef::new(&self.w_out, hd, e, e),
            false,
            threads,
        );
    }

    /// Head-0 keys and values of `x [n, E]`: `([n, D], [n, D])`.
    fn head_zero_kv(&self, x: &[f32], n: usize, e: usize) -> (Vec<f32>, Vec<f32>) {
        let (hd, d) = (self.hd(), self.d);
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

    fn attend(&self, q: MatRef<'_>, out: &mut MatMut<'_>, scale: f32, scratch: &mut Scratch) {
        match self {
            Self::Packed(kv) => attend_packed(q, kv, out, scale, scratch),
            Self::InPlace(k, v) => attend(q, *k, *v, out, scale, scratch),
        }
    }
}

/// The K/V source of token column `col`: a cache's `[T, N, D]` narrowed to that column's
/// `[N, D]`.
fn column_kv(kv: HostKv<'_>, col: usize, d: usize) -> HostKv<'_> {
    match kv {
        HostKv::FromTrain => HostKv::FromTrain,
        HostKv::Cached { k, v, n } => {
            let r = col * n * d..(col + 1) * n * d;
            HostKv::Cached {
                k: &k[r.clone()],
                v: &v[r],
                n,
            }
        }
    }
}

/// `xc [rows, E] ← x[:, col, :]` of `x [rows, t, E]`.
fn gather_column(x: &[f32], xc: &mut [f32], t: usize, col: usize, e: usize) {
    xc.par_chunks_mut(TOKENS_PER_TASK * e)
        .enumerate()
        .for_each(|(i, part)| {
            for (r, dst) in part.chunks_exact_mut(e).enumerate() {
                let s = ((i * TOKENS_PER_TASK + r) * t + col) * e;
                dst.copy_from_slice(&x[s..s + e]);
            }
        });
}

/// `x[:, col, :] ← xc`.
fn scatter_column(xc: &[f32], x: &mut [f32], t: usize, col: usize, e: usize) {
    x.par_chunks_mut(TOKENS_PER_TASK * t * e)
        .zip(xc.par_chunks(TOKENS_PER_TASK * e))
        .for_each(|(rows, src)| {
            for (r, s) in src.chunks_exact(e).enumerate() {
                let at = (r * t + col) * e;
                rows[at..at + e].copy_from_slice(s);
            }
        });
}
