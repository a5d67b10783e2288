"""Prints max |Δ| between a Rust output .npz and a reference case .npz; exits 1 above tol."""

import sys

import numpy as np

rust, ref, mode, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
a, b = np.load(rust), np.load(ref)
worst = 0.0
for key in a.files:
    ref_key = "logits_cache" if (key == "logits" and mode == "cache") else key
    if mode == "cache" and key != "logits":
        continue
    if ref_key not in b.files:
        continue
    d = float(np.abs(a[key] - b[ref_key]).max())
    worst = max(worst, d)
    print(f"  {key:7s} ({mode}): max |Δ| = {d:.3e}  (max |ref| = {float(np.abs(b[ref_key]).max()):.3f})")
sys.exit(0 if worst <= tol else 1)
