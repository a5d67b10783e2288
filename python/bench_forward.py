"""Times the reference (tabpfn 2.2.1, torch CPU): the bare network and the estimator.

  bench_forward.py make --out DIR        12-layer random classifier + input tables
  bench_forward.py time --ckpt C --input I --threads T --repeat R
  bench_forward.py e2e  --ckpt C --input E --threads T --repeat R

`time`: the bare network's forward pass on inputs with the reference preprocessing's
widened feature count (2.5·d + 1 columns), without memory-saving chunking.
`e2e`: fit + predict_proba of the default 8-member TabPFNClassifier on raw features, as a
user runs it (package defaults, so its CPU memory-saving mode included).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

SHAPES = [(100, 100, 10), (1000, 1000, 10), (1000, 1000, 100), (5000, 1000, 20)]
E2E = [(100, 100, 10), (1000, 1000, 10)]
# scaling: train rows at 10 features, features at 1000 train rows (100 test rows each)
SCALING = [(1000, 100, 10), (2000, 100, 10), (5000, 100, 10), (10000, 100, 10),
           (1000, 100, 100), (1000, 100, 500)]


def make(out: Path) -> None:
    from models import build_checkpoint
    from common import save_npz

    out.mkdir(parents=True, exist_ok=True)
    build_checkpoint("full_clf", out / "full_clf.ckpt", weight_seed=42)
    rng = np.random.default_rng(0)
    for n, m, d in SHAPES + SCALING:
        cols = (5 * d + 1) // 2 + 1
        x = rng.normal(size=(n + m, cols)).astype(np.float32)
        y = rng.integers(0, 3, size=n).astype(np.float32)
        save_npz(out / f"case_{n}_{m}_{d}.npz", x=x, y=y)
    for n, m, d in E2E:
        w = rng.normal(size=d)
        x = rng.normal(size=(n + m, d))
        score = x @ w + 0.5 * rng.normal(size=n + m)
        y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.float64)
        save_npz(out / f"e2e_{n}_{m}_{d}.npz", x_train=x[:n], y_train=y[:n], x_test=x[n:],
                 keep_float64=True)


def time_it(ckpt: Path, inp: Path, threads: int, repeat: int, device: str = "cpu") -> None:
    from tabpfn.model_loading import load_model

    torch.set_num_threads(threads)
    model, _, _ = load_model(path=ckpt, cache_trainset_representation=False)
    model.eval().to(device)
    d = np.load(inp)
    x = torch.tensor(d["x"])[:, None, :].to(device)
    y = torch.tensor(d["y"])[:, None].to(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times = []
    with torch.no_grad():
        for _ in range(repeat):
            sync()
            t = time.perf_counter()
            model(x, y)
            sync()
            times.append(time.perf_counter() - t)
    where = f"{threads} threads" if device == "cpu" else f"{device}, torch {torch.__version__}"
    print(f"python forward: min {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {repeat} runs ({where})")


def e2e(ckpt: Path, inp: Path, threads: int, repeat: int) -> None:
    from tabpfn import TabPFNClassifier

    torch.set_num_threads(threads)
    d = np.load(inp)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        clf = TabPFNClassifier(model_path=str(ckpt), device="cpu", random_state=0,
                               ignore_pretraining_limits=True)
        clf.fit(d["x_train"], d["y_train"].astype(np.int64)).predict_proba(d["x_test"])
        times.append(time.perf_counter() - t)
    print(f"python e2e: min {min(times):.3f} s, median {statistics.median(times):.3f} s "
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
    b.add_argument("--device", default="cpu")
    c = sub.add_parser("e2e")
    c.add_argument("--ckpt", type=Path, required=True)
    c.add_argument("--input", type=Path, required=True)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.out)
    elif args.cmd == "e2e":
        e2e(args.ckpt, args.input, args.threads, args.repeat)
    else:
        time_it(args.ckpt, args.input, args.threads, args.repeat, args.device)
