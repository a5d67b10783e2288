//! `tabpfn-cli predict`: fit TabPFN on a training CSV and predict a test CSV.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tabpfn_model::{
    builtin, ClassLabel, Column, DataFrame, EstimatorConfig, FitMode, FittedEstimator,
    InferenceConfig, ManyClassConfig, PerFeatureTransformer, Probabilities, SubsampleSamples,
    TabPFNClassifier, TabPFNRegressor, Target, Task,
};

use crate::csv_input::parse_number;
use crate::input::{Chunk, Stream, TableFormat};
use crate::output::{self, Cell, Format};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TaskArg {
    Classification,
    Regression,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputType {
    Mean,
    Median,
    Mode,
    Quantiles,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FitModeArg {
    FitPreprocessors,
    FitWithCache,
    LowMemory,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Model file: an official TabPFN v2 .ckpt or a converted .safetensors. Default: the
    /// built-in tabpfn-mini classifier or regressor, by the target (see --task; not TabPFN
    /// v2 quality; docs/demo-model.md).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Training CSV (header row required), with the target column.
    #[arg(long, required_unless_present = "load_fit")]
    pub train: Option<PathBuf>,
    /// Name of the target column in the training CSV.
    #[arg(long, required_unless_present = "load_fit")]
    pub target: Option<String>,
    /// CSV of rows to predict; columns are matched to the training columns by name, the
    /// target column may be absent.
    #[arg(long)]
    pub test: PathBuf,
    /// Where to write predictions (atomically); stdout when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Output format (default: from the --output extension, .parquet / .json / .jsonl,
    /// else csv).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Task; must agree with --model (a classifier checkpoint only classifies). Without
    /// --model it picks the built-in model; by default text targets and integer targets with
    /// at most 10 distinct values are classification, other numbers regression.
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,
    /// Regression output.
    #[arg(long, value_enum, default_value = "mean")]
    pub output_type: OutputType,
    /// Quantiles for `--output-type quantiles`, comma-separated in [0, 1].
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.5,0.9")]
    pub quantiles: Vec<f32>,
    /// Ensemble members.
    #[arg(long, default_value_t = 8, conflicts_with = "load_fit")]
    pub n_estimators: usize,
    /// Random state of the ensemble (the reference's `random_state`).
    #[arg(long, default_value_t = 0, conflicts_with = "load_fit")]
    pub seed: u64,
    /// Softmax temperature applied to the logits.
    #[arg(long, default_value_t = 0.9, conflicts_with = "load_fit")]
    pub softmax_temperature: f32,
    /// Average logits before the softmax instead of probabilities after it.
    #[arg(long, conflicts_with = "load_fit")]
    pub average_before_softmax: bool,
    /// Classification: divide by the training class frequencies and renormalise.
    #[arg(long, conflicts_with = "load_fit")]
    pub balance_probabilities: bool,
    /// Columns to treat as categorical (names, comma-separated; kept if ≤ 30 values).
    #[arg(long, value_delimiter = ',', conflicts_with = "load_fit")]
    pub categorical: Vec<String>,
    /// How members are prepared: fit-preprocessors, fit-with-cache (train K/V cached at
    /// fit, fastest for repeated predicts) or low-memory.
    #[arg(
        long,
        value_enum,
        default_value = "fit-preprocessors",
        conflicts_with = "load_fit"
    )]
    pub fit_mode: FitModeArg,
    /// CPU threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Compute device: cpu, wgpu or cuda (the latter two need the cargo feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[command(flatten)]
    pub kernels: crate::device::KernelsArgs,
    #[command(flatten)]
    pub reference: crate::device::ReferenceArgs,
    /// Lift the 500-feature and 10 000-row limits TabPFN v2 was pretrained within.
    #[arg(long, conflicts_with = "load_fit")]
    pub ignore_limits: bool,
    /// Rows each ensemble member trains on: a count (10000) or a fraction of the training
    /// rows (0.25), a different random subset per member (the reference's
    /// SUBSAMPLE_SAMPLES). Training files beyond 10 000 rows then run without
    /// --ignore-limits, in bounded time and memory.
    #[arg(long, value_name = "N|FRACTION", conflicts_with = "load_fit")]
    pub subsample_samples: Option<SubsampleSamples>,
    /// inference_config keys of the reference (tabpfn 2.2.1's ModelInterfaceConfig), each
    /// as KEY=VALUE (VALUE in JSON or Python spelling: 12.5, false, None, rotate,
    /// '[null, "safepower"]') or as a JSON file holding {KEY: value, …}; repeatable.
    /// E.g. FINGERPRINT_FEATURE=false, FEATURE_SHIFT_METHOD=rotate, CLASS_SHIFT_METHOD=None,
    /// OUTLIER_REMOVAL_STD=None, PREPROCESS_TRANSFORMS='[{"name": "none", "categorical_name":
    /// "numeric"}]'. Every key and what is implemented: docs/pipeline.md.
    #[arg(long, value_name = "KEY=VALUE|FILE.json", conflicts_with = "load_fit")]
    pub inference_config: Vec<String>,
    /// More classes than the model's outputs (10) are fitted with tabpfn-extensions'
    /// ManyClassClassifier output code; its alphabet_size: symbols per codebook row, at
    /// most the model's classes (default: that limit).
    #[arg(long, conflicts_with = "load_fit")]
    pub alphabet_size: Option<usize>,
    /// The output code's codebook rows (ManyClassClassifier's n_estimators), each a full
    /// ensemble fit (default: from the class count and --n-estimators-redundancy).
    #[arg(long, conflicts_with = "load_fit")]
    pub codebook_rows: Option<usize>,
    /// ManyClassClassifier's n_estimators_redundancy: multiple of the minimal codebook rows.
    #[arg(long, default_value_t = 4, conflicts_with = "load_fit")]
    pub n_estimators_redundancy: usize,
    /// Column copied from the test CSV to the output (and not used as a feature).
    #[arg(long)]
    pub id_column: Option<String>,
    /// Columns to ignore in either file (comma-separated; absent names are fine).
    #[arg(long, value_delimiter = ',')]
    pub drop: Vec<String>,
    /// CSV delimiter (one character; default: detected from the header line).
    #[arg(long)]
    pub delimiter: Option<char>,
    /// Test rows read, predicted and written per step (bounds memory on large files). With
    /// fit-preprocessors every step re-runs the training rows, so for test files larger
    /// than one step prefer --fit-mode fit-with-cache (docs/performance.md).
    #[arg(long, default_value_t = 2048)]
    pub batch_size: usize,
    /// Save the fitted estimator (preprocessing state and, with fit-with-cache, the
    /// train K/V cache) to this file.
    #[arg(long)]
    pub save_fit: Option<PathBuf>,
    /// Predict from a fit saved with --save-fit instead of a training CSV.
    #[arg(long, conflicts_with_all = ["train", "target", "save_fit"])]
    pub load_fit: Option<PathBuf>,
    /// No progress bar or summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The largest `--inference-config` JSON file read.
const MAX_INFERENCE_CONFIG_BYTES: u64 = 1 << 20;

/// `--inference-config` items: `KEY=VALUE`, or a JSON file of `{KEY: value}`.
fn inference_config(items: &[String]) -> Result<InferenceConfig> {
    let mut out = InferenceConfig::default();
    for item in items {
        let part = if item.contains('=') {
            InferenceConfig::from_assignments(std::slice::from_ref(item))?
        } else {
            let path = Path::new(item);
            let bytes = tabpfn_weights::files::read_bounded(
                path,
                MAX_INFERENCE_CONFIG_BYTES,
                "inference config",
            )
            .with_context(|| {
                format!("--inference-config {item}: neither KEY=VALUE nor a readable JSON file")
            })?;
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not valid JSON", path.display()))?;
            InferenceConfig::from_json(&v).with_context(|| path.display().to_string())?
        };
        out.extend(part)?;
    }
    Ok(out)
}

fn estimator_config(a: &PredictArgs, task: Task) -> Result<EstimatorConfig> {
    if a.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let ic = inference_config(&a.inference_config)?;
    if a.subsample_samples.is_some() && ic.keys().any(|k| k == "SUBSAMPLE_SAMPLES") {
        bail!("--subsample-samples and --inference-config SUBSAMPLE_SAMPLES=… both set the rows per member; give one");
    }
    let mut cfg = EstimatorConfig {
        n_estimators: a.n_estimators,
        softmax_temperature: a.softmax_temperature,
        average_before_softmax: a.average_before_softmax,
        balance_probabilities: a.balance_probabilities,
        random_state: a.seed,
        fit_mode: match a.fit_mode {
            FitModeArg::FitPreprocessors => FitMode::FitPreprocessors,
            FitModeArg::FitWithCache => FitMode::FitWithCache,
            FitModeArg::LowMemory => FitMode::LowMemory,
        },
        ignore_pretraining_limits: a.ignore_limits,
        batch_size: Some(a.batch_size),
        subsample_samples: a.subsample_samples,
        // a row's prediction must not depend on the --batch-size chunk it is read in
        row_independent: true,
        ..Default::default()
    };
    ic.apply(&mut cfg, task).context("--inference-config")?;
    Ok(cfg)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    ProgressBar::new_spinner()
}

/// The training table: features (typed), target, and how numeric labels were written.
struct Training {
    x: DataFrame,
    y: Target,
    label_text: HashMap<u64, String>,
}

fn read_training(a: &PredictArgs, table: &Chunk, task: Task) -> Result<Training> {
    let target = a
        .target
        .as_deref()
        .expect("clap requires --target without --load-fit");
    let path = table.path().display();
    let t = table.column_index(target).ok_or_else(|| {
        anyhow!(
            "{path}: no target column `{target}`; the header has: {}",
            table.headers().join(", ")
        )
    })?;
    let mut cols = Vec::new();
    let dropped: HashSet<&str> = a.drop.iter().map(String::as_str).collect();
    for (j, name) in table.headers().iter().enumerate() {
        if j == t
            || dropped.contains(name.as_str())
            || a.id_column.as_deref() == Some(name.as_str())
        {
            continue;
        }
        // a column with no value at all is numeric and all-NaN, as pandas reads it; the
        // estimators then treat it as the reference does (docs/pipeline.md)
        cols.push(table.typed_column(j, table.is_numeric(j))?);
    }
    if cols.is_empty() {
        bail!("{path}: no feature columns besides the target `{target}`");
    }
    let x = DataFrame::new(cols)?;
    let mut label_text = HashMap::new();
    let owned = table.cells(t);
    let cells: Vec<(u64, Option<&str>)> = owned.iter().map(|(l, c)| (*l, c.as_deref())).collect();
    if let Some((line, _)) = cells.iter().find(|(_, c)| c.is_none()) {
        bail!("{path}:{line}: the target `{target}` is missing; every training row needs one");
    }
    let numeric = cells
        .iter()
        .all(|(_, c)| c.and_then(parse_number).is_some());
    let y = if numeric {
        let v: Vec<f64> = cells
            .iter()
            .map(|(_, c)| parse_number(c.unwrap()).unwrap())
            .collect();
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            bail!("{path}:{}: the target `{target}` is not finite", cells[i].0);
        }
        for (c, val) in cells.iter().zip(&v) {
            label_text
                .entry(val.to_bits())
                .or_insert_with(|| c.1.unwrap().to_string());
        }
        Target::Numeric(v)
    } else {
        if task == Task::Regression {
            let (line, s) = cells
                .iter()
                .find(|(_, c)| c.and_then(parse_number).is_none())
                .expect("not numeric");
            bail!(
                "{path}:{line}: the regression target `{target}` holds `{}`; it must be numeric",
                s.unwrap_or("")
            );
        }
        Target::Text(cells.iter().map(|(_, c)| c.unwrap().to_string()).collect())
    };
    Ok(Training { x, y, label_text })
}

