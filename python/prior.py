"""The training prior of tabpfn-mini (issues 8 and 20).

Two generators of random tables, chosen by `kind`:

* `scm` (the shipped models): this file's random structural causal models — root causes
  pushed through a random noisy MLP whose activations include step functions (tree-like,
  piecewise-constant relations) — with features and target read off random hidden units;
  classes by random quantile cuts or an argmax, regression targets the unit itself.
  Pre-activations are z-scored per unit so a unit's signal never drowns in its noise, and
  a share (`LINEAR_SHARE`) of tables takes its target as a sparse linear function of the
  observed features (a multinomial-logit world for argmax classes): before these two
  changes a Random Forest was within 5 points of the majority class on 60 % of the tables,
  after them on 35-40 % (RF accuracy 0.63 -> 0.73-0.75 on 300-row tables; measured in
  session 13, docs/demo-model.md). Session 14 added two things: a share of classification
  tables made of clusters (`cluster_classes`: clean many-class tables, which the SCM
  never produced), and a regression target with its own noise model
  (`regression_target`: controlled signal share, heavy-tailed, skewed and input-dependent
  noise, skewed, censored and count targets). Session 15 made the cluster share grow with the
  class count and contaminated a few training targets of a share of regression tables
  (`contaminate`). Session 16 drew 30 % of the classification steps wide and many-class
  (`WIDE_SHARE`) and contaminated more regression tables. `python/prior_signal.py`
  measures the signal.
* `tabicl`: TabICL's published generator (`tabicl.prior.PriorDataset`, BSD-3, pinned in
  python/requirements-train.txt), `mix_scm` (MLP and tree SCMs). Measured here with its
  default hyper-parameters, most of its tables carry little signal (a Random Forest is at
  the majority class / training mean on the median table), which a small model trained for
  an hour on a CPU could not learn from (docs/demo-model.md); kept for runs with more compute.

On top of either, what real tables have: missing cells, heavy-tailed columns and pure-noise
columns. Everything draws from numpy's and torch's global RNGs, which `train_mini.py` seeds
and checkpoints.

Shapes are the v2 network's: x [rows, batch, features] float32 (NaN = missing), y [rows,
batch] float32 (class index, or the z-scored target), and the number of training rows.
"""

from __future__ import annotations

import numpy as np
import torch

# Tokens (rows x (feature groups + 1) x datasets) one step may hold: keeps a step's cost
# roughly flat whether it draws many small tables or a few large ones.
TOKEN_BUDGET = 40_000

# share of tables whose target is a sparse linear function of their features
LINEAR_SHARE = 0.4

# share of classification tables drawn as classes of clusters (`cluster_classes`): 20 % of
# the binary tables, rising by 5 points a class to 60 % of the 10-class ones (session 15:
# clean many-class tables like digits were about 1.3 % of all tables at a flat 20 %)
CLUSTER_SHARE = 0.2
CLUSTER_SHARE_PER_CLASS = 0.05

# share of regression tables with a few contaminated training targets (`contaminate`;
# session 15 0.2, session 16 0.3)
CONTAMINATION_SHARE = 0.3

# share of classification steps drawn wide and many-class (`_shape`, session 16): 5-10
# classes and 24-64 features, the corner where the model still hedges (digits: 10 classes,
# 64 features); under the plain shape draw alone they are about 12 % of the steps
WIDE_SHARE = 0.3

# z-scored regression targets are clipped to ±LIMIT, the outer bar borders
LIMIT = 10.0


ACTIVATIONS = [np.tanh, lambda z: np.maximum(z, 0), np.sin, lambda z: z, np.abs,
               lambda z: 1 / (1 + np.exp(-z)),
               # step functions: the axis-aligned, piecewise-constant relations trees fit
               lambda z: (z > 0).astype(float), lambda z: np.floor(2 * z) / 2]


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
    noise = 10 ** rng.uniform(-3, -1)
    for _ in range(depth):
        h = _random_layer(rng, h, width, noise)
        layers.append(h)
    return np.concatenate(layers[1:], axis=1)


def _random_layer(rng: np.random.Generator, h: np.ndarray, width: int, noise: float) -> np.ndarray:
    """One noisy layer of a random MLP, h [n, k] -> [n, width]: sparse Gaussian weights, a
    random activation, Gaussian noise of scale `noise` on every unit."""
    w = rng.normal(size=(h.shape[1], width)) / np.sqrt(h.shape[1])
    w *= rng.random(w.shape) < rng.uniform(0.3, 1.0)  # sparse edges
    act = ACTIVATIONS[rng.integers(len(ACTIVATIONS))]
    # unit-variance pre-activations: with sparse edges a unit's signal could otherwise
    # shrink below the noise, and most tables carried no learnable signal (measured
    # before this: a Random Forest within 5 points of the majority class on 60 % of them)
    z = _standardise(h @ w)
    return act(z + rng.normal(scale=0.5, size=width)) + rng.normal(scale=noise, size=(len(h), width))


