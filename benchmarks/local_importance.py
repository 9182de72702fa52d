"""Benchmark: does local (top-quantile) importance decide suggestions better than global importance?

Case (``tests/families.good_region_only``): ``gate`` separates bad from good configurations, ``fine``
(optimum 0.7) matters only among good ones, ``idle`` never matters. Known answers: fixing ``fine`` is wrong
(it decides the best result), fixing ``idle`` is right. Prints, over seeds, for ``suggest_space`` with
the global importance alone (before), with the local importance for every gate
(``importance=local_importance(exp).local``) and with the default (global importance plus the local veto
of ``hpviz.analysis.local.veto_fixes``): the rate of wrong fixes of ``fine`` (target: lower than before)
and of right fixes of ``idle`` (target: close to before), and how often local importance ranks ``fine``
above ``idle``.
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


def _fixed(exp, seed: int, importance=None, veto: bool = True) -> set[str]:
    original = local.veto_fixes
    if not veto:
        local.veto_fixes = lambda exp, objective, changes, *args: changes
    try:
        changes = hpviz.suggest_space(exp, importance=importance, seed=seed).changes
    finally:
        local.veto_fixes = original
    return {c.param for c in changes if c.action == "fix"}


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    counts = {"global, no veto (before)": [0, 0], "local for every gate": [0, 0], "global + veto (default)": [0, 0]}
    ranked = 0
    warnings.simplefilter("ignore")
    for seed in range(reps):
        exp = good_region_only(seed)
        li = local.local_importance(exp, seed=seed)
        ranked += li.local.individual["fine"] > li.local.individual["idle"]
        runs = {"global, no veto (before)": _fixed(exp, seed, li.global_, veto=False),
                "local for every gate": _fixed(exp, seed, li.local, veto=False),
                "global + veto (default)": _fixed(exp, seed)}
        for name, fixed in runs.items():
            counts[name][0] += "fine" in fixed
            counts[name][1] += "idle" in fixed
    for name, (wrong, right) in counts.items():
        print(f"{name:26s} wrong fix of 'fine': {wrong / reps:6.1%}   right fix of 'idle': "
              f"{right / reps:6.1%}   [{reps} runs]")
    print(f"local importance ranks 'fine' above 'idle': {ranked / reps:6.1%}")


if __name__ == "__main__":
    main()