/// Every test column must be a feature, the target, the id column or dropped.
fn check_test_header(
    a: &PredictArgs,
    headers: &[String],
    fitted: &FittedEstimator,
    file: &std::path::Path,
) -> Result<()> {
    let path = file.display();
    let names: HashSet<&str> = fitted
        .ensemble()
        .feature_names()
        .iter()
        .map(String::as_str)
        .collect();
    let dropped: HashSet<&str> = a.drop.iter().map(String::as_str).collect();
    let target = a.target.as_deref().or(fitted.ensemble().target_name());
    for h in headers {
        let known = names.contains(h.as_str())
            || target == Some(h)
            || a.id_column.as_deref() == Some(h.as_str())
            || dropped.contains(h.as_str());
        if !known {
            bail!(
                "{path}: column `{h}` is not a feature of the training data (pass --drop {h} to ignore it)"
            );
        }
    }
    Ok(())
}

/// The test rows of one chunk with the fitted feature columns, matched by name.
fn read_test(table: &Chunk, fitted: &FittedEstimator) -> Result<DataFrame> {
    let path = table.path().display();
    let names = fitted.ensemble().feature_names();
    let cols = names
        .iter()
        .zip(fitted.ensemble().feature_is_text())
        .map(|(n, &text)| {
            let j = table.column_index(n).ok_or_else(|| {
                anyhow!("{path}: missing column `{n}`, which the model was fitted on")
            })?;
            table.typed_column(j, !text)
        })
        .collect::<Result<Vec<Column>>>()?;
    Ok(DataFrame::new(cols)?)
}

