"""Benchmark: does local (top-quantile) importance decide suggestions better than global importance?

Case (``tests/families.good_region_only``): ``gate`` separates bad from good configurations, ``fine``
(optimum 0.7) matters only among good ones, ``idle`` never matters. Known answers: fixing ``fine`` is wrong
(it decides the best result), fixing ``idle`` is right. Prints, over seeds, for ``suggest_space`` with
the global importance (its default), with the local importance for every gate
(``importance=local_importance(exp).local``), and with a veto of fixes whose local importance is at least
``VETO`` and above the global one: the rate of wrong fixes of ``fine`` (target: lower than global) and of
right fixes of ``idle`` (target: close to global), and how often local importance ranks ``fine`` above
``idle``. (The veto is not wired into suggest_space: see hpviz/analysis/local.py for why.)
Run with ``python benchmarks/local_importance.py [reps]``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from families import good_region_only  # noqa: E402

import hpviz  # noqa: E402
import hpviz.analysis.local as local  # noqa: E402

#: The veto measured: no fix of a parameter whose local importance is at least this and above its global one.
VETO = 0.1


def _fixed(exp, seed: int, importance) -> set[str]:
    return {c.param for c in hpviz.suggest_space(exp, importance=importance, seed=seed).changes if c.action == "fix"}


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    counts = {"global (suggest_space)": [0, 0], "local for every gate": [0, 0], "global + local veto": [0, 0]}
    ranked = 0
    warnings.simplefilter("ignore")
    for seed in range(reps):
        exp = good_region_only(seed)
        li = local.local_importance(exp, seed=seed)
        loc, glo = li.local.individual, li.global_.individual
        ranked += loc["fine"] > loc["idle"]
        plain = _fixed(exp, seed, li.global_)
        runs = {"global (suggest_space)": plain,
                "local for every gate": _fixed(exp, seed, li.local),
                "global + local veto": {p for p in plain if not (loc[p] >= VETO and loc[p] > glo[p])}}
        for name, fixed in runs.items():
            counts[name][0] += "fine" in fixed
            counts[name][1] += "idle" in fixed
    for name, (wrong, right) in counts.items():
        print(f"{name:26s} wrong fix of 'fine': {wrong / reps:6.1%}   right fix of 'idle': "
              f"{right / reps:6.1%}   [{reps} runs]")
    print(f"local importance ranks 'fine' above 'idle': {ranked / reps:6.1%}")


if __name__ == "__main__":
    main()
