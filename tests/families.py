"""Constructed experiments with known answers, shared by tests and benchmarks (``benchmarks/`` puts
``tests/`` on the path).

``late_bloomers``: learning curves where the best trials start badly and overtake the median at known
steps, so a stopping rule applied earlier would have stopped them.
"""

from __future__ import annotations

import numpy as np

import hpviz
from hpviz import Float, ReservoirLog, SearchSpace, Trial, TrialState


def late_bloomers(seed: int, *, n: int = 30, steps: int = 40, top: int = 3, noise: float = 0.02,
                  framework: str | None = None) -> tuple[hpviz.Experiment, int]:
    """(experiment, known last crossing): from the returned step on, every one of the ``top`` best trials'
    noise-free curves is at or better than the noise-free median of all curves (a loss, minimised)."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, steps + 1, dtype=float)
    final = np.sort(rng.uniform(0.0, 1.0, n))
    final[:top] -= 0.3  # the late bloomers end clearly best (a gap far above the noise)
    amp = rng.uniform(0.5, 1.5, n)
    true = final[:, None] + amp[:, None] * np.exp(-t / 8.0)
    cross_at = rng.uniform(5, steps * 0.75, top)
    for i in range(top):  # late bloomers: a penalty fading linearly to zero at cross_at[i]
        true[i] += 2.0 * np.clip(1.0 - t / cross_at[i], 0.0, None)
    med = np.median(true, axis=0)
    behind = (true[:top] > med).any(axis=0)
    last_cross = int(t[np.flatnonzero(behind)[-1]] + 1) if behind.any() else 1
    obs = true + rng.normal(0.0, noise, true.shape)
    perm = rng.permutation(n)  # trial order unrelated to quality
    space = SearchSpace({"x": Float(0.0, 1.0)})
    exp = hpviz.Experiment(space, {"loss": "min"}, framework=framework)
    for number, i in enumerate(perm):
        log = ReservoirLog(capacity=steps + 8)
        for k in range(steps):
            log.append(int(t[k]), loss=float(obs[i, k]))
        exp.add(Trial(number, {"x": float(final[i])}, {"loss": float(obs[i, -1])}, TrialState.COMPLETE, log=log,
                      budget=float(steps)))
    return exp, last_cross


def halving_run(seed: int, *, n: int = 81, eta: int = 3, max_t: int = 27) -> hpviz.Experiment:
    """A successive-halving run (rungs 1, 3, 9, 27; the best 1/eta promoted) on curves where ``fast``
    decides the early values and ``good`` the final ones: v(t) = (good - 0.3)^2 + 2 * fast * exp(-t / 2)."""
    rng = np.random.default_rng(seed)
    space = SearchSpace({"good": Float(0.0, 1.0), "fast": Float(0.0, 1.0), "noise": Float(0.0, 1.0)})
    x = rng.uniform(size=(n, 3))
    t = np.arange(1, max_t + 1, dtype=float)
    curves = (x[:, 0:1] - 0.3) ** 2 + 2.0 * x[:, 1:2] * np.exp(-t / 2.0) + rng.normal(0, 0.002, (n, max_t))
    alive = np.arange(n)
    stop = np.full(n, max_t)
    rung = 1
    while rung < max_t:
        keep = max(1, alive.size // eta)
        order = alive[np.argsort(curves[alive, rung - 1], kind="stable")]
        stop[order[keep:]] = rung
        alive = order[:keep]
        rung *= eta
    exp = hpviz.Experiment(space, {"loss": "min"})
    for i in range(n):
        log = ReservoirLog(capacity=max_t + 4)
        for k in range(stop[i]):
            log.append(k + 1, loss=float(curves[i, k]))
        state = TrialState.COMPLETE if stop[i] == max_t else TrialState.PRUNED
        exp.add(Trial(i, dict(zip(space, map(float, x[i]))), {"loss": float(curves[i, stop[i] - 1])}, state,
                      log=log, budget=float(stop[i])))
    return exp


def good_region_only(seed: int, *, n: int = 120) -> hpviz.Experiment:
    """Random search where ``gate`` decides good vs bad and ``fine`` (optimum 0.7) matters only in the
    good region (gate < 0.25); ``idle`` never matters.
    y = 4 * gate + 1[gate < 0.25] * 3 * (fine - 0.7)^2 + noise."""
    rng = np.random.default_rng(seed)
    space = SearchSpace({"gate": Float(0.0, 1.0), "fine": Float(0.0, 1.0), "idle": Float(0.0, 1.0)})
    x = rng.uniform(size=(n, 3))
    y = 4 * x[:, 0] + (x[:, 0] < 0.25) * 3 * (x[:, 1] - 0.7) ** 2 + rng.normal(0, 0.01, n)
    exp = hpviz.Experiment(space, {"loss": "min"})
    for i in range(n):
        exp.add(Trial(i, dict(zip(space, map(float, x[i]))), {"loss": float(y[i])}, TrialState.COMPLETE))
    return exp
