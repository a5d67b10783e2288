//! Parquet input and output of `predict`, on the `parquet` crate's row and column APIs
//! (no arrow). Column types come from the schema: booleans, integers, floats and decimals
//! are numeric; strings (UTF8 / ENUM / JSON byte arrays, dictionary-encoded or not) are
//! text, hence categorical candidates; nulls are missing. Nested, binary, timestamp and
//! INT96 / fixed-length columns are refused by name. Reading streams the row groups; a
//! truncated or corrupt file is an error naming it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use parquet::basic::{ConvertedType, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::{Field, Row};
use parquet::schema::types::Type;
use tabpfn_model::ColumnValues;
use tabpfn_weights::files::AtomicFile;

use crate::output::Cell;

/// How one input column is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Numeric,
    /// A decimal (INT32, INT64 or big-endian bytes): value / 10^scale, as f64.
    Decimal(i32),
    Text,
}

/// The column kinds of a file's schema, refusing what the estimators cannot take.
fn kinds(path: &Path, reader: &SerializedFileReader<File>) -> Result<(Vec<String>, Vec<Kind>)> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let root = schema.root_schema();
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    for f in root.get_fields() {
        let name = f.name().to_string();
        let bad = |what: &str| {
            anyhow!(
                "{}: column `{name}` is {what}, which predict cannot read",
                path.display()
            )
        };
        if !f.is_primitive() {
            return Err(bad("a nested (group, list or map) column"));
        }
        if f.get_basic_info().repetition() == Repetition::REPEATED {
            return Err(bad("a repeated column"));
        }
        let info = f.get_basic_info();
        let logical = info.logical_type_ref().cloned();
        let kind = match (f.get_physical_type(), logical, info.converted_type()) {
            (_, Some(LogicalType::Decimal(d)), _) => Kind::Decimal(d.scale),
            (_, _, ConvertedType::DECIMAL) => Kind::Decimal(f.get_scale()),
            (_, Some(LogicalType::Date), _) | (_, _, ConvertedType::DATE) => {
                return Err(bad("a date column (convert it to a number)"))
            }
            (_, Some(LogicalType::Timestamp { .. } | LogicalType::Time { .. }), _) => {
                return Err(bad("a time or timestamp column (convert it to a number)"))
            }
            (PhysicalType::BOOLEAN | PhysicalType::INT32 | PhysicalType::INT64, _, _) => {
                Kind::Numeric
            }
            (PhysicalType::FLOAT | PhysicalType::DOUBLE, _, _) => Kind::Numeric,
            (
                PhysicalType::BYTE_ARRAY,
                Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
                _,
            )
            | (
                PhysicalType::BYTE_ARRAY,
                _,
                ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON,
            ) => Kind::Text,
            (PhysicalType::BYTE_ARRAY, None, ConvertedType::NONE) => Kind::Text,
            (PhysicalType::INT96, ..) => return Err(bad("an INT96 (legacy timestamp) column")),
            (t, ..) => return Err(bad(&format!("of type {t:?}"))),
        };
        names.push(name);
        kinds.push(kind);
    }
    if names.is_empty() {
        bail!("{}: the Parquet schema has no columns", path.display());
    }
    Ok((names, kinds))
}

