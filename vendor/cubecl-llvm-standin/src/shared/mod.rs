//! The compiler types `cubecl-cuda` names, and the feature narrowing it calls.

mod compiler;
pub mod lowered_features;

pub use compiler::{NvptxModule, PlironArtifact, PlironCompiler, PlironOptions};
