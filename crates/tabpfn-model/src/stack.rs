//! The layer stack, written once: every layer but the last over all rows, the last one only
//! for what the decoder reads; or, to build a train-set cache, every layer over the train
//! rows keeping each layer's head-0 items K/V.
//!
//! Two implementations of [`LayerStack`] run it — Burn's ops ([`BurnStack`], any device,
//! the tested reference) and the CPU kernels ([`CpuStack`]) — and the model picks one per
//! call ([`crate::PerFeatureTransformer`]'s `kernels` and device). Each keeps its K/V cache
//! in its own form (device tensors or host buffers) and reads the other's by converting.

use burn::tensor::{Device, Tensor, TensorData};
use tabpfn_attention::{read_back, KvCache};

use crate::cpu::HostStack;
use crate::error::{input_err, Result};
use crate::layer::PerFeatureEncoderLayer;

/// One implementation of the encoder layers over a state `[R, T, E]`.
pub(crate) trait LayerStack {
    /// The state between layers.
    type State;

    fn n_layers(&self) -> usize;

    /// The embedded table `[R, T, E]` as this stack's state.
    fn state(&self, x: Tensor<3>) -> Result<Self::State>;

    /// Layer `l` on every row; test rows read the items K/V of `cache` when given, else the
    /// train rows'. With `keep`, also returns the train rows' head-0 K/V `[T, 1, N, D]`.
    fn layer(
        &self,
        l: usize,
        state: Self::State,
        n_train: usize,
        cache: Option<&KvCache>,
        keep: bool,
    ) -> Result<(Self::State, Option<KvCache>)>;

    /// Layer `l` (the last) for the test rows' target tokens only: `[M, E]` on `device`.
    fn test_targets(
        &self,
        l: usize,
        state: Self::State,
        n_train: usize,
        cache: Option<&KvCache>,
    ) -> Result<Tensor<2>>;

    /// Layer `l` (the last) of a cache build: only the items K/V `[T, 1, N, D]`.
    fn kv_only(&self, l: usize, state: Self::State) -> Result<KvCache>;
}

/// Runs the stack on `x [R, T, E]` whose first `n_train` rows are train rows (none when
/// `cache` holds one K/V per layer) and returns the test rows' target tokens `[M, E]`.
pub(crate) fn run<S: LayerStack>(
    stack: &S,
    x: Tensor<3>,
    n_train: usize,
    cache: Option<&[KvCache]>,
) -> Result<Tensor<2>> {
    if cache.is_none() && n_train == 0 {
        return Err(input_err(
            "x",
            "test rows need train rows (or a train-set cache) to attend to",
        ));
    }
    let last = stack.n_layers() - 1;
    let kv = |l: usize| cache.map(|c| &c[l]);
    let mut state = stack.state(x)?;
    for l in 0..last {
        state = stack.layer(l, state, n_train, kv(l), false)?.0;
    }
    stack.test_targets(last, state, n_train, kv(last))
}

/// Runs the stack on train rows alone (`x [N, T, E]`) and returns each layer's head-0
/// items K/V: what test rows attend to later.
pub(crate) fn build_cache<S: LayerStack>(stack: &S, x: Tensor<3>) -> Result<Vec<KvCache>> {
    let n_train = x.dims()[0];
    let last = stack.n_layers() - 1;
    let mut state = stack.state(x)?;
    let mut kv = Vec::with_capacity(stack.n_layers());
    for l in 0..last {
        let (s, k) = stack.layer(l, state, n_train, None, true)?;
        kv.push(k.ok_or_else(|| input_err("x", "no train rows to cache"))?);
        state = s;
    }
    // test rows read only the last layer's K/V, never its output
    kv.push(stack.kv_only(last, state)?);
    Ok(kv)
}

/// Burn's ops on any device.
pub(crate) struct BurnStack<'a> {
    pub layers: &'a [PerFeatureEncoderLayer],
    pub query_chunk: Option<usize>,
}

impl LayerStack for BurnStack<'_> {
    type State = Tensor<3>;

    fn n_layers(&self) -> usize {
        self.layers.len()
    }

    fn state(&self, x: Tensor<3>) -> Result<Tensor<3>> {
        Ok(x)
    }

    fn layer(
        &self,
        l: usize,
        state: Tensor<3>,
        n_train: usize,
        cache: Option<&KvCache>,
        keep: bool,
    ) -> Result<(Tensor<3>, Option<KvCache>)> {
        self.layers[l].forward(state, n_train, cache, keep, self.query_chunk)
    }

    fn test_targets(
        &self,
        l: usize,
        state: Tensor<3>,
        n_train: usize,
        cache: Option<&KvCache>,
    ) -> Result<Tensor<2>> {
        self.layers[l].forward_test_targets(state, n_train, cache, self.query_chunk)
    }

    fn kv_only(&self, l: usize, state: Tensor<3>) -> Result<KvCache> {
        self.layers[l].items_kv_only(state)
    }
}

/// The hand-written CPU kernels on host buffers.
pub(crate) struct CpuStack<'a> {
    pub host: &'a HostStack,
    /// Where the decoder runs (the model's device).
    pub device: &'a Device,
}

/// A host state `[rows, t, E]`.
pub(crate) struct HostState {
    x: Vec<f32>,
    rows: usize,
    t: usize,
    e: usize,
}

impl LayerStack for CpuStack<'_> {
    type State = HostState;

    fn n_layers(&self) -> usize {
        self.host.layers.len()
    }

    fn state(&self, x: Tensor<3>) -> Result<HostState> {
        let [rows, t, e] = x.dims();
        Ok(HostState {
            x: read_back(x, "the embedded table")?,
            rows,
            t,
            e,
        })
    }

    fn layer(
        &self,
        l: usize,
        mut s: HostState,
        n_train: usize,
        cache: Option<&KvCache>,
        keep: bool,
    ) -> Result<(HostState, Option<KvCache>)> {
        let host_kv = cache.map(KvCache::host).transpose()?;
        let kept =
            self.host.layers[l].forward(&mut s.x, s.rows, s.t, n_train, host_kv.as_deref(), keep);
        Ok((s, kept.map(KvCache::from_host)))
    }

    fn test_targets(
        &self,
        l: usize,
        s: HostState,
        n_train: usize,
        cache: Option<&KvCache>,
    ) -> Result<Tensor<2>> {
        let host_kv = cache.map(KvCache::host).transpose()?;
        let target = self.host.layers[l].forward_test_targets(
            &s.x,
            s.rows,
            s.t,
            n_train,
            host_kv.as_deref(),
        );
        let m = s.rows - n_train;
        Ok(Tensor::from_data(
            TensorData::new(target, [m, s.e]),
            self.device,
        ))
    }

    fn kv_only(&self, l: usize, mut s: HostState) -> Result<KvCache> {
        Ok(KvCache::from_host(
            self.host.layers[l].items_kv_only(&mut s.x, s.rows, s.t),
        ))
    }
}
