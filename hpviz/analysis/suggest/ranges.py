"""New ranges for a parameter: rounded outward to readable numbers, on the step grid, within hard limits.

:func:`build` makes the parameter a rule proposes (always valid, or ``None``);
:func:`check_limits` validates the user's ``limits=``; :func:`effective_limits`
adds the implicit ``0`` of a non-negative parameter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from hpviz._numbers import clean
from hpviz.errors import SchemaError
from hpviz.schema import Categorical, Float, Int, SearchSpace

__all__ = ["build", "check_limits", "effective_limits"]


def _round_sig(value: float, up: bool, digits: int = 3) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    q = 10.0 ** (math.floor(math.log10(abs(value))) - (digits - 1))
    n = math.ceil(value / q - 1e-9) if up else math.floor(value / q + 1e-9)
    return clean(n * q)


def _nice_outward(param: Float | Int, lo: float, hi: float) -> tuple[float, float]:
    """Round ``[lo, hi]`` outward to readable numbers (3 significant digits of the width, or of each bound for log)."""
    if isinstance(param, Int):
        return float(math.floor(lo + 1e-9)), float(math.ceil(hi - 1e-9))
    if param.log:
        return _round_sig(lo, up=False), _round_sig(hi, up=True)
    width = hi - lo
    if not width > 0:
        return lo, hi
    q = 10.0 ** (math.floor(math.log10(width)) - 2)
    return clean(math.floor(lo / q + 1e-9) * q), clean(math.ceil(hi / q - 1e-9) * q)


def build(param: Float | Int, lo: float, hi: float, bound_lo: float, bound_hi: float,
           *, keep_low: bool = False, keep_high: bool = False) -> Float | Int | None:
    """A parameter like ``param`` on about ``[lo, hi]`` (value scale), rounded outward,
    kept within ``[bound_lo, bound_hi]`` and on ``param``'s step grid; ``keep_low``/``keep_high``
    keep that bound exactly as it is. ``None`` if invalid."""
    log = param.log
    lo, hi = _nice_outward(param, lo, hi)
    step = param.step
    if step is not None:
        anchor = param.low
        lo = anchor + math.floor((lo - anchor) / step + 1e-9) * step
        hi = anchor + math.ceil((hi - anchor) / step - 1e-9) * step
        if lo < bound_lo:
            lo += step * math.ceil((bound_lo - lo) / step - 1e-9)
        if hi > bound_hi:
            hi -= step * math.ceil((hi - bound_hi) / step - 1e-9)
        lo, hi = clean(lo), clean(hi)
    else:
        lo, hi = max(lo, bound_lo), min(hi, bound_hi)
    if keep_low:
        lo = param.low
    if keep_high:
        hi = param.high
    if isinstance(param, Int):
        lo, hi = int(round(lo)), int(round(hi))
        if log:
            lo = max(lo, 1)
    if not lo < hi or (log and lo <= 0):
        return None
    try:
        return type(param)(lo, hi, log=log, step=step) if isinstance(param, Int) else Float(lo, hi, log=log, step=step)
    except SchemaError:  # never propose an invalid parameter
        return None


def check_limits(limits: Any, space: SearchSpace) -> dict[str, tuple[float, float]]:
    if limits is None:
        return {}
    if not isinstance(limits, Mapping):
        raise SchemaError(f"limits must be a mapping param -> (low, high), got {type(limits).__name__}")
    out = {}
    for name, pair in limits.items():
        if name not in space:
            raise SchemaError(f"limits names unknown parameter {name!r}; the space has {list(space)}")
        if isinstance(space[name], Categorical):
            raise SchemaError(f"limits[{name!r}]: {name!r} is categorical; limits apply to numeric parameters")
        try:
            lo, hi = pair
        except (TypeError, ValueError):
            raise SchemaError(f"limits[{name!r}] must be a (low, high) pair, got {pair!r}") from None
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
        for v in (lo, hi):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v):
                raise SchemaError(f"limits[{name!r}] bounds must be numbers or None, got {pair!r}")
        if not lo < hi:
            raise SchemaError(f"limits[{name!r}]: low ({lo}) must be < high ({hi})")
        out[name] = (float(lo), float(hi))
    return out


def effective_limits(name: str, param: Float | Int, limits: dict[str, tuple[float, float]]) -> tuple[float, float, bool]:
    """Hard limits on the value scale, and whether the lower one is the implicit 0."""
    implicit = False
    if name in limits:
        lo, hi = limits[name]
    else:
        lo, hi = -math.inf, math.inf
        if param.low >= 0:  # a non-negative parameter stays non-negative unless limits say otherwise
            lo, implicit = 0.0, True
    if param.log:
        lo = max(lo, 1.0 if isinstance(param, Int) else 0.0)
    return lo, hi, implicit
