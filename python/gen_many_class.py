"""Fixtures for more than 10 classes: tabpfn-extensions' ManyClassClassifier (0.2.0, the
newest release that runs on tabpfn 2.2.1; pinned in requirements.txt) around the 2.2.1
TabPFNClassifier with the tiny checkpoint. Writes fixtures/pipeline/many_class_<case>.json
(table, codebook) and .npz (probabilities, default and with FINGERPRINT_FEATURE off).

    .venv/bin/python python/gen_many_class.py
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from common import FIXTURES, save_npz, setup_torch

OUT = FIXTURES / "pipeline"
MODEL = FIXTURES / "model" / "tiny_clf.ckpt"


def table(rs: np.random.Generator, n_classes: int, n: int, m: int, d: int):
    """Class-dependent means in `d` features, a few NaNs, every class in the train rows."""
    t = n + m
    centers = rs.normal(size=(n_classes, d)) * 1.5
    y = np.concatenate([np.arange(n_classes), rs.integers(0, n_classes, t - n_classes)])
    rs.shuffle(y[n_classes:])
    x = centers[y] + rs.normal(size=(t, d))
    x[rs.random((t, d)) < 0.03] = np.nan
    return x, y.astype(float)


CASES = {
    # name: (classes, train rows, test rows, features, base members, seed)
    "many_class_15": (15, 150, 30, 4, 4, 3),
    "many_class_31": (31, 200, 25, 5, 2, 11),
}


def run(name: str) -> None:
    from tabpfn import TabPFNClassifier
    from tabpfn_extensions.many_class import ManyClassClassifier

    n_classes, n, m, d, members, seed = CASES[name]
    rs = np.random.default_rng(sum(map(ord, name)))
    x, y = table(rs, n_classes, n, m, d)
    arrays = {}
    books = {}
    for tag, ic in [("default", None), ("nofp", {"FINGERPRINT_FEATURE": False})]:
        base = TabPFNClassifier(model_path=str(MODEL), device="cpu", n_estimators=members,
                                random_state=seed, inference_config=ic)
        mc = ManyClassClassifier(base, alphabet_size=10, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mc.fit(x[:n], y[:n])
            arrays[f"proba_{tag}"] = mc.predict_proba(x[n:])
        books[tag] = mc.code_book_.tolist()
    assert books["default"] == books["nofp"]
    meta = {
        "n_classes": n_classes, "n_train": n, "n_test": m, "n_estimators": members,
        "random_state": seed, "alphabet_size": 10,
        "x_train": [[None if np.isnan(v) else float(v) for v in r] for r in x[:n]],
        "x_test": [[None if np.isnan(v) else float(v) for v in r] for r in x[n:]],
        "y_train": [float(v) for v in y[:n]],
        "codebook": books["default"],
    }
    (OUT / f"{name}.json").write_text(json.dumps(meta) + "\n")
    save_npz(OUT / f"{name}.npz", keep_float64=True, **arrays)
    print(f"{name}: {len(books['default'])} codebook rows, {n_classes} classes")


def main() -> None:
    setup_torch()
    os.environ.setdefault("TABPFN_ALLOW_CPU_LARGE_DATASET", "1")
    for name in CASES:
        run(name)


if __name__ == "__main__":
    main()
