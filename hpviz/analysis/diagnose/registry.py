"""The registry of finding rules that :func:`hpviz.diagnose` loops over.

A rule is a function ``check(ctx) -> list[Finding]`` registered with
:func:`rule` under the finding codes it may emit. It reads the trials from
``ctx.cols`` (:class:`hpviz._columns.TrialColumns`) and may leave by-products
for the :class:`~hpviz.analysis.diagnose.result.Diagnosis` in ``ctx.products``
(the random-order band, the per-step correlation). Rules are independent:
each draws its own random numbers from ``ctx.seed``, so their order does
not change any result. ``CODES`` is the order findings of equal severity are
listed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hpviz._columns import TrialColumns
from hpviz.analysis.diagnose.result import Finding

__all__ = ["Context", "Rule", "RULES", "CODES", "rule"]

#: The stable finding codes, in the order findings of equal severity are listed.
CODES = (
    "too-few-trials",
    "high-failure-rate",
    "not-better-than-random",
    "no-improvement",
    "still-improving",
    "pruner-misranks",
    "best-at-boundary",
    "collapsed-exploration",
    "duplicate-configs",
)


@dataclass
class Context:
    """What every rule reads: the trial columns, counts, the seed; and where it leaves by-products."""

    cols: TrialColumns
    seed: int
    products: dict[str, Any] = field(default_factory=dict)

    @property
    def n_usable(self) -> int:
        """COMPLETE trials with a finite value (feasible or not)."""
        return int(self.cols.usable.sum())

    @property
    def n_rankable(self) -> int:
        """Usable and feasible trials: those that may set the best value."""
        return int(self.cols.rankable.sum())


@dataclass(frozen=True)
class Rule:
    """One finding rule: its name, the codes it emits, and its check."""

    name: str
    codes: tuple[str, ...]
    check: Callable[[Context], list[Finding]]


RULES: list[Rule] = []


def rule(*codes: str) -> Callable[[Callable[[Context], list[Finding]]], Callable[[Context], list[Finding]]]:
    """Register ``check`` as the rule emitting ``codes`` (each one of :data:`CODES`)."""
    unknown = [c for c in codes if c not in CODES]
    if unknown:
        raise ValueError(f"unknown finding codes {unknown}; add them to CODES first")

    def register(check: Callable[[Context], list[Finding]]) -> Callable[[Context], list[Finding]]:
        RULES.append(Rule(check.__module__.rsplit(".", 1)[-1], codes, check))
        return check

    return register
