#!/usr/bin/env bash
# Forward pass of the 12-layer default-size network (random weights): PyTorch (tabpfn 2.2.1)
# vs tabpfn-cli on the same machine, same checkpoint, same inputs, in one run.
#   scripts/bench-vs-python.sh [SHAPES...]   e.g. 100_100_10 1000_1000_10 (default: 100_100_10)
# Threads: THREADS (default 2) for both sides. Repeats: REPEAT (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-3}
OUT=target/bench
[ -x "$VENV/bin/python" ] || { echo "run scripts/regen-fixtures.sh once to create $VENV"; exit 1; }
[ -f "$OUT/full_clf.ckpt" ] || (cd python && "../$VENV/bin/python" bench_forward.py make --out "../$OUT")
cargo build --release -q -p tabpfn-cli
shapes=("$@"); [ ${#shapes[@]} -gt 0 ] || shapes=(100_100_10)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for s in "${shapes[@]}"; do
  echo "== (train, test, features) = (${s//_/, }), 12 layers"
  py=$(OMP_NUM_THREADS=$THREADS "$VENV/bin/python" python/bench_forward.py time \
        --ckpt "$OUT/full_clf.ckpt" --input "$OUT/case_$s.npz" --threads "$THREADS" --repeat "$REPEAT")
  echo "$py"
  rs=$(RAYON_NUM_THREADS=$THREADS target/release/tabpfn-cli forward --model "$OUT/full_clf.ckpt" \
        --input "$OUT/case_$s.npz" --output "$OUT/out_$s.npz" --repeat "$REPEAT" 2>&1 | grep 'rust forward')
  echo "$rs"
  pm=$(echo "$py" | sed -E 's/.*median ([0-9.]+) s.*/\1/')
  rm=$(echo "$rs" | sed -E 's/.*median ([0-9.]+) s.*/\1/')
  python3 -c "print(f'ratio python/rust (median): {float(\"$pm\")/float(\"$rm\"):.2f}x')"
done
