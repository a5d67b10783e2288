"""Bad inputs are clear Python exceptions carrying the Rust message: ValueError for data,
shapes, limits and models, TypeError for wrong types, NotFittedError before fit — never a
crash of the interpreter."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from tabpfn_rs import TabPFNClassifier, TabPFNRegressor
from tabpfn_rs import _core

from conftest import CLF, REG, FIXTURES

X = np.random.default_rng(0).normal(size=(20, 3))
Y = np.array([0, 1] * 10)


def clf(**kw):
    kw.setdefault("model_path", CLF)
    kw.setdefault("n_estimators", 1)
    return TabPFNClassifier(**kw)


CASES = [
    ("inf in X", lambda: clf().fit(np.where(X > 1, np.inf, X), Y), ValueError, "infinity"),
    ("NaN label", lambda: clf().fit(X, np.where(Y == 0, np.nan, 1.0)), ValueError, "NaN"),
    ("continuous y", lambda: clf().fit(X, np.linspace(0, 1, 20)), ValueError, "Unknown label type"),
    ("one row", lambda: clf().fit(X[:1], Y[:1]), ValueError, "minimum of 2"),
    ("y length", lambda: clf().fit(X, Y[:5]), ValueError, "inconsistent"),
    ("1-d X", lambda: clf().fit(X[:, 0], Y), ValueError, "2D"),
    ("3-d X", lambda: clf().fit(X[:, :, None], Y), ValueError, "dim"),
    ("ragged X", lambda: clf().fit([[1.0, 2.0], [3.0]], [0, 1]), ValueError, ""),
    ("complex X", lambda: clf().fit(X.astype(complex), Y), ValueError, "omplex"),
    ("numbers and strings", lambda: clf().fit(np.array([[1, "a"], ["b", 2]] * 5, dtype=object), [0, 1] * 5), ValueError, "mixes"),
    ("dict cell", lambda: clf().fit(np.array([[{}], [1]] * 5, dtype=object), [0, 1] * 5), TypeError, "unsupported"),
    ("n_estimators 0", lambda: clf(n_estimators=0).fit(X, Y), ValueError, "n_estimators"),
    ("n_estimators str", lambda: clf(n_estimators="8").fit(X, Y), TypeError, "n_estimators"),
    ("temperature 0", lambda: clf(softmax_temperature=0.0).fit(X, Y), ValueError, "softmax_temperature"),
    ("fit_mode", lambda: clf(fit_mode="fast").fit(X, Y), ValueError, "fit_mode"),
    ("random_state", lambda: clf(random_state="seed").fit(X, Y), ValueError, "random_state"),
    ("categorical index", lambda: clf(categorical_features_indices=[7]).fit(X, Y), ValueError, "categorical_features_indices"),
    ("missing model", lambda: clf(model_path="/no/such/model.ckpt").fit(X, Y), ValueError, "/no/such/model.ckpt"),
    ("not a model", lambda: clf(model_path=FIXTURES / "model/cases.json").fit(X, Y), ValueError, "cases.json"),
    ("regressor checkpoint", lambda: clf(model_path=REG).fit(X, Y), ValueError, "regression"),
    ("device", lambda: clf(device="tpu").fit(X, Y), ValueError, "tpu"),
    ("NaN regression target", lambda: TabPFNRegressor(model_path=REG).fit(X, np.full(20, np.nan)), ValueError, "NaN"),
    ("complex regression target", lambda: TabPFNRegressor(model_path=REG).fit(X, np.ones(20) + 1j), ValueError, "Complex"),
    ("text regression target", lambda: TabPFNRegressor(model_path=REG).fit(X, ["a"] * 20), ValueError, "numeric"),
    ("inference_config", lambda: clf(inference_config={"NOPE": 1}).fit(X, Y), ValueError, "inference_config"),
    ("inference_config not a dict", lambda: clf(inference_config=[1]).fit(X, Y), ValueError, "inference_config"),
    ("SUBSAMPLE_SAMPLES 0", lambda: clf(inference_config={"SUBSAMPLE_SAMPLES": 0}).fit(X, Y), ValueError, "SUBSAMPLE_SAMPLES"),
    ("SUBSAMPLE_SAMPLES 1.5", lambda: clf(inference_config={"SUBSAMPLE_SAMPLES": 1.5}).fit(X, Y), ValueError, "SUBSAMPLE_SAMPLES"),
    ("SUBSAMPLE_SAMPLES str", lambda: clf(inference_config={"SUBSAMPLE_SAMPLES": "all"}).fit(X, Y), ValueError, "SUBSAMPLE_SAMPLES"),
    ("bad polynomial count", lambda: clf(inference_config={"POLYNOMIAL_FEATURES": -2}).fit(X, Y), ValueError, "POLYNOMIAL_FEATURES"),
    ("unsupported knob value", lambda: clf(inference_config={"PREPROCESS_TRANSFORMS": [{"name": "robust"}]}).fit(X, Y), ValueError, "not implemented"),
    ("bad shift method", lambda: clf(inference_config={"FEATURE_SHIFT_METHOD": "spin"}).fit(X, Y), ValueError, "FEATURE_SHIFT_METHOD"),
    ("unimplemented transform", lambda: clf(inference_config={"PREPROCESS_TRANSFORMS": [{"name": "kdi"}]}).fit(X, Y), ValueError, "kdi"),
    ("non-finite knob", lambda: clf(inference_config={"OUTLIER_REMOVAL_STD": float("nan")}).fit(X, Y), ValueError, "OUTLIER_REMOVAL_STD"),
    ("class limit knob", lambda: clf(inference_config={"MAX_NUMBER_OF_CLASSES": 1}).fit(X, Y), ValueError, "MAX_NUMBER_OF_CLASSES"),
]


@pytest.mark.parametrize("name,call,exc,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_exception(name, call, exc, needle):
    with pytest.raises(exc) as e:
        call()
    assert needle in str(e.value), str(e.value)


def test_predict_before_fit_is_not_fitted():
    with pytest.raises(NotFittedError):
        clf().predict(X)
    with pytest.raises(NotFittedError):
        TabPFNRegressor().predict(X)


def test_predict_with_the_wrong_width_or_types():
    c = clf().fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        c.predict(X[:, :2])
    with pytest.raises(ValueError, match="numeric at fit"):
        c.predict(np.array([["a", "b", "c"]], dtype=object))
    with pytest.raises(ValueError, match="infinity"):
        c.predict(np.full((2, 3), np.inf))


def test_core_rejects_malformed_columns_with_type_errors():
    m = _core.Model.load(str(CLF), "classification", "cpu")
    with pytest.raises(TypeError):
        _core.fit(m, [("a", "numeric", [1.0, 2.0])], np.array([0.0, 1.0]), {})
    with pytest.raises(TypeError):
        _core.fit(m, ["not a tuple"], np.array([0.0]), {})
    with pytest.raises(ValueError, match="unknown estimator option"):
        _core.fit(m, [("a", "numeric", np.array([1.0, 2.0]))], np.array([0.0, 1.0]), {"nope": 1})
    with pytest.raises(ValueError, match="kind"):
        _core.fit(m, [("a", "weird", np.array([1.0, 2.0]))], np.array([0.0, 1.0]), {})


def test_a_corrupt_pickle_payload_is_a_value_error(iris):
    import pickle

    Xi, y, _, _ = iris
    c = clf().fit(Xi, y)
    state = c.__getstate__()
    b = bytearray(state["_fit_bytes"])
    b[-5] ^= 0xFF
    state["_fit_bytes"] = bytes(b)
    fresh = TabPFNClassifier.__new__(TabPFNClassifier)
    with pytest.raises(ValueError, match="integrity"):
        fresh.__setstate__(state)
