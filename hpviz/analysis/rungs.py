"""Budget-aware importance for runs that stop most trials early (successive halving, bandit schedulers).

In a run where a scheduler stops most trials after a few steps, only a
handful of trials reach the full budget: importance and suggestions over the
COMPLETE trials alone have too few trials (or a biased handful). Every trial
that reached a budget level ``b`` (a *rung*) has a value there, though. So,
per budget level:

* the trials analysed are every COMPLETE or PRUNED trial whose learning
  curve reached ``b``, with its value at ``b`` (the last value logged at or
  before ``b``; a trial that ended COMPLETE exactly at ``b`` keeps its
  objective value); the curve is the one logged for the objective (or
  ``"value"``);
* importance is :func:`hpviz.importance` on that sub-experiment.

Levels: the distinct steps at which trials stopped (a scheduler's rungs), and
the last step, kept when at least :data:`MIN_LEVEL_TRIALS` trials reached
them; at most :data:`MAX_LEVELS`, spread evenly over those (the highest is
always kept).

The rule for suggestions and importance on such runs (documented in
``docs/importance.md``): when an experiment has fewer usable COMPLETE trials
than an analysis needs, :func:`at_highest_budget` gives the highest budget
level that at least that many trials reached, and the analysis runs on the
values at that level, saying so in its notes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hpviz._richrepr import RichResult
from hpviz._validate import keywords_checked
from hpviz.analysis._steps import curves as _curves
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Experiment, Trial, TrialState

__all__ = ["budget_importance", "BudgetImportance", "at_highest_budget", "BudgetLevel", "budget_levels",
           "MIN_LEVEL_TRIALS", "MAX_LEVELS"]

#: Fewest trials a budget level needs to be analysed (the minimum of :func:`hpviz.importance`).
MIN_LEVEL_TRIALS = 10
#: Budget levels analysed at most (one importance forest each; 4 keeps the report's view under a few seconds).
MAX_LEVELS = 4


@dataclass(frozen=True)
class BudgetLevel:
    """The trials that reached ``budget``, as an experiment of COMPLETE trials valued at that budget."""

    budget: float
    experiment: Experiment
    n_trials: int
    n_complete: int

    @property
    def note(self) -> str:
        return (f"only {self.n_complete} COMPLETE trials: analysed at budget {self.budget:g} (the highest step "
                f"{self.n_trials} trials reached), with each trial's value at that step")


def _level_experiment(exp: Experiment, cs: Any, budget: float) -> Experiment:
    reached = np.flatnonzero(cs.last >= budget)
    vals = cs.final(budget)
    budget = float(budget)
    trials = [_at_level(cs.trials[i], cs.objective, float(vals[i]), budget) for i in reached if math.isfinite(vals[i])]
    return exp.with_trials(trials)


def _at_level(trial: Trial, objective: str, value: float, budget: float) -> Trial:
    """``dataclasses.replace(trial, values={..., objective: value}, state=COMPLETE, budget=budget)`` without
    validating ``trial`` again: it is a Trial of the experiment (valid), and the fields set here are finite
    floats and a state. Validating every field of thousands of trials cost as much as the rest of building
    the level; the mappings are copied as ``Trial`` copies them."""
    new = object.__new__(type(trial))
    fields = new.__dict__
    fields.update(trial.__dict__)
    fields.update(values={**trial.values, objective: value}, params=dict(trial.params), attrs=dict(trial.attrs),
                  state=TrialState.COMPLETE, budget=budget)
    if trial.constraints is not None:
        fields["constraints"] = dict(trial.constraints)
    return new


def _clearly_ahead(imp: Any, a: str, b: str) -> bool:
    """``a``'s importance exceeds ``b``'s by more than their across-tree spreads together."""
    ind, std = imp.individual, imp.individual_std
    return bool(ind.get(a, 0.0) - ind.get(b, 0.0) > std.get(a, 0.0) + std.get(b, 0.0))


def budget_levels(obj: Any, objective: str | None = None, *, min_trials: int = MIN_LEVEL_TRIALS) -> list[float]:
    """The budget levels (steps) at least ``min_trials`` trials reached, lowest first (see the module docstring)."""
    exp = _to_experiment(obj)
    cs = _curves(exp, exp.objective(objective))
    return _levels(cs.last, min_trials) if len(cs) else []


def _levels(last: np.ndarray, min_trials: int) -> list[float]:
    cand = np.unique(last)
    counts = np.array([(last >= b).sum() for b in cand])
    cand = cand[counts >= min_trials]
    if cand.size > MAX_LEVELS:
        cand = cand[np.unique(np.round(np.linspace(0, cand.size - 1, MAX_LEVELS)).astype(int))]
    return [float(b) for b in cand]


def at_highest_budget(exp: Experiment, objective: str, need: int) -> BudgetLevel | None:
    """The highest budget level that at least ``need`` trials reached, when fewer COMPLETE trials are usable.

    ``None`` when the experiment has ``need`` usable COMPLETE trials already (analyse those), or when no
    level below the end was reached by ``need`` trials (nothing better to offer).
    """
    n_complete = len(exp.completed(objective))
    if n_complete >= need:
        return None
    cs = _curves(exp, objective)
    levels = _levels(cs.last, need) if len(cs) else []
    if not levels:
        return None
    sub = _level_experiment(exp, cs, levels[-1])
    if len(sub) < need:
        return None
    return BudgetLevel(levels[-1], sub, len(sub), n_complete)


@dataclass(frozen=True, eq=False)
class BudgetImportance(RichResult):
    """Result of :func:`budget_importance`.

    Attributes
    ----------
    objective:
        The objective analysed.
    levels:
        Budget levels analysed, lowest first.
    n_trials:
        Trials analysed per level (every trial that reached it).
    importances:
        ``level -> Importance`` (:class:`hpviz.Importance` of the trials' values at that level).
    """

    objective: str
    levels: tuple[float, ...]
    n_trials: tuple[int, ...]
    importances: dict[float, Any] = field(repr=False)

    def at(self, budget: float) -> Any:
        """The :class:`hpviz.Importance` at one analysed level."""
        if budget not in self.importances:
            raise SchemaError(f"budget {budget!r} was not analysed; levels: {list(self.levels)}")
        return self.importances[budget]

    @property
    def highest(self) -> Any:
        """Importance at the highest analysed budget."""
        return self.importances[self.levels[-1]]

    def to_dataframe(self) -> pd.DataFrame:
        """Long table: ``budget, n_trials, param, importance, std``."""
        rows = []
        for b, n in zip(self.levels, self.n_trials):
            imp = self.importances[b]
            for p in imp.individual.index:
                rows.append({"budget": b, "n_trials": n, "param": p, "importance": float(imp.individual[p]),
                             "std": float(imp.individual_std[p])})
        return pd.DataFrame(rows, columns=["budget", "n_trials", "param", "importance", "std"])

    def table(self) -> pd.DataFrame:
        """Wide table: one row per parameter, one column per budget level."""
        return self.to_dataframe().pivot(index="param", columns="budget", values="importance")

    @property
    def message(self) -> str:
        lo, hi = self.importances[self.levels[0]], self.highest
        text = (f"Importance of {self.objective!r} at {len(self.levels)} budget levels "
                f"({', '.join(f'{b:g}' for b in self.levels)}), each over every trial that reached it "
                f"({', '.join(str(n) for n in self.n_trials)} trials).")
        if len(self.levels) > 1:
            top_lo, top_hi = lo.individual.index[0], hi.individual.index[0]
            if top_lo != top_hi and _clearly_ahead(lo, top_lo, top_hi) and _clearly_ahead(hi, top_hi, top_lo):
                text += (f" The most important parameter changes with budget: {top_lo} at budget "
                         f"{self.levels[0]:g}, {top_hi} at budget {self.levels[-1]:g}; trust the higher budget "
                         f"for decisions about the final result.")
            elif top_lo != top_hi:
                text += (f" The leading parameter differs between budgets ({top_lo}, {top_hi}) but within the "
                         f"forests' spread: no clear shift with budget.")
            else:
                text += f" {top_hi} matters most at every analysed budget."
        return text

    def __repr__(self) -> str:
        return f"BudgetImportance(objective={self.objective!r}, levels={self.levels}, n_trials={self.n_trials})"


@keywords_checked
def budget_importance(
    obj: Any,
    objective: str | None = None,
    *,
    levels: Sequence[float] | None = None,
    n_trees: int = 64,
    seed: int = 0,
) -> BudgetImportance:
    """fANOVA importance per budget level, from every trial that reached the level.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts, with learning curves (reservoir logs).
    objective:
        Objective (default: the primary); its curve is the logged metric of that name, else ``"value"``.
    levels:
        Budget levels (steps) to analyse; default: the stopping steps at least
        :data:`MIN_LEVEL_TRIALS` trials reached (at most :data:`MAX_LEVELS`).
    n_trees, seed:
        Forest settings of each :func:`hpviz.importance` (equal seeds, equal results).

    Raises
    ------
    InsufficientDataError
        No budget level was reached by :data:`MIN_LEVEL_TRIALS` trials with a curve.
    SchemaError
        A requested level that fewer than :data:`MIN_LEVEL_TRIALS` trials reached.
    """
    exp = _to_experiment(obj)
    return _budget_importance(exp, exp.objective(objective), levels, n_trees, seed)


def _budget_importance(exp: Experiment, objective: str, levels: Sequence[float] | None, n_trees: int, seed: int,
                       known: Any = None) -> BudgetImportance:
    """:func:`budget_importance` of a converted experiment; ``known``: an importance of ``exp`` already computed.

    ``known`` (the report passes its own :func:`hpviz.importance` of the experiment) stands for a level
    whose usable trials are exactly the ones ``known`` analysed, with the same values, forest settings and
    no budget of its own (typically the last step, which only the COMPLETE trials reached): the forest
    would be the same, so are the shares and marginals (it may also carry pairs, which this view does not
    use).
    """
    from hpviz.analysis.importance import importance

    cs = _curves(exp, objective)
    found = _levels(cs.last, MIN_LEVEL_TRIALS) if len(cs) else []
    if levels is None:
        chosen = found
    else:
        chosen = []
        for b in levels:
            if isinstance(b, bool) or not isinstance(b, numbers.Real) or not math.isfinite(b):
                raise SchemaError(f"levels must be finite numbers (steps), got {b!r}")
            n = int((cs.last >= b).sum()) if len(cs) else 0
            if n < MIN_LEVEL_TRIALS:
                raise SchemaError(f"budget level {b:g} was reached by {n} trials, fewer than {MIN_LEVEL_TRIALS}; "
                                  f"levels with enough trials: {found}")
            chosen.append(float(b))
        chosen = sorted(set(chosen))
    if not chosen:
        raise InsufficientDataError(
            f"budget importance needs a budget level (step) that at least {MIN_LEVEL_TRIALS} trials with a "
            f"learning curve of {objective!r} reached; {len(cs)} trials have a curve", have=len(cs),
            need=MIN_LEVEL_TRIALS)
    imps, counts = {}, []
    for b in chosen:
        sub = _level_experiment(exp, cs, b)
        if known is not None and _same_analysis(known, exp, sub, objective, n_trees, seed):
            imps[b] = known
        else:
            imps[b] = importance(sub, objective, pairs=False, n_trees=n_trees, seed=seed)
        counts.append(imps[b].n_used)
    return BudgetImportance(objective, tuple(chosen), tuple(counts), imps)


def _same_analysis(known: Any, exp: Experiment, sub: Experiment, objective: str, n_trees: int, seed: int) -> bool:
    """Whether :func:`hpviz.importance` of ``sub`` would fit the forest ``known`` (of ``exp``) was fitted on."""
    from hpviz.analysis.importance import _round_spaces, _usable_trials

    if (getattr(known, "objective", None) != objective or getattr(known, "n_trees", None) != n_trees
            or getattr(known, "seed", None) != seed or getattr(known, "budget", None) is not None
            or getattr(known, "n_used", None) != len(sub)):
        return False
    try:
        a, _ = _usable_trials(exp, objective, _round_spaces(exp, None, "round")[0])
        b, _ = _usable_trials(sub, objective, _round_spaces(sub, None, "round")[0])
    except InsufficientDataError:
        return False
    return len(a) == len(b) and all(
        x.number == y.number and x.values[objective] == y.values[objective] and x.round == y.round
        and x.params == y.params for x, y in zip(a, b))
