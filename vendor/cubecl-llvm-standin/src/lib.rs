//! A stand-in for `cubecl-llvm` 0.11.3 that contains no LLVM (see `README.md`).
//!
//! `cubecl-cuda` 0.11.3 depends on `cubecl-llvm` unconditionally and names a handful of its
//! items. This crate provides exactly those names with the same signatures, so `cubecl-cuda`
//! compiles without the real crate, whose build script downloads LLVM. With cubecl's `cuda-cpp`
//! feature `cubecl-cuda` compiles kernels through CUDA C++ and NVRTC and never reaches them;
//! if it does reach them anyway, the compiler answers with [`UNAVAILABLE`] as an error, and
//! the one entry point without an error path panics with it.

#![forbid(unsafe_code)]

pub mod nvptx;
pub mod shared;
pub mod target;

pub use shared::{NvptxModule, PlironArtifact, PlironCompiler, PlironOptions};
pub use target::LlvmTarget;

/// What every entry point of the missing LLVM compiler reports.
pub const UNAVAILABLE: &str = "this build uses a stand-in for cubecl-llvm \
    (vendor/cubecl-llvm-standin/README.md); the LLVM NVPTX compiler is not available; \
    cubecl's `cuda-cpp` feature (NVRTC) compiles the kernels";
