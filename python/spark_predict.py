"""Dask and Spark predictions of tabpfn_rs (issue 19, item 2), for scripts/spark-predict.sh.

Fits a classifier (built-in demo model, or --model) and a regressor (the tiny fixture
regressor, as when this check was written) with fit_mode="fit_with_cache" on a small table, then
predicts ROWS test rows three ways and checks that the three agree bit for bit:

  * single process: ``estimator.predict_proba(X)`` in one call (the Rust core's default
    threads, one per core);
  * Dask: ``tabpfn_rs.distributed.predict_dask`` on a ``distributed.LocalCluster`` of 2
    worker processes × 1 thread (``RAYON_NUM_THREADS=1`` in each);
  * Spark: ``tabpfn_rs.distributed.predict_spark`` in local mode (``local[2]``, 2 Python
    workers × 1 thread), on a cached DataFrame of PARTITIONS partitions.

Prints rows/s of each (the classifier's predict_proba; predict time only: the session,
cluster and table already exist, collecting the result included), the pickled fit's size,
and how many times each worker process unpickled the estimator (counted by a
``sitecustomize`` hook on the workers' PYTHONPATH).

    python spark_predict.py [--rows 100000] [--partitions 8] [--train-rows 300]
                            [--n-estimators 2] [--model CKPT] [--skip-dask] [--skip-spark]
"""

import argparse
import collections
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TINY_REG = ROOT / "fixtures/model/tiny_reg.ckpt"

HOOK = '''
import os
_log = os.environ.get("TABPFN_UNPICKLE_LOG")
if _log:
    try:
        import tabpfn_rs._estimators as _e
        _orig = _e._TabPFNBase.__setstate__
        def _counted(self, state):
            with open(_log, "a") as f:
                f.write(f"{os.environ.get('TABPFN_UNPICKLE_TAG', '?')} {type(self).__name__} "
                        f"{os.getpid()}\\n")
            _orig(self, state)
        _e._TabPFNBase.__setstate__ = _counted
    except Exception:
        pass
'''


