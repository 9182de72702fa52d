"""Local (top-quantile) importance: which hyperparameters matter among the good configurations.

Global fANOVA importance (:func:`hpviz.importance`) splits the variance of
the objective over the whole space: a parameter that only matters once the
others are good (a learning rate that only counts for the right
architecture) gets a small share, because most of the variance is between
bad and good regions. Local importance answers "which parameters still
matter among the good configurations" (the question of Optuna's PED-ANOVA
and of the reference fANOVA's cutoffs).

Method: fANOVA (the same forest and decomposition as :func:`hpviz.importance`)
fitted on the best ``q`` of the usable trials only (at least
:data:`hpviz.analysis.importance.MIN_TRIALS` of them), and integrated over
the *good region*: per numeric parameter the span of those trials' values
(on the search scale), per categorical the choices they used. The variance
left is the variance among good configurations: a parameter that only
separates bad from good regions explains little of it. (Capping the
objective at the quantile over the whole space, the reference fANOVA's
cutoffs, was tried first: on the constructed case of
``benchmarks/local_importance.py`` it still averaged the good region's
effects over the whole space and changed no decision.)

Default ``q = 0.25`` (:data:`DEFAULT_Q`): with the 10-trial minimum of
importance this keeps at least 3 distinct good values, and it is the share
``suggest_space``'s conservative level calls "good". Use in suggestions: not wired into ``suggest_space`` yet. Measured in
``benchmarks/local_importance.py`` on a case where a parameter matters only
among good configurations: local importance ranks it above an idle
parameter in 97% of runs, and ``suggest_space`` (global importance) fixes it
wrongly in 50%; vetoing fixes whose local importance is >= 0.1 and above the
global one cuts that to 10% (right fixes of the idle parameter 67% -> 60%),
but the local forest, fitted on ~30 trials, gave a zero-effect parameter up
to 0.15 and vetoed a calibrated right fix; with a calibrated condition
(a Kolmogorov-Smirnov test of the best trials' values, p < 0.01) the veto
lost its power (50% -> 43%). Read it as advice ("tune it inside the good
region, never fix it"), see ``docs/questions.md``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from hpviz._richrepr import RichResult
from hpviz._validate import keywords_checked
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Categorical, Experiment, Float, Int, SearchSpace

__all__ = ["local_importance", "LocalImportance", "DEFAULT_Q"]

#: Default top quantile (see the module docstring).
DEFAULT_Q = 0.25


@dataclass(frozen=True, eq=False)
class LocalImportance(RichResult):
    """Result of :func:`local_importance`: local and global importance side by side.

    Attributes
    ----------
    objective, q:
        Objective and top quantile analysed.
    cutoff:
        Objective value of the worst trial analysed locally.
    n_top:
        Trials analysed locally (the best ``q``, at least 10).
    local, global_:
        :class:`hpviz.Importance` among the top trials over their region, and over every usable trial
        and the whole space (same forest settings).
    """

    objective: str
    q: float
    cutoff: float
    n_top: int
    local: Any
    global_: Any

    def to_dataframe(self) -> pd.DataFrame:
        """One row per parameter: ``param, global, global_std, local, local_std``, by local importance."""
        g, loc = self.global_, self.local
        df = pd.DataFrame({"global": g.individual, "global_std": g.individual_std,
                           "local": loc.individual, "local_std": loc.individual_std})
        df.index.name = "param"
        return df.sort_values("local", ascending=False, kind="stable").reset_index()

    @property
    def message(self) -> str:
        df = self.to_dataframe().set_index("param")
        # much more locally, beyond the forests' spread
        gained = df[((df["local"] - df["global"]) > 0.1)
                    & (df["local"] - df["local_std"] > df["global"] + df["global_std"])]
        text = (f"Among the best {self.q:.0%} of trials ({self.n_top}, {self.objective!r} at or better than "
                f"{self.cutoff:.4g}), {df.index[0]} matters most (local importance {df['local'].iloc[0]:.2f}; "
                f"globally: {df['global'].idxmax()}).")
        if len(gained):
            text += (f" {', '.join(gained.index)} matter(s) much more among good configurations than globally: "
                     f"tune them in the good region rather than fixing them.")
        return text

    def __repr__(self) -> str:
        return f"LocalImportance(objective={self.objective!r}, q={self.q}, n_top={self.n_top})"


@keywords_checked
def local_importance(
    obj: Any,
    objective: str | None = None,
    *,
    q: float = DEFAULT_Q,
    n_trees: int = 64,
    seed: int = 0,
) -> LocalImportance:
    """fANOVA importance restricted to the best ``q`` of the trials, beside the global importance.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    objective:
        Objective (default: the primary); its direction decides which trials are best.
    q:
        Top quantile in ``(0, 1)``; default :data:`DEFAULT_Q`.
    n_trees, seed:
        Forest settings, as in :func:`hpviz.importance`.

    Raises
    ------
    InsufficientDataError
        As :func:`hpviz.importance` (too few usable trials).
    SchemaError
        ``q`` outside ``(0, 1)``.
    """
    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0 < q < 1:
        raise SchemaError(f"q must be a number in (0, 1), got {q!r}")
    from hpviz.analysis.importance import importance

    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    glob = importance(exp, objective, pairs=False, n_trees=n_trees, seed=seed)
    return _local(exp, objective, glob, float(q), n_trees, seed)


def _local(exp: Experiment, objective: str, glob: Any, q: float, n_trees: int, seed: int) -> LocalImportance:
    from hpviz.analysis.importance import MIN_TRIALS, importance

    if glob.budget is not None:  # too few COMPLETE trials: the same budget level as the global importance
        from hpviz.analysis.rungs import at_highest_budget

        exp = at_highest_budget(exp, objective, MIN_TRIALS).experiment
    trials = [t for t in exp.completed(objective) if t.feasible]
    sign = 1.0 if exp.objectives[objective] == "min" else -1.0
    y = sign * np.array([t.values[objective] for t in trials])
    n_top = max(MIN_TRIALS, math.ceil(q * len(trials)))
    if n_top > len(trials):
        raise InsufficientDataError(f"local importance needs at least {MIN_TRIALS} usable trials in the top "
                                    f"{q:.0%}; have {len(trials)} usable trials", have=len(trials), need=MIN_TRIALS)
    order = np.lexsort((np.array([t.number for t in trials]), y))[:n_top]
    top = [replace(trials[i], round=0) for i in order]
    region = Experiment(_good_region(exp, top), {objective: exp.objectives[objective]}, top)
    loc = replace(importance(region, objective, pairs=False, n_trees=n_trees, seed=seed), budget=glob.budget)
    return LocalImportance(objective, float(q), float(sign * y[order[-1]]), n_top, loc, glob)


def _good_region(exp: Experiment, top: list) -> SearchSpace:
    """Per parameter, the span (numeric) or the choices (categorical) of the top trials."""
    region = {}
    for name, param in exp.all_params().items():
        vals = [t.params[name] for t in top if name in t.params and param.contains(t.params[name])]
        if not vals:
            region[name] = param
        elif isinstance(param, Categorical):
            seen = {param.index(v) for v in vals}
            region[name] = Categorical(tuple(c for c in param.choices if param.index(c) in seen))
        elif min(vals) == max(vals):
            region[name] = Categorical((vals[0],))
        elif isinstance(param, Int):
            region[name] = Int(int(min(vals)), int(max(vals)), log=param.log)
        else:
            region[name] = Float(float(min(vals)), float(max(vals)), log=param.log)
    return SearchSpace(region)
