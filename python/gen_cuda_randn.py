"""Reference draws of `torch.randn` on a CUDA device, for the Rust port of torch's CUDA
generator (`tabpfn_model::rng::cuda_randn_f32`, used by `TorchRng::Cuda`).

The reference draws the feature positional embeddings on the model's device, so PyTorch's
CUDA predictions differ from its CPU ones; these draws pin down the CUDA sampler.

  python gen_cuda_randn.py --out ../fixtures/rng/cuda_randn.npz            # needs a GPU
  python gen_cuda_randn.py --out ... --dump DRAWS.npz                      # from saved draws

DRAWS.npz holds `randn_{seed}_{rows}_{cols}` arrays drawn as below (the committed file came
from an NVIDIA H100, torch 2.11.0+cu130: 132 multiprocessors × 2048 threads, grid limit
1056 blocks). The large case (3000 × 192 values, beyond that limit) is kept as a sample of
every 1009th value with its flat indices.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import save_npz

FULL = [(0, 1, 48), (0, 14, 48), (0, 251, 48), (42, 3, 192), (42, 27, 48), (12345, 5, 48),
        (12345, 101, 48)]
LARGE = (0, 3000, 192)
STEP = 1009


def draw(seed: int, rows: int, cols: int) -> np.ndarray:
    import torch

    torch.manual_seed(seed)
    return torch.randn((rows, cols), device="cuda", dtype=torch.float32).cpu().numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--dump", type=Path, help="saved draws instead of a GPU")
    args = ap.parse_args()
    saved = np.load(args.dump) if args.dump else None
    get = (lambda s, r, c: saved[f"randn_{s}_{r}_{c}"]) if saved is not None else draw
    arrays = {f"randn_{s}_{r}_{c}": get(s, r, c) for s, r, c in FULL}
    s, r, c = LARGE
    idx = np.arange(0, r * c, STEP, dtype=np.int64)
    arrays[f"sample_{s}_{r}_{c}"] = get(s, r, c).ravel()[idx]
    arrays[f"sample_{s}_{r}_{c}_index"] = idx
    arrays["grid_limit"] = np.array(1056 if saved is not None else grid_limit(), dtype=np.int64)
    save_npz(args.out, **arrays)


def grid_limit() -> int:
    import torch

    p = torch.cuda.get_device_properties(0)
    return p.multi_processor_count * p.max_threads_per_multi_processor // 256


if __name__ == "__main__":
    main()
