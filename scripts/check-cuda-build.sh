#!/usr/bin/env bash
# The CUDA build, offline and without a GPU: `--features cuda` compiles and links with the
# cubecl-llvm stand-in patched in (vendor/cubecl-llvm-standin/README.md), so no LLVM is
# downloaded; then the binary is asked for the CUDA device, which fails cleanly on a machine
# without libcuda. Run it where a GPU is lent to get timings instead (scripts/gpu-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --offline --release -p tabpfn-cli --features cuda
if cargo tree --locked --offline -p tabpfn-cli --features cuda -i tracel-llvm-bundler >/dev/null 2>&1; then
  echo "tracel-llvm-bundler is in the cuda build graph: the stand-in patch did not apply" >&2
  exit 1
fi
echo "cuda build: ok ($(ls -la target/release/tabpfn-cli | awk '{print $5}') bytes, no LLVM in the graph)"
out=$(target/release/tabpfn-cli predict --device cuda --train examples/iris_train.csv \
  --target species --id-column id --test examples/iris_test.csv -q 2>&1 || true)
echo "cuda device on this machine: ${out:0:300}"
