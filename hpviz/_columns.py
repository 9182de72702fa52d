"""Trial columns: one column view of an experiment's trials, and the rules of "usable" and "best".

:class:`TrialColumns` holds, in trial-number order, the arrays every analysis
and view works on: numbers, states, rounds, the value of one objective (and
its orientation so that smaller is better), the feasibility mask, start /
finish times, durations, budgets, and the parameter columns (raw, numeric,
on the search scale), each extracted once on first use.

The rules stated here hold everywhere:

``usable``
    COMPLETE with a finite objective value (what statistics may use).
``rankable``
    usable *and* feasible: the only trials that may be called "best", put on
    a Pareto front, ranked in a top-k table, or steer a suggestion. An
    infeasible trial (it violated the user's constraints) is kept and shown,
    never recommended. :func:`rankable_trials` is the list form.
``failed``
    FAIL, or COMPLETE without a finite value.

:func:`running_best` is the one best-so-far implementation (on values
oriented so that smaller is better).

Private: the public API exposes these through the analysis results.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hpviz._numbers import MISSING, numeric_column
from hpviz.schema import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hpviz.schema import Experiment, Param, Trial

__all__ = ["TrialColumns", "trial_columns", "running_best", "unorient", "rankable", "rankable_trials",
           "timestamp", "orientation"]


def orientation(direction: str) -> float:
    """``+1`` for ``"min"``, ``-1`` for ``"max"``: multiply a value by it so that smaller is better."""
    return 1.0 if direction == "min" else -1.0


def rankable(trial: Trial, objective: str) -> bool:
    """COMPLETE, feasible and with a finite value of ``objective``: may be called best."""
    return (trial.state is TrialState.COMPLETE and trial.feasible
            and math.isfinite(trial.values.get(objective, math.nan)))


def rankable_trials(exp: Experiment, objective: str) -> list[Trial]:
    """The trials of ``exp`` that may be called best for ``objective``, in trial order."""
    return [t for t in exp.trials if rankable(t, objective)]


def timestamp(value: _dt.datetime | None) -> float:
    """Epoch seconds; NaN for ``None``. Naive datetimes are taken as UTC (all trials of a run share one clock)."""
    if value is None:
        return math.nan
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.timestamp()


def running_best(loss: np.ndarray) -> np.ndarray:
    """Running minimum ignoring NaN (``inf`` until the first finite value)."""
    return np.minimum.accumulate(np.where(np.isfinite(loss), loss, np.inf)) if loss.size else loss


def unorient(best: np.ndarray, direction: str) -> np.ndarray:
    """Back from smaller-is-better to the objective's own direction; ``inf`` (no value yet) becomes NaN."""
    out = np.where(np.isfinite(best), best, np.nan)
    return out if direction == "min" else -out


