"""Fixtures for the estimator pipeline (issue 5): numpy RNG goldens and, per case, the
reference TabPFNClassifier / TabPFNRegressor (2.2.1) run on a small seeded-random model,
with every member's decisions, matrices and raw logits dumped.

Writes fixtures/pipeline/: numpy_rng.json, <case>.json (data + params + decisions),
<case>.npz (float64 member matrices, float32 logits and outputs), datasets.json (layer 4).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from common import FIXTURES, save_npz, setup_torch

OUT = FIXTURES / "pipeline"
MODEL_DIR = FIXTURES / "model"
MAXINT = 2**31 - 1


def jsonable(v):
    """Column values for JSON: NaN/None → null, numpy scalars → Python."""
    out = []
    for x in v:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            out.append(None)
        elif isinstance(x, (np.floating, float)):
            out.append(float(x))
        elif isinstance(x, (np.integer, int)):
            out.append(int(x))
        else:
            out.append(str(x))
    return out


# ---------------------------------------------------------------- numpy RNG goldens
def rng_goldens() -> list[dict]:
    cases = []
    for seed in [0, 1, 7, 42, 12345, 2**31 - 2, 2**32 + 5, 987654321987]:
        g = np.random.default_rng(seed)
        calls = []

        def rec(op, args, out):
            calls.append({"op": op, "args": args, "out": out})

        rec("integers", [0, MAXINT], int(g.integers(0, MAXINT)))
        rec("integers", [0, 1000], int(g.integers(0, 1000)))
        start = 17
        rec("choice_nr", [8, 8], [int(v) - start for v in g.choice(np.arange(start, start + 8), 8, replace=False)])
        rec("random", [6], [float(v) for v in g.random(6)])
        rec("integers_n", [0, 6, 5], [int(v) for v in g.integers(0, 6, size=5)])
        rec("integers_n", [0, MAXINT, 9], [int(v) for v in g.integers(0, MAXINT, 9)])
        for n in [1, 2, 3, 10, 33, 257]:
            rec("permutation", [n], [int(v) for v in g.permutation(n)])
        rec("integers", [0, 2**16], int(g.integers(0, 2**16)))
        rec("choice_nr", [50, 7], [int(v) for v in g.choice(50, 7, replace=False)])
        rec("integers", [0, 2**40], int(g.integers(0, 2**40)))
        rec("integers", [5, 6], int(g.integers(5, 6)))
        rec("integers_n", [0, 3, 4], [int(v) for v in g.integers(0, 3, size=4)])
        cases.append({"seed": seed, "calls": calls})
    return cases


# ---------------------------------------------------------------- datasets
def clf_mixed(rs: np.random.Generator):
    n, m = 130, 25
    t = n + m
    num_a = rs.normal(size=t)
    num_a[rs.random(t) < 0.06] = np.nan
    num_b = np.exp(rs.normal(size=t))
    cat_num = rs.integers(0, 3, t).astype(float)
    cat_num[n + 3] = 5.0  # unseen category at test
    palette = np.array(["red", "green", "blue", "teal", "pink"], dtype=object)
    txt = palette[rs.integers(0, 5, t)].astype(object)
    txt[rs.random(t) < 0.08] = None
    txt[n + 1] = "purple"  # unseen text at test
    txt_cat = np.array(["x", "y"], dtype=object)[rs.integers(0, 2, t)].astype(object)
    txt_cat[rs.random(t) < 0.1] = None
    const = np.full(t, 7.0)
    dup = num_b.copy()
    cols = [("num_a", num_a), ("txt", txt), ("num_b", num_b), ("cat_num", cat_num),
            ("txt_cat", txt_cat), ("const", const), ("dup", dup)]
    score = np.nan_to_num(num_a) + 0.5 * cat_num - 0.3 * num_b
    labels = np.array(["cat", "dog", "eel"], dtype=object)
    y = labels[np.digitize(score + 0.3 * rs.normal(size=t), [-0.7, 0.4])]
    return cols, y, n, {}


def clf_binary_numeric(rs: np.random.Generator):
    n, m = 60, 20
    t = n + m
    x = rs.normal(size=(t, 4))
    x[5] = x[3]  # duplicate train rows: fingerprint collision handling
    x[9] = x[3]
    x[n + 2] = x[3]  # a test row equal to a train row
    x[rs.random((t, 4)) < 0.04] = np.nan
    y = np.where(x[:, 0] + 0.5 * np.nan_to_num(x[:, 1]) > 0, 1.0, -1.0)
    y[9] = -y[3]
    cols = [(f"f{j}", x[:, j]) for j in range(4)]
    return cols, y, n, {}


def clf_4class_knobs(rs: np.random.Generator):
    n, m = 80, 15
    t = n + m
    x = rs.normal(size=(t, 3)) * np.array([1.0, 10.0, 0.1])
    codes = rs.integers(0, 6, t).astype(float)
    y = (np.argmax(x[:, :2] * [1, 0.1], axis=1) + 2 * (codes > 2)).astype(float)
    cols = [("a", x[:, 0]), ("codes", codes), ("b", x[:, 1]), ("c", x[:, 2])]
    params = dict(n_estimators=5, random_state=3, softmax_temperature=0.8,
                  average_before_softmax=True, balance_probabilities=True,
                  categorical_features_indices=[1])
    return cols, y, n, params


def reg_mixed(rs: np.random.Generator):
    n, m = 120, 20
    t = n + m
    a = rs.normal(size=t)
    b = rs.gamma(2.0, 2.0, size=t)
    b[rs.random(t) < 0.05] = np.nan
    c = rs.integers(0, 3, t).astype(float)
    txt = np.array(["lo", "mid", "hi", "top"], dtype=object)[rs.integers(0, 4, t)].astype(object)
    y = 3 * a + np.log1p(np.nan_to_num(b)) * 2 + c + 0.3 * rs.normal(size=t)
    y = np.exp(y / 3)  # skewed target
    cols = [("a", a), ("b", b), ("c", c), ("txt", txt)]
    return cols, y, n, {}


def reg_small_knobs(rs: np.random.Generator):
    n, m = 40, 12
    t = n + m
    x = rs.normal(size=(t, 3))
    y = -5 + x[:, 0] * 2 - x[:, 1] ** 2 + 0.1 * rs.normal(size=t)
    cols = [(f"x{j}", x[:, j]) for j in range(3)]
    params = dict(n_estimators=6, random_state=11, average_before_softmax=True, softmax_temperature=1.0)
    return cols, y, n, params


def clf_7class_text(rs: np.random.Generator):
    """Many classes, a high-cardinality text column, a binary numeric column (categorical,
    very common), heavy missingness, odd member count and a non-default seed."""
    n, m = 250, 30
    t = n + m
    a = rs.normal(size=t)
    a[rs.random(t) < 0.2] = np.nan
    b = rs.integers(0, 2, t).astype(float)
    words = np.array([f"w{i:02d}" for i in range(40)], dtype=object)
    txt = words[rs.integers(0, 40, t)].astype(object)
    txt[rs.random(t) < 0.05] = None
    c = rs.standard_t(2, size=t) * 100
    y = np.array([f"k{i}" for i in range(7)], dtype=object)[rs.integers(0, 7, t)]
    cols = [("a", a), ("b", b), ("txt", txt), ("c", c)]
    params = dict(n_estimators=3, random_state=123)
    return cols, y, n, params


def reg_onehot(rs: np.random.Generator):
    """Categoricals for the one-hot members: a binary and a 3-level column with NaN, an
    unseen test level, outliers in y."""
    n, m = 150, 20
    t = n + m
    lvl = rs.integers(0, 3, t).astype(float)
    lvl[rs.random(t) < 0.1] = np.nan
    lvl[n + 4] = 7.0
    bin_ = rs.integers(0, 2, t).astype(float)
    x = rs.normal(size=(t, 2))
    y = x[:, 0] * 3 + np.nan_to_num(lvl) - 2 * bin_ + rs.normal(size=t)
    y[:3] *= 50  # outliers
    cols = [("lvl", lvl), ("x0", x[:, 0]), ("bin", bin_), ("x1", x[:, 1])]
    return cols, y, n, dict(random_state=5)


def clf_small_1feat(rs: np.random.Generator):
    """Fewer than 100 rows (no categorical inference), one feature (no SVD), 2 members."""
    n, m = 25, 10
    t = n + m
    x = rs.normal(size=t)
    y = (x + 0.5 * rs.normal(size=t) > 0).astype(float) * 4 + 1
    return [("x", x)], y, n, dict(n_estimators=2, random_state=9)


def clf_subsample(rs: np.random.Generator):
    """SUBSAMPLE_SAMPLES as a row count: each member sees its own 50 of 130 rows."""
    cols, y, n, _ = clf_mixed(rs)
    return cols, y, n, dict(n_estimators=4, random_state=17,
                            inference_config={"SUBSAMPLE_SAMPLES": 50})


def clf_subsample_all(rs: np.random.Generator):
    """A count above the train rows: every member sees a row-shuffled copy of all of them."""
    cols, y, n, _ = clf_binary_numeric(rs)
    return cols, y, n, dict(n_estimators=3, random_state=2,
                            inference_config={"SUBSAMPLE_SAMPLES": 1000})


def reg_subsample(rs: np.random.Generator):
    """SUBSAMPLE_SAMPLES as a fraction (int(0.3 * 120) + 1 = 37 rows); two safepower members
    whose borders share the last member's fit (the reference's shared transform object)."""
    cols, y, n, _ = reg_mixed(rs)
    return cols, y, n, dict(n_estimators=4, random_state=8,
                            inference_config={"SUBSAMPLE_SAMPLES": 0.3})


def clf_knobs_rotate(rs: np.random.Generator):
    """Every scalar inference_config knob off its default: rotated features and classes,
    no fingerprint, 3-σ outlier clipping, sklearn's 16-decimal probabilities, other
    categorical-inference thresholds."""
    cols, y, n, _ = clf_mixed(rs)
    return cols, y, n, dict(n_estimators=5, random_state=21, inference_config={
        "FEATURE_SHIFT_METHOD": "rotate", "CLASS_SHIFT_METHOD": "rotate",
        "FINGERPRINT_FEATURE": False, "OUTLIER_REMOVAL_STD": 3.0,
        "USE_SKLEARN_16_DECIMAL_PRECISION": True,
        "MAX_UNIQUE_FOR_CATEGORICAL_FEATURES": 4, "MIN_UNIQUE_FOR_NUMERICAL_FEATURES": 6,
        "MIN_NUMBER_SAMPLES_FOR_CATEGORICAL_INFERENCE": 50,
        "MAX_NUMBER_OF_CLASSES": 3, "MAX_NUMBER_OF_SAMPLES": 500,
    })


def clf_polynomial(rs: np.random.Generator):
    """POLYNOMIAL_FEATURES as a count (fewer than all pairs: the second factors come from
    CPython set iteration order) with NaNs, a categorical and a constant column."""
    cols, y, n, _ = clf_4class_knobs(rs)
    return cols, y, n, dict(n_estimators=4, random_state=12,
                            inference_config={"POLYNOMIAL_FEATURES": 7})


def reg_polynomial_all(rs: np.random.Generator):
    """POLYNOMIAL_FEATURES="all" on the regressor (every pair, so every set runs dry)."""
    cols, y, n, _ = reg_small_knobs(rs)
    return cols, y, n, dict(n_estimators=4, random_state=13,
                            inference_config={"POLYNOMIAL_FEATURES": "all"})


def set_order_goldens() -> list:
    """`list(set(range(a, d)) - set(used))` as this CPython iterates it (the order the
    polynomial step's draws index)."""
    rs = np.random.default_rng(0)
    cases = []
    for d in [3, 8, 20, 40, 100, 300, 1000]:
        for _ in range(5):
            a = int(rs.integers(0, d))
            k = int(rs.integers(0, d - a + 2))
            used = [int(v) for v in rs.integers(-1, d, k)]
            cases.append([a, d, used, list(set(range(a, d)) - set(used))])
    return cases


_CUSTOM_CLF = [
    {"name": "quantile_uni_fine", "categorical_name": "ordinal_shuffled",
     "append_original": True, "subsample_features": 0.6, "global_transformer_name": "svd"},
    {"name": "none", "categorical_name": "none", "append_original": False,
     "subsample_features": -1, "global_transformer_name": None},
    {"name": "safepower", "categorical_name": "ordinal_common_categories",
     "append_original": "auto", "subsample_features": 1.5, "global_transformer_name": "None"},
]


def clf_custom_transforms(rs: np.random.Generator):
    """PREPROCESS_TRANSFORMS with three configs over 5 members (two left over), feature
    subsampling with and without replacement, no shifts."""
    cols, y, n, _ = clf_7class_text(rs)
    return cols, y, n, dict(n_estimators=5, random_state=4, inference_config={
        "PREPROCESS_TRANSFORMS": _CUSTOM_CLF,
        "FEATURE_SHIFT_METHOD": None, "CLASS_SHIFT_METHOD": None,
    })


def reg_custom_transforms(rs: np.random.Generator):
    """Regressor: custom configs × safepower-only targets, NaN-border repair off, rotated
    features, an outlier clip through the task's default key."""
    cols, y, n, _ = reg_onehot(rs)
    return cols, y, n, dict(n_estimators=4, random_state=6, inference_config={
        "PREPROCESS_TRANSFORMS": [
            {"name": "quantile_uni", "categorical_name": "onehot", "append_original": False,
             "subsample_features": 0.7, "global_transformer_name": "svd"},
            {"name": "none", "categorical_name": "ordinal_very_common_categories",
             "append_original": True, "subsample_features": -1,
             "global_transformer_name": None},
        ],
        "REGRESSION_Y_PREPROCESS_TRANSFORMS": ["safepower"],
        "FIX_NAN_BORDERS_AFTER_TARGET_TRANSFORM": False,
        "FEATURE_SHIFT_METHOD": "rotate",
        "_REGRESSION_DEFAULT_OUTLIER_REMOVAL_STD": 4.0,
    })


def _with_all_missing(cols, n, t, rs, text=True):
    """A numeric column with no value in the training rows (values at test), and an
    all-missing text column."""
    miss = np.full(t, np.nan)
    miss[n:] = rs.normal(size=t - n)
    txt = np.array([None] * t, dtype=object)
    return cols[:1] + [("missing", miss)] + cols[1:] + ([("missing_txt", txt)] if text else [])


def _numeric_clf(rs, n, m):
    t = n + m
    x = rs.normal(size=(t, 3))
    x[rs.random((t, 3)) < 0.04] = np.nan
    y = np.where(np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) > 0, "yes", "no")
    return [(f"f{j}", x[:, j]) for j in range(3)], y.astype(object)


