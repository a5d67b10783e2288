//! `--device` → a Burn device (names and errors live in `tabpfn_model::device`),
//! `--kernels`: which implementation runs the layer stack there, and `--torch-rng`: which
//! PyTorch run (CPU or CUDA) the predictions reproduce.

use anyhow::Result;
use burn::tensor::Device;
use clap::ValueEnum;
use tabpfn_model::{Kernels, TorchRng};

pub fn parse(name: &str) -> Result<Device> {
    Ok(tabpfn_model::device::by_name(name)?)
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Debug)]
pub enum KernelsArg {
    Auto,
    Stock,
}

/// The `--kernels` flag, shared by `predict` and `forward`.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct KernelsArgs {
    /// Layer-stack implementation: auto (the CPU kernels on cpu, the custom CubeCL kernels
    /// on wgpu / cuda) or stock (Burn's own ops, the reference both are tested against).
    #[arg(long, value_enum, default_value = "auto")]
    pub kernels: KernelsArg,
}

impl KernelsArgs {
    pub fn kernels(&self) -> Kernels {
        match self.kernels {
            KernelsArg::Auto => Kernels::Auto,
            KernelsArg::Stock => Kernels::Stock,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Debug)]
pub enum TorchRngArg {
    Cpu,
    Cuda,
}

/// Which PyTorch run the outputs reproduce (independent of `--device`).
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct ReferenceArgs {
    /// Reproduce the Python reference as run on this torch device. The reference draws its
    /// feature positional embeddings from that device's random generator, so its CPU and
    /// CUDA predictions differ; any --device can reproduce either.
    #[arg(long, value_enum, default_value = "cpu")]
    pub torch_rng: TorchRngArg,
    /// With --torch-rng cuda: the GPU's multiProcessorCount × maxThreadsPerMultiProcessor
    /// / 256 (default: an H100's). Matters only beyond 256 × this many embedding values
    /// (48 per feature group).
    #[arg(long, default_value_t = 1056, value_parser = clap::value_parser!(u32).range(1..))]
    pub cuda_grid_limit: u32,
}

impl ReferenceArgs {
    pub fn torch_rng(&self) -> TorchRng {
        match self.torch_rng {
            TorchRngArg::Cpu => TorchRng::Cpu,
            TorchRngArg::Cuda => TorchRng::Cuda {
                grid_limit: self.cuda_grid_limit,
            },
        }
    }
}
