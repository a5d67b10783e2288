//! The network after the encoders, written once: embedding, every layer but the last over
//! all rows, the last one only for what the decoder reads, the decoder; or, to build a
//! train-set cache, every layer over the train rows keeping each layer's head-0 items K/V.
//!
//! Two implementations of [`LayerStack`] run it — Burn's ops ([`BurnStack`], any device,
//! the tested reference) and the CPU kernels ([`CpuStack`]) — and the model picks one per
//! call ([`crate::PerFeatureTransformer`]'s `kernels` and device). Each keeps its K/V cache
//! in its own form (device tensors or host buffers) and reads the other's by converting.
//! On the CPU stack nothing but per-row arithmetic of fixed shape sits between a test row
//! and its logits, so a row's logits are the same bits in any batch (with train-only
//! encoder statistics: `ForwardOptions::train_only_statistics`).

use burn::tensor::{Tensor, TensorData};
use tabpfn_attention::{read_back, KvCache};

use crate::cpu::HostStack;
use crate::error::{input_err, Result};
use crate::nn::BurnOps;
use crate::transformer::PerFeatureTransformer;
use crate::x_encoder::EncodedX;

/// The encoder outputs of one call: `x [R, G, 2F]`, `y [R, 2]` and the positional
/// embeddings `[G, E]`.
pub(crate) struct Inputs<'a> {
    pub x: &'a EncodedX,
    pub y: &'a [f32],
    pub pos: &'a Tensor<2>,
}

/// One implementation of the network after the encoders, over a state `[R, T, E]`.
pub(crate) trait LayerStack {
    /// The state between layers.
    type State;

    fn n_layers(&self) -> usize;

    /// The projected inputs plus positional embeddings: the state `[R, G+1, E]`.
    fn embed(&self, inputs: Inputs<'_>) -> Result<Self::State>;

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

    /// Layer `l` (the last) for the test rows' target tokens only, then the decoder:
    /// logits `[M, n_out]` row-major.
    fn test_logits(
        &self,
        l: usize,
        state: Self::State,
        n_train: usize,
        cache: Option<&KvCache>,
    ) -> Result<Vec<f32>>;

    /// Layer `l` (the last) of a cache build: only the items K/V `[T, 1, N, D]`.
    fn kv_only(&self, l: usize, state: Self::State) -> Result<KvCache>;
}

/// Runs the network on encoded `inputs` whose first `n_train` rows are train rows (none
/// when `cache` holds one K/V per layer) and returns the test rows' logits `[M, n_out]`.
pub(crate) fn run<S: LayerStack>(
    stack: &S,
    inputs: Inputs<'_>,
    n_train: usize,
    cache: Option<&[KvCache]>,
) -> Result<Vec<f32>> {
    if cache.is_none() && n_train == 0 {
        return Err(input_err(
            "x",
            "test rows need train rows (or a train-set cache) to attend to",
        ));
    }
    let last = stack.n_layers() - 1;
    let kv = |l: usize| cache.map(|c| &c[l]);
    let mut state = stack.embed(inputs)?;
    for l in 0..last {
        state = stack.layer(l, state, n_train, kv(l), false)?.0;
    }
    stack.test_logits(last, state, n_train, kv(last))
}

/// Runs the stack on train rows alone and returns each layer's head-0 items K/V: what test
/// rows attend to later.
pub(crate) fn build_cache<S: LayerStack>(stack: &S, inputs: Inputs<'_>) -> Result<Vec<KvCache>> {
    let n_train = inputs.x.rows;
    let last = stack.n_layers() - 1;
    let mut state = stack.embed(inputs)?;
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
    pub model: &'a PerFeatureTransformer,
    pub query_chunk: Option<usize>,
    pub ops: BurnOps,
}

impl LayerStack for BurnStack<'_> {
    type State = Tensor<3>;

    fn n_layers(&self) -> usize {
        self.model.layers.len()
    }

