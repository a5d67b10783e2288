#!/usr/bin/env bash
# Layer 4 of the pipeline parity with the default-size (12-layer, random-weight) classifier
# and regressor: iris, wine, breast_cancer, digits (600/300 subset), diabetes; Rust vs the
# reference estimators (tabpfn 2.2.1, random_state 0), next to Python's own random_state 0
# vs 1 gap. Prints a markdown table; exits non-zero if Rust's gap is the larger one.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
[ -x "$VENV/bin/python" ] || { echo "run scripts/regen-fixtures.sh once to create $VENV"; exit 1; }
OUT=target/parity-pipeline
mkdir -p "$OUT"
start=$(date +%s)
(cd python && "../$VENV/bin/python" - "../$OUT" <<'PYEOF'
import sys
from pathlib import Path
from models import build_checkpoint
out = Path(sys.argv[1])
for name, seed in [("full_clf", 101), ("full_reg", 202)]:
    build_checkpoint(name, out / f"{name}.ckpt", seed)
PYEOF
)
(cd python && "../$VENV/bin/python" gen_datasets.py --models full_clf full_reg \
  --model-dir "../$OUT" --out "../$OUT" --tag full --no-examples 2>/dev/null)
cargo run -q --release -p tabpfn-model --example pipeline_parity -- \
  "$OUT" full "$OUT/full_clf.ckpt" "$OUT/full_reg.ckpt"
echo "parity-pipeline took $(( $(date +%s) - start )) s"
