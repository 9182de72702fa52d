"""Conditional parameters: analyses of a parameter restricted to the trials where it is active.

A parameter absent from a trial's ``params`` was inactive there (a branch of
a conditional space that the trial did not take). Two rules follow, stated
in ``docs/importance.md`` and ``docs/suggestions.md``:

* The marginal curve of a parameter that is inactive in some used trials is
  the marginal of a forest fitted on the trials where it *is* active. The
  forest over all trials would average the curve over the whole space,
  including the branches where the parameter does not exist (the trees then
  extrapolate the active trials' values into them): measured on a gating
  ``model in {a, b}`` with ``x`` active only under ``a``, that curve sits
  halfway between the two branches, far from every trial
  (``tests/test_conditional.py``).
* Suggestions for such a parameter learn only from the trials where it is
  active: its good trials are the best of those, and a value it is fixed to
  comes from one of them.

Private: used by :func:`hpviz.importance` (one call) and
:func:`hpviz.suggest_space`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from hpviz.errors import HpvizError

__all__ = ["active_trials", "is_conditional", "active_marginals", "whole_space"]

#: Set while the restricted forests run, so that they do not restrict again (one level of restriction).
_INSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar("hpviz_conditional_inside", default=False)


def active_trials(trials: Sequence[Any], name: str) -> list[Any]:
    """The trials where ``name`` is active (present in ``params``), in order."""
    return [t for t in trials if name in t.params]


def is_conditional(trials: Sequence[Any], name: str) -> bool:
    """Whether ``name`` is inactive in some of ``trials`` (but active in at least one)."""
    n = sum(1 for t in trials if name in t.params)
    return 0 < n < len(trials)


def active_marginals(exp: Any, objective: str, used: Sequence[Any], names: Sequence[str], *, n_trees: int,
                     seed: int, rounds: Any = None, space: str = "round", max_trials: int | None = None
                     ) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Marginals of the conditional parameters recomputed over the trials where each is active.

    The restricted forests use the same ``n_trees``, ``seed``, ``rounds``,
    ``space`` (the space integrated over) and ``max_trials`` as the forest
    over all trials.

    Returns the recomputed marginals (by name; the other parameters keep
    the marginal over all trials) and, per parameter, the number of trials
    its marginal was computed over. A conditional parameter active in too
    few trials for a forest keeps the marginal over all ``used`` trials
    (and that count).
    """
    out: dict[str, pd.DataFrame] = {}
    counts = {name: len(used) for name in names}
    if _INSIDE.get():
        return out, counts
    from hpviz.analysis.importance import importance

    branches: dict[tuple[int, ...], list[str]] = {}  # parameters active in the same trials share one forest
    for name in names:
        if is_conditional(used, name):
            branches.setdefault(tuple(i for i, t in enumerate(used) if name in t.params), []).append(name)
    with whole_space():
        for keep, members in branches.items():
            try:
                imp = importance(exp.with_trials(used[i] for i in keep), objective, pairs=False, n_trees=n_trees,
                                 seed=seed, rounds=rounds, space=space, max_trials=max_trials)
            except HpvizError:
                continue  # too few active trials: the marginal over all trials stays, and its count says so
            for name in members:
                if name in imp.params:
                    out[name] = imp.marginal(name)
                    counts[name] = imp.n_used
    return out, counts


@contextlib.contextmanager
def whole_space() -> Iterator[None]:
    """Within it, :func:`active_marginals` keeps every marginal over all trials (no restricted forests).

    For callers that read only the importance fractions (``suggest_space``), and
    for the restricted forests themselves (one level of restriction).
    """
    token = _INSIDE.set(True)
    try:
        yield
    finally:
        _INSIDE.reset(token)
