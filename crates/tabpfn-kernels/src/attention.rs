//! Softmax attention of one head over blocks of queries, on plain `f32` matrices:
//! `out = softmax(scale · q·kᵀ) · v`, scores kept in a cache-sized block, K/V optionally
//! laid out once for many blocks ([`PackedKv`]), an online softmax over key chunks beyond
//! 2 048 keys.

use crate::exp::{exp_f32, pow2_f32, LOG2E};
use crate::mat::{matmul, MatMut, MatRef, Threads};
use crate::simd;

/// The largest value of `row` (−∞ when empty).
fn row_max(row: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: AVX2 and FMA are present.
        return unsafe { simd::row_max(row) };
    }
    row.iter()
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// `row ← 2^(row · scale + shift)`; returns the sum of the new values.
fn pow2_row(row: &mut [f32], scale: f32, shift: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: AVX2 and FMA are present.
        return unsafe { simd::pow2_row(row, scale, shift) };
    }
    let mut s = 0.0f32;
    for v in row.iter_mut() {
        *v = pow2_f32(v.mul_add(scale, shift));
        s += *v;
    }
    s
}

/// Softmax numerators of one chunk of keys, `scores` (`rows × n`, row stride `ld`):
/// `s ← exp(scale·(s − max))`, where each row's running maximum `maxes[i]` (−∞ before the
/// first chunk) and sum `sums[i]` carry over from the earlier chunks (the caller divides
/// by the sum at the end, on the smaller attention output). On return `factors[i]` is what
/// the row's output accumulated so far must be multiplied by
/// (`exp(scale·(old max − new max))`, 0 before the first chunk).
fn softmax_chunk(
    scores: &mut [f32],
    rows: usize,
    n: usize,
    ld: usize,
    scale: f32,
    run: &mut Running,
) {
    assert!(rows == 0 || (ld >= n && (rows - 1) * ld + n <= scores.len()));
    // exp(scale·(s − m)) = 2^(s·scale₂ − m·scale₂) with scale₂ = scale·log₂e
    let scale2 = scale * LOG2E;
    for i in 0..rows {
        let row = &mut scores[i * ld..i * ld + n];
        let old = run.maxes[i];
        let m = row_max(row).max(old);
        let factor = if old == f32::NEG_INFINITY {
            0.0
        } else {
            exp_f32((old - m) * scale)
        };
        let chunk_sum = pow2_row(row, scale2, -m * scale2);
        run.sums[i] = run.sums[i] * factor + chunk_sum;
        run.maxes[i] = m;
        run.factors[i] = factor;
    }
}

/// Per-row state of an online softmax over key chunks.
#[derive(Default, Debug)]
struct Running {
    maxes: Vec<f32>,
    sums: Vec<f32>,
    factors: Vec<f32>,
}

impl Running {
    fn reset(&mut self, rows: usize) {
        self.maxes.clear();
        self.maxes.resize(rows, f32::NEG_INFINITY);
        self.sums.clear();
        self.sums.resize(rows, 0.0);
        self.factors.resize(rows, 0.0);
    }
}

/// Reusable buffers of [`attend`] (one per thread).
#[derive(Default, Debug)]
pub struct Scratch {
    scores: Vec<f32>,
    running: Running,
    /// A partial block of queries and its output, padded to a full block.
    q_pad: Vec<f32>,
    o_pad: Vec<f32>,
}

/// How a partial block of queries (the last, when the queries do not fill whole blocks)
/// is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocks {
    /// As it is: fastest.
    AsGiven,
    /// Zero-padded to a full block, so that every query goes through products of the same
    /// shape. Why: `gemm` picks its micro-kernels and its blocking of the contraction from
    /// the number of rows, so a query's sums depend on how many other queries share its
    /// block. With full blocks only, each query's result is the same bits whichever other
    /// queries it is computed with (row independence of the test rows).
    Padded,
}

/// A block of scores is bounded to 512 KB (one L2 of this Zen 3): measured best among 2^15–2^18.
const SCORE_BLOCK: usize = 1 << 17;

/// Keys per chunk of the online softmax, used beyond `2 · KEY_CHUNK` keys (a multiple of 8).
const KEY_CHUNK: usize = 1024;

