"""Attention fixtures: the reference MultiHeadAttention on the eight scenarios.

Writes fixtures/attention/<scenario>.npz (weights under their checkpoint names, inputs,
reference outputs) and fixtures/attention/index.json (sizes and call options).
"""

from __future__ import annotations

import torch
from tabpfn.architectures.base.attention.full_attention import MultiHeadAttention
from tabpfn.architectures.base.config import ModelConfig

from common import FIXTURES, np_, refill_, save_npz, seeded_generator, setup_torch, write_json

OUT = FIXTURES / "attention"


def make(emsize, nhead, *, d_k=None, d_v=None, share=1, dropout_p=None, seed=0):
    cfg = ModelConfig(emsize=emsize, nhead=nhead, max_num_classes=10, num_buckets=100)
    d_k = d_k or emsize // nhead
    d_v = d_v or emsize // nhead
    m = MultiHeadAttention(
        d_k=d_k,
        d_v=d_v,
        device=None,
        dtype=None,
        config=cfg,
        share_kv_across_n_heads=share,
        dropout_p=dropout_p,
    )
    refill_(m, seed)
    m.eval()
    meta = dict(emsize=emsize, nhead=nhead, nhead_kv=nhead // share, d_k=d_k, d_v=d_v,
                dropout_p=dropout_p or 0.0)
    return m, meta


def weights(m):
    out = {}
    for name in ["_w_qkv", "_w_q", "_w_kv", "_w_k", "_w_v", "_w_out"]:
        p = getattr(m, name)
        if p is not None:
            out[name] = np_(p)
    return out


def randn(g, *shape, scale=1.0):
    return torch.randn(*shape, generator=g) * scale


def main() -> None:
    setup_torch()
    index = {}
    g = seeded_generator(1234)

    def record(name, m, meta, call, **arrays):
        save_npz(OUT / f"{name}.npz", **weights(m), **{k: np_(v) for k, v in arrays.items()})
        index[name] = dict(meta, call=call)

    with torch.no_grad():
        # 1. basic self-attention, small.
        m, meta = make(16, 4, seed=1)
        x = randn(g, 3, 9, 16)
        record("basic_self", m, meta, "self", x=x, out=m(x))

        # 2. cross-attention with large-magnitude inputs.
        m, meta = make(16, 4, seed=2)
        x = randn(g, 2, 5, 16, scale=6.0)
        x_kv = randn(g, 2, 11, 16, scale=6.0)
        record("cross", m, meta, "cross", x=x, x_kv=x_kv, out=m(x, x_kv))

        # 3. d_k != d_v: separate _w_q, _w_k, _w_v.
        m, meta = make(12, 3, d_k=4, d_v=6, seed=3)
        x = randn(g, 2, 6, 12)
        record("dk_ne_dv", m, meta, "self", x=x, out=m(x))

        # 4. K/V shared across 2 heads: _w_q + _w_kv with 2 K/V heads.
        m, meta = make(16, 4, share=2, seed=4)
        x = randn(g, 2, 7, 16)
        x_kv = randn(g, 2, 10, 16)
        record("share_kv", m, meta, "cross", x=x, x_kv=x_kv, out=m(x, x_kv))

        # 5 + 6. KV cache: the train call caches head 0, the test call uses it (and the
        # uncached multi-query call must agree with it).
        m, meta = make(16, 4, seed=5)
        x_train = randn(g, 3, 10, 16)
        x_test = randn(g, 3, 4, 16)
        out_train = m(x_train, x_train.clone(), cache_kv=True, only_cache_first_head_kv=True)
        kv_cache = m._kv_cache.clone()
        record("cache_build", m, meta, "cache_build", x=x_train, out=out_train, kv_cache=kv_cache)
        out_cached = m(x_test, None, use_cached_kv=True, reuse_first_head_kv=True)
        m.empty_kv_cache()
        out_reuse = m(x_test, x_train, reuse_first_head_kv=True)
        record("use_cached", m, meta, "use_cached", x=x_test, x_kv=x_train, kv_cache=kv_cache,
               out=out_cached, out_reuse=out_reuse)

        # 7. streaming: the reference splits the flat batch with save_peak_mem_factor and
        # adds the residual in place; the output is x + attn(x).
        m, meta = make(16, 4, seed=7)
        x = randn(g, 8, 13, 16)
        out = m(x.clone(), add_input=True, allow_inplace=True, save_peak_mem_factor=4)
        record("streaming", m, meta, "self_residual", x=x, out=out)

        # 8. default width, large batch, dropout configured, eval mode.
        m, meta = make(192, 6, dropout_p=0.1, seed=8)
        x = randn(g, 64, 50, 192)
        a, b = m(x), m(x)
        applies = not torch.equal(a, b)
        # torch's SDPA applies dropout_p whatever the module's mode; the inference output
        # of the reference (whose layers never set dropout_p) is the one with p unused.
        m.dropout_p = None
        out = m(x)
        m.dropout_p = 0.1
        meta["reference_sdpa_applies_dropout_in_eval"] = bool(applies)
        record("large_dropout_eval", m, meta, "self", x=x, out=out)

    write_json(OUT / "index.json", index)
    print(f"attention fixtures: {len(index)} scenarios -> {OUT}")


if __name__ == "__main__":
    main()
