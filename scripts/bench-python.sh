#!/usr/bin/env bash
# The Python package measured (issue 18): wheel size; import time and RSS vs `import
# tabpfn`; fit + predict_proba vs tabpfn 2.2.1 at (100, 100, 10) and (1000, 1000, 10),
# 8 members, the same random-weight 12-layer checkpoint; and the binding's overhead over
# the Rust library (the `bench e2e` example) on the same cases. One run, same machine,
# THREADS (default 2) threads on every side, REPEAT (default 3) runs per case.
#
# Needs the reference venv of scripts/regen-fixtures.sh (.venv: tabpfn 2.2.1 + torch);
# tabpfn_rs is installed into it from a release wheel built here.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TABPFN_VENV:-.venv}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-3}
OUT=target/bench
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "run scripts/regen-fixtures.sh once to create $VENV"; exit 1; }
[ -f "$OUT/e2e_100_100_10.npz" ] || (cd python && "../$PY" bench_forward.py make --out "../$OUT")
"$VENV/bin/pip" install -q "maturin>=1.16,<2"
rm -rf target/wheels-release
"$VENV/bin/maturin" build -q --release --locked -m crates/tabpfn-py/Cargo.toml --out target/wheels-release
WHEEL=$(ls target/wheels-release/tabpfn_rs-*.whl)
"$VENV/bin/pip" install -q --force-reinstall --no-deps "$WHEEL"
cargo build --release -q -p tabpfn-model --example bench
export OMP_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS TABPFN_ALLOW_CPU_LARGE_DATASET=1
ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.3f}')"; }
med() { sed -E 's/.*median ([0-9.]+) s.*/\1/'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $THREADS threads; $(date -u +%F)"
echo "wheel: $(basename "$WHEEL"), $(du -k "$WHEEL" | cut -f1) KB"
for m in tabpfn_rs tabpfn; do   # three fresh interpreters each
  for _ in 1 2 3; do "$PY" python/bench_python_pkg.py import $m 2>/dev/null; done
done
for c in 100_100_10 1000_1000_10; do
  echo "== fit + predict_proba, 8 members, ($c)"
  ref=$("$PY" python/bench_forward.py e2e --ckpt "$OUT/full_clf.ckpt" --input "$OUT/e2e_$c.npz" --threads "$THREADS" --repeat "$REPEAT")
  pkg=$("$PY" python/bench_python_pkg.py e2e --ckpt "$OUT/full_clf.ckpt" --input "$OUT/e2e_$c.npz" --repeat "$REPEAT")
  rust=$(target/release/examples/bench e2e "$OUT/full_clf.ckpt" "$OUT/e2e_$c.npz" "$REPEAT")
  echo "  $ref"; echo "  $pkg"; echo "  $rust"
  echo "  tabpfn / tabpfn_rs (median): $(ratio "$(echo "$ref" | med)" "$(echo "$pkg" | med)")x;" \
       "binding overhead tabpfn_rs / Rust library: $(ratio "$(echo "$pkg" | med)" "$(echo "$rust" | med)")"
done
