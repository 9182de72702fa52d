"""Bounded per-trial metric history.

A trial may report millions of steps; hpviz keeps at most ``capacity`` of
them. The first and the last point are always kept (the start and the end of
a learning curve matter most); the points in between are a uniform random
sample of all the points seen between them, maintained with Li's
"Algorithm L" (ACM TOMS 1994): after the reservoir is full, the index of the
next point to keep is drawn directly, so most appends cost one counter
update and one comparison, with no random number drawn.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

__all__ = ["ReservoirLog"]

_MISSING = object()
_INF = math.inf


class ReservoirLog:
    """Memory-bounded log of ``(step, metrics)`` points.

    Parameters
    ----------
    capacity:
        Maximum number of points kept (at least 2: the first and the last).
    seed:
        Seed of the sampling; equal seeds and inputs keep equal points.

    Examples
    --------
    >>> log = ReservoirLog(capacity=4, seed=0)
    >>> for step in range(100):
    ...     log.append(step, loss=1.0 / (step + 1), acc=step / 100)
    >>> log.seen, len(log)
    (100, 4)
    >>> log.points()[0][0], log.points()[-1][0]
    (0, 99)
    """

    __slots__ = ("capacity", "seed", "seen", "_next", "_first", "_last", "_res", "_w", "_rng", "_draws", "_seed")

    def __init__(self, capacity: int = 512, seed: int | None = None):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 2:
            from hpviz.errors import SchemaError

            raise SchemaError(f"ReservoirLog.capacity must be an integer >= 2, got {capacity!r}")
        self.capacity = capacity
        self.seed = seed
        self.seen = 0  # points offered so far
        self._next = 1  # value of ``seen`` at which append leaves the fast path
        self._first: tuple | None = None
        self._last: tuple | None = None
        self._res: list[tuple] = []  # sample of the points between first and last
        self._w = 1.0
        # Python's Mersenne Twister: ~20x cheaper per draw than a NumPy Generator.
        # Its state is rebuilt from (seed, number of draws), which keeps saved logs small.
        self._seed = seed if seed is not None else random.SystemRandom().getrandbits(63)
        self._rng = random.Random(self._seed)
        self._draws = 0

    # The fast path is deliberately tiny: build the point, swap it in as the
    # last one, count, compare. Everything else happens in ``_offer``.
    def append(self, step: Any, value: Any = _MISSING, /, **metrics: Any) -> None:
        """Record one point: ``append(step, value)`` or ``append(step, name=value, ...)``."""
        if metrics:
            if value is not _MISSING:
                metrics["value"] = value
            value = metrics
        elif value is _MISSING:
            raise TypeError("ReservoirLog.append needs a value or named metrics")
        prev = self._last
        self._last = (step, value)
        self.seen = n = self.seen + 1
        if n >= self._next:
            self._offer(prev, n)

    def _offer(self, prev: tuple | None, n: int) -> None:
        k = self.capacity - 2
        if n == 1:  # the very first point is kept apart, forever
            self._first, self._last = self._last, None
            self._next = 3
            return
        m = n - 2  # ``prev`` is the m-th point between first and last
        rnd = self._rng.random
        if m <= k:
            self._res.append(prev)
            if m < k:
                self._next = n + 1
                return
            self._w = math.exp(math.log(1.0 - rnd()) / k)
            self._draws += 1
        elif k == 0:
            self._next = _INF
            return
        else:
            # Inlined on purpose: this runs ~k*ln(n/k) times, the rest of append is a counter.
            self._res[int(rnd() * k)] = prev
            self._w *= math.exp(math.log(1.0 - rnd()) / k)
            self._draws += 2
        # Skip length of Algorithm L: floor(log(u) / log(1 - W)), u in (0, 1].
        self._draws += 1
        denominator = math.log1p(-self._w) if self._w > 0.0 else -0.0
        skip = math.log(1.0 - rnd()) / denominator if denominator != 0.0 else math.inf
        self._next = n + (int(skip) if skip < 2**62 else 2**62) + 1

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return (self._first is not None) + (self._last is not None) + len(self._res)

    def __repr__(self) -> str:
        return f"ReservoirLog(capacity={self.capacity}, seen={self.seen}, kept={len(self)})"

    @staticmethod
    def _as_dict(value: Any) -> dict[str, Any]:
        return dict(value) if isinstance(value, dict) else {"value": value}

    def _raw(self) -> list[tuple]:
        pts = []
        if self._first is not None:
            pts.append(self._first)
        pts.extend(self._res)
        if self._last is not None:
            pts.append(self._last)
        return pts

    def points(self) -> list[tuple[Any, dict[str, Any]]]:
        """Kept points as ``(step, {metric: value})``, sorted by step (stable for equal steps)."""
        first, middle, last = [], list(self._res), []
        if self._first is not None:
            first = [self._first]
        if self._last is not None:
            last = [self._last]
        # First and last stay at the ends even if steps were not monotone.
        middle.sort(key=lambda p: p[0])
        return [(s, self._as_dict(v)) for s, v in first + middle + last]

    def metrics(self) -> list[str]:
        """Names of the metrics recorded in the kept points, in first-seen order."""
        names: dict[str, None] = {}
        for _, values in self.points():
            names.update(dict.fromkeys(values))
        return list(names)

    def series(self, metric: str = "value") -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` arrays of one metric over the kept points (NaN where absent)."""
        pts = self.points()
        steps = np.array([p[0] for p in pts], dtype=float)
        vals = np.array([_to_float(p[1].get(metric)) for p in pts], dtype=float)
        return steps, vals

    def to_frame(self):
        """Kept points as a DataFrame: a ``step`` column, one column per metric."""
        import pandas as pd

        pts = self.points()
        return pd.DataFrame([{"step": s, **v} for s, v in pts], columns=["step", *self.metrics()])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReservoirLog):
            return NotImplemented
        return self.to_state() == other.to_state()

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ state (for hpviz.io)
    def to_state(self) -> dict[str, Any]:
        """Everything needed to rebuild the log and keep appending identically."""
        return {
            "capacity": self.capacity,
            "seed": self.seed,
            "seen": self.seen,
            "next": None if self._next == _INF else int(self._next),
            "w": self._w,
            "first": _point_state(self._first),
            "last": _point_state(self._last),
            "middle": [_point_state(p) for p in self._res],
            "rng_seed": self._seed,
            "rng_draws": self._draws,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ReservoirLog:
        log = cls(capacity=int(state["capacity"]), seed=state.get("seed"))
        log.seen = int(state["seen"])
        log._next = _INF if state["next"] is None else int(state["next"])
        log._w = float(state["w"])
        log._first = _point_from_state(state["first"])
        log._last = _point_from_state(state["last"])
        log._res = [_point_from_state(p) for p in state["middle"]]
        log._seed = int(state["rng_seed"])
        log._rng = random.Random(log._seed)
        for _ in range(int(state["rng_draws"])):  # replay to the saved position
            log._rng.random()
        log._draws = int(state["rng_draws"])
        return log


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _point_state(point: tuple | None) -> list | None:
    if point is None:
        return None
    step, value = point
    return [step, value if isinstance(value, dict) else {"value": value}, not isinstance(value, dict)]


def _point_from_state(state: list | None) -> tuple | None:
    if state is None:
        return None
    step, values, scalar = state
    return (step, values["value"] if scalar else dict(values))
