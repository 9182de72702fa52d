"""Benchmark: the "explored much more thinly than random search" call of hpviz.coverage.

False alarms: experiments that *are* random search (uniform on the search scale), 1-4 parameters,
20-200 trials; target <= 2% called thin. Power: the same budgets with every numeric value squeezed into
the lowest third of its range; target >= 90% called thin. Run ``python benchmarks/coverage.py [reps]``.
"""

from __future__ import annotations

import sys

import numpy as np

import hpviz
from hpviz import Float, SearchSpace, Trial


def _exp(d: int, n: int, seed: int, squeeze: float) -> hpviz.Experiment:
    rng = np.random.default_rng(seed)
    space = SearchSpace({f"x{j}": Float(0.0, 1.0) for j in range(d)})
    exp = hpviz.Experiment(space, {"loss": "min"})
    for i in range(n):
        exp.add(Trial(i, {f"x{j}": float(rng.uniform(0, squeeze)) for j in range(d)}, {"loss": 0.0}))
    return exp


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for squeeze, label, target in ((1.0, "random search (false alarms)", "<= 2%"),
                                   (1 / 3, "squeezed to a third (power)", ">= 90%")):
        hits = total = 0
        for seed in range(reps):
            d, n = 1 + seed % 4, (20, 50, 200)[seed % 3]
            hits += hpviz.coverage(_exp(d, n, seed, squeeze), seed=seed).thin
            total += 1
        print(f"{label:32s} called thin: {hits / total:6.1%} (target {target})  [{total} runs]")


if __name__ == "__main__":
    main()
