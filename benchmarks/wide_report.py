"""Report time and legibility at many parameters: the full HTML report at 2, 50, 200 and 500 parameters.

Usage: python benchmarks/wide_report.py [--trials 300] [--params 2 50 200 500] [--out DIR]

Prints the seconds of each report next to the reference measured in the same run (the same trials with 20
parameters) and the ratio; ``--out`` keeps the reports (a PNG folder each) to look at. The objective depends
on the first three parameters only, so the importance ranking has a known answer: the script prints where
those three landed.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

import hpviz
from hpviz import Categorical, Float, Int, SearchSpace
from hpviz.testing import make_experiment

REFERENCE_PARAMS = 20


def space(d: int) -> SearchSpace:
    kinds = [lambda: Float(1e-5, 1e-1, log=True), lambda: Float(-1, 1), lambda: Int(1, 64),
             lambda: Categorical(["a", "b", "c"])]
    return SearchSpace({f"block{i // 4}.param_{i}": kinds[i % 4]() for i in range(d)})


def experiment(n: int, d: int, seed: int = 0) -> hpviz.Experiment:
    sp = space(d)
    names = list(sp)[:3]
    rng = np.random.default_rng(seed)

    def fn(p: dict) -> float:
        v = (math.log10(p[names[0]]) + 3) ** 2
        if len(names) > 1:
            v += 2 * p[names[1]] ** 2
        if len(names) > 2:
            v += (p[names[2]] - 32) ** 2 / 256
        return v + 0.05 * rng.normal()

    return make_experiment(n, sp, fn, seed=seed, log_steps=5, prune_rate=0.05, name=f"{n} trials, {d} params")


def timed(exp: hpviz.Experiment, out: Path) -> float:
    t = time.perf_counter()
    hpviz.report(exp, out, n_trees=16)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--params", type=int, nargs="+", default=[2, 50, 200, 500])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="hpviz-wide-"))
    root.mkdir(parents=True, exist_ok=True)
    timed(experiment(30, 3), root / "warmup")  # imports and first-call costs, paid before any timing
    ref = timed(experiment(args.trials, REFERENCE_PARAMS), root / f"p{REFERENCE_PARAMS}")
    print(f"reference: {args.trials} trials x {REFERENCE_PARAMS} parameters: {ref:.1f} s")
    for d in args.params:
        exp = experiment(args.trials, d)
        sec = timed(exp, root / f"p{d}")
        imp = hpviz.importance(exp, pairs=False, n_trees=16) if d >= 3 else None
        ranks = ([list(imp.individual.index).index(n) + 1 for n in list(exp.space)[:3]] if imp is not None else [])
        print(f"{args.trials} trials x {d:>3} parameters: {sec:6.1f} s  ({sec / ref:.2f}x the reference)"
              + (f"; the 3 parameters that matter rank {ranks}" if ranks else ""))
    print(f"reports in {root}")


if __name__ == "__main__":
    main()