def clf_all_missing(rs: np.random.Generator):
    """More than 100 rows: the all-missing column takes the categorical path. (With an
    all-missing text column as well, 2.2.1 itself fails at predict; docs/pipeline.md.)"""
    n = 130
    cols, y = _numeric_clf(rs, n, 20)
    return (_with_all_missing(cols, n, len(y), rs, text=False), y, n,
            dict(n_estimators=4, random_state=1))


def clf_all_missing_small(rs: np.random.Generator):
    """Fewer than 100 rows: the all-missing numeric column stays numeric."""
    n = 60
    cols, y = _numeric_clf(rs, n, 15)
    return _with_all_missing(cols, n, len(y), rs), y, n, dict(n_estimators=4, random_state=2)


def reg_all_missing(rs: np.random.Generator):
    cols, y, n, params = reg_mixed(rs)
    cols = [c for c in cols if c[0] != "txt"]
    return (_with_all_missing(cols, n, len(y), rs, text=False), y, n,
            dict(n_estimators=4, random_state=3))


WIDE_FEATURES, WIDE_LIMIT = 506, 500


def clf_wide(rs: np.random.Generator):
    """More features than MAX_NUMBER_OF_FEATURES: tabpfn-rs subsamples each member to 500
    of them by itself (rust_params); the reference runs the same draw through its own
    `subsample_features` with the fraction (500 − ½) / 506 and the limit lifted."""
    n, m = 30, 8
    t = n + m
    x = rs.normal(size=(t, WIDE_FEATURES))
    x[rs.random((t, WIDE_FEATURES)) < 0.02] = np.nan
    y = (np.nansum(x[:, :5], axis=1) > 0).astype(float)
    cols = [(f"f{j:03d}", x[:, j]) for j in range(WIDE_FEATURES)]
    frac = (WIDE_LIMIT - 0.5) / WIDE_FEATURES
    clf_defaults = [
        {"name": "quantile_uni_coarse", "categorical_name": "ordinal_very_common_categories_shuffled",
         "append_original": "auto", "subsample_features": frac, "global_transformer_name": "svd"},
        {"name": "none", "categorical_name": "numeric", "append_original": False,
         "subsample_features": frac, "global_transformer_name": None},
    ]
    params = dict(n_estimators=2, random_state=7, ignore_pretraining_limits=True,
                  inference_config={"PREPROCESS_TRANSFORMS": clf_defaults})
    return cols, y, n, params, dict(n_estimators=2, random_state=7)