/// Keys per softmax chunk for `n_keys` keys: all of them up to `2 · KEY_CHUNK`.
fn key_chunk(n_keys: usize) -> usize {
    if n_keys > 2 * KEY_CHUNK {
        KEY_CHUNK
    } else {
        n_keys.max(1)
    }
}

/// How many query rows [`attend`] processes at once for `n_keys` keys.
pub fn query_block(n_keys: usize) -> usize {
    let b = (SCORE_BLOCK / key_chunk(n_keys)).clamp(12, 512);
    // whole 6-column tiles of gemm's AVX2 micro-kernel (the queries are its columns)
    b - b % 6
}

/// Keys and values laid out once for many blocks of queries: K transposed to `[D, N₈]` (N
/// rounded up to a multiple of 8, zero-padded) and V contiguous `[N, Dv]`.
///
/// Why: `gemm`'s AVX2 micro-kernel reads the key side of `q·kᵀ` as a column-major matrix
/// whose row count is a multiple of 8; keys in any other layout (rows of a fused QKV
/// product) are re-packed for every block of queries, which at 5 000 keys and ~26 queries
/// per block costs as much as the products themselves.
#[derive(Debug, Clone)]
pub struct PackedKv {
    kt: Vec<f32>,
    v: Vec<f32>,
    n: usize,
    ld: usize,
    d: usize,
    dv: usize,
}

impl PackedKv {
    /// From `k [N, D]` and `v [N, Dv]` (any strides; N ≥ 1).
    pub fn new(k: MatRef<'_>, v: MatRef<'_>) -> Self {
        assert!(
            k.rows == v.rows && k.rows > 0,
            "packed K/V: k [{}, {}], v [{}, {}]",
            k.rows,
            k.cols,
            v.rows,
            v.cols
        );
        let (n, d, dv) = (k.rows, k.cols, v.cols);
        let ld = n.next_multiple_of(8);
        let mut kt = vec![0.0f32; d * ld];
        for (c, row) in kt.chunks_exact_mut(ld).enumerate() {
            for (j, x) in row[..n].iter_mut().enumerate() {
                *x = k.data[j * k.rs + c * k.cs];
            }
        }
        let mut vc = Vec::with_capacity(n * dv);
        for j in 0..n {
            vc.extend((0..dv).map(|c| v.data[j * v.rs + c * v.cs]));
        }
        Self {
            kt,
            v: vc,
            n,
            ld,
            d,
            dv,
        }
    }

    /// Keys N.
    pub fn rows(&self) -> usize {
        self.n
    }
}

/// Softmax attention of one head: `out = softmax(scale · q·kᵀ) · v` with
/// `q [S, D]`, `k [N, D]`, `v [N, Dv]`, `out [S, Dv]` (any strides), queries in blocks of
/// [`query_block`]`(N)` (a partial last block as `blocks` says). Single-threaded: callers
/// parallelise over heads, groups or query blocks. When many blocks share one K/V (N in
/// the thousands), [`attend_packed`] is faster.
pub fn attend(
    q: MatRef<'_>,
    k: MatRef<'_>,
    v: MatRef<'_>,
    out: &mut MatMut<'_>,
    scale: f32,
    scratch: &mut Scratch,
    blocks: Blocks,
) {
    attend_blocks(q, k, k.rows, v, out, scale, scratch, blocks);
}

/// [`attend`] on keys and values laid out by [`PackedKv::new`]: `q [S, D]`, `out [S, Dv]`.
pub fn attend_packed(
    q: MatRef<'_>,
    kv: &PackedKv,
    out: &mut MatMut<'_>,
    scale: f32,
    scratch: &mut Scratch,
    blocks: Blocks,
) {
    let k = MatRef::strided(&kv.kt, kv.ld, kv.d, 1, kv.ld);
    let v = MatRef::new(&kv.v, kv.n, kv.dv, kv.dv);
    attend_blocks(q, k, kv.n, v, out, scale, scratch, blocks);
}

