"""A synthetic-data prior for pre-training a small TabPFN (issue 8), in the spirit of the
TabPFN papers: random structural causal models built from random MLPs with noise.

Each dataset: sample root causes, push them through a random MLP (random depth, width,
activation, noise), read features and a target off random hidden units, then make the
target a class label by thresholding or argmax. Sometimes: missing values, categorical
(integer-coded) features, heavy tails, irrelevant features. Everything is seeded.
"""

from __future__ import annotations

import numpy as np
import torch

ACTIVATIONS = [np.tanh, lambda z: np.maximum(z, 0), np.sin, lambda z: z, np.abs,
               lambda z: 1 / (1 + np.exp(-z))]


def _mlp_scm(rng: np.random.Generator, n: int, n_nodes_needed: int) -> np.ndarray:
    """Hidden activations [n, nodes] of a random noisy MLP driven by random causes."""
    n_causes = rng.integers(2, 12)
    if rng.random() < 0.5:
        h = rng.normal(size=(n, n_causes))
    else:
        h = rng.uniform(-1.5, 1.5, size=(n, n_causes))
    layers = [h]
    depth = rng.integers(2, 5)
    width = max(n_nodes_needed, int(rng.integers(8, 33)))
    noise = 10 ** rng.uniform(-2.5, -0.5)
    for _ in range(depth):
        w = rng.normal(size=(h.shape[1], width)) / np.sqrt(h.shape[1])
        w *= rng.random(w.shape) < rng.uniform(0.3, 1.0)  # sparse edges
        act = ACTIVATIONS[rng.integers(len(ACTIVATIONS))]
        h = act(h @ w + rng.normal(scale=0.5, size=width)) + rng.normal(scale=noise, size=(n, width))
        layers.append(h)
    return np.concatenate(layers[1:], axis=1)


def sample_dataset(rng: np.random.Generator, n: int, f: int, n_classes: int):
    """One classification dataset: x [n, f] float32 (NaN = missing), y [n] int in 0..C-1."""
    nodes = _mlp_scm(rng, n, f + 1)
    idx = rng.permutation(nodes.shape[1])
    x = nodes[:, idx[:f]].copy()
    t = nodes[:, idx[f]]
    if rng.random() < 0.3:  # irrelevant features
        k = rng.integers(1, max(2, f // 2 + 1))
        x[:, rng.choice(f, size=min(k, f), replace=False)] = rng.normal(size=(n, min(k, f)))
    if rng.random() < 0.5 or n_classes == 2:
        cuts = np.sort(rng.choice(t, size=n_classes - 1, replace=False))
        y = np.searchsorted(cuts, t)
    else:
        proj = nodes[:, idx[f: f + n_classes]] if nodes.shape[1] >= f + n_classes else rng.normal(size=(n, n_classes))
        y = np.argmax(proj + rng.normal(scale=0.1, size=proj.shape), axis=1)
    y = rng.permutation(n_classes)[y]
    # feature-wise nuisance: scale/shift, heavy tails, categorical codes
    x = x * 10 ** rng.uniform(-1, 1, size=f) + rng.normal(scale=2, size=f)
    for j in range(f):
        u = rng.random()
        if u < 0.1:
            x[:, j] = np.exp(np.clip(x[:, j] / (np.std(x[:, j]) + 1e-6), -10, 10))
        elif u < 0.25:
            k = rng.integers(2, 8)
            q = np.quantile(x[:, j], np.linspace(0, 1, k + 1)[1:-1])
            x[:, j] = rng.permutation(k)[np.searchsorted(q, x[:, j])]
    if rng.random() < 0.15:
        x[rng.random(x.shape) < rng.uniform(0.02, 0.2)] = np.nan
    return x.astype(np.float32), y.astype(np.int64)


CLASS_WEIGHTS = {"skewed": [6, 4, 3, 2, 2, 1, 1, 1, 1], "flat": [3, 3, 2, 2, 2, 2, 2, 2, 3]}


def sample_batch(rng: np.random.Generator, batch: int, max_rows: int = 500, max_features: int = 20,
                 classes: str = "skewed"):
    """A batch of datasets sharing rows/features: x [R, B, F], y [R, B], n_train. Feature
    counts are uniform up to 12 and log-uniform beyond (wide tables are rarer)."""
    n = int(rng.integers(30, max_rows + 1))
    if max_features <= 12 or rng.random() < 0.5:
        f = int(rng.integers(1, min(max_features, 12) + 1))
    else:
        f = int(round(np.exp(rng.uniform(np.log(12), np.log(max_features)))))
    w = np.array(CLASS_WEIGHTS[classes], dtype=float)
    c = int(rng.choice(np.arange(2, 11), p=w / w.sum()))
    n_train = int(rng.integers(max(c * 2, n // 5), int(n * 0.9)))
    xs, ys = [], []
    for _ in range(batch):
        while True:
            x, y = sample_dataset(rng, n, f, c)
            if len(np.unique(y[:n_train])) >= 2:
                break
        xs.append(x)
        ys.append(y)
    x = torch.tensor(np.stack(xs, axis=1))
    y = torch.tensor(np.stack(ys, axis=1))
    return x, y, n_train
