//! Hand-written CPU kernels on plain `f32` slices, used by the CPU path of `tabpfn-attention`
//! and `tabpfn-model`:
//!
//! * [`mat`]: strided matrix views ([`MatRef`], [`MatMut`]) and [`matmul`] through the
//!   `gemm` crate;
//! * [`exp`]: scalar `exp` and `2^y` whose operations match one lane of the vector versions;
//! * [`attention`]: softmax attention over blocks of queries ([`attend`], [`attend_packed`]),
//!   with an online softmax over key chunks beyond 2 048 keys;
//! * [`elementwise`]: exact-erf GELU and the post-norm `LayerNorm(x + y)`;
//! * [`simd`]: the AVX2 + FMA versions, picked at run time.
//!
//! Why hand-written: burn-flex's generic ops run TabPFN's shapes at a fraction of this CPU's
//! matmul rate (exact GELU alone costs more than the MLP's products; attention scores go
//! through several materialised tensors). Burn's ops stay the tested reference
//! (`tabpfn_model::Kernels::Stock`).
//!
//! This crate holds every `unsafe` block of the workspace: the `gemm` call on bounds-checked
//! views, and the vector loads and stores of [`simd`]. Everything it exports is safe to call.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod attention;
pub mod elementwise;
pub mod exp;
pub mod mat;
pub mod simd;

pub use attention::{attend, attend_packed, query_block, Blocks, PackedKv, Scratch};
pub use elementwise::{add_layer_norm, gelu_in_place};
pub use exp::{exp_f32, pow2_f32};
pub use mat::{matmul, MatMut, MatRef, Threads};
