//! The estimators' first step (2.2.1 `infer_categorical_features`, `fix_dtypes`,
//! `process_text_na_dataframe`): categorical inference on the raw columns and the ordinal
//! encoding of categorical and text columns into one float64 matrix.
//!
//! Two quirks of 2.2.1 are reproduced on purpose (pipeline.md §2.5): the encoded columns
//! move to the front while the categorical indices keep their original positions, and the
//! NaN write-back for missing text cells lands on the *original* column position of the
//! reordered matrix.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::frame::{ColumnValues, DataFrame};
use crate::error::{input_err, Result};

/// Placeholder the reference writes into missing text cells before encoding.
const NA_PLACEHOLDER: &str = "__MISSING__";

/// Knobs of categorical inference (`ModelInterfaceConfig` defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalInference {
    /// A user-named categorical column stays categorical iff it has at most this many
    /// distinct values (missing counts as one).
    pub max_unique_for_category: usize,
    /// Other columns are categorical iff they have fewer distinct values than this…
    pub min_unique_for_numerical: usize,
    /// …and the table has more rows than this.
    pub min_samples_for_inference: usize,
}

impl Default for CategoricalInference {
    fn default() -> Self {
        Self {
            max_unique_for_category: 30,
            min_unique_for_numerical: 4,
            min_samples_for_inference: 100,
        }
    }
}

/// Categories of one encoded column, sorted like numpy/pandas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Categories {
    Numeric(Vec<f64>),
    Text(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EncodedColumn {
    /// Position in the input table.
    source: usize,
    categories: Categories,
    /// A text column that is not categorical: missing cells take the placeholder.
    placeholder: bool,
}

/// The fitted top-level encoder (`preprocessor_` of the reference).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEncoder {
    names: Vec<String>,
    text_columns: Vec<bool>,
    encoded: Vec<EncodedColumn>,
    /// Numeric, non-categorical columns in input order, after the encoded ones (and text
    /// columns that had no value at fit, all NaN).
    passthrough: Vec<usize>,
    /// Inferred categorical columns, as original positions (used unchanged downstream).
    categorical: Vec<usize>,
}

fn normalise_zero(v: f64) -> f64 {
    if v == 0.0 {
        0.0
    } else {
        v
    }
}

fn sorted_unique_numeric(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .map(normalise_zero)
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).expect("NaN filtered"));
    v.dedup();
    v
}

fn sorted_unique_text<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<&str> = values.collect();
    v.sort_unstable();
    v.dedup();
    v.into_iter().map(str::to_string).collect()
}

/// `pd.Series(col).nunique(dropna=False)`: distinct values, all missing ones counting as one.
fn n_distinct(values: &ColumnValues) -> usize {
    match values {
        ColumnValues::Numeric(v) => {
            sorted_unique_numeric(v).len() + usize::from(v.iter().any(|x| x.is_nan()))
        }
        ColumnValues::Text(v) => {
            sorted_unique_text(v.iter().flatten().map(String::as_str)).len()
                + usize::from(v.iter().any(Option::is_none))
        }
    }
}

