"""Fitted estimators travel: pickle (joblib, Dask, Spark and Ray ship models this way),
save/load in the saved-fit format, and interop with `tabpfn-cli --save-fit / --load-fit`."""

import csv
import io
import pickle
import subprocess

import numpy as np
import pytest

from tabpfn_rs import TabPFNClassifier, TabPFNRegressor

from conftest import CLF, REG, ROOT

CLI = ROOT / "target/debug/tabpfn-cli"


@pytest.mark.parametrize("fit_mode", ["fit_preprocessors", "fit_with_cache", "low_memory"])
def test_pickle_round_trip_predicts_the_same(iris, fit_mode):
    X, y, Xt, _ = iris
    clf = TabPFNClassifier(model_path=CLF, n_estimators=2, fit_mode=fit_mode).fit(X, y)
    blob = pickle.dumps(clf)
    # deterministic bytes: engines that hash what they ship (Dask's tokenize) see one value
    assert pickle.dumps(clf) == blob
    back = pickle.loads(blob)
    assert np.array_equal(back.predict_proba(Xt), clf.predict_proba(Xt))
    assert list(back.classes_) == list(clf.classes_)
    assert back.get_params() == clf.get_params()


def test_joblib_and_regressor_pickles(diabetes, tmp_path):
    joblib = pytest.importorskip("joblib")
    X, y, Xt, _ = diabetes
    reg = TabPFNRegressor(model_path=REG, n_estimators=2).fit(X, y)
    joblib.dump(reg, tmp_path / "r.joblib")
    back = joblib.load(tmp_path / "r.joblib")
    assert np.array_equal(back.predict(Xt), reg.predict(Xt))


def test_unfitted_estimators_pickle_too():
    clf = pickle.loads(pickle.dumps(TabPFNClassifier(n_estimators=3)))
    assert clf.n_estimators == 3 and not hasattr(clf, "fit_")


def _cli_probabilities(out: str, classes):
    rows = list(csv.DictReader(io.StringIO(out)))
    return np.array([[float(r[f"proba_{c}"]) for c in classes] for r in rows], dtype=np.float32)


def test_a_python_fit_predicts_in_the_cli_and_back(iris, tmp_path):
    X, y, Xt, feats = iris
    # names as in the CSV, so the CLI matches the test file's columns
    pd = pytest.importorskip("pandas")
    train = pd.read_csv(ROOT / "examples/iris_train.csv")
    test = pd.read_csv(ROOT / "examples/iris_test.csv")
    clf = TabPFNClassifier(model_path=CLF, n_estimators=2, fit_mode="fit_with_cache")
    clf.fit(train[feats], train["species"])
    fit = tmp_path / "py.fit"
    clf.save(fit)
    out = subprocess.run(
        [str(CLI), "predict", "--model", str(CLF), "--load-fit", str(fit),
         "--test", str(ROOT / "examples/iris_test.csv"), "--id-column", "id", "-q"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert np.array_equal(_cli_probabilities(out, clf.classes_), clf.predict_proba(test[feats]))
    # and the other way: a CLI fit loads in Python
    cli_fit = tmp_path / "cli.fit"
    subprocess.run(
        [str(CLI), "predict", "--model", str(CLF), "--train", str(ROOT / "examples/iris_train.csv"),
         "--target", "species", "--test", str(ROOT / "examples/iris_test.csv"), "--id-column", "id",
         "--n-estimators", "2", "--save-fit", str(cli_fit), "-q", "--output", str(tmp_path / "o.csv")],
        check=True,
    )
    back = TabPFNClassifier.load(cli_fit, model_path=CLF)
    assert list(back.feature_names_in_) == feats
    cli_out = open(tmp_path / "o.csv").read()
    assert np.array_equal(back.predict_proba(test[feats]), _cli_probabilities(cli_out, back.classes_))


def test_regressor_save_and_load(diabetes, tmp_path):
    X, y, Xt, _ = diabetes
    reg = TabPFNRegressor(model_path=REG, n_estimators=2).fit(X, y)
    reg.save(tmp_path / "r.fit")
    back = TabPFNRegressor.load(tmp_path / "r.fit", model_path=REG)
    assert np.array_equal(back.predict(Xt, output_type="median"), reg.predict(Xt, output_type="median"))


def test_a_fit_of_another_model_is_refused(iris, tmp_path):
    X, y, _, _ = iris
    TabPFNClassifier(model_path=CLF, n_estimators=1).fit(X, y).save(tmp_path / "c.fit")
    with pytest.raises(ValueError):
        TabPFNRegressor.load(tmp_path / "c.fit", model_path=REG)
