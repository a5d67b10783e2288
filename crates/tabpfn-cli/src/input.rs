//! The tables `predict` reads, whatever their format: CSV (`csv_input`, text cells typed
//! against the training data) or Parquet (`parquet_io`, typed by the schema), behind one
//! chunked stream so that fitting and streaming prediction do not care which.

use std::path::Path;

use anyhow::{bail, Result};
use tabpfn_model::{Column, ColumnValues};

use crate::csv_input::{parse_number, CsvStream, CsvTable};
use crate::parquet_io::{ParquetStream, ParquetTable};

/// The formats a table file can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Parquet,
}

impl TableFormat {
    /// Parquet for `.parquet` / `.pq` files, else CSV.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq") => {
                Self::Parquet
            }
            _ => Self::Csv,
        }
    }
}

/// A chunk of rows of either format.
pub enum Chunk {
    Csv(CsvTable),
    Parquet(ParquetTable),
}

impl Chunk {
    pub fn path(&self) -> &Path {
        match self {
            Chunk::Csv(t) => &t.path,
            Chunk::Parquet(t) => &t.path,
        }
    }

    pub fn headers(&self) -> &[String] {
        match self {
            Chunk::Csv(t) => &t.headers,
            Chunk::Parquet(t) => &t.headers,
        }
    }

    /// The position of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        match self {
            Chunk::Csv(t) => t.column_index(name),
            Chunk::Parquet(t) => t.headers.iter().position(|h| h == name),
        }
    }

    /// Whether column `j` is numeric: every non-missing CSV cell a number, or a numeric
    /// Parquet type.
    pub fn is_numeric(&self, j: usize) -> bool {
        match self {
            Chunk::Csv(t) => t.is_numeric(j),
            Chunk::Parquet(t) => matches!(t.columns[j], ColumnValues::Numeric(_)),
        }
    }

    /// Column `j` typed as `numeric` says (the training data's type).
    pub fn typed_column(&self, j: usize, numeric: bool) -> Result<Column> {
        match self {
            Chunk::Csv(t) => t.typed_column(j, numeric),
            Chunk::Parquet(t) => {
                let name = t.headers[j].clone();
                match (&t.columns[j], numeric) {
                    (ColumnValues::Numeric(v), true) => {
                        if let Some(i) = v.iter().position(|x| x.is_infinite()) {
                            bail!(
                                "{}: row {}: column `{name}` is infinite; only finite numbers or \
                                 missing values are accepted",
                                t.path.display(),
                                t.first_row + i as u64
                            );
                        }
                        Ok(Column::numeric(name, v.clone()))
                    }
                    (ColumnValues::Text(v), false) => Ok(Column::text(name, v.clone())),
                    (_, true) => bail!(
                        "{}: column `{name}` holds text, but it is numeric in the training data",
                        t.path.display()
                    ),
                    (_, false) => bail!(
                        "{}: column `{name}` is numeric, but it is text in the training data",
                        t.path.display()
                    ),
                }
            }
        }
    }

    /// The cells of column `j` as text with their line (CSV) or row (Parquet) numbers: the
    /// target and id columns are read this way. Numbers print in their shortest form.
    pub fn cells(&self, j: usize) -> Vec<(u64, Option<String>)> {
        match self {
            Chunk::Csv(t) => t
                .cells(j)
                .map(|(l, c)| (l, c.map(str::to_string)))
                .collect(),
            Chunk::Parquet(t) => match &t.columns[j] {
                ColumnValues::Numeric(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (t.first_row + i as u64, (!x.is_nan()).then(|| x.to_string())))
                    .collect(),
                ColumnValues::Text(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (t.first_row + i as u64, s.clone()))
                    .collect(),
            },
        }
    }

    /// Whether every cell of column `j` parses as a number (missing cells excluded) —
    /// how a target is typed.
    pub fn all_numbers(&self, j: usize) -> bool {
        match self {
            Chunk::Csv(t) => t.cells(j).all(|(_, c)| c.and_then(parse_number).is_some()),
            Chunk::Parquet(t) => matches!(t.columns[j], ColumnValues::Numeric(_)),
        }
    }

    /// Rows in the chunk.
    pub fn rows(&self) -> usize {
        match self {
            Chunk::Csv(t) => t.rows.len(),
            Chunk::Parquet(t) => t.rows,
        }
    }
}

/// A table file read chunk by chunk.
pub enum Stream {
    Csv(CsvStream),
    Parquet(ParquetStream),
}

impl Stream {
    /// Opens `path` in `format`; `delimiter` applies to CSV (None sniffs it).
    pub fn open(path: &Path, format: TableFormat, delimiter: Option<u8>) -> Result<Self> {
        Ok(match format {
            TableFormat::Csv => Stream::Csv(CsvStream::open(path, delimiter)?),
            TableFormat::Parquet => Stream::Parquet(ParquetStream::open(path)?),
        })
    }

    pub fn headers(&self) -> &[String] {
        match self {
            Stream::Csv(s) => &s.headers,
            Stream::Parquet(s) => &s.headers,
        }
    }

    /// The next chunk of at most `max_rows` rows; `None` at the end.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<Chunk>> {
        Ok(match self {
            Stream::Csv(s) => s.next_chunk(max_rows)?.map(Chunk::Csv),
            Stream::Parquet(s) => s.next_chunk(max_rows)?.map(Chunk::Parquet),
        })
    }

    /// The whole file as one chunk.
    pub fn read_all(path: &Path, format: TableFormat, delimiter: Option<u8>) -> Result<Chunk> {
        let mut s = Self::open(path, format, delimiter)?;
        match s.next_chunk(usize::MAX)? {
            Some(c) => Ok(c),
            None => bail!("{} has no data rows", path.display()),
        }
    }
}
