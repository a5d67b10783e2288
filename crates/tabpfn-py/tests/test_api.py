"""The estimators' API: fit/predict on numpy, pandas and lists; outputs of every type;
the built-in model; parity with the Rust library and the reference fixtures."""

import json
import subprocess
import threading
import time

import numpy as np
import pytest

from tabpfn_rs import BarDistribution, TabPFNClassifier, TabPFNRegressor

from conftest import CLF, FIXTURES, REG, ROOT


def test_five_lines_with_the_builtin_model(iris):
    X, y, Xt, _ = iris
    with pytest.warns(UserWarning, match="built-in demo model"):
        clf = TabPFNClassifier().fit(X, y)
    p = clf.predict_proba(Xt)
    assert p.shape == (len(Xt), 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert set(clf.predict(Xt)) <= set(clf.classes_)
    assert list(clf.classes_) == sorted(set(y))
    assert clf.n_features_in_ == 4


def test_builtin_regressor_is_the_default(diabetes):
    """TabPFNRegressor() without model_path runs the built-in regressor (with the notice);
    on held-out rows of the diabetes example it clearly beats the training mean (the shipped
    model scores R² 0.59 here, docs/demo-model.md; a pipeline that lost the features would
    be near 0, a broken target scale or sign far below)."""
    X, y, _, _ = diabetes
    cut = 250
    with pytest.warns(UserWarning, match="built-in demo model"):
        reg = TabPFNRegressor().fit(X[:cut], y[:cut])
    pred = reg.predict(X[cut:])
    assert pred.shape == (len(X) - cut,) and np.all(np.isfinite(pred))
    r2 = 1 - np.sum((pred - y[cut:]) ** 2) / np.sum((y[:cut].mean() - y[cut:]) ** 2)
    assert r2 > 0.3, r2


def test_predictions_equal_the_cli_bit_for_bit(iris, tmp_path):
    """The same floats as the Rust library (through the CLI's shortest round-trip output)."""
    X, y, Xt, feats = iris
    clf = TabPFNClassifier(model_path=CLF, n_estimators=3, random_state=5).fit(X, y)
    p = clf.predict_proba(Xt)
    out = subprocess.run(
        [str(ROOT / "target/debug/tabpfn-cli"), "predict", "--model", str(CLF),
         "--train", str(ROOT / "examples/iris_train.csv"), "--target", "species",
         "--test", str(ROOT / "examples/iris_test.csv"), "--id-column", "id",
         "--n-estimators", "3", "--seed", "5", "--format", "json", "-q"],
        check=True, capture_output=True, text=True,
    ).stdout
    rows = json.loads(out)
    cli = np.array([[r[f"proba_{c}"] for c in clf.classes_] for r in rows], dtype=np.float32)
    assert np.array_equal(p, cli), np.abs(p - cli).max()


def test_subsample_samples_equals_the_cli_bit_for_bit(iris):
    """inference_config={"SUBSAMPLE_SAMPLES": k} is the CLI's --subsample-samples k: the same
    per-member rows, the same floats; a default-valued knob is accepted."""
    X, y, Xt, _ = iris
    for k, arg in [(40, "40"), (0.3, "0.3")]:
        clf = TabPFNClassifier(
            model_path=CLF, n_estimators=3, random_state=5,
            inference_config={"SUBSAMPLE_SAMPLES": k, "MAX_NUMBER_OF_CLASSES": 10},
        ).fit(X, y)
        p = clf.predict_proba(Xt)
        full = TabPFNClassifier(model_path=CLF, n_estimators=3, random_state=5).fit(X, y)
        assert not np.array_equal(p, full.predict_proba(Xt)), "subsampling changed nothing"
        out = subprocess.run(
            [str(ROOT / "target/debug/tabpfn-cli"), "predict", "--model", str(CLF),
             "--train", str(ROOT / "examples/iris_train.csv"), "--target", "species",
             "--test", str(ROOT / "examples/iris_test.csv"), "--id-column", "id",
             "--n-estimators", "3", "--seed", "5", "--subsample-samples", arg,
             "--format", "json", "-q"],
            check=True, capture_output=True, text=True,
        ).stdout
        rows = json.loads(out)
        cli = np.array([[r[f"proba_{c}"] for c in clf.classes_] for r in rows], dtype=np.float32)
        assert np.array_equal(p, cli), (k, np.abs(p - cli).max())


KNOBS = {
    "FEATURE_SHIFT_METHOD": "rotate", "CLASS_SHIFT_METHOD": None,
    "FINGERPRINT_FEATURE": False, "OUTLIER_REMOVAL_STD": 4.0,
    "USE_SKLEARN_16_DECIMAL_PRECISION": True, "MIN_UNIQUE_FOR_NUMERICAL_FEATURES": 6,
    "PREPROCESS_TRANSFORMS": [
        {"name": "quantile_uni_fine", "categorical_name": "ordinal_shuffled",
         "append_original": True, "subsample_features": 0.6, "global_transformer_name": "svd"},
        {"name": "none", "categorical_name": "numeric", "append_original": False,
         "subsample_features": -1, "global_transformer_name": None},
    ],
}


def test_inference_config_equals_the_cli_bit_for_bit(iris, tmp_path):
    """inference_config={...} is the CLI's --inference-config with the same keys (a JSON
    file and KEY=VALUE items): the core's one table of keys reads both."""
    X, y, Xt, _ = iris
    clf = TabPFNClassifier(model_path=CLF, n_estimators=3, random_state=5,
                           inference_config=KNOBS).fit(X, y)
    p = clf.predict_proba(Xt)
    plain = TabPFNClassifier(model_path=CLF, n_estimators=3, random_state=5).fit(X, y)
    assert not np.array_equal(p, plain.predict_proba(Xt)), "the knobs changed nothing"
    cfg_file = tmp_path / "knobs.json"
    cfg_file.write_text(json.dumps({k: v for k, v in KNOBS.items() if k != "FINGERPRINT_FEATURE"}))
    out = subprocess.run(
        [str(ROOT / "target/debug/tabpfn-cli"), "predict", "--model", str(CLF),
         "--train", str(ROOT / "examples/iris_train.csv"), "--target", "species",
         "--test", str(ROOT / "examples/iris_test.csv"), "--id-column", "id",
         "--n-estimators", "3", "--seed", "5", "--inference-config", str(cfg_file),
         "--inference-config", "FINGERPRINT_FEATURE=False", "--format", "json", "-q"],
        check=True, capture_output=True, text=True,
    ).stdout
    rows = json.loads(out)
    cli = np.array([[r[f"proba_{c}"] for c in clf.classes_] for r in rows], dtype=np.float32)
    assert np.array_equal(p, cli), np.abs(p - cli).max()


def test_wide_tables_run_without_ignoring_the_limits():
    """Above 500 features each member sees a random 500 (with a warning); with
    ignore_pretraining_limits every member sees all, which changes the predictions."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 520))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(UserWarning, match="random 500"):
        clf = TabPFNClassifier(model_path=CLF, n_estimators=2).fit(X, y)
    p = clf.predict_proba(X[:5])
    assert p.shape == (5, 2) and np.isfinite(p).all()
    full = TabPFNClassifier(model_path=CLF, n_estimators=2, ignore_pretraining_limits=True)
    assert not np.array_equal(p, full.fit(X, y).predict_proba(X[:5]))


def test_pipeline_fixture_parity_within_the_rust_tolerance():
    """The reference's committed layer-4 dataset outputs (tiny models), as the Rust tests
    check them: Rust vs Python no larger than Python's own seed-to-seed gap."""
    import numpy as np

    d = json.load(open(FIXTURES / "pipeline/datasets/iris.json"))
    npz = np.load(FIXTURES / "pipeline/datasets/iris_tiny.npz")
    clf = TabPFNClassifier(model_path=CLF).fit(np.array(d["x_train"]), np.array(d["y_train"]))
    p = clf.predict_proba(np.array(d["x_test"]))
    gap = np.abs(npz["proba_rs0"] - npz["proba_rs1"]).max()
    diff = np.abs(p - npz["proba_rs0"]).max()
    print(f"iris tiny: Rust-in-Python vs reference {diff:.2e}, reference seed gap {gap:.2e}")
    assert diff <= gap


def test_regressor_output_types(diabetes):
    X, y, Xt, _ = diabetes
    reg = TabPFNRegressor(model_path=REG, n_estimators=2).fit(X, y)
    mean = reg.predict(Xt)
    assert mean.shape == (len(Xt),) and mean.dtype == np.float32
    for t in ("median", "mode"):
        assert reg.predict(Xt, output_type=t).shape == (len(Xt),)
    qs = reg.predict(Xt, output_type="quantiles", quantiles=[0.1, 0.5, 0.9])
    assert len(qs) == 3 and np.all(qs[0] <= qs[2] + 1e-6)
    main = reg.predict(Xt, output_type="main")
    assert set(main) == {"mean", "median", "mode", "quantiles"} and len(main["quantiles"]) == 9
    full = reg.predict(Xt, output_type="full")
    assert isinstance(full["criterion"], BarDistribution)
    assert full["logits"].shape == (len(Xt), len(full["criterion"].borders) - 1)
    assert np.array_equal(full["mean"], mean)
    with pytest.raises(ValueError, match="output type"):
        reg.predict(Xt, output_type="nope")
    with pytest.raises(ValueError, match="quantiles"):
        reg.predict(Xt, output_type="quantiles", quantiles=[1.5])


def test_constant_target_returns_the_constant(diabetes):
    X, _, Xt, _ = diabetes
    reg = TabPFNRegressor(model_path=REG, n_estimators=1).fit(X, np.full(len(X), 3.25))
    assert np.array_equal(reg.predict(Xt), np.full(len(Xt), 3.25))
    assert all(np.array_equal(q, np.full(len(Xt), 3.25)) for q in reg.predict(Xt, output_type="quantiles"))


def test_pandas_inputs_with_every_column_kind():
    pd = pytest.importorskip("pandas")
    n = 40
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "f": rng.normal(size=n),
        "i": rng.integers(0, 5, size=n),
        "b": rng.integers(0, 2, size=n).astype(bool),
        "obj": rng.choice(["a", "b", None], size=n).tolist(),
        "s": pd.array(rng.choice(["x", "y", "z"], size=n), dtype="string"),
        "cat": pd.Categorical(rng.choice(["lo", "hi"], size=n)),
        "nullable": pd.array([1, None] * (n // 2), dtype="Int64"),
    })
    df.loc[3, "f"] = np.nan
    df.loc[4, "s"] = pd.NA
    y = rng.choice(["yes", "no"], size=n)
    clf = TabPFNClassifier(model_path=CLF, n_estimators=2).fit(df, y)
    assert list(clf.feature_names_in_) == list(df.columns)
    p = clf.predict_proba(df.iloc[:7])
    assert p.shape == (7, 2) and np.isfinite(p).all()
    # the same table as an object array gives the same predictions (names aside)
    clf2 = TabPFNClassifier(model_path=CLF, n_estimators=2).fit(df.to_numpy(dtype=object), y)
    with pytest.warns(UserWarning):
        p2 = clf2.predict_proba(df.iloc[:7])
    assert np.array_equal(p, p2)


def test_lists_and_integer_labels(iris):
    X, y, Xt, _ = iris
    yi = np.unique(y, return_inverse=True)[1] + 10
    clf = TabPFNClassifier(model_path=CLF, n_estimators=2).fit(X.tolist(), yi.tolist())
    assert list(clf.classes_) == [10, 11, 12]
    assert clf.predict(Xt.tolist()).dtype.kind == "i"


def test_the_gil_is_released_during_fit_and_predict(iris):
    X, y, Xt, _ = iris
    X = np.tile(X, (6, 1))
    y = np.tile(y, 6)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    t = threading.Thread(target=ticker)
    t.start()
    start = time.perf_counter()
    clf = TabPFNClassifier(model_path=CLF, n_estimators=4, fit_mode="fit_with_cache").fit(X, y)
    clf.predict_proba(np.tile(Xt, (10, 1)))
    took = time.perf_counter() - start
    stop.set()
    t.join()
    during = [x for x in ticks if start <= x <= start + took]
    # the other thread kept running: at least a third of its possible ticks happened
    print(f"{len(during)} ticks in {took:.3f} s")
    assert len(during) >= max(3, int(took / 0.005 / 3))


def test_concurrent_predicts_from_threads_agree(iris):
    from concurrent.futures import ThreadPoolExecutor

    X, y, Xt, _ = iris
    clf = TabPFNClassifier(model_path=CLF, n_estimators=2).fit(X, y)
    want = clf.predict_proba(Xt)
    with ThreadPoolExecutor(4) as ex:
        for got in ex.map(lambda _: clf.predict_proba(Xt), range(8)):
            assert np.array_equal(got, want)


def test_unaligned_float64_buffers_are_read(iris):
    """Buffers received over the network (Dask, Spark, memory maps) may start at any byte;
    the core gets aligned copies, the same numbers as an aligned array."""
    X, y, Xt, _ = iris
    buf = bytearray(Xt.size * 8 + 1)
    un = np.frombuffer(buf, dtype=np.float64, count=Xt.size, offset=1).reshape(Xt.shape)
    un[...] = Xt
    assert not un.flags.aligned
    clf = TabPFNClassifier(model_path=CLF, n_estimators=1).fit(X, y)
    assert np.array_equal(clf.predict_proba(un), clf.predict_proba(Xt))
    import pandas as pd

    df = pd.DataFrame({f"c{j}": un[:, j] for j in range(un.shape[1])})
    assert np.array_equal(clf.predict_proba(df.to_numpy()), clf.predict_proba(Xt))


def test_more_than_ten_classes_use_the_output_code(tmp_path):
    """31 classes: tabpfn-extensions' ManyClassClassifier output code, with a warning; the
    probabilities are a distribution over all classes (their parity with the extension is
    crates/tabpfn-model/tests/many_class.rs); pickling and save/load keep them exactly."""
    rng = np.random.default_rng(8)
    y = np.concatenate([np.arange(31), rng.integers(0, 31, 89)])
    X = rng.normal(size=(120, 3)) + y[:, None] * 0.3
    with pytest.warns(UserWarning, match="many-class output code"):
        clf = TabPFNClassifier(model_path=CLF, n_estimators=1).fit(X, y)
    p = clf.predict_proba(X[:7])
    assert p.shape == (7, 31) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert set(clf.predict(X[:7])) <= set(range(31))
    with pytest.raises(ValueError, match="many-class"):
        clf.predict_logits(X[:2])
    import pickle
    back = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(back.predict_proba(X[:7]), p)
    assert list(back.classes_) == list(clf.classes_)
    path = tmp_path / "many.fit"
    clf.save(path)
    loaded = TabPFNClassifier.load(path, model_path=CLF)
    assert np.array_equal(loaded.predict_proba(X[:7]), p)
