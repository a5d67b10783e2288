#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust workspace, then the Python package built
# into a fresh virtualenv (scripts/test-python.sh). Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
scripts/test-python.sh
