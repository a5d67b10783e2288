//! The LLVM compiler's types, shaped as `cubecl-cuda` uses them; `compile` always refuses.

use cubecl_core::environment::backtrace::BackTrace;
use cubecl_core::ir::amd::GfxArch;
use cubecl_core::ir::attributes::BufferIOAttr;
use cubecl_core::ir::nvidia::SmArch;
use cubecl_core::prelude::KernelDefinition;
use cubecl_core::{CompilationError, Compiler};

use crate::nvptx::ptx_version::PtxVersion;
use crate::target::LlvmTarget;

/// The compiler `cubecl-cuda` wraps in `CudaCompiler::Llvm` and builds with a struct literal,
/// so `target` is its one field. It must be `Clone + Debug` (`CudaCompiler` derives both) and
/// implement [`Compiler`], whose `compile` and `lang_tag` `cubecl-cuda` calls.
#[derive(Clone, Debug)]
pub struct PlironCompiler {
    /// What to compile for; `cubecl-cuda` sets [`LlvmTarget::Nvptx`].
    pub target: LlvmTarget,
}

/// The options `cubecl-cuda` builds from its own: it names these four fields and fills the
/// rest with `..Default::default()`, so the real crate's other, CPU-only fields are left out.
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    /// AMDGPU architecture; `cubecl-cuda` sets `None`.
    pub arch: Option<GfxArch>,
    /// The device's compute capability.
    pub sm_arch: Option<SmArch>,
    /// The PTX version to emit.
    pub ptx_version: Option<PtxVersion>,
    /// Whether scalars and static metadata travel in the kernel parameter block.
    pub grid_constants: bool,
}

/// A compiled PTX module: what `cubecl-cuda` stores in `CudaRepresentation::Llvm` and reads
/// `ptx`, `ir`, `shared_memory_size` and `io` from. Never built here.
#[derive(Clone, Debug)]
pub struct NvptxModule {
    /// NUL-terminated PTX assembly.
    pub ptx: Vec<core::ffi::c_char>,
    /// The IR, for logging.
    pub ir: String,
    /// Dynamic shared memory the launch reserves, in bytes.
    pub shared_memory_size: usize,
    /// What the kernel does with each buffer binding, in binding order.
    pub io: Vec<BufferIOAttr>,
}

/// What [`PlironCompiler`] produces; `cubecl-cuda` matches on `NvptxCode`.
#[derive(Clone)]
pub enum PlironArtifact {
    /// A PTX module.
    NvptxCode(NvptxModule),
}

/// Required by [`Compiler::Representation`].
impl core::fmt::Display for PlironArtifact {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlironArtifact::NvptxCode(module) => f.write_str(&module.ir),
        }
    }
}

impl Compiler for PlironCompiler {
    type Representation = PlironArtifact;
    type CompilationOptions = PlironOptions;

    /// Refuses every kernel: there is no LLVM behind this crate.
    fn compile(
        &mut self,
        kernel: KernelDefinition,
        _compilation_options: &Self::CompilationOptions,
    ) -> Result<Self::Representation, CompilationError> {
        Err(CompilationError::Generic {
            reason: format!(
                "cannot compile `{}` with cubecl-cuda's LLVM backend: {}",
                kernel.settings.kernel_name,
                crate::UNAVAILABLE
            ),
            backtrace: BackTrace::capture(),
        })
    }

    fn buffer_io(repr: &Self::Representation) -> Option<Vec<BufferIOAttr>> {
        match repr {
            PlironArtifact::NvptxCode(module) => Some(module.io.clone()),
        }
    }

    /// The real crate's answer for NVPTX.
    fn extension(&self) -> &'static str {
        match self.target {
            LlvmTarget::Nvptx => "ll",
        }
    }

    /// The real crate's answer for NVPTX.
    fn lang_tag(&self) -> &'static str {
        match self.target {
            LlvmTarget::Nvptx => "llvm",
        }
    }
}
