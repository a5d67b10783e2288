#!/usr/bin/env bash
# Builds the Python package (crates/tabpfn-py) into a fresh virtualenv and runs its pytest
# suite. PyPI only: maturin, numpy, scikit-learn, pytest, pandas, joblib, dask. Never torch.
#
#   scripts/test-python.sh [pytest args]
#
# The extension is built with cargo's dev profile (dependencies optimised, see the
# workspace Cargo.toml) so it reuses what `cargo test` compiled; `pip install
# ./crates/tabpfn-py` builds the release profile for users.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_TEST_VENV:-target/venv-test}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "maturin>=1.16,<2" numpy scikit-learn pytest pandas joblib \
    "dask[dataframe]" distributed
fi
# the CLI binary the interop tests call: `cargo test --workspace` (scripts/test.sh) has just
# built it; building it here alone would compile Burn once more with another feature set
[ -x target/debug/tabpfn-cli ] || cargo build -q --locked -p tabpfn-cli
rm -rf target/wheels-test
"$VENV/bin/maturin" build -q --locked --profile dev -m crates/tabpfn-py/Cargo.toml \
  --out target/wheels-test
"$VENV/bin/pip" install -q --force-reinstall --no-deps target/wheels-test/tabpfn_rs-*.whl
cd crates/tabpfn-py/tests
"../../../$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