def _standardise(v: np.ndarray) -> np.ndarray:
    """v [n] or [n, k], each column to mean 0 and standard deviation ~1 (constant columns to 0)."""
    return (v - v.mean(axis=0)) / (v.std(axis=0) + 1e-6)


def sample_dataset(rng: np.random.Generator, n: int, f: int, n_classes: int):
    """One dataset: x [n, f] float32 (NaN = missing), y [n]: int in 0..C-1, or float (the
    latent target, plus noise) when `n_classes` is 0."""
    nodes = _mlp_scm(rng, n, f + 1)
    idx = rng.permutation(nodes.shape[1])
    x = nodes[:, idx[:f]].copy()
    t = nodes[:, idx[f]]
    if rng.random() < 0.3:  # irrelevant features
        k = rng.integers(1, max(2, f // 2 + 1))
        x[:, rng.choice(f, size=min(k, f), replace=False)] = rng.normal(size=(n, min(k, f)))
    linear = rng.random() < LINEAR_SHARE
    if linear:
        # the target a sparse linear function of the latent features (before the nuisances
        # of `observed`): the near-linearly separable tables (and near-linear regressions)
        # real suites are full of. Linear in the features as observed (heavy tails and all)
        # was tried in session 14 and cost the regressor validation R² (docs/demo-model.md).
        xs = _standardise(x)
        beta = rng.normal(size=f) * (rng.random(f) < rng.uniform(0.3, 1.0))
        if not beta.any():
            beta[rng.integers(f)] = 1.0
        t = xs @ beta
    if n_classes == 0:
        y = regression_target(rng, t, nodes)
    elif rng.random() < 0.5 or n_classes == 2:
        cuts = np.sort(rng.choice(t, size=n_classes - 1, replace=False))
        y = np.searchsorted(cuts, t)
    else:
        if linear:  # a multinomial-logit world: class scores linear in the features
            b = rng.normal(size=(f, n_classes)) * (rng.random((f, n_classes)) < 0.7)
            proj = xs @ b
        elif nodes.shape[1] >= f + n_classes:
            proj = nodes[:, idx[f: f + n_classes]]
        else:
            proj = rng.normal(size=(n, n_classes))
        y = np.argmax(proj + rng.normal(scale=0.1, size=proj.shape), axis=1)
    if n_classes > 0:
        y = rng.permutation(n_classes)[y]
        if rng.random() < CLUSTER_SHARE + CLUSTER_SHARE_PER_CLASS * (n_classes - 2):
            x, y = cluster_classes(rng, n, f, n_classes)
    x = observed(rng, x)
    if rng.random() < 0.15:
        x[rng.random(x.shape) < rng.uniform(0.02, 0.2)] = np.nan
    return x.astype(np.float32), y


def observed(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Feature-wise nuisance on x [n, f]: a random scale and shift per column, exponential
    heavy tails (10 % of columns), integer-coded categories (15 %)."""
    f = x.shape[1]
    x = x * 10 ** rng.uniform(-1, 1, size=f) + rng.normal(scale=2, size=f)
    for j in range(f):
        u = rng.random()
        if u < 0.1:
            x[:, j] = np.exp(np.clip(x[:, j] / (np.std(x[:, j]) + 1e-6), -10, 10))
        elif u < 0.25:
            k = rng.integers(2, 8)
            q = np.quantile(x[:, j], np.linspace(0, 1, k + 1)[1:-1])
            x[:, j] = rng.permutation(k)[np.searchsorted(q, x[:, j])]
    return x


def cluster_classes(rng: np.random.Generator, n: int, f: int, c: int):
    """x [n, f], y [n]: each class one to three clusters in a latent space, seen through a
    random nonlinear map. The SCM's many-class tables are cut from one or a few noisy
    units and are never clean (a Random Forest scores 0.55 on its 10-class tables of 400
    training rows), while real many-class tables often are (digits: 0.97); without such
    tables the model learns that many classes mean hedging."""
    d = int(rng.integers(2, 17))
    modes = int(rng.integers(1, 4))
    centres = rng.normal(size=(c, modes, d)) * rng.uniform(1.0, 3.0)
    weights = rng.dirichlet(np.full(c, rng.uniform(1.0, 10.0)))
    y = rng.choice(c, size=n, p=weights)
    y[rng.permutation(n)[:c]] = np.arange(c)  # every class present
    z = centres[y, rng.integers(modes, size=n)] + rng.normal(size=(n, d)) * rng.uniform(0.3, 1.2)
    return _random_layer(rng, z, f, 10 ** rng.uniform(-3, -1)), y


def contaminate(rng: np.random.Generator, y: np.ndarray, n_train: int) -> np.ndarray:
    """y [n] with one to three of its first `n_train` (training) rows moved 3-10 standard
    deviations away, the test rows untouched: teaches the regressor that a lone extreme
    training target its features do not explain is not to be copied to its neighbours.
    Measured before this (docs/demo-model.md): with one such row in its training set
    (statecrime: the District of Columbia) the regressor predicted near it for the test
    rows closest in feature space and scored below the training mean."""
    y = y.copy()
    k = int(rng.integers(1, 4))
    rows = rng.choice(n_train, size=min(k, n_train), replace=False)
    sign = np.where(rng.random(len(rows)) < 0.8, 1.0, -1.0)  # mostly upward, as skewed targets are
    y[rows] += sign * rng.uniform(3, 10, size=len(rows)) * (y[:n_train].std() + 1e-6)
    return y


def regression_target(rng: np.random.Generator, t: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """A regression target [n] from the latent signal t [n]: real targets are noisy (the
    validation suite's ridge R² is 0.56 on average), with heavy-tailed and input-dependent
    noise, and often skewed, censored at zero or integer counts. Before, the latent signal
    explained at least 90 % of every target's variance (docs/demo-model.md)."""
    n = len(t)
    s = _standardise(t)
    # the share of variance the features explain, uniform over the range real tables span
    r2 = rng.uniform(0.3, 1.0)
    u = rng.random()
    if u < 0.5:
        e = rng.normal(size=n)
    elif u < 0.8:  # heavy tails: Student-t, unit scale
        e = rng.standard_t(rng.uniform(1.5, 6.0), size=n)
        e /= np.std(np.clip(e, -10, 10)) + 1e-6
    else:  # skewed: centred log-normal
        e = np.exp(rng.uniform(0.3, 1.2) * rng.normal(size=n))
        e = _standardise(e)
    if rng.random() < 0.4:  # heteroscedastic: the noise scale moves with the signal or a unit
        z = s if rng.random() < 0.5 else nodes[:, rng.integers(nodes.shape[1])]
        z = _standardise(z)
        e *= np.exp(np.clip(rng.uniform(-1, 1) * z, -3, 3))
        e /= e.std() + 1e-6
    y = np.sqrt(r2) * s + np.sqrt(1 - r2) * e
    u = rng.random()
    if u < 0.1:  # skewed positive targets (incomes, prices, counts)
        y = np.exp(rng.uniform(0.2, 1.0) * y)
    elif u < 0.2:  # censored at zero (spending, visits): a point mass at the minimum
        y = np.maximum(y - np.quantile(y, rng.uniform(0.1, 0.6)), 0)
    elif u < 0.3:  # integer counts or ratings
        y = np.round((y - y.min()) * rng.uniform(0.5, 4))
    return y


class TablePrior:
    def __init__(self, task: str, max_rows: int = 600, max_features: int = 64,
                 min_rows: int = 20, kind: str = "scm") -> None:
        self.task, self.max_rows, self.max_features, self.min_rows = task, max_rows, max_features, min_rows
        self.kind = kind
        if kind == "tabicl":
            from tabicl.prior import PriorDataset
            self.ds = PriorDataset(regression=task == "reg", batch_size=8, batch_size_per_gp=8,
                                   min_features=1, max_features=max_features, max_classes=10,
                                   max_seq_len=max_rows, min_train_size=0.2, max_train_size=0.9,
                                   prior_type="mix_scm", n_jobs=1)

    def _shape(self, wide: bool = False) -> tuple[int, int, int]:
        """Rows log-uniform in [min_rows, max_rows]; features half uniform in 1..12, half
        log-uniform up to max_features (`wide`: log-uniform from 24); as many datasets as
        the token budget allows."""
        n = int(np.exp(np.random.uniform(np.log(self.min_rows), np.log(self.max_rows))))
        if wide and self.max_features > 24:
            f = int(round(np.exp(np.random.uniform(np.log(24), np.log(self.max_features)))))
        elif np.random.random() < 0.5 or self.max_features <= 12:
            f = int(np.random.randint(1, min(12, self.max_features) + 1))
        else:
            f = int(round(np.exp(np.random.uniform(np.log(12), np.log(self.max_features)))))
        b = int(np.clip(TOKEN_BUDGET // (n * ((f + 1) // 2 + 1)), 2, 16))
        return n, f, b

    def batch(self, _batch: int | None = None):
        wide = self.task == "clf" and self.kind == "scm" and np.random.random() < WIDE_SHARE
        n, f, b = self._shape(wide)
        if self.kind == "tabicl":
            p = self.ds.prior
            p.min_seq_len, p.max_seq_len = None, n
            p.min_features = p.max_features = f
            x, y, d, _, train_sizes = self.ds.get_batch(b)  # x [B, n, f], y [B, n]
            n_train = int(train_sizes[0])
            x = x[:, :, : max(1, int(d.max()))].numpy().astype(np.float64)
            y = y.numpy().astype(np.float64)
        else:
            x, y, n_train = self._scm_batch(n, f, b, wide)
        for i in range(b):
            if self.kind == "tabicl":
                x[i] = nuisances(x[i])
            if self.task == "reg":
                y[i] = zscore(y[i], n_train)
        x = torch.tensor(x, dtype=torch.float32).transpose(0, 1).contiguous()
        y = torch.tensor(y, dtype=torch.float32).transpose(0, 1).contiguous()
        return x, y, n_train

    def _scm_batch(self, n: int, f: int, b: int, wide: bool = False):
        """`b` SCM tables of n rows and f features; classes 2–10 (half of them binary;
        `wide`: 5–10)."""
        rng = np.random.default_rng(np.random.randint(2**63 - 1))
        if self.task == "reg":
            c = 0
        elif wide:
            c = int(rng.integers(5, 11))
        else:
            c = 2 if rng.random() < 0.4 else int(rng.integers(2, 11))
        n_train = int(rng.integers(max(2 * c, n // 5, 2), max(int(n * 0.9), max(2 * c, n // 5, 2) + 1)))
        n_train = min(n_train, n - 1)
        xs, ys = [], []
        for _ in range(b):
            for _attempt in range(20):
                x, y = sample_dataset(rng, n, f, c)
                if c == 0 or len(np.unique(y[:n_train])) >= 2:
                    break
            if c == 0 and rng.random() < CONTAMINATION_SHARE:
                y = contaminate(rng, y, n_train)
            xs.append(x)
            ys.append(y)
        return np.stack(xs).astype(np.float64), np.stack(ys).astype(np.float64), n_train

    def validation_set(self, count: int, seed: int):
        """`count` batches from a fixed seed, the global RNG states restored afterwards."""
        np_state, torch_state = np.random.get_state(), torch.get_rng_state()
        np.random.seed(seed)
        torch.manual_seed(seed)
        out = [self.batch() for _ in range(count)]
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
        return out

    def regression_borders(self, num_buckets: int, seed: int, batches: int = 150) -> torch.Tensor:
        """Bar borders: quantiles of z-scored test-row targets pooled over prior draws (the
        official regressor's borders are likewise read off its prior), the outer two at ±LIMIT;
        strictly increasing."""
        np_state, torch_state = np.random.get_state(), torch.get_rng_state()
        np.random.seed(seed)
        torch.manual_seed(seed)
        pooled = []
        for _ in range(batches):
            _, y, n_train = self.batch()
            pooled.append(y[n_train:].reshape(-1).numpy())
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
        v = np.concatenate(pooled)
        v = v[np.isfinite(v)]
        b = np.quantile(v, np.linspace(0, 1, num_buckets + 1))
        b[0], b[-1] = -LIMIT, LIMIT
        # ties (discrete targets) would make empty bars: spread them minimally
        for i in range(1, len(b)):
            b[i] = max(b[i], b[i - 1] + 1e-4)
        return torch.tensor(b, dtype=torch.float32)


def zscore(y: np.ndarray, n_train: int) -> np.ndarray:
    """As the regressor's inference does: by the training rows' mean and std."""
    mu, sd = y[:n_train].mean(), y[:n_train].std()
    # clipped to the bar borders' span: a heavy-tailed draw would otherwise put test rows
    # hundreds of standard deviations out, where the tail loss swamps a whole batch
    return np.clip((y - mu) / (sd if sd > 1e-8 else 1.0), -LIMIT, LIMIT)


def nuisances(x: np.ndarray) -> np.ndarray:
    """x [rows, features]: pure-noise columns (20 % of tables), heavy-tailed columns (8 % of
    columns), missing cells (20 % of tables, 2–30 % of cells, whole-row or per-cell)."""
    n, f = x.shape
    if f > 1 and np.random.random() < 0.2:
        k = np.random.randint(1, max(2, f // 3 + 1))
        cols = np.random.choice(f, size=min(k, f - 1), replace=False)
        x[:, cols] = np.random.normal(size=(n, len(cols)))
    for j in range(f):
        if np.random.random() < 0.08:
            z = (x[:, j] - x[:, j].mean()) / (x[:, j].std() + 1e-6)
            x[:, j] = np.exp(np.clip(z * np.random.uniform(0.5, 2.0), -20, 20))
    if np.random.random() < 0.2:
        rate = np.random.uniform(0.02, 0.3)
        mask = np.random.random(x.shape) < rate
        if np.random.random() < 0.3:  # missingness tied to a column's value (not at random)
            j = np.random.randint(f)
            mask[:, j] = x[:, j] > np.quantile(x[:, j], 1 - rate)
        x[mask] = np.nan
    return x
