"""Timing of the tabpfn_rs Python package (tabpfn-rs's bindings), for scripts/bench-python.sh.

  python bench_python_pkg.py e2e --ckpt CKPT --input CASE.npz --repeat 3
      fit + predict_proba, 8 members, like `bench_forward.py e2e` (the reference) and the
      Rust `bench e2e` example, on the same case files
  python bench_python_pkg.py import MODULE
      seconds and peak RSS (MB) of importing MODULE in this fresh interpreter
"""

import argparse
import resource
import statistics
import sys
import time

import numpy as np


def e2e(ckpt: str, inp: str, repeat: int) -> None:
    from tabpfn_rs import TabPFNClassifier

    d = np.load(inp)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        clf = TabPFNClassifier(model_path=ckpt, random_state=0, ignore_pretraining_limits=True)
        clf.fit(d["x_train"], d["y_train"].astype(np.int64)).predict_proba(d["x_test"])
        times.append(time.perf_counter() - t)
    print(f"tabpfn_rs e2e: min {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {repeat} runs")


def import_time(module: str) -> None:
    t = time.perf_counter()
    __import__(module)
    took = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"import {module}: {took:.3f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("e2e")
    e.add_argument("--ckpt", required=True)
    e.add_argument("--input", required=True)
    e.add_argument("--repeat", type=int, default=3)
    i = sub.add_parser("import")
    i.add_argument("module")
    a = ap.parse_args()
    if a.cmd == "e2e":
        e2e(a.ckpt, a.input, a.repeat)
    else:
        import_time(a.module)
    sys.stdout.flush()