fn label_string(l: &ClassLabel, text: &HashMap<u64, String>) -> String {
    match l {
        ClassLabel::Numeric(v) => text
            .get(&v.to_bits())
            .cloned()
            .unwrap_or_else(|| v.to_string()),
        ClassLabel::Text(s) => s.clone(),
    }
}

/// Output rows of a classifier: the predicted label, then one probability per class.
fn class_rows(
    p: &Probabilities,
    labels: &[ClassLabel],
    label_text: &HashMap<u64, String>,
) -> Vec<Vec<Cell>> {
    (0..p.rows)
        .map(|i| {
            let mut r = vec![Cell::Text(label_string(&labels[i], label_text))];
            r.extend(p.row(i).iter().map(|&v| Cell::f32(v)));
            r
        })
        .collect()
}

/// `--model`, or else the built-in model of `builtin_task`.
fn load_model(
    path: Option<&std::path::Path>,
    builtin_task: impl FnOnce() -> Result<(Task, String)>,
    device: &burn::tensor::Device,
    quiet: bool,
) -> Result<(PerFeatureTransformer, PathBuf)> {
    match path {
        Some(p) => {
            let m = PerFeatureTransformer::load(p, device)
                .with_context(|| format!("cannot load model {}", p.display()))?;
            Ok((m, p.to_path_buf()))
        }
        None => {
            let (task, why) = builtin_task()?;
            let name = builtin::name(task);
            if !quiet {
                eprintln!("tabpfn-cli: no --model given, {}", builtin::NOTICE);
                if !why.is_empty() {
                    eprintln!("tabpfn-cli: {why}: using {name}");
                }
            }
            let m = builtin::model(task, device)
                .ok_or_else(|| anyhow!("this build has no {name}"))??;
            Ok((m, PathBuf::from(name)))
        }
    }
}

