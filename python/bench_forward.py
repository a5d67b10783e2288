"""Times the reference network's forward pass (tabpfn 2.2.1, torch CPU).

  bench_forward.py make --out DIR        12-layer random classifier + input tables
  bench_forward.py time --ckpt C --input I --threads T --repeat R

Inputs use the reference preprocessing's widened feature count (2.5·d + 1 columns).
The bare network is timed (no estimator), without memory-saving chunking.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

SHAPES = [(100, 100, 10), (1000, 1000, 10), (1000, 1000, 100), (5000, 1000, 20)]


def make(out: Path) -> None:
    from models import build_checkpoint
    from common import save_npz

    out.mkdir(parents=True, exist_ok=True)
    build_checkpoint("full_clf", out / "full_clf.ckpt", weight_seed=42)
    rng = np.random.default_rng(0)
    for n, m, d in SHAPES:
        cols = (5 * d + 1) // 2 + 1
        x = rng.normal(size=(n + m, cols)).astype(np.float32)
        y = rng.integers(0, 3, size=n).astype(np.float32)
        save_npz(out / f"case_{n}_{m}_{d}.npz", x=x, y=y)


def time_it(ckpt: Path, inp: Path, threads: int, repeat: int) -> None:
    from tabpfn.model_loading import load_model

    torch.set_num_threads(threads)
    model, _, _ = load_model(path=ckpt, cache_trainset_representation=False)
    model.eval()
    d = np.load(inp)
    x = torch.tensor(d["x"])[:, None, :]
    y = torch.tensor(d["y"])[:, None]
    times = []
    with torch.no_grad():
        for _ in range(repeat):
            t = time.perf_counter()
            model(x, y)
            times.append(time.perf_counter() - t)
    print(f"python forward: min {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {repeat} runs ({threads} threads)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make")
    a.add_argument("--out", type=Path, required=True)
    b = sub.add_parser("time")
    b.add_argument("--ckpt", type=Path, required=True)
    b.add_argument("--input", type=Path, required=True)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.out)
    else:
        time_it(args.ckpt, args.input, args.threads, args.repeat)