CASES = {
    "clf_mixed": ("classification", "tiny_clf", clf_mixed),
    "clf_binary_numeric": ("classification", "tiny_clf", clf_binary_numeric),
    "clf_4class_knobs": ("classification", "tiny_clf", clf_4class_knobs),
    "reg_mixed": ("regression", "tiny_reg", reg_mixed),
    "reg_small_knobs": ("regression", "tiny_reg", reg_small_knobs),
    "clf_7class_text": ("classification", "tiny_clf", clf_7class_text),
    "reg_onehot": ("regression", "tiny_reg", reg_onehot),
    "clf_small_1feat": ("classification", "tiny_clf", clf_small_1feat),
    "clf_subsample": ("classification", "tiny_clf", clf_subsample),
    "clf_subsample_all": ("classification", "tiny_clf", clf_subsample_all),
    "reg_subsample": ("regression", "tiny_reg", reg_subsample),
    "clf_knobs_rotate": ("classification", "tiny_clf", clf_knobs_rotate),
    "clf_custom_transforms": ("classification", "tiny_clf", clf_custom_transforms),
    "reg_custom_transforms": ("regression", "tiny_reg", reg_custom_transforms),
    "clf_all_missing": ("classification", "tiny_clf", clf_all_missing),
    "clf_all_missing_small": ("classification", "tiny_clf", clf_all_missing_small),
    "reg_all_missing": ("regression", "tiny_reg", reg_all_missing),
    "clf_wide": ("classification", "tiny_clf", clf_wide),
    "clf_polynomial": ("classification", "tiny_clf", clf_polynomial),
    "reg_polynomial_all": ("regression", "tiny_reg", reg_polynomial_all),
}


