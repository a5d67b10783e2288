//! `POLYNOMIAL_FEATURES` (`NanHandlingPolynomialFeaturesStep`, the first member step when
//! on): the columns scaled by their standard deviation, then products of randomly chosen
//! column pairs appended.
//!
//! The reference draws each product's second factor from `list(set(range(f1, d)) -
//! set(used))`, so the order of that list — CPython's set iteration order, which is the
//! slot order of its open-addressing table — decides which column a draw picks.
//! [`PySet`] reproduces CPython 3.11's table for small non-negative ints (hash = value):
//! insertion with 9 linear probes then perturbation, the resize rule, `set.copy` and
//! `set.difference` (checked against CPython by `fixtures/pipeline/python_set_order.json`).

use serde::{Deserialize, Serialize};

use super::numpy_rng::NumpyRng;
use crate::error::{input_err, Result};

/// The most product columns a member may get (each is a network feature).
pub const MAX_PRODUCTS: usize = 100_000;

/// `POLYNOMIAL_FEATURES`: "no", "all", or at most this many products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PolynomialFeatures {
    #[default]
    No,
    All,
    Max(usize),
}

/// The fitted step: per-column scale and the factor pairs of the appended products.
#[derive(Debug, Clone, PartialEq)]
pub struct Polynomial {
    scale: Vec<f64>,
    f1: Vec<usize>,
    f2: Vec<usize>,
}

impl Polynomial {
    /// Fits on the train columns `x` with the member seed's generator; returns the step
    /// and the widened train columns.
    pub fn fit_transform(
        x: &[Vec<f64>],
        rows: usize,
        max: PolynomialFeatures,
        seed: u64,
    ) -> Result<(Option<Self>, Vec<Vec<f64>>)> {
        let d = x.len();
        if rows == 0 || d == 0 || max == PolynomialFeatures::No {
            return Ok((None, x.to_vec()));
        }
        let all = d * (d - 1) / 2 + d;
        let n = match max {
            PolynomialFeatures::Max(m) if m > 0 => m.min(all),
            _ => all,
        };
        if n > MAX_PRODUCTS {
            return Err(input_err(
                "POLYNOMIAL_FEATURES",
                format!(
                    "\"all\" gives {n} product columns for {d} features, more than \
                     {MAX_PRODUCTS}; give a count instead"
                ),
            ));
        }
        let scale = x.iter().map(|c| nan_std_scale(c)).collect();
        let mut rng = NumpyRng::new(seed);
        let mut f1: Vec<i64> = rng.integers_n(0, d as i64, n);
        let mut f2: Vec<i64> = vec![-1; n];
        for i in 0..n {
            while f2[i] == -1 {
                let a = f1[i];
                let used: Vec<i64> = (0..n).filter(|&k| f1[k] == a).map(|k| f2[k]).collect();
                let left = PySet::from_range(a, d as i64).difference(&used);
                if left.is_empty() {
                    f1[i] = rng.integers(0, d as i64);
                    continue;
                }
                f2[i] = left[rng.integers(0, left.len() as i64) as usize];
            }
        }
        let step = Self {
            scale,
            f1: f1.into_iter().map(|v| v as usize).collect(),
            f2: f2.into_iter().map(|v| v as usize).collect(),
        };
        let out = step.transform(x);
        Ok((Some(step), out))
    }

    /// The scaled columns, then one product column per factor pair.
    pub fn transform(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let scaled: Vec<Vec<f64>> = x
            .iter()
            .zip(&self.scale)
            .map(|(c, &s)| c.iter().map(|v| v / s).collect())
            .collect();
        let mut out = scaled.clone();
        for (&a, &b) in self.f1.iter().zip(&self.f2) {
            out.push(
                scaled[a]
                    .iter()
                    .zip(&scaled[b])
                    .map(|(u, v)| u * v)
                    .collect(),
            );
        }
        out
    }
}

/// `StandardScaler(with_mean=False)`: the NaN-ignoring population standard deviation
/// (sklearn's `_incremental_mean_and_var` on one batch, its sums along axis 0 sequential as
/// numpy's are), 1 where it is below 10·ε.
fn nan_std_scale(col: &[f64]) -> f64 {
    let finite: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
    if finite.is_empty() {
        return 1.0;
    }
    let n = finite.len() as f64;
    let sum: f64 = col.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).sum();
    let mean = sum / n;
    let dev: Vec<f64> = finite.iter().map(|v| v - mean).collect();
    let correction: f64 = dev.iter().sum();
    let sq: f64 = dev.iter().map(|v| v * v).sum();
    let var = (sq - correction * correction / n) / n;
    let s = var.sqrt();
    if s < 10.0 * f64::EPSILON {
        1.0
    } else {
        s
    }
}

