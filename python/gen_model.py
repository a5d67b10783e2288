"""Network fixtures: the reference PerFeatureTransformer on random-weight checkpoints.

Writes fixtures/model/<model>.ckpt (official format), fixtures/model/<case>.npz with the
inputs `x [R, C]`, `y [N]` and the reference outputs, and fixtures/model/cases.json.

Usage: gen_model.py [--out DIR] [--models a,b] (default: the committed models)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from common import FIXTURES, np_, save_npz, setup_torch, write_json
from models import build_checkpoint, load, set_outlier_removal

QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9]


def clf_table(rng, n, m, c, k, *, labels=None):
    x = rng.normal(size=(n + m, c)).astype(np.float32)
    labels = np.arange(k) if labels is None else np.asarray(labels)
    y = np.concatenate([labels, rng.choice(labels, size=n - len(labels))]) if n >= len(labels) \
        else labels[:n]
    y = rng.permutation(y).astype(np.float32)
    # make the label informative so the network sees structure
    x[:n, 0] += y
    return x, y


def reg_table(rng, n, m, c):
    x = rng.normal(size=(n + m, c)).astype(np.float32)
    w = rng.normal(size=c)
    y = (x[:n] @ w + 0.1 * rng.normal(size=n)).astype(np.float32)
    y = (y - y.mean()) / y.std()
    return x, y.astype(np.float32)


def with_specials(x, n):
    """NaN, +inf and -inf in train and test rows, a constant column, a column constant on
    the train rows only, and a column whose train rows are all NaN."""
    x = x.copy()
    c = x.shape[1]
    x[1, 0] = np.nan
    x[2, 1 % c] = np.inf
    x[3, 2 % c] = -np.inf
    x[n, 0] = np.nan
    x[n + 1, 1 % c] = np.inf
    x[-1, 2 % c] = -np.inf
    if c >= 4:
        x[:, 3] = 2.5
    if c >= 5:
        x[:n, 4] = -1.0
    if c >= 6:
        x[:n, 5] = np.nan
    return x


def case_list(rng):
    cases = []

    def add(name, model, x, y, *, outliers=None, cache=False):
        cases.append(dict(name=name, model=model, x=x, y=y, outliers=outliers, cache=cache))

    x, y = clf_table(rng, 24, 16, 4, 2)
    add("clf2_basic", "tiny_clf", x, y)
    x, y = clf_table(rng, 30, 12, 7, 3)
    add("clf3_specials_odd", "tiny_clf", with_specials(x, 30), y, cache=True)
    x, y = clf_table(rng, 60, 10, 6, 10)
    add("clf10", "tiny_clf", x, y)
    x, y = clf_table(rng, 20, 1, 5, 3)
    add("clf_1test", "tiny_clf", x, y, cache=True)
    x, y = clf_table(rng, 40, 500, 6, 4)
    add("clf_500test", "tiny_clf", with_specials(x, 40), y)
    x, y = clf_table(rng, 25, 9, 1, 2)
    add("clf_1feat", "tiny_clf", x, y)
    x, y = clf_table(rng, 30, 8, 60, 3)
    add("clf_60feat", "tiny_clf", with_specials(x, 30), y, cache=True)
    x, y = clf_table(rng, 50, 10, 5, 3)
    x[[4, 9, 17], 1] = [800.0, -1500.0, 3000.0]
    x[[52, 55], 1] = [5000.0, -4000.0]
    add("clf_outliers", "tiny_clf", x, y, outliers=12.0, cache=True)
    x, y = clf_table(rng, 20, 5, 4, 3, labels=[0, 2, 5])
    add("clf_label_gaps", "tiny_clf", x, y)
    x, y = clf_table(rng, 1, 3, 3, 1)
    add("clf_1train", "tiny_clf", x, y)
    x, y = clf_table(rng, 20, 6, 3, 4)
    add("clf_f1_dup", "tiny_clf_f1", with_specials(x, 20), y, cache=True)
    x, y = reg_table(rng, 40, 12, 5)
    add("reg_basic", "tiny_reg", x, y)
    x, y = reg_table(rng, 36, 10, 7)
    add("reg_specials", "tiny_reg", with_specials(x, 36), y, cache=True)
    x, y = clf_table(rng, 100, 40, 10, 5)
    add("default_clf", "default2_clf", with_specials(x, 100), y, outliers=12.0, cache=True)
    return cases


def full_case_list(rng):
    """12-layer default networks, built on the fly by scripts/parity-full.sh."""
    cases = []
    x, y = clf_table(rng, 200, 100, 20, 5)
    cases.append(dict(name="full_clf", model="full_clf", x=with_specials(x, 200), y=y,
                      outliers=12.0, cache=True))
    x, y = clf_table(rng, 300, 50, 7, 10)
    cases.append(dict(name="full_clf10", model="full_clf", x=x, y=y, outliers=None, cache=False))
    x, y = reg_table(rng, 200, 100, 15)
    cases.append(dict(name="full_reg", model="full_reg", x=with_specials(x, 200), y=y,
                      outliers=None, cache=True))
    return cases


def run_case(ckpt: Path, case: dict) -> dict:
    x = torch.tensor(case["x"])[:, None, :]
    y = torch.tensor(case["y"])[:, None]
    n = y.shape[0]
    out = {}
    model, criterion, cfg = load(ckpt)
    set_outlier_removal(model, case["outliers"])
    with torch.no_grad():
        logits = model(x, y)[:, 0, :]
    out["logits"] = logits
    if cfg.max_num_classes == 0:
        out["mean"] = criterion.mean(logits)
        out["median"] = criterion.median(logits)
        out["mode"] = criterion.mode(logits)
        out["quantiles"] = torch.stack([criterion.icdf(logits, q) for q in QUANTILES], -1)
    if case["cache"]:
        model, criterion, cfg = load(ckpt, cache=True)
        set_outlier_removal(model, case["outliers"])
        with torch.no_grad():
            model(x[:n], y)
            out["logits_cache"] = model(x[n:], None)[:, 0, :]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=FIXTURES / "model")
    ap.add_argument("--full", action="store_true", help="12-layer cases (not committed)")
    args = ap.parse_args()
    setup_torch()
    rng = np.random.default_rng(20250522)
    cases = full_case_list(np.random.default_rng(7)) if args.full else case_list(rng)
    models = sorted({c["model"] for c in cases})
    ckpts = {}
    for i, name in enumerate(models):
        ckpts[name] = build_checkpoint(name, args.out / f"{name}.ckpt", weight_seed=100 + i)
    index = {}
    for case in cases:
        res = run_case(ckpts[case["model"]], case)
        save_npz(args.out / f"{case['name']}.npz", x=case["x"], y=case["y"],
                 **{k: np_(v) for k, v in res.items()})
        index[case["name"]] = dict(model=case["model"], outlier_std=case["outliers"],
                                   cache=case["cache"], n_train=int(len(case["y"])),
                                   n_test=int(case["x"].shape[0] - len(case["y"])),
                                   n_features=int(case["x"].shape[1]),
                                   quantiles=QUANTILES)
    write_json(args.out / "cases.json", index)
    print(f"model fixtures: {len(models)} checkpoints, {len(index)} cases -> {args.out}")


if __name__ == "__main__":
    main()
