"""Round-over-round comparison: did a refined round do better than the one before it, at equal trial counts?

:func:`compare_rounds` reads the rounds of an experiment (see
:meth:`hpviz.Experiment.next_round`; :func:`hpviz.suggest_space` proposes
the refined spaces). "Best" is over rankable trials only (COMPLETE,
feasible, finite; :mod:`hpviz._columns`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hpviz._columns import orientation, rankable_trials
from hpviz._expected import expected_best_of
from hpviz._richrepr import RichResult
from hpviz._validate import keywords_checked
from hpviz.analysis._inference import round_beats
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError
from hpviz.schema import Experiment

__all__ = ["RoundDelta", "RoundComparison", "compare_rounds"]


@dataclass(frozen=True)
class RoundDelta:
    """How round ``current`` compares with round ``previous`` at equal trial counts.

    Attributes
    ----------
    previous, current:
        Round indices.
    m:
        Trials compared from each round: ``min`` of their usable counts;
        each round's first ``m`` (by trial number).
    best_previous, best_current:
        Best objective value among those first ``m`` trials (NaN when ``m == 0``).
    expected_best_previous, expected_best_current:
        Expected best of ``m`` draws from each round's usable values
        (order statistics of the empirical distribution, all trials used).
    beats:
        The current round beats the previous one by the equal-budget
        permutation test of :func:`hpviz.compare` (expected best of the same
        number of trials from each round, max-T over budgets, two-sided at
        5%: each direction at most 2.5%), ahead wherever a difference is
        established; ``None`` when a round has no usable trial. Raw bests
        (no test) said "beats" in about half of the runs where both rounds
        came from one distribution; this test in 1.7% (calibration.py).
    improvement:
        ``best_previous - best_current`` for minimization (the other way for
        maximization): positive means round ``current`` did better.
    p_value:
        Two-sided p-value of that test (1.0 when a round has fewer than 2
        usable trials; NaN when a round is empty).
    """

    previous: int
    current: int
    m: int
    best_previous: float
    best_current: float
    expected_best_previous: float
    expected_best_current: float
    beats: bool | None
    improvement: float
    p_value: float


@dataclass(frozen=True, eq=False)
class RoundComparison(RichResult):
    """Result of :func:`compare_rounds`.

    Attributes
    ----------
    objective, direction:
        The objective compared and its direction.
    table:
        pandas DataFrame, one row per round: ``round, n_trials`` (all
        states), ``n_used`` (COMPLETE, feasible, finite), ``best, best_number, mean,
        q10, q25, median, q75, q90``.
    values:
        ``round -> numpy array`` of rankable objective values, in trial order.
    deltas:
        One :class:`RoundDelta` per round after the first, against the round before it.
    """

    objective: str
    direction: str
    table: Any
    values: dict[int, np.ndarray]
    deltas: tuple[RoundDelta, ...]

    @property
    def statement(self) -> str:
        """One line per consecutive pair: the verdict, its test and its level."""
        out = []
        for d in self.deltas:
            if d.beats is None:
                out.append(f"round {d.current} vs {d.previous}: a round has no usable trial.")
            else:
                out.append(f"round {d.current} {'beats' if d.beats else 'does not beat'} round {d.previous} "
                           f"(equal-budget permutation test, p = {d.p_value:.2g}, level 0.05).")
        return " ".join(out)

    def __repr__(self) -> str:
        return (f"RoundComparison(objective={self.objective!r}, rounds={len(self.table)}, "
                f"beats={self.beats})")

    def to_dataframe(self) -> pd.DataFrame:
        """The per-round table (see ``table``), with each round's verdict against the one before it
        (``beats_previous``, ``improvement``, ``p_value``; empty for round 0)."""
        table = self.table.copy()
        deltas = {d.current: d for d in self.deltas}
        table["beats_previous"] = [deltas[r].beats if r in deltas else None for r in table["round"]]
        table["improvement"] = [deltas[r].improvement if r in deltas else math.nan for r in table["round"]]
        table["p_value"] = [deltas[r].p_value if r in deltas else math.nan for r in table["round"]]
        return table

    @property
    def best(self) -> Any:
        """Best objective value per round (pandas Series indexed by round)."""
        return self.table.set_index("round")["best"]

    @property
    def beats(self) -> dict[int, bool | None]:
        """``round -> whether it beats the round before it at equal trial counts``."""
        return {d.current: d.beats for d in self.deltas}


def _round_values(exp: Experiment, objective: str) -> tuple[dict[int, np.ndarray], dict[int, list[int]]]:
    """Rankable values (and trial numbers) of each round, in trial order."""
    usable = rankable_trials(exp, objective)
    if not usable:
        states = {k: v for k, v in exp.count_by_state().items() if v}
        raise InsufficientDataError(
            f"compare_rounds needs at least 1 COMPLETE, feasible trial with a finite {objective!r}; have 0 "
            f"(trials by state: {states or 'none'})", have=0, need=1,
        )
    values: dict[int, np.ndarray] = {}
    numbers_: dict[int, list[int]] = {}
    for r in range(len(exp.rounds)):
        ts = [t for t in usable if t.round == r]
        values[r] = np.array([t.values[objective] for t in ts], dtype=float)
        numbers_[r] = [t.number for t in ts]
    return values, numbers_


def _round_table(exp: Experiment, values: dict[int, np.ndarray], numbers_: dict[int, list[int]],
                 sign: float) -> pd.DataFrame:
    """One row per round: counts, best (and its trial), mean and quantiles."""
    n_rounds = len(exp.rounds)
    all_counts = np.bincount([t.round for t in exp.trials], minlength=n_rounds) if len(exp) else np.zeros(n_rounds)
    rows = []
    for r in range(n_rounds):
        v = values[r]
        row: dict[str, Any] = {"round": r, "n_trials": int(all_counts[r]), "n_used": int(v.size)}
        if v.size:
            ib = int(np.argmin(sign * v))
            q = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9])
            row.update(best=float(v[ib]), best_number=numbers_[r][ib], mean=float(v.mean()),
                       q10=q[0], q25=q[1], median=q[2], q75=q[3], q90=q[4])
        else:
            row.update(best=math.nan, best_number=None, mean=math.nan,
                       q10=math.nan, q25=math.nan, median=math.nan, q75=math.nan, q90=math.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=["round", "n_trials", "n_used", "best", "best_number", "mean",
                                       "q10", "q25", "median", "q75", "q90"])


def _delta(previous: int, current: int, a: np.ndarray, b: np.ndarray, sign: float) -> RoundDelta:
    """Round ``current`` (oriented values ``b``) against ``previous`` (``a``) at equal trial counts."""
    m = int(min(a.size, b.size))
    if m == 0:
        return RoundDelta(previous, current, 0, math.nan, math.nan, math.nan, math.nan, None, math.nan, math.nan)
    best_a, best_b = float(a[:m].min()), float(b[:m].min())
    beats, p = round_beats(a, b, seed=current)
    return RoundDelta(
        previous, current, m, sign * best_a, sign * best_b,
        expected_best_of(sign * a, m, "min" if sign > 0 else "max"),
        expected_best_of(sign * b, m, "min" if sign > 0 else "max"),
        beats, best_a - best_b, p,
    )


@keywords_checked
def compare_rounds(obj: Any, objective: str | None = None) -> RoundComparison:
    """Compare the steering rounds of an experiment.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    objective:
        Objective to compare; default the primary.

    Returns
    -------
    RoundComparison
        Per-round best and quantiles, and per consecutive pair whether the
        later round beats the earlier at equal trial counts (best of the
        first ``m`` trials of each, ``m`` the smaller usable count), with the
        expected best of ``m`` and a one-sided Mann-Whitney p-value.

    Raises
    ------
    InsufficientDataError
        No rankable trial (COMPLETE, feasible, finite objective) in any round.
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    direction = exp.objectives[objective]
    sign = orientation(direction)
    values, numbers_ = _round_values(exp, objective)
    table = _round_table(exp, values, numbers_, sign)
    deltas = tuple(_delta(r - 1, r, sign * values[r - 1], sign * values[r], sign) for r in range(1, len(exp.rounds)))
    return RoundComparison(objective, direction, table, values, deltas)
