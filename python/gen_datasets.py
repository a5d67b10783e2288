"""Layer-4 parity data (issue 5) and the CLI examples (issue 6): scikit-learn's iris, wine,
breast_cancer, digits and diabetes with a fixed train/test split, and the reference
estimators' outputs on them for random_state 0 and 1.

  python gen_datasets.py                      # fixtures/pipeline/datasets + examples/ (tiny models)
  python gen_datasets.py --models full_clf full_reg --model-dir D --out D   # default-size run
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

from common import FIXTURES, ROOT, save_npz, setup_torch

DATASETS = {
    # name: (loader, task, max train rows, max test rows)
    "iris": (datasets.load_iris, "classification", None, None),
    "wine": (datasets.load_wine, "classification", None, None),
    "breast_cancer": (datasets.load_breast_cancer, "classification", None, None),
    "digits": (datasets.load_digits, "classification", 600, 300),
    "diabetes": (datasets.load_diabetes, "regression", None, None),
}


def split(name: str):
    loader, task, max_train, max_test = DATASETS[name]
    d = loader()
    x, y = d.data.astype(np.float64), d.target
    strat = y if task == "classification" else None
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=0, stratify=strat)
    if max_train:
        x_tr, y_tr = x_tr[:max_train], y_tr[:max_train]
    if max_test:
        x_te, y_te = x_te[:max_test], y_te[:max_test]
    names = [str(n) for n in getattr(d, "feature_names", [f"pixel_{i}" for i in range(x.shape[1])])]
    if len(names) != x.shape[1]:
        names = [f"pixel_{i}" for i in range(x.shape[1])]
    target_names = list(getattr(d, "target_names", [])) if task == "classification" else []
    return task, names, x_tr, x_te, y_tr, y_te, target_names


def write_dataset_json(path: Path, name: str) -> None:
    task, names, x_tr, x_te, y_tr, y_te, _ = split(name)
    obj = {
        "name": name, "task": task, "feature_names": names,
        "x_train": x_tr.tolist(), "y_train": y_tr.tolist(),
        "x_test": x_te.tolist(), "y_test": y_te.tolist(),
    }
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")


def write_example_csvs(out: Path) -> None:
    """examples/: iris with species names, diabetes with a numeric target; both test files
    have an `id` column (--id-column); iris_test keeps the true species (predict ignores a
    target column in the test file), diabetes_test has none."""
    out.mkdir(parents=True, exist_ok=True)
    for name, target in [("iris", "species"), ("diabetes", "progression")]:
        task, names, x_tr, x_te, y_tr, y_te, target_names = split(name)
        cols = [n.replace(" (cm)", "").replace(" ", "_") for n in names]
        tr = pd.DataFrame(x_tr, columns=cols)
        te = pd.DataFrame(x_te, columns=cols)
        if task == "classification":
            tr[target] = [target_names[int(v)] for v in y_tr]
        else:
            tr[target] = y_tr
        te.insert(0, "id", [f"{name}-{i}" for i in range(len(te))])
        if task == "classification":  # held-out labels, ignored by predict, for checking
            te[target] = [target_names[int(v)] for v in y_te]
        tr.to_csv(out / f"{name}_train.csv", index=False, float_format="%.10g")
        te.to_csv(out / f"{name}_test.csv", index=False, float_format="%.10g")


def run_reference(name: str, model_path: Path, out: Path, tag: str) -> None:
    from tabpfn import TabPFNClassifier, TabPFNRegressor

    task, _, x_tr, x_te, y_tr, y_te, _ = split(name)
    arrays = {}
    for rs in (0, 1):
        if task == "classification":
            est = TabPFNClassifier(model_path=str(model_path), device="cpu", random_state=rs)
            est.fit(x_tr, y_tr)
            arrays[f"proba_rs{rs}"] = est.predict_proba(x_te).astype(np.float32)
        else:
            est = TabPFNRegressor(model_path=str(model_path), device="cpu", random_state=rs)
            est.fit(x_tr, y_tr)
            arrays[f"mean_rs{rs}"] = est.predict(x_te).astype(np.float32)
    # random_state 0 again: FINGERPRINT_FEATURE off (no float hashing, so the Rust
    # pipeline can match to float noise), and the default with every input moved by one
    # ulp (Python's own sensitivity to float noise in the inputs)
    nudged = np.nextafter(x_te, np.inf), np.nextafter(x_tr, np.inf)
    if task == "classification":
        est = TabPFNClassifier(model_path=str(model_path), device="cpu", random_state=0,
                               inference_config={"FINGERPRINT_FEATURE": False})
        arrays["proba_nofp"] = est.fit(x_tr, y_tr).predict_proba(x_te).astype(np.float32)
        est = TabPFNClassifier(model_path=str(model_path), device="cpu", random_state=0)
        arrays["proba_ulp"] = est.fit(nudged[1], y_tr).predict_proba(nudged[0]).astype(np.float32)
    else:
        est = TabPFNRegressor(model_path=str(model_path), device="cpu", random_state=0,
                              inference_config={"FINGERPRINT_FEATURE": False})
        arrays["mean_nofp"] = est.fit(x_tr, y_tr).predict(x_te).astype(np.float32)
        est = TabPFNRegressor(model_path=str(model_path), device="cpu", random_state=0)
        arrays["mean_ulp"] = est.fit(nudged[1], y_tr).predict(nudged[0]).astype(np.float32)
    save_npz(out / f"{name}_{tag}.npz", **arrays)
    print(f"{name} ({tag}): reference outputs for random_state 0 and 1, fingerprint off, one ulp")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs=2, default=["tiny_clf", "tiny_reg"], metavar=("CLF", "REG"))
    ap.add_argument("--model-dir", type=Path, default=FIXTURES / "model")
    ap.add_argument("--out", type=Path, default=FIXTURES / "pipeline" / "datasets")
    ap.add_argument("--tag", default="tiny")
    ap.add_argument("--no-examples", action="store_true")
    args = ap.parse_args()
    setup_torch()
    os.environ.setdefault("TABPFN_ALLOW_CPU_LARGE_DATASET", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in DATASETS:
        write_dataset_json(args.out / f"{name}.json", name)
        model = args.models[0] if DATASETS[name][1] == "classification" else args.models[1]
        run_reference(name, args.model_dir / f"{model}.ckpt", args.out, args.tag)
    if not args.no_examples:
        write_example_csvs(ROOT / "examples")


if __name__ == "__main__":
    main()
