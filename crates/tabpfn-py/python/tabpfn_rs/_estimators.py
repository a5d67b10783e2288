"""``TabPFNClassifier`` and ``TabPFNRegressor`` with the scikit-learn API of tabpfn 2.2.1,
on the Rust core (``tabpfn_rs._core``): same constructor arguments, names and defaults,
same outputs — without torch."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets

from . import _core
from ._frame import columns_of

DEFAULT_QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
_MAXINT_RANDOM_SEED = int(np.iinfo(np.int32).max)
_OUTPUT_TYPES = ("mean", "median", "mode", "quantiles", "main", "full")


def _seed(random_state: Any) -> int:
    """The integer seed of 2.2.1's ``infer_random_state``. An int seeds the ensemble; a
    ``RandomState`` gives one draw, as in the reference. A ``Generator`` or ``None`` is
    reduced to one integer drawn from it (the reference keeps drawing from the generator
    itself, so those runs cannot match it)."""
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(f"Invalid random_state {random_state!r}")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be ≥ 0, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, _MAXINT_RANDOM_SEED))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, _MAXINT_RANDOM_SEED))
    if random_state is None:
        return int(np.random.default_rng().integers(0, _MAXINT_RANDOM_SEED))
    raise ValueError(f"Invalid random_state {random_state!r}")


def _jsonable(v: Any, where: str) -> Any:
    """An ``inference_config`` value as JSON: tuples as lists, numpy scalars as Python
    numbers, a ``PreprocessorConfig``-like object through its ``to_dict()``."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not np.isfinite(f):
            raise ValueError(f"inference_config[{where}]: {f} is not a finite number")
        return f
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, where) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x, where) for k, x in v.items()}
    if hasattr(v, "to_dict"):
        return _jsonable(v.to_dict(), where)
    raise ValueError(
        f"inference_config[{where}]: {type(v).__name__} values are not accepted "
        "(None, bool, int, float, str, lists and dicts of these)"
    )


def _inference_options(inference_config: Any) -> Dict[str, Any]:
    """``inference_config`` (a dict keyed like 2.2.1's ModelInterfaceConfig, or None) for
    the core, which holds the table of keys and checks every one (the CLI's
    ``--inference-config`` reads the same keys): an unknown key, a bad value, or a value
    tabpfn_rs does not implement is a ValueError naming the key."""
    if inference_config is None:
        return {}
    if not isinstance(inference_config, dict):
        raise ValueError(
            f"inference_config must be a dict or None, got {type(inference_config).__name__}"
        )
    doc = {str(k): _jsonable(v, repr(k)) for k, v in inference_config.items()}
    return {"inference_config": json.dumps(doc)}


_MODELS: Dict[Any, Any] = {}


def _model(model_path: Any, task: str, device: str) -> Any:
    """Loads (and caches per process) the model of ``model_path``: None or "auto" is the
    built-in model of the task."""
    if device in ("auto", None):
        device = "cpu"
    if not isinstance(device, str):
        raise TypeError(f"device must be a str such as 'cpu', got {type(device).__name__}")
    path = None if model_path in (None, "auto") else os.fspath(model_path)
    key = (path, task, device)
    m = _MODELS.get(key)
    if m is None:
        m = _core.Model.load(path, task, device)
        if path is None:
            warnings.warn(
                "tabpfn_rs: model_path not given, " + _core.builtin_notice(),
                stacklevel=4,
            )
        _MODELS[key] = m
    return m


