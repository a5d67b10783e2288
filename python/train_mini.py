"""Pre-train `tabpfn-mini`, a small TabPFN v2 classifier, on python/prior.py (issue 8).

Uses the reference package's own v2 architecture (`get_architecture`) and saves
`{"state_dict", "config"}` with torch.save — the official checkpoint layout — so every
loader in this project treats it exactly like the real file.

  python train_mini.py --minutes 40 --out ../target/mini/stage1.ckpt
  python train_mini.py --minutes 15 --init ../target/mini/stage1.ckpt --max-features 64 \
      --classes flat --lr 3e-4 --warmup 50 --seed 1 --out ../target/mini/tabpfn-mini-classifier.ckpt
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from tabpfn.architectures.base import get_architecture, parse_config
from tabpfn.model_loading import get_loss_criterion, get_n_out

from models import BOOKKEEPING
from prior import sample_batch

CONFIG = dict(emsize=64, nhead=4, nlayers=4, nhid_factor=2, features_per_group=2,
              max_num_classes=10, num_buckets=1000, seed=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=35.0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-rows", type=int, default=200)
    ap.add_argument("--max-features", type=int, default=12)
    ap.add_argument("--classes", choices=["skewed", "flat"], default="skewed")
    ap.add_argument("--init", type=Path, help="continue from this checkpoint (same config)")
    ap.add_argument("--warmup", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    config = dict(CONFIG)
    config.update(BOOKKEEPING)
    config["recompute_layer"] = False  # no activation checkpointing: faster on CPU
    cfg, _ = parse_config(dict(config))
    criterion = get_loss_criterion(cfg)
    model = get_architecture(cfg, n_out=get_n_out(cfg, criterion), cache_trainset_representation=False)
    if args.init is not None:
        model.load_state_dict(torch.load(args.init, weights_only=True)["state_dict"])
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    budget = args.minutes * 60
    start = time.time()
    step, ema = 0, None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log = open(args.out.with_suffix(".log"), "w")
    while time.time() - start < budget:
        frac = (time.time() - start) / budget
        warm = min(1.0, (step + 1) / args.warmup)
        for g in opt.param_groups:
            g["lr"] = args.lr * warm * 0.5 * (1 + math.cos(math.pi * frac))
        x, y, n_train = sample_batch(rng, args.batch, max_rows=args.max_rows,
                                      max_features=args.max_features, classes=args.classes)
        logits = model(x, y[:n_train].float())  # [R - n_train, B, 10]
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y[n_train:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.99 * ema + 0.01 * loss.item()
        if step % 100 == 0:
            msg = f"step {step} t={time.time() - start:.0f}s loss(ema)={ema:.4f}"
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if step % 2000 == 0:
            torch.save({"state_dict": model.state_dict(), "config": config}, args.out)
    model.eval()
    torch.save({"state_dict": model.state_dict(), "config": config}, args.out)
    msg = f"done: {step} steps in {time.time() - start:.0f} s on {torch.get_num_threads()} CPU thread(s); final loss(ema) {ema:.4f}"
    print(msg)
    log.write(msg + "\n")


if __name__ == "__main__":
    main()
