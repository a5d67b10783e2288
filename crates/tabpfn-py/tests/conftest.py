"""Shared fixtures: the repository's fixture models and the bundled example tables."""

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures"
EXAMPLES = ROOT / "examples"
CLF = FIXTURES / "model" / "tiny_clf.ckpt"
REG = FIXTURES / "model" / "tiny_reg.ckpt"


@pytest.fixture(scope="session")
def iris():
    import csv

    def read(name):
        with open(EXAMPLES / name) as f:
            rows = list(csv.DictReader(f))
        return rows

    train, test = read("iris_train.csv"), read("iris_test.csv")
    feats = [k for k in train[0] if k not in ("species", "id")]
    X = np.array([[float(r[k]) for k in feats] for r in train])
    y = np.array([r["species"] for r in train])
    Xt = np.array([[float(r[k]) for k in feats] for r in test])
    return X, y, Xt, feats


@pytest.fixture(scope="session")
def diabetes():
    import csv

    def read(name):
        with open(EXAMPLES / name) as f:
            return list(csv.DictReader(f))

    train, test = read("diabetes_train.csv"), read("diabetes_test.csv")
    feats = [k for k in train[0] if k not in ("progression", "id")]
    X = np.array([[float(r[k]) for k in feats] for r in train])
    y = np.array([float(r["progression"]) for r in train])
    Xt = np.array([[float(r[k]) for k in feats] for r in test])
    return X, y, Xt, feats
