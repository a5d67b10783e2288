#!/usr/bin/env bash
# Rebuild every file under fixtures/ from the pinned reference (tabpfn 2.2.1, torch 2.15.0).
# Creates the venv on first use (PyPI only). Deterministic: same arrays on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
VENV=${TABPFN_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r python/requirements.txt
fi
PY="$VENV/bin/python"
"$PY" -c 'import tabpfn, torch; assert tabpfn.__version__ == "2.2.1", tabpfn.__version__; assert torch.__version__.startswith("2.15.0"), torch.__version__' 2>/dev/null \
  || "$PY" - <<'PYEOF'
import importlib.metadata as m
v = m.version("tabpfn"); t = m.version("torch")
assert v == "2.2.1", f"tabpfn {v} installed, 2.2.1 required"
assert t.startswith("2.15.0"), f"torch {t} installed, 2.15.0 required"
PYEOF
rm -rf fixtures/attention fixtures/model fixtures/weights fixtures/pipeline
cd python
"../$PY" gen_attention.py
"../$PY" gen_model.py
"../$PY" gen_weights.py
"../$PY" gen_pipeline.py
"../$PY" gen_many_class.py   # tabpfn-extensions ManyClassClassifier
"../$PY" gen_datasets.py   # also rewrites examples/*.csv
# fixtures/rng (torch's CUDA draws) needs a CUDA GPU: kept, or rebuilt there with
# `python gen_cuda_randn.py --out ../fixtures/rng/cuda_randn.npz`
if "../$PY" -c "import torch,sys;sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  "../$PY" gen_cuda_randn.py --out ../fixtures/rng/cuda_randn.npz
fi
cd ..
echo "fixtures: $(du -sh fixtures | cut -f1) in $(find fixtures -type f | wc -l) files"
echo "regen-fixtures took $(( $(date +%s) - start )) s"