class _TabPFNBase(BaseEstimator):
    _task = ""

    def _check_params(self) -> Dict[str, Any]:
        if self.fit_mode not in ("fit_preprocessors", "fit_with_cache", "low_memory", "batched"):
            raise ValueError(f"Unknown fit_mode {self.fit_mode!r}")
        if getattr(self, "differentiable_input", False):
            raise ValueError("differentiable_input=True (prompt tuning) needs torch; not supported")
        inference = _inference_options(self.inference_config)
        cat = self.categorical_features_indices
        cfg: Dict[str, Any] = {
            "n_estimators": int(self.n_estimators)
            if isinstance(self.n_estimators, (int, np.integer)) and not isinstance(self.n_estimators, bool)
            else self.n_estimators,
            "softmax_temperature": float(self.softmax_temperature),
            "average_before_softmax": bool(self.average_before_softmax),
            "random_state": _seed(self.random_state),
            "categorical_features_indices": None if cat is None else [int(i) for i in cat],
            # "batched" is the reference's fine-tuning engine; its predictions equal
            # fit_preprocessors'
            "fit_mode": "fit_preprocessors" if self.fit_mode == "batched" else self.fit_mode,
            "ignore_pretraining_limits": bool(self.ignore_pretraining_limits),
        }
        if hasattr(self, "balance_probabilities"):
            cfg["balance_probabilities"] = bool(self.balance_probabilities)
        cfg.update(inference)
        return cfg

    def _fit_core(self, X: Any, y: np.ndarray, target_name: Optional[str] = None) -> None:
        cols, names, n = columns_of(X, min_samples=2)
        if n != len(y):
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: [{n}, {len(y)}]"
            )
        model = _model(self.model_path, self._task, self.device)
        cfg = self._check_params()
        ic = self.inference_config if isinstance(self.inference_config, dict) else {}
        limit = ic.get("MAX_NUMBER_OF_FEATURES", 500)
        limit = limit if isinstance(limit, int) else 500
        if len(cols) > limit and not self.ignore_pretraining_limits:
            warnings.warn(
                f"tabpfn_rs: X has {len(cols)} features, more than the {limit} TabPFN v2 was "
                f"pretrained on: each ensemble member sees a random {limit} of them "
                "(ignore_pretraining_limits=True: every member sees all)",
                stacklevel=3,
            )
        self.fit_ = _core.fit(model, cols, y, cfg, target_name)
        self.model_ = model
        self.n_features_in_ = len(cols)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _columns(self, X: Any) -> List[Any]:
        if not hasattr(self, "fit_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        fitted_names = self.fit_.feature_names
        cols, names, _ = columns_of(X, None)
        fitted_with_names = hasattr(self, "feature_names_in_")
        if names is not None and fitted_with_names:
            if list(names) != list(self.feature_names_in_):
                raise ValueError(
                    "The feature names should match those that were passed during fit; "
                    f"fit had {list(self.feature_names_in_)}, got {list(names)}"
                )
        elif names is not None:
            warnings.warn(
                f"X has feature names, but {type(self).__name__} was fitted without feature names",
                UserWarning,
                stacklevel=3,
            )
        elif fitted_with_names:
            warnings.warn(
                f"X does not have valid feature names, but {type(self).__name__} was fitted "
                "with feature names",
                UserWarning,
                stacklevel=3,
            )
        if len(cols) != len(fitted_names):
            raise ValueError(
                f"X has {len(cols)} features, but {type(self).__name__} is expecting "
                f"{len(fitted_names)} features as input"
            )
        # names are positional when X has none (or had none at fit)
        out = []
        for (_, kind, values), name, text in zip(cols, fitted_names, self.fit_.feature_is_text):
            if text and kind == "numeric":
                raise ValueError(
                    f"column {name!r} was text at fit but is numeric now"
                )
            if not text and kind == "text":
                raise ValueError(
                    f"column {name!r} was numeric at fit but holds text now"
                )
            out.append((name, kind, values))
        return out

    # pickling: the Rust fit travels as the bytes of a saved fit; the model is reloaded from
    # model_path (or the built-in model) on the other side
    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        fit = state.pop("fit_", None)
        state.pop("model_", None)
        if fit is not None:
            state["_fit_bytes"] = fit.to_bytes()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        fit_bytes = state.pop("_fit_bytes", None)
        self.__dict__.update(state)
        if fit_bytes is not None:
            model = _model(self.model_path, self._task, self.device)
            self.model_ = model
            self.fit_ = _core.Fit.from_bytes(fit_bytes, model)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the fit in the saved-fit format of ``tabpfn-cli --save-fit``."""
        self._columns_check_fitted()
        self.fit_.save(os.fspath(path))

    def _columns_check_fitted(self) -> None:
        if not hasattr(self, "fit_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")

    def __sklearn_tags__(self):  # scikit-learn ≥ 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = False
        return tags

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"allow_nan": True, "X_types": ["2darray", "categorical", "string"]}


class TabPFNClassifier(ClassifierMixin, _TabPFNBase):
    """TabPFN classifier (tabpfn 2.2.1's ``TabPFNClassifier``) on the Rust core.

    ``model_path`` is an official ``.ckpt``, a converted ``.safetensors`` or None / "auto"
    for the built-in demo model. ``device``: "cpu" (or "auto"); ``inference_precision``,
    ``memory_saving_mode`` and ``n_jobs`` are accepted and, as in the reference on CPU,
    change nothing (computations are float32).
    """

    _task = "classification"

    def __init__(
        self,
        *,
        n_estimators: int = 8,
        categorical_features_indices: Optional[Sequence[int]] = None,
        softmax_temperature: float = 0.9,
        balance_probabilities: bool = False,
        average_before_softmax: bool = False,
        model_path: Any = "auto",
        device: Any = "auto",
        ignore_pretraining_limits: bool = False,
        inference_precision: Any = "auto",
        fit_mode: str = "fit_preprocessors",
        memory_saving_mode: Any = "auto",
        random_state: Any = 0,
        n_jobs: int = -1,
        inference_config: Optional[Dict[str, Any]] = None,
        differentiable_input: bool = False,
    ) -> None:
        self.n_estimators = n_estimators
        self.categorical_features_indices = categorical_features_indices
        self.softmax_temperature = softmax_temperature
        self.balance_probabilities = balance_probabilities
        self.average_before_softmax = average_before_softmax
        self.model_path = model_path
        self.device = device
        self.ignore_pretraining_limits = ignore_pretraining_limits
        self.inference_precision = inference_precision
        self.fit_mode = fit_mode
        self.memory_saving_mode = memory_saving_mode
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.inference_config = inference_config
        self.differentiable_input = differentiable_input

    def fit(self, X: Any, y: Any) -> "TabPFNClassifier":
        target = _series_name(y)
        y = _as_1d(y, "y")
        check_classification_targets(y)
        if any(_missing_label(v) for v in y):
            raise ValueError("Input y contains NaN or missing labels")
        try:
            classes = np.unique(y)
        except TypeError as e:
            raise TypeError(f"y mixes label types that cannot be sorted: {e}") from None
        # the core sorts labels as np.unique does (numbers by value, text by code point),
        # and a saved fit keeps them for tabpfn-cli
        if all(isinstance(c, str) for c in classes):
            labels: Any = [str(v) for v in y]
        else:
            try:
                labels = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                labels = np.unique(y, return_inverse=True)[1].astype(np.float64)
            if len(np.unique(labels)) != len(classes):
                labels = np.unique(y, return_inverse=True)[1].astype(np.float64)
        ic = self.inference_config if isinstance(self.inference_config, dict) else {}
        lim = ic.get("MAX_NUMBER_OF_CLASSES", 10)  # a bad value: the core's error, at fit
        limit = min(10, lim) if isinstance(lim, int) else 10
        if len(classes) > limit:
            warnings.warn(
                f"tabpfn_rs: {len(classes)} classes are more than one TabPFN ensemble "
                f"handles ({limit}): fitting tabpfn-extensions' many-class output code "
                "(ManyClassClassifier's defaults; one ensemble per codebook row)",
                stacklevel=2,
            )
        self._fit_core(X, labels, target)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        cols = self._columns(X)
        return self.fit_.predict_proba(cols)

    def predict(self, X: Any) -> np.ndarray:
        p = self.predict_proba(X)
        return self.classes_[np.argmax(p, axis=1)]

    def predict_logits(self, X: Any) -> np.ndarray:
        cols = self._columns(X)
        return self.fit_.predict_logits(cols)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], *, model_path: Any = "auto", device: Any = "auto") -> "TabPFNClassifier":
        """A classifier from a saved fit (``save`` or ``tabpfn-cli --save-fit``)."""
        est = cls(model_path=model_path, device=device)
        model = _model(model_path, cls._task, device)
        fit = _core.Fit.load(os.fspath(path), model)
        _adopt(est, fit, model)
        est.classes_ = np.asarray(fit.classes)
        est.n_classes_ = len(est.classes_)
        return est


class TabPFNRegressor(RegressorMixin, _TabPFNBase):
    """TabPFN regressor (tabpfn 2.2.1's ``TabPFNRegressor``) on the Rust core; see
    ``TabPFNClassifier`` for the arguments. ``predict(X, output_type=..., quantiles=...)``
    returns what 2.2.1 returns; ``"full"`` adds ``logits`` (numpy) and ``criterion`` (a
    ``BarDistribution`` with the raw-space borders) instead of torch objects."""

    _task = "regression"

    def __init__(
        self,
        *,
        n_estimators: int = 8,
        categorical_features_indices: Optional[Sequence[int]] = None,
        softmax_temperature: float = 0.9,
        average_before_softmax: bool = False,
        model_path: Any = "auto",
        device: Any = "auto",
        ignore_pretraining_limits: bool = False,
        inference_precision: Any = "auto",
        fit_mode: str = "fit_preprocessors",
        memory_saving_mode: Any = "auto",
        random_state: Any = 0,
        n_jobs: int = -1,
        inference_config: Optional[Dict[str, Any]] = None,
        differentiable_input: bool = False,
    ) -> None:
        self.n_estimators = n_estimators
        self.categorical_features_indices = categorical_features_indices
        self.softmax_temperature = softmax_temperature
        self.average_before_softmax = average_before_softmax
        self.model_path = model_path
        self.device = device
        self.ignore_pretraining_limits = ignore_pretraining_limits
        self.inference_precision = inference_precision
        self.fit_mode = fit_mode
        self.memory_saving_mode = memory_saving_mode
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.inference_config = inference_config
        self.differentiable_input = differentiable_input

    def fit(self, X: Any, y: Any) -> "TabPFNRegressor":
        target = _series_name(y)
        y = _as_1d(y, "y")
        if np.iscomplexobj(y):
            raise ValueError("Complex data not supported: y must be real for regression")
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("y must be numeric for regression") from None
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity")
        self._fit_core(X, y, target)
        self.constant_value_ = float(y[0]) if len(y) and np.all(y == y[0]) else None
        return self

    def predict(self, X: Any, *, output_type: str = "mean", quantiles: Optional[List[float]] = None) -> Any:
        cols = self._columns(X)
        if quantiles is None:
            quantiles = list(DEFAULT_QUANTILES)
        if not all(isinstance(q, float) and 0 <= q <= 1 for q in quantiles):
            raise ValueError("All quantiles must be between 0 and 1 and floats.")
        if output_type not in _OUTPUT_TYPES:
            raise ValueError(f"Invalid output type: {output_type}")
        out = self.fit_.predict_regression(cols, [float(q) for q in quantiles])
        n = len(out["mean"])
        if getattr(self, "constant_value_", None) is not None:
            c = np.full(n, self.constant_value_)
            out = {"mean": c, "median": c.copy(), "mode": c.copy(), "quantiles": np.tile(c, (len(quantiles), 1)),
                   "logits": np.zeros((n, 1), dtype=np.float32), "borders": out["borders"]}
        if output_type in ("mean", "median", "mode"):
            return out[output_type]
        qs = [out["quantiles"][i] for i in range(len(quantiles))]
        if output_type == "quantiles":
            return qs
        main = {"mean": out["mean"], "median": out["median"], "mode": out["mode"], "quantiles": qs}
        if output_type == "main":
            return main
        main["logits"] = out["logits"]
        main["criterion"] = BarDistribution(np.asarray(out["borders"]))
        return main

    @classmethod
    def load(cls, path: Union[str, os.PathLike], *, model_path: Any = "auto", device: Any = "auto") -> "TabPFNRegressor":
        """A regressor from a saved fit (``save`` or ``tabpfn-cli --save-fit``)."""
        est = cls(model_path=model_path, device=device)
        model = _model(model_path, cls._task, device)
        _adopt(est, _core.Fit.load(os.fspath(path), model), model)
        est.constant_value_ = None
        return est


@dataclass
class BarDistribution:
    """The regressor's output distribution in raw target space: ``borders`` ``[K + 1]``
    of the ``K`` bars ``logits`` refer to (the torch-free stand-in of the reference's
    ``FullSupportBarDistribution`` in ``predict(output_type="full")``)."""

    borders: np.ndarray


def _adopt(est: Any, fit: Any, model: Any) -> None:
    est.fit_ = fit
    est.model_ = model
    est.n_features_in_ = len(fit.feature_names)
    names = fit.feature_names
    if not all(n == f"x{j}" for j, n in enumerate(names)):
        est.feature_names_in_ = np.asarray(names, dtype=object)


def _as_1d(y: Any, what: str) -> np.ndarray:
    try:
        import pandas as pd

        if isinstance(y, (pd.Series, pd.DataFrame)):
            y = y.to_numpy()
    except ImportError:  # pragma: no cover
        pass
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{what} should be a 1d array, got an array of shape {arr.shape} instead.")
    return arr


def _series_name(y: Any) -> Optional[str]:
    """The name of a pandas Series target (kept with saved fits, so `tabpfn-cli` can skip
    that column in test files)."""
    name = getattr(y, "name", None)
    return str(name) if isinstance(name, (str, int)) and not isinstance(name, bool) else None


def _missing_label(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and v != v)


from sklearn.exceptions import DataConversionWarning  # noqa: E402
