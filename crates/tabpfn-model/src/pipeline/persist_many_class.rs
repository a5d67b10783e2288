//! Saving and loading many-class fits ([`super::many_class`]): one safetensors file under
//! the saved-fit format and integrity hash of [`super::persist`]. Each codebook row's
//! ensemble is a whole saved classifier fit, the bytes of tensor `rows.{i}` (so each row
//! keeps its own hash, model and field checks); the training table's columns are tensors
//! `x_train.{j}` (float64, or the JSON of a text column as uint8: text stays out of the
//! header, which safetensors caps at 100 MB); the header holds the codebook and labels.
//!
//! Loading checks every part against the others — the rows against row 0 and against the
//! codebook, the training table against the rows' encoded table — so that an edited field
//! is an error naming it, not a different prediction.

use std::path::Path;
use std::sync::Arc;

use safetensors::tensor::SafeTensors;
use serde::{Deserialize, Serialize};
use tabpfn_weights::dtype::{decode_f64, Dtype};

use super::classifier::FittedClassifier;
use super::frame::{ClassLabel, Column, ColumnValues, DataFrame};
use super::many_class::{FittedManyClass, MAX_CODEBOOK_ROWS};
use super::persist::{bad, checked_header, signed, verified, FORMAT};
use crate::error::Result;
use crate::tensor_file::Raw;
use crate::transformer::PerFeatureTransformer;

/// The `task` a saved many-class fit names.
pub(crate) const TASK: &str = "many-class classifier";

/// The header: format, task, labels, codebook and the training table's column names.
#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    task: String,
    classes: Vec<ClassLabel>,
    alphabet: usize,
    book: Vec<Vec<usize>>,
    /// The training table predicted with the test rows; `None` for a row-independent fit.
    x_train: Option<Vec<SavedColumn>>,
}

#[derive(Serialize, Deserialize)]
struct SavedColumn {
    name: String,
    /// Tensor `x_train.{j}` holds the JSON of the values (uint8), not float64.
    text: bool,
}

/// Serialises a many-class fit (`path` names the result in errors).
pub(crate) fn to_bytes(path: &Path, fit: &FittedManyClass) -> Result<Vec<u8>> {
    let mut tensors = Vec::with_capacity(fit.rows.len());
    for (i, row) in fit.rows.iter().enumerate() {
        tensors.push((format!("rows.{i}"), Raw::u8(&row.to_bytes_named(path)?)));
    }
    let mut x_train = None;
    if let Some(x) = &fit.x_train {
        let mut cols = Vec::with_capacity(x.n_columns());
        for (j, c) in x.columns().iter().enumerate() {
            let raw = match &c.values {
                ColumnValues::Numeric(v) => Raw::f64(vec![v.len()], v),
                ColumnValues::Text(v) => Raw::u8(&serde_json::to_vec(v).map_err(|e| bad(path, e))?),
            };
            tensors.push((format!("x_train.{j}"), raw));
            cols.push(SavedColumn {
                name: c.name.clone(),
                text: matches!(c.values, ColumnValues::Text(_)),
            });
        }
        x_train = Some(cols);
    }
    let header = Header {
        format: FORMAT.into(),
        task: TASK.into(),
        classes: fit.classes.clone(),
        alphabet: fit.alphabet,
        book: fit.book.clone(),
        x_train,
    };
    let text = serde_json::to_string(&header).map_err(|e| bad(path, e))?;
    signed(path, text, &tensors)
}

/// The bytes of tensor `name`, which must be 1-d of `dtype`.
fn vector<'b>(
    path: &Path,
    st: &SafeTensors<'b>,
    name: &str,
    dtype: safetensors::Dtype,
) -> Result<&'b [u8]> {
    let t = st
        .tensor(name)
        .map_err(|_| bad(path, format!("no tensor {name}, which the header names")))?;
    if t.dtype() != dtype || t.shape().len() != 1 {
        return Err(bad(
            path,
            format!("{name}: expected a 1-d {dtype:?} tensor"),
        ));
    }
    Ok(t.data())
}

