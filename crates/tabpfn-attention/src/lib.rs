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
//! * [`cpu`]: the same attention on host buffers through the hand-written kernels of
//!   `tabpfn-kernels` (what the model runs on the CPU device), with the test rows' heads
//!   stacked on head 0's shared K/V.
//!
//! Crate graph: `tabpfn-kernels` → this crate → `tabpfn-model`. The Burn path is the tested
//! reference of the CPU path (tests/cpu_path.rs).
//!
//! Dropout is part of the configuration (checkpoints carry it) but never applied: this crate
//! is inference only.

mod attention;
mod cache;
pub mod cpu;
mod error;

use burn::tensor::Tensor;

pub use attention::{
    auto_query_chunk, AttentionConfig, AttentionCore, AttentionWeights, HostWeights, KvHeads,
    MultiHeadAttention, SCORE_BUDGET_BYTES,
};
pub use cache::{HostKv, KvCache};
pub use cpu::CpuAttention;
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

/// Reads a tensor back to the host as row-major `f32`. A failure of any earlier op on the
/// device surfaces here (GPU backends run lazily), so the error names `what` was computed.
pub fn read_back<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>> {
    let dims = t.dims();
    let data = t.try_into_data().map_err(|e| {
        AttentionError::Device(format!(
            "computing {what} {dims:?} failed on the device: {e:?}. On a GPU, bound the \
             attention's memory with fewer test rows per call (--batch-size) or a query chunk"
        ))
    })?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| {
        AttentionError::Device(format!(
            "reading {what} {dims:?} back from the device: {e:?}"
        ))
    })
}
