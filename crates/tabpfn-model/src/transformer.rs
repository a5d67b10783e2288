//! `PerFeatureTransformer`: the whole TabPFN v2 network for one table (batch size 1, as
//! the estimators call it).
//!
//! Data flow: host encoders (x: constant removal, NaN handling, normalisation, group
//! scaling; y: NaN handling, class mapping) → device projections + "subspace" positional
//! embedding → state `[R, G+1, E]` → `nlayers` × [`PerFeatureEncoderLayer`] → decoder on
//! the target token of the test rows.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};

use crate::cache::TrainCache;
use crate::config::{ModelConfig, Task};
use crate::cpu::HostStack;
use crate::decoder::Decoder;
use crate::error::{input_err, ModelError, Result};
use crate::layer::PerFeatureEncoderLayer;
use crate::nn::BurnOps;
use crate::nn::Linear;
use crate::stack::{self, BurnStack, CpuStack, Inputs};
use crate::torch_rng::TorchRng;
use crate::x_encoder::{self, EncodedX, XEncoderOptions};
use crate::y_encoder;

/// Run-time switches of a forward pass.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ForwardOptions {
    /// Soft outlier clipping inside the x-encoder, at this many standard deviations.
    /// The reference classifier estimator sets 12; a freshly loaded model has none.
    pub remove_outliers_std: Option<f32>,
    /// Process attention queries this many rows at a time (bounds memory; same result).
    /// `None`: Burn's ops (GPU devices, `Kernels::Stock`) pick the chunk that keeps one
    /// score tensor within `tabpfn_attention::SCORE_BUDGET_BYTES` (1 GiB); the CPU kernels
    /// block their queries by cache size anyway and ignore this.
    pub query_chunk: Option<usize>,
    /// Constant-column masks and used-feature counts from the train rows only, so that each
    /// test row's logits depend on that row and the train rows alone — the same encoding a
    /// train-set cache uses ([`Self::fit_cache`] always does this). Off: the reference's
    /// `model(x, y)`, where the test rows of the call take part.
    pub train_only_statistics: bool,
}

/// Which implementation runs the layer stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kernels {
    /// The hand-written CPU kernels (`crate::cpu`) on the CPU device; on a GPU device
    /// (wgpu / cuda builds) Burn's ops with the custom CubeCL kernels of `tabpfn-cubecl`
    /// for the attention core, LayerNorm + residual and GELU.
    #[default]
    Auto,
    /// Burn's stock tensor ops on every device (the reference the kernels are tested
    /// against).
    Stock,
}

/// A table for the network: `x` is `[rows, cols]` row-major, train rows first.
#[derive(Debug, Clone, Copy)]
pub struct Table<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub cols: usize,
}

impl<'a> Table<'a> {
    /// Checks that `x` holds `rows × cols` values.
    pub fn new(x: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        if x.len() != rows * cols {
            return Err(input_err(
                "x",
                format!(
                    "has {} values, expected rows × cols = {rows} × {cols}",
                    x.len()
                ),
            ));
        }
        if cols == 0 {
            return Err(input_err("x", "needs at least one feature column"));
        }
        Ok(Self { x, rows, cols })
    }
}

/// Decoder outputs for the test rows: `[rows, n_out]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Logits {
    pub rows: usize,
    pub n_out: usize,
    pub data: Vec<f32>,
}

impl Logits {
    /// The logits of test row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.n_out..(i + 1) * self.n_out]
    }
}

/// The TabPFN v2 network.
#[derive(Debug, Clone)]
pub struct PerFeatureTransformer {
    pub(crate) config: ModelConfig,
    /// x-encoder projection `encoder.{5|6}.layer`: 2F → E.
    pub(crate) x_proj: Linear,
    /// y-encoder projection `y_encoder.{2|1}.layer`: 2 → E.
    pub(crate) y_proj: Linear,
    /// `feature_positional_embedding_embeddings`: E/4 → E.
    pub(crate) pos_proj: Option<Linear>,
    pub(crate) layers: Vec<PerFeatureEncoderLayer>,
    pub(crate) decoder: Decoder,
    /// Regression borders (`criterion.borders`), z-scored target space.
    pub(crate) borders: Option<Vec<f32>>,
    pub(crate) device: Device,
    /// The layer weights as host buffers for the CPU kernels (CPU device only).
    pub(crate) host: Option<Arc<HostStack>>,
    pub(crate) kernels: Kernels,
    /// Whose `torch.randn` the feature positional embeddings reproduce.
    pub(crate) torch_rng: TorchRng,
    /// SHA-256 over every weight (names, shapes, f32 values): a saved fit names the exact
    /// weights it was fitted with.
    pub(crate) weights_sha256: [u8; 32],
}

