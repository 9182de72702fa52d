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


def pbt_run(seed: int, *, n: int = 8, steps: int = 40, interval: int = 5, quantile: float = 0.25,
            factors: tuple[float, float] = (0.8, 1.25), noise: float = 0.002) -> hpviz.Experiment:
    """A population-based training run recorded as the Ray adapter records it (``trial_id``,
    ``config_history``, ``pbt_exploits``): every ``interval`` steps the bottom ``quantile`` clone a random
    member of the top ``quantile`` and multiply its ``lr`` by one of ``factors``. Accuracy grows by
    ``0.08 * exp(-(log10 lr + 2)^2) * (1 - acc)`` per step; ``noise`` is added to each reported value."""
    rng = np.random.default_rng(seed)
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True)})
    lr = 10 ** rng.uniform(-4, -1, n)
    acc = np.zeros(n)
    hist = [[{"step": 0, "config": {"lr": float(lr[i])}}] for i in range(n)]
    exploits: list[list[dict]] = [[] for _ in range(n)]
    logs = [ReservoirLog(capacity=steps + 8) for _ in range(n)]
    k = max(1, int(round(quantile * n)))
    for s in range(1, steps + 1):
        acc += 0.08 * np.exp(-(np.log10(lr) + 2) ** 2) * (1 - acc)
        seen = acc + rng.normal(0, noise, n)
        for i in range(n):
            logs[i].append(s, acc=float(seen[i]))
        if s % interval == 0 and s < steps:
            order = np.argsort(-seen, kind="stable")
            for i in order[-k:]:
                d = int(rng.choice(order[:k]))
                acc[i] = acc[d]
                lr[i] = float(np.clip(lr[d] * rng.choice(factors), 1e-4, 1e-1))
                exploits[i].append({"step": s, "donor": f"t{d}", "donor_step": s, "config": {"lr": float(lr[i])}})
                hist[i].append({"step": s + 1, "config": {"lr": float(lr[i])}})
    exp = hpviz.Experiment(space, {"acc": "max"}, framework="ray")
    for i in range(n):
        attrs = {"trial_id": f"t{i}", "pbt_exploits": exploits[i]}
        if len(hist[i]) > 1:
            attrs["config_history"] = hist[i]
        exp.add(Trial(i, {"lr": float(lr[i])}, {"acc": float(logs[i].points()[-1][1]["acc"])}, TrialState.COMPLETE,
                      log=logs[i], attrs=attrs))
    return exp


def model_family(name: str, seed: int, *, n: int = 40, level: float, spread: float, split_sd: float = 0.01,
                 fit_time: float = 1.0, lo: float = 0.0, hi: float = 1.0, timed: bool = False,
                 steps: int | None = None) -> hpviz.Experiment:
    """One tuned model: accuracy = level - spread * (x - 0.5)^2 (maximized) with 5 per-split scores around it
    (sd ``split_sd``) in ``attrs["split_test_acc"]`` and ``attrs["fit_time"]``; x sampled in [lo, hi] of
    the declared [0, 1] (a narrow [lo, hi] is a thinly explored space). ``timed``: the trials run one after
    another, each ``fit_time`` seconds long (start and finish times); ``steps``: ``Trial.budget``."""
    import datetime as dt

    rng = np.random.default_rng(seed)
    exp = hpviz.Experiment(SearchSpace({"x": Float(0.0, 1.0)}), {"acc": "max"}, name=name)
    clock = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        x = float(rng.uniform(lo, hi))
        true = level - spread * (x - 0.5) ** 2
        splits = (true + rng.normal(0, split_sd, 5)).tolist()
        took = float(fit_time * rng.uniform(0.8, 1.2))
        start, clock = clock, clock + dt.timedelta(seconds=took)
        exp.add(Trial(i, {"x": x}, {"acc": float(np.mean(splits))}, TrialState.COMPLETE,
                      started=start if timed else None, finished=clock if timed else None,
                      budget=None if steps is None else float(steps),
                      attrs={"split_test_acc": splits, "fit_time": took}))
    return exp
