"""How much learnable signal the training prior's tables carry (docs/demo-model.md, "Prior").

Draws `--tables` tables of 300 rows and 1-12 features from python/prior.py, fits the
classical baselines on the first 200 rows and scores them on the other 100: for
classification Random Forest accuracy against the majority class, for regression ridge and
Random Forest R² (clipped at -1 per table, so that one pathological draw cannot decide a
mean). Real suites are the yardstick: on the validation suite ridge averages R² 0.56 and
Random Forest 0.42.

    python prior_signal.py --task reg [--file prior.py] [--tables 60]

`--file` names another copy of the prior to compare, e.g. one restored with
`git show 0d2cb79:python/prior.py > /tmp/prior_old.py`.
"""

from __future__ import annotations

import argparse
import importlib.util
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["clf", "reg"], required=True)
    ap.add_argument("--file", type=Path, default=Path(__file__).with_name("prior.py"))
    ap.add_argument("--tables", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    spec = importlib.util.spec_from_file_location("prior_under_test", args.file)
    prior = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prior)
    rng = np.random.default_rng(args.seed)
    rows = []
    for _ in range(args.tables):
        f = int(rng.integers(1, 13))
        c = 0 if args.task == "reg" else int(rng.integers(2, 11))
        x, y = prior.sample_dataset(rng, 300, f, c)
        xt, xv, yt, yv = x[:200], x[200:], np.asarray(y[:200], float), np.asarray(y[200:], float)
        if args.task == "reg":
            ridge = make_pipeline(SimpleImputer(), StandardScaler(),
                                  RidgeCV(alphas=np.logspace(-3, 3, 13))).fit(xt, yt)
            rf = make_pipeline(SimpleImputer(), RandomForestRegressor(50, random_state=0)).fit(xt, yt)
            rows.append((max(-1.0, r2_score(yv, ridge.predict(xv))), max(-1.0, r2_score(yv, rf.predict(xv)))))
        else:
            if len(np.unique(yt)) < 2:
                continue
            rf = make_pipeline(SimpleImputer(), RandomForestClassifier(50, random_state=0)).fit(xt, yt)
            values, counts = np.unique(yt, return_counts=True)
            majority = float(np.mean(yv == values[np.argmax(counts)]))
            rows.append((float(np.mean(rf.predict(xv) == yv)), majority))
    a = np.array(rows)
    if args.task == "reg":
        print(f"{args.file.name}, {len(a)} regression tables: ridge R² mean {a[:, 0].mean():.3f} "
              f"median {np.median(a[:, 0]):.3f}; Random Forest R² mean {a[:, 1].mean():.3f} "
              f"median {np.median(a[:, 1]):.3f}; RF R² > 0.9 on {np.mean(a[:, 1] > 0.9):.0%}, "
              f"< 0.2 on {np.mean(a[:, 1] < 0.2):.0%}")
    else:
        print(f"{args.file.name}, {len(a)} classification tables: Random Forest accuracy "
              f"{a[:, 0].mean():.3f}, majority {a[:, 1].mean():.3f}; within 5 points of the "
              f"majority on {np.mean(a[:, 0] - a[:, 1] < 0.05):.0%}")


if __name__ == "__main__":
    main()