@dataclass
class TrialColumns:
    """Arrays of one experiment for one objective, in trial order (see the module docstring)."""

    exp: Experiment
    trials: list[Trial]
    objective: str
    direction: str
    numbers: np.ndarray
    state: np.ndarray  # TrialState values as str
    y: np.ndarray  # objective value as recorded
    loss: np.ndarray  # oriented so smaller is better
    feasible: np.ndarray
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)  # columns extracted once

    # -- trial states and the rules of the module docstring
    @property
    def complete(self) -> np.ndarray:
        return self.state == TrialState.COMPLETE.value

    @property
    def finished(self) -> np.ndarray:
        return np.isin(self.state, ["COMPLETE", "PRUNED", "FAIL"])

    @property
    def usable(self) -> np.ndarray:
        return self.complete & np.isfinite(self.y)

    @property
    def rankable(self) -> np.ndarray:
        return self.usable & self.feasible

    @property
    def failed(self) -> np.ndarray:
        return (self.state == TrialState.FAIL.value) | (self.complete & ~np.isfinite(self.y))

    @property
    def pruned(self) -> np.ndarray:
        return self.state == TrialState.PRUNED.value

    @property
    def infeasible(self) -> np.ndarray:
        """Usable but violating the user's constraints: shown (hollow, grey), never called best."""
        return self.usable & ~self.feasible

    @property
    def value(self) -> np.ndarray:
        """The objective value where finite, NaN elsewhere (what views draw; pruned trials keep their last value)."""
        return self._cached("finite", "y", lambda: np.where(np.isfinite(self.y), self.y, np.nan))

    def feasible_values(self) -> np.ndarray:
        """:attr:`value` with infeasible trials' as NaN (colour scales span the feasible trials)."""
        return np.where(self.feasible, self.value, np.nan)

    def goodness(self) -> np.ndarray:
        """The value oriented so that larger is better (NaN kept)."""
        return -self.sign * self.value

    def best_index(self) -> int | None:
        """Position of the best rankable trial (the first one on ties); None without one."""
        ok = self.rankable
        if not ok.any():
            return None
        return int(np.argmin(np.where(ok, self.loss, np.inf)))

    def top_indices(self, k: int) -> np.ndarray:
        """Positions of the ``k`` best rankable trials, best first (stable on ties)."""
        ok = np.flatnonzero(self.rankable)
        if ok.size == 0 or k <= 0:
            return np.array([], dtype=int)
        return ok[np.argsort(self.loss[ok], kind="stable")[:k]]

    @property
    def sampled(self) -> np.ndarray:
        """Trials whose configuration was drawn (every state but WAITING)."""
        return self.state != TrialState.WAITING.value

    def running_best_loss(self) -> np.ndarray:
        """Best loss so far (smaller is better) after each trial, in trial order, over rankable trials only;
        ``inf`` before the first. Indexing it by a mask equals the running best over that subset whenever
        the mask keeps every rankable trial (as ``finished`` does)."""
        return self._cached("best", "loss", lambda: running_best(np.where(self.rankable, self.loss, np.nan)))

    @property
    def sign(self) -> float:
        return orientation(self.direction)

    # -- times and resources
    @property
    def started(self) -> np.ndarray:
        return self._cached("time", "started", lambda: np.array([timestamp(t.started) for t in self.trials]))

    @property
    def ended(self) -> np.ndarray:
        return self._cached("time", "finished", lambda: np.array([timestamp(t.finished) for t in self.trials]))

    @property
    def elapsed(self) -> np.ndarray:
        """Seconds from the first start to each trial's finish; NaN when unknown."""
        def compute() -> np.ndarray:
            starts = self.started[np.isfinite(self.started)]
            return self.ended - starts.min() if starts.size else np.full(len(self.trials), np.nan)
        return self._cached("time", "elapsed", compute)

    @property
    def durations(self) -> np.ndarray:
        """Wall-clock seconds per trial; NaN when unknown."""
        return self._cached("time", "duration", lambda: np.array(
            [math.nan if t.duration is None else t.duration for t in self.trials], dtype=float))

    @property
    def budgets(self) -> np.ndarray:
        return self._cached("budget", "", lambda: np.array(
            [math.nan if t.budget is None else t.budget for t in self.trials], dtype=float))

    @property
    def rounds(self) -> np.ndarray:
        return self._cached("round", "", lambda: np.fromiter((t.round for t in self.trials), dtype=np.int64,
                                                             count=len(self.trials)))

    # -- values
    def values(self, objective: str) -> np.ndarray:
        """The recorded values of any objective (NaN where missing)."""
        return self._cached("values", objective, lambda: np.fromiter(
            (t.values.get(objective, math.nan) for t in self.trials), dtype=float, count=len(self.trials)))

    # -- parameters
    def column(self, name: str) -> list[Any]:
        """Raw values of a parameter (``MISSING`` where inactive)."""
        return self._cached("raw", name, lambda: [t.params.get(name, MISSING) for t in self.trials])

    def numeric(self, name: str) -> np.ndarray:
        """Floats of a parameter; NaN where inactive or not a number."""
        return self._cached("num", name, lambda: numeric_column(self.column(name)))

    def search_scale(self, name: str, param: Param) -> np.ndarray:
        """A numeric parameter on the scale it was searched in (log10 for log parameters); NaN where unusable."""
        def compute() -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                s = param.to_search_scale(self.numeric(name))
            return np.where(np.isfinite(s), s, np.nan)
        return self._cached("search", name, compute)

    def _cached(self, kind: str, name: str, compute: Any) -> Any:
        key = (kind, name)
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


def trial_columns(exp: Experiment, objective: str | None = None) -> TrialColumns:
    """The column view of ``exp`` for ``objective`` (default: the primary one)."""
    objective = exp.objective(objective)
    trials = exp.trials
    n = len(trials)
    direction = exp.objectives[objective]
    numbers = np.fromiter((t.number for t in trials), dtype=np.int64, count=n)
    state = np.array([t.state.value for t in trials], dtype=object).astype(str) if trials else np.array([], dtype=str)
    y = np.fromiter((t.values.get(objective, math.nan) for t in trials), dtype=float, count=n)
    loss = y if direction == "min" else -y
    feasible = np.fromiter((t.feasible for t in trials), dtype=bool, count=n)
    return TrialColumns(exp, trials, objective, direction, numbers, state, y, loss, feasible)
