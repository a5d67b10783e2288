#!/usr/bin/env bash
# Continue training tabpfn-mini (issue 20) on a lent GPU: the classifier and the regressor
# side by side on one device, each resumed from the weights in INIT_DIR, for MINUTES wall
# minutes, with BATCH tables per step (the CPU runs use 8). The best averaged weights by
# synthetic validation loss land in $OUT/{clf,reg}.ckpt with their logs; back here,
#   tabpfn-cli convert $OUT/clf.ckpt crates/tabpfn-model/assets/tabpfn-mini-classifier.safetensors
# (and the regressor), then scripts/eval-mini.sh, before shipping either.
#
#   INIT_DIR=target/mini2 MINUTES=5 BATCH=64 scripts/train-mini-gpu.sh
#
# Needs on that machine: python3 with CUDA torch and the packages of python/requirements.txt
# (tabpfn 2.2.1 for the architecture, numpy, scipy, scikit-learn for the prior); checked
# first, with a clear message. INIT_DIR's two .ckpt files must travel with the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
INIT_DIR=${INIT_DIR:-target/mini2}
MINUTES=${MINUTES:-5}
BATCH=${BATCH:-64}
OUT=${OUT:-target/mini-gpu}
mkdir -p "$OUT"
"$PY" -c "import torch, tabpfn, sklearn, scipy; assert torch.cuda.is_available(), 'torch sees no CUDA device'" \
  || { echo "train-mini-gpu: needs python3 with CUDA torch, tabpfn 2.2.1, scikit-learn, scipy" >&2; exit 1; }
for t in clf reg; do
  [ -f "$INIT_DIR/$t.ckpt" ] || { echo "train-mini-gpu: missing $INIT_DIR/$t.ckpt" >&2; exit 1; }
done
pids=()
for t in clf reg; do
  lr=5e-4; [ "$t" = clf ] && lr=3e-4
  (cd python && "$PY" train_mini.py --task "$t" --prior scm --device cuda --threads 4 \
     --minutes "$MINUTES" --batch "$BATCH" --val-every 100 --warmup 100 --lr "$lr" \
     --init "../$INIT_DIR/$t.ckpt" --out "../$OUT/$t.ckpt" --state "../$OUT/$t.state" \
     > "../$OUT/$t.stdout" 2>&1) &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
rm -f "$OUT"/*.state   # large; the checkpoints and logs are what comes back
tail -n 3 "$OUT"/*.stdout
exit $status
