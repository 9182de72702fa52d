"""Which logged metric a view or a finding reads from a trial's learning curve: one rule for all.

A trial's :class:`~hpviz.ReservoirLog` may hold several metrics. The curve
that stands for an objective is, in this order:

1. the metric with the objective's own name, if logged;
2. else ``"value"`` (what frameworks log when a trial reports a bare number);
3. else none: another metric (say ``accuracy`` for a ``loss`` objective) may
   run the other way, so it is never silently taken for the objective. A view
   that wants it names it explicitly.

:func:`log_metric` applies the rule to one trial, :func:`experiment_log_metric`
to a set of trials (the first trial that logs the objective or ``"value"``
decides), :func:`log_curve` returns the sorted finite ``(steps, values)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from hpviz._numbers import numeric_column

if TYPE_CHECKING:  # pragma: no cover
    from hpviz.schema import Trial

__all__ = ["log_metric", "experiment_log_metric", "log_curve", "FALLBACK_METRIC"]

#: The metric name frameworks use for a bare reported number.
FALLBACK_METRIC = "value"


def log_metric(trial: Trial, objective: str) -> str | None:
    """The metric of ``trial``'s log that stands for ``objective`` (see the module docstring)."""
    return _pick(trial.log.points() if trial.log is not None else [], objective)


def _pick(points: list, objective: str) -> str | None:
    if not points:
        return None
    ends = (points[-1][1], points[0][1])  # the common case, without a scan of every point
    for candidate in (objective, FALLBACK_METRIC):
        if any(candidate in d for d in ends) or any(candidate in d for _, d in points):
            return candidate
    return None


def experiment_log_metric(trials: Iterable[Trial], objective: str) -> str | None:
    """The same rule over several trials: the objective if any trial logs it, else ``"value"``, else None."""
    seen_value = False
    for t in trials:
        metric = log_metric(t, objective)
        if metric == objective:
            return objective
        seen_value = seen_value or metric == FALLBACK_METRIC
    return FALLBACK_METRIC if seen_value else None


def log_curve(trial: Trial, objective: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(steps, values)`` of the curve that stands for ``objective``, finite points only, sorted by step."""
    pts = trial.log.points() if trial.log is not None else []
    metric = _pick(pts, objective)
    if metric is None:
        return None
    vals = [d.get(metric, np.nan) for _, d in pts]
    steps = [s for s, _ in pts]
    try:
        v = np.asarray(vals, dtype=float)
        s = np.asarray(steps, dtype=float)
    except (TypeError, ValueError):
        v = numeric_column(vals)
        s = numeric_column(steps)
    return finite_sorted(s, v)


def finite_sorted(s: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The finite ``(step, value)`` points, stably sorted by step; None when there is none."""
    ok = np.isfinite(s) & np.isfinite(v)
    if not ok.any():
        return None
    s, v = s[ok], v[ok]
    if s.size > 1 and np.any(s[1:] < s[:-1]):
        order = np.argsort(s, kind="stable")
        s, v = s[order], v[order]
    return s, v
