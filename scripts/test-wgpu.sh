#!/usr/bin/env bash
# GPU code checked without a GPU: the network-parity and pipeline suites on Burn's wgpu
# backend (fusion + autotune on, as the `wgpu` feature builds it), run by a software Vulkan
# driver (Mesa's lavapipe, Debian package mesa-vulkan-drivers) against the committed
# reference fixtures, tolerance 1e-5 on network outputs as on the CPU. Not in .ci/run: the
# wgpu build alone takes ~20 min on the CI's 2 cores.
#
# Kernels::Auto runs the custom CubeCL kernels (crates/tabpfn-cubecl) there and
# Kernels::Stock Burn's own ops; the parity suite checks both against the fixtures, the
# kernels suite one against the other, and tabpfn-cubecl's suite each kernel against Burn's
# CPU op.
#
#   scripts/test-wgpu.sh            # tabpfn-cubecl + parity (15 network cases) + kernels
#   SUITES="parity pipeline" scripts/test-wgpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
  echo "no Vulkan driver: install one (Debian: apt-get install mesa-vulkan-drivers)" >&2
  exit 1
fi
# the Vulkan loader wants a runtime dir; lavapipe runs fine without a display
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
export TABPFN_DEVICE=wgpu
cargo test --locked -p tabpfn-cubecl --features wgpu -- --nocapture

args=(--lib)
for s in ${SUITES:-parity kernels}; do args+=(--test "$s"); done
cargo test --locked -p tabpfn-model --features wgpu "${args[@]}" -- --nocapture
