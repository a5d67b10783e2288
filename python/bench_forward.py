"""Times the reference (tabpfn 2.2.1, torch CPU or CUDA): the bare network and the estimator.

  bench_forward.py make --out DIR        12-layer random classifier + input tables
  bench_forward.py time --ckpt C --input I --threads T --repeat R [--device D] [--save OUT]
  bench_forward.py e2e  --ckpt C --input E --threads T --repeat R [--device D] [--save OUT]
                        [--precision auto|float32]

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


def time_it(ckpt: Path, inp: Path, threads: int, repeat: int, device: str = "cpu",
            save: Path | None = None) -> None:
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
            out = model(x, y)
            sync()
            times.append(time.perf_counter() - t)
    if save is not None:
        np.savez(save, logits=out[:, 0, :].float().cpu().numpy())
    where = f"{threads} threads" if device == "cpu" else f"{device}, torch {torch.__version__}"
    print(f"python forward: min {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {repeat} runs ({where})")


def e2e(ckpt: Path, inp: Path, threads: int, repeat: int, device: str = "cpu",
        save: Path | None = None, precision: str = "auto") -> None:
    from tabpfn import TabPFNClassifier

    torch.set_num_threads(threads)
    d = np.load(inp)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        # "auto" is the package default: float16 autocast on CUDA, float32 on CPU
        clf = TabPFNClassifier(model_path=str(ckpt), device=device, random_state=0,
                               ignore_pretraining_limits=True,
                               inference_precision=torch.float32 if precision == "float32"
                               else precision)
        proba = clf.fit(d["x_train"], d["y_train"].astype(np.int64)).predict_proba(d["x_test"])
        times.append(time.perf_counter() - t)
    if save is not None:
        np.savez(save, logits=np.asarray(proba, dtype=np.float32))
    where = f"{threads} threads" if device == "cpu" else f"{device}, torch {torch.__version__}"
    where += f", inference_precision={precision}"
    print(f"python e2e: min {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {repeat} runs ({where})")


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
    b.add_argument("--save", type=Path, help="write the last run's logits [test, classes] here")
    c = sub.add_parser("e2e")
    c.add_argument("--ckpt", type=Path, required=True)
    c.add_argument("--input", type=Path, required=True)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--repeat", type=int, default=3)
    c.add_argument("--device", default="cpu")
    c.add_argument("--save", type=Path, help="write the last run's probabilities here")
    c.add_argument("--precision", choices=["auto", "float32"], default="auto")
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.out)
    elif args.cmd == "e2e":
        e2e(args.ckpt, args.input, args.threads, args.repeat, args.device, args.save, args.precision)
    else:
        time_it(args.ckpt, args.input, args.threads, args.repeat, args.device, args.save)
