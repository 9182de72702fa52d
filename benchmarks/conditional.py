"""Conditional spaces: marginals over the active trials and suggestions inside a branch, against a known truth.

Usage: python benchmarks/conditional.py [--reps 20]

1. Marginal of ``x`` under a gating ``model in {a, b}`` (``x`` active only
   under ``a``, loss ``10 (x - 0.3)^2 + N(0, 0.1)``, ``b`` at 5; 80 random
   trials). Prints, for the curve over the active trials (hpviz) and for the
   curve of the forest over all trials (the previous behaviour), the RMSE
   against the truth and the rate at which the curve stays within the
   active trials' range with its low point within 10% of that range of the
   best active trial. Target: >= 0.95 for hpviz.
2. ``suggest_space`` on the branch case of ``tests/test_conditional.py``
   (``svc_c`` with a narrow optimum at 10 inside a competitive SVC branch
   that holds few of the best trials overall; 120 random trials). Prints
   the rate of a shrink of ``svc_c`` that keeps C = 10, with hpviz's rule
   (judged over the trials where ``svc_c`` is active) and with the previous
   one (judged among the best trials overall). Target: >= 0.8 for hpviz,
   and never a range that loses C = 10.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import hpviz
from hpviz import Categorical, Experiment, Float, Int, SearchSpace, Trial, TrialState
from hpviz.analysis import _conditional


def gated(seed: int, n: int = 80) -> Experiment:
    rng = np.random.default_rng(seed)
    exp = Experiment(SearchSpace({"model": Categorical(["a", "b"]), "x": Float(0, 1), "z": Float(0, 1)}),
                     {"loss": "min"})
    for i in range(n):
        params = {"model": str(rng.choice(["a", "b"])), "z": float(rng.uniform())}
        if params["model"] == "a":
            params["x"] = float(rng.uniform())
            loss = 10 * (params["x"] - 0.3) ** 2 + 0.1 * rng.normal()
        else:
            loss = 5 + 0.1 * rng.normal()
        exp.add(Trial(i, params, {"loss": loss}, TrialState.COMPLETE))
    return exp


def marginal_section(reps: int) -> None:
    stats = {"active trials (hpviz)": [], "all trials (before)": []}
    for seed in range(reps):
        exp = gated(seed)
        y = np.array([t.values["loss"] for t in exp.trials if "x" in t.params])
        span = float(np.ptp(y))
        for label, whole in (("active trials (hpviz)", False), ("all trials (before)", True)):
            token = _conditional._INSIDE.set(whole)
            try:
                df = hpviz.importance(exp, seed=seed).marginal("x")
            finally:
                _conditional._INSIDE.reset(token)
            m = df["mean"].to_numpy()
            truth = 10 * (df["value"].to_numpy() - 0.3) ** 2
            ok = m.min() >= y.min() - 0.05 * span and m.max() <= y.max() + 0.05 * span \
                and m.min() - y.min() < 0.1 * span
            stats[label].append((float(np.sqrt(np.mean((m - truth) ** 2))), ok))
    print(f"1. marginal of a conditional parameter ({reps} runs of 80 trials)")
    for label, rows in stats.items():
        rmse = np.array([r[0] for r in rows])
        rate = np.mean([r[1] for r in rows])
        print(f"   {label:24s} RMSE vs truth median {np.median(rmse):.2f} (max {rmse.max():.2f}); "
              f"near the trials {rate:.2f}" + ("   target >= 0.95" if "hpviz" in label else ""))


def branch_run(seed: int, n: int = 120) -> Experiment:
    rng = np.random.default_rng(seed)
    space = SearchSpace({"classifier": Categorical(["SVC", "RandomForest"]), "svc_c": Float(1e-3, 1e3, log=True),
                         "rf_max_depth": Int(2, 32, log=True)})
    exp = Experiment(space, {"value": "min"})
    for i in range(n):
        if rng.uniform() < 0.5:
            c = float(10 ** rng.uniform(-3, 3))
            params, loss = {"classifier": "SVC", "svc_c": c}, 0.75 + 0.1 * (math.log10(c) - 1) ** 2
        else:
            d = int(round(2 ** rng.uniform(1, 5)))
            params, loss = {"classifier": "RandomForest", "rf_max_depth": d}, 0.2 + 0.4 * (math.log2(d) - 1)
        exp.add(Trial(i, params, {"value": loss}, TrialState.COMPLETE))
    return exp


def suggest_section(reps: int) -> None:
    import hpviz.analysis.suggest as sugmod

    def run(exp: Experiment, before: bool):
        if not before:
            return hpviz.suggest_space(exp)
        original = sugmod._branch_context
        sugmod._branch_context = lambda exp, name, ctx, tested, seed: ctx  # judge every parameter on all trials
        try:
            return hpviz.suggest_space(exp)
        finally:
            sugmod._branch_context = original

    print(f"2. suggest_space inside a branch ({reps} runs of 120 trials)")
    for label, before in (("active trials (hpviz)", False), ("best trials overall (before)", True)):
        shrinks, lost = 0, 0
        for seed in range(reps):
            change = {c.param: c for c in run(branch_run(seed), before).changes}.get("svc_c")
            if change is not None and change.action == "shrink":
                shrinks += change.after.contains(10.0)
                lost += not change.after.contains(10.0)
        print(f"   {label:30s} shrink keeping C = 10: {shrinks / reps:.2f}; ranges losing it: {lost}"
              + ("   target >= 0.8, 0 lost" if not before else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    marginal_section(args.reps)
    suggest_section(args.reps)


if __name__ == "__main__":
    main()
