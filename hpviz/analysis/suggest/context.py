"""What every suggestion rule reads (:class:`Context`), and the tests the rules share.

The trials are the rankable ones (COMPLETE, finite, feasible: see
:mod:`hpviz._columns`): infeasible trials never steer a suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpviz._numbers import choice_codes
from hpviz.analysis.suggest.thresholds import SuggestThresholds
from hpviz.schema import Categorical, Float, Int, Param

__all__ = ["Context", "search_values", "signal_p", "importance_gate", "fisher_greater", "binned_bound"]


@dataclass
class Context:
    """What every per-parameter rule reads."""

    trials: list
    y: np.ndarray  # sign-adjusted: lower is better
    good: np.ndarray  # bool per trial
    best: int  # index of the best trial
    order: np.ndarray  # trial indices, best first
    th: SuggestThresholds
    alpha: float  # Bonferroni-corrected over parameters
    objective: str
    sign: float
    imp: Any
    limits: dict[str, tuple[float, float]]
    notes: list[str]
    signal: dict[str, float] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)  # hpviz_export_constraints of the framework
    framework: str | None = None
    space: dict[str, Param] = field(default_factory=dict)  # the parent space (for the other parameters' effects)
    cache: dict[str, Any] = field(default_factory=dict)
    noise: Any = None  # SplitNoise of the trials' per-split scores (hpviz._splits), or None

    def allows(self, key: str) -> bool:
        """Whether the experiment's framework can take a change of this kind (absent: allowed)."""
        return self.export.get(key, True) is not False

    def importance_of(self, name: str) -> tuple[float, float] | None:
        if self.imp is None or name not in self.imp.individual.index:
            return None
        return float(self.imp.individual[name]), float(self.imp.individual_std[name])

    def value(self, i: int) -> float:
        return float(self.sign * self.y[i])

    def values(self) -> Any:
        """The trials' parameter values, each extracted once (``hpviz.analysis._importance_stats.TrialValues``)."""
        if "values" not in self.cache:
            from hpviz.analysis._importance_stats import TrialValues  # lazy: scipy

            self.cache["values"] = TrialValues(self.trials)
        return self.cache["values"]

    def codes(self, name: str, param: Categorical) -> np.ndarray:
        """Each trial's position among ``param.choices`` (-1: inactive or not a declared choice), extracted once."""
        key = ("codes", name)
        if key not in self.cache:
            self.cache[key] = choice_codes(param, self.values().raw(name))
            self.cache[key].setflags(write=False)  # shared by the rules
        return self.cache[key]


def search_values(name: str, param: Float | Int, ctx: Context) -> np.ndarray:
    """The trials' values of ``param`` on its search scale; NaN when inactive or not a usable number."""
    key = ("search", name)
    if key not in ctx.cache:
        with np.errstate(divide="ignore", invalid="ignore"):
            s = param.to_search_scale(ctx.values().numeric(name))
        ctx.cache[key] = np.where(np.isfinite(s), s, np.nan)
        ctx.cache[key].setflags(write=False)  # shared by the rules
    return ctx.cache[key]


def signal_p(name: str, param: Param, ctx: Context) -> float:
    """p-value that the parameter is associated with the objective at all.

    Categorical: Kruskal-Wallis of the objective across choices. Numeric:
    two-sample Kolmogorov-Smirnov of the good trials' values against the others'.
    """
    from scipy.stats import kruskal, ks_2samp

    if isinstance(param, Categorical):
        codes = ctx.codes(name, param)
        groups = [ctx.y[codes == c] for c in range(len(param.choices)) if int((codes == c).sum()) >= 2]
        if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:
            return 1.0
        return float(kruskal(*groups).pvalue)
    s = search_values(name, param, ctx)
    active = np.isfinite(s)
    g, r = s[ctx.good & active], s[~ctx.good & active]
    if g.size < 3 or r.size < 3:
        return 1.0
    return float(ks_2samp(g, r).pvalue)


def importance_gate(name: str, ctx: Context, what: str) -> bool:
    imp = ctx.importance_of(name)
    if imp is not None and imp[0] < ctx.th.min_importance:
        ctx.notes.append(f"{name}: {what}, but its importance {imp[0]:.2g} is below {ctx.th.min_importance:g}; "
                         "left unchanged")
        return False
    return True


def fisher_greater(a_in: int, a_n: int, b_in: int, b_n: int) -> float:
    """One-sided Fisher exact p-value that group a has a larger in-share than group b."""
    from scipy.stats import fisher_exact

    return float(fisher_exact([[a_in, a_n - a_in], [b_in, b_n - b_in]], alternative="greater").pvalue)


def binned_bound(name: str, param: Param, ctx: Context) -> tuple[float, float]:
    """Binned main-effect share of ``name`` and its upper confidence bound (``hpviz.analysis._importance_stats``).

    Computed on the objective minus the forest's main effects of the *other*
    parameters: with random placement that removes their variance from the
    bin means (tighter bound) without biasing this parameter's share.
    """
    from hpviz.analysis._importance_stats import bin_codes, main_effect_at, n_bins, share_upper_bound

    if "additive" not in ctx.cache:
        effects = {k: ctx.sign * main_effect_at(ctx.imp, k, p, ctx.trials, ctx.values()) for k, p in ctx.space.items()}
        ctx.cache["additive"] = effects, sum(effects.values(), np.zeros(len(ctx.y)))
    effects, total_effect = ctx.cache["additive"]
    resid = ctx.y - (total_effect - effects.get(name, 0.0))  # minus the other parameters' main effects
    if isinstance(param, Categorical):
        codes = ctx.codes(name, param)
        bins = len(param.choices)
    else:
        lo, hi = param.search_bounds
        bins = n_bins(len(ctx.trials))
        codes = bin_codes((search_values(name, param, ctx) - lo) / (hi - lo), bins)
    est, upper = share_upper_bound(codes, resid, bins)
    total = float(np.var(ctx.y, ddof=1))
    scale = float(np.var(resid, ddof=1)) / total if total > 0 else 0.0
    return est * scale, upper * scale
