"""Helpers the finding rules share about numeric parameters: step levels, positions on the search scale."""

from __future__ import annotations

import math

import numpy as np

from hpviz._columns import TrialColumns
from hpviz.analysis.diagnose.thresholds import WINDOW_FRACTION, WINDOW_MIN_TRIALS
from hpviz.schema import Experiment, Float, Int

__all__ = ["levels", "top_level", "numeric_params", "search_positions", "window"]


def levels(param: Float | Int) -> int | None:
    """Number of values a stepped parameter can take; None when continuous."""
    step = param.step
    if step is None:
        return None
    return int(math.floor((param.high - param.low) / step + 1e-9)) + 1


def top_level(param: Float | Int) -> float:
    """Largest value on the step grid (``high`` when continuous)."""
    n = levels(param)
    return float(param.high) if n is None else float(param.low + (n - 1) * param.step)


def numeric_params(exp: Experiment) -> list[tuple[str, Float | Int]]:
    """The numeric parameters of the current space, in order."""
    return [(k, p) for k, p in exp.space.items() if isinstance(p, (Float, Int))]


def search_positions(cols: TrialColumns, name: str, param: Float | Int) -> tuple[np.ndarray, np.ndarray]:
    """(raw values, position on the search scale normalized so low -> 0, high -> 1); NaN where unusable."""
    raw = cols.numeric(name)
    lo, hi = param.search_bounds
    u = (cols.search_scale(name, param) - lo) / (hi - lo)
    return raw, np.where(np.isfinite(u), u, np.nan)


def window(n: int) -> int:
    """The "recent" window over ``n`` finished trials: max(WINDOW_MIN_TRIALS, WINDOW_FRACTION * n)."""
    return max(WINDOW_MIN_TRIALS, int(math.ceil(WINDOW_FRACTION * n)))
