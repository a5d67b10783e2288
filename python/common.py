"""Shared helpers for the fixture generators.

Every generator here calls the reference package's own modules (tabpfn 2.2.1); nothing
in this directory re-implements the maths. Weights are refilled with seeded noise because
the package zero-initialises attention out-projections and the second MLP linear, which
would make every layer an identity.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def seeded_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def refill_(module: torch.nn.Module, seed: int, *, skip: tuple[str, ...] = ()) -> None:
    """Overwrite every parameter with seeded Gaussian noise of fan-in scale.

    The contraction axis of TabPFN's attention weights is the last one for `_w_q*`,
    `_w_k*`, `_w_v*` and `[H, Dv]` for `_w_out`; nn.Linear weights contract their last axis.
    """
    g = seeded_generator(seed)
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            if any(s in name for s in skip):
                continue
            if name.endswith("_w_out"):
                fan_in = p.shape[0] * p.shape[1]
            elif p.ndim >= 2:
                fan_in = p.shape[-1]
            else:
                fan_in = 0
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            scale = 1.0 / math.sqrt(fan_in) if fan_in else 0.2
            p.copy_(noise * scale)


def save_npz(path: Path, *, keep_float64: bool = False, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {}
    for k, v in arrays.items():
        v = np.asarray(v)
        if v.dtype == np.float64 and not keep_float64:
            v = v.astype(np.float32)
        clean[k] = np.require(v, requirements="C")  # keeps 0-d arrays 0-d
    # Like np.savez, but with fixed zip timestamps so identical arrays give identical bytes.
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for k in sorted(clean):
            info = zipfile.ZipInfo(f"{k}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, clean[k], allow_pickle=False)


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def np_(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def setup_torch() -> None:
    torch.set_num_threads(int(os.environ.get("FIXTURE_THREADS", "1")))
    torch.use_deterministic_algorithms(True)
