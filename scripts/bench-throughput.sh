#!/usr/bin/env bash
# Throughput curve (issue 19): test rows predicted from one saved 1 000-row fit-with-cache
# fit (8 members) of the default-size v2 classifier (12 layers, E = 192, random weights:
# python/bench_forward.py make), for the CLI reading CSV and Parquet, and for Dask on 2
# worker processes (tabpfn_rs.distributed.predict_dask): wall time, rows/s, peak RSS.
#
#   scripts/bench-throughput.sh [ROWS ...]      (default: 10000 100000 1000000)
#
# PY: the reference venv (.venv, for the checkpoint); DATA_PY (default DASK_PY): numpy,
# pandas and pyarrow for the tables; DASK_PY: a python with
# tabpfn_rs, dask and distributed installed (skipped when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}       # the reference venv: only to build the checkpoint
DATA_PY=${DATA_PY:-${DASK_PY:-$PY}}  # numpy, pandas, pyarrow: the test tables
CLI=${CLI:-target/release/tabpfn-cli}
ROWS=("$@")
[ ${#ROWS[@]} -eq 0 ] && ROWS=(10000 100000 1000000)
D=target/bench-throughput
mkdir -p "$D"
[ -x "$CLI" ] || cargo build --release --locked -p tabpfn-cli
[ -f target/bench/full_clf.ckpt ] || (cd python && "../$PY" bench_forward.py make --out ../target/bench)
MAX=$(printf '%s\n' "${ROWS[@]}" | sort -n | tail -1)
[ -f "$D/test-$MAX.csv" ] || "$DATA_PY" - "$D" "$MAX" "${ROWS[@]}" <<'PY'
import sys
import numpy as np, pandas as pd
out, big, sizes = sys.argv[1], int(sys.argv[2]), [int(v) for v in sys.argv[3:]]
rng = np.random.default_rng(0)
w = rng.normal(size=10)
def table(n):
    x = rng.normal(size=(n, 10)).astype(np.float32)
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(10)]), x @ w
tr, s = table(1000)
tr["y"] = np.digitize(s, np.quantile(s, [1 / 3, 2 / 3]))
tr.to_csv(f"{out}/train.csv", index=False)
te, _ = table(big)
te.insert(0, "id", np.arange(big))
for n in sizes:
    te.iloc[:n].to_csv(f"{out}/test-{n}.csv", index=False)
    te.iloc[:n].to_parquet(f"{out}/test-{n}.parquet", index=False)
PY
"$CLI" predict -q --model target/bench/full_clf.ckpt --train "$D/train.csv" --target y \
  --test "$D/test-${ROWS[0]}.csv" --id-column id --fit-mode fit-with-cache \
  --save-fit "$D/fit.safetensors" -o /dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
echo "fit: 1000 train rows x 10 features, 8 members, fit-with-cache; saved fit $(du -k "$D/fit.safetensors" | cut -f1) KB"
line() {  # what, rows, secs, kb
  printf '%-22s %8d rows  wall %8.1f s  %8.0f rows/s  peak RSS %6d MB\n' "$1" "$2" "$3" \
    "$(python3 -c "print($2 / $3)")" "$(($4 / 1024))"
}
for n in "${ROWS[@]}"; do
  for fmt in csv parquet; do
    /usr/bin/time -f "%e %M" -o "$D/time.txt" "$CLI" predict -q --model target/bench/full_clf.ckpt --load-fit "$D/fit.safetensors" \
      --test "$D/test-$n.$fmt" --id-column id -o "$D/pred-$n.$fmt"
    read -r secs kb < "$D/time.txt"
    line "cli $fmt" "$n" "$secs" "$kb"
  done
  if [ -n "${DASK_PY:-}" ]; then
    "$DASK_PY" python/throughput_dask.py "$D" "$n"
  fi
done
