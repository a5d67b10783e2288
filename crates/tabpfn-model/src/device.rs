//! Device names (`cpu`, `wgpu`, `cuda`) → Burn devices; a backend that was not compiled in
//! is a clear error that says how to rebuild.

use burn::tensor::Device;

use crate::error::{ModelError, Result};

/// `cpu` (alias `flex`), `wgpu` or `cuda` → the Burn device (GPU index 0 / default adapter).
pub fn by_name(name: &str) -> Result<Device> {
    match name {
        "cpu" | "flex" => Ok(Device::flex()),
        "wgpu" => wgpu(),
        "cuda" => cuda(),
        other => Err(ModelError::Device(format!(
            "unknown device `{other}`; expected cpu, wgpu or cuda"
        ))),
    }
}

/// The device named by the `TABPFN_DEVICE` environment variable (default `cpu`); the test
/// suites and benchmarks run on it, so one build with `--features wgpu` checks a GPU.
pub fn from_env() -> Result<Device> {
    by_name(std::env::var("TABPFN_DEVICE").as_deref().unwrap_or("cpu"))
}

#[cfg(feature = "wgpu")]
fn wgpu() -> Result<Device> {
    Ok(Device::wgpu(Default::default()))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu() -> Result<Device> {
    Err(ModelError::Device(
        "this build has no wgpu backend; rebuild with `--features wgpu` (docs/backends.md)".into(),
    ))
}

#[cfg(feature = "cuda")]
#[allow(unsafe_code)]
fn cuda() -> Result<Device> {
    // cudarc loads these on first use and panics (on a worker thread) when one is missing;
    // probing first turns that into an error that says what to install
    let driver = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
    let nvrtc = [
        "libnvrtc.so",
        "libnvrtc.so.13",
        "libnvrtc.so.12",
        "libnvrtc.so.11",
        "nvrtc64_130_0.dll",
        "nvrtc64_120_0.dll",
    ];
    let found = |names: &[&str]| {
        names.iter().any(|n| {
            // SAFETY: loading a system library runs its initialisers; the NVIDIA driver's and
            // NVRTC's are what cudarc would run on this device's first use anyway
            unsafe { libloading::Library::new(*n) }.is_ok()
        })
    };
    if !found(&driver) {
        return Err(ModelError::Device(
            "the cuda device needs the NVIDIA driver library libcuda (not found on the \
             library path); install the driver or use --device cpu / wgpu"
                .into(),
        ));
    }
    if !found(&nvrtc) {
        return Err(ModelError::Device(
            "the cuda device compiles its kernels with NVRTC, and libnvrtc was not found on \
             the library path; install the CUDA toolkit or the `nvidia-cuda-nvrtc-cu12` wheel \
             and add its lib folder to LD_LIBRARY_PATH (docs/backends.md)"
                .into(),
        ));
    }
    Ok(Device::cuda(0))
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device> {
    Err(ModelError::Device(
        "this build has no cuda backend; rebuild with `--features cuda` (docs/backends.md)".into(),
    ))
}

/// Whether `device` is the CPU backend (where the hand-written kernels apply).
pub fn is_cpu(device: &Device) -> bool {
    *device == Device::flex()
}

/// Whether `device` runs Burn's cube backend (wgpu / cuda), where the custom CubeCL kernels
/// apply.
pub fn is_cube(device: &Device) -> bool {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    {
        tabpfn_cubecl::is_cube(device)
    }
    #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
    {
        let _ = device;
        false
    }
}
