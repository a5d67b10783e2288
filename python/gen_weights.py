"""Checkpoint fixtures for tabpfn-weights: unusual-but-valid files and hostile/broken ones.

The hostile pickles are written byte by byte (opcodes spelled out below); no real callable
is ever pickled, and nothing here unpickles them.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import torch

from common import FIXTURES, save_npz, seeded_generator, setup_torch, write_json

OUT = FIXTURES / "weights"
FIXED = (1980, 1, 1, 0, 0, 0)


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=FIXED), data)


def short_unicode(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b  # BINUNICODE


def hostile_pickle(module: str, name: str, arg: str) -> bytes:
    # PROTO 2; GLOBAL module name; BINUNICODE arg; TUPLE1; REDUCE; STOP
    return (b"\x80\x02" + b"c" + module.encode() + b"\n" + name.encode() + b"\n"
            + short_unicode(arg) + b"\x85" + b"R" + b".")


def hostile_checkpoint(module: str, name: str) -> bytes:
    # A dict {"state_dict": <call>, "config": {}} so the call sits where weights would be.
    body = (b"\x80\x02" + b"}" + short_unicode("config") + b"}" + b"s"
            + short_unicode("state_dict") + b"c" + module.encode() + b"\n" + name.encode()
            + b"\n" + short_unicode("id") + b"\x85" + b"R" + b"s" + b".")
    return body


def main() -> None:
    setup_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    g = seeded_generator(7)
    cfg = {"emsize": 8, "note": "fixture", "nested": {"a": [1, 2.5, None, True]}}

    # Valid but unusual: f16 / bf16 / f64 storages, a transposed (strided) view, two
    # tensors sharing one storage at different offsets.
    base = torch.randn(60, generator=g)
    sd = OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f16"] = torch.randn(5, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["f64"] = torch.randn(4, generator=g).double()
    sd["strided"] = torch.randn(4, 6, generator=g).t()  # shape [6, 4], stride (1, 6)
    sd["shared_a"] = base[:20].view(4, 5)
    sd["shared_b"] = base[25:55].view(5, 6)  # offset 25 into the same storage
    sd["scalar"] = torch.tensor(3.5)
    torch.save({"state_dict": sd, "config": cfg, "extra": {"version": 2}}, OUT / "mixed.ckpt")
    save_npz(OUT / "mixed_expected.npz", **{k: v.float().numpy() for k, v in sd.items()})

    ref = open(FIXTURES / "model" / "tiny_clf.ckpt", "rb").read()
    (OUT / "truncated.ckpt").write_bytes(ref[: len(ref) // 2])
    write_zip(OUT / "not_torch.zip", [("hello.txt", b"not a checkpoint\n")])
    (OUT / "empty.ckpt").write_bytes(b"")
    for label, (mod, name) in {
        "os_system": ("os", "system"),
        "builtins_eval": ("builtins", "eval"),
        "subprocess_popen": ("subprocess", "Popen"),
    }.items():
        write_zip(OUT / f"global_{label}.ckpt", [
            ("archive/data.pkl", hostile_checkpoint(mod, name)),
            ("archive/byteorder", b"little"),
            ("archive/version", b"3\n"),
        ])
    # a bare top-level hostile call, too
    write_zip(OUT / "global_top_level.ckpt", [
        ("archive/data.pkl", hostile_pickle("os", "system", "echo pwned")),
        ("archive/byteorder", b"little"),
    ])

    # storage shorter than its tensor: shrink one storage file of a valid checkpoint
    with zipfile.ZipFile(FIXTURES / "model" / "tiny_clf.ckpt") as zf:
        entries = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    storages = [n for n, _ in entries if "/data/" in n]
    victim = sorted(storages)[0]
    write_zip(OUT / "short_storage.ckpt",
              [(n, d[: len(d) // 2] if n == victim else d) for n, d in entries])

    torch.save({"config": cfg}, OUT / "no_state_dict.ckpt")
    torch.save({"state_dict": OrderedDict(w=torch.zeros(2))}, OUT / "no_config.ckpt")

    # a real model checkpoint with one tensor of the wrong shape
    ck = torch.load(FIXTURES / "model" / "tiny_clf.ckpt", weights_only=True)
    ck["state_dict"]["decoder_dict.standard.0.weight"] = ck["state_dict"][
        "decoder_dict.standard.0.weight"].t().contiguous()
    torch.save(ck, OUT / "wrong_shape.ckpt")
    ck = torch.load(FIXTURES / "model" / "tiny_clf.ckpt", weights_only=True)
    ck["state_dict"]["unexpected.weight"] = torch.zeros(3)
    torch.save(ck, OUT / "unknown_key.ckpt")
    ck = torch.load(FIXTURES / "model" / "tiny_clf.ckpt", weights_only=True)
    del ck["state_dict"]["transformer_encoder.layers.1.mlp.linear2.weight"]
    torch.save(ck, OUT / "missing_key.ckpt")
    ck = torch.load(FIXTURES / "model" / "tiny_clf.ckpt", weights_only=True)
    ck["config"]["features_per_group"] = 3
    torch.save(ck, OUT / "bad_config.ckpt")

    # safetensors with a corrupt header: valid length prefix, broken JSON
    header = b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]'  # no closing brace
    (OUT / "corrupt_header.safetensors").write_bytes(
        struct.pack("<Q", len(header)) + header + b"\0" * 8)

    write_json(OUT / "index.json", {"mixed": {"config": cfg, "extra": {"version": 2}}})
    print(f"weights fixtures -> {OUT}")


if __name__ == "__main__":
    main()
