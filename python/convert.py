"""Reference conversion .ckpt -> .safetensors with tabpfn 9.2.0's own
`tabpfn.checkpoint.save_as_safetensors` (run in the tabpfn 9.2.0 venv).

usage: convert.py IN.ckpt OUT.safetensors
"""

import sys

import torch
from tabpfn.checkpoint import save_as_safetensors

ckpt = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
save_as_safetensors(ckpt, sys.argv[2])
print(f"python convert: {sys.argv[1]} -> {sys.argv[2]}")
