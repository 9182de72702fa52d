"""Benchmark: hpviz.diagnose on 10,000 trials x 20 parameters with 100-step logs.

Target: under 2 s (building the experiment is not timed). Run with
``python benchmarks/diagnose.py``; prints the time of each run and the best.
"""

from __future__ import annotations

import math
import time

import numpy as np

import hpviz
from hpviz import Categorical, Float, Int, SearchSpace
from hpviz.testing import make_experiment

N_TRIALS = 10_000
N_PARAMS = 20
LOG_STEPS = 100
TARGET_S = 2.0


def build() -> hpviz.Experiment:
    params = {}
    for i in range(N_PARAMS):
        kind = i % 4
        if kind == 0:
            params[f"x{i}"] = Float(-5.0, 5.0)
        elif kind == 1:
            params[f"lr{i}"] = Float(1e-5, 1e-1, log=True)
        elif kind == 2:
            params[f"n{i}"] = Int(1, 512, log=True)
        else:
            params[f"c{i}"] = Categorical(["a", "b", "c"])
    space = SearchSpace(params)
    names = list(space)

    def fn(p: dict) -> float:
        return sum((p[k] - 1.0) ** 2 for k in names if k.startswith("x")) + sum(
            (math.log10(p[k]) + 3.0) ** 2 for k in names if k.startswith("lr"))

    return make_experiment(N_TRIALS, space, fn, seed=0, log_steps=LOG_STEPS, fail_rate=0.05, prune_rate=0.3)


def main() -> None:
    t0 = time.perf_counter()
    exp = build()
    print(f"built {len(exp.trials)} trials x {len(exp.space)} params, logs of {LOG_STEPS} steps "
          f"in {time.perf_counter() - t0:.1f} s (not timed)")
    hpviz.diagnose(make_experiment(30))  # warm-up: imports scipy/pandas
    times = []
    for _ in range(3):
        t = time.perf_counter()
        d = hpviz.diagnose(exp)
        times.append(time.perf_counter() - t)
    best = min(times)
    print(f"diagnose: {', '.join(f'{x:.3f}' for x in times)} s; best {best:.3f} s "
          f"(target < {TARGET_S:.1f} s: {'OK' if best < TARGET_S else 'TOO SLOW'})")
    print(f"findings: {list(d.codes)}; reliable step: {d.reliable_step}; "
          f"best so far: {np.nanmin(d.best_so_far.to_numpy()):.4g}")


if __name__ == "__main__":
    main()
