"""Cost and accuracy past the reference's limits (issue 22), with the built-in demo model
tabpfn-mini through the release CLI: tables wider than 500 features (each member sees a
random 500, vs --ignore-limits), and more than 10 classes (the many-class output code, vs
a 10-class fit of the same size). Baseline: logistic regression. One run, one machine.

    python bench_wide_many.py CLI_BINARY
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def write_csv(path: Path, x: np.ndarray, y=None) -> None:
    cols = [f"f{j}" for j in range(x.shape[1])]
    with open(path, "w") as f:
        f.write(",".join(cols + (["y"] if y is not None else [])) + "\n")
        for i in range(len(x)):
            cells = [repr(float(v)) for v in x[i]]
            if y is not None:
                cells.append(f"c{int(y[i])}")
            f.write(",".join(cells) + "\n")


def cli_run(cli: str, x_tr, y_tr, x_te, extra):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        write_csv(d / "train.csv", x_tr, y_tr)
        write_csv(d / "test.csv", x_te)
        t0 = time.perf_counter()
        out = subprocess.run([cli, "predict", "--train", str(d / "train.csv"), "--target", "y",
                              "--test", str(d / "test.csv"), "--format", "json", "-q", *extra],
                             check=True, capture_output=True, text=True).stdout
        secs = time.perf_counter() - t0
    rows = json.loads(out)
    classes = sorted({int(v) for v in y_tr})
    p = np.array([[r[f"proba_c{c}"] for c in classes] for r in rows])
    return secs, p, classes


def score(p, classes, y_te):
    pred = np.array(classes)[p.argmax(1)]
    return accuracy_score(y_te, pred), log_loss(y_te, np.clip(p, 1e-15, 1), labels=classes)


def baseline(x_tr, y_tr, x_te, y_te):
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_tr, y_tr)
    p = lr.predict_proba(x_te)
    return accuracy_score(y_te, lr.predict(x_te)), log_loss(y_te, p, labels=lr.classes_)


def main() -> None:
    cli = sys.argv[1]
    rows = []
    # wide tables: 20 informative features among 1 000 / 2 000
    for d in (1000, 2000):
        x, y = make_classification(n_samples=700, n_features=d, n_informative=20,
                                   n_redundant=10, n_classes=3, random_state=d)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=200, random_state=0, stratify=y)
        for label, extra in [("500 per member", []), ("all (--ignore-limits)", ["--ignore-limits"])]:
            secs, p, classes = cli_run(cli, x_tr, y_tr, x_te, extra)
            acc, ll = score(p, classes, y_te)
            rows.append(("wide", f"{d} features, 500 train rows, 3 classes", label, secs, acc, ll))
        acc, ll = baseline(x_tr, y_tr, x_te, y_te)
        rows.append(("wide", f"{d} features, 500 train rows, 3 classes", "logistic regression", None, acc, ll))
    # many classes: a synthetic 30-class table and a 10-class one of the same size; digits
    for name, make in [
        ("synthetic 30 classes", lambda: make_classification(
            n_samples=1200, n_features=20, n_informative=12, n_classes=30,
            n_clusters_per_class=1, class_sep=2.0, random_state=30)),
        ("synthetic 10 classes", lambda: make_classification(
            n_samples=1200, n_features=20, n_informative=12, n_classes=10,
            n_clusters_per_class=1, class_sep=2.0, random_state=10)),
        ("digits, 10 classes", lambda: (load_digits().data, load_digits().target)),
    ]:
        x, y = make()
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
        secs, p, classes = cli_run(cli, x_tr, y_tr, x_te, [])
        acc, ll = score(p, classes, y_te)
        how = "many-class output code" if len(classes) > 10 else "one ensemble"
        rows.append(("classes", f"{name}, {len(x_tr)} train rows", how, secs, acc, ll))
        acc, ll = baseline(x_tr, y_tr, x_te, y_te)
        rows.append(("classes", f"{name}, {len(x_tr)} train rows", "logistic regression", None, acc, ll))
    print("| table | model | time (s) | accuracy | log-loss |")
    print("|---|---|---|---|---|")
    for _, table, model, secs, acc, ll in rows:
        t = "–" if secs is None else f"{secs:.1f}"
        print(f"| {table} | {model} | {t} | {acc:.3f} | {ll:.3f} |")


if __name__ == "__main__":
    main()
