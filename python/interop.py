"""Interop checks, run in the tabpfn 9.2.0 venv.

  interop.py compare RUST.safetensors PY.safetensors
      tensor-by-tensor (bitwise) and metadata key-by-key comparison
  interop.py logits RUST.safetensors CASE.npz classifier|regressor
      tabpfn 9.2.0 builds its v2 model from the Rust-written file; its logits are compared
      with those the reference 2.2.1 computed from the .ckpt (stored in CASE.npz)
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open


def compare(a_path, b_path):
    ok = True
    with safe_open(a_path, "pt") as a, safe_open(b_path, "pt") as b:
        ka, kb = set(a.keys()), set(b.keys())
        if ka != kb:
            print(f"  tensor names differ: only rust {ka - kb}, only python {kb - ka}")
            ok = False
        for k in sorted(ka & kb):
            ta, tb = a.get_tensor(k), b.get_tensor(k)
            if ta.dtype != tb.dtype or ta.shape != tb.shape or not torch.equal(ta, tb):
                print(f"  tensor {k}: differs ({ta.dtype} {tuple(ta.shape)} vs {tb.dtype} {tuple(tb.shape)})")
                ok = False
        ma, mb = a.metadata() or {}, b.metadata() or {}
        if set(ma) != set(mb):
            print(f"  metadata keys differ: {set(ma)} vs {set(mb)}")
            ok = False
        for k in sorted(set(ma) & set(mb)):
            same_json = json.loads(ma[k]) == json.loads(mb[k])
            same_text = ma[k] == mb[k]
            print(f"  metadata {k}: {'equal' if same_json else 'DIFFERENT'} as JSON, "
                  f"{'byte-identical' if same_text else 'different'} as text")
            ok &= same_json
        print(f"  {len(ka & kb)} tensors compared: {'all bitwise equal' if ok else 'MISMATCH'}")
    return ok


def logits(st_path, case_path, kind):
    from tabpfn.model_loading import load_model

    model, _, _, _ = load_model(path=Path(st_path), estimator_type=kind)
    model.eval()
    d = np.load(case_path)
    x = torch.tensor(d["x"])[:, None, :]
    y = torch.tensor(d["y"])[:, None]
    with torch.no_grad():
        out = model(x, y)
    out = out[:, 0, :] if out.ndim == 3 else out
    diff = float(np.abs(out.numpy() - d["logits"]).max())
    print(f"  tabpfn 9.2.0 on the Rust-written file vs tabpfn 2.2.1 on the .ckpt "
          f"({Path(case_path).name}): max |Δ logits| = {diff:.3e}")
    return diff <= 1e-4


if __name__ == "__main__":
    if sys.argv[1] == "compare":
        sys.exit(0 if compare(sys.argv[2], sys.argv[3]) else 1)
    sys.exit(0 if logits(sys.argv[2], sys.argv[3], sys.argv[4]) else 1)