/// One cell as this reader types it.
fn cell(path: &Path, row: u64, name: &str, kind: Kind, f: &Field) -> Result<Value> {
    let num = |v: f64| Ok(Value::Number(v));
    match (kind, f) {
        (_, Field::Null) => Ok(Value::Missing),
        (Kind::Numeric, Field::Bool(b)) => num(f64::from(u8::from(*b))),
        (Kind::Numeric, Field::Byte(v)) => num(*v as f64),
        (Kind::Numeric, Field::Short(v)) => num(*v as f64),
        (Kind::Numeric, Field::Int(v)) => num(*v as f64),
        (Kind::Numeric, Field::Long(v)) => num(*v as f64),
        (Kind::Numeric, Field::UByte(v)) => num(*v as f64),
        (Kind::Numeric, Field::UShort(v)) => num(*v as f64),
        (Kind::Numeric, Field::UInt(v)) => num(*v as f64),
        (Kind::Numeric, Field::ULong(v)) => num(*v as f64),
        (Kind::Numeric, Field::Float(v)) => num(*v as f64),
        (Kind::Numeric, Field::Double(v)) => num(*v),
        (Kind::Decimal(scale), Field::Decimal(d)) => {
            let bytes = d.data();
            if bytes.len() > 16 {
                bail!(
                    "{}: row {row}, column `{name}` is a {}-byte decimal; at most 16 bytes \
                     (38 digits) are supported",
                    path.display(),
                    bytes.len()
                );
            }
            let mut v: i128 = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
                -1
            } else {
                0
            };
            for &b in bytes {
                v = (v << 8) | b as i128;
            }
            num(v as f64 / 10f64.powi(scale))
        }
        (Kind::Decimal(scale), Field::Int(v)) => num(*v as f64 / 10f64.powi(scale)),
        (Kind::Decimal(scale), Field::Long(v)) => num(*v as f64 / 10f64.powi(scale)),
        (Kind::Text, Field::Str(s)) => Ok(Value::Text(s.clone())),
        (Kind::Text, Field::Bytes(b)) => match std::str::from_utf8(b.data()) {
            Ok(s) => Ok(Value::Text(s.to_string())),
            Err(_) => bail!(
                "{}: row {row}, column `{name}` holds bytes that are not UTF-8 text",
                path.display()
            ),
        },
        (_, other) => bail!(
            "{}: row {row}, column `{name}` holds {other}, which does not match its schema type",
            path.display()
        ),
    }
}

/// A typed cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Missing,
    Number(f64),
    Text(String),
}

/// A chunk of rows read from a Parquet file, column by column.
pub struct ParquetTable {
    pub path: PathBuf,
    pub headers: Vec<String>,
    /// Numeric columns as f64 (NaN missing), text columns as strings.
    pub columns: Vec<ColumnValues>,
    /// Row number (1-based, in the file) of the first row.
    pub first_row: u64,
    pub rows: usize,
}

/// A Parquet file read in chunks of rows.
pub struct ParquetStream {
    path: PathBuf,
    pub headers: Vec<String>,
    kinds: Vec<Kind>,
    rows: parquet::record::reader::RowIter<'static>,
    next_row: u64,
}