def table(n, rng):
    """Numeric columns (NaNs in one), a text column with missing cells, an integer-coded
    column, and a column constant in the first eighth of the rows."""
    df = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "c": rng.integers(0, 4, size=n).astype(float),
        "t": rng.choice(["red", "green", "blue", None], size=n).tolist(),
        "k": rng.normal(size=n),
    })
    df.loc[rng.random(n) < 0.05, "b"] = np.nan
    df.loc[df.index[: n // 8], "a"] = 0.25
    return df


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores (nproc), {cpu}; load average {load}; {platform.platform()}"


def unpickles(log, tag):
    """{estimator class: {worker pid: unpickles}} of the processes tagged ``tag``."""
    counts = collections.defaultdict(collections.Counter)
    if log.exists():
        for line in log.read_text().split("\n"):
            parts = line.split()
            if len(parts) == 3 and parts[0] == tag:
                counts[parts[1]][parts[2]] += 1
    return "; ".join(f"{k}: {dict(v)}" for k, v in sorted(counts.items())) or "none counted"


def check(name, got, want):
    same = got.shape == want.shape and np.array_equal(got, want)
    nan = bool(np.isnan(got).any())
    print(f"  {name}: bit-identical to single process: {same}; NaN: {nan}")
    return same and not nan


def rate(n, seconds):
    return f"{seconds:.2f} s, {n / seconds:,.0f} rows/s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--train-rows", type=int, default=300)
    ap.add_argument("--n-estimators", type=int, default=2)
    ap.add_argument("--model", default=None, help="classifier checkpoint (default: built-in)")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-spark", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*built-in demo model.*")
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support")

    # every Python process started from here on (Dask workers, Spark's Python workers)
    # imports the counting hook; one core per worker process
    work = Path(tempfile.mkdtemp(prefix="tabpfn-spark-predict-"))
    (work / "sitecustomize.py").write_text(HOOK)
    log = work / "unpickles.log"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(work)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    os.environ["TABPFN_UNPICKLE_LOG"] = str(log)
    os.environ["PYTHONWARNINGS"] = "ignore:tabpfn_rs"  # the workers' built-in-model notice

    import tabpfn_rs
    from tabpfn_rs import TabPFNClassifier, TabPFNRegressor
    from tabpfn_rs.distributed import predict_dask, predict_spark

    print(f"machine: {machine()}")
    print(f"python {platform.python_version()}, tabpfn_rs {tabpfn_rs.__version__} "
          f"({Path(tabpfn_rs.__file__).parent}), numpy {np.__version__}, pandas {pd.__version__}")
    rng = np.random.default_rng(19)
    train = table(args.train_rows, rng)
    y_cls = np.where(train["a"] + (train["t"] == "red") > 0.3, "yes", "no")
    noise = rng.normal(scale=0.1, size=len(train))
    y_reg = 2 * train["a"].to_numpy() - train["c"].to_numpy() + noise
    test = table(args.rows, rng)
    test.insert(0, "id", np.arange(args.rows, dtype=np.int64))
    features = [c for c in test.columns if c != "id"]

    clf = TabPFNClassifier(model_path=args.model, n_estimators=args.n_estimators,
                           fit_mode="fit_with_cache").fit(train, y_cls)
    reg = TabPFNRegressor(model_path=TINY_REG, n_estimators=args.n_estimators,
                          fit_mode="fit_with_cache").fit(train, y_reg)
    print(f"fit: {len(train)} train rows × {len(features)} features, {args.n_estimators} members, "
          f"classifier {'built-in demo model' if args.model is None else args.model}")
    print(f"serialized fit (len(pickle.dumps(estimator))): "
          f"classifier {len(pickle.dumps(clf)):,} B, regressor {len(pickle.dumps(reg)):,} B")
    print(f"test: {args.rows:,} rows, {args.partitions} partitions")

    t = time.perf_counter()
    want = clf.predict_proba(test[features])
    single = time.perf_counter() - t
    want_reg = reg.predict(test[features])
    print(f"single process predict_proba: {rate(args.rows, single)}")
    ok = True

    if not args.skip_dask:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        os.environ["TABPFN_UNPICKLE_TAG"] = "dask"
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                          dashboard_address=None, env={"RAYON_NUM_THREADS": "1"}) as cluster, \
                Client(cluster) as client:
            ddf = dd.from_pandas(test, npartitions=args.partitions).persist()
            client.wait_for_workers(2)
            t = time.perf_counter()
            got = predict_dask(clf, ddf, method="predict_proba").compute()
            took = time.perf_counter() - t
            got_reg = predict_dask(reg, ddf).compute()
        print(f"dask (LocalCluster, 2 worker processes × 1 thread) predict_proba: "
              f"{rate(args.rows, took)}")
        ok &= check("dask predict_proba", got.to_numpy(), want)
        ok &= check("dask regressor mean", got_reg.to_numpy(), want_reg)
        ok &= got.index.equals(test.index)
        print(f"  estimator unpickles per worker process: {unpickles(log, 'dask')}")

    if not args.skip_spark:
        os.environ["TABPFN_UNPICKLE_TAG"] = "spark"
        os.environ["PYSPARK_PYTHON"] = sys.executable
        os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
        try:
            from pyspark.sql import SparkSession
        except ImportError as e:
            sys.exit(f"pyspark is not installed: {e}")
        java = subprocess.run(["java", "-version"], capture_output=True, text=True)
        print(f"java: {(java.stderr or java.stdout).splitlines()[0]}")
        t = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]").appName("tabpfn-rs-predict")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", "2g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.shuffle.partitions", str(args.partitions))
            .config("spark.executorEnv.RAYON_NUM_THREADS", "1")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        import pyspark

        print(f"spark {pyspark.__version__} local[2] started in {time.perf_counter() - t:.1f} s")
        try:
            sdf = spark.createDataFrame(test).repartition(args.partitions).cache()
            assert sdf.count() == args.rows
            t = time.perf_counter()
            res = predict_spark(clf, sdf, method="predict_proba", keep=["id"]).toPandas()
            took = time.perf_counter() - t
            res = res.sort_values("id")
            print(f"spark (local[2], {sdf.rdd.getNumPartitions()} partitions) predict_proba: "
                  f"{rate(args.rows, took)}")
            got = res[[str(c) for c in clf.classes_]].to_numpy()
            ok &= check("spark predict_proba", got, want)
            ok &= bool(np.array_equal(res["id"].to_numpy(), test["id"].to_numpy()))
            res_reg = predict_spark(reg, sdf, keep=["id"]).toPandas().sort_values("id")
            ok &= check("spark regressor mean", res_reg["mean"].to_numpy(), want_reg)
            print(f"  estimator unpickles per Python worker process: {unpickles(log, 'spark')}")
        finally:
            spark.stop()

    print("all bit-identical" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
