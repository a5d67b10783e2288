#!/usr/bin/env bash
# (a) convert random-init checkpoints with Rust and with Python (tabpfn 9.2.0's
#     save_as_safetensors) and compare them tensor by tensor and metadata key by key;
# (b) load the Rust-written files in Python tabpfn 9.2.0 and compare the logits of the
#     v2 model it builds with those tabpfn 2.2.1 computed from the .ckpt.
# Needs a tabpfn 9.2.0 venv (created on first use: .venv-tabpfn9, from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
V9=${TABPFN9_VENV:-.venv-tabpfn9}
if [ ! -x "$V9/bin/python" ]; then
  python3 -m venv "$V9"
  "$V9/bin/pip" install -q tabpfn==9.2.0 torch==2.15.0
fi
OUT=target/interop
mkdir -p "$OUT"
cargo build -q -p tabpfn-cli  # dev profile: dependencies optimised, shares the test build
status=0
for m in tiny_clf tiny_reg default2_clf; do
  echo "== $m"
  target/debug/tabpfn-cli convert "fixtures/model/$m.ckpt" "$OUT/$m.rust.safetensors" 2>/dev/null
  "$V9/bin/python" python/convert.py "fixtures/model/$m.ckpt" "$OUT/$m.py.safetensors" >/dev/null
  "$V9/bin/python" python/interop.py compare "$OUT/$m.rust.safetensors" "$OUT/$m.py.safetensors" || status=1
done
echo "== tabpfn 9.2.0 loads the Rust-written files"
# 9.2.0's tabpfn_v2 builds the MLP with a fixed 4x hidden width, so this part uses the
# 12-layer default-size models of scripts/parity-full.sh (cases without outlier clipping,
# which 9.2.0 moved out of the network).
P=target/parity-full
if [ ! -f "$P/full_clf10.npz" ]; then
  (cd python && "../${TABPFN_VENV:-.venv}/bin/python" gen_model.py --full --out "../$P")
fi
for m in full_clf full_reg; do
  target/debug/tabpfn-cli convert "$P/$m.ckpt" "$OUT/$m.rust.safetensors" 2>/dev/null
done
"$V9/bin/python" python/interop.py logits "$OUT/full_clf.rust.safetensors" "$P/full_clf10.npz" classifier || status=1
"$V9/bin/python" python/interop.py logits "$OUT/full_reg.rust.safetensors" "$P/full_reg.npz" regressor || status=1
[ $status = 0 ] && echo "check-interop: OK" || echo "check-interop: FAILED"
exit $status