/// The block loop of [`attend`]: `k` may hold zero rows beyond the first `n` (padding for
/// the matmul layout); their scores are computed and ignored.
///
/// Beyond `2 · KEY_CHUNK` keys the keys go in chunks of [`KEY_CHUNK`] with an online
/// softmax (running max and sum per query, earlier output rescaled when the max grows), so
/// a query block no longer shrinks as the keys grow: at 10 000 keys a 512 KB score block
/// would hold 12 queries, each re-reading all K/V from L3. Up to that, one chunk holds all
/// keys and this is the plain two-pass softmax.
#[allow(clippy::too_many_arguments)]
fn attend_blocks(
    q: MatRef<'_>,
    k: MatRef<'_>,
    n: usize,
    v: MatRef<'_>,
    out: &mut MatMut<'_>,
    scale: f32,
    scratch: &mut Scratch,
    blocks: Blocks,
) {
    let (s, ld) = (q.rows, k.rows);
    assert!(
        q.cols == k.cols && v.rows == n && n <= ld && out.rows == s && out.cols == v.cols && n > 0,
        "attention shapes: q [{}, {}], k [{}, {}], v [{}, {}], out [{}, {}]",
        q.rows,
        q.cols,
        n,
        k.cols,
        v.rows,
        v.cols,
        out.rows,
        out.cols
    );
    let (block, chunk) = (query_block(n), key_chunk(n));
    let pad = blocks == Blocks::Padded;
    let (d, dv) = (q.cols, v.cols);
    let mut start = 0;
    while start < s {
        let len = block.min(s - start);
        if pad && len < block {
            // a partial block: run it as a full one on zero-padded copies
            let Scratch { q_pad, o_pad, .. } = scratch;
            q_pad.clear();
            q_pad.resize(block * d, 0.0);
            for i in 0..len {
                for c in 0..d {
                    q_pad[i * d + c] = q.data[(start + i) * q.rs + c * q.cs];
                }
            }
            let mut qp = std::mem::take(q_pad);
            let mut op = std::mem::take(o_pad);
            op.clear();
            op.resize(block * dv, 0.0);
            attend_block(
                MatRef::new(&qp, block, d, d),
                k,
                n,
                v,
                &mut MatMut::new(&mut op, block, dv, dv),
                scale,
                scratch,
                (block, chunk),
            );
            let mut o_rows = out.rows_from(start, len);
            for i in 0..len {
                o_rows.row_mut(i).copy_from_slice(&op[i * dv..(i + 1) * dv]);
            }
            qp.clear();
            (scratch.q_pad, scratch.o_pad) = (qp, op);
        } else {
            let mut o_rows = out.rows_from(start, len);
            attend_block(
                q.sub(start..start + len, 0..d),
                k,
                n,
                v,
                &mut o_rows,
                scale,
                scratch,
                (block, chunk),
            );
        }
        start += len;
    }
}

