#!/usr/bin/env bash
# On a machine with a GPU: network parity of a GPU build of tabpfn-cli against the committed
# fixtures (fixtures/model, reference tabpfn 2.2.1 on CPU), then the bare forward timed on
# the GPU backend and on PyTorch CUDA (same GPU, one run).
#
#   scripts/gpu-check.sh CLI DEVICE [SHAPES...]
#     CLI: a tabpfn-cli built with `--features wgpu` (or cuda); DEVICE: wgpu or cuda;
#     SHAPES: bench cases from `python/bench_forward.py make` in target/bench (n_m_d).
# Needs python3 with numpy; the timing part needs torch + tabpfn 2.2.1 (PYTHON, default python3).
set -uo pipefail
cd "$(dirname "$0")/.."
CLI=$1; DEV=$2; shift 2
PY=${PYTHON:-python3}
F=fixtures/model
OUT=${OUT_DIR:-target/gpu-check}
mkdir -p "$OUT"
status=0
echo "== parity on $DEV vs the reference fixtures (tolerance 1e-5)"
for case in $("$PY" -c "import json;print(' '.join(json.load(open('$F/cases.json'))))"); do
  meta() { "$PY" -c "import json;v=json.load(open('$F/cases.json'))['$case']['$1'];print('' if v is None else v)"; }
  model=$(meta model); std=$(meta outlier_std); cache=$(meta cache)
  modes="full"; [ "$cache" = "True" ] && modes="full cache"
  for mode in $modes; do
    args=(--model "$F/$model.ckpt" --input "$F/$case.npz" --output "$OUT/$case.$mode.npz" --mode "$mode" --device "$DEV")
    [ -n "$std" ] && args+=(--remove-outliers-std "$std")
    echo "$case ($model, $mode):"
    "$CLI" forward "${args[@]}" >/dev/null 2>"$OUT/err" || { cat "$OUT/err"; status=1; continue; }
    "$PY" python/compare.py "$OUT/$case.$mode.npz" "$F/$case.npz" "$mode" 1e-5 || status=1
  done
done
for s in "$@"; do
  echo "== bare forward on the GPU, (train, test, features) = (${s//_/, })"
  "$PY" python/bench_forward.py time --ckpt target/bench/full_clf.ckpt --input "target/bench/case_$s.npz" --repeat 3 --device cuda
  "$CLI" forward --model target/bench/full_clf.ckpt --input "target/bench/case_$s.npz" --output "$OUT/out_$s.npz" --repeat 3 --device "$DEV" 2>&1 | grep "rust forward"
done
exit $status
