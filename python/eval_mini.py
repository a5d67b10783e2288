"""Evaluation of the built-in models tabpfn-mini (issue 20): 15 real tables from locally
installable packages (scikit-learn, statsmodels, palmerpenguins, vega_datasets), 5 random
70/30 splits each (stratified for classification), tabpfn-mini run by the Rust CLI against
logistic regression / ridge, Random Forest and HistGradientBoosting, each behind the usual
pipeline (median / most-frequent imputation, one-hot for text columns, scaling for the
linear models), plus the majority class / training mean. On the first split of every
all-numeric table the same weights also run in the reference tabpfn 2.2.1, reported as the
largest |Δ| between the two (a parity check, not a score).

Two disjoint suites. `report` (the default, the tables in docs/demo-model.md) was never used
to train or to choose anything. `validation` (`--suite validation`: 6 classification and 9
regression tables, none of them a report table's target) is where checkpoints are chosen
between training runs; within a run the trainer keeps the best checkpoint by loss on a
synthetic validation set (python/train_mini.py). Two validation tables share a source with
report tables but predict another column: anes96 (party id vs vote) and penguins (sex and
island vs species and mass).

  python eval_mini.py CLI_BINARY CLASSIFIER.safetensors REGRESSOR.safetensors [--suite S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SPLITS = 5


def _sk(loader):
    d = loader(as_frame=True)
    return d.data, d.target


def _target(df: pd.DataFrame, target: str, drop=()):
    df = df.dropna(subset=[target])
    return df.drop(columns=[target, *drop]), df[target]


def _penguins(target):
    import palmerpenguins
    return _target(palmerpenguins.load_penguins(), target)


def _cars(target):
    from vega_datasets import local_data
    df = local_data.cars().drop(columns=["Name"])
    df["Year"] = pd.to_datetime(df["Year"]).dt.year
    df = df.dropna(subset=[target])
    return df.drop(columns=[target]), df[target]


def _sm(name):
    import statsmodels.api as sm
    return getattr(sm.datasets, name).load_pandas().data


def _anes96():
    df = _sm("anes96")
    return df.drop(columns=["vote", "logpopul"]), df["vote"].astype(int)


def _fair():
    df = _sm("fair").sample(n=1200, random_state=0)
    return df.drop(columns=["affairs"]), (df["affairs"] > 0).astype(int)


def _weather():
    from vega_datasets import local_data
    df = local_data.seattle_weather()
    return df.drop(columns=["date", "weather"]), df["weather"]


def _star98():
    df = _sm("star98")
    y = df["NABOVE"] / (df["NABOVE"] + df["NBELOW"])
    return df.drop(columns=["NABOVE", "NBELOW"]), y


def _grunfeld():
    df = _sm("grunfeld")
    return df.drop(columns=["invest"]), df["invest"]


def _statecrime():
    df = _sm("statecrime")
    return df.drop(columns=["murder", "violent"]), df["murder"]


CLASSIFICATION = {
    "iris": lambda: _sk(datasets.load_iris),
    "wine": lambda: _sk(datasets.load_wine),
    "breast_cancer": lambda: _sk(datasets.load_breast_cancer),
    "digits": lambda: _sk(datasets.load_digits),
    "penguins_species": lambda: _penguins("species"),
    "anes96_vote": _anes96,
    "cars_origin": lambda: _cars("Origin"),
    "fair_affair": _fair,
    "seattle_weather": _weather,
}
REGRESSION = {
    "diabetes": lambda: _sk(datasets.load_diabetes),
    "cars_mpg": lambda: _cars("Miles_per_Gallon"),
    "penguins_mass": lambda: _penguins("body_mass_g"),
    "star98_above": _star98,
    "grunfeld_invest": _grunfeld,
    "statecrime_murder": _statecrime,
}


def _barley():
    from vega_datasets import local_data
    return _target(local_data.barley(), "yield")


# The validation suite: checkpoint choice only, never reported as a score.
VALIDATION_CLASSIFICATION = {
    "penguins_sex": lambda: _penguins("sex"),
    "penguins_island": lambda: _penguins("island"),
    "anes96_party": lambda: _target(_sm("anes96"), "PID", ["vote", "logpopul"]),
    "modechoice_choice": lambda: _target(_sm("modechoice"), "choice", ["individual"]),
    "ccard_ownrent": lambda: _target(_sm("ccard"), "OWNRENT"),
    "spector_grade": lambda: _target(_sm("spector"), "GRADE"),
}
VALIDATION_REGRESSION = {
    "randhie_visits": lambda: _target(_sm("randhie").sample(n=1000, random_state=0), "mdvis"),
    "barley_yield": _barley,
    "macro_realinv": lambda: _target(_sm("macrodata"), "realinv"),
    "engel_foodexp": lambda: _target(_sm("engel"), "foodexp"),
    "ccard_avgexp": lambda: _target(_sm("ccard"), "AVGEXP"),
    "elnino_dec": lambda: _target(_sm("elnino"), "DEC"),
    "strikes_duration": lambda: _target(_sm("strikes"), "duration"),
    "scotland_yes": lambda: _target(_sm("scotland"), "YES"),
    "copper_consumption": lambda: _target(_sm("copper"), "WORLDCONSUMPTION"),
}
SUITES = {"report": (CLASSIFICATION, REGRESSION),
          "validation": (VALIDATION_CLASSIFICATION, VALIDATION_REGRESSION)}


def pipeline(x: pd.DataFrame, model, scale: bool):
    text = [c for c in x.columns if x[c].dtype == object]
    num = [c for c in x.columns if c not in text]
    steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    ct = ColumnTransformer([("num", make_pipeline(*steps), num),
                            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                  OneHotEncoder(handle_unknown="ignore", sparse_output=False)), text)])
    return make_pipeline(ct, model)


def baselines(task: str):
    if task == "clf":
        return {"logistic regression": lambda x: pipeline(x, LogisticRegression(max_iter=5000), True),
                "Random Forest": lambda x: pipeline(x, RandomForestClassifier(random_state=0), False),
                "HistGradientBoosting": lambda x: pipeline(x, HistGradientBoostingClassifier(random_state=0), False)}
    return {"ridge": lambda x: pipeline(x, RidgeCV(alphas=np.logspace(-3, 3, 13)), True),
            "Random Forest": lambda x: pipeline(x, RandomForestRegressor(random_state=0), False),
            "HistGradientBoosting": lambda x: pipeline(x, HistGradientBoostingRegressor(random_state=0), False)}


def rust_predict(cli: str, model: Path, task: str, x_tr, y_tr, x_te, tmp: Path, extra=()) -> np.ndarray:
    tr = x_tr.copy()
    tr["__target"] = y_tr
    tr.to_csv(tmp / "train.csv", index=False, float_format="%.17g")
    x_te.to_csv(tmp / "test.csv", index=False, float_format="%.17g")
    subprocess.run([cli, "predict", "--model", str(model), "--train", str(tmp / "train.csv"),
                    "--target", "__target", "--test", str(tmp / "test.csv"),
                    "--output", str(tmp / "pred.csv"), "-q", "--ignore-limits", *extra], check=True)
    pred = pd.read_csv(tmp / "pred.csv")
    if task == "clf":
        return pred[[f"proba_{c}" for c in range(len(np.unique(y_tr)))]].to_numpy()
    return pred["mean"].to_numpy()


def to_ckpt(st_path: Path, out: Path) -> Path:
    """A shipped safetensors back to the official .ckpt layout for the reference."""
    if st_path.suffix == ".ckpt":
        return st_path
    with safe_open(str(st_path), "pt") as f:
        sd = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    torch.save({"state_dict": sd, "config": json.loads(meta["config"])}, out)
    return out


def scores(task: str, y_te, pred, n_classes: int) -> dict:
    if task == "clf":
        p = np.clip(pred, 1e-15, 1)
        p = p / p.sum(1, keepdims=True)
        labels = np.arange(n_classes)
        auc = (roc_auc_score(y_te, p[:, 1]) if n_classes == 2
               else roc_auc_score(y_te, p, multi_class="ovr", labels=labels))
        return {"accuracy": accuracy_score(y_te, p.argmax(1)), "log-loss": log_loss(y_te, p, labels=labels),
                "ROC AUC": auc}
    return {"R2": r2_score(y_te, pred), "RMSE": mean_squared_error(y_te, pred) ** 0.5}


def run_table(name, task, load, cli, model, ref_ckpt, tmp, extra=()):
    x, y = load()
    x = x.reset_index(drop=True)
    for c in x.columns:
        if x[c].dtype.name in ("category", "string"):
            x[c] = x[c].astype(object)
    y = pd.Series(np.asarray(y)).reset_index(drop=True)
    if task == "clf":
        y = pd.Series(pd.factorize(y, sort=True)[0])
    n_classes = int(y.max()) + 1 if task == "clf" else 0
    per_method: dict[str, list[dict]] = {}
    parity = None
    for split in range(SPLITS):
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=0.3, random_state=split, stratify=y if task == "clf" else None)
        if task == "clf" and len(np.unique(y_tr)) < n_classes:
            raise SystemExit(f"{name}: split {split} misses a class")
        preds = {"tabpfn-mini (Rust)": rust_predict(cli, model, task, x_tr, y_tr.to_numpy(), x_te, tmp, extra)}
        for m, make in baselines(task).items():
            est = make(x_tr).fit(x_tr, y_tr)
            preds[m] = est.predict_proba(x_te) if task == "clf" else est.predict(x_te)
        if task == "clf":
            prior = np.bincount(y_tr, minlength=n_classes) / len(y_tr)
            preds["majority class"] = np.tile(prior, (len(y_te), 1))
        else:
            preds["training mean"] = np.full(len(y_te), y_tr.mean())
        for m, p in preds.items():
            per_method.setdefault(m, []).append(scores(task, y_te.to_numpy(), p, n_classes))
        if split == 0 and ref_ckpt is not None and all(x[c].dtype != object for c in x.columns):
            from tabpfn import TabPFNClassifier, TabPFNRegressor
            cls = TabPFNClassifier if task == "clf" else TabPFNRegressor
            ref = cls(model_path=str(ref_ckpt), device="cpu", ignore_pretraining_limits=True)
            ref.fit(x_tr.to_numpy(np.float64), y_tr.to_numpy())
            xt = x_te.to_numpy(np.float64)
            rp = ref.predict_proba(xt) if task == "clf" else ref.predict(xt)
            gap = np.abs(rp - preds["tabpfn-mini (Rust)"]).max()
            parity = float(gap if task == "clf" else gap / y_tr.std())
    mean = {m: {k: float(np.mean([s[k] for s in ss])) for k in ss[0]} for m, ss in per_method.items()}
    return {"rows": len(x), "features": x.shape[1], "classes": n_classes, "mean": mean, "parity": parity}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("classifier", type=Path)
    ap.add_argument("regressor", type=Path)
    ap.add_argument("--suite", choices=sorted(SUITES), default="report")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-reference", action="store_true", help="skip the Python 2.2.1 parity column")
    ap.add_argument("--only", help="comma-separated table names")
    ap.add_argument("--predict-args", default="", help="extra `tabpfn-cli predict` options, e.g. "
                    "'--softmax-temperature 0.5' (the reference parity column then does not apply)")
    args = ap.parse_args()
    os.environ["TABPFN_ALLOW_CPU_LARGE_DATASET"] = "1"
    warnings.filterwarnings("ignore")
    only = set(args.only.split(",")) if args.only else None
    results = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        clf_suite, reg_suite = SUITES[args.suite]
        for task, suite, model in [("clf", clf_suite, args.classifier), ("reg", reg_suite, args.regressor)]:
            ref = None if args.no_reference else to_ckpt(model, tmp / f"{task}.ckpt")
            for name, load in suite.items():
                if only and name not in only:
                    continue
                r = run_table(name, task, load, args.cli, model, ref, tmp, args.predict_args.split())
                results[name] = dict(task=task, **r)
                print(name, json.dumps(results[name]["mean"]["tabpfn-mini (Rust)"]), flush=True)
    print_tables(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def print_tables(results: dict) -> None:
    for task, metrics in [("clf", ["accuracy", "log-loss", "ROC AUC"]), ("reg", ["R2", "RMSE"])]:
        names = [n for n, r in results.items() if r["task"] == task]
        if not names:
            continue
        methods = list(results[names[0]]["mean"])
        print(f"\n| table (rows × features{', classes' if task == 'clf' else ''}) | "
              + " | ".join(methods) + " | Rust vs 2.2.1 |")
        print("|---|" + "---|" * (len(methods) + 1))
        for n in names:
            r = results[n]
            shape = f"{r['rows']}×{r['features']}" + (f", {r['classes']}" if task == "clf" else "")
            cells = [" / ".join(f"{r['mean'][m][k]:.3f}" for k in metrics) for m in methods]
            par = "" if r["parity"] is None else f"{r['parity']:.1e}"
            print(f"| {n} ({shape}) | " + " | ".join(cells) + f" | {par} |")
        cells = [" / ".join(f"{np.mean([results[n]['mean'][m][k] for n in names]):.3f}" for k in metrics)
                 for m in methods]
        print(f"| **mean over {len(names)} tables** | " + " | ".join(cells) + " | |")
        print(f"\ncells: {' / '.join(metrics)}, each the mean over {SPLITS} splits")


if __name__ == "__main__":
    main()
