"""Pre-train `tabpfn-mini`, the built-in classifier and regressor (issues 8 and 20).

The network is the reference package's own v2 architecture (`get_architecture`); the
checkpoint is saved as `{"state_dict", "config"}` with torch.save, the official layout, so
every loader in this project treats it exactly like the real file. Regressors also carry
`criterion.borders` (bar borders in z-scored target space) as the official regressor does.

Data come from python/prior.py: its own random structural causal models (`--prior scm`,
the shipped models) or TabICL's published generator (`--prior tabicl`), plus the nuisances
real tables have (missing cells, heavy tails, irrelevant features).

Training is anytime and resumable: constant learning rate after warm-up, an exponential
moving average of the weights (that average is what gets saved), a full training state in
`--state` (model, average, optimiser, step, clock, RNGs; large, keep it out of git), and a
synthetic validation set (fixed seed, disjoint from training draws) scored on the average
every `--val-every` steps; `--out` always holds the best average by validation loss.

The shipped models (docs/demo-model.md), from python/, `old-clf.ckpt` being issue 8's model:

  python train_mini.py --task clf --prior scm --minutes 28 --val-every 100 --warmup 100 --lr 3e-4 \
      --init old-clf.ckpt --out ../target/mini2/clf.ckpt --state ../target/mini2/clf.state
  python train_mini.py --task reg --prior scm --minutes 28 --val-every 100 --warmup 100 \
      --init old-clf.ckpt --out ../target/mini2/reg.ckpt --state ../target/mini2/reg.state

Running the same command again resumes from --state; `--device cuda` trains on a GPU.
A regressor keeps the bar borders of the model it warm-starts from (and a resumed run those
of its state): the decoder's outputs mean those bars, whatever prior the run draws from.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from tabpfn.architectures.base import get_architecture, parse_config
from tabpfn.architectures.base.bar_distribution import FullSupportBarDistribution
from tabpfn.model_loading import get_loss_criterion, get_n_out

from models import BOOKKEEPING
from prior import TablePrior

ARCH = dict(emsize=64, nhead=4, nlayers=4, nhid_factor=2, features_per_group=2, seed=0)
CLF = dict(max_num_classes=10, num_buckets=1000)
REG = dict(max_num_classes=0, num_buckets=500)


def model_config(task: str) -> dict:
    config = dict(ARCH)
    config.update(CLF if task == "clf" else REG)
    config.update(BOOKKEEPING)
    config["recompute_layer"] = False  # no activation checkpointing: faster on CPU
    return config


def build(task: str, borders: torch.Tensor | None):
    config = model_config(task)
    cfg, _ = parse_config(dict(config))
    criterion = get_loss_criterion(cfg)
    if borders is not None:
        criterion = FullSupportBarDistribution(borders, ignore_nan_targets=True)
    model = get_architecture(cfg, n_out=get_n_out(cfg, criterion), cache_trainset_representation=False)
    return config, model, criterion


def warm_start(model: torch.nn.Module, src: dict) -> int:
    """Copies every tensor of `src` (from `_tensors`) whose name and shape match (a
    classifier's encoder and transformer into a regressor); returns how many were copied."""
    own = model.state_dict()
    hits = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape}
    own.update(hits)
    model.load_state_dict(own)
    return len(hits)


def init_borders(src: dict) -> torch.Tensor | None:
    """The bar borders of a warm-start regressor's tensors (`criterion.borders`,
    [num_buckets + 1]), or None when it has none of that size (a classifier). A warm start
    keeps them: the decoder's outputs are tied to those bars, and borders re-read off a
    changed prior would silently move every bar under the trained decoder."""
    b = src.get("criterion.borders")
    if b is None or b.shape != (REG["num_buckets"] + 1,):
        return None
    return b.to(torch.float32).clone()