    fn embed(&self, inputs: Inputs<'_>) -> Result<Tensor<3>> {
        let (m, x) = (self.model, inputs.x);
        let (r, g) = (x.rows, x.n_groups);
        let xe =
            Tensor::<3>::from_data(TensorData::new(x.data.clone(), [r, g, x.width]), &m.device);
        let xe = m.x_proj.forward(xe) + inputs.pos.clone().unsqueeze_dim::<3>(0);
        let ye = Tensor::<2>::from_data(TensorData::new(inputs.y.to_vec(), [r, 2]), &m.device);
        let ye = m.y_proj.forward(ye).unsqueeze_dim::<3>(1);
        Ok(Tensor::cat(vec![xe, ye], 1))
    }

    fn layer(
        &self,
        l: usize,
        state: Tensor<3>,
        n_train: usize,
        cache: Option<&KvCache>,
        keep: bool,
    ) -> Result<(Tensor<3>, Option<KvCache>)> {
        self.model.layers[l].forward(state, n_train, cache, keep, self.query_chunk, self.ops)
    }

    fn test_logits(
        &self,
        l: usize,
        state: Tensor<3>,
        n_train: usize,
        cache: Option<&KvCache>,
    ) -> Result<Vec<f32>> {
        let target = self.model.layers[l].forward_test_targets(
            state,
            n_train,
            cache,
            self.query_chunk,
            self.ops,
        )?;
        Ok(read_back(self.model.decoder.forward(target), "the logits")?)
    }

    fn kv_only(&self, l: usize, state: Tensor<3>) -> Result<KvCache> {
        self.model.layers[l].items_kv_only(state, self.ops)
    }
}

/// The hand-written CPU kernels on host buffers.
pub(crate) struct CpuStack<'a> {
    pub host: &'a HostStack,
}

/// A host state `[rows, t, E]`.
pub(crate) struct HostState {
    x: Vec<f32>,
    rows: usize,
    t: usize,
}

impl LayerStack for CpuStack<'_> {
    type State = HostState;

    fn n_layers(&self) -> usize {
        self.host.layers.len()
    }

    fn embed(&self, inputs: Inputs<'_>) -> Result<HostState> {
        let x = inputs.x;
        let (rows, g) = (x.rows, x.n_groups);
        let pos = read_back(inputs.pos.clone(), "the positional embeddings")?;
        let e = pos.len() / g.max(1);
        let head = &self.host.head;
        // [R·G, 2F] → [R·G, E], then + pos per group; y [R, 2] → [R, E]
        let xe = head.x_proj.forward(&x.data, rows * g);
        let ye = head.y_proj.forward(inputs.y, rows);
        let t = g + 1;
        let mut state = vec![0.0f32; rows * t * e];
        for r in 0..rows {
            for gi in 0..g {
                let dst = &mut state[(r * t + gi) * e..(r * t + gi + 1) * e];
                let src = &xe[(r * g + gi) * e..(r * g + gi + 1) * e];
                for ((d, s), p) in dst.iter_mut().zip(src).zip(&pos[gi * e..(gi + 1) * e]) {
                    *d = s + p;
                }
            }
            state[(r * t + g) * e..(r * t + t) * e].copy_from_slice(&ye[r * e..(r + 1) * e]);
        }
        Ok(HostState { x: state, rows, t })
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

    fn test_logits(
        &self,
        l: usize,
        s: HostState,
        n_train: usize,
        cache: Option<&KvCache>,
    ) -> Result<Vec<f32>> {
        let host_kv = cache.map(KvCache::host).transpose()?;
        let target = self.host.layers[l].forward_test_targets(
            &s.x,
            s.rows,
            s.t,
            n_train,
            host_kv.as_deref(),
        );
        Ok(self.host.head.decode(&target, s.rows - n_train))
    }

    fn kv_only(&self, l: usize, mut s: HostState) -> Result<KvCache> {
        Ok(KvCache::from_host(
            self.host.layers[l].items_kv_only(&mut s.x, s.rows, s.t),
        ))
    }
}