impl TableEncoder {
    /// Infers the categorical columns of the training table and fits the encoder.
    /// `user_categorical` are column positions the user declared categorical.
    pub fn fit(
        x: &DataFrame,
        user_categorical: Option<&[usize]>,
        inference: &CategoricalInference,
    ) -> Result<Self> {
        check_finite(x)?;
        if let Some(user) = user_categorical {
            if let Some(&bad) = user.iter().find(|&&i| i >= x.n_columns()) {
                return Err(input_err(
                    "categorical_features_indices",
                    format!("index {bad} is out of range for {} columns", x.n_columns()),
                ));
            }
        }
        let large_enough = x.rows() > inference.min_samples_for_inference;
        let mut declared_cat = vec![false; x.n_columns()];
        for &i in user_categorical.unwrap_or_default() {
            declared_cat[i] = true;
        }
        let mut categorical = Vec::new();
        let mut is_categorical = vec![false; x.n_columns()];
        for (ix, col) in x.columns().iter().enumerate() {
            let distinct = n_distinct(&col.values);
            let declared = declared_cat[ix];
            let is_cat = if declared {
                distinct <= inference.max_unique_for_category
            } else {
                large_enough && distinct < inference.min_unique_for_numerical
            };
            if is_cat {
                categorical.push(ix);
                is_categorical[ix] = true;
            }
        }
        let mut encoded = Vec::new();
        let mut passthrough = Vec::new();
        for (ix, col) in x.columns().iter().enumerate() {
            let is_cat = is_categorical[ix];
            match &col.values {
                ColumnValues::Numeric(v) if is_cat => encoded.push(EncodedColumn {
                    source: ix,
                    categories: Categories::Numeric(sorted_unique_numeric(v)),
                    placeholder: false,
                }),
                ColumnValues::Numeric(_) => passthrough.push(ix),
                // 2.2.1: a text column with no value at all stays `object` through
                // `convert_dtypes`, so the ordinal encoder skips it and it passes through,
                // all NaN (see `transform`)
                ColumnValues::Text(v) if !is_cat && v.iter().all(Option::is_none) => {
                    passthrough.push(ix)
                }
                ColumnValues::Text(v) => {
                    let cats = if is_cat {
                        sorted_unique_text(v.iter().flatten().map(String::as_str))
                    } else {
                        sorted_unique_text(v.iter().map(|s| s.as_deref().unwrap_or(NA_PLACEHOLDER)))
                    };
                    encoded.push(EncodedColumn {
                        source: ix,
                        categories: Categories::Text(cats),
                        placeholder: !is_cat,
                    })
                }
            }
        }
        Ok(Self {
            names: x.columns().iter().map(|c| c.name.clone()).collect(),
            text_columns: x
                .columns()
                .iter()
                .map(|c| matches!(c.values, ColumnValues::Text(_)))
                .collect(),
            encoded,
            passthrough,
            categorical,
        })
    }

