""""Same configuration": the one rule that says two trials evaluated the same hyperparameters.

Two trials are the same configuration when every parameter of the space is,
parameter by parameter:

- categorical: the same choice by :func:`hpviz.schema.choice_key` (``1``,
  ``1.0`` and ``True`` differ);
- numeric with a ``step``: the same point of the step grid (values are
  snapped to ``low + k * step``, so float noise such as ``0.1000000001`` vs
  ``0.1`` does not make a new configuration);
- continuous: equal within ``1e-9`` of the range on its search scale;
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

__all__ = ["CONTINUOUS_CELLS", "config_codes", "config_groups"]

#: Continuous values closer than ``1 / CONTINUOUS_CELLS`` of the range (search scale) are the same value.
CONTINUOUS_CELLS = 1e9
_INACTIVE = np.iinfo(np.int64).min


def config_codes(space: Mapping[str, Param], column: Any, numeric: Any, n: int) -> np.ndarray:
    """Integer matrix (trials x params): equal rows are the same configuration.

    ``column(name)`` gives the raw values (``MISSING`` where inactive) and
    ``numeric(name)`` their floats, as :class:`hpviz._columns.TrialColumns` does.
    """
    K = np.empty((n, len(space)), dtype=np.int64)
    for j, (name, p) in enumerate(space.items()):
        if isinstance(p, Categorical):
            codes: dict[Any, int] = {}
            K[:, j] = [_INACTIVE if v is MISSING else codes.setdefault(choice_key(v), len(codes))
                       for v in column(name)]
            continue
        x = numeric(name)
        if p.step is not None:
            with np.errstate(invalid="ignore"):
                grid = np.round((x - p.low) / p.step)
        else:
            lo, hi = p.search_bounds
            with np.errstate(invalid="ignore", divide="ignore"):
                grid = np.round((p.to_search_scale(x) - lo) / (hi - lo) * CONTINUOUS_CELLS)
        ok = np.isfinite(grid) & (np.abs(grid) < 2**62)
        K[:, j] = np.where(ok, np.where(ok, grid, 0).astype(np.int64), _INACTIVE)
    return K


def config_groups(space: Mapping[str, Param], trials: Sequence[Trial]) -> np.ndarray:
    """Group id per trial (0..g-1): equal ids are the same configuration under the module's rule."""
    if not trials:
        return np.zeros(0, dtype=np.int64)
    if not space:
        return np.zeros(len(trials), dtype=np.int64)
    cols = {name: [t.params.get(name, MISSING) for t in trials] for name in space}
    K = config_codes(space, cols.__getitem__, lambda name: numeric_column(cols[name]), len(trials))
    _, inverse = np.unique(K, axis=0, return_inverse=True)
    return inverse.ravel()