impl PerFeatureTransformer {
    /// Loads a `.ckpt` or `.safetensors` checkpoint onto `device`, validating every tensor.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let ckpt = tabpfn_weights::Checkpoint::open(path)?;
        Self::from_checkpoint(&ckpt, device)
    }

    /// Builds the network from a checkpoint already read (a file, bytes embedded in a
    /// binary, or random weights), validating every tensor's name and shape.
    pub fn from_checkpoint(ckpt: &tabpfn_weights::Checkpoint, device: &Device) -> Result<Self> {
        crate::loader::from_checkpoint(ckpt, device)
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// SHA-256 of the weights (lowercase hex): names, shapes and f32 values of every
    /// tensor the network uses, in name order, so the same weights from a `.ckpt` or a
    /// `.safetensors` file give the same digest.
    pub fn weights_sha256(&self) -> String {
        self.weights_sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn task(&self) -> Task {
        self.config.task()
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Selects the implementation of the layer stack (default [`Kernels::Auto`]).
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// The implementation that runs the layer stack.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Reproduces the reference as run on a torch CPU (default) or CUDA device: the
    /// reference draws its feature positional embeddings from that device's generator, so
    /// its predictions differ between the two (see [`TorchRng`]). Any Burn device can
    /// reproduce either.
    pub fn with_torch_rng(mut self, rng: TorchRng) -> Self {
        self.torch_rng = rng;
        self
    }

    /// The generator the positional embeddings reproduce.
    pub fn torch_rng(&self) -> TorchRng {
        self.torch_rng
    }

    /// The encoder layers (Burn modules), for the component benchmarks.
    #[doc(hidden)]
    pub fn layers(&self) -> &[PerFeatureEncoderLayer] {
        &self.layers
    }

    /// The layers of the CPU path (`None` off the CPU device), for the component benchmarks.
    #[doc(hidden)]
    pub fn cpu_layers(&self) -> Option<&[crate::cpu::HostLayer]> {
        self.host.as_deref().map(|h| h.layers.as_slice())
    }

    fn host_stack(&self) -> Option<&HostStack> {
        match self.kernels {
            Kernels::Auto => self.host.as_deref(),
            Kernels::Stock => None,
        }
    }

    /// Whether this model's layer stack keeps K/V caches as host buffers (CPU kernels).
    pub(crate) fn cache_on_host(&self) -> bool {
        self.host_stack().is_some()
    }

    /// Regression borders `[num_buckets + 1]`, or `None` for a classifier.
    pub fn borders(&self) -> Option<&[f32]> {
        self.borders.as_deref()
    }

    /// Positional embeddings of `g` feature groups, `[G, E]` (zeros when disabled).
    fn positional(&self, g: usize) -> Tensor<2> {
        let e = self.config.emsize;
        match &self.pos_proj {
            Some(proj) => {
                let table = self.torch_rng.randn(self.config.seed, g * (e / 4));
                let table =
                    Tensor::<2>::from_data(TensorData::new(table, [g, e / 4]), &self.device);
                proj.forward(table)
            }
            None => Tensor::zeros([g, e], &self.device),
        }
    }

    /// Refuses encoded inputs that overflowed float32 in normalisation.
    fn check_encoded(&self, x: &EncodedX) -> Result<()> {
        match x.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => {
                let col = (i / x.width) % x.n_groups * self.config.features_per_group;
                Err(input_err(
                    "x",
                    format!(
                        "values around feature column {col} overflow float32 after \
                         normalisation; rescale the data"
                    ),
                ))
            }
        }
    }

    fn check_state(&self, state: &x_encoder::XEncoderState) -> Result<()> {
        match state.overflowing_group() {
            None => Ok(()),
            Some(g) => {
                let f = self.config.features_per_group;
                Err(input_err(
                    "x",
                    format!(
                        "feature columns {}..{} overflow float32 statistics (|values| near 3.4e38); \
                         rescale the data",
                        g * f,
                        g * f + f - 1
                    ),
                ))
            }
        }
    }

    fn check_y(&self, y: &[f32], rows: usize) -> Result<()> {
        if y.is_empty() {
            return Err(input_err("y", "needs at least one train row"));
        }
        if y.len() > rows {
            return Err(input_err(
                "y",
                format!("has {} train targets but x has only {rows} rows", y.len()),
            ));
        }
        Ok(())
    }

    fn no_rows(&self) -> Logits {
        Logits {
            rows: 0,
            n_out: self.config.n_out(),
            data: Vec::new(),
        }
    }

    /// Runs the network after the encoders on the stack [`Kernels`] selects for this
    /// device and returns the test rows' logits.
    fn run_layers(
        &self,
        inputs: Inputs<'_>,
        n_train: usize,
        cache: Option<&TrainCache>,
        query_chunk: Option<usize>,
    ) -> Result<Logits> {
        self.check_encoded(inputs.x)?;
        let m = inputs.x.rows - n_train;
        let kv = cache.map(|c| c.kv.as_slice());
        let data = match self.host_stack() {
            Some(host) => stack::run(&CpuStack { host }, inputs, n_train, kv)?,
            None => {
                let stack = BurnStack {
                    model: self,
                    query_chunk,
                    ops: BurnOps::new(self.kernels, &self.device),
                };
                stack::run(&stack, inputs, n_train, kv)?
            }
        };
        let n_out = self.config.n_out();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite(format!(
                "the network's logits (decoder output) hold {} at test row {}, output {}; the \
                 model's weights or the inputs overflow float32",
                data[i],
                i / n_out,
                i % n_out
            )));
        }
        Ok(Logits {
            rows: m,
            n_out,
            data,
        })
    }

    /// Full forward pass: `x` holds `y.len()` train rows then the test rows; returns the
    /// logits of the test rows. Same semantics as the reference `model(x, y)`.
    pub fn forward(&self, x: Table<'_>, y: &[f32], options: ForwardOptions) -> Result<Logits> {
        self.check_y(y, x.rows)?;
        let n = y.len();
        let enc_opts = XEncoderOptions {
            remove_outliers_std: options.remove_outliers_std,
            train_only_statistics: options.train_only_statistics,
        };
        let (ex, x_state) = x_encoder::fit_transform(
            x.x,
            x.rows,
            x.cols,
            n,
            self.config.features_per_group,
            enc_opts,
        );
        self.check_state(&x_state)?;
        let (ey, _) = y_encoder::fit_transform(y, x.rows, self.task() == Task::Classification);
        if x.rows == n {
            return Ok(self.no_rows());
        }
        let pos = self.positional(ex.n_groups);
        let inputs = Inputs {
            x: &ex,
            y: &ey,
            pos: &pos,
        };
        self.run_layers(inputs, n, None, options.query_chunk)
    }

    /// "Fit once": runs the train rows alone and keeps what test rows need later — the
    /// fitted encoder state, the positional embeddings and each layer's head-0 K/V of the
    /// items attention. As in the reference `fit_with_cache`, constant-column masks and
    /// used-feature counts come from the train rows only.
    pub fn fit_cache(
        &self,
        x_train: Table<'_>,
        y: &[f32],
        options: ForwardOptions,
    ) -> Result<TrainCache> {
        self.check_y(y, x_train.rows)?;
        if y.len() != x_train.rows {
            return Err(input_err(
                "y",
                format!(
                    "has {} targets, expected one per train row ({})",
                    y.len(),
                    x_train.rows
                ),
            ));
        }
        let n = y.len();
        let enc_opts = XEncoderOptions {
            remove_outliers_std: options.remove_outliers_std,
            train_only_statistics: true,
        };
        let (ex, x_state) = x_encoder::fit_transform(
            x_train.x,
            n,
            x_train.cols,
            n,
            self.config.features_per_group,
            enc_opts,
        );
        self.check_state(&x_state)?;
        let (ey, y_state) = y_encoder::fit_transform(y, n, self.task() == Task::Classification);
        let pos = self.positional(ex.n_groups);
        self.check_encoded(&ex)?;
        let inputs = Inputs {
            x: &ex,
            y: &ey,
            pos: &pos,
        };
        let kv = match self.host_stack() {
            Some(host) => stack::build_cache(&CpuStack { host }, inputs)?,
            None => {
                let stack = BurnStack {
                    model: self,
                    query_chunk: options.query_chunk,
                    ops: BurnOps::new(self.kernels, &self.device),
                };
                stack::build_cache(&stack, inputs)?
            }
        };
        Ok(TrainCache {
            n_features: x_train.cols,
            n_train: n,
            x_state,
            y_state,
            embeddings: pos,
            kv,
            weights_sha256: self.weights_sha256(),
        })
    }

    /// "Predict many": logits of `x_test` rows from a [`TrainCache`]. `query_chunk` bounds
    /// the attention's memory as in [`ForwardOptions::query_chunk`] (same result).
    pub fn predict_cached(
        &self,
        cache: &TrainCache,
        x_test: Table<'_>,
        query_chunk: Option<usize>,
    ) -> Result<Logits> {
        cache.check_compatible(self, x_test.cols)?;
        let m = x_test.rows;
        if m == 0 {
            return Ok(self.no_rows());
        }
        let ex = x_encoder::transform(x_test.x, m, x_test.cols, &cache.x_state);
        let ey = y_encoder::transform(m, &cache.y_state);
        let inputs = Inputs {
            x: &ex,
            y: &ey,
            pos: &cache.embeddings,
        };
        self.run_layers(inputs, 0, Some(cache), query_chunk)
    }

    pub(crate) fn n_layers(&self) -> usize {
        self.layers.len()
    }
}
