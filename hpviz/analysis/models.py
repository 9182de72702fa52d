"""Several model families, one verdict (the AutoML view).

Users tune several models (say an SVM, gradient boosting and an MLP), each
in its own study or run, and pick one. :func:`compare_models` puts them side
by side on top of :func:`hpviz.compare` (budget-fair expected-best curves,
with its bands and its pairwise statements) and adds:

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
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hpviz._validate import keywords_checked
from hpviz.analysis._html import result_html
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import HpvizError, SchemaError

__all__ = ["compare_models", "ModelComparison"]


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """Result of :func:`compare_models`.

    Attributes
    ----------
    names, objective, direction:
        Model names (in the order given), the objective compared and its direction.
    comparison:
        The :class:`hpviz.analysis.budget.Comparison` of :func:`hpviz.compare` (budget-fair curves).
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

    def __repr__(self) -> str:
        return f"ModelComparison(names={self.names}, objective={self.objective!r})"

    def _repr_html_(self) -> str:
        return result_html("Model comparison", [*self.supported, *(f"Not supported: {s}" for s in self.not_supported)],
                           self.best)


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
    return value, math.nan, math.nan, "unknown"


@keywords_checked
def compare_models(
    objs: Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    objective: str | None = None,
    metrics: Mapping[str, str] | None = None,
    level: float = 0.95,
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
    level:
        Confidence level of the best values' intervals.
    seed:
        Seed of the coverage measures.

    Raises
    ------
    SchemaError
        Fewer than two models, a bad ``level``, or a metric some model does not have.
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
    exps = [_to_experiment(o) for o in objs]
    comp = compare(*exps, names=names, objective=objective)
    names_ = tuple(comp.names)
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

    pareto = None
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

    supported, not_supported = _verdict(comp, best_df, covs, pareto, metrics, float(level))
    return ModelComparison(names_, objective_, comp.direction, comp, best_df, covs, pareto,
                           dict(metrics) if metrics else None, tuple(supported), tuple(not_supported), float(level))


def _verdict(comp: Any, best: pd.DataFrame, covs: Mapping[str, Any], pareto: pd.DataFrame | None,
             metrics: Mapping[str, str] | None, level: float) -> tuple[list[str], list[str]]:
    yes, no = [], []
    if comp.winner is not None:
        yes.append(f"{comp.winner} is best at equal budgets: {comp.statement}")
    else:
        no.append(f"a single best model at equal budgets ({comp.statement})")
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
