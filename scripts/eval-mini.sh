#!/usr/bin/env bash
# Evaluation table of the built-in demo model tabpfn-mini (docs/demo-model.md): Rust CLI vs
# the reference tabpfn 2.2.1 on the same weights, logistic regression, HistGradientBoosting,
# majority class; iris, wine, breast_cancer, digits (70/30 split), diabetes (baselines only).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
[ -x "$VENV/bin/python" ] || { echo "run scripts/regen-fixtures.sh once to create $VENV"; exit 1; }
cargo build -q --release -p tabpfn-cli
(cd python && "../$VENV/bin/python" eval_mini.py ../target/release/tabpfn-cli \
  ../crates/tabpfn-model/assets/tabpfn-mini-classifier.safetensors 2>/dev/null)