def frame(cols, rows) -> pd.DataFrame:
    data = {}
    for name, v in cols:
        v = v[rows]
        data[name] = pd.Series(list(v), dtype=object) if v.dtype == object else v
    return pd.DataFrame(data)


def estimator(task: str, model: str, params: dict):
    from tabpfn import TabPFNClassifier, TabPFNRegressor

    cls = TabPFNClassifier if task == "classification" else TabPFNRegressor
    return cls(model_path=str(MODEL_DIR / f"{model}.ckpt"), device="cpu", **params)


def record_seeds():
    """Patch fit_preprocessing_one to record each member's int seed."""
    import tabpfn.preprocessing as pp

    seeds: list[int] = []
    orig = pp.fit_preprocessing_one

    def wrapped(config, X_train, y_train, random_state=None, *, cat_ix):
        seeds.append(int(random_state))
        return orig(config, X_train, y_train, random_state, cat_ix=cat_ix)

    pp.fit_preprocessing_one = wrapped
    return seeds, lambda: setattr(pp, "fit_preprocessing_one", orig)


class _ScalarChoice:
    """A numpy Generator whose ``choice(..., size=1)`` gives the element, not a 1-array.

    2.2.1's polynomial step assigns ``rng.choice(list, size=1)`` to one array element,
    which numpy 2 refuses ("setting an array element with a sequence"; numpy 1 took the
    element). Returning the element keeps every draw as it is and lets the step run."""

    def __init__(self, g):
        self._g = g

    def choice(self, *args, **kwargs):
        r = self._g.choice(*args, **kwargs)
        return r[0] if kwargs.get("size") == 1 else r

    def __getattr__(self, name):
        return getattr(self._g, name)


