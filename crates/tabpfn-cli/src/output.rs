//! Prediction tables → CSV, JSON or JSON Lines, to a file (temp file + rename, so a failed
//! run leaves nothing behind) or to stdout.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Jsonl,
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

/// A streaming writer of prediction rows: header once, rows chunk by chunk, then
/// `finish`, which renames the temp file into place. Dropped unfinished (an error), it
/// removes the temp file, so a failed run leaves nothing behind.
pub struct Sink {
    format: Format,
    out: Box<dyn Write>,
    header: Vec<String>,
    rows_written: usize,
    tmp: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl Sink {
    /// Writes to `path` (via a temp file next to it), or to stdout when `None`.
    pub fn create(format: Format, path: Option<&Path>, header: Vec<String>) -> Result<Self> {
        let (out, tmp): (Box<dyn Write>, _) = match path {
            None => (Box::new(std::io::BufWriter::new(std::io::stdout())), None),
            Some(path) => {
                let tmp = path.with_file_name(format!(
                    ".{}.tmp-write",
                    path.file_name()
                        .map_or("out".into(), |n| n.to_string_lossy())
                ));
                let f = std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot create {}", tmp.display()))?;
                (
                    Box::new(std::io::BufWriter::new(f)),
                    Some((tmp, path.to_path_buf())),
                )
            }
        };
        let mut sink = Self {
            format,
            out,
            header,
            rows_written: 0,
            tmp,
        };
        match format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
                w.write_record(&sink.header)?;
                let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
                sink.out.write_all(&bytes)?;
            }
            Format::Json => sink.out.write_all(b"[")?,
            Format::Jsonl => {}
        }
        Ok(sink)
    }

    /// Appends rows.
    pub fn write_rows(&mut self, rows: &[Vec<Cell>]) -> Result<()> {
        match self.format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
                for r in rows {
                    w.write_record(r.iter().map(Cell::csv))?;
                }
                let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
                self.out.write_all(&bytes)?;
            }
            Format::Json | Format::Jsonl => {
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

    /// Completes the output (closing bracket, flush, rename into place).
    pub fn finish(mut self) -> Result<()> {
        if self.format == Format::Json {
            self.out.write_all(b"\n]\n")?;
        }
        self.out.flush()?;
        if let Some((tmp, path)) = self.tmp.take() {
            // the writer must be closed before the rename on some platforms
            self.out = Box::new(std::io::sink());
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
