"""Several model families, one verdict (the AutoML view).

Users tune several models (say an SVM, gradient boosting and an MLP), each
in its own study or run, and pick one. :func:`compare_models` puts them side
by side on top of :func:`hpviz.compare` (budget-fair expected-best curves,
with its bands and its pairwise statements) on three budget axes, and adds:

* **a verdict per budget axis**: trials, seconds (wall time of the trials run
  one after another) and training steps, each where every model has the data
  (timestamps; ``Trial.budget`` or logged steps), else said why not. "Best at
  equal seconds" is what matters when one model trains 50 times faster. Each
  axis is :func:`hpviz.compare` (equal-budget permutation max-T test, Holm or
  Benjamini-Hochberg over the pairs) at the level ``1 - (1 - level) / A`` for A
  axes (Bonferroni over the axes), so every statement of the verdict, all axes
  together, holds at ``level`` (measured: ``benchmarks/models.py``);

* **each model's best with its uncertainty**, from the best source the data
  has, in this order: the per-split scores of the best trial
  (``attrs["split_test_<objective>"]``, e.g. a cross-validated search): a
  ``level`` t-interval of their mean (folds share training data, so this
  interval is optimistic, Nadeau & Bengio 2003); else repeated evaluations
  of identical configurations (``compare``'s noise): best +- z * sd; else
  none (the interval is NaN and the verdict says the best's noise is
  unknown). ``optimism`` (winner's curse, from ``compare``) is shown
  beside it;
* **search-space coverage** (:func:`hpviz.analysis.coverage.coverage`) per
  model, so "model B was explored much more thinly" qualifies the verdict;
* **the Pareto front across models** on user-chosen metrics (e.g.
  ``{"accuracy": "max", "duration": "min"}``): every model's trials pooled,
  which points no other model's point beats on all metrics;
* **a plain verdict** listing what the evidence supports and what it does not.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hpviz._columns import rankable_trials
from hpviz._richrepr import RichResult
from hpviz._validate import keywords_checked
from hpviz.analysis.budget import _costs, _names, _resolve_objective
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import HpvizError, SchemaError
from hpviz.schema import TrialState

__all__ = ["compare_models", "ModelComparison", "AXES"]


#: Budget axes of the verdict (:func:`hpviz.compare`'s ``axis``), in the order shown.
AXES = ("trials", "seconds", "steps")
_AXIS_WORDS = {"trials": "trials", "seconds": "seconds of training", "steps": "training steps"}


@dataclass(frozen=True, eq=False)
class ModelComparison(RichResult):
    """Result of :func:`compare_models`.

    Attributes
    ----------
    names, objective, direction:
        Model names (in the order given), the objective compared and its direction.
    comparison:
        The :class:`hpviz.analysis.budget.Comparison` by trials (budget-fair curves), ``comparisons["trials"]``.
    comparisons:
        ``axis -> Comparison`` for each budget axis every model has the data for (``"trials"`` always).
    missing_axes:
        ``axis -> why`` for the axes of :data:`AXES` left out (a model without timestamps, without steps...).
    unit_costs:
        ``axis -> {model: mean cost of one trial}`` (1 for trials, seconds, steps): the expected best after
        ``n`` trials is drawn at budget ``n * unit cost``, the budget -> trial count map of the test.
    by_axis:
        One row per axis compared: ``axis, budget, winner, decisive, ranking, statement`` (``budget``: the
        largest budget every model reached, up to which the test compares; ``winner``: the model that beats
        every other at some budget and is beaten by none, else ``None``; ``decisive``: the winner is also
        ahead of each other model somewhere in the top quarter of the budgets compared (log scale), not
        only at small budgets;
        ``ranking``: best first by expected best at ``budget``, empty when that budget buys no trial of
        some model).
    best:
        One row per model: ``model, n_trials, best, low, high, uncertainty, optimism, coverage_ratio``.
    coverage:
        ``name -> Coverage`` (``None`` where it could not be computed).
    pareto:
        Pooled points of every model on the chosen metrics with ``model``, ``number`` and ``on_front``
        (the cross-model front), or ``None`` without ``metrics``.
    supported, not_supported:
        Plain statements of what the evidence does and does not support.
    """

    names: tuple[str, ...]
    objective: str
    direction: str
    comparison: Any
    comparisons: Mapping[str, Any]
    missing_axes: Mapping[str, str]
    unit_costs: Mapping[str, Mapping[str, float]]
    by_axis: pd.DataFrame
    best: pd.DataFrame
    coverage: Mapping[str, Any]
    pareto: pd.DataFrame | None
    metrics: Mapping[str, str] | None
    supported: tuple[str, ...]
    not_supported: tuple[str, ...]
    level: float

    @property
    def verdict(self) -> str:
        parts = [f"Supported: {s}" for s in self.supported] + [f"Not supported: {s}" for s in self.not_supported]
        return "\n".join(parts)

    def to_dataframe(self) -> pd.DataFrame:
        """The per-model table (``best``)."""
        return self.best.copy()

    def curves(self, axis: str = "trials") -> pd.DataFrame:
        """Expected best against budget on ``axis``: ``name, n, budget, mean, lower, upper`` (bands as compared)."""
        if axis not in self.comparisons:
            raise SchemaError(f"no comparison by {axis!r}: "
                              + (self.missing_axes.get(axis) or f"axes are {list(self.comparisons)}"))
        frame = self.comparisons[axis].to_dataframe()
        frame.insert(2, "budget", frame["n"] * frame["name"].map(dict(self.unit_costs[axis])))
        return frame

    def __repr__(self) -> str:
        return f"ModelComparison(names={self.names}, objective={self.objective!r})"


def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.4g}"


def _best_interval(exp: Any, objective: str, noise_sd: float | None, level: float) -> tuple[float, float, float, str]:
    best = exp.best(objective)
    if best is None:
        return math.nan, math.nan, math.nan, "no usable trial"
    value = float(best.values[objective])
    splits = best.attrs.get(f"split_test_{objective}")
    if isinstance(splits, Sequence) and not isinstance(splits, str):
        s = np.array([float(v) for v in splits if isinstance(v, numbers.Real) and math.isfinite(float(v))])
        if s.size >= 2:
            half = stats.t.ppf(0.5 + level / 2, s.size - 1) * s.std(ddof=1) / math.sqrt(s.size)
            return value, float(s.mean() - half), float(s.mean() + half), f"{s.size} splits"
    if noise_sd is not None and math.isfinite(noise_sd):
        half = stats.norm.ppf(0.5 + level / 2) * noise_sd
        return value, value - half, value + half, "repeated configurations"
    return value, math.nan, math.nan, "no interval (one score per trial)"


@keywords_checked
def compare_models(
    objs: Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    objective: str | None = None,
    metrics: Mapping[str, str] | None = None,
    axes: Sequence[str] | None = None,
    level: float = 0.95,
    correction: str = "holm",
    seed: int = 0,
) -> ModelComparison:
    """Compare several tuned models (one experiment each) and say what the evidence supports.

    Parameters
    ----------
    objs:
        Two or more things :func:`hpviz.experiment` accepts, one per model.
    names:
        Model names (default: the experiments' names, else A, B, ...).
    objective:
        Objective compared (default: the first experiment's primary); every model must have it.
    metrics:
        Metrics for the cross-model Pareto front, ``name -> "min"|"max"`` (objectives, ``"duration"`` or
        numeric trial attributes, as :func:`hpviz.pareto_front` takes them); ``None``: no front.
    axes:
        Budget axes of the verdict, among :data:`AXES`. Default: all three, each where every model has the
        data (the others are in ``missing_axes``, and the verdict says why); an axis asked for explicitly
        that some model lacks is an error.
    level:
        Confidence level of the best values' intervals, and of the verdict: all its statements, every axis
        together, hold at ``level`` (each axis at ``1 - (1 - level) / len(axes)``).
    correction:
        Multiple-comparison control over the pairs of models within an axis: ``"holm"`` (family-wise) or
        ``"bh"`` (false discovery rate), as :func:`hpviz.compare`.
    seed:
        Seed of the permutation tests and coverage measures.

    Raises
    ------
    SchemaError
        Fewer than two models, a bad ``level`` or ``axes``, an asked axis some model has no costs for, or
        a metric some model does not have.
    """
    from hpviz.analysis.budget import compare
    from hpviz.analysis.coverage import coverage
    from hpviz.analysis.select import nondominated, pareto_front

    if isinstance(objs, (str, bytes)) or not isinstance(objs, Sequence) or len(objs) < 2:
        raise SchemaError(f"compare_models needs a list of two or more experiments, got {objs!r:.80}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise SchemaError(f"level must be a number in (0, 1), got {level!r}")
    if metrics is not None and (not isinstance(metrics, Mapping) or len(metrics) < 2):
        raise SchemaError(f"metrics must be a mapping of two or more names to 'min'|'max', got {metrics!r}")
    if axes is not None and (isinstance(axes, str) or not set(axes) <= set(AXES) or not axes):
        raise SchemaError(f"axes must be a non-empty list among {list(AXES)}, got {axes!r}")
    exps = [_to_experiment(o) for o in objs]
    names_ = _names(exps, names)
    resolved, _ = _resolve_objective(exps, names_, objective)
    pareto = None  # first: a metric some model lacks fails before the tests run
    if metrics is not None:
        frames = []
        for name, exp in zip(names_, exps):
            front = pareto_front(exp, objectives=metrics)
            f = front.all.drop(columns=["on_front"])
            f.insert(0, "model", name)
            frames.append(f)
        pareto = pd.concat(frames, ignore_index=True)
        cols = list(front.objectives)
        signs = np.array([1.0 if front.objectives[c] == "min" else -1.0 for c in cols])
        pareto["on_front"] = nondominated(pareto[cols].to_numpy(dtype=float) * signs)
    unit_costs, missing = {}, {}
    for axis in (a for a in AXES if a in (axes or AXES)):
        try:
            unit_costs[axis] = {n: float(_costs(rankable_trials(e, o), axis, n).mean()) if rankable_trials(e, o)
                                else math.nan for n, e, o in zip(names_, exps, resolved)}
        except SchemaError as exc:
            if axes is not None:
                raise
            missing[axis] = str(exc).split(". Use")[0].replace(f"compare(axis={axis!r}) needs", "needs")
    band = 1.0 - (1.0 - float(level)) / len(unit_costs)
    comps = {axis: compare(*exps, names=names_, objective=objective, axis=axis, band=band, correction=correction,
                           seed=seed) for axis in unit_costs}
    comp = comps.get("trials") or next(iter(comps.values()))
    objective_ = comp.objective
    rows, covs = [], {}
    for name, exp in zip(names_, exps):
        value, low, high, source = _best_interval(exp, objective_, comp.noise.get(name), float(level))
        try:
            covs[name] = coverage(exp, seed=seed)
        except HpvizError:
            covs[name] = None
        rows.append({"model": name, "n_trials": len(exp.completed(objective_)), "best": value, "low": low,
                     "high": high, "uncertainty": source, "optimism": float(comp.optimism.get(name, math.nan)),
                     "coverage_ratio": covs[name].ratio if covs[name] is not None else math.nan})
    best_df = pd.DataFrame(rows)


    rows = []
    for a, c in comps.items():
        budget = _common_budget(c, unit_costs[a])
        short_run = _shorter_than_a_trial(a, budget, unit_costs[a], {n: c.curves[n].n_trials for n in c.names})
        winner = None if short_run else c.winner
        rows.append({"axis": a, "budget": budget, "winner": winner,
                     "decisive": winner is not None and _decisive(c, winner),
                     "ranking": "" if short_run else ", ".join(_ranking_at(c, budget, unit_costs[a])),
                     "statement": short_run or c.statement})
    by_axis = pd.DataFrame(rows, columns=["axis", "budget", "winner", "decisive", "ranking", "statement"])
    by_axis["winner"] = pd.Series([r["winner"] for r in rows], dtype=object)  # None, not NaN, without a winner
    unused = {a: {n: _unused_share(e, o, a) for n, e, o in zip(names_, exps, resolved)}
              for a in comps if a != "trials"}
    supported, not_supported = _verdict(comps, by_axis, missing, best_df, covs, pareto, metrics, float(level))
    not_supported += _unused_caveats(unused)
    return ModelComparison(names_, objective_, comp.direction, comp, MappingProxyType(comps),
                           MappingProxyType(missing), MappingProxyType(unit_costs), by_axis, best_df, covs, pareto,
                           dict(metrics) if metrics else None, tuple(supported), tuple(not_supported), float(level))


#: The winner is "best at equal budgets" (decisive) when it is ahead of each other model somewhere in the top
#: quarter of the budgets compared (log scale, as the test's grid), not only at the small budgets: a model
#: that is good from its first trial often leads at 1-5 trials and then ties (measured on the demo).
_TOP_SHARE = 0.25


def _decisive(comp: Any, winner: str) -> bool:
    """Whether ``winner`` is ahead of every other model somewhere in the top :data:`_TOP_SHARE` of the budgets."""
    for other in comp.names:
        if other == winner:
            continue
        segs = [s for s in comp.segments if {s.a, s.b} == {winner, other}]
        if not segs:
            return False
        lo, hi = min(s.n_from for s in segs), max(s.n_to for s in segs)
        top = math.exp(math.log(hi) - _TOP_SHARE * (math.log(hi) - math.log(lo))) if hi > lo > 0 else hi
        if not any(s.winner == winner and s.n_to >= top for s in segs):
            return False
    return True


def _shorter_than_a_trial(axis: str, budget: float, unit: Mapping[str, float],
                          n_trials: Mapping[str, int]) -> str | None:
    """Why no comparison is possible on ``axis`` when the common budget buys no trial of the costliest model."""
    slow = max(unit, key=lambda n: unit[n])
    if axis == "trials" or budget >= unit[slow]:
        return None
    fast = [n for n in unit if n_trials[n] * unit[n] < unit[slow]]
    word = {"seconds": "s", "steps": "steps"}[axis]
    return (f"No comparison at equal {axis} is possible: the shortest run ({budget:.3g} {word} in all) is shorter "
            f"than one trial of {slow} ({unit[slow]:.3g} {word} on average); run {', '.join(fast)} longer "
            f"(more trials) to compare at equal {axis}")


def _unused_share(exp: Any, objective: str, axis: str) -> float:
    """Share of a model's cost on ``axis`` spent on trials the comparison cannot use (pruned, failed, infeasible)."""
    used = rankable_trials(exp, objective)
    ids = {id(t) for t in used}
    other = [t for t in exp.trials if id(t) not in ids and t.state in (TrialState.COMPLETE, TrialState.PRUNED,
                                                                         TrialState.FAIL)]
    spent = [c for c in (_cost_or_none(t, axis) for t in other) if c is not None]
    total = float(_costs(used, axis, "").sum()) + sum(spent)
    return sum(spent) / total if total > 0 else 0.0


def _cost_or_none(trial: Any, axis: str) -> float | None:
    try:
        return float(_costs([trial], axis, "")[0])
    except SchemaError:
        return None


def _unused_caveats(unused: Mapping[str, Mapping[str, float]]) -> list[str]:
    """One caveat per axis where some model spent a notable share of its budget on trials the test ignores."""
    out = []
    for axis, share in unused.items():
        big = {n: s for n, s in share.items() if s >= _UNUSED_SHARE}
        if not big:
            continue
        out.append(f"by {_AXIS_WORDS[axis]}, a budget that includes pruned or failed trials: only completed "
                   f"trials are counted, and " + ", ".join(f"{n} spent {s:.0%}" for n, s in big.items())
                   + f" of its {axis} on the others; a model whose trials are stopped more often looks cheaper "
                     "per trial than its search was")
    return out


def _ranking_at(comp: Any, budget: float, unit: Mapping[str, float]) -> list[str]:
    """Models best first by expected best at ``budget`` (each with the trials that fit in it, as the test)."""
    sign = 1.0 if comp.direction == "max" else -1.0
    value = {}
    for n in comp.names:
        curve = comp.curves[n]
        k = int(np.clip(math.floor(budget / unit[n] + 1e-9), 1, len(curve.mean)))
        value[n] = sign * float(curve.mean[k - 1])
    return sorted(comp.names, key=lambda n: -value[n])


def _common_budget(comp: Any, unit: Mapping[str, float]) -> float:
    """The largest budget every model reached (their total costs' minimum)."""
    return float(min(comp.curves[n].n_trials * unit[n] for n in comp.names))


def _verdict(comps: Mapping[str, Any], by_axis: pd.DataFrame, missing: Mapping[str, str], best: pd.DataFrame,
             covs: Mapping[str, Any],
             pareto: pd.DataFrame | None, metrics: Mapping[str, str] | None,
             level: float) -> tuple[list[str], list[str]]:
    yes, no = [], []
    together = (f"; {len(comps)} axes, each at {1 - (1 - level) / len(comps):.4g} so that all hold together at "
                f"{level:.0%}" if len(comps) > 1 else "")
    for row in by_axis.itertuples():
        words = _AXIS_WORDS[row.axis]
        unit = {"trials": "trials", "seconds": "s", "steps": "steps"}[row.axis]
        if isinstance(row.winner, str) and row.decisive:
            yes.append(f"by {words}: {row.winner} is the best model at equal budgets: it beats every other model "
                       f"at the larger budgets compared (up to {row.budget:.4g} {unit}) and none beats it at any "
                       f"budget. {row.statement.rstrip('.')}{together}.")
        elif isinstance(row.winner, str):
            yes.append(f"by {words}: {row.winner} is ahead at some smaller budgets and never beaten. "
                       f"{row.statement.rstrip('.')}{together}.")
            no.append(f"by {words}: a best model at the larger budgets compared (up to {row.budget:.4g} {unit}): "
                      f"there no difference between {row.winner} and some other model is established")
        else:
            no.append(f"by {words}: a single best model at equal budgets. {row.statement.rstrip('.')}{together}.")
    for axis, why in missing.items():
        no.append(f"any verdict by {_AXIS_WORDS[axis]}: it {why}")
    comp = comps.get("trials") or next(iter(comps.values()))
    small = best[best["n_trials"] < _FEW_TRIALS]
    if len(small):
        no.append("anything about budgets beyond the smallest run: "
                  + ", ".join(f"{r.model} has only {int(r.n_trials)} usable trial{'s' if r.n_trials != 1 else ''}"
                              for r in small.itertuples())
                  + f", so the equal-budget verdicts cover up to {comp.n_common} trials only; what the other "
                    "models found later is compared only through their best values (above)")
    sign = 1.0 if comp.direction == "min" else -1.0
    ranked = best.assign(key=sign * best["best"]).sort_values("key", kind="stable")
    if len(ranked) >= 2:
        a, b = ranked.iloc[0], ranked.iloc[1]
        if math.isfinite(a["low"]) and math.isfinite(b["low"]):
            overlap = not (a["high"] < b["low"] or b["high"] < a["low"])
            if overlap:
                no.append(f"that {a['model']}'s best ({_fmt(a['best'])}) is better than {b['model']}'s "
                          f"({_fmt(b['best'])}): their {level:.0%} intervals overlap")
            else:
                yes.append(f"{a['model']}'s best ({_fmt(a['best'])}, {level:.0%} interval {_fmt(a['low'])} to "
                           f"{_fmt(a['high'])}) is better than {b['model']}'s ({_fmt(b['best'])}, "
                           f"{_fmt(b['low'])} to {_fmt(b['high'])}), beyond their noise")
        else:
            unknown = [r["model"] for _, r in ranked.iloc[:2].iterrows() if not math.isfinite(r["low"])]
            no.append(f"any statement about the best values beyond ranking: the noise of {', '.join(unknown)}'s "
                      f"best is unknown (no per-split scores or repeated configurations)")
    thin = [n for n, c in covs.items() if c is not None and c.thin]
    dense = [n for n, c in covs.items() if c is not None and not c.thin]
    if thin and dense:
        no.append(f"an equal exploration of the spaces: {', '.join(thin)} explored their space much more thinly "
                  f"than random search with the same budget would have (largest empty region "
                  f"{', '.join(f'{covs[n].ratio:.2f}' for n in thin)} times random search's), unlike "
                  f"{', '.join(dense)}; a denser search may still improve them")
    if pareto is not None and metrics:
        on = pareto[pareto["on_front"]]
        models = list(dict.fromkeys(on["model"]))
        yes.append(f"on {' and '.join(metrics)} together, the best trade-offs come from {', '.join(models)} "
                   f"({len(on)} non-dominated trials)")
    for w in getattr(comp, "warnings", ()):
        no.append(w)
    return yes, no


#: Share of a model's seconds or steps spent on trials the equal-budget test does not count (pruned, failed)
#: from which the verdict says so: a tenth changes the budget -> trial count map by more than a tenth.
_UNUSED_SHARE = 0.10

#: Below this many usable trials a model's run is called small in the verdict (its expected-best curve and
#: the equal-budget test stop there; 10 is where the DKW band's half-width, 0.43 at 95%, stops covering
#: most of the score distribution).
_FEW_TRIALS = 10