def _tensors(path: Path) -> dict:
    """Every tensor of an official-layout .ckpt or a shipped .safetensors asset (which keeps
    the same tensor names)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, weights_only=True)["state_dict"]


def loss_of(task, model, criterion, x, y, n_train):
    dev = next(model.parameters()).device
    x, y = x.to(dev), y.to(dev)
    out = model(x, y[:n_train])  # [R - n_train, B, n_out]
    if task == "clf":
        # Inference keeps only the first n_classes logits of a table and renormalises, so
        # the loss is the softmax over those alone: absent classes cost nothing to learn.
        n_classes = y.nan_to_num(0).amax(dim=0).long() + 1  # [B], labels are 0..c-1
        absent = torch.arange(out.shape[-1], device=dev)[None, :] >= n_classes[:, None]
        out = out.masked_fill(absent[None], float("-inf"))
        return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]),
                                                 y[n_train:].long().reshape(-1))
    return criterion(out, y[n_train:]).mean()


def save_model(path: Path, config: dict, ema: torch.nn.Module, borders) -> None:
    sd = {k: v.detach().cpu().clone() for k, v in ema.state_dict().items()}
    if borders is not None:
        sd["criterion.borders"] = borders.clone()
        # read by some loaders, never by inference: one loss per bucket, here the uniform prior's
        sd["criterion.losses_per_bucket"] = torch.zeros(len(borders) - 1)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": sd, "config": config}, tmp)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["clf", "reg"], required=True)
    ap.add_argument("--minutes", type=float, required=True, help="wall budget of this run")
    ap.add_argument("--out", type=Path, required=True, help="best averaged model (official .ckpt layout)")
    ap.add_argument("--state", type=Path, required=True, help="resumable training state")
    ap.add_argument("--init", type=Path, help="warm start from a checkpoint (matching tensors)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-rows", type=int, default=600)
    ap.add_argument("--max-features", type=int, default=64)
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--prior", choices=["scm", "tabicl"], default="scm", help="python/prior.py")
    ap.add_argument("--device", default="cpu", help="torch device of the network (e.g. cuda)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    prior = TablePrior(args.task, max_rows=args.max_rows, max_features=args.max_features, kind=args.prior)
    st = torch.load(args.state, weights_only=False, map_location="cpu") if args.state.exists() else None
    init = _tensors(args.init) if args.init is not None else None
    borders = None
    if args.task == "reg":
        if st is not None and st.get("borders") is not None:
            borders = st["borders"]
        elif init is not None:
            borders = init_borders(init)
        if borders is None:
            borders = prior.regression_borders(REG["num_buckets"], seed=12345)
    config, model, criterion = build(args.task, borders)
    model.to(args.device)
    if borders is not None:
        criterion = criterion.to(args.device)
    ema = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    step, elapsed, best = 0, 0.0, math.inf
    args.state.parent.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if st is not None:
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        step, elapsed, best = st["step"], st["elapsed"], st["best"]
        np.random.set_state(st["np"])
        random.setstate(st["py"])
        torch.set_rng_state(st["torch"].cpu())
        print(f"resumed at step {step} ({elapsed / 60:.1f} min trained)", flush=True)
    else:
        np.random.seed(args.seed)
        random.seed(args.seed)
        torch.manual_seed(args.seed)
        if init is not None:
            n = warm_start(model, init)
            ema.load_state_dict(model.state_dict())
            print(f"warm start: {n} tensors from {args.init}", flush=True)
    val = prior.validation_set(24, seed=987654)
    log = open(args.out.with_suffix(".log"), "a")

    def say(msg: str) -> None:
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    def validate() -> float:
        ema.eval()
        with torch.no_grad():
            v = float(np.mean([loss_of(args.task, ema, criterion, *b).item() for b in val]))
        ema.train()
        return v

    say(f"run: {json.dumps({k: str(v) for k, v in vars(args).items()})}")
    model.train()
    ema.train()
    start, ema_loss = time.time(), None
    while time.time() - start < args.minutes * 60:
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / args.warmup)
        x, y, n_train = prior.batch(args.batch)
        loss = loss_of(args.task, model, criterion, x, y, n_train)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        with torch.no_grad():
            decay = min(args.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        ema_loss = loss.item() if ema_loss is None else 0.99 * ema_loss + 0.01 * loss.item()
        if step % args.val_every == 0:
            v = validate()
            now = elapsed + time.time() - start
            tag = ""
            if v < best:
                best, tag = v, " (best, saved)"
                save_model(args.out, config, ema, borders)
            say(f"step {step} t={now / 60:.1f}min train(ema)={ema_loss:.4f} val={v:.4f}{tag}")
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                        "step": step, "elapsed": now, "best": best, "np": np.random.get_state(),
                        "py": random.getstate(), "torch": torch.get_rng_state(), "borders": borders},
                       args.state)
    say(f"stop: step {step}, {(elapsed + time.time() - start) / 60:.1f} min trained in all, "
        f"best val {best:.4f}, {torch.get_num_threads()} CPU thread(s)")


if __name__ == "__main__":
    main()