    /// Checks the fields against each other (a saved fit's encoder comes from a file): one
    /// kind per name, every column encoded or passed through exactly once, categorical
    /// positions in range.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        let n = self.names.len();
        if self.text_columns.len() != n {
            return Err(format!(
                "{} column kinds for {n} names",
                self.text_columns.len()
            ));
        }
        let mut seen = vec![false; n];
        let sources = self
            .encoded
            .iter()
            .map(|e| e.source)
            .chain(self.passthrough.iter().copied());
        for src in sources {
            if src >= n || std::mem::replace(&mut seen[src], true) {
                return Err(format!(
                    "column {src} is out of range or encoded twice ({n} columns)"
                ));
            }
        }
        if let Some(j) = seen.iter().position(|s| !s) {
            return Err(format!("column {j} is neither encoded nor passed through"));
        }
        for e in &self.encoded {
            let text = matches!(e.categories, Categories::Text(_));
            if text != self.text_columns[e.source] && (text || e.placeholder) {
                return Err(format!(
                    "column {} has categories of the wrong kind",
                    e.source
                ));
            }
            if let Categories::Text(c) = &e.categories {
                if c.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(format!("column {}'s categories are not sorted", e.source));
                }
            }
        }
        if let Some(&c) = self.categorical.iter().find(|&&c| c >= n) {
            return Err(format!(
                "categorical column {c} is out of range ({n} columns)"
            ));
        }
        Ok(())
    }

    /// Column names seen at fit, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// Whether each input column was text at fit.
    pub fn text_columns(&self) -> &[bool] {
        &self.text_columns
    }

    /// Inferred categorical columns (original positions; the reference hands them on
    /// unchanged although the encoded matrix has its columns reordered).
    pub fn categorical(&self) -> &[usize] {
        &self.categorical
    }

    /// Encodes a table with the fitted categories: `[rows, columns]` float64, encoded
    /// columns first. Unseen categories become −1, missing values NaN.
    pub fn transform(&self, x: &DataFrame) -> Result<Array2<f64>> {
        if x.n_columns() != self.names.len() {
            return Err(input_err(
                "X",
                format!(
                    "has {} columns, but the estimator was fitted on {}",
                    x.n_columns(),
                    self.names.len()
                ),
            ));
        }
        for (j, (col, name)) in x.columns().iter().zip(&self.names).enumerate() {
            if &col.name != name {
                return Err(input_err(
                    &format!("column {j}"),
                    format!("is named `{}`, but was `{name}` at fit", col.name),
                ));
            }
            let is_text = matches!(col.values, ColumnValues::Text(_));
            if is_text != self.text_columns[j] {
                let kind = |t: bool| if t { "text" } else { "numeric" };
                return Err(input_err(
                    &format!("column `{name}`"),
                    format!(
                        "is {} here but was {} at fit",
                        kind(is_text),
                        kind(self.text_columns[j])
                    ),
                ));
            }
        }
        check_finite(x)?;
        let rows = x.rows();
        let cols = self.names.len();
        let mut out = Array2::<f64>::zeros((rows, cols));
        for (k, enc) in self.encoded.iter().enumerate() {
            let values = &x.columns()[enc.source].values;
            for i in 0..rows {
                out[[i, k]] = encode_cell(enc, values, i);
            }
        }
        let offset = self.encoded.len();
        for (k, &src) in self.passthrough.iter().enumerate() {
            match &x.columns()[src].values {
                ColumnValues::Numeric(v) => {
                    for i in 0..rows {
                        out[[i, offset + k]] = v[i];
                    }
                }
                ColumnValues::Text(v) => {
                    // a text column that had no value at fit (so it was never encoded)
                    if let Some(i) = v.iter().position(Option::is_some) {
                        return Err(input_err(
                            &format!("column `{}`", self.names[src]),
                            format!(
                                "row {i} holds `{}`, but the column had no value at all at fit, \
                                 so it has no encoding (tabpfn 2.2.1 fails here too: \
                                 \"could not convert string to float\")",
                                v[i].as_deref().unwrap_or("")
                            ),
                        ));
                    }
                    for i in 0..rows {
                        out[[i, offset + k]] = f64::NAN;
                    }
                }
            }
        }
        // 2.2.1 quirk: the NaN of a missing text cell goes to the column's original position.
        let text_sources = self
            .encoded
            .iter()
            .filter(|e| e.placeholder)
            .map(|e| e.source)
            .chain(
                self.passthrough
                    .iter()
                    .copied()
                    .filter(|&p| self.text_columns[p]),
            );
        for src in text_sources {
            if let ColumnValues::Text(v) = &x.columns()[src].values {
                for (i, cell) in v.iter().enumerate() {
                    if cell.is_none() {
                        out[[i, src]] = f64::NAN;
                    }
                }
            }
        }
        Ok(out)
    }
}

fn encode_cell(enc: &EncodedColumn, values: &ColumnValues, i: usize) -> f64 {
    let code = |pos: Option<usize>| pos.map_or(-1.0, |p| p as f64);
    match (&enc.categories, values) {
        (Categories::Numeric(cats), ColumnValues::Numeric(v)) => {
            let x = v[i];
            if x.is_nan() {
                f64::NAN
            } else {
                code(cats.iter().position(|&c| c == x))
            }
        }
        (Categories::Text(cats), ColumnValues::Text(v)) => match (&v[i], enc.placeholder) {
            (None, false) => f64::NAN,
            (cell, _) => {
                let s = cell.as_deref().unwrap_or(NA_PLACEHOLDER);
                code(cats.binary_search_by(|c| c.as_str().cmp(s)).ok())
            }
        },
        _ => unreachable!("column kinds are checked before encoding"),
    }
}

fn check_finite(x: &DataFrame) -> Result<()> {
    for col in x.columns() {
        if let ColumnValues::Numeric(v) = &col.values {
            if let Some(i) = v.iter().position(|x| x.is_infinite()) {
                return Err(input_err(
                    &format!("column `{}`", col.name),
                    format!(
                        "row {i} is {}; only finite numbers or NaN are accepted",
                        v[i]
                    ),
                ));
            }
        }
    }
    Ok(())
}
