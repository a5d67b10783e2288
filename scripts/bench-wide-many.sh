#!/usr/bin/env bash
# Time and accuracy past the reference's limits (docs/pipeline.md, "Wide tables" and "Many
# classes"): 1 000 / 2 000 features and 30 classes with the built-in demo model, release CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
[ -x "$VENV/bin/python" ] || { echo "run scripts/regen-fixtures.sh once to create $VENV"; exit 1; }
cargo build -q --release --locked -p tabpfn-cli
(cd python && "../$VENV/bin/python" bench_wide_many.py ../target/release/tabpfn-cli)
