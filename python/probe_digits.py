"""Where tabpfn-mini loses on digits (docs/demo-model.md, "What would close the gap").

Runs `tabpfn-cli predict` on one stratified 70/30 split of scikit-learn's digits, as
python/eval_mini.py does, in variants that separate the suspects of its large log-loss:
the class count (digits 0-2, 0-5, 0-9), the feature count (PCA to 8, 16 or 32
components), the number of training rows, and, through `--predict-args`, the ensemble
(`--n-estimators 1`, `--average-before-softmax`, ...). Prints accuracy, log-loss and the
mean of the largest predicted probability, which a calibrated model keeps near its
accuracy.

    python probe_digits.py ../target/release/tabpfn-cli MODEL [--predict-args "--n-estimators 1"]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from eval_mini import CLASSIFICATION, rust_predict, scores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("model", type=Path)
    ap.add_argument("--predict-args", default="", help="extra `tabpfn-cli predict` options")
    ap.add_argument("--split", type=int, default=0, help="random_state of the split")
    args = ap.parse_args()
    x, y = CLASSIFICATION["digits"]()  # the table eval_mini.py reports
    tmp = Path(tempfile.mkdtemp())

    def run(label: str, x: pd.DataFrame, y: pd.Series, rows: int | None = None) -> None:
        y = pd.Series(pd.factorize(y, sort=True)[0])
        c = int(y.max()) + 1
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=args.split, stratify=y)
        if rows is not None:
            x_tr, _, y_tr, _ = train_test_split(x_tr, y_tr, train_size=rows, random_state=0, stratify=y_tr)
        p = rust_predict(args.cli, args.model, "clf", x_tr, y_tr.to_numpy(), x_te, tmp, args.predict_args.split())
        s = scores("clf", y_te.to_numpy(), p, c)
        print(f"{label:<34} accuracy {s['accuracy']:.3f}  log-loss {s['log-loss']:.3f}  "
              f"mean max probability {p.max(1).mean():.3f}", flush=True)

    run("64 features, 10 classes (digits)", x, y)
    for c in (3, 6):
        keep = y < c
        run(f"64 features, {c} classes", x[keep], y[keep])
    for k in (8, 16, 32):
        run(f"PCA {k}, 10 classes", pd.DataFrame(PCA(k, random_state=0).fit_transform(x)), y)
    for rows in (300, 600):
        run(f"64 features, 10 classes, {rows} rows", x, y, rows)


if __name__ == "__main__":
    main()