/// The most distinct integer target values that still read as class labels when no model
/// says the task (the reference's classifier handles up to 10 classes natively).
pub const MAX_GUESSED_CLASSES: usize = 10;

/// The task the built-in model is picked for: `--task`, else the saved fit's, else the
/// target column's — classification for text and for integers with at most
/// [`MAX_GUESSED_CLASSES`] distinct values, regression otherwise. Returns the reason, which
/// the CLI prints.
fn builtin_task(a: &PredictArgs, train: Option<&Chunk>) -> Result<(Task, String)> {
    if let Some(t) = a.task {
        return Ok((t.into(), format!("--task {}", Task::from(t).name())));
    }
    if let Some(fit) = &a.load_fit {
        let t = FittedEstimator::saved_task(fit)?;
        return Ok((t, format!("{} holds a {} fit", fit.display(), t.name())));
    }
    let (Some(table), Some(target)) = (train, a.target.as_deref()) else {
        bail!("--train and --target are required without --load-fit");
    };
    let Some(j) = table.column_index(target) else {
        // read_training words the error with the header
        return Ok((Task::Classification, String::new()));
    };
    let cells = table.cells(j);
    let mut values = Vec::with_capacity(cells.len());
    for (_, c) in &cells {
        match c.as_deref().map(parse_number) {
            Some(Some(v)) => values.push(v),
            Some(None) => {
                return Ok((
                    Task::Classification,
                    format!("the target `{target}` holds text, so this is classification (--task overrides)"),
                ))
            }
            None => {}
        }
    }
    values.sort_by(f64::total_cmp);
    values.dedup();
    let integers = values.iter().all(|v| v.fract() == 0.0);
    if integers && values.len() <= MAX_GUESSED_CLASSES {
        Ok((
            Task::Classification,
            format!(
                "the target `{target}` has {} distinct integer values, so this is \
                 classification (--task overrides)",
                values.len()
            ),
        ))
    } else {
        Ok((
            Task::Regression,
            format!(
                "the target `{target}` has {} distinct {}values, so this is regression \
                 (--task overrides)",
                values.len(),
                if integers { "integer " } else { "" }
            ),
        ))
    }
}