/// CPython 3.11's `set` of small non-negative ints, enough to reproduce the iteration order
/// of `set(range(a, d)) - set(used)`.
#[derive(Debug, Clone)]
struct PySet {
    /// Slot contents: `None` empty, `Some(None)` a deleted ("dummy") slot.
    table: Vec<Option<Option<i64>>>,
    fill: usize,
    used: usize,
}

const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

impl PySet {
    fn new() -> Self {
        Self {
            table: vec![None; 8],
            fill: 0,
            used: 0,
        }
    }

    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// `set(range(a, d))`, inserted one by one (`set_add_entry`).
    fn from_range(a: i64, d: i64) -> Self {
        let mut s = Self::new();
        for v in a..d {
            s.add(v);
        }
        s
    }

    fn add(&mut self, v: i64) {
        debug_assert!(v >= 0);
        let mask = self.mask();
        let mut i = v as usize & mask;
        let mut perturb = v as u64;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            for j in 0..=probes {
                match self.table[i + j] {
                    None => {
                        self.table[i + j] = Some(Some(v));
                        self.fill += 1;
                        self.used += 1;
                        if self.fill * 5 >= mask * 3 {
                            let minused = if self.used > 50_000 {
                                self.used * 2
                            } else {
                                self.used * 4
                            };
                            self.resize(minused);
                        }
                        return;
                    }
                    Some(Some(k)) if k == v => return,
                    _ => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i * 5 + 1 + perturb as usize) & mask;
        }
    }

    /// `set_table_resize`: the smallest power of two above `minused` (at least 8), the
    /// live entries re-inserted in slot order.
    fn resize(&mut self, minused: usize) {
        let mut size = 8;
        while size <= minused {
            size <<= 1;
        }
        let old = std::mem::replace(&mut self.table, vec![None; size]);
        for v in old.into_iter().flatten().flatten() {
            self.insert_clean(v);
        }
        self.fill = self.used;
    }

    /// `set_insert_clean`: into a table without dummies or equal keys.
    fn insert_clean(&mut self, v: i64) {
        let mask = self.mask();
        let mut i = v as usize & mask;
        let mut perturb = v as u64;
        loop {
            if self.table[i].is_none() {
                self.table[i] = Some(Some(v));
                return;
            }
            if i + LINEAR_PROBES <= mask {
                for j in 1..=LINEAR_PROBES {
                    if self.table[i + j].is_none() {
                        self.table[i + j] = Some(Some(v));
                        return;
                    }
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i * 5 + 1 + perturb as usize) & mask;
        }
    }

    /// `self - set(other)` in CPython's iteration order (`set_difference`): a copy with
    /// the common keys discarded when `len(self) / 4 > len(set(other))`, else a new set
    /// of the keys not in `other`, added in `self`'s slot order.
    fn difference(&self, other: &[i64]) -> Vec<i64> {
        let mut distinct = other.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let live = || self.table.iter().filter_map(|e| e.flatten());
        if (self.used >> 2) > distinct.len() {
            let mut copy = self.copy();
            for e in copy.table.iter_mut() {
                if let Some(Some(k)) = e {
                    if distinct.binary_search(k).is_ok() {
                        *e = Some(None);
                    }
                }
            }
            return copy.table.iter().filter_map(|e| e.flatten()).collect();
        }
        let mut out = Self::new();
        for k in live() {
            if distinct.binary_search(&k).is_err() {
                out.add(k);
            }
        }
        out.table.iter().filter_map(|e| e.flatten()).collect()
    }

    /// `set.copy()` (`set_merge` into an empty set).
    fn copy(&self) -> Self {
        let mut out = Self::new();
        if self.used == 0 {
            return out;
        }
        if (out.fill + self.used) * 5 >= out.mask() * 3 {
            out.resize((out.used + self.used) * 2);
        }
        let no_dummies = self.fill == self.used;
        if out.table.len() == self.table.len() && no_dummies {
            out.table = self.table.clone();
        } else {
            for v in self.table.iter().filter_map(|e| e.flatten()) {
                out.insert_clean(v);
            }
        }
        out.fill = self.used;
        out.used = self.used;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `list(set(range(a, d)) - set(used))` as CPython 3.11.7 iterates it
    /// (python/gen_pipeline.py writes the cases).
    #[test]
    fn set_difference_order_matches_cpython() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/pipeline/python_set_order.json");
        let cases: Vec<(i64, i64, Vec<i64>, Vec<i64>)> =
            serde_json::from_reader(std::fs::File::open(path).unwrap()).unwrap();
        assert!(cases.len() >= 20);
        for (a, d, used, want) in cases {
            let got = PySet::from_range(a, d).difference(&used);
            assert_eq!(got, want, "set(range({a}, {d})) - set({used:?})");
        }
    }
}
