#!/usr/bin/env bash
# Training sets beyond 10 000 rows (issue 19): wall time, peak RSS, accuracy and log-loss of
# `tabpfn-cli predict` (built-in tabpfn-mini classifier, 8 members, 2 000 test rows) with
# --subsample-samples K at 50 000 and 100 000 training rows, and, where it runs in
# reasonable time, the full context (--ignore-limits) on the first 10 000 rows.
# Synthetic data: python/large_data.py. Results go to stdout (docs/large-data.md).
#
#   scripts/bench-subsample.sh            (PY: a python with numpy, pandas, scikit-learn)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo target/venv-test/bin/python )}
CLI=${CLI:-target/release/tabpfn-cli}
[ -x "$CLI" ] || cargo build --release --locked -p tabpfn-cli
D=target/bench-large
THREADS=${THREADS:-$(nproc)}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $THREADS threads; $(date -u +%F)"
# one table; the smaller training sets are its first n training rows, every case predicts
# the same 2 000 test rows
[ -f "$D/n100000/train.csv" ] || "$PY" python/large_data.py make "$D/n100000" 100000 2000 --seed 1
for n in 10000 50000; do
  mkdir -p "$D/n$n"
  head -n $((n + 1)) "$D/n100000/train.csv" > "$D/n$n/train.csv"
  cp "$D/n100000/test.csv" "$D/n100000/labels.csv" "$D/n$n/"
done
run() {  # n, label, extra args
  local n=$1 label=$2; shift 2
  local out="$D/n$n/pred-${label// /_}.csv"
  /usr/bin/time -f "%e %M" -o "$D/time.txt" "$CLI" predict -q --train "$D/n$n/train.csv" \
    --target y --test "$D/n$n/test.csv" --id-column id --threads "$THREADS" -o "$out" "$@"
  read -r secs kb < "$D/time.txt"
  printf '%7s rows  %-24s wall %7.1f s  peak RSS %6d MB  %s\n' "$n" "$label" "$secs" \
    "$((kb / 1024))" "$("$PY" python/large_data.py score "$out" "$D/n$n/labels.csv")"
}
for k in 1000 5000; do
  for n in 10000 50000 100000; do run $n "subsample $k" --subsample-samples $k; done
done
run 10000 "full context (10 000)"
