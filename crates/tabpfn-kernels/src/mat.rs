//! Strided matrix views over plain `f32` slices and the `gemm`-crate product on them.
//!
//! Views are bounds-checked once, at construction; [`matmul`] then hands their pointers and
//! strides to `gemm`, the one `unsafe` call of this module.

use std::ops::Range;

/// A read-only strided matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

/// A writable strided matrix view (same indexing as [`MatRef`]).
#[derive(Debug)]
pub struct MatMut<'a> {
    pub(crate) data: &'a mut [f32],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        return 0;
    }
    // saturating: a span that overflows can never fit a slice, so the caller's check fails
    (rows - 1)
        .saturating_mul(rs)
        .saturating_add((cols - 1).saturating_mul(cs))
        .saturating_add(1)
}

/// Panics unless a `rows × cols` view with strides `rs`, `cs` fits `len` values: views are
/// built by this crate's callers from sizes they just allocated, so a misfit is a bug.
fn check_span(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) {
    assert!(
        span(rows, cols, rs, cs) <= len,
        "matrix view {rows}×{cols} (strides {rs}, {cs}) over {len} values"
    );
}

impl<'a> MatRef<'a> {
    /// Row-major view of `rows × cols` with row stride `rs` (≥ cols). Panics if `data` is
    /// too short: views are built by this crate's callers from sizes they just allocated.
    pub fn new(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> Self {
        Self::strided(data, rows, cols, rs, 1)
    }

    pub(crate) fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        check_span(data.len(), rows, cols, rs, cs);
        Self {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Rows `r` and columns `c` of the view.
    pub fn sub(self, r: Range<usize>, c: Range<usize>) -> Self {
        assert!(
            r.end <= self.rows && c.end <= self.cols,
            "sub-view out of range"
        );
        let off = r.start * self.rs + c.start * self.cs;
        let rows = r.len();
        let cols = c.len();
        let end = off + span(rows, cols, self.rs, self.cs);
        Self::strided(&self.data[off..end.max(off)], rows, cols, self.rs, self.cs)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<'a> MatMut<'a> {
    /// Row-major view of `rows × cols` with row stride `rs` (≥ cols).
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize, rs: usize) -> Self {
        check_span(data.len(), rows, cols, rs, 1);
        Self {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    /// Columns `c` of the view, all rows.
    pub fn cols_range(self, c: Range<usize>) -> MatMut<'a> {
        assert!(c.end <= self.cols, "column range out of view");
        let off = c.start * self.cs;
        let cols = c.len();
        let end = off + span(self.rows, cols, self.rs, self.cs);
        MatMut {
            data: &mut self.data[off..end.max(off)],
            rows: self.rows,
            cols,
            rs: self.rs,
            cs: self.cs,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows `start..start + len`, all columns.
    pub(crate) fn rows_from(&mut self, start: usize, len: usize) -> MatMut<'_> {
        assert!(start + len <= self.rows, "row range out of view");
        MatMut {
            data: &mut self.data[start * self.rs..],
            rows: len,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        }
    }

    /// Multiplies row `i` by `f(i)`.
    pub(crate) fn scale_rows(&mut self, f: impl Fn(usize) -> f32) {
        for i in 0..self.rows {
            let c = f(i);
            if c == 1.0 {
                continue;
            }
            if self.cs == 1 {
                for x in self.row_mut(i) {
                    *x *= c;
                }
            } else {
                for j in 0..self.cols {
                    self.data[i * self.rs + j * self.cs] *= c;
                }
            }
        }
    }

    /// Row `i` (needs a unit column stride).
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        assert_eq!(self.cs, 1);
        let s = i * self.rs;
        &mut self.data[s..s + self.cols]
    }
}

/// Whether a product may spread over the rayon pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// Single-threaded (inside an already parallel loop).
    One,
    /// All threads of the current rayon pool.
    Pool,
}

/// `dst = a · b` (or `dst += a · b` with `accumulate`). Shapes: `a [m, k]`, `b [k, n]`,
/// `dst [m, n]`; panics on a mismatch (a bug in the caller, never a data error).
pub fn matmul(
    dst: &mut MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
    threads: Threads,
) {
    assert!(
        a.cols == b.rows && dst.rows == a.rows && dst.cols == b.cols,
        "matmul shapes: [{}, {}] · [{}, {}] → [{}, {}]",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        dst.rows,
        dst.cols
    );
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[i * dst.rs + j * dst.cs] = 0.0;
                }
            }
        }
        return;
    }
    if m == 1 {
        // `gemm` computes a single row with its matrix-vector kernel, whose sums run in
        // another order than the row's sums in any taller product: compute it as a
        // two-row product instead, so that a row's result never depends on whether it was
        // alone (row independence of the test rows)
        let mut a2 = vec![0.0f32; 2 * k];
        for (j, x) in a2[..k].iter_mut().enumerate() {
            *x = a.data[j * a.cs];
        }
        let mut d2 = vec![0.0f32; 2 * n];
        if accumulate {
            for (j, x) in d2[..n].iter_mut().enumerate() {
                *x = dst.data[j * dst.cs];
            }
        }
        matmul(
            &mut MatMut::new(&mut d2, 2, n, n),
            MatRef::new(&a2, 2, k, k),
            b,
            accumulate,
            threads,
        );
        for (j, x) in d2[..n].iter().enumerate() {
            dst.data[j * dst.cs] = *x;
        }
        return;
    }
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::Pool => match rayon::current_num_threads() {
            0 | 1 => gemm::Parallelism::None,
            t => gemm::Parallelism::Rayon(t),
        },
    };
    // SAFETY: the three views were bounds-checked at construction (every index
    // (i, j) < (rows, cols) maps inside its slice), `dst` is borrowed mutably and so does
    // not alias `a` or `b`, and the strides fit in isize because the slices exist.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            dst.cs as isize,
            dst.rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
