//! Narrowing a device's advertised features to what the LLVM backend lowers.

use cubecl_core::ir::DeviceProperties;

/// The GPU target [`restrict_features`] narrows for; `cubecl-cuda` passes `GpuTarget::Nvptx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuTarget {
    /// NVIDIA PTX, the only target `cubecl-cuda` names.
    Nvptx,
}

/// `cubecl-cuda` calls this while initialising a device, and only when its LLVM backend is the
/// selected one — never with cubecl's `cuda-cpp` feature. It has no error path, so it panics:
/// stopping at initialisation is clearer than failing every kernel compile later.
pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {
    panic!(
        "cubecl-cuda selected its LLVM backend at device initialisation, but {}",
        crate::UNAVAILABLE
    );
}
