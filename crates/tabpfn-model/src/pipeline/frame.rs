//! Column-typed tables, the estimators' input: numeric columns (NaN = missing) and text
//! columns (`None` = missing), like the mixed pandas frames the reference accepts.

use crate::error::{input_err, Result};
use serde::{Deserialize, Serialize};

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// Numbers; NaN marks a missing value. ±inf is rejected at fit/predict, as in the reference.
    Numeric(Vec<f64>),
    /// Strings; `None` marks a missing value.
    Text(Vec<Option<String>>),
}

impl ColumnValues {
    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Numeric(v) => v.len(),
            ColumnValues::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: ColumnValues,
}

impl Column {
    pub fn numeric(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            values: ColumnValues::Numeric(values),
        }
    }

    pub fn text(name: impl Into<String>, values: Vec<Option<String>>) -> Self {
        Self {
            name: name.into(),
            values: ColumnValues::Text(values),
        }
    }
}

/// A table of `rows` rows and named, typed columns. Column order is the feature order
/// (the reference's categorical handling depends on it).
#[derive(Debug, Clone, PartialEq)]
pub struct DataFrame {
    columns: Vec<Column>,
    rows: usize,
}

impl DataFrame {
    /// Checks that every column has the same length and that names are unique.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        let rows = columns.first().map_or(0, |c| c.values.len());
        for c in &columns {
            if c.values.len() != rows {
                return Err(input_err(
                    &format!("column `{}`", c.name),
                    format!(
                        "has {} rows, but column `{}` has {rows}",
                        c.values.len(),
                        columns[0].name
                    ),
                ));
            }
        }
        let mut seen = std::collections::HashSet::with_capacity(columns.len());
        for c in &columns {
            if !seen.insert(c.name.as_str()) {
                return Err(input_err(
                    &format!("column `{}`", c.name),
                    "appears twice; column names must be unique",
                ));
            }
        }
        Ok(Self { columns, rows })
    }

    /// A numeric table from a `[rows, cols]` array view (any layout); columns are named
    /// `x0`, `x1`, … unless `names` gives one name per column.
    pub fn from_array(x: ndarray::ArrayView2<'_, f64>, names: Option<&[String]>) -> Result<Self> {
        if let Some(n) = names {
            if n.len() != x.ncols() {
                return Err(input_err(
                    "names",
                    format!("gives {} names for {} columns", n.len(), x.ncols()),
                ));
            }
        }
        let columns = x
            .columns()
            .into_iter()
            .enumerate()
            .map(|(j, c)| {
                let name = names.map_or_else(|| format!("x{j}"), |n| n[j].clone());
                Column::numeric(name, c.to_vec())
            })
            .collect();
        Self::new(columns)
    }

    /// A numeric table from named column vectors.
    pub fn from_columns(columns: Vec<(String, Vec<f64>)>) -> Result<Self> {
        Self::new(
            columns
                .into_iter()
                .map(|(name, v)| Column::numeric(name, v))
                .collect(),
        )
    }

    /// A numeric table from a row-major `[rows, cols]` matrix; columns are named `x0`, `x1`, ….
    pub fn from_rows(x: &[f64], rows: usize, cols: usize) -> Result<Self> {
        if rows.checked_mul(cols) != Some(x.len()) {
            return Err(input_err(
                "x",
                format!("has {} values, expected {rows} × {cols}", x.len()),
            ));
        }
        let columns = (0..cols)
            .map(|j| {
                Column::numeric(
                    format!("x{j}"),
                    (0..rows).map(|i| x[i * cols + j]).collect(),
                )
            })
            .collect();
        Self::new(columns)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The same rows with the columns in `names` order (matching by name).
    pub fn select(&self, names: &[String]) -> Result<Self> {
        let columns = names
            .iter()
            .map(|n| {
                self.column(n)
                    .cloned()
                    .ok_or_else(|| input_err(&format!("column `{n}`"), "is missing from the table"))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(columns)
    }
}

/// A classification target or regression target.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Numeric(Vec<f64>),
    Text(Vec<String>),
}

impl Target {
    pub fn len(&self) -> usize {
        match self {
            Target::Numeric(v) => v.len(),
            Target::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One class of a classifier, in the user's terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClassLabel {
    Numeric(f64),
    Text(String),
}

impl ClassLabel {
    /// Whether `self` sorts strictly before `other` (both of one kind), the order of
    /// [`crate::FittedClassifier::classes`].
    pub fn precedes(&self, other: &ClassLabel) -> bool {
        match (self, other) {
            (ClassLabel::Numeric(a), ClassLabel::Numeric(b)) => a < b,
            (ClassLabel::Text(a), ClassLabel::Text(b)) => a < b,
            _ => false,
        }
    }
}

impl std::fmt::Display for ClassLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassLabel::Numeric(v) => write!(f, "{v}"),
            ClassLabel::Text(s) => f.write_str(s),
        }
    }
}
