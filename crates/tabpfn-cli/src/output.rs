//! Prediction tables → CSV, JSON or JSON Lines, to a file (an [`AtomicFile`]: a failed run
//! leaves nothing behind, concurrent runs never mix) or to stdout.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde_json::{Map, Value};
use tabpfn_weights::files::AtomicFile;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Jsonl,
    /// Parquet (needs --output; text columns as strings, numbers as doubles)
    Parquet,
}

impl Format {
    /// `--format` when given, else the output file's extension (`.parquet`, `.json`,
    /// `.jsonl`), else CSV.
    pub fn resolve(given: Option<Format>, output: Option<&Path>) -> Format {
        if let Some(f) = given {
            return f;
        }
        match output.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq") => {
                Format::Parquet
            }
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            Some(e) if e.eq_ignore_ascii_case("jsonl") => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// A streaming writer of prediction rows in any [`Format`].
pub enum Sink {
    Text(TextSink),
    Parquet(Box<crate::parquet_io::ParquetSink>),
}

impl Sink {
    /// Writes `format` to `path` atomically, or to stdout when `None` (not Parquet);
    /// `text[j]` says whether column j holds text (Parquet's column types).
    pub fn create(
        format: Format,
        path: Option<&Path>,
        header: Vec<String>,
        text: Vec<bool>,
    ) -> Result<Self> {
        match (format, path) {
            (Format::Parquet, None) => {
                anyhow::bail!("Parquet output needs --output (it cannot stream to stdout)")
            }
            (Format::Parquet, Some(p)) => Ok(Sink::Parquet(Box::new(
                crate::parquet_io::ParquetSink::create(p, header, text)?,
            ))),
            (f, p) => Ok(Sink::Text(TextSink::create(f, p, header)?)),
        }
    }

    /// Appends rows.
    pub fn write_rows(&mut self, rows: &[Vec<Cell>]) -> Result<()> {
        match self {
            Sink::Text(s) => s.write_rows(rows),
            Sink::Parquet(s) => s.write_rows(rows),
        }
    }

    /// Completes the output and commits the file.
    pub fn finish(self) -> Result<()> {
        match self {
            Sink::Text(s) => s.finish(),
            Sink::Parquet(s) => s.finish(),
        }
    }
}

/// One output cell: text (labels, ids) or a number.
#[derive(Clone, Debug)]
pub enum Cell {
    Text(String),
    Number(f64),
}

impl Cell {
    /// A float32 value with its shortest round-trip decimal form (not widened digits).
    pub fn f32(v: f32) -> Self {
        Cell::Number(format!("{v}").parse().unwrap_or(f64::NAN))
    }

    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(v) => format!("{v}"),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Number(v) => serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number),
        }
    }
}

/// A streaming writer of CSV / JSON / JSON Lines rows: header once, rows chunk by chunk,
/// then `finish`, which renames the temp file into place. Dropped unfinished (an error),
/// it removes the temp file, so a failed run leaves nothing behind.
pub struct TextSink {
    format: Format,
    out: Out,
    header: Vec<String>,
    rows_written: usize,
    started: bool,
}

enum Out {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File(AtomicFile),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Stdout(w) => w.write(buf),
            Out::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Stdout(w) => w.flush(),
            Out::File(f) => f.flush(),
        }
    }
}

impl TextSink {
    /// Writes to `path` (via a temp file next to it), or to stdout when `None`.
    pub fn create(format: Format, path: Option<&Path>, header: Vec<String>) -> Result<Self> {
        let out = match path {
            None => Out::Stdout(std::io::BufWriter::new(std::io::stdout())),
            Some(path) => Out::File(
                AtomicFile::create(path)
                    .with_context(|| format!("cannot write {}", path.display()))?,
            ),
        };
        Ok(Self {
            format,
            out,
            header,
            rows_written: 0,
            started: false,
        })
    }

    /// The header (CSV) or opening bracket (JSON), written with the first rows so that
    /// nothing reaches stdout before the run has produced a prediction.
    fn start(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.started, true) {
            return Ok(());
        }
        match self.format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
                w.write_record(&self.header)?;
                let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
                self.out.write_all(&bytes)?;
            }
            Format::Json => self.out.write_all(b"[")?,
            Format::Jsonl | Format::Parquet => {}
        }
        Ok(())
    }

    /// Appends rows.
    pub fn write_rows(&mut self, rows: &[Vec<Cell>]) -> Result<()> {
        self.start()?;
        match self.format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
                for r in rows {
                    w.write_record(r.iter().map(Cell::csv))?;
                }
                let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
                self.out.write_all(&bytes)?;
            }
            Format::Json | Format::Jsonl | Format::Parquet => {
                for r in rows {
                    let m: Map<String, Value> = self
                        .header
                        .iter()
                        .cloned()
                        .zip(r.iter().map(Cell::json))
                        .collect();
                    let text = serde_json::to_string(&Value::Object(m))?;
                    if self.format == Format::Json {
                        let sep = if self.rows_written == 0 {
                            "\n  "
                        } else {
                            ",\n  "
                        };
                        self.out.write_all(sep.as_bytes())?;
                        self.out.write_all(text.as_bytes())?;
                    } else {
                        writeln!(self.out, "{text}")?;
                    }
                    self.rows_written += 1;
                }
                return Ok(());
            }
        }
        self.rows_written += rows.len();
        Ok(())
    }

    /// Completes the output (closing bracket, flush, fsync and rename into place).
    pub fn finish(mut self) -> Result<()> {
        self.start()?;
        if self.format == Format::Json {
            self.out.write_all(b"\n]\n")?;
        }
        match self.out {
            Out::Stdout(mut w) => w.flush()?,
            Out::File(f) => f.commit()?,
        }
        Ok(())
    }
}
