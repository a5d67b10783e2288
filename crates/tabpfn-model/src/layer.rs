//! One `PerFeatureEncoderLayer` (post-norm): attention between features, attention between
//! items, MLP; each sub-layer is `state ← LN(state + f(state))`.

use burn::tensor::{Device, Tensor};
use tabpfn_attention::{KvCache, KvHeads, MultiHeadAttention};

use crate::error::Result;
use crate::mlp::Mlp;
use crate::nn::{BurnOps, PlainLayerNorm};

fn no_train_rows() -> crate::error::ModelError {
    crate::error::input_err(
        "x",
        "test rows need train rows (or a train-set cache) to attend to",
    )
}

#[derive(Debug, Clone)]
pub struct PerFeatureEncoderLayer {
    pub attn_between_features: MultiHeadAttention,
    pub attn_between_items: MultiHeadAttention,
    pub mlp: Mlp,
    norm: PlainLayerNorm,
}

impl PerFeatureEncoderLayer {
    pub fn new(
        attn_between_features: MultiHeadAttention,
        attn_between_items: MultiHeadAttention,
        mlp: Mlp,
        emsize: usize,
        device: &Device,
    ) -> Self {
        Self {
            attn_between_features,
            attn_between_items,
            mlp,
            norm: PlainLayerNorm::new(emsize, device),
        }
    }

    /// `state: [R, T, E]` (rows, feature groups + target token, width) with the first
    /// `n_train` rows being train rows. Train rows attend to train rows with all heads;
    /// test rows attend to train rows' head-0 K/V, or to `cache` (`[T, 1, N, D]`, from an
    /// earlier train-only call) when given.
    ///
    /// Returns the new state and, when `keep_cache`, the head-0 K/V of the train rows
    /// (`[T, 1, n_train, D]`).
    pub(crate) fn forward(
        &self,
        state: Tensor<3>,
        n_train: usize,
        cache: Option<&KvCache>,
        keep_cache: bool,
        query_chunk: Option<usize>,
        ops: BurnOps,
    ) -> Result<(Tensor<3>, Option<KvCache>)> {
        let [rows, _, _] = state.dims();
        let n_test = rows - n_train;
        let core = ops.attention_core();

        // attention between features: per row, over the T tokens
        let feat = self
            .attn_between_features
            .forward_with(state.clone(), None, core)?;
        let state = self.norm.forward_residual(state, feat, ops);

        // attention between items: per token column, over the rows
        let columns = state.swap_dims(0, 1); // [T, R, E]
        let mut parts = Vec::with_capacity(2);
        let mut train_kv = None;
        if n_train > 0 {
            let train = columns.clone().narrow(1, 0, n_train);
            let kv = self
                .attn_between_items
                .project_kv(train.clone(), KvHeads::All)?;
            let out = self
                .attn_between_items
                .attend_with(train.clone(), &kv, query_chunk, core)?;
            let device = train.device();
            // LN acts per row, so the train and test parts are normalised apart
            parts.push(self.norm.forward_residual(train, out, ops));
            train_kv = Some(kv.narrow_heads(0, 1, &device));
        }
        if n_test > 0 {
            let test = columns.narrow(1, n_train, n_test);
            let kv = match (cache, &train_kv) {
                (Some(kv), _) => kv.clone(),
                (None, Some(kv)) => kv.clone(),
                (None, None) => return Err(no_train_rows()),
            };
            let out = self
                .attn_between_items
                .attend_with(test.clone(), &kv, query_chunk, core)?;
            parts.push(self.norm.forward_residual(test, out, ops));
        }
        let state = Tensor::cat(parts, 1).swap_dims(0, 1);

        let mlp = self.mlp.forward_with(state.clone(), ops);
        let state = self.norm.forward_residual(state, mlp, ops);
        Ok((state, if keep_cache { train_kv } else { None }))
    }

    /// The layer restricted to what the decoder reads when it is the last one: the target
    /// token (last of the T) of the test rows. Feature attention runs only the target
    /// token's queries (against all tokens' K/V), the items attention only the target
    /// column, the MLP only the test rows' target tokens. Returns `[M, E]`.
    pub(crate) fn forward_test_targets(
        &self,
        state: Tensor<3>,
        n_train: usize,
        cache: Option<&KvCache>,
        query_chunk: Option<usize>,
        ops: BurnOps,
    ) -> Result<Tensor<2>> {
        let [rows, t, e] = state.dims();
        let core = ops.attention_core();
        let n_test = rows - n_train;
        let feat_kv = self
            .attn_between_features
            .project_kv(state.clone(), KvHeads::All)?;
        let target = state.narrow(1, t - 1, 1); // [R, 1, E]
        let feat = self
            .attn_between_features
            .attend_with(target.clone(), &feat_kv, None, core)?;
        let column = self
            .norm
            .forward_residual(target, feat, ops)
            .swap_dims(0, 1); // [1, R, E]
        let test = column.clone().narrow(1, n_train, n_test);
        let kv = match cache {
            Some(kv) => kv.narrow_batch(t - 1, 1),
            None if n_train > 0 => self
                .attn_between_items
                .project_kv(column.narrow(1, 0, n_train), KvHeads::First)?,
            None => return Err(no_train_rows()),
        };
        let out = self
            .attn_between_items
            .attend_with(test.clone(), &kv, query_chunk, core)?;
        let state = self.norm.forward_residual(test, out, ops);
        let mlp = self.mlp.forward_with(state.clone(), ops);
        Ok(self
            .norm
            .forward_residual(state, mlp, ops)
            .reshape([n_test, e]))
    }

    /// The last layer of a cache build: only the train rows' head-0 K/V of the items
    /// attention is needed (`[T, 1, N, D]`), not the layer's output.
    pub(crate) fn items_kv_only(&self, state: Tensor<3>, ops: BurnOps) -> Result<KvCache> {
        let feat =
            self.attn_between_features
                .forward_with(state.clone(), None, ops.attention_core())?;
        let state = self.norm.forward_residual(state, feat, ops);
        Ok(self
            .attn_between_items
            .project_kv(state.swap_dims(0, 1), KvHeads::First)?)
    }
}
