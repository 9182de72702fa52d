"""Bounded per-trial metric history.

A trial may report millions of steps; hpviz keeps at most ``capacity`` of
them. The first and the last point are always kept (the start and the end of
a learning curve matter most); the points in between are a uniform random
sample of all the points seen between them, maintained with Li's
"Algorithm L" (ACM TOMS 1994): after the reservoir is full, the index of the
next point to keep is drawn directly, so most appends cost one counter
update and one comparison, with no random number drawn.

The random numbers come from Python's Mersenne Twister, reseeded every
``_RNG_BLOCK`` draws from ``(seed, block number)``: the generator's position
is saved as two integers and restored in at most ``_RNG_BLOCK`` draws, however
long the log ran (a saved state can never make loading replay 10^12 draws).
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

__all__ = ["ReservoirLog"]

_MISSING = object()
_INF = math.inf
#: Draws per reseed of the generator: the most a restore replays.
_RNG_BLOCK = 1024
#: Bounds of a saved state (far above anything real; they keep a hostile file from costing more than its size).
_MAX_COUNT = 2**62
_MAX_DRAWS = 2**50
_MAX_CAPACITY = 2**24


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

    __slots__ = ("capacity", "seed", "seen", "_next", "_first", "_last", "_res", "_w", "_rng", "_draws", "_seed",
                 "_keys")

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
        # Kept points (first and sample) are stored packed (see _pack): named metrics with the log's usual
        # names as a bare value or a tuple of values, a third of the memory of one dict per point.
        self._keys: tuple | None = None
        self._w = 1.0
        # Python's Mersenne Twister: ~20x cheaper per draw than a NumPy Generator. Reseeded every
        # _RNG_BLOCK draws, so (seed, number of draws) restores it in O(_RNG_BLOCK) and keeps saved logs small.
        self._seed = seed if seed is not None else random.SystemRandom().getrandbits(63)
        self._rng: random.Random | None = None
        self._draws = 0

    def _rand(self) -> float:
        """Next uniform in [0, 1) of this log's stream."""
        draws = self._draws
        if draws % _RNG_BLOCK == 0 or self._rng is None:
            self._rng = _block_rng(self._seed, draws)
            for _ in range(draws % _RNG_BLOCK):  # a restored log: replay to its position in the block
                self._rng.random()
        self._draws = draws + 1
        return self._rng.random()

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
            self._first, self._last = self._pack(self._last), None
            self._next = 3
            return
        m = n - 2  # ``prev`` is the m-th point between first and last
        rnd = self._rand
        if m <= k:
            self._res.append(self._pack(prev))
            if m < k:
                self._next = n + 1
                return
            self._w = math.exp(math.log(1.0 - rnd()) / k)
        elif k == 0:
            self._next = _INF
            return
        else:
            # This runs ~k*ln(n/k) times; the rest of append is a counter.
            self._res[int(rnd() * k)] = self._pack(prev)
            self._w *= math.exp(math.log(1.0 - rnd()) / k)
        # Skip length of Algorithm L: floor(log(u) / log(1 - W)), u in (0, 1].
        denominator = math.log1p(-self._w) if self._w > 0.0 else -0.0
        skip = math.log(1.0 - rnd()) / denominator if denominator != 0.0 else math.inf
        self._next = n + (int(skip) if skip < 2**62 else 2**62) + 1

    # ------------------------------------------------------------------ packed storage
    def _pack(self, point: tuple) -> tuple:
        """``(step, value)`` as stored: a dict with the log's metric names (in order) becomes its single
        value or a tuple of its values; a scalar stays bare while the log has seen no dict; anything
        else is wrapped in :class:`_Raw`. The first dict kept fixes the log's names."""
        if self._keys is None and type(point[1]) is dict:
            self._set_keys(tuple(point[1]))
        return _pack_with(self._keys, point)

    def _packed(self, points: list[tuple]) -> list[tuple]:
        """Points of an empty log packed at once (the names fixed by the first dict among them)."""
        first_dict = next((v for _, v in points if type(v) is dict), None)
        if first_dict is not None:
            self._keys = tuple(first_dict)
        return [_pack_with(self._keys, p) for p in points]

    def _set_keys(self, keys: tuple) -> tuple:
        """Fix the log's metric names; the bare scalars kept so far get wrapped (once per log)."""
        self._keys = keys
        if self._first is not None:
            self._first = (self._first[0], _Raw(self._first[1]))
        self._res[:] = [(s, _Raw(v)) for s, v in self._res]  # in place: _offer holds the list
        return keys

    def _unpack(self, point: tuple) -> tuple:
        step, x = point
        if type(x) is _Raw:
            return (step, x.value)
        keys = self._keys
        if keys is None:
            return point
        if len(keys) == 1:
            return (step, {keys[0]: x})
        return (step, dict(zip(keys, x)))

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return (self._first is not None) + (self._last is not None) + len(self._res)

    def __repr__(self) -> str:
        return f"ReservoirLog(capacity={self.capacity}, seen={self.seen}, kept={len(self)})"

    @staticmethod
    def _as_dict(value: Any) -> dict[str, Any]:
        return dict(value) if isinstance(value, dict) else {"value": value}

    def _raw(self) -> list[tuple]:
        """Kept points in slot order (first, sample, last) as appended: ``(step, scalar or dict)``."""
        unpack = self._unpack
        pts = []
        if self._first is not None:
            pts.append(unpack(self._first))
        pts.extend(map(unpack, self._res))
        if self._last is not None:
            pts.append(self._last)
        return pts

    def points(self) -> list[tuple[Any, dict[str, Any]]]:
        """Kept points as ``(step, {metric: value})``, sorted by step.

        Points with equal steps keep their append order (the first point first, the last one last);
        steps that do not compare with each other (say, ``1`` and ``"a"``) keep append order.
        """
        pts = self._raw()
        try:
            pts.sort(key=_step_key)
        except TypeError:
            pass
        return [(s, self._as_dict(v)) for s, v in pts]

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
        """Everything needed to rebuild the log and keep appending identically, as columns.

        ``steps`` and the metric ``columns`` hold the kept points in slot order (the first point,
        the sample, the last point; ``ends`` says whether the first and the last are present).
        ``scalar`` is True when every point was appended as ``append(step, value)`` (column
        ``value``), False when every point has named metrics, else the positions of the scalar
        ones. ``absent`` lists, per metric, the positions of points that lack it.
        """
        state: dict[str, Any] = {
            "capacity": self.capacity,
            "seed": self.seed,
            "seen": self.seen,
            "next": None if self._next == _INF else int(self._next),
            "w": self._w,
            "rng": [self._seed, self._draws],
            "ends": [self._first is not None, self._last is not None],
        }
        fast = self._packed_columns()
        if fast is not None:
            state["steps"], state["scalar"], state["columns"] = fast
            return state
        pts = self._raw()
        state["steps"] = [p[0] for p in pts]
        kinds = [not isinstance(p[1], dict) for p in pts]
        if all(kinds):
            state["scalar"] = True
            state["columns"] = {"value": [p[1] for p in pts]} if pts else {}
            return state
        state["scalar"] = False if not any(kinds) else [i for i, k in enumerate(kinds) if k]
        names: dict[str, None] = {}
        for (_, v), scalar in zip(pts, kinds):
            names.update(dict.fromkeys(("value",) if scalar else v))
        columns: dict[str, list] = {}
        absent: dict[str, list[int]] = {}
        for name in names:
            col = []
            for i, ((_, v), scalar) in enumerate(zip(pts, kinds)):
                if scalar:
                    v = {"value": v}
                if name in v:
                    col.append(v[name])
                else:
                    col.append(None)
                    absent.setdefault(name, []).append(i)
            columns[name] = col
        state["columns"] = columns
        if absent:
            state["absent"] = absent
        return state

    def _packed_columns(self) -> tuple[list, bool, dict] | None:
        """``(steps, scalar, columns)`` straight from the packed points, when they are all uniform."""
        packed = []
        if self._first is not None:
            packed.append(self._first)
        packed.extend(self._res)
        keys = self._keys
        if self._last is not None:
            step, value = self._last
            if keys is None and type(value) is dict:
                return None
            packed.append(_pack_with(keys, self._last))
        values = [x for _, x in packed]
        if _Raw in set(map(type, values)):
            return None
        steps = [s for s, _ in packed]
        if keys is None:
            return steps, True, ({"value": values} if packed else {})
        if len(keys) == 1:
            return steps, False, {keys[0]: values}
        cols = list(zip(*values)) if packed else [() for _ in keys]
        return steps, False, {k: list(c) for k, c in zip(keys, cols)}

    @classmethod
    def from_state(cls, state: Any) -> ReservoirLog:
        """Rebuild a log from :meth:`to_state`; raises :class:`~hpviz.SchemaError` naming the bad field.

        Every field is checked against a bound, and the time taken is linear in the number of kept
        points (the generator is restored in at most ``_RNG_BLOCK`` draws).
        """
        from hpviz.errors import SchemaError

        if not isinstance(state, dict):
            raise SchemaError(f"log must be an object, got {type(state).__name__}")
        capacity = _int_field(state, "capacity", 2, _MAX_CAPACITY)
        seen = _int_field(state, "seen", 0, _MAX_COUNT)
        seed = state.get("seed")
        if seed is not None:
            _int_field(state, "seed", -_MAX_COUNT, 2**64)
        nxt = state.get("next")
        if nxt is not None:
            nxt = _int_field(state, "next", 1, _MAX_COUNT + 1)
        w = state.get("w")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0:
            raise SchemaError(f"log.w must be a number in [0, 1], got {w!r}")
        rng = state.get("rng")
        if not isinstance(rng, list) or len(rng) != 2:
            raise SchemaError(f"log.rng must be [seed, draws], got {_short(rng)}")
        rng_seed = _int_field({"rng[0]": rng[0]}, "rng[0]", 0, 2**64)
        draws = _int_field({"rng[1]": rng[1]}, "rng[1]", 0, _MAX_DRAWS)
        ends = state.get("ends")
        if not (isinstance(ends, list) and len(ends) == 2 and all(isinstance(e, bool) for e in ends)):
            raise SchemaError(f"log.ends must be [bool, bool], got {_short(ends)}")
        steps = state.get("steps")
        if not isinstance(steps, list):
            raise SchemaError(f"log.steps must be a list, got {type(steps).__name__}")
        n = len(steps)
        if n > capacity or n > seen or n < ends[0] + ends[1]:
            raise SchemaError(f"log has {n} points for capacity {capacity}, {seen} seen and ends {ends}")
        columns = state.get("columns")
        if not isinstance(columns, dict) or any(not isinstance(c, list) or len(c) != n for c in columns.values()):
            raise SchemaError(f"log.columns must map metric names to lists of {n} values")
        scalar = state.get("scalar")
        log = cls(capacity=capacity, seed=seed)
        if scalar is True:
            if n and list(columns) != ["value"]:
                raise SchemaError("log.columns of a scalar log must be exactly {'value': [...]}")
            pts = list(zip(steps, columns.get("value", [])))
        elif scalar is False and not state.get("absent") and columns:
            # the usual case: every point has the same metrics; packed without building a dict per point
            log._keys = tuple(columns)
            cols = list(columns.values())
            pts = list(zip(steps, cols[0] if len(cols) == 1 else zip(*cols)))
        else:
            pts = log._packed(_dict_points(steps, columns, scalar, state.get("absent") or {}, n))
        log.seen = seen
        log._next = _INF if nxt is None else nxt
        log._w = float(w)
        i, j = (1 if ends[0] else 0), (n - 1 if ends[1] else n)
        log._first = pts[0] if ends[0] else None
        log._last = log._unpack(pts[-1]) if ends[1] else None
        log._res = pts[i:j]
        log._seed = rng_seed
        log._draws = draws  # the generator is rebuilt at the next draw (most loaded logs never draw again)
        return log

    @classmethod
    def _from_state_v1(cls, state: Any) -> ReservoirLog:
        """Migrate a log saved by hpviz schema version 1 (row points; generator replayed from its seed).

        The kept points and the sampling position are restored exactly. The generator is not
        replayed (a hostile file could ask for 10^12 draws): the log continues with this
        version's generator from the saved position, an equally uniform sample.
        """
        from hpviz.errors import SchemaError

        if not isinstance(state, dict):
            raise SchemaError(f"log must be an object, got {type(state).__name__}")
        rows = []
        ends = [state.get("first") is not None, state.get("last") is not None]
        middle = state.get("middle")
        if not isinstance(middle, list):
            raise SchemaError(f"log.middle must be a list, got {type(middle).__name__}")
        for name, point in [("first", state.get("first"))] + [("middle", p) for p in middle] + [
                ("last", state.get("last"))]:
            if point is None and name != "middle":
                continue
            if not (isinstance(point, list) and len(point) == 3 and isinstance(point[1], dict)
                    and isinstance(point[2], bool)):
                raise SchemaError(f"log.{name} must be [step, {{metric: value}}, scalar], got {_short(point)}")
            if point[2] and "value" not in point[1]:
                raise SchemaError(f"log.{name}: a scalar point needs its 'value'")
            rows.append((point[0], point[1]["value"] if point[2] else dict(point[1])))
        log = cls(capacity=2 if len(rows) <= 2 else len(rows))  # placeholder, replaced below
        packed = log._packed(rows)
        log._first = packed[0] if ends[0] else None
        log._last = rows[-1] if ends[1] and rows else None
        log._res = packed[(1 if ends[0] else 0):(len(rows) - 1 if ends[1] else len(rows))]
        new = log.to_state()
        new.update({k: state.get(k) for k in ("capacity", "seed", "seen", "next", "w")})
        new["rng"] = [state.get("rng_seed"), min(state.get("rng_draws"), _MAX_DRAWS)
                      if isinstance(state.get("rng_draws"), int) else state.get("rng_draws")]
        return cls.from_state(new)