/// One block of at most `block` queries (`q [len, D]`, `out [len, Dv]`) against all keys,
/// in key chunks of `chunk` with the online softmax.
#[allow(clippy::too_many_arguments)]
fn attend_block(
    q: MatRef<'_>,
    k: MatRef<'_>,
    n: usize,
    v: MatRef<'_>,
    o_rows: &mut MatMut<'_>,
    scale: f32,
    scratch: &mut Scratch,
    (block, chunk): (usize, usize),
) {
    let (len, ld) = (q.rows, k.rows);
    // a chunk's scores span its keys rounded up to the padding, at most `ld`
    scratch
        .scores
        .resize(block * chunk.next_multiple_of(8).min(ld), 0.0);
    let run = &mut scratch.running;
    run.reset(len);
    let mut c0 = 0;
    while c0 < n {
        let c1 = (c0 + chunk).min(n);
        // the zero rows padding K up to a multiple of 8 keep gemm from re-packing it
        let kp = c1.next_multiple_of(8).min(ld) - c0;
        let scores = &mut scratch.scores[..len * kp];
        matmul(
            &mut MatMut::new(scores, len, kp, kp),
            q,
            k.sub(c0..c0 + kp, 0..k.cols).t(),
            false,
            Threads::One,
        );
        softmax_chunk(scores, len, c1 - c0, kp, scale, run);
        if c0 > 0 {
            let factors = &run.factors;
            o_rows.scale_rows(|i| factors[i]);
        }
        matmul(
            o_rows,
            MatRef::new(scores, len, c1 - c0, kp),
            v.sub(c0..c1, 0..v.cols),
            c0 > 0,
            Threads::One,
        );
        c0 = c1;
    }
    let sums = &run.sums;
    o_rows.scale_rows(|i| 1.0 / sums[i]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tabpfn_test_support::assert_close;

    fn naive_attention(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        s: usize,
        n: usize,
        d: usize,
        scale: f32,
    ) -> Vec<f32> {
        let mut out = vec![0.0f64; s * d];
        for i in 0..s {
            let sc: Vec<f64> = (0..n)
                .map(|j| {
                    (0..d)
                        .map(|c| (q[i * d + c] * k[j * d + c]) as f64)
                        .sum::<f64>()
                        * scale as f64
                })
                .collect();
            let m = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = sc.iter().map(|x| (x - m).exp()).collect();
            let z: f64 = e.iter().sum();
            for j in 0..n {
                for c in 0..d {
                    out[i * d + c] += e[j] / z * v[j * d + c] as f64;
                }
            }
        }
        out.into_iter().map(|x| x as f32).collect()
    }

    #[test]
    fn fused_attention_matches_a_naive_one() {
        fused_case(37, 1029, 8);
        // TabPFN's head size, tails of blocks, one key
        fused_case(13, 77, 32);
        fused_case(6, 16, 32);
        fused_case(1, 1, 32);
        // thousands of keys: key chunks with an online softmax, N not a multiple of 8,
        // a last chunk of 52 keys, more queries than one block
        fused_case(70, 3001, 32);
        fused_case(130, 2100, 32);
    }

    fn fused_case(s: usize, n: usize, d: usize) {
        let f = |i: usize, salt: u64| {
            ((((i as u64 + salt) * 2_654_435_761) % 1000) as f32) / 300.0 - 1.6
        };
        let q: Vec<f32> = (0..s * d).map(|i| f(i, 1)).collect();
        let k: Vec<f32> = (0..n * d).map(|i| f(i, 7)).collect();
        let v: Vec<f32> = (0..n * d).map(|i| f(i, 13)).collect();
        let want = naive_attention(&q, &k, &v, s, n, d, 0.35);
        let mut scratch = Scratch::default();
        let mut out = vec![0.0; s * d];
        attend(
            MatRef::new(&q, s, d, d),
            MatRef::new(&k, n, d, d),
            MatRef::new(&v, n, d, d),
            &mut MatMut::new(&mut out, s, d, d),
            0.35,
            &mut scratch,
            Blocks::AsGiven,
        );
        // the packed layout, from K/V interleaved in one buffer as a fused product leaves them
        let kv: Vec<f32> = (0..n)
            .flat_map(|j| k[j * d..(j + 1) * d].iter().chain(&v[j * d..(j + 1) * d]))
            .copied()
            .collect();
        let kvm = MatRef::new(&kv, n, 2 * d, 2 * d);
        let packed = PackedKv::new(kvm.sub(0..n, 0..d), kvm.sub(0..n, d..2 * d));
        assert_eq!(packed.rows(), n);
        let mut out_packed = vec![0.0; s * d];
        attend_packed(
            MatRef::new(&q, s, d, d),
            &packed,
            &mut MatMut::new(&mut out_packed, s, d, d),
            0.35,
            &mut scratch,
            Blocks::Padded,
        );
        for (name, got) in [("attend", &out), ("attend_packed", &out_packed)] {
            // the project's float32 tolerance: outputs are averages of values in [-1.6, 1.7],
            // and gemm's summation order (AVX2 or AVX-512 micro-kernels) moves them by a few
            // 1e-6 at thousands of keys; a wrong kernel (e.g. no rescaling between key
            // chunks) is off by 1e-3
            let d = assert_close(&format!("{name} at {s}×{n}"), got, &want, 1e-5);
            println!("{name} at {s}×{n}: max |Δ| vs f64 {d:.3e}");
        }
    }
}
