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

pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn render(table: &Table, format: Format, out: &mut dyn Write) -> Result<()> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&table.header)?;
            for r in &table.rows {
                w.write_record(r.iter().map(Cell::csv))?;
            }
            w.flush()?;
        }
        Format::Json | Format::Jsonl => {
            let objects: Vec<Value> = table
                .rows
                .iter()
                .map(|r| {
                    let m: Map<String, Value> = table
                        .header
                        .iter()
                        .cloned()
                        .zip(r.iter().map(Cell::json))
                        .collect();
                    Value::Object(m)
                })
                .collect();
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut *out, &objects)?;
                writeln!(out)?;
            } else {
                for o in objects {
                    serde_json::to_writer(&mut *out, &o)?;
                    writeln!(out)?;
                }
            }
        }
    }
    Ok(())
}

/// Writes `table` to `path` atomically, or to stdout when `path` is `None`.
pub fn write(table: &Table, format: Format, path: Option<&Path>) -> Result<()> {
    match path {
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            render(table, format, &mut lock)
        }
        Some(path) => {
            let tmp = path.with_file_name(format!(
                ".{}.tmp-write",
                path.file_name()
                    .map_or("out".into(), |n| n.to_string_lossy())
            ));
            let result = (|| -> Result<()> {
                let f = std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot create {}", tmp.display()))?;
                let mut buf = std::io::BufWriter::new(f);
                render(table, format, &mut buf)?;
                buf.flush()?;
                drop(buf);
                std::fs::rename(&tmp, path)
                    .with_context(|| format!("cannot write {}", path.display()))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        }
    }
}
