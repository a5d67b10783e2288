//! One encoder layer on host buffers: attention between features (per row, over tokens),
//! attention between items (per token column, over rows), MLP; each `x ← LN(x + f(x))`.

use rayon::prelude::*;
use tabpfn_attention::cpu::{ColumnKv, Queries, TOKENS_PER_TASK};
use tabpfn_attention::HostKv;
use tabpfn_kernels::{add_layer_norm, gelu_in_place, matmul, MatMut, MatRef, Threads};

use super::HostLayer;

impl HostLayer {
    /// The post-norm residual of every sub-layer: `x ← LN(x + y)`.
    fn post_norm(&self) -> impl Fn(&mut [f32], &[f32]) + Sync {
        let e = self.e;
        move |x: &mut [f32], y: &[f32]| add_layer_norm(x, y, e)
    }

    /// The full layer, in place on `x [rows, t, E]` whose first `n_train` rows are train
    /// rows; test rows read the items K/V of `cache` (`[T, 1, N, D]`) when given, else the
    /// train rows'. Returns the train rows' head-0 K/V `[T, 1, n_train, D]` when `keep`.
    pub fn forward(
        &self,
        x: &mut [f32],
        rows: usize,
        t: usize,
        n_train: usize,
        cache: Option<&HostKv>,
        keep: bool,
    ) -> Option<HostKv> {
        self.features_attention(x, t);
        let kept = self.items_attention(x, rows, t, n_train, cache, keep);
        self.mlp(x);
        kept
    }

    /// Attention between features over all `t` tokens of every row of `x [rows, t, E]`,
    /// in place, `LN(x + ·)` included.
    pub fn features_attention(&self, x: &mut [f32], t: usize) {
        self.feat.self_attend_rows(x, t, &self.post_norm());
    }

    /// Attention between items for every token column of `x [rows, t, E]` (in place,
    /// `LN(x + ·)` included). Returns the train rows' head-0 K/V when `keep`.
    pub fn items_attention(
        &self,
        x: &mut [f32],
        rows: usize,
        t: usize,
        n_train: usize,
        cache: Option<&HostKv>,
        keep: bool,
    ) -> Option<HostKv> {
        let (e, d) = (self.e, self.items.head_dim());
        let mut xc = vec![0.0f32; rows * e];
        let mut kept = keep.then(|| {
            (
                Vec::with_capacity(t * n_train * d),
                Vec::with_capacity(t * n_train * d),
            )
        });
        let residual = self.post_norm();
        for col in 0..t {
            gather_column(x, &mut xc, t, col, e);
            let k0v0 = self.items.attend_column(
                &mut xc,
                rows,
                n_train,
                ColumnKv::of(cache, col),
                Queries::All,
                keep,
                &residual,
            );
            scatter_column(&xc, x, t, col, e);
            if let (Some((k, v)), Some((k0, v0))) = (kept.as_mut(), k0v0) {
                k.extend_from_slice(&k0);
                v.extend_from_slice(&v0);
            }
        }
        kept.filter(|_| n_train > 0)
            .map(|(k, v)| HostKv::new(k, v, [t, 1, n_train, d], d).expect("sizes built above"))
    }

    /// The last layer restricted to what the decoder reads: the target token (last of the
    /// `t`) of the test rows. `x` is not modified. Returns `[rows − n_train, E]`.
    pub fn forward_test_targets(
        &self,
        x: &[f32],
        rows: usize,
        t: usize,
        n_train: usize,
        cache: Option<&HostKv>,
    ) -> Vec<f32> {
        let residual = self.post_norm();
        let mut xc = self.feat.last_token_attend_rows(x, rows, t, &residual);
        self.items.attend_column(
            &mut xc,
            rows,
            n_train,
            ColumnKv::of(cache, t - 1),
            Queries::TestOnly,
            false,
            &residual,
        );
        let mut out = xc.split_off(n_train * self.e);
        self.mlp(&mut out);
        out
    }

    /// The last layer of a cache build: only the train rows' head-0 K/V of the items
    /// attention is needed (`[T, 1, N, D]`). `x` holds train rows only and is overwritten.
    pub fn items_kv_only(&self, x: &mut [f32], rows: usize, t: usize) -> HostKv {
        self.features_attention(x, t);
        let (e, d) = (self.e, self.items.head_dim());
        let mut xc = vec![0.0f32; rows * e];
        let mut k = Vec::with_capacity(t * rows * d);
        let mut v = Vec::with_capacity(t * rows * d);
        for col in 0..t {
            gather_column(x, &mut xc, t, col, e);
            let (k0, v0) = self.items.head_zero_kv(&xc, rows);
            k.extend_from_slice(&k0);
            v.extend_from_slice(&v0);
        }
        HostKv::new(k, v, [t, 1, rows, d], d).expect("sizes built above")
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
