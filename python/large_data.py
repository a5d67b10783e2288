"""Synthetic large tables for the large-data measurements (issue 19), and their scoring.

  python large_data.py make OUT_DIR TRAIN_ROWS TEST_ROWS [--seed S] [--parquet]
      writes OUT_DIR/train.csv (target column `y`), OUT_DIR/test.csv (an `id` column, no
      target) and OUT_DIR/labels.csv (id, y); with --parquet also train.parquet/test.parquet
  python large_data.py score PRED.csv OUT_DIR/labels.csv
      prints accuracy and log-loss of a `tabpfn-cli predict` output (prediction, proba_*)

The task: 4 classes from 10 features (6 informative, non-linear boundaries, 2 % label
noise) plus 2 categorical codes, so more training rows keep helping for a while.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def make(out: Path, n_train: int, n_test: int, seed: int, parquet: bool) -> None:
    from sklearn.datasets import make_classification

    n = n_train + n_test
    x, y = make_classification(
        n_samples=n, n_features=10, n_informative=6, n_redundant=2, n_classes=4,
        n_clusters_per_class=3, class_sep=0.9, flip_y=0.02, random_state=seed,
    )
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(x.astype(np.float32), columns=[f"x{j}" for j in range(10)])
    df["c0"] = (np.floor(x[:, 0] * 2) % 5).astype(int)
    df["c1"] = rng.integers(0, 3, n)
    df["y"] = np.array(["a", "b", "c", "d"])[y]
    out.mkdir(parents=True, exist_ok=True)
    train, test = df.iloc[:n_train], df.iloc[n_train:].copy()
    test.insert(0, "id", np.arange(n_test))
    train.to_csv(out / "train.csv", index=False)
    test.drop(columns="y").to_csv(out / "test.csv", index=False)
    test[["id", "y"]].to_csv(out / "labels.csv", index=False)
    if parquet:
        train.to_parquet(out / "train.parquet", index=False)
        test.drop(columns="y").to_parquet(out / "test.parquet", index=False)


def score(pred: Path, labels: Path) -> None:
    p = pd.read_csv(pred)
    t = pd.read_csv(labels)
    if "id" in p.columns:
        p = p.set_index("id").loc[t["id"]].reset_index()
    cols = sorted(c for c in p.columns if c.startswith("proba_"))
    classes = [c[len("proba_"):] for c in cols]
    proba = np.clip(p[cols].to_numpy(np.float64), 1e-15, 1)
    proba /= proba.sum(1, keepdims=True)
    idx = np.array([classes.index(v) for v in t["y"]])
    acc = float((p["prediction"].astype(str).to_numpy() == t["y"].astype(str).to_numpy()).mean())
    ll = float(-np.log(proba[np.arange(len(idx)), idx]).mean())
    print(f"accuracy {acc:.4f} log-loss {ll:.4f}")


def main() -> None:
    cmd, *rest = sys.argv[1:]
    if cmd == "make":
        seed = int(rest[rest.index("--seed") + 1]) if "--seed" in rest else 0
        make(Path(rest[0]), int(rest[1]), int(rest[2]), seed, "--parquet" in rest)
    elif cmd == "score":
        score(Path(rest[0]), Path(rest[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
