"""Predicting a Dask or Spark DataFrame from one fitted estimator.

TabPFN is in-context learning: once fitted with ``fit_mode="fit_with_cache"`` the fit
holds every member's train K/V cache, and a test row's prediction is a pure function of
that row and the fit, bit for bit, whatever other rows it is predicted with (the Rust
library's row-independent mode; ``crates/tabpfn-model/tests/invariance.rs``). Predicting
a large table is then a map over its partitions with the fit shipped once per worker:

    from tabpfn_rs import TabPFNClassifier
    from tabpfn_rs.distributed import predict_dask, predict_spark

    clf = TabPFNClassifier(fit_mode="fit_with_cache").fit(X_train, y_train)
    proba = predict_dask(clf, ddf, method="predict_proba")   # lazy dask DataFrame
    out = predict_spark(clf, sdf, method="predict_proba", keep=["id"])  # Spark DataFrame

What travels is the pickled estimator: the fit's bytes (encoded train table, encoders,
seeds and the member caches), not the model weights. A worker reloads the model from the
estimator's ``model_path`` (or the built-in model when it is None), so that path must
exist on every worker.

Neither Dask nor Spark is a dependency: each function imports its engine when called.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["is_row_independent", "predict_dask", "predict_spark"]

_METHODS = ("predict", "predict_proba")
_POINT_OUTPUTS = ("mean", "median", "mode")


# ---------------------------------------------------------------------------------------
# row independence


def is_row_independent(estimator: Any) -> bool:
    """Whether every test row's prediction of this fitted estimator depends on that row
    and the fit alone, bit for bit (so any split into partitions or batches gives the same
    predictions as one call): a ``fit_mode="fit_with_cache"`` fit, or a fit whose stored
    configuration says ``row_independent``.

    ``fit_preprocessors`` (the default) and ``low_memory`` fits are not: there the rows of
    one predict call take part in the network's constant-column statistics, as in the
    reference TabPFN."""
    from sklearn.exceptions import NotFittedError

    if not hasattr(estimator, "fit_"):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' "
            "(with fit_mode='fit_with_cache') before predicting a distributed table."
        )
    # read from the fit itself, so it is right for an estimator made by ``load()`` too
    # (whose ``fit_mode`` parameter is only the constructor's default)
    return bool(estimator.fit_.row_independent)


def _require_row_independent(estimator: Any, where: str) -> None:
    if not is_row_independent(estimator):
        mode = estimator.fit_.fit_mode
        raise ValueError(
            f"{where} needs a row-independent fit, so that a row's prediction does not "
            "depend on which other rows share its partition; this estimator was fitted "
            f"with fit_mode={mode!r}. Refit it with fit_mode='fit_with_cache', e.g. "
            f"{type(estimator).__name__}(..., fit_mode='fit_with_cache').fit(X, y): "
            "its predictions are bit-identical in any partitioning, and every partition "
            "reuses the train rows' K/V cache instead of re-running them."
        )


# ---------------------------------------------------------------------------------------
# one partition (shared by Dask and Spark)


def _is_classifier(estimator: Any) -> bool:
    return hasattr(estimator, "classes_")


def _check_method(
    estimator: Any, method: str, output_type: str, quantiles: Optional[Sequence[float]]
) -> Tuple[str, str, Optional[List[float]]]:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if _is_classifier(estimator):
        if output_type != "mean" or quantiles is not None:
            raise ValueError("output_type and quantiles are for regressors only")
        return method, output_type, None
    if method == "predict_proba":
        raise ValueError(
            f"{type(estimator).__name__} has no predict_proba; use method='predict'"
        )
    if output_type in _POINT_OUTPUTS:
        if quantiles is not None:
            raise ValueError("quantiles go with output_type='quantiles'")
        return method, output_type, None
    if output_type == "quantiles":
        from ._estimators import DEFAULT_QUANTILES

        qs = list(DEFAULT_QUANTILES if quantiles is None else quantiles)
        if not qs or not all(isinstance(q, float) and 0 <= q <= 1 for q in qs):
            raise ValueError("All quantiles must be between 0 and 1 and floats.")
        return method, output_type, qs
    raise ValueError(
        f"output_type must be one of {_POINT_OUTPUTS + ('quantiles',)} here, got "
        f"{output_type!r} (the 'main' and 'full' dicts do not fit one table)"
    )


def _output_names(
    estimator: Any, method: str, output_type: str, quantiles: Optional[List[float]]
) -> List[Any]:
    """The output columns: one per class (the labels of ``classes_``) for predict_proba,
    ``prediction`` for a classifier's predict, the output type (``mean`` …) for a
    regressor, ``quantile_<q>`` per quantile (the names of ``tabpfn-cli``)."""
    if _is_classifier(estimator):
        return list(estimator.classes_.tolist()) if method == "predict_proba" else ["prediction"]
    if quantiles is not None:
        return [f"quantile_{q}" for q in quantiles]
    return [output_type]


def _feature_columns(
    estimator: Any, available: Sequence[Any], columns: Optional[Sequence[Any]]
) -> List[Any]:
    """The table's columns the estimator reads: ``columns``, else the names seen at fit
    (so extra columns such as an id are ignored), else every column."""
    if columns is not None:
        cols = list(columns)
    elif hasattr(estimator, "feature_names_in_"):
        cols = list(estimator.feature_names_in_)
    else:
        cols = list(available)
    missing = [c for c in cols if c not in list(available)]
    if missing:
        raise ValueError(f"columns {missing} are not in the table (it has {list(available)})")
    return cols


def _raw(
    estimator: Any, X: Any, method: str, output_type: str, quantiles: Optional[List[float]]
) -> np.ndarray:
    """One predict call: (n, k) for predict_proba and quantiles, (n,) otherwise."""
    if method == "predict_proba":
        return estimator.predict_proba(X)
    if _is_classifier(estimator):
        return estimator.predict(X)
    if quantiles is not None:
        qs = estimator.predict(X, output_type="quantiles", quantiles=quantiles)
        return np.column_stack(qs)
    return estimator.predict(X, output_type=output_type)


def _predict_pandas(
    estimator: Any,
    part: Any,
    cols: List[Any],
    method: str,
    output_type: str,
    quantiles: Optional[List[float]],
    batch_size: Optional[int],
) -> np.ndarray:
    """The predictions of one pandas partition, in ``batch_size`` chunks (the same bits:
    the fit is row independent)."""
    # no copy needed for partitions that arrive over the network with unaligned float64
    # buffers (Dask's pickle-5): the column conversion hands the core aligned arrays
    if hasattr(estimator, "feature_names_in_"):
        X = part[cols]
    else:  # fitted on an array: pass one, so no feature-name warning per partition
        X = part[cols].to_numpy()
    n = len(X)
    if batch_size is None or n <= batch_size:
        return _raw(estimator, X, method, output_type, quantiles)
    take = (lambda a, b: X.iloc[a:b]) if hasattr(X, "iloc") else (lambda a, b: X[a:b])
    return np.concatenate(
        [_raw(estimator, take(i, min(i + batch_size, n)), method, output_type, quantiles)
         for i in range(0, n, batch_size)]
    )


def _to_frame(estimator: Any, raw: np.ndarray, names: List[Any], index: Any) -> Any:
    import pandas as pd

    if raw.ndim == 2:
        return pd.DataFrame(raw, index=index, columns=names)
    return pd.Series(raw, index=index, name=names[0])


def _empty_raw(estimator: Any, method: str, quantiles: Optional[List[float]]) -> np.ndarray:
    """A zero-row output of the dtype a predict call gives (float32 probabilities and
    regression outputs, the labels' dtype for a classifier's predict): the meta."""
    if _is_classifier(estimator):
        if method == "predict_proba":
            return np.empty((0, len(estimator.classes_)), dtype=np.float32)
        return estimator.classes_[:0]
    if quantiles is not None:
        return np.empty((0, len(quantiles)), dtype=np.float32)
    return np.empty(0, dtype=np.float32)


def _dask_partition(
    part: Any,
    estimator: Any,
    cols: List[Any],
    names: List[Any],
    method: str,
    output_type: str,
    quantiles: Optional[List[float]],
    batch_size: Optional[int],
) -> Any:
    if len(part) == 0:
        return _to_frame(estimator, _empty_raw(estimator, method, quantiles), names, part.index)
    raw = _predict_pandas(estimator, part, cols, method, output_type, quantiles, batch_size)
    return _to_frame(estimator, raw, names, part.index)


# ---------------------------------------------------------------------------------------
# Dask


def predict_dask(
    estimator: Any,
    ddf: Any,
    *,
    method: str = "predict",
    columns: Optional[Sequence[Any]] = None,
    output_type: str = "mean",
    quantiles: Optional[Sequence[float]] = None,
    batch_size: Optional[int] = None,
    client: Any = None,
) -> Any:
    """Predicts a Dask DataFrame partition by partition (``map_partitions``); lazy.

    Returns a Dask DataFrame (``predict_proba``: one float32 column per class, named by
    the labels of ``estimator.classes_``; a regressor's ``output_type="quantiles"``:
    ``quantile_<q>`` columns) or a Dask Series (a classifier's ``predict``: the labels,
    named ``prediction``; a regressor's ``predict``: float32, named by ``output_type``,
    ``mean`` by default), with ``ddf``'s index and divisions. Equal, bit for bit, to the
    estimator's own predict on the whole table.

    * ``estimator``: fitted with ``fit_mode="fit_with_cache"`` (see
      :func:`is_row_independent`); otherwise a ``ValueError`` says so.
    * ``columns``: the feature columns, in fit order; default the names seen at fit (so
      other columns, such as an id, are left out), or every column for a fit on arrays.
    * ``batch_size``: rows per predict call inside a partition (bounds memory; default the
      whole partition).
    * ``client``: the ``distributed`` client to scatter the estimator with; None (the
      default): the current one, if any; False: none (the graph carries the estimator, for
      the local schedulers or a later ``compute`` elsewhere).

    Shipping: with a ``distributed`` client the estimator is scattered to every worker
    once (``scatter(broadcast=True)``) and the tasks refer to it by key, so each worker
    receives and unpickles one copy whatever the number of partitions (two, when a task
    outruns the broadcast and fetches the key itself), and the scheduler
    never unpickles it. Without one (threads, processes or synchronous scheduler) it is a
    single ``dask.delayed`` node of the graph that every partition's task depends on.
    """
    import dask
    import dask.dataframe as dd

    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"ddf must be a dask DataFrame, got {type(ddf).__name__}")
    _require_row_independent(estimator, "predict_dask")
    method, output_type, qs = _check_method(estimator, method, output_type, quantiles)
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be None or an int ≥ 1, got {batch_size!r}")
    cols = _feature_columns(estimator, list(ddf.columns), columns)
    names = _output_names(estimator, method, output_type, qs)
    meta = _to_frame(estimator, _empty_raw(estimator, method, qs), names, ddf._meta.index)

    if client is False:
        client = None
    elif client is None:
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            client = None
    if client is not None:
        # hash=False: a fit's bytes are not a stable token, and each call is its own copy
        shipped = client.scatter(estimator, broadcast=True, hash=False)
    else:
        shipped = dask.delayed(estimator, pure=False)
    return ddf.map_partitions(
        _dask_partition, shipped, cols, names, method, output_type, qs, batch_size,
        meta=meta,
    )


# ---------------------------------------------------------------------------------------
# Spark


def _spark_type(dtype: np.dtype) -> Any:
    from pyspark.sql import types as T

    kind = np.dtype(dtype).kind
    if kind == "f":
        return T.FloatType() if np.dtype(dtype).itemsize == 4 else T.DoubleType()
    if kind in "iu":
        return T.LongType()
    if kind == "b":
        return T.BooleanType()
    if kind in "UO":
        return T.StringType()
    raise TypeError(f"labels of dtype {dtype} have no Spark type")


def predict_spark(
    estimator: Any,
    sdf: Any,
    *,
    method: str = "predict",
    columns: Optional[Sequence[str]] = None,
    keep: Sequence[str] = (),
    output_type: str = "mean",
    quantiles: Optional[Sequence[float]] = None,
    batch_size: Optional[int] = None,
) -> Any:
    """Predicts a Spark DataFrame with ``mapInPandas``; lazy (a Spark DataFrame).

    The result has the ``keep`` columns of ``sdf`` (e.g. an id, since Spark rows have no
    index; their types as in ``sdf``), then the outputs: ``predict_proba``: one
    ``FloatType`` column per class named ``str(label)``; a classifier's ``predict``:
    ``prediction``, typed by the labels (``StringType``, ``LongType``, ``DoubleType`` or
    ``BooleanType``); a regressor: ``FloatType`` ``mean`` (or ``median`` / ``mode``), or
    ``quantile_<q>`` columns. Values are the estimator's own float32 predictions, bit for
    bit.

    The estimator must be fitted with ``fit_mode="fit_with_cache"`` (a ``ValueError``
    says so otherwise). It is broadcast once (``sparkContext.broadcast``): every executor
    fetches it once and each Python worker unpickles it on its first batch and keeps it
    while the worker is reused (Spark's default). Each Arrow batch
    (``spark.sql.execution.arrow.maxRecordsPerBatch`` rows, 10 000 by default) is one
    predict call, or ``batch_size``-row calls. On Spark Connect, which has no
    ``sparkContext``, the estimator travels in the function's closure instead (with
    every task).

    ``pyspark`` is imported here, never at ``import tabpfn_rs``.
    """
    from pyspark.sql import types as T

    _require_row_independent(estimator, "predict_spark")
    method, output_type, qs = _check_method(estimator, method, output_type, quantiles)
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be None or an int ≥ 1, got {batch_size!r}")
    keep = list(keep)
    cols = _feature_columns(estimator, list(sdf.columns), columns)
    missing = [k for k in keep if k not in sdf.columns]
    if missing:
        raise ValueError(f"keep columns {missing} are not in the table")
    names = [str(n) for n in _output_names(estimator, method, output_type, qs)]
    clash = sorted(set(keep) & set(names))
    if clash or len(set(names)) != len(names):
        raise ValueError(f"output column names {names} clash with each other or with keep {clash}")
    empty = _empty_raw(estimator, method, qs)
    out_type = (
        _spark_type(estimator.classes_.dtype)
        if _is_classifier(estimator) and method == "predict"
        else _spark_type(empty.dtype)
    )
    schema = T.StructType(
        [sdf.schema[k] for k in keep] + [T.StructField(n, out_type, True) for n in names]
    )

    try:
        handle: Any = sdf.sparkSession.sparkContext.broadcast(estimator)

        def get() -> Any:
            return handle.value
    except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext, no broadcast
        def get() -> Any:
            return estimator

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        est = get()
        for pdf in batches:
            if len(pdf) == 0:
                continue
            raw = _predict_pandas(est, pdf, cols, method, output_type, qs, batch_size)
            raw = raw.reshape(len(pdf), -1)
            out = pd.DataFrame({k: pdf[k].reset_index(drop=True) for k in keep})
            for j, n in enumerate(names):
                out[n] = raw[:, j]
            yield out

    # only the columns the function reads travel to Python
    need = list(dict.fromkeys(keep + cols))
    return sdf.select(*need).mapInPandas(run, schema)
