""""Same configuration": the one rule that says two trials evaluated the same hyperparameters.

Two trials are the same configuration when every parameter of the space is,
parameter by parameter:

- categorical: the same choice by :func:`hpviz.schema.choice_key` (``1``,
  ``1.0`` and ``True`` differ);
- numeric with a ``step``: the same point of the step grid (values are
  snapped to ``low + k * step``, so float noise such as ``0.1000000001`` vs
  ``0.1`` does not make a new configuration);
- continuous: equal to ``CONTINUOUS_DIGITS`` (9) significant digits, so
  binary noise (``0.30000000000000004`` vs ``0.3``) and a round trip through
  text do not make a new configuration, whatever the declared range (a
  range-relative tolerance would merge distinct values of a parameter
  declared over a range far wider than the one searched);
- inactive (absent) in both.

Used by the duplicate-configs finding and by the noise estimate of
:func:`hpviz.compare` (repeated evaluations of one configuration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hpviz._numbers import MISSING, numeric_column
from hpviz.schema import Categorical, choice_key

if TYPE_CHECKING:  # pragma: no cover
    from hpviz.schema import Param, Trial

__all__ = ["CONTINUOUS_DIGITS", "config_codes", "config_groups"]

#: Continuous values equal to this many significant digits are the same value.
CONTINUOUS_DIGITS = 9
_INACTIVE = np.iinfo(np.int64).min


def _significant_codes(x: np.ndarray) -> np.ndarray:
    """Integer codes of floats rounded to CONTINUOUS_DIGITS significant digits; NaN/inf are inactive."""
    out = np.full(x.shape, _INACTIVE, dtype=np.int64)
    ok = np.isfinite(x)
    if ok.any():
        v = x[ok]
        with np.errstate(divide="ignore"):
            exponent = np.floor(np.log10(np.abs(v)))
        exponent = np.where(np.isfinite(exponent), exponent, 0.0)
        mantissa = np.round(v / 10.0 ** exponent * 10.0 ** (CONTINUOUS_DIGITS - 1))
        if np.isfinite(mantissa).all():  # not for subnormals below 1e-323, whose 10^exponent is 0
            # One int64 key ordered as the pairs (mantissa, exponent) are (|mantissa| <= 10^9, exponent in
            # [-324, 308]): a 1-D unique, several times faster than a row-wise one, with the same codes.
            key = (mantissa.astype(np.int64) + 10**CONTINUOUS_DIGITS) * 1000 + (exponent.astype(np.int64) + 500)
            _, codes = np.unique(key, return_inverse=True)
        else:
            _, codes = np.unique(np.column_stack([mantissa, exponent]), axis=0, return_inverse=True)
        out[ok] = codes.ravel()
    return out


def config_codes(space: Mapping[str, Param | None], column: Any, numeric: Any, n: int) -> np.ndarray:
    """Integer matrix (trials x params): equal rows are the same configuration.

    ``column(name)`` gives the raw values (``MISSING`` where inactive) and
    ``numeric(name)`` their floats, as :class:`hpviz._columns.TrialColumns` does.
    """
    K = np.empty((n, len(space)), dtype=np.int64)
    for j, (name, p) in enumerate(space.items()):
        if p is None or isinstance(p, Categorical):  # None: a parameter no space declares, compared exactly
            codes: dict[Any, int] = {}
            K[:, j] = [_INACTIVE if v is MISSING else codes.setdefault(choice_key(v), len(codes))
                       for v in column(name)]
            continue
        x = numeric(name)
        if p.step is not None:
            with np.errstate(invalid="ignore"):
                grid = np.round((x - p.low) / p.step)
        else:
            K[:, j] = _significant_codes(x)
            continue
        ok = np.isfinite(grid) & (np.abs(grid) < 2**62)
        K[:, j] = np.where(ok, np.where(ok, grid, 0).astype(np.int64), _INACTIVE)
    return K


def config_groups(space: Mapping[str, Param], trials: Sequence[Trial]) -> np.ndarray:
    """Group id per trial, numbered in order of first appearance: equal ids are the same configuration.

    Parameters the trials carry but ``space`` does not declare are compared exactly (by choice identity).
    """
    if not trials:
        return np.zeros(0, dtype=np.int64)
    params: dict[str, Param | None] = dict(space)
    for t in trials:
        params.update((k, None) for k in t.params if k not in params)
    if not params:
        return np.zeros(len(trials), dtype=np.int64)
    cols = {name: [t.params.get(name, MISSING) for t in trials] for name in params}
    K = config_codes(params, cols.__getitem__, lambda name: numeric_column(cols[name]), len(trials))
    _, first, inverse = np.unique(K, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.ravel()]