impl From<TaskArg> for Task {
    fn from(t: TaskArg) -> Self {
        match t {
            TaskArg::Classification => Task::Classification,
            TaskArg::Regression => Task::Regression,
        }
    }
}

/// Refuses outputs that would overwrite an input: the same file under any spelling (same
/// device and inode), checked before anything is read or written.
fn check_outputs(a: &PredictArgs) -> Result<()> {
    let inputs: Vec<(&str, &Path)> = [
        ("--train", a.train.as_deref()),
        ("--test", Some(a.test.as_path())),
        ("--model", a.model.as_deref()),
        ("--load-fit", a.load_fit.as_deref()),
    ]
    .into_iter()
    .filter_map(|(flag, p)| p.map(|p| (flag, p)))
    .collect();
    let outputs = [
        ("--output", a.output.as_deref()),
        ("--save-fit", a.save_fit.as_deref()),
    ];
    for (oflag, out) in outputs {
        let Some(out) = out else { continue };
        for (iflag, input) in &inputs {
            if tabpfn_weights::files::same_file(out, input) {
                bail!(
                    "{oflag} {} is the same file as {iflag}; refusing to overwrite an input",
                    out.display()
                );
            }
        }
    }
    if let (Some(o), Some(f)) = (&a.output, &a.save_fit) {
        if o == f || tabpfn_weights::files::same_file(o, f) {
            bail!("--output and --save-fit name the same file {}", o.display());
        }
    }
    if Format::resolve(a.format, a.output.as_deref()) == Format::Parquet && a.output.is_none() {
        bail!("--format parquet needs --output (Parquet cannot stream to stdout)");
    }
    if let Some(q) = a.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        bail!("--quantiles: {q} is outside [0, 1]");
    }
    Ok(())
}

/// The most CPU threads `--threads` may ask for (each one is an OS thread with its stack).
pub const MAX_THREADS: usize = 1024;