/// Parses bytes written by [`to_bytes`] for `model`.
pub(crate) fn from_bytes(
    path: &Path,
    bytes: &[u8],
    model: Arc<PerFeatureTransformer>,
) -> Result<FittedManyClass> {
    let (text, st) = verified(path, bytes)?;
    let value = checked_header(path, &text, TASK)?;
    let h: Header = serde_json::from_value(value).map_err(|e| bad(path, e))?;
    check_codebook(path, &h, model.config().n_out())?;
    // the structure before the costly part (each row re-derives its members)
    let n_columns = h.x_train.as_ref().map_or(0, Vec::len);
    if st.len() != h.book.len() + n_columns {
        return Err(bad(
            path,
            format!(
                "holds {} tensors; the header names {} rows and {n_columns} training columns",
                st.len(),
                h.book.len()
            ),
        ));
    }
    let row_bytes = (0..h.book.len())
        .map(|i| vector(path, &st, &format!("rows.{i}"), safetensors::Dtype::U8))
        .collect::<Result<Vec<_>>>()?;
    let mut rows: Vec<FittedClassifier> = Vec::with_capacity(h.book.len());
    for (i, (codes, data)) in h.book.iter().zip(row_bytes).enumerate() {
        let name = format!("{} (codebook row {i})", path.display());
        let row = FittedClassifier::from_bytes_named(Path::new(&name), data, model.clone())?;
        let mut used = codes.clone();
        used.sort_unstable();
        used.dedup();
        let want: Vec<ClassLabel> = used
            .iter()
            .map(|&c| ClassLabel::Numeric(c as f64))
            .collect();
        if row.classes() != want.as_slice() {
            return Err(bad(
                path,
                format!("rows.{i}: the fit's labels are not its codebook row's symbols {used:?}"),
            ));
        }
        if let Some(first) = rows.first() {
            let (a, b) = (first.ensemble(), row.ensemble());
            if a.config != b.config
                || a.seeds != b.seeds
                || a.encoded.encoder != b.encoded.encoder
                || !same_columns(&a.encoded.columns, &b.encoded.columns)
            {
                return Err(bad(
                    path,
                    format!("rows.{i}: fitted on another table or with other knobs than rows.0"),
                ));
            }
        }
        rows.push(row);
    }
    let first = rows[0].ensemble();
    let limit = first.config.max_classes.min(model.config().n_out());
    if h.alphabet > limit {
        return Err(bad(
            path,
            format!(
                "field `alphabet`: {} symbols, more than the fit's class limit {limit}",
                h.alphabet
            ),
        ));
    }
    if h.classes.len() > first.n_train() {
        return Err(bad(
            path,
            format!(
                "field `classes`: {} labels for {} training rows",
                h.classes.len(),
                first.n_train()
            ),
        ));
    }
    if first.config.row_independent == h.x_train.is_some() {
        return Err(bad(
            path,
            "field `x_train`: the training table must be stored exactly when the fit is not \
             row independent",
        ));
    }
    let x_train = match h.x_train {
        None => None,
        Some(cols) => {
            let x = training_table(path, &st, cols, first.n_train())?;
            let encoded = first
                .encoded
                .transform(&x)
                .map_err(|e| bad(path, format!("field `x_train`: {e}")))?;
            if !same_columns(&encoded, &first.encoded.columns) {
                return Err(bad(
                    path,
                    "field `x_train`: not the table the rows were fitted on",
                ));
            }
            Some(x)
        }
    };
    Ok(FittedManyClass {
        classes: h.classes,
        alphabet: h.alphabet,
        book: h.book,
        rows,
        x_train,
    })
}

/// The codebook and labels on their own: sizes, symbols, every class covered by a symbol
/// of its own in some row (else its score is −inf), labels sorted and unique.
fn check_codebook(path: &Path, h: &Header, n_out: usize) -> Result<()> {
    let n_classes = h.classes.len();
    if !(2..=n_out).contains(&h.alphabet) {
        return Err(bad(
            path,
            format!(
                "field `alphabet`: {} symbols; the model allows 2 to {n_out}",
                h.alphabet
            ),
        ));
    }
    if n_classes < 2 || !h.classes.windows(2).all(|w| w[0].precedes(&w[1])) {
        return Err(bad(
            path,
            format!("field `classes`: {n_classes} labels; expected at least 2, sorted and unique"),
        ));
    }
    if h.book.is_empty() || h.book.len() > MAX_CODEBOOK_ROWS {
        return Err(bad(
            path,
            format!(
                "field `book`: {} codebook rows; expected 1 to {MAX_CODEBOOK_ROWS}",
                h.book.len()
            ),
        ));
    }
    for (i, codes) in h.book.iter().enumerate() {
        if codes.len() != n_classes || codes.iter().any(|&c| c >= h.alphabet) {
            return Err(bad(
                path,
                format!(
                    "field `book`: row {i} must hold {n_classes} symbols (one per class) below {}",
                    h.alphabet
                ),
            ));
        }
    }
    let rest = h.alphabet - 1;
    if let Some(c) = (0..n_classes).find(|&c| h.book.iter().all(|r| r[c] == rest)) {
        return Err(bad(
            path,
            format!("field `book`: class {c} has the rest symbol in every row"),
        ));
    }
    Ok(())
}

/// The stored training table, of `rows` rows.
fn training_table(
    path: &Path,
    st: &SafeTensors<'_>,
    cols: Vec<SavedColumn>,
    rows: usize,
) -> Result<DataFrame> {
    let mut columns = Vec::with_capacity(cols.len());
    for (j, c) in cols.into_iter().enumerate() {
        let name = format!("x_train.{j}");
        let values = if c.text {
            let data = vector(path, st, &name, safetensors::Dtype::U8)?;
            ColumnValues::Text(
                serde_json::from_slice(data).map_err(|e| bad(path, format!("{name}: {e}")))?,
            )
        } else {
            let data = vector(path, st, &name, safetensors::Dtype::F64)?;
            ColumnValues::Numeric(decode_f64(&name, Dtype::F64, data).map_err(|e| bad(path, e))?)
        };
        if values.len() != rows {
            return Err(bad(
                path,
                format!(
                    "{name} (`{}`): {} rows, the fits {rows}",
                    c.name,
                    values.len()
                ),
            ));
        }
        columns.push(Column {
            name: c.name,
            values,
        });
    }
    DataFrame::new(columns).map_err(|e| bad(path, e))
}

/// Column-wise equality, NaN equal to NaN (missing values), every other value bit for bit.
fn same_columns(a: &[Vec<f64>], b: &[Vec<f64>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(u, v)| {
            u.len() == v.len()
                && u.iter()
                    .zip(v)
                    .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        })
}
