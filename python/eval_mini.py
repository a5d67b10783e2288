"""Honest evaluation of the demo model tabpfn-mini (issue 8): accuracy and log-loss on
scikit-learn's iris, wine, breast_cancer, digits (fixed 70/30 split, random_state 0) for
tabpfn-mini run by Rust (tabpfn-cli predict on the shipped file), the same model run by the
reference tabpfn 2.2.1, logistic regression, HistGradientBoosting and the majority class.
diabetes (regression) gets RMSE for linear regression, HistGradientBoosting and the mean;
tabpfn-mini is a classifier only.

  python eval_mini.py CLI_BINARY MINI.safetensors
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from sklearn import datasets
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CLF = {"iris": datasets.load_iris, "wine": datasets.load_wine,
       "breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}


def to_ckpt(st_path: Path, out: Path) -> Path:
    """The shipped safetensors back to the official .ckpt layout for the reference."""
    with safe_open(str(st_path), "pt") as f:
        sd = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    torch.save({"state_dict": sd, "config": json.loads(meta["config"])}, out)
    return out


def split(loader):
    d = loader()
    return train_test_split(d.data, d.target, test_size=0.3, random_state=0,
                            stratify=d.target if loader in CLF.values() else None)


def rust_proba(cli: str, st: Path, x_tr, y_tr, x_te, tmp: Path) -> np.ndarray:
    cols = [f"f{i}" for i in range(x_tr.shape[1])]
    tr = pd.DataFrame(x_tr, columns=cols)
    tr["target"] = y_tr
    tr.to_csv(tmp / "train.csv", index=False, float_format="%.17g")
    pd.DataFrame(x_te, columns=cols).to_csv(tmp / "test.csv", index=False, float_format="%.17g")
    subprocess.run([cli, "predict", "--model", str(st), "--train", str(tmp / "train.csv"), "--target", "target",
                    "--test", str(tmp / "test.csv"), "--output", str(tmp / "pred.csv"), "-q",
                    "--ignore-limits"], check=True)
    pred = pd.read_csv(tmp / "pred.csv")
    classes = np.unique(y_tr)
    return pred[[f"proba_{c}" for c in classes]].to_numpy()


def main() -> None:
    cli, st = sys.argv[1], Path(sys.argv[2])
    os.environ["TABPFN_ALLOW_CPU_LARGE_DATASET"] = "1"
    from tabpfn import TabPFNClassifier

    rows = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        ckpt = to_ckpt(st, tmp / "mini.ckpt")
        for name, loader in CLF.items():
            x_tr, x_te, y_tr, y_te = split(loader)
            res = {}
            p = rust_proba(cli, st, x_tr, y_tr, x_te, tmp)
            res["tabpfn-mini (Rust)"] = p
            py = TabPFNClassifier(model_path=str(ckpt), device="cpu", ignore_pretraining_limits=True)
            res["tabpfn-mini (Python 2.2.1)"] = py.fit(x_tr, y_tr).predict_proba(x_te)
            lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
            res["logistic regression"] = lr.fit(x_tr, y_tr).predict_proba(x_te)
            hgb = HistGradientBoostingClassifier(random_state=0)
            res["HistGradientBoosting"] = hgb.fit(x_tr, y_tr).predict_proba(x_te)
            counts = np.bincount(y_tr, minlength=len(np.unique(y_tr))) / len(y_tr)
            res["majority class"] = np.tile(counts, (len(y_te), 1))
            for method, proba in res.items():
                acc = accuracy_score(y_te, proba.argmax(1))
                ll = log_loss(y_te, np.clip(proba, 1e-15, 1), labels=np.arange(proba.shape[1]))
                rows.append((name, method, f"{acc:.3f}", f"{ll:.3f}"))
            gap = np.abs(res["tabpfn-mini (Rust)"] - res["tabpfn-mini (Python 2.2.1)"]).max()
            rows.append((name, "max |Δ prob| Rust vs Python", f"{gap:.1e}", ""))
        x_tr, x_te, y_tr, y_te = split(datasets.load_diabetes)
        for method, model in [("linear regression", LinearRegression()),
                              ("HistGradientBoosting", HistGradientBoostingRegressor(random_state=0))]:
            rmse = mean_squared_error(y_te, model.fit(x_tr, y_tr).predict(x_te)) ** 0.5
            rows.append(("diabetes", method, f"RMSE {rmse:.1f}", ""))
        rmse = mean_squared_error(y_te, np.full(len(y_te), y_tr.mean())) ** 0.5
        rows.append(("diabetes", "mean of y", f"RMSE {rmse:.1f}", ""))
        rows.append(("diabetes", "tabpfn-mini", "n/a (classifier only)", ""))
    print("| dataset | method | accuracy | log-loss |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