class _Raw:
    """A kept value stored as appended (a scalar in a log of named metrics, or a dict with other names)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def _pack_with(keys: tuple | None, point: tuple) -> tuple:
    """A point packed for the metric names ``keys`` (see :meth:`ReservoirLog._pack`)."""
    step, value = point
    if keys is None:
        return point if type(value) is not dict else (step, _Raw(value))
    if type(value) is dict and len(value) == len(keys):
        if len(keys) == 1:
            if keys[0] in value:
                return (step, value[keys[0]])
        elif tuple(value) == keys:
            return (step, tuple(value.values()))
    return (step, _Raw(value))


def _block_rng(seed: int, draws: int) -> random.Random:
    return random.Random((seed << 40) | (draws // _RNG_BLOCK))


def _step_key(point: tuple) -> Any:
    return point[0]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int_field(state: dict, name: str, low: int, high: int) -> int:
    from hpviz.errors import SchemaError

    value = state.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SchemaError(f"log.{name} must be an integer in [{low}, {high}], got {_short(value)}")
    return value


def _dict_points(steps: list, columns: dict, scalar: Any, absent: Any, n: int) -> list[tuple]:
    from hpviz.errors import SchemaError

    if scalar is False:
        scalar_at: set[int] = set()
    elif isinstance(scalar, list) and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n
                                          for i in scalar):
        scalar_at = set(scalar)
        if scalar_at and "value" not in columns:
            raise SchemaError("log.columns lacks 'value' for its scalar points")
    else:
        raise SchemaError(f"log.scalar must be true, false or a list of positions, got {_short(scalar)}")
    if not isinstance(absent, dict):
        raise SchemaError("log.absent must map metric names to positions")
    missing: dict[str, set[int]] = {}
    for name, positions in absent.items():
        if name not in columns or not isinstance(positions, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i in positions):
            raise SchemaError(f"log.absent[{name!r}] must be positions of points of a known metric")
        missing[name] = set(positions)
    names = list(columns)
    cols = [columns[k] for k in names]
    if not missing and not scalar_at:
        return [(s, dict(zip(names, row))) for s, row in zip(steps, zip(*cols))] if cols else [(s, {}) for s in steps]
    pts = []
    for i, s in enumerate(steps):
        if i in scalar_at:
            if i in missing.get("value", ()):
                raise SchemaError(f"log point {i} is scalar but its 'value' is absent")
            pts.append((s, columns["value"][i]))
        else:
            pts.append((s, {k: c[i] for k, c in zip(names, cols) if i not in missing.get(k, ())}))
    return pts


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
