//! CSV files → typed tables. A header row is required; the delimiter is sniffed from the
//! header unless given; empty cells, `NA`, `N/A`, `NaN`, `nan`, `null`, `NULL` and `?` are
//! missing. A column is numeric when every non-missing training cell parses as a number.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use tabpfn_model::{Column, ColumnValues};

const MISSING: [&str; 8] = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"];

/// A CSV file read as text cells (`None` = missing), with each row's line number.
pub struct CsvTable {
    pub path: PathBuf,
    pub headers: Vec<String>,
    index: Arc<HashMap<String, usize>>,
    pub rows: Vec<Vec<Option<String>>>,
    pub lines: Vec<u64>,
}

fn sniff_delimiter(path: &Path) -> Result<u8> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut first = String::new();
    std::io::BufReader::new(f)
        .read_line(&mut first)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let mut in_quotes = false;
        let mut count = 0;
        for &c in first.as_bytes() {
            if c == b'"' {
                in_quotes = !in_quotes;
            } else if c == d && !in_quotes {
                count += 1;
            }
        }
        if count > best.1 {
            best = (d, count);
        }
    }
    Ok(best.0)
}

/// A CSV file read in chunks of rows (bounded memory for large test files).
pub struct CsvStream {
    path: PathBuf,
    pub headers: Vec<String>,
    index: Arc<HashMap<String, usize>>,
    reader: csv::Reader<std::fs::File>,
    seen_rows: usize,
}

impl CsvStream {
    /// Opens `path` and reads its header; `delimiter` `None` sniffs it from the header line.
    pub fn open(path: &Path, delimiter: Option<u8>) -> Result<Self> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?;
        if meta.len() == 0 {
            bail!(
                "{} is empty; expected a header row and data rows",
                path.display()
            );
        }
        let delimiter = match delimiter {
            Some(d) => d,
            None => sniff_delimiter(path)?,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(false)
            .from_path(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if headers.iter().all(String::is_empty) {
            bail!(
                "{}: the first line must be a header with column names",
                path.display()
            );
        }
        let mut index = HashMap::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            if h.is_empty() {
                bail!(
                    "{}: column {} has an empty name in the header",
                    path.display(),
                    i + 1
                );
            }
            if index.insert(h.clone(), i).is_some() {
                bail!(
                    "{}: column name `{h}` appears twice in the header",
                    path.display()
                );
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            headers,
            index: Arc::new(index),
            reader,
            seen_rows: 0,
        })
    }

    /// The next chunk of at most `max_rows` rows; `None` at the end of the file. A file
    /// with a header but no rows is an error.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<CsvTable>> {
        let path = self.path.clone();
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        let mut record = csv::StringRecord::new();
        while rows.len() < max_rows {
            let more = self
                .reader
                .read_record(&mut record)
                .map_err(|e| csv_error(&path, e))?;
            if !more {
                break;
            }
            let line = record.position().map_or(0, |p| p.line());
            if let Some(j) = record.iter().position(|c| c.contains(['\n', '\r'])) {
                bail!(
                    "{}:{line}: the field of column `{}` spans several lines; a quote is \
                     probably not closed (fields with line breaks are not accepted)",
                    path.display(),
                    self.headers.get(j).map_or("?", String::as_str)
                );
            }
            rows.push(
                record
                    .iter()
                    .map(|c| {
                        let c = c.trim();
                        (!MISSING.contains(&c)).then(|| c.to_string())
                    })
                    .collect(),
            );
            lines.push(line);
        }
        if rows.is_empty() {
            if self.seen_rows == 0 {
                bail!("{} has a header but no data rows", path.display());
            }
            return Ok(None);
        }
        self.seen_rows += rows.len();
        Ok(Some(CsvTable {
            path,
            headers: self.headers.clone(),
            index: self.index.clone(),
            rows,
            lines,
        }))
    }
}

impl CsvTable {
    /// Reads all of `path`; `delimiter` `None` sniffs it from the header line.
    pub fn read(path: &Path, delimiter: Option<u8>) -> Result<Self> {
        let mut s = CsvStream::open(path, delimiter)?;
        Ok(s.next_chunk(usize::MAX)?
            .expect("an empty file is an error"))
    }

    /// The position of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The cells of column `j`.
    pub fn cells(&self, j: usize) -> impl Iterator<Item = (u64, Option<&str>)> + '_ {
        self.rows
            .iter()
            .zip(&self.lines)
            .map(move |(r, &l)| (l, r[j].as_deref()))
    }

    /// Column `j` typed as in training: numeric columns must parse everywhere.
    pub fn typed_column(&self, j: usize, numeric: bool) -> Result<Column> {
        let name = self.headers[j].clone();
        let values = if numeric {
            let v = self
                .cells(j)
                .map(|(line, c)| match c {
                    None => Ok(f64::NAN),
                    Some(s) => parse_number(s).ok_or_else(|| {
                        anyhow!(
                            "{}:{line}: column `{name}` holds `{s}`, but it is numeric in the \
                             training data (non-numbers there are an error, not a missing value)",
                            self.path.display()
                        )
                    }),
                })
                .collect::<Result<Vec<f64>>>()?;
            if let Some(pos) = v.iter().position(|x| x.is_infinite()) {
                bail!(
                    "{}:{}: column `{name}` is infinite; only finite numbers or missing values are accepted",
                    self.path.display(),
                    self.lines[pos]
                );
            }
            ColumnValues::Numeric(v)
        } else {
            ColumnValues::Text(self.cells(j).map(|(_, c)| c.map(str::to_string)).collect())
        };
        Ok(Column { name, values })
    }

    /// Whether every non-missing cell of column `j` is a number.
    pub fn is_numeric(&self, j: usize) -> bool {
        self.cells(j)
            .all(|(_, c)| c.is_none_or(|s| parse_number(s).is_some()))
    }
}

pub fn parse_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

fn csv_error(path: &Path, e: csv::Error) -> anyhow::Error {
    let pos = e.position().map(|p| p.line());
    match (e.kind(), pos) {
        (
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            },
            Some(line),
        ) => anyhow!(
            "{}:{line}: row has {len} fields, but the header has {expected_len}",
            path.display()
        ),
        (csv::ErrorKind::Utf8 { .. }, Some(line)) => {
            anyhow!("{}:{line}: not valid UTF-8 text", path.display())
        }
        (_, Some(line)) => anyhow!("{}:{line}: {e}", path.display()),
        _ => anyhow!("{}: {e}", path.display()),
    }
}