def patch_polynomial_step() -> None:
    import tabpfn.preprocessors.nan_handling_polynomial_features_step as poly

    orig = poly.infer_random_state

    def wrapped(random_state):
        seed, g = orig(random_state)
        return seed, _ScalarChoice(g)

    poly.infer_random_state = wrapped


def run_case(name: str) -> None:
    import torch
    from tabpfn.utils import fix_dtypes, process_text_na_dataframe, validate_X_predict

    task, model, make = CASES[name]
    rs = np.random.default_rng(sum(map(ord, name)))
    made = make(rs)
    cols, y, n, params = made[:4]
    rust_params = made[4] if len(made) > 4 else None
    t = len(y)
    x_train, x_test = frame(cols, slice(0, n)), frame(cols, slice(n, t))
    y_train = y[:n]
    est = estimator(task, model, params)
    seeds, restore = record_seeds()
    try:
        est.fit(x_train, y_train)
    finally:
        restore()
    ex = est.executor_
    X_enc = process_text_na_dataframe(
        fix_dtypes(validate_X_predict(x_test, est), cat_indices=est.inferred_categorical_indices_),
        ord_encoder=est.preprocessor_)
    arrays: dict[str, np.ndarray] = {"encoded_test": X_enc}
    members = []
    outputs = list(ex.iter_outputs(X_enc, devices=est.devices_, autocast=False))
    for i, (cfg, pre) in enumerate(zip(ex.ensemble_configs, ex.preprocessors)):
        steps = pre.steps
        salt = next((s.rnd_salt_ for s in steps if hasattr(s, "rnd_salt_")), None)
        perm = next(s.index_permutation_ for s in steps if hasattr(s, "index_permutation_"))
        arrays[f"m{i}_x_train"] = np.asarray(ex.X_trains[i], dtype=np.float64)
        arrays[f"m{i}_x_test"] = np.asarray(pre.transform(X_enc).X, dtype=np.float64)
        arrays[f"m{i}_y_train"] = np.asarray(ex.y_trains[i], dtype=np.float64)
        arrays[f"m{i}_logits"] = outputs[i][0].float().numpy()
        info = {
            "seed": seeds[i],
            "transform": cfg.preprocess_config.name,
            "salt": None if salt is None else int(salt),
            "feature_permutation": [int(v) for v in perm],
            "cat_ix": [int(v) for v in ex.cat_ixs[i]],
            "fingerprint_column": (None if salt is None
                                   else int(list(perm).index(len(perm) - 1))),
        }
        if cfg.subsample_ix is not None:
            info["subsample_ix"] = [int(v) for v in cfg.subsample_ix]
        if task == "classification":
            perm_c = cfg.class_permutation
            info["class_permutation"] = (list(range(len(est.classes_))) if perm_c is None
                                         else [int(v) for v in perm_c])
        else:
            tt = cfg.target_transform
            info["target_transform"] = None if tt is None else "safepower"
            if tt is not None:
                info["target_lambda"] = float(tt.named_steps["input_transformer"].lambdas_[0])
        members.append(info)
    if task == "classification":
        arrays["proba"] = est.predict_proba(x_test).astype(np.float32)
        arrays["logits_mean"] = est.predict_logits(x_test).astype(np.float32)
        classes = jsonable(est.classes_)
    else:
        full = est.predict(x_test, output_type="full")
        arrays["mean"] = full["mean"]
        arrays["median"] = full["median"]
        arrays["mode"] = full["mode"]
        arrays["quantiles"] = np.stack(full["quantiles"])
        arrays["logits"] = full["logits"].float().numpy()
        arrays["std_borders"] = est.znorm_space_bardist_.borders.numpy()
        classes = None
    # low_memory: same fit, different seeds (recorded at predict)
    lm = estimator(task, model, {**params, "fit_mode": "low_memory"})
    lm.fit(x_train, y_train)
    lm_seeds, restore = record_seeds()
    try:
        if task == "classification":
            lm.predict_proba(x_test)
        else:
            lm.predict(x_test)
    finally:
        restore()
    columns = [
        {"name": c, "kind": "text" if v.dtype == object else "numeric",
         "train": jsonable(v[:n]), "test": jsonable(v[n:])}
        for c, v in cols
    ]
    meta = {
        "task": task, "model": f"{model}.ckpt", "params": params,
        "columns": columns, "y_train": jsonable(y_train),
        "inferred_categorical": [int(v) for v in est.inferred_categorical_indices_],
        "classes": classes, "members": members, "low_memory_seeds": lm_seeds,
        "n_train": n, "n_test": t - n,
    }
    if rust_params is not None:
        meta["rust_params"] = rust_params
    (OUT / f"{name}.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    save_npz(OUT / f"{name}.npz", keep_float64=True, **arrays)
    print(f"{name}: {len(members)} members, seeds {seeds}")


def main() -> None:
    setup_torch()
    patch_polynomial_step()
    os.environ.setdefault("TABPFN_ALLOW_CPU_LARGE_DATASET", "1")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "numpy_rng.json").write_text(json.dumps(rng_goldens(), indent=1) + "\n")
    (OUT / "python_set_order.json").write_text(json.dumps(set_order_goldens()) + "\n")
    names = sys.argv[1:] or list(CASES)
    for name in names:
        run_case(name)


if __name__ == "__main__":
    main()