pub fn run(a: PredictArgs) -> Result<()> {
    let start = Instant::now();
    check_outputs(&a)?;
    if let Some(n) = a.threads {
        if n == 0 || n > MAX_THREADS {
            bail!("--threads must be between 1 and {MAX_THREADS}, got {n}");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot set the thread count")?;
    }
    let device = crate::device::parse(&a.device)?;
    let delimiter = match a.delimiter {
        None => None,
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => bail!("--delimiter must be one ASCII character, got `{c}`"),
    };
    // the training table is read before the model: without --model its target picks the
    // built-in model
    let train = match (&a.load_fit, &a.train) {
        (None, Some(p)) => Some(Stream::read_all(p, TableFormat::of(p), delimiter)?),
        _ => None,
    };
    let (model, model_path) = load_model(
        a.model.as_deref(),
        || builtin_task(&a, train.as_ref()),
        &device,
        a.quiet,
    )?;
    let model = Arc::new(
        model
            .with_torch_rng(a.reference.torch_rng())
            .with_kernels(a.kernels.kernels()),
    );
    let task = model.task();
    if let Some(t) = a.task {
        if Task::from(t) != task {
            bail!(
                "--task {:?} disagrees with the model {}, which is a {:?} checkpoint",
                t,
                model_path.display(),
                task
            );
        }
    }
    let cfg = estimator_config(&a, task)?;
    let bar = progress_bar(a.quiet);
    let mut label_text = HashMap::new();
    let fitted = if let Some(fit) = &a.load_fit {
        bar.set_message(format!("loading fit {}", fit.display()));
        FittedEstimator::load(fit, model.clone())?
    } else {
        let train_path = a
            .train
            .as_ref()
            .expect("clap requires --train without --load-fit");
        let train = train.expect("read above without --load-fit");
        let tr = read_training(&a, &train, task)?;
        label_text = tr.label_text;
        let mut cfg = cfg.clone();
        if !a.categorical.is_empty() {
            let names: Vec<&str> = tr.x.columns().iter().map(|c| c.name.as_str()).collect();
            cfg.categorical_features_indices = Some(
                a.categorical
                    .iter()
                    .map(|c| {
                        names.iter().position(|n| n == c).ok_or_else(|| {
                            anyhow!(
                                "--categorical names `{c}`, which is not a feature column of {}",
                                train_path.display()
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        if let Some(m) = cfg.member_feature_limit(tr.x.n_columns()) {
            if !a.quiet {
                eprintln!(
                    "tabpfn-cli: {} has {} feature columns, more than the {m} TabPFN v2 was \
                     pretrained on: each ensemble member sees a random {m} of them \
                     (--ignore-limits: every member sees all)",
                    train_path.display(),
                    tr.x.n_columns()
                );
            }
        }
        bar.set_message(format!(
            "fitting {} members on {} rows",
            cfg.n_estimators,
            tr.x.rows()
        ));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let ctx = || {
            format!(
                "fitting on {} (target `{}`)",
                train_path.display(),
                a.target.as_deref().unwrap_or("")
            )
        };
        let mut fitted = match task {
            Task::Classification => {
                let many = ManyClassConfig {
                    alphabet_size: a.alphabet_size,
                    n_estimators: a.codebook_rows,
                    n_estimators_redundancy: a.n_estimators_redundancy,
                    ..Default::default()
                };
                let fitted = TabPFNClassifier::new(model.clone(), cfg)?
                    .fit_estimator(&tr.x, &tr.y, &many)
                    .with_context(ctx)?;
                if let FittedEstimator::ManyClass(f) = &fitted {
                    if !a.quiet {
                        eprintln!(
                            "tabpfn-cli: {} classes are more than one TabPFN ensemble handles: \
                             fitted tabpfn-extensions' many-class output code, {} codebook \
                             rows × {} members",
                            f.classes().len(),
                            f.n_rows(),
                            f.ensemble().config().n_estimators
                        );
                    }
                }
                fitted
            }
            Task::Regression => FittedEstimator::Regressor(
                TabPFNRegressor::new(model.clone(), cfg)?
                    .fit(&tr.x, &tr.y)
                    .with_context(ctx)?,
            ),
        };
        fitted.set_target_name(a.target.clone().unwrap_or_default());
        if let Some(p) = &a.save_fit {
            fitted.save(p)?;
        }
        fitted
    };
    let mut stream = Stream::open(&a.test, TableFormat::of(&a.test), delimiter)?;
    check_test_header(&a, stream.headers(), &fitted, &a.test)?;
    let id_col = match &a.id_column {
        None => None,
        Some(id) => Some(
            stream
                .headers()
                .iter()
                .position(|h| h == id)
                .ok_or_else(|| anyhow!("{}: no id column `{id}`", a.test.display()))?,
        ),
    };
    let mut header: Vec<String> = a.id_column.iter().cloned().collect();
    let qs: Vec<f32> = if a.output_type == OutputType::Quantiles {
        a.quantiles.clone()
    } else {
        vec![]
    };
    let is_classifier = !matches!(fitted, FittedEstimator::Regressor(_));
    let class_header = |classes: &[ClassLabel], header: &mut Vec<String>| {
        header.push("prediction".into());
        header.extend(
            classes
                .iter()
                .map(|c| format!("proba_{}", label_string(c, &label_text))),
        );
        format!("{} classes", classes.len())
    };
    let summary = match &fitted {
        FittedEstimator::Classifier(f) => class_header(f.classes(), &mut header),
        FittedEstimator::ManyClass(f) => format!(
            "{}, output code of {} rows",
            class_header(f.classes(), &mut header),
            f.n_rows()
        ),
        FittedEstimator::Regressor(_) => {
            match a.output_type {
                OutputType::Mean => header.push("mean".into()),
                OutputType::Median => header.push("median".into()),
                OutputType::Mode => header.push("mode".into()),
                OutputType::Quantiles => header.extend(qs.iter().map(|q| format!("quantile_{q}"))),
            }
            "regression".to_string()
        }
    };
    // a JSON object or Parquet schema cannot hold a name twice, and a CSV reader would
    // pick one of the two columns: refuse before anything is written
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header.iter().find(|h| !seen.insert(h.as_str())) {
        bail!(
            "output column `{dup}` would appear twice (the --id-column is named like a \
             prediction column); rename the id column in {}",
            a.test.display()
        );
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}: {pos} member-rows ({elapsed})")
            .expect("valid template"),
    );
    bar.set_message("predicting");
    let text_columns: Vec<bool> = header
        .iter()
        .enumerate()
        .map(|(i, _)| i < usize::from(a.id_column.is_some()) + usize::from(is_classifier))
        .collect();
    let format = Format::resolve(a.format, a.output.as_deref());
    let mut sink = output::Sink::create(format, a.output.as_deref(), header, text_columns)?;
    let mut rows = 0usize;
    while let Some(chunk) = stream.next_chunk(a.batch_size)? {
        let x_test = read_test(&chunk, &fitted)?;
        let n = x_test.rows();
        let tick = |k: usize| bar.inc(k as u64);
        let mut body: Vec<Vec<Cell>> = match &fitted {
            FittedEstimator::Classifier(f) => {
                let p = f.predict_proba_with_progress(&x_test, tick)?;
                class_rows(&p, &f.labels_of(&p), &label_text)
            }
            FittedEstimator::ManyClass(f) => {
                let p = f.predict_proba_with_progress(&x_test, tick)?;
                class_rows(&p, &f.labels_of(&p), &label_text)
            }
            FittedEstimator::Regressor(f) => {
                let out = f.predict_full_with_progress(&x_test, &qs, tick)?;
                let columns: Vec<&Vec<f32>> = match a.output_type {
                    OutputType::Mean => vec![&out.mean],
                    OutputType::Median => vec![&out.median],
                    OutputType::Mode => vec![&out.mode],
                    OutputType::Quantiles => out.quantiles.iter().collect(),
                };
                (0..n)
                    .map(|i| columns.iter().map(|c| Cell::f32(c[i])).collect())
                    .collect()
            }
        };
        if let Some(j) = id_col {
            for (r, (_, id)) in body.iter_mut().zip(chunk.cells(j)) {
                r.insert(0, Cell::Text(id.unwrap_or_default()));
            }
        }
        sink.write_rows(&body)?;
        rows += n;
    }
    sink.finish()?;
    bar.finish_and_clear();
    if !a.quiet {
        eprintln!(
            "tabpfn-cli: predicted {rows} rows × {} features ({summary}, {} members) in {:.2} s",
            fitted.ensemble().n_features(),
            fitted.ensemble().config().n_estimators,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
