#!/usr/bin/env bash
# Rust (tabpfn-rs, CPU kernels) vs PyTorch (tabpfn 2.2.1) on this machine, in one run, same
# random-weight 12-layer default-size classifier, same inputs, same thread count.
#
#   scripts/bench-vs-python.sh            every target row of issue 7 (~30 min on 2 cores)
#   scripts/bench-vs-python.sh scaling    time and peak memory vs train rows and features
#                                         (SCALING="n_m_d ..." picks cases; 1 run each)
#   scripts/bench-vs-python.sh quick      a smoke run of the smallest cases (~1 min)
#
# THREADS (default 2) threads on both sides; REPEAT (default 3) runs per case and side
# (min and median reported; the ratio uses medians). Peak RSS comes from /usr/bin/time -v
# and covers the whole process (model load and, for Python, importing torch).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-3}
OUT=target/bench
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "run scripts/regen-fixtures.sh once to create $VENV"; exit 1; }
[ -f "$OUT/e2e_100_100_10.npz" ] || (cd python && "../$PY" bench_forward.py make --out "../$OUT")
cargo build --release -q -p tabpfn-cli
cargo build --release -q -p tabpfn-model --example bench
CLI=target/release/tabpfn-cli
BENCH=target/release/examples/bench
export OMP_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS TABPFN_ALLOW_CPU_LARGE_DATASET=1

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "$(free -g | awk '/Mem:/ {print $2}') GB RAM; $THREADS threads per side; $(date -u +%F)"

# run LABEL CMD...: runs CMD under /usr/bin/time -v, prints its timing line and peak RSS,
# and leaves the median seconds in $MED and the peak RSS (MB) in $RSS
run() {
  local label=$1; shift
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >"$log.out" 2>"$log"
  local line; line=$(grep -h -E "(python|rust) (forward|e2e|cache):" "$log.out" "$log" | head -1)
  RSS=$(awk '/Maximum resident set size/ {printf "%.0f", $6/1024}' "$log")
  MED=$(echo "$line" | sed -E 's/.*median ([0-9.]+) s.*/\1/')
  echo "  $label: ${line#*: } | peak RSS ${RSS} MB"
  rm -f "$log" "$log.out"
}

ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.2f}')"; }

forward_case() {  # n m d
  local s="$1_$2_$3"
  echo "== bare forward, (train, test, features) = ($1, $2, $3), widened to $(( (5*$3+1)/2+1 )) columns"
  run python "$PY" python/bench_forward.py time --ckpt "$OUT/full_clf.ckpt" \
      --input "$OUT/case_$s.npz" --threads "$THREADS" --repeat "$REPEAT"
  local pm=$MED prss=$RSS
  run rust "$CLI" forward --model "$OUT/full_clf.ckpt" --input "$OUT/case_$s.npz" \
      --output "$OUT/out_$s.npz" --repeat "$REPEAT"
  echo "  ratio python/rust (median): $(ratio "$pm" "$MED")x; peak RSS rust/python: $(ratio "$RSS" "$prss")"
}

e2e_case() {  # n m d
  local s="$1_$2_$3"
  echo "== end to end fit + predict_proba, 8 members, ($1, $2, $3)"
  run python "$PY" python/bench_forward.py e2e --ckpt "$OUT/full_clf.ckpt" \
      --input "$OUT/e2e_$s.npz" --threads "$THREADS" --repeat "$REPEAT"
  local pm=$MED
  run rust "$BENCH" e2e "$OUT/full_clf.ckpt" "$OUT/e2e_$s.npz" "$REPEAT"
  echo "  ratio python/rust (median): $(ratio "$pm" "$MED")x"
}

if [ "${1:-}" = "scaling" ]; then
  REPEAT=1
  for s in ${SCALING:-1000_100_10 2000_100_10 5000_100_10 10000_100_10 1000_100_100 1000_100_500}; do
    forward_case ${s//_/ }
  done
  exit 0
fi

if [ "${1:-}" = "quick" ]; then
  forward_case 100 100 10
  e2e_case 100 100 10
  exit 0
fi

forward_case 1000 1000 100
forward_case 5000 1000 20
e2e_case 100 100 10
e2e_case 1000 1000 10
echo "== predict 1 row after fit_with_cache on 5000 train rows (20 features widened to 51 columns)"
run rust "$BENCH" cache "$OUT/full_clf.ckpt" 5000 51 "$REPEAT"
echo "== matmul rate of this machine (gemm crate, $THREADS threads)"
"$BENCH" sgemm
