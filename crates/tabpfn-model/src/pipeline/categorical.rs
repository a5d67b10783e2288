//! Per-member categorical encodings (`EncodeCategoricalFeaturesStep`): shuffled ordinal
//! codes for very common categories (configs A/A′) and one-hot (config B′).

use serde::{Deserialize, Serialize};

use super::numpy_rng::NumpyRng;

/// Sorted unique values with NaN last (numpy `np.unique` / sklearn `_unique`), and counts.
fn unique_with_counts(col: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut v: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(|a, b| a.partial_cmp(b).expect("NaN filtered"));
    let mut values: Vec<f64> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for x in v {
        if values.last().is_some_and(|&l| l == x) {
            *counts.last_mut().expect("non-empty") += 1;
        } else {
            values.push(x);
            counts.push(1);
        }
    }
    let nans = col.iter().filter(|x| x.is_nan()).count();
    if nans > 0 {
        values.push(f64::NAN);
        counts.push(nans);
    }
    (values, counts)
}

/// Code of `x` among `categories` (NaN matches the NaN category).
fn position(categories: &[f64], x: f64) -> Option<usize> {
    if x.is_nan() {
        categories.iter().position(|c| c.is_nan())
    } else {
        categories.iter().position(|&c| c == x)
    }
}

/// Which categorical columns an `ordinal*` encoding keeps (the name's middle part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CategoryFilter {
    /// `ordinal`, `ordinal_shuffled`: every categorical column.
    All,
    /// `ordinal_common_categories*`: the rarest value occurs at least 10 times.
    Common,
    /// `ordinal_very_common_categories*`: that, and fewer than `rows / 10` distinct values.
    VeryCommon,
}

/// A fitted categorical encoding of one member.
#[derive(Debug, Clone, PartialEq)]
pub enum CategoricalEncoding {
    /// Columns unchanged.
    Passthrough,
    /// Kept columns first as (possibly shuffled) ordinal codes (unknown and missing → NaN),
    /// the rest after.
    OrdinalShuffled {
        kept: Vec<usize>,
        categories: Vec<Vec<f64>>,
        perms: Vec<Vec<usize>>,
        width: usize,
    },
    /// One-hot blocks for the categorical columns first (binary columns keep one
    /// indicator), the rest after.
    OneHot {
        columns: Vec<usize>,
        categories: Vec<Vec<f64>>,
        width: usize,
    },
}

impl CategoricalEncoding {
    /// The `ordinal*` encodings: keeps the categorical columns that pass `filter` (all,
    /// rarest value ≥ 10 times, or that and fewer than `rows / 10` distinct values) as
    /// ordinal codes, randomly relabelled per column when `shuffled`. The configs A/A′ use
    /// `ordinal_very_common_categories_shuffled`. Returns the encoding and the new
    /// categorical indices.
    pub fn fit_ordinal(
        x: &[Vec<f64>],
        rows: usize,
        cat: &[usize],
        seed: u64,
        filter: CategoryFilter,
        shuffled: bool,
    ) -> (Self, Vec<usize>) {
        let kept: Vec<usize> = (0..x.len())
            .filter(|i| cat.contains(i))
            .filter(|&i| {
                let (values, counts) = unique_with_counts(&x[i]);
                let least = counts.iter().copied().min().unwrap_or(0);
                match filter {
                    CategoryFilter::All => true,
                    CategoryFilter::Common => least >= 10,
                    CategoryFilter::VeryCommon => least >= 10 && values.len() < rows / 10,
                }
            })
            .collect();
        let categories: Vec<Vec<f64>> = kept.iter().map(|&i| unique_with_counts(&x[i]).0).collect();
        let mut rng = NumpyRng::new(seed);
        let perms = categories
            .iter()
            .map(|c| {
                if shuffled {
                    rng.permutation(c.len())
                } else {
                    (0..c.len()).collect()
                }
            })
            .collect();
        let new_cat = (0..kept.len()).collect();
        (
            Self::OrdinalShuffled {
                kept,
                categories,
                perms,
                width: x.len(),
            },
            new_cat,
        )
    }

    /// `onehot` with `drop="if_binary"`, `handle_unknown="ignore"`. Skipped (columns
    /// unchanged) when the encoded train matrix would have ≥ 1 000 000 cells, as in the reference.
    pub fn fit_onehot(x: &[Vec<f64>], rows: usize, cat: &[usize]) -> (Self, Vec<usize>) {
        let columns: Vec<usize> = (0..x.len()).filter(|i| cat.contains(i)).collect();
        let categories: Vec<Vec<f64>> = columns
            .iter()
            .map(|&i| unique_with_counts(&x[i]).0)
            .collect();
        let onehot_width: usize = categories
            .iter()
            .map(|c| if c.len() == 2 { 1 } else { c.len() })
            .sum();
        let total = onehot_width + x.len() - columns.len();
        if total * rows >= 1_000_000 {
            return (Self::Passthrough, cat.to_vec());
        }
        (
            Self::OneHot {
                columns,
                categories,
                width: x.len(),
            },
            (0..onehot_width).collect(),
        )
    }

    /// Applies the encoding to columns `x` (each `rows` long).
    pub fn apply(&self, x: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        match self {
            Self::Passthrough => x,
            Self::OrdinalShuffled {
                kept,
                categories,
                perms,
                width,
            } => {
                debug_assert_eq!(x.len(), *width);
                let mut out = Vec::with_capacity(x.len());
                for ((&i, cats), perm) in kept.iter().zip(categories).zip(perms) {
                    out.push(
                        x[i].iter()
                            .map(|&v| {
                                if v.is_nan() {
                                    return f64::NAN;
                                }
                                match position(cats, v) {
                                    Some(code) => perm[code] as f64,
                                    None => f64::NAN,
                                }
                            })
                            .collect(),
                    );
                }
                let kept: std::collections::HashSet<usize> = kept.iter().copied().collect();
                for (i, col) in x.into_iter().enumerate() {
                    if !kept.contains(&i) {
                        out.push(col);
                    }
                }
                out
            }
            Self::OneHot {
                columns,
                categories,
                width,
            } => {
                debug_assert_eq!(x.len(), *width);
                let mut out = Vec::new();
                for (&i, cats) in columns.iter().zip(categories) {
                    let codes: Vec<Option<usize>> =
                        x[i].iter().map(|&v| position(cats, v)).collect();
                    let first = if cats.len() == 2 { 1 } else { 0 };
                    for k in first..cats.len() {
                        out.push(
                            codes
                                .iter()
                                .map(|c| if *c == Some(k) { 1.0 } else { 0.0 })
                                .collect(),
                        );
                    }
                }
                let encoded: std::collections::HashSet<usize> = columns.iter().copied().collect();
                for (i, col) in x.into_iter().enumerate() {
                    if !encoded.contains(&i) {
                        out.push(col);
                    }
                }
                out
            }
        }
    }
}
