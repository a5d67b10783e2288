#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for MINUTES minutes each (default 10), one after
# the other, with libFuzzer's memory limit, and writes a summary table (executions, crashes,
# run length) to fuzz/summary-<date>.txt. Seeds are made from fixtures/ and examples/ into
# fuzz/corpus/ (not committed). Needs the nightly toolchain and `cargo install cargo-fuzz`.
#
#   scripts/fuzz.sh [MINUTES] [TARGET ...]
#
# A crash leaves its input under fuzz/artifacts/<target>/; reproduce it with
# `cargo +nightly fuzz run <target> <file>` and turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(pickle checkpoint torch_zip safetensors saved_fit csv npz)
RSS_MB=${RSS_MB:-2048}
C=fuzz/corpus
mkdir -p "$C"

# --- seeds --------------------------------------------------------------------------
# TABPFN_CLI: an already built tabpfn-cli to make the seeds with (saves a release build of Burn)
CLI=${TABPFN_CLI:-}
if [ -z "$CLI" ]; then
  cargo build --release -q -p tabpfn-cli
  CLI=target/release/tabpfn-cli
fi
seed() { mkdir -p "$C/$1"; }
seed pickle; seed checkpoint; seed torch_zip; seed safetensors; seed saved_fit; seed csv; seed npz
for f in fixtures/model/tiny_clf.ckpt fixtures/model/tiny_reg.ckpt fixtures/model/tiny_clf_f1.ckpt \
         fixtures/weights/*.ckpt fixtures/weights/*.safetensors; do
  [ -s "$f" ] || continue
  cp "$f" "$C/checkpoint/$(basename "$f")"
  unzip -p "$f" '*/data.pkl' > "$C/pickle/$(basename "$f").pkl" 2>/dev/null || rm -f "$C/pickle/$(basename "$f").pkl"
done
for f in fixtures/model/tiny_clf.ckpt fixtures/model/tiny_reg.ckpt; do
  $CLI convert "$f" "$C/safetensors/$(basename "$f" .ckpt).safetensors" >/dev/null
done
python3 - "$C/torch_zip" fixtures/model/tiny_clf.ckpt fixtures/model/tiny_clf_f1.ckpt <<'PY'
import sys, zipfile, os
out = sys.argv[1]
for path in sys.argv[2:]:
    z = zipfile.ZipFile(path)
    names = z.namelist()
    pkl = z.read([n for n in names if n.endswith("data.pkl")][0])
    storages = b"".join(z.read(n) for n in sorted(names) if "/data/" in n)
    rest = pkl + storages
    cut = round(255 * len(pkl) / len(rest))
    open(os.path.join(out, os.path.basename(path) + ".seed"), "wb").write(bytes([cut, 0]) + rest)
PY
for mode in fit-preprocessors fit-with-cache; do
  $CLI predict -q --model fixtures/model/tiny_clf.ckpt --train examples/iris_train.csv \
    --target species --test examples/iris_test.csv --id-column id --n-estimators 2 \
    --fit-mode $mode --save-fit "$C/saved_fit/clf-$mode.raw" > /dev/null
  $CLI predict -q --model fixtures/model/tiny_reg.ckpt --train examples/diabetes_train.csv \
    --target progression --test examples/diabetes_test.csv --id-column id --n-estimators 2 \
    --fit-mode $mode --save-fit "$C/saved_fit/reg-$mode.raw" > /dev/null
done
for f in "$C"/saved_fit/clf-*.raw; do { printf '\x00'; cat "$f"; } > "${f%.raw}.seed"; done
for f in "$C"/saved_fit/reg-*.raw; do { printf '\x01'; cat "$f"; } > "${f%.raw}.seed"; done
rm -f "$C"/saved_fit/*.raw
cp examples/*.csv "$C/csv/"
printf 'a;b;y\n1;"x;y";2\n' > "$C/csv/semicolon.csv"
printf 'a,b\n1,"unterminated\n2,3\n' > "$C/csv/quote.csv"
cp fixtures/model/*.npz "$C/npz/"

# --- runs ---------------------------------------------------------------------------
SUMMARY=fuzz/summary-$(date +%Y%m%d-%H%M).txt
printf '%-12s %10s %12s %8s %s\n' target seconds executions crashes corpus > "$SUMMARY"
for t in "${TARGETS[@]}"; do
  log=fuzz/$t.log
  rm -rf "fuzz/artifacts/$t"
  cargo +nightly fuzz run "$t" "$C/$t" -- \
    -max_total_time=$((MINUTES * 60)) -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" \
    -timeout=30 -max_len=262144 -print_final_stats=1 > "$log" 2>&1 || true
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  secs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -oE 'in [0-9]+' | grep -oE '[0-9]+' | tail -1)
  crashes=$(find "fuzz/artifacts/$t" -type f 2>/dev/null | wc -l)
  corpus=$(find "$C/$t" -type f | wc -l)
  printf '%-12s %10s %12s %8s %s\n' "$t" "${secs:-?}" "${execs:-?}" "$crashes" "$corpus" | tee -a "$SUMMARY"
done
echo "summary: $SUMMARY"