impl ParquetStream {
    /// Opens `path` and reads its schema (the footer; a truncated file fails here).
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let reader = SerializedFileReader::new(f).map_err(|e| {
            anyhow!(
                "{}: not a readable Parquet file (truncated or corrupt footer?): {e}",
                path.display()
            )
        })?;
        let (headers, kinds) = kinds(path, &reader)?;
        let mut seen = std::collections::HashSet::new();
        if let Some(h) = headers.iter().find(|h| !seen.insert(h.as_str())) {
            bail!("{}: column name `{h}` appears twice", path.display());
        }
        let rows = parquet::record::reader::RowIter::from_file_into(Box::new(reader));
        Ok(Self {
            path: path.to_path_buf(),
            headers,
            kinds,
            rows,
            next_row: 1,
        })
    }

    /// The next chunk of at most `max_rows` rows; `None` at the end. A file without rows
    /// is an error.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<ParquetTable>> {
        let mut cols: Vec<Vec<Value>> = vec![Vec::new(); self.headers.len()];
        let first = self.next_row;
        let mut n = 0usize;
        while n < max_rows {
            let Some(row) = self.rows.next() else { break };
            let row: Row =
                row.map_err(|e| anyhow!("{}: row {}: {e}", self.path.display(), self.next_row))?;
            if row.len() != self.headers.len() {
                bail!(
                    "{}: row {} has {} fields, the schema {}",
                    self.path.display(),
                    self.next_row,
                    row.len(),
                    self.headers.len()
                );
            }
            for (j, (_, f)) in row.get_column_iter().enumerate() {
                cols[j].push(cell(
                    &self.path,
                    self.next_row,
                    &self.headers[j],
                    self.kinds[j],
                    f,
                )?);
            }
            self.next_row += 1;
            n += 1;
        }
        if n == 0 {
            if first == 1 {
                bail!("{} has no rows", self.path.display());
            }
            return Ok(None);
        }
        let columns = cols
            .into_iter()
            .zip(&self.kinds)
            .map(|(c, k)| match k {
                Kind::Text => ColumnValues::Text(
                    c.into_iter()
                        .map(|v| match v {
                            Value::Text(s) => Some(s),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => ColumnValues::Numeric(
                    c.into_iter()
                        .map(|v| match v {
                            Value::Number(x) => x,
                            _ => f64::NAN,
                        })
                        .collect(),
                ),
            })
            .collect();
        Ok(Some(ParquetTable {
            path: self.path.clone(),
            headers: self.headers.clone(),
            columns,
            first_row: first,
            rows: n,
        }))
    }
}

/// Rows buffered per row group of the output (Parquet allows at most 2¹⁵ row groups).
const ROWS_PER_GROUP: usize = 65_536;

/// A streaming Parquet writer of prediction rows: text columns as UTF8 strings, numbers
/// as DOUBLE, all optional; committed atomically like the other formats.
pub struct ParquetSink {
    writer: SerializedFileWriter<AtomicFile>,
    header: Vec<String>,
    pending: Vec<Vec<Cell>>,
    text: Vec<bool>,
}

impl ParquetSink {
    /// Starts `path` with the output `header`; `text[j]` says whether column j holds text.
    pub fn create(path: &Path, header: Vec<String>, text: Vec<bool>) -> Result<Self> {
        let fields: Vec<Arc<Type>> = header
            .iter()
            .zip(&text)
            .map(|(name, &t)| {
                let b = if t {
                    Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                        .with_logical_type(Some(LogicalType::String))
                } else {
                    Type::primitive_type_builder(name, PhysicalType::DOUBLE)
                };
                b.with_repetition(Repetition::OPTIONAL)
                    .build()
                    .map(Arc::new)
            })
            .collect::<parquet::errors::Result<_>>()?;
        let schema = Arc::new(
            Type::group_type_builder("predictions")
                .with_fields(fields)
                .build()?,
        );
        let file =
            AtomicFile::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build(),
        );
        Ok(Self {
            writer: SerializedFileWriter::new(file, schema, props)?,
            header,
            pending: Vec::new(),
            text,
        })
    }

    /// Buffers rows, writing a row group when enough are pending.
    pub fn write_rows(&mut self, rows: &[Vec<Cell>]) -> Result<()> {
        self.pending.extend_from_slice(rows);
        if self.pending.len() >= ROWS_PER_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let mut rg = self.writer.next_row_group()?;
        for j in 0..self.header.len() {
            let mut col = rg
                .next_column()?
                .ok_or_else(|| anyhow!("parquet writer: missing column {j}"))?;
            let defs: Vec<i16> = rows
                .iter()
                .map(|r| i16::from(!matches!(r[j], Cell::Number(v) if v.is_nan())))
                .collect();
            if self.text[j] {
                let vals: Vec<ByteArray> = rows
                    .iter()
                    .map(|r| match &r[j] {
                        Cell::Text(s) => ByteArray::from(s.as_str()),
                        Cell::Number(v) => ByteArray::from(v.to_string().as_str()),
                    })
                    .collect();
                col.typed::<parquet::data_type::ByteArrayType>()
                    .write_batch(&vals, Some(&vec![1; rows.len()]), None)?;
            } else {
                let vals: Vec<f64> = rows
                    .iter()
                    .filter_map(|r| match &r[j] {
                        Cell::Number(v) if !v.is_nan() => Some(*v),
                        Cell::Number(_) => None,
                        Cell::Text(s) => s.parse().ok(),
                    })
                    .collect();
                col.typed::<parquet::data_type::DoubleType>().write_batch(
                    &vals,
                    Some(&defs),
                    None,
                )?;
            }
            col.close()?;
        }
        rg.close()?;
        Ok(())
    }

    /// Writes the last row group and the footer, then commits the file.
    pub fn finish(mut self) -> Result<()> {
        self.flush_group()?;
        let file = self.writer.into_inner()?;
        file.commit()?;
        Ok(())
    }
}
