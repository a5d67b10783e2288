#!/usr/bin/env bash
# Dask and Spark predictions of the Python package (issue 19, item 2): 100 000 test rows
# predicted single-process, with tabpfn_rs.distributed.predict_dask on a LocalCluster of 2
# worker processes and with predict_spark on pyspark in local mode (local[2]); checks that
# the three agree bit for bit and prints rows/s, the pickled fit's size and the estimator
# unpickles per worker (python/spark_predict.py; results in docs/large-data.md). Not in
# CI: it downloads pyspark (~500 MB with its jars) and takes a few minutes on 2 cores.
#
#   scripts/spark-predict.sh [--rows N] [--partitions P] [--n-estimators M] [--model CKPT]
#
# Needs Java 17 (or 21) for Spark. The venv (TABPFN_SPARK_VENV, default target/venv-spark)
# is made on the first run and reused; tabpfn_rs comes from TABPFN_WHEEL if set, else is
# kept if the venv already has a version with tabpfn_rs.distributed, else is built from
# crates/tabpfn-py (release profile, compiles the Rust core).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_SPARK_VENV:-target/venv-spark}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
"$VENV/bin/pip" install -q numpy scikit-learn pandas pyarrow "dask[dataframe]" distributed \
  "pyspark>=3.5"
if [ -n "${TABPFN_WHEEL:-}" ]; then
  "$VENV/bin/pip" install -q --force-reinstall --no-deps "$TABPFN_WHEEL"
elif ! "$VENV/bin/python" -c "import tabpfn_rs.distributed" 2>/dev/null; then
  "$VENV/bin/pip" install -q --force-reinstall --no-deps ./crates/tabpfn-py
fi
"$VENV/bin/python" -c "import tabpfn_rs.distributed" || {
  echo "spark-predict: the installed tabpfn_rs has no tabpfn_rs.distributed (an older wheel?)" >&2
  exit 1
}
command -v java >/dev/null || { echo "spark-predict: Spark needs Java 17 (no java on PATH)" >&2; exit 1; }
exec "$VENV/bin/python" python/spark_predict.py "$@"
