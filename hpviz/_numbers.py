"""Numbers in and out: the one place that parses user values as floats and formats numbers for text.

Parsing
    :func:`as_float` (a scalar; NaN for anything that is not a real number,
    booleans included: ``True`` is a choice, not ``1.0``) and
    :func:`numeric_column` (a column of raw parameter values, ``MISSING``
    where a parameter was inactive); :func:`choice_codes` (a column's
    positions among a categorical's choices).
Formatting (messages, reasons, tables; plots format ticks with the same functions)
    :func:`fmt` (3 significant digits, integers as integers), :func:`fmt_tick`
    (an axis tick or colour-bar label: compact, never ``1e+03``), :func:`fmt_value`
    (a parameter value or bound, 4 significant digits, strings quoted),
    :func:`pct` (a fraction as a percentage) and :func:`fmt_p` (a p-value).

Used by the analyses, the views and the report; private: not part of the public API.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

import numpy as np

__all__ = ["MISSING", "as_float", "is_real", "numeric_column", "choice_codes", "fmt", "fmt_tick", "fmt_value", "pct", "fmt_p", "clean"]

#: Marker for "parameter absent from the trial" (inactive), distinct from ``None`` (a legal choice).
MISSING = object()

_FAST_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})


def is_real(value: Any) -> bool:
    """True for a real number (NumPy scalars included), False for bools and everything else."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)


def as_float(value: Any) -> float:
    """``value`` as a float; NaN for anything that is not a real number (bools, strings, None)."""
    return float(value) if is_real(value) else math.nan


def numeric_column(raw: list[Any]) -> np.ndarray:
    """Floats of a parameter column; NaN for inactive (``MISSING``), non-numeric or bool values."""
    if set(map(type, raw)) <= _FAST_TYPES:  # the common case, checked at C speed
        return np.asarray(raw, dtype=float)
    out = np.full(len(raw), math.nan)
    for i, v in enumerate(raw):
        if v is MISSING or v is None or isinstance(v, (bool, np.bool_, str)):
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            pass
    return out


#: Choice types whose identity ``(type, value)`` is what :func:`hpviz.schema.choice_key` compares.
_PLAIN_CHOICE_TYPES = frozenset({str, int, bool, type(None)})


def choice_codes(param: Any, raw: list[Any]) -> np.ndarray:
    """Position of each raw value among ``param.choices`` (a :class:`~hpviz.schema.Categorical`); -1 where
    inactive (``MISSING``) or not a declared choice. Same answer as ``param.index`` value by value."""
    types = set(map(type, raw))
    plain = types - {type(MISSING)}
    if len(plain) == 1 and plain <= _PLAIN_CHOICE_TYPES:
        # One plain type (the usual column): values of that type compare as the choices of that type do, so a
        # dict keyed by value answers at C speed (MISSING is no key: -1).
        (kind,) = plain
        lookup = {c: i for i, c in enumerate(param.choices) if type(c) is kind}
        return np.fromiter(map(lookup.get, raw, itertools.repeat(-1)), dtype=np.int64, count=len(raw))
    if types <= _PLAIN_CHOICE_TYPES | {type(MISSING)}:  # plain types mixed (1 and True): keyed by (type, value)
        lookup = {(type(c), c): i for i, c in enumerate(param.choices) if type(c) in _PLAIN_CHOICE_TYPES}
        return np.fromiter((lookup.get((type(v), v), -1) for v in raw), dtype=np.int64, count=len(raw))
    return np.fromiter((-1 if v is MISSING else param.index(v) for v in raw), dtype=np.int64, count=len(raw))

def fmt(x: float | None) -> str:
    """A number for a message: 3 significant digits, integers as integers, no noise."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.3g}"


def fmt_tick(x: float | None) -> str:
    """A number on an axis: 3 significant digits, 2 for very large or small magnitudes, thousands in full.

    Differs from :func:`fmt` where ticks need it: ``1e+05`` stays short on a crowded axis, ``1234.5`` is
    ``1234`` (not ``1.23e+03``), and a float tick like ``0.30000000000000004`` is ``0.3``.
    """
    if x is None or not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.2g}"
    if abs(x) >= 1e3:
        return f"{x:.0f}"
    return f"{x:.3g}"


def fmt_value(value: Any) -> str:
    """A parameter value or bound in a reason: floats to 4 significant digits, strings quoted."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return repr(value) if isinstance(value, str) else str(value)


def pct(x: float) -> str:
    """A fraction as a percentage; small ones keep two significant digits (0.4%, not 0%)."""
    p = 100.0 * x
    return f"{p:.0f}%" if p == 0 or abs(p) >= 10 else f"{p:.2g}%"


def fmt_p(p: float) -> str:
    """A p-value: two significant digits."""
    return f"{p:.2g}"


def clean(value: float) -> float:
    """Drop binary-fraction noise (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.12g}")
