#!/usr/bin/env bash
# On a machine with a GPU: network parity of a GPU build of tabpfn-cli against the committed
# fixtures (fixtures/model, reference tabpfn 2.2.1 on CPU), then the bare forward timed on
# the GPU backend and on PyTorch CUDA (same GPU, one run).
#
#   scripts/gpu-check.sh CLI DEVICE [SHAPES...]
#     CLI: a tabpfn-cli built with `--features wgpu` (or cuda); DEVICE: wgpu or cuda;
#     SHAPES: bench cases from `python/bench_forward.py make` in target/bench (n_m_d).
#   Optional: BENCH=a GPU build of the `bench` example (tabpfn-model) adds the end-to-end
#   8-member fit + predict_proba on E2E (default "100_100_10 1000_1000_10") against the
#   reference estimator on CUDA, and predict-from-cache on 5000 train rows.
#   PARITY=0 skips the fixture parity; TORCH=0 skips the PyTorch runs (comparing with the
#   outputs an earlier run left in OUT_DIR); TAG names this build's outputs (to compare two
#   builds in one OUT_DIR); CACHE=0 skips the cache timing.
# Rust runs with --torch-rng cuda wherever it is compared with PyTorch CUDA (the reference
# draws its positional embeddings from the device's generator). Needs python3 with numpy; the timing part needs torch + tabpfn 2.2.1 (PYTHON, default python3).
set -uo pipefail
cd "$(dirname "$0")/.."
CLI=$1; DEV=$2; shift 2
PY=${PYTHON:-python3}
F=fixtures/model
OUT=${OUT_DIR:-target/gpu-check}
TAG=${TAG:-$DEV}
mkdir -p "$OUT"
status=0
torch() { [ "${TORCH:-1}" = 1 ] && "$PY" python/bench_forward.py "$@"; }
if [ "${PARITY:-1}" = 1 ]; then
  echo "== parity on $DEV vs the reference fixtures (tolerance 1e-5)"
  for case in $("$PY" -c "import json;print(' '.join(json.load(open('$F/cases.json'))))"); do
    meta() { "$PY" -c "import json;v=json.load(open('$F/cases.json'))['$case']['$1'];print('' if v is None else v)"; }
    model=$(meta model); std=$(meta outlier_std); cache=$(meta cache)
    modes="full"; [ "$cache" = "True" ] && modes="full cache"
    for mode in $modes; do
      args=(--model "$F/$model.ckpt" --input "$F/$case.npz" --output "$OUT/$case.$mode.npz" --mode "$mode" --device "$DEV")
      [ -n "$std" ] && args+=(--remove-outliers-std "$std")
      for k in auto stock; do
        echo "$case ($model, $mode, kernels $k):"
        rm -f "$OUT/$case.$mode.npz"
        "$CLI" forward "${args[@]}" --kernels "$k" >/dev/null 2>"$OUT/err" || { cat "$OUT/err"; status=1; continue; }
        "$PY" python/compare.py "$OUT/$case.$mode.npz" "$F/$case.npz" "$mode" 1e-5 || status=1
      done
    done
  done
fi
for s in "$@"; do
  echo "== bare forward on the GPU, (train, test, features) = (${s//_/, })"
  torch time --ckpt target/bench/full_clf.ckpt --input "target/bench/case_$s.npz" --repeat 3 --device cuda --save "$OUT/torch_$s.npz"
  # auto: the custom CubeCL kernels (crates/tabpfn-cubecl); stock: Burn's own ops
  for k in auto stock; do
    rm -f "$OUT/out_${TAG}_${k}_$s.npz"
    echo "  kernels $k:"
    # --torch-rng cuda: the reference on CUDA draws other positional embeddings than on CPU
    "$CLI" forward --model target/bench/full_clf.ckpt --input "target/bench/case_$s.npz" --output "$OUT/out_${TAG}_${k}_$s.npz" --repeat 3 --device "$DEV" --kernels "$k" --torch-rng cuda 2>&1 | grep -E "rust forward|rror" || status=1
    # reported, not gated: the GPU-side reference is not a committed fixture
    [ -f "$OUT/out_${TAG}_${k}_$s.npz" ] && [ -f "$OUT/torch_$s.npz" ] && "$PY" python/compare.py "$OUT/out_${TAG}_${k}_$s.npz" "$OUT/torch_$s.npz" full 1 | sed 's/^/  rust vs torch cuda:/'
  done
done
if [ -n "${BENCH:-}" ]; then
  for s in ${E2E:-100_100_10 1000_1000_10}; do
    echo "== end to end, 8 members, (train, test, features) = (${s//_/, })"
    # the package default on CUDA is float16 autocast; float32 is what Rust computes
    torch e2e --ckpt target/bench/full_clf.ckpt --input "target/bench/e2e_$s.npz" --repeat 3 --device cuda
    torch e2e --ckpt target/bench/full_clf.ckpt --input "target/bench/e2e_$s.npz" --repeat 3 --device cuda --precision float32 --save "$OUT/torch_e2e_$s.npz"
    rm -f "$OUT/e2e_${TAG}_$s.npz"
    TABPFN_TORCH_RNG=cuda TABPFN_DEVICE=$DEV "$BENCH" e2e target/bench/full_clf.ckpt "target/bench/e2e_$s.npz" 3 "$OUT/e2e_${TAG}_$s.npz" || status=1
    [ -f "$OUT/e2e_${TAG}_$s.npz" ] && [ -f "$OUT/torch_e2e_$s.npz" ] && "$PY" python/compare.py "$OUT/e2e_${TAG}_$s.npz" "$OUT/torch_e2e_$s.npz" full 1 | sed 's/logits/proba/; s/^/  rust vs torch cuda:/'
  done
  if [ "${CACHE:-1}" = 1 ]; then
    echo "== predict one row from a 5000-row cache vs the full forward"
    TABPFN_DEVICE=$DEV "$BENCH" cache target/bench/full_clf.ckpt 5000 51 3 || status=1
  fi
fi
exit $status
