#!/usr/bin/env bash
# Parity of the 12-layer default-size classifier and regressor (random weights, built by the
# reference on the fly, not committed) between tabpfn 2.2.1 and tabpfn-cli forward.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
[ -x "$VENV/bin/python" ] || { echo "run scripts/regen-fixtures.sh once to create $VENV"; exit 1; }
OUT=target/parity-full
mkdir -p "$OUT"
(cd python && "../$VENV/bin/python" gen_model.py --full --out "../$OUT")
cargo build -q -p tabpfn-cli  # dev profile: dependencies optimised, shares the test build
status=0
for case in full_clf full_clf10 full_reg; do
  model=$(python3 -c "import json;print(json.load(open('$OUT/cases.json'))['$case']['model'])")
  std=$(python3 -c "import json;v=json.load(open('$OUT/cases.json'))['$case']['outlier_std'];print('' if v is None else v)")
  cache=$(python3 -c "import json;print(json.load(open('$OUT/cases.json'))['$case']['cache'])")
  modes="full"; [ "$cache" = "True" ] && modes="full cache"
  for mode in $modes; do
    args=(--model "$OUT/$model.ckpt" --input "$OUT/$case.npz" --output "$OUT/$case.$mode.rust.npz" --mode "$mode")
    [ -n "$std" ] && args+=(--remove-outliers-std "$std")
    echo "$case ($model, $mode):"
    target/debug/tabpfn-cli forward "${args[@]}" 2>/dev/null
    "$VENV/bin/python" python/compare.py "$OUT/$case.$mode.rust.npz" "$OUT/$case.npz" "$mode" 1e-5 || status=1
  done
done
[ $status = 0 ] && echo "parity-full: all within 1e-5" || echo "parity-full: FAILED (above 1e-5)"
exit $status
