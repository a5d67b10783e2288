//! The compilation target a [`PlironCompiler`](crate::PlironCompiler) is configured for.

/// Named by `cubecl-cuda` when it builds its LLVM compiler
/// (`PlironCompiler { target: LlvmTarget::Nvptx }`). Only the variant it names exists here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlvmTarget {
    /// NVIDIA PTX, the only target `cubecl-cuda` asks for.
    Nvptx,
}
