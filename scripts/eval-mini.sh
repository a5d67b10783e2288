#!/usr/bin/env bash
# Evaluation of the built-in models tabpfn-mini (docs/demo-model.md): 15 real tables
# (scikit-learn, statsmodels, palmerpenguins, vega_datasets), 5 random 70/30 splits each,
# the Rust CLI on the shipped files against logistic regression / ridge, Random Forest,
# HistGradientBoosting and the majority class / training mean, plus Rust-vs-reference parity
# on the first split of each all-numeric table. Prints the markdown tables; JSON under target/.
#
#   scripts/eval-mini.sh [CLASSIFIER REGRESSOR [OPTIONS]]   (default: the embedded assets)
#
# OPTIONS go to python/eval_mini.py: `--suite validation --no-reference` runs the disjoint
# tables checkpoints are chosen on instead of the reported ones.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
[ -x "$VENV/bin/python" ] || { echo "create $VENV: python3 -m venv $VENV && $VENV/bin/pip install -r python/requirements.txt -r python/requirements-train.txt pandas"; exit 1; }
A=crates/tabpfn-model/assets
CLF=$(realpath "${1:-$A/tabpfn-mini-classifier.safetensors}")
REG=$(realpath "${2:-$A/tabpfn-mini-regressor.safetensors}")
cargo build -q --release -p tabpfn-cli
mkdir -p target/eval-mini
(cd python && "../$VENV/bin/python" eval_mini.py ../target/release/tabpfn-cli "$CLF" "$REG" \
  --json ../target/eval-mini/results.json "${@:3}")
