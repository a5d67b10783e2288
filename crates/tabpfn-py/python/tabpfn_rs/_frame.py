"""Input tables → the typed columns the Rust core takes.

The reference (tabpfn 2.2.1) validates ``X`` with scikit-learn (``dtype=None``): a numeric
array stays numeric, anything mixed becomes an object array whose columns pandas then
types with ``convert_dtypes()``. The rules here give the same column types:

* numeric numpy/pandas dtypes (floats, ints, unsigned, bools, pandas' nullable ``Int64``,
  ``Float64``, ``boolean``) → numeric, missing values (``NaN``, ``None``, ``pd.NA``) → NaN;
* every other column (object, ``string``, ``category``) is typed by its values: all numbers
  or bools → numeric, all strings → text (categorical candidates), a mix of numbers and
  strings → ``ValueError`` (the reference fails on it too, later and less clearly);
* ±inf is refused by the Rust core (the reference refuses it as well); complex, datetime
  and other values are a ``TypeError``.
"""

from __future__ import annotations

import numbers
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

Column = Tuple[str, str, Any]



def _float64(values: Any) -> np.ndarray:
    """A contiguous, *aligned* float64 copy or view: buffers that arrive over the network
    (Dask, Spark, memory maps) may start at any byte, and the core reads them as f64."""
    return np.require(values, dtype=np.float64, requirements=["C", "A"])

def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and v != v:
        return True
    try:
        import pandas as pd  # optional dependency

        if v is pd.NA or v is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is optional
        pass
    if isinstance(v, np.floating) and np.isnan(v):
        return True
    return False


def _object_column(name: str, values: Sequence[Any]) -> Column:
    """Types one object column by its values (see the module docs)."""
    has_num = has_str = False
    for v in values:
        if _is_missing(v):
            continue
        if isinstance(v, str):
            has_str = True
        elif isinstance(v, (bool, np.bool_, numbers.Real)) and not isinstance(v, complex):
            has_num = True
        else:
            raise TypeError(
                f"column {name!r}: unsupported value {v!r} of type {type(v).__name__}; "
                "expected numbers, strings or missing values"
            )
        if has_num and has_str:
            raise ValueError(
                f"column {name!r} mixes numbers and strings; convert it to one type"
            )
    if has_str:
        return (name, "text", [None if _is_missing(v) else str(v) for v in values])
    out = np.array(
        [np.nan if _is_missing(v) else float(v) for v in values], dtype=np.float64
    )
    return (name, "numeric", out)


def _numeric_array_column(name: str, col: np.ndarray) -> Column:
    kind = col.dtype.kind
    if kind == "c":
        raise ValueError(f"column {name!r}: complex data is not supported")
    if kind not in "fiub":
        raise TypeError(f"column {name!r}: unsupported dtype {col.dtype}")
    return (name, "numeric", _float64(col))


def _pandas_columns(df: Any) -> Tuple[List[Column], List[str]]:
    import pandas as pd

    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise ValueError("X has duplicate column names")
    cols: List[Column] = []
    for name, (_, s) in zip(names, df.items()):
        dt = s.dtype
        if isinstance(dt, pd.CategoricalDtype):
            cols.append(_object_column(name, s.astype(object).tolist()))
        elif pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt):
            if getattr(dt, "kind", "") == "c":
                raise ValueError(f"column {name!r}: complex data is not supported")
            vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
            cols.append((name, "numeric", _float64(vals)))
        elif pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt):
            cols.append(_object_column(name, s.tolist()))
        else:
            raise TypeError(f"column {name!r}: unsupported dtype {dt}")
    return cols, names


def _check_array(X: Any, min_samples: int) -> np.ndarray:
    """scikit-learn's own validation (its messages are what estimator checks and users
    expect): dense, 2-d, at least one feature and ``min_samples`` rows; NaN allowed, ±inf
    refused for numeric data; dtype kept (``dtype=None``, as the reference)."""
    from sklearn.utils import check_array

    kw = dict(accept_sparse=False, dtype=None, ensure_2d=True, allow_nd=False,
              ensure_min_samples=min_samples, ensure_min_features=1)
    try:
        return check_array(X, ensure_all_finite="allow-nan", **kw)
    except TypeError as e:  # scikit-learn < 1.6 spells it force_all_finite
        if "ensure_all_finite" not in str(e):
            raise
        return check_array(X, force_all_finite="allow-nan", **kw)


def columns_of(
    X: Any, names: Optional[Sequence[str]] = None, min_samples: int = 1
) -> Tuple[List[Column], Optional[List[str]], int]:
    """``X`` as typed columns; returns (columns, feature names if X had them, rows).

    ``names`` overrides the generated names ``x0, x1, …`` (used at predict time, so the
    Rust core matches columns by the names seen at fit).
    """
    try:
        import pandas as pd

        is_df = isinstance(X, pd.DataFrame)
    except ImportError:  # pragma: no cover
        is_df = False
    if is_df:
        if X.shape[1] == 0 or len(X) < min_samples:
            _check_array(np.empty(X.shape), min_samples)
        cols, found = _pandas_columns(X)
        return cols, found, len(X)
    if isinstance(X, (list, tuple)):
        X = _asarray_list(X)
    arr = _check_array(X, min_samples)
    n, d = arr.shape
    gen = [f"x{j}" for j in range(d)] if names is None else list(names)
    if len(gen) != d:
        raise ValueError(f"X has {d} features, but the estimator was fitted with {len(gen)}")
    if arr.dtype.kind == "O":
        cols = [_object_column(gen[j], arr[:, j].tolist()) for j in range(d)]
    elif arr.dtype.kind in "US":
        cols = [(gen[j], "text", [str(v) for v in arr[:, j]]) for j in range(d)]
    else:
        cols = [_numeric_array_column(gen[j], arr[:, j]) for j in range(d)]
    return cols, None, n


def _asarray_list(X: Sequence[Any]) -> np.ndarray:
    try:
        arr = np.asarray(X)
    except ValueError as e:  # ragged rows
        raise ValueError(f"X is not a rectangular table: {e}") from None
    if arr.dtype.kind not in "fiubcOUS":
        arr = np.asarray(X, dtype=object)
    return arr
