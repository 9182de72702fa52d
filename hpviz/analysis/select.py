"""Model selection from several perspectives: Pareto fronts and top-k tables.

The best score is not always the model a person wants: a slightly worse one
may train in a tenth of the time, be smaller, or have a steadier learning
curve. :func:`pareto_front` returns the trade-offs over two or more metrics,
:func:`top_k` the k best trials with everything needed to pick among them,
optionally under a constraint (``where=``).

Metrics are looked up by name, in this order: an objective of the
experiment (``trial.values``), ``"duration"`` (wall-clock seconds), then a
numeric key of ``trial.attrs``. Only COMPLETE, feasible trials take part:
a trial that violated the user's constraints is never offered as a choice
(the rule of :mod:`hpviz._columns`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hpviz._columns import rankable_trials
from hpviz._metrics import log_metric
from hpviz._numbers import as_float
from hpviz._pareto import nondominated
from hpviz._richrepr import RichResult
from hpviz._validate import check, check_int, keywords_checked
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Experiment, Trial, TrialState

__all__ = ["ParetoFront", "pareto_front", "top_k", "nondominated"]

_DIRECTION_ALIASES = {"min": "min", "minimize": "min", "max": "max", "maximize": "max"}


# --------------------------------------------------------------------------- metric lookup


def _attr_keys(trials: Sequence[Trial]) -> list[str]:
    keys: dict[str, None] = {}
    for t in trials:
        keys.update(dict.fromkeys(k for k, v in t.attrs.items() if not math.isnan(as_float(v))))
    return list(keys)


def _check_metric(exp: Experiment, name: Any, trials: Sequence[Trial]) -> str:
    if not isinstance(name, str):
        raise SchemaError(f"metric names must be strings, got {name!r}")
    if name in exp.objectives or name == "duration":
        return name
    if any(name in t.attrs for t in trials):
        if not any(not math.isnan(as_float(t.attrs.get(name))) for t in trials):
            raise SchemaError(f"metric {name!r} in trial.attrs has no numeric value in any trial")
        return name
    known = [*exp.objectives, "duration", *_attr_keys(trials)]
    raise SchemaError(f"unknown metric {name!r}; known: {known} (objectives, 'duration', numeric trial.attrs)")


def _column(exp: Experiment, trials: Sequence[Trial], name: str) -> np.ndarray:
    if name in exp.objectives:
        vals = [t.values.get(name, math.nan) for t in trials]
    elif name == "duration":
        vals = [math.nan if t.duration is None else t.duration for t in trials]
    else:
        vals = [as_float(t.attrs.get(name)) for t in trials]
    return np.asarray(vals, dtype=float).reshape(len(trials))


def _direction(name: str, direction: Any) -> str:
    key = direction.lower() if isinstance(direction, str) else direction
    if key not in _DIRECTION_ALIASES:
        raise SchemaError(f"direction of {name!r} must be 'min' or 'max', got {direction!r}")
    return _DIRECTION_ALIASES[key]


def _resolve_objectives(exp: Experiment, objectives: Any, trials: Sequence[Trial]) -> dict[str, str]:
    if objectives is None:
        if len(exp.objectives) < 2:
            raise SchemaError(
                f"pareto_front needs two or more objectives; this experiment has {list(exp.objectives)}. "
                f"Pass objectives=, e.g. {{{exp.primary!r}: {exp.objectives[exp.primary]!r}, 'duration': 'min'}}"
            )
        return dict(exp.objectives)
    if isinstance(objectives, str):
        raise SchemaError("objectives must name two or more metrics (a list or a mapping name -> 'min'|'max')")
    pairs = list(objectives.items()) if isinstance(objectives, Mapping) else [(n, None) for n in objectives]
    out: dict[str, str] = {}
    for name, direction in pairs:
        name = _check_metric(exp, name, trials)
        if direction is None:
            if name not in exp.objectives:
                raise SchemaError(
                    f"the direction of metric {name!r} is unknown: pass a mapping, e.g. {{{name!r}: 'min'}}"
                )
            direction = exp.objectives[name]
        out[name] = _direction(name, direction)
    if len(out) < 2:
        raise SchemaError(f"pareto_front needs two or more distinct metrics, got {list(out)}")
    return out


# --------------------------------------------------------------------------- Pareto front


@dataclass(frozen=True, eq=False)
class ParetoFront(RichResult):
    """Non-dominated trials over several metrics.

    Attributes
    ----------
    objectives:
        ``metric -> "min" | "max"`` used, in order.
    trials:
        Numbers of the trials on the front, best first on the first metric.
    frame:
        The front: ``number``, one column per metric, then the parameters.
    all:
        Every candidate point (COMPLETE trials with finite metrics):
        ``number``, the metrics and a boolean ``on_front`` column.
    excluded:
        Numbers of COMPLETE, feasible trials left out because a metric was missing, NaN or infinite.
    infeasible:
        Numbers of COMPLETE trials left out because they are infeasible.
    """

    objectives: Mapping[str, str]
    trials: tuple[int, ...]
    frame: pd.DataFrame
    all: pd.DataFrame
    excluded: tuple[int, ...] = ()
    infeasible: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.trials)

    def __repr__(self) -> str:
        return f"ParetoFront(objectives={dict(self.objectives)}, trials={list(self.trials)[:20]}" + (
            f" … {len(self.trials) - 20} more)" if len(self.trials) > 20 else ")")

    def to_dataframe(self) -> pd.DataFrame:
        """The front (``frame``): ``number``, one column per metric, then the parameters; best first."""
        return self.frame.copy()


@keywords_checked
def pareto_front(obj: Any, objectives: Sequence[str] | Mapping[str, str] | None = None) -> ParetoFront:
    """Trials no other trial beats on every metric at once.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    objectives:
        Two or more metrics: a list of names, or a mapping ``name -> "min"|"max"``.
        Names are objectives (direction defaults to the experiment's),
        ``"duration"`` or numeric keys of ``trial.attrs`` (these need a
        direction, e.g. ``{"accuracy": "max", "duration": "min"}``).
        ``None`` uses all objectives of a multi-objective experiment.

    Returns
    -------
    ParetoFront
        Equal points are all on the front. Trials with a missing, NaN or
        infinite metric are excluded (listed in ``.excluded``).

    Raises
    ------
    SchemaError
        Fewer than two metrics, an unknown metric, or a bad direction.
    InsufficientDataError
        No COMPLETE trial has finite values for all the metrics.
    """
    exp = _to_experiment(obj)
    complete = [t for t in exp.trials if t.state is TrialState.COMPLETE and t.feasible]
    infeasible = tuple(t.number for t in exp.trials if t.state is TrialState.COMPLETE and not t.feasible)
    directions = _resolve_objectives(exp, objectives, exp.trials)
    names = list(directions)
    X = np.column_stack([_column(exp, complete, name) for name in names]) if complete else np.zeros((0, len(names)))
    finite = np.isfinite(X).all(axis=1)
    numbers_ = np.array([t.number for t in complete], dtype=np.int64)
    if not finite.any():
        raise InsufficientDataError(
            f"pareto_front found no COMPLETE, feasible trial with finite values of {names} "
            f"({len(complete)} COMPLETE and feasible, {len(infeasible)} infeasible, of {len(exp)} trials)",
            have=0,
            need=1,
        )
    X, kept = X[finite], [t for t, ok in zip(complete, finite) if ok]
    signs = np.array([1.0 if directions[nm] == "min" else -1.0 for nm in names])
    on_front = nondominated(X * signs)

    all_frame = pd.DataFrame(X, columns=names)
    all_frame.insert(0, "number", numbers_[finite])
    all_frame["on_front"] = on_front

    front_idx = np.flatnonzero(on_front)
    # Best first: lexicographic on the metrics in the given order, then trial number.
    keys = [numbers_[finite][front_idx]] + [(X[front_idx, j] * signs[j]) for j in range(len(names) - 1, -1, -1)]
    front_idx = front_idx[np.lexsort(keys)]
    params = list(exp.all_params())
    for t in kept:
        params.extend(p for p in t.params if p not in params)
    rows = []
    for i in front_idx:
        t = kept[i]
        row: dict[str, Any] = {"number": t.number}
        row.update({nm: X[i, j] for j, nm in enumerate(names)})
        row.update({p: t.params.get(p, math.nan) for p in params if p not in row})
        rows.append(row)
    columns = ["number", *names, *[p for p in params if p not in names and p != "number"]]
    frame = pd.DataFrame(rows, columns=columns)
    return ParetoFront(
        objectives=dict(directions),
        trials=tuple(int(t) for t in frame["number"]),
        frame=frame,
        all=all_frame,
        excluded=tuple(int(n) for n in numbers_[~finite]),
        infeasible=infeasible,
    )


# --------------------------------------------------------------------------- top-k


def stability(trial: Trial, objective: str, window: int = 5) -> float:
    """Spread (sample standard deviation) of the last ``window`` kept points of the trial's curve.

    The curve is the one :mod:`hpviz._metrics` picks for the objective (its
    own name if logged, else ``"value"``: the rule every view and finding
    uses). NaN when there is no such curve or fewer than two finite points.
    """
    metric = log_metric(trial, objective)
    if metric is None:
        return math.nan
    _, vals = trial.log.series(metric)  # type: ignore[union-attr]
    vals = vals[np.isfinite(vals)][-window:]
    return float(np.std(vals, ddof=1)) if len(vals) >= 2 else math.nan


@keywords_checked
def top_k(
    obj: Any,
    k: int = 10,
    objective: str | None = None,
    where: Callable[[Trial], Any] | str | None = None,
    *,
    stability_window: int = 5,
) -> pd.DataFrame:
    """The ``k`` best COMPLETE, feasible trials, with what is needed to choose among them.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    k:
        How many trials (fewer if fewer qualify).
    objective:
        The objective ranked on (default: primary); best first, ties by trial number.
    where:
        Optional constraint: a callable taking a :class:`hpviz.Trial` and
        returning truthy to keep it (``lambda t: t.duration < 60``), or a
        :meth:`pandas.DataFrame.query` string over the table's columns
        (``"duration < 60 and units <= 128"``).
    stability_window:
        How many of the last kept learning-curve points make up ``stability``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``rank`` (1..k). Columns: ``number``, every objective,
        every parameter (NaN if inactive), ``duration``, numeric ``attrs``
        (prefixed ``attrs.`` on a name clash) and ``stability`` (standard
        deviation of the last ``stability_window`` points of the trial's
        learning curve; lower is steadier; NaN without a log). Empty when
        no trial meets ``where``.

    Raises
    ------
    SchemaError
        Unknown objective, ``k < 1``, or a ``where`` query that does not evaluate.
    InsufficientDataError
        No COMPLETE, feasible trial has a finite value of the objective.
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    k = check_int("k", k, 1)
    stability_window = check_int("stability_window", stability_window, 2)
    check("where", where, None, callable, str)
    trials = rankable_trials(exp, objective)
    if not trials:
        raise InsufficientDataError(
            f"top_k found no COMPLETE, feasible trial with a finite {objective!r} ({len(exp)} trials in total)",
            have=0,
            need=1,
        )
    if callable(where):
        trials = [t for t in trials if where(t)]

    params = list(exp.all_params())
    for t in trials:
        params.extend(p for p in t.params if p not in params)
    fixed = ["number", *exp.objectives, *[p for p in params if p not in exp.objectives and p != "number"]]
    taken = set(fixed) | {"duration", "stability", "rank"}
    attr_cols = {a: (a if a not in taken else f"attrs.{a}") for a in _attr_keys(trials)}
    columns = [*fixed, "duration", *attr_cols.values(), "stability"]

    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number}
        row.update({o: t.values.get(o, math.nan) for o in exp.objectives})
        row.update({p: t.params.get(p, math.nan) for p in fixed[1 + len(exp.objectives):]})
        row["duration"] = math.nan if t.duration is None else t.duration
        row.update({col: as_float(t.attrs.get(a)) for a, col in attr_cols.items()})
        row["stability"] = stability(t, objective, int(stability_window))
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    if isinstance(where, str) and len(table):
        try:
            table = table.query(where)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise SchemaError(f"where={where!r} could not be evaluated on columns {columns}: {exc}") from exc
        if not isinstance(table, pd.DataFrame):
            raise SchemaError(f"where={where!r} did not select rows")
    ascending = exp.objectives[objective] == "min"
    table = table.sort_values([objective, "number"], ascending=[ascending, True], kind="stable").head(int(k))
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table
