"""Learning curves as a matrix of values at common steps (shared by replay, rungs and lineage).

One rule for "the value of a trial at step ``b``": the last value the trial
logged at or before ``b``, and only for trials whose curve reached ``b``
(a trial stopped at step 3 has no value at step 9). The curve that stands
for an objective is chosen by the one logged-metric rule of
:func:`hpviz._metrics.log_curve` (the objective's name, else ``"value"``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from hpviz._metrics import FALLBACK_METRIC, finite_sorted, log_curve
from hpviz.schema import Experiment, Trial, TrialState

__all__ = ["Curves", "curves", "oriented", "shared", "trial_curve"]

#: Inside :func:`shared`: ``(curves by (id(experiment), objective), curve by (id(trial), objective))``, each
#: entry holding its experiment or trial (so that no other object takes its id meanwhile).
_SHARED: contextvars.ContextVar[tuple[dict, dict] | None] = contextvars.ContextVar("hpviz_shared_curves",
                                                                                    default=None)


@contextlib.contextmanager
def shared() -> Iterator[None]:
    """Within the block, :func:`curves` of an experiment and objective is read from the logs once and then
    reused, and so is each of its trials' :func:`trial_curve`: the report's analyses (replay, budget
    importance, the pruning finding, lineage) read the same logs. The same arrays are returned (every user
    only reads them). Only the calling thread sees it (a context variable; processes forked inside the
    block too); the experiments and their logs must not change inside the block (a report only reads them).
    """
    token = _SHARED.set(({}, {}))
    try:
        yield
    finally:
        _SHARED.reset(token)


@dataclass(frozen=True)
class Curves:
    """The logged curves of one experiment for one objective.

    ``trials[i]``'s curve is ``(steps[i], values[i])`` (finite points, sorted by step);
    ``last[i]`` is the last step it reached.
    """

    objective: str
    direction: str
    trials: tuple[Trial, ...]
    steps: tuple[np.ndarray, ...]
    values: tuple[np.ndarray, ...]

    @property
    def last(self) -> np.ndarray:
        return np.array([s[-1] for s in self.steps], dtype=float)

    def __len__(self) -> int:
        return len(self.trials)

    def at(self, grid: Sequence[float] | np.ndarray) -> np.ndarray:
        """``(n_trials, len(grid))`` values at each grid step (NaN where the trial did not reach it).

        Row ``r`` at step ``g``: the last point of curve ``r`` with a step at or before ``g``
        (``np.searchsorted(steps[r], g, side="right") - 1``), for every curve at once.
        """
        grid = np.asarray(grid, dtype=float).ravel()
        n = len(self.trials)
        out = np.full((n, grid.size), np.nan)
        if not n or not grid.size:
            return out
        keys, values, starts, uniq, last = self._flat
        # the largest step code at or before each grid step (-1: before every step), as a key of each row
        code = np.searchsorted(uniq, grid, side="right") - 1
        pos = np.searchsorted(keys, np.arange(n)[:, None] * (uniq.size + 1) + code[None, :], side="right") - 1
        ok = (pos >= starts[:, None]) & (grid[None, :] <= last[:, None])
        out[ok] = values[pos[ok]]
        return out

    @functools.cached_property
    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every point in one array ordered by curve then step, as exact integer keys
        ``row * (len(uniq) + 1) + rank of the step among uniq`` (the distinct steps); the values, the first
        point of each row and each row's last step."""
        lengths = np.fromiter((s.size for s in self.steps), dtype=np.int64, count=len(self.steps))
        steps = np.concatenate(self.steps).astype(float)
        uniq = np.unique(steps)
        keys = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths) * (uniq.size + 1)
        keys += np.searchsorted(uniq, steps)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return keys, np.concatenate(self.values).astype(float), starts, uniq, self.last

    def final(self, horizon: float) -> np.ndarray:
        """Value at ``horizon``: the trial's objective value when it ended COMPLETE exactly there.

        Otherwise (a longer curve, or no objective value) the curve's value at the horizon.
        """
        vals = self.at([horizon])[:, 0]
        for r, t in enumerate(self.trials):
            v = t.values.get(self.objective, math.nan)
            if t.state is TrialState.COMPLETE and math.isfinite(v) and self.steps[r][-1] == horizon:
                vals[r] = v
        return vals


_GENERAL = object()


def _packed_curve(log: object, objective: str) -> object:
    """:func:`hpviz._metrics.log_curve` read from a log's packed columns, without building a dict per point.

    Only for logs whose points all hold the same metrics at finite numeric steps (what a training loop
    logs); ``_GENERAL`` otherwise, and the caller takes the general path. The same rule and result:
    the objective's column, else ``"value"``; finite points, stably sorted by step (filtering and a
    stable sort commute, so the order of equal steps is the general path's).
    """
    columns = getattr(log, "_packed_columns", None)
    packed = columns() if columns is not None else None
    if packed is None:
        return _GENERAL
    steps, _, cols = packed
    if not steps:
        return None
    metric = objective if objective in cols else FALLBACK_METRIC if FALLBACK_METRIC in cols else None
    if metric is None:
        return None
    try:
        s = np.asarray(steps, dtype=float)
        v = np.asarray(cols[metric], dtype=float)
    except (TypeError, ValueError):
        return _GENERAL
    if s.ndim != 1 or v.shape != s.shape or not np.isfinite(s).all():
        return _GENERAL
    return finite_sorted(s, v)


def trial_curve(trial: Trial, objective: str) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`hpviz._metrics.log_curve` of one trial: from the packed columns when its log allows."""
    memo = _SHARED.get()
    if memo is not None:
        hit = memo[1].get((id(trial), objective))
        if hit is not None and hit[0] is trial:
            return hit[1]
    c = _packed_curve(trial.log, objective) if trial.log is not None else _GENERAL
    return log_curve(trial, objective) if c is _GENERAL else c


def curves(exp: Experiment, objective: str) -> Curves:
    """Every COMPLETE or PRUNED trial with a logged curve for ``objective`` (feasible trials only)."""
    memo = _SHARED.get()
    if memo is not None:
        hit = memo[0].get((id(exp), objective))
        if hit is not None and hit[0] is exp:
            return hit[1]
    rows: list[tuple[Trial, np.ndarray, np.ndarray]] = []
    for t in exp.trials:
        if t.state not in (TrialState.COMPLETE, TrialState.PRUNED) or not t.feasible or t.log is None:
            continue
        c = trial_curve(t, objective)
        if c is not None:
            rows.append((t, c[0], c[1]))
    out = Curves(objective, exp.objectives[objective], tuple(r[0] for r in rows),
                 tuple(r[1] for r in rows), tuple(r[2] for r in rows))
    if memo is not None:
        memo[0][(id(exp), objective)] = (exp, out)
        memo[1].update(((id(t), objective), (t, (s, v))) for t, s, v in rows)
    return out


def oriented(values: np.ndarray, direction: str) -> np.ndarray:
    """Values as losses (smaller is better) whatever the objective's direction."""
    return values if direction == "min" else -values
