"""Early-stopping replay: "if a model is bad at step k, do we need step 2k?"

From the logged learning curves, stopping rules are replayed offline on the
trials that ran long enough, and for each rule and step we report what it
would have cost and saved:

* ``median``: at step ``k`` stop every trial whose value is worse than the
  median of the values at ``k`` (the median rule of most pruners and
  schedulers, with the whole population known);
* ``bottom-<f>``: at step ``k`` stop the worst fraction ``f`` of the trials;
* successive halving with reduction factor ``eta`` and minimum resource
  ``k``: at rungs ``k, k*eta, k*eta^2, ...`` keep the best ``1/eta`` of
  the trials still running.

For each: the fraction of compute **saved** (compute counted in steps: a
trial stopped at step ``k`` ran ``k - origin`` steps, one kept to the
horizon ``horizon - origin``; ``origin`` is 0 for curves logged from step 1
and -1 for curves logged from step 0), whether the **final best survived**,
**top-k recall** (the share of the ``top`` best final trials kept) and the
**regret** (how much worse the best kept trial ends than the best trial).
Per step, the Spearman rank correlation of the step's values with the final
values, with a Fisher-z confidence band (standard error
``sqrt(1.06 / (n - 3))``, Fieller, Hartley & Pearson 1957).

Horizon: the population is the trials whose curves reached the *horizon*,
the highest step reached by at least :data:`MIN_TRIALS` trials (with every
trial run to the end, the last step); their value there is the "final"
value (a COMPLETE trial ending exactly at the horizon uses its objective
value). On an ASHA or Hyperband run, where few trials reach the maximum, the
replay therefore judges the rungs below it.

Sentinel step: the first step from which, at every later step, the ``top``
best final trials rank within the best :data:`SAFE_RANK_SHARE` of the
trials (so the median rule keeps them with a margin) and the rank
correlation is at least :data:`RELIABLE_CORRELATION`. Stopping before it would have stopped a
trial that ends among the best. The recommended reduction factor is the
largest ``eta`` for which successive halving from the sentinel step keeps
the final best. The adapters turn both into their framework's setting
(``hpviz_finding_advice`` with code ``"early-stopping"``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hpviz._richrepr import RichResult
from hpviz._validate import keywords_checked
from hpviz.analysis._advice import framework_advice
from hpviz.analysis._steps import curves as _curves
from hpviz.analysis._steps import oriented
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, SchemaError

__all__ = ["replay", "Replay", "MIN_TRIALS", "RELIABLE_CORRELATION", "SAFE_RANK_SHARE", "FINDING_CODE"]

#: Fewest trials reaching the horizon (the standard error of Spearman's rho is ~1/sqrt(n-3), 0.38 at n=10).
MIN_TRIALS = 10
#: Rank correlation from which a step's ranking is taken as reliable (the usual "strong" threshold,
#: the same as the ``pruner-misranks`` finding).
RELIABLE_CORRELATION = 0.7
#: The finding code the adapters' advice hook answers for a recommended early-stopping setting.
FINDING_CODE = "early-stopping"
#: Steps at which rules are replayed at most (quantiles of the logged steps).
MAX_GRID_STEPS = 50
#: The sentinel needs the best trials ranked within this best share at every later step, not just above the
#: median: a margin so that one noisy evaluation near the median does not decide (measured in
#: ``benchmarks/replay.py``: with the bare median rule the sentinel came before the known crossing in 10-24% of
#: the constructed runs, with this margin in none of 300, about one step later on average).
SAFE_RANK_SHARE = 0.4
#: Fisher-z variance factor of Spearman's rho (Fieller, Hartley & Pearson 1957).
_SPEARMAN_VAR = 1.06


def _check(name: str, value: Any, ok: bool, allowed: str) -> None:
    if not ok:
        raise SchemaError(f"{name} must be {allowed}, got {value!r}")


def _spearman_band(rho: float, n: int, level: float) -> tuple[float, float]:
    if not math.isfinite(rho) or n <= 3:
        return math.nan, math.nan
    z = math.atanh(min(max(rho, -0.999999), 0.999999))
    half = stats.norm.ppf(0.5 + level / 2) * math.sqrt(_SPEARMAN_VAR / (n - 3))
    return math.tanh(z - half), math.tanh(z + half)


def _outcome(kept: np.ndarray, cost: np.ndarray, full_cost: float, final: np.ndarray,
             top: np.ndarray) -> dict[str, float]:
    best = int(np.argmin(final))
    return {
        "saved": 1.0 - float(cost.sum()) / (full_cost * final.size),
        "best_survived": bool(kept[best]),
        "recall": float(kept[top].mean()),
        "regret": float(np.min(final[kept]) - final[best]) if kept.any() else math.inf,
        "n_stopped": int((~kept).sum()),
    }


def _stop_worse(v: np.ndarray, n_stop: int) -> np.ndarray:
    """Kept mask after stopping the ``n_stop`` worst finite values (NaN: not judged, kept).

    The worst first, and among equal values the first in ``v``: the first ``n_stop`` of a stable sort by
    decreasing value, found without sorting (the replay asks this a few hundred times of thousands of
    trials): every value above the ``n_stop``-th largest, then the first of those equal to it.
    """
    kept = np.ones(v.size, bool)
    finite = np.flatnonzero(np.isfinite(v))
    n = min(n_stop, finite.size)
    if n <= 0:
        return kept
    if n == finite.size:
        kept[finite] = False
        return kept
    w = v[finite]
    cut = np.partition(w, w.size - n)[w.size - n]  # the n-th largest
    stop = w > cut
    stop[np.flatnonzero(w == cut)[:n - int(stop.sum())]] = True
    kept[finite[stop]] = False
    return kept


@dataclass(frozen=True, eq=False)
class Replay(RichResult):
    """Result of :func:`replay` (see the module docstring for every definition).

    Attributes
    ----------
    objective, direction:
        The objective replayed and its direction.
    horizon:
        The step taken as "final"; ``n_trials`` trials reached it (``n_curves`` had a curve).
    origin:
        Compute of a trial stopped at step ``k`` is ``k - origin`` steps.
    top:
        How many best final trials the recall counts.
    steps:
        Per step: ``spearman``, ``low``, ``high`` (confidence band at ``level``), ``n``.
    rules:
        Long table: ``rule, step, saved, best_survived, recall, regret, n_stopped``.
    halving:
        Successive halving: ``eta, min_resource, rungs, saved, best_survived, recall, regret, n_stopped``.
    sentinel_step:
        Recommended first step at which stopping is safe, or ``None`` when no step is.
    reduction_factor:
        Largest ``eta`` keeping the final best with successive halving from the sentinel, or ``None``.
    message:
        The plain verdict; ``advice`` the framework's setting (from its adapter) when known.
    """

    objective: str
    direction: str
    horizon: float
    origin: float
    n_trials: int
    n_curves: int
    top: int
    level: float
    steps: pd.DataFrame
    rules: pd.DataFrame
    halving: pd.DataFrame
    sentinel_step: float | None
    reduction_factor: int | None
    message: str
    advice: str | None = None
    evidence: dict[str, float] = field(default_factory=dict)

    def saved_at(self, rule: str, step: float) -> float:
        """Fraction of compute ``rule`` saves when applied at ``step`` (a replayed grid step)."""
        row = self.rules[(self.rules["rule"] == rule) & (self.rules["step"] == step)]
        if row.empty:
            raise SchemaError(f"no replay of rule {rule!r} at step {step!r}; rules: "
                              f"{sorted(self.rules['rule'].unique())}, steps: {self.steps.index.tolist()}")
        return float(row["saved"].iloc[0])

    def to_dataframe(self) -> pd.DataFrame:
        """One row per step: rank correlation with its band, then per rule ``<rule>_saved``,
        ``<rule>_best_survived``, ``<rule>_recall``."""
        wide = self.rules.pivot(index="step", columns="rule", values=["saved", "best_survived", "recall"])
        wide.columns = [f"{rule}_{what}" for what, rule in wide.columns]
        return self.steps.join(wide).reset_index()

    def __repr__(self) -> str:
        return (f"Replay(objective={self.objective!r}, n_trials={self.n_trials}, horizon={self.horizon:g}, "
                f"sentinel_step={self.sentinel_step}, reduction_factor={self.reduction_factor})")


def _fmt(x: float) -> str:
    return f"{x:g}"


@keywords_checked
def replay(
    obj: Any,
    objective: str | None = None,
    *,
    top: int = 3,
    fractions: Sequence[float] = (0.5, 0.75),
    etas: Sequence[int] = (2, 3, 4),
    level: float = 0.9,
) -> Replay:
    """Replay early-stopping rules on the logged learning curves.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts, with per-trial learning curves
        (reservoir logs of the objective, or of ``"value"``).
    objective:
        Objective to replay (default: the primary).
    top:
        Recall counts how many of the ``top`` best final trials a rule keeps.
    fractions:
        ``bottom-<f>`` rules: stop the worst fraction ``f`` (each in ``(0, 1)``).
    etas:
        Reduction factors of the successive-halving replay (integers >= 2).
    level:
        Confidence level of the rank-correlation band.

    Returns
    -------
    Replay

    Raises
    ------
    InsufficientDataError
        Fewer than :data:`MIN_TRIALS` trials with a learning curve.
    """
    _check("top", top, isinstance(top, numbers.Integral) and not isinstance(top, bool) and top >= 1,
           "an integer >= 1")
    fractions = tuple(fractions)
    _check("fractions", fractions, all(isinstance(f, numbers.Real) and 0 < f < 1 for f in fractions),
           "a sequence of numbers in (0, 1)")
    etas = tuple(etas)
    _check("etas", etas, bool(etas) and all(isinstance(e, numbers.Integral) and not isinstance(e, bool)
                                             and e >= 2 for e in etas), "a non-empty sequence of integers >= 2")
    _check("level", level, isinstance(level, numbers.Real) and 0 < level < 1, "a number in (0, 1)")
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    cs = _curves(exp, objective)
    if len(cs) < MIN_TRIALS:
        raise InsufficientDataError(
            f"early-stopping replay needs learning curves of {objective!r} (or 'value') from at least "
            f"{MIN_TRIALS} trials; have {len(cs)}. Log intermediate values (reported steps) during the trials.",
            have=len(cs), need=MIN_TRIALS)
    last = cs.last
    horizon = float(np.sort(last)[::-1][MIN_TRIALS - 1])
    pop = np.flatnonzero(last >= horizon)
    final = oriented(cs.final(horizon)[pop], cs.direction)
    ok = np.isfinite(final)
    pop, final = pop[ok], final[ok]
    if pop.size < MIN_TRIALS:
        raise InsufficientDataError(
            f"early-stopping replay needs {MIN_TRIALS} trials with a finite value at step {_fmt(horizon)}; "
            f"have {pop.size}", have=int(pop.size), need=MIN_TRIALS)
    first = float(min(cs.steps[i][0] for i in pop))
    origin = min(0.0, first - 1.0)
    grid = np.unique(np.concatenate([cs.steps[i] for i in pop]))
    grid = grid[grid <= horizon]
    if grid.size > MAX_GRID_STEPS:
        grid = np.unique(grid[np.round(np.linspace(0, grid.size - 1, MAX_GRID_STEPS)).astype(int)])
    sub_trials = type(cs)(cs.objective, cs.direction, tuple(cs.trials[i] for i in pop),
                          tuple(cs.steps[i] for i in pop), tuple(cs.values[i] for i in pop))
    V = oriented(sub_trials.at(grid), cs.direction)
    n = final.size
    top = min(int(top), n)
    top_idx = np.argsort(final, kind="stable")[:top]
    full_cost = horizon - origin

    step_rows, rule_rows = [], []
    for g, k in enumerate(grid):
        v = V[:, g]
        obs = np.isfinite(v)
        rho = math.nan
        if obs.sum() >= 4 and np.ptp(v[obs]) > 0 and np.ptp(final[obs]) > 0:
            rho = float(stats.spearmanr(v[obs], final[obs]).statistic)
        lo, hi = _spearman_band(rho, int(obs.sum()), float(level))
        step_rows.append({"step": float(k), "spearman": rho, "low": lo, "high": hi, "n": int(obs.sum())})
        med = np.nanmedian(v) if obs.any() else math.nan
        masks = {"median": ~(np.isfinite(v) & (v > med))}
        for f in fractions:
            masks[f"bottom-{f:g}"] = _stop_worse(v, int(math.floor(f * obs.sum())))
        for rule, kept in masks.items():
            cost = np.where(kept, full_cost, float(k) - origin)
            rule_rows.append({"rule": rule, "step": float(k), **_outcome(kept, cost, full_cost, final, top_idx)})
    steps_df = pd.DataFrame(step_rows).set_index("step")
    rules_df = pd.DataFrame(rule_rows)

    plans = []  # (eta, min resource, rung steps)
    for eta in etas:
        for k in grid:
            if k >= horizon or k - origin <= 0:
                continue
            rungs = []
            r = float(k)
            while r < horizon:
                rungs.append(r)
                r = origin + (r - origin) * eta
            plans.append((int(eta), float(k), rungs))
    all_rungs = np.unique(np.concatenate([p[2] for p in plans])) if plans else np.array([])
    at_all = oriented(sub_trials.at(all_rungs), cs.direction)  # every rung of every plan, read once
    halving_rows = []
    for eta, k, rungs in plans:
        at = at_all[:, np.searchsorted(all_rungs, rungs)]
        kept = np.ones(n, bool)
        cost = np.full(n, full_cost)
        for j, rung in enumerate(rungs):
            alive = np.flatnonzero(kept)
            n_keep = max(1, math.ceil(alive.size / eta))
            stop = alive[~_stop_worse(at[alive, j], alive.size - n_keep)]
            kept[stop] = False
            cost[stop] = rung - origin
        halving_rows.append({"eta": eta, "min_resource": k, "rungs": len(rungs),
                             **_outcome(kept, cost, full_cost, final, top_idx)})
    halving_df = pd.DataFrame(halving_rows, columns=["eta", "min_resource", "rungs", "saved", "best_survived",
                                                     "recall", "regret", "n_stopped"])

    median = rules_df[rules_df["rule"] == "median"].set_index("step")
    margin = np.array([_stop_worse(V[:, g], int(math.ceil((1 - SAFE_RANK_SHARE) * np.isfinite(V[:, g]).sum())))
                       [top_idx].all() for g in range(grid.size)])
    safe = margin & (median["recall"] >= 1.0).to_numpy() & (steps_df["spearman"] >= RELIABLE_CORRELATION).to_numpy()
    sentinel = None
    if safe[-1]:
        unsafe = np.flatnonzero(~safe)
        sentinel = float(grid[unsafe[-1] + 1]) if unsafe.size else float(grid[0])
        if sentinel >= horizon:  # safe only at the end: no early stop
            sentinel = None
    eta_best = None
    if sentinel is not None and sentinel < horizon:
        rows = halving_df[(halving_df["min_resource"] == sentinel) & halving_df["best_survived"]]
        eta_best = int(rows["eta"].max()) if len(rows) else None

    evidence: dict[str, float] = {"horizon": horizon, "n_trials": float(n), "first_step": first}
    if sentinel is not None:
        s_row = median.loc[sentinel]
        evidence.update({"sentinel_step": sentinel, "saved_at_sentinel": float(s_row["saved"]),
                         "spearman_at_sentinel": float(steps_df.loc[sentinel, "spearman"]),
                         "spearman_low_at_sentinel": float(steps_df.loc[sentinel, "low"])})
    if eta_best is not None:
        evidence["reduction_factor"] = float(eta_best)
    message = _message(objective, n, horizon, top, sentinel, eta_best, steps_df, median, halving_df, level)
    advice = framework_advice(FINDING_CODE, evidence, exp.framework) if sentinel is not None else None
    return Replay(objective, cs.direction, horizon, origin, n, len(cs), top, float(level), steps_df, rules_df,
                  halving_df, sentinel, eta_best, message, advice, evidence)


def _message(objective: str, n: int, horizon: float, top: int, sentinel: float | None, eta: int | None,
             steps_df: pd.DataFrame, median: pd.DataFrame, halving: pd.DataFrame, level: float) -> str:
    head = f"Replayed on the {n} trials that reached step {_fmt(horizon)} of {objective!r}."
    if sentinel is None:
        return (f"{head} No step before the end ranks trials reliably enough to stop any: at the last steps "
                f"either the rank correlation with the final value stays below {RELIABLE_CORRELATION} or the "
                f"median rule would stop one of the {top} best trials. Do not stop trials early on this metric.")
    s = steps_df.loc[sentinel]
    text = (f"{head} From step {_fmt(sentinel)} on, stopping the trials below the median keeps all {top} best "
            f"trials and saves {median.loc[sentinel, 'saved']:.0%} of the compute; the rank correlation with "
            f"the final value is {s['spearman']:.2f} ({level:.0%} band {s['low']:.2f} to {s['high']:.2f}).")
    earlier = median[(median.index < sentinel) & (median["recall"] < 1.0)]
    if len(earlier):
        k = earlier.index[-1]
        text += (f" Stopping at step {_fmt(k)} would have stopped {1 - earlier.loc[k, 'recall']:.0%} of the "
                 f"{top} best trials.")
    if eta is not None:
        row = halving[(halving["min_resource"] == sentinel) & (halving["eta"] == eta)].iloc[0]
        text += (f" Successive halving from step {_fmt(sentinel)} with reduction factor {eta} keeps the final "
                 f"best and saves {row['saved']:.0%}.")
    return text
