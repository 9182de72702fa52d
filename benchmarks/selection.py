"""Model selection and budget curves: pareto_front and expected_best at scale.

Usage: python benchmarks/selection.py [--trials 100000] [--curve-trials 10000]

Prints, measured in this run:

- pareto_front on an Experiment of 100,000 trials x 3 objectives (random
  data; the experiment is built outside the timer), and the underlying array
  function ``nondominated`` on the same matrix, against a plain O(n^2)
  baseline (each row compared with all rows in NumPy) on a 5,000-row subset;
- expected_best on 10,000 trials (V and U estimators, with the DKW band),
  against the dense O(N^2) evaluation of the same closed form.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import hpviz
from hpviz import Experiment, Float, Trial
from hpviz.analysis.budget import expected_max
from hpviz.analysis.select import nondominated


def _best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _quadratic_front(F: np.ndarray) -> np.ndarray:
    out = np.ones(len(F), dtype=bool)
    for i in range(len(F)):
        dominated = (F <= F[i]).all(axis=1) & (F < F[i]).any(axis=1)
        out[i] = not dominated.any()
    return out


def _dense_v(y: np.ndarray) -> np.ndarray:
    N = len(y)
    F = np.arange(1, N + 1) / N
    d = np.diff(y)
    ns = np.arange(1, N + 1, dtype=float)
    # Every term of the sum, vectorized in blocks of rows: the textbook evaluation.
    return np.concatenate([y[-1] - (F[None, :-1] ** ns[a:a + 256, None]) @ d for a in range(0, N, 256)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--curve-trials", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    # ---------------------------------------------------------------- Pareto
    n = args.trials
    F = rng.random((n, 3))
    t0 = time.perf_counter()
    exp = Experiment({"x": Float(0.0, 1.0)}, {"loss": "min", "latency": "min", "acc": "max"})
    for i in range(n):
        exp.add(Trial(i, {"x": 0.5}, {"loss": F[i, 0], "latency": F[i, 1], "acc": 1.0 - F[i, 2]}))
    build = time.perf_counter() - t0
    t_front = _best_of(lambda: hpviz.pareto_front(exp), repeat=1)
    size = len(hpviz.pareto_front(exp))
    t_array = _best_of(lambda: nondominated(F))
    F2 = F[:, :2]
    t_array2 = _best_of(lambda: nondominated(F2))
    sub = F[:5_000]
    t_sub = _best_of(lambda: nondominated(sub))
    t0 = time.perf_counter()
    quad = _quadratic_front(sub)
    t_quad = time.perf_counter() - t0
    assert (nondominated(sub) == quad).all()
    print(f"pareto_front, {n:,} trials x 3 objectives (front: {size} trials)")
    print(f"  building the Experiment (not timed below) {build:8.3f} s")
    print(f"  hpviz.pareto_front(exp)                   {t_front:8.3f} s")
    print(f"  nondominated(array), 3 objectives         {t_array:8.3f} s")
    print(f"  nondominated(array), 2 objectives         {t_array2:8.3f} s")
    print(f"  5,000-row subset: nondominated {t_sub:.4f} s vs O(n^2) baseline {t_quad:.3f} s "
          f"({t_quad / t_sub:,.0f}x)")

    # ---------------------------------------------------------------- expected best
    N = args.curve_trials
    x = rng.normal(size=N)
    exp_b = Experiment({"x": Float(0.0, 1.0)}, {"acc": "max"}, [Trial(i, {"x": 0.5}, {"acc": v}) for i, v in enumerate(x)])
    t_v = _best_of(lambda: hpviz.expected_best(exp_b))
    t_u = _best_of(lambda: hpviz.expected_best(exp_b, estimator="u"))
    t_nb = _best_of(lambda: hpviz.expected_best(exp_b, band=None))
    y = np.sort(x)
    t_arr = _best_of(lambda: expected_max(y, np.arange(1, N + 1) / N, np.arange(1, N + 1)))
    t0 = time.perf_counter()
    dense = _dense_v(y)
    t_dense = time.perf_counter() - t0
    err = np.abs(expected_max(y, np.arange(1, N + 1) / N, np.arange(1, N + 1)) - dense).max()
    print(f"expected_best, {N:,} trials, n = 1..{N:,}")
    print(f"  estimator='v', DKW band                   {t_v:8.3f} s")
    print(f"  estimator='u', DKW band                   {t_u:8.3f} s")
    print(f"  estimator='v', no band                    {t_nb:8.3f} s")
    print(f"  expected_max(array) vs dense O(N^2) form {t_arr:8.4f} s vs {t_dense:.3f} s "
          f"({t_dense / t_arr:,.0f}x, max abs difference {err:.1e})")


if __name__ == "__main__":
    main()
