//! Multi-head attention of TabPFN v2, on Burn.
//!
//! This is the attention used by both `attn_between_features` and `attn_between_items`
//! in every `PerFeatureEncoderLayer` of the reference (`tabpfn` 2.2.1,
//! `architectures/base/attention/full_attention.py`):
//!
//! * weights in the checkpoint layout (`_w_qkv [3, H, Dk, E]`, `_w_out [H, Dv, E]`, or the
//!   split forms `_w_q [1, H, Dk, E]` + `_w_kv [2, Hkv, Dk, E]` / `_w_k`, `_w_v`), no biases;
//! * K/V shared across `H / Hkv` query heads (`repeat_interleave` order: query head `h`
//!   reads K/V head `h / share`);
//! * the multi-query path for test rows, which projects K/V with head 0 only and shares it
//!   across all query heads (`reuse_first_head_kv`);
//! * the KV cache as an explicit value ([`KvCache`]): built by [`MultiHeadAttention::project_kv`],
//!   consumed by [`MultiHeadAttention::attend`];
//! * query streaming in chunks, which gives the same result as one pass;
//! * [`kernels`]: hand-written CPU kernels (strided `gemm` products, vectorised softmax,
//!   fused block attention) that the model's CPU path runs instead of the Burn ops.
//!
//! Dropout is part of the configuration (checkpoints carry it) but never applied: this crate
//! is inference only.

mod attention;
mod cache;
mod error;
pub mod kernels;

pub use attention::{
    auto_query_chunk, AttentionConfig, AttentionWeights, HostWeights, KvHeads, MultiHeadAttention,
    SCORE_BUDGET_BYTES,
};
pub use cache::KvCache;
pub use error::AttentionError;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, AttentionError>;

/// Checks a tensor's dimensions against an expected shape, where `None` means "any".
///
/// `what` names the tensor in the error (e.g. `"_w_qkv"` or `"x_kv"`).
pub fn check_shape(what: &str, found: &[usize], expected: &[Option<usize>]) -> Result<()> {
    let ok = found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .all(|(f, e)| e.is_none_or(|e| e == *f));
    if ok {
        Ok(())
    } else {
        let expected = expected
            .iter()
            .map(|e| e.map_or_else(|| "_".to_string(), |e| e.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        Err(AttentionError::Shape {
            tensor: what.to_string(),
            expected: format!("[{expected}]"),
            found: found.to_vec(),
        })
    }
}
