//! `tabpfn-cli`: TabPFN v2 without Python.
//!
//! * `predict`: fit on a training CSV, predict a test CSV (the estimator pipeline);
//! * `forward`: the bare network on an `.npz` table (parity checks against the reference);
//! * `convert`: official `.ckpt` → `.safetensors` (tabpfn ≥ 8.0.4 layout);
//! * `info`: what a model file holds.

use tabpfn_cli::{device, npz, predict};

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use ndarray::{ArrayD, IxDyn};
use tabpfn_model::{BarDistribution, ForwardOptions, PerFeatureTransformer, Table, Task};
use tabpfn_weights::Checkpoint;

/// The most timed repetitions `forward --repeat` runs (a benchmark, not a loop).
const MAX_REPEAT: usize = 10_000;

#[derive(Parser)]
#[command(
    name = "tabpfn-cli",
    version,
    about = "TabPFN v2 inference in Rust: no Python needed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Mode {
    /// One forward pass over train and test rows (reference `model(x, y)`).
    Full,
    /// Fit a train-set cache, then predict the test rows from it (`fit_with_cache`).
    Cache,
}

#[derive(Subcommand)]
enum Command {
    /// Fit TabPFN on a training CSV and predict the rows of a test CSV.
    ///
    /// Classification writes the predicted label and one probability column per class;
    /// regression writes the mean (or median, mode, quantiles). Columns are matched by
    /// name; string columns are categorical; empty, NA, N/A, NaN, null and ? are missing.
    Predict(Box<predict::PredictArgs>),
    /// Run the bare network on an .npz table and write its outputs to an .npz file.
    ///
    /// Input: `x` `[R, C]` (train rows first), `y` `[N]` (train targets). Output: `logits`
    /// [R - N, n_out]; a regressor also writes `mean`, `median`, `mode` [R - N] in the
    /// model's (z-scored) target space. Format: docs/forward-format.md.
    Forward(ForwardArgs),
    /// Convert a torch checkpoint (.ckpt) to safetensors in tabpfn's layout.
    Convert {
        /// Input checkpoint (.ckpt or .safetensors).
        input: PathBuf,
        /// Output .safetensors (written atomically; its directory must exist).
        output: PathBuf,
    },
    /// Describe a model file: task, config, parameter count, dtype, SHA-256.
    Info {
        /// Model file (.ckpt or .safetensors).
        model: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct ForwardArgs {
    /// Model file: official .ckpt or converted .safetensors.
    #[arg(long)]
    model: PathBuf,
    /// Input .npz with `x` and `y`.
    #[arg(long)]
    input: PathBuf,
    /// Output .npz (written atomically).
    #[arg(long)]
    output: PathBuf,
    /// Soft outlier clipping at this many standard deviations, as the classifier
    /// estimator sets (12). Default: off, as the loaded model.
    #[arg(long)]
    remove_outliers_std: Option<f32>,
    /// How test rows see the train rows.
    #[arg(long, value_enum, default_value = "full")]
    mode: Mode,
    /// Compute device: cpu, wgpu or cuda (the latter two need the cargo feature).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Run the forward pass this many times (the wall times go to stderr).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    #[command(flatten)]
    kernels: device::KernelsArgs,
    #[command(flatten)]
    reference: device::ReferenceArgs,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Predict(args) => predict::run(*args),
        Command::Forward(args) => forward(args),
        Command::Convert { input, output } => convert(input, output),
        Command::Info { model, json } => info(model, json),
    }
}

fn forward(args: ForwardArgs) -> Result<()> {
    let ForwardArgs {
        model,
        input,
        output,
        remove_outliers_std,
        mode,
        device,
        repeat,
        kernels,
        reference,
    } = args;
    refuse_overwrite(&output, &[("--model", &model), ("--input", &input)])?;
    if repeat == 0 || repeat > MAX_REPEAT {
        bail!("--repeat must be between 1 and {MAX_REPEAT}, got {repeat}");
    }
    let device = device::parse(&device)?;
    if let Some(s) = remove_outliers_std {
        if s.is_nan() || s <= 0.0 {
            bail!("--remove-outliers-std must be > 0 (got {s})");
        }
    }
    let mut npz = npz::Npz::open(&input)?;
    let x = npz.read_f32("x")?;
    let y = npz.read_f32("y")?;
    if x.ndim() != 2 {
        bail!(
            "{}: `x` has shape {:?}, expected [rows, features]",
            input.display(),
            x.shape()
        );
    }
    if y.ndim() != 1 {
        bail!(
            "{}: `y` has shape {:?}, expected [train rows]",
            input.display(),
            y.shape()
        );
    }
    let (rows, cols) = (x.shape()[0], x.shape()[1]);
    let n = y.len();
    if n == 0 || n > rows {
        bail!(
            "{}: `y` has {n} train targets for {rows} rows of `x`; need 1..={rows}",
            input.display()
        );
    }
    let x: Vec<f32> = x.iter().copied().collect();
    let y: Vec<f32> = y.iter().copied().collect();

    let net = PerFeatureTransformer::load(&model, &device)
        .with_context(|| format!("loading {}", model.display()))?
        .with_torch_rng(reference.torch_rng())
        .with_kernels(kernels.kernels());
    let opts = ForwardOptions {
        remove_outliers_std,
        query_chunk: None,
        ..Default::default()
    };
    let run = || -> Result<tabpfn_model::Logits> {
        Ok(match mode {
            Mode::Full => net.forward(Table::new(&x, rows, cols)?, &y, opts)?,
            Mode::Cache => {
                let cache = net.fit_cache(Table::new(&x[..n * cols], n, cols)?, &y, opts)?;
                net.predict_cached(&cache, Table::new(&x[n * cols..], rows - n, cols)?, None)?
            }
        })
    };
    let t = std::time::Instant::now();
    let mut logits = run()?;
    let mut times = vec![t.elapsed().as_secs_f64()];
    for _ in 1..repeat {
        let t = std::time::Instant::now();
        logits = run()?;
        times.push(t.elapsed().as_secs_f64());
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let gflop = tabpfn_model::internals::forward_flops(net.config(), n, rows - n, cols) / 1e9;
    eprintln!(
        "rust forward: min {:.3} s, median {:.3} s over {} runs; {gflop:.1} GFLOP, {:.1} GFLOP/s \
         at the median",
        sorted[0],
        sorted[sorted.len() / 2],
        sorted.len(),
        gflop / sorted[sorted.len() / 2]
    );
    let m = logits.rows;
    let mut arrays = vec![(
        "logits",
        ArrayD::from_shape_vec(IxDyn(&[m, logits.n_out]), logits.data.clone())?,
    )];
    if net.task() == Task::Regression {
        let bar = BarDistribution::new(net.borders().unwrap_or_default().to_vec())?;
        let stat = |f: &dyn Fn(&[f32]) -> tabpfn_model::Result<f32>| -> Result<ArrayD<f32>> {
            let v = (0..m)
                .map(|i| f(logits.row(i)))
                .collect::<tabpfn_model::Result<Vec<f32>>>()?;
            Ok(ArrayD::from_shape_vec(IxDyn(&[m]), v)?)
        };
        arrays.push(("mean", stat(&|l| bar.mean(l))?));
        arrays.push(("median", stat(&|l| bar.median(l))?));
        arrays.push(("mode", stat(&|l| bar.mode(l))?));
    }
    npz::write_atomic(&output, &arrays)?;
    eprintln!(
        "forward: {} train + {m} test rows, {cols} features -> {} ({} outputs per row)",
        n,
        output.display(),
        logits.n_out
    );
    Ok(())
}

/// An error when `out` is the same file as one of `inputs` (flag, path).
fn refuse_overwrite(out: &std::path::Path, inputs: &[(&str, &std::path::Path)]) -> Result<()> {
    for (flag, input) in inputs {
        if out == *input || tabpfn_weights::files::same_file(out, input) {
            bail!(
                "the output {} is the same file as {flag}; refusing to overwrite an input",
                out.display()
            );
        }
    }
    Ok(())
}

fn convert(input: PathBuf, output: PathBuf) -> Result<()> {
    refuse_overwrite(&output, &[("the input", &input)])?;
    let ckpt = Checkpoint::open(&input).with_context(|| format!("reading {}", input.display()))?;
    // refuse to write a file the model loader would reject
    PerFeatureTransformer::from_checkpoint(&ckpt, &burn::tensor::Device::flex())
        .with_context(|| format!("{} is not a valid TabPFN v2 checkpoint", input.display()))?;
    ckpt.save_safetensors(&output)?;
    let converted: Vec<String> = ckpt
        .info
        .source_dtypes
        .iter()
        .filter(|(d, _)| d.as_str() != "float32")
        .map(|(d, n)| format!("{n} {d} tensor(s)"))
        .collect();
    eprintln!(
        "converted {} ({} tensors, {} parameters) -> {}{}",
        input.display(),
        ckpt.tensors.len(),
        ckpt.num_parameters(),
        output.display(),
        if converted.is_empty() {
            String::new()
        } else {
            format!("; converted to float32: {}", converted.join(", "))
        }
    );
    Ok(())
}

fn info(model: PathBuf, json: bool) -> Result<()> {
    let ckpt = Checkpoint::open(&model).with_context(|| format!("reading {}", model.display()))?;
    let cfg = tabpfn_model::ModelConfig::from_json(ckpt.config());
    let report = serde_json::json!({
        "path": model.display().to_string(),
        "format": ckpt.info.format.to_string(),
        "sha256": ckpt.info.sha256,
        "file_size": ckpt.info.file_size,
        "task": cfg.as_ref().ok().map(|c| c.task()),
        "n_out": cfg.as_ref().ok().map(|c| c.n_out()),
        "parameters": ckpt.num_parameters(),
        "tensors": ckpt.tensors.len(),
        "stored_dtypes": ckpt.info.source_dtypes,
        "config_error": cfg.as_ref().err().map(|e| e.to_string()),
        "config": ckpt.config(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("file:        {}", model.display());
    println!("format:      {}", ckpt.info.format);
    println!("size:        {} bytes", ckpt.info.file_size);
    println!("sha256:      {}", ckpt.info.sha256);
    match &cfg {
        Ok(c) => {
            let task = match c.task() {
                Task::Classification => {
                    format!("classification (up to {} classes)", c.max_num_classes)
                }
                Task::Regression => format!("regression ({} buckets)", c.num_buckets),
            };
            println!("task:        {task}");
            println!(
                "network:     emsize {}, {} heads, {} layers, MLP x{}, {} feature(s) per group",
                c.emsize, c.nhead, c.nlayers, c.nhid_factor, c.features_per_group
            );
        }
        Err(e) => println!("config:      NOT SUPPORTED: {e}"),
    }
    println!(
        "parameters:  {} in {} tensors",
        ckpt.num_parameters(),
        ckpt.tensors.len()
    );
    let dtypes: Vec<String> = ckpt
        .info
        .source_dtypes
        .iter()
        .map(|(d, n)| format!("{d} x{n}"))
        .collect();
    println!(
        "dtype:       {}{}",
        dtypes.join(", "),
        if ckpt.info.source_dtypes.keys().any(|d| d != "float32") {
            " (converted to float32 on load)"
        } else {
            ""
        }
    );
    let mut keys: Vec<_> = ckpt.config().iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    println!("config:");
    for (k, v) in keys {
        println!("  {k}: {v}");
    }
    Ok(())
}
