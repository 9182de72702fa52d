"""Pareto dominance: the one implementation, used by the Pareto front, the hypervolume and the views.

A point *dominates* another (every column minimized) when it is ``<=`` in
every column and ``<`` in at least one; equal points do not dominate each
other. :func:`nondominated` filters a set of points; :func:`weakly_dominated`
asks whether one point is matched or beaten by any of a set (the test the
running hypervolume uses to skip a point that adds no volume).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hpviz.errors import SchemaError

__all__ = ["nondominated", "weakly_dominated"]

# Work per vectorized block of the k-objective filter (booleans per comparison matrix).
_CELLS = 1 << 18


def weakly_dominated(point: np.ndarray, front: np.ndarray) -> bool:
    """True when some row of ``front`` is ``<=`` ``point`` in every column (minimization)."""
    return bool(front.size) and bool(np.any(np.all(front <= point, axis=1)))


def nondominated(points: Any) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (every column minimized).

    A row is dominated when another row is ``<=`` in every column and ``<``
    in at least one; equal rows do not dominate each other, so they are all
    kept. Rows must be finite (filter NaN first).

    Two columns: one sort and a running minimum, O(n log n). More columns:
    rows are visited in order of their summed per-column ranks (a dominator
    always has a strictly smaller rank sum, so it comes first) and each
    block of visited rows removes, in one vectorized comparison, every later
    row it dominates: O(n log n + n f) for a front of f rows.
    """
    F = np.asarray(points, dtype=float)
    if F.ndim != 2:
        raise SchemaError(f"points must be a 2-d array (trials x metrics), got shape {F.shape}")
    n, m = F.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if m == 1:
        return F[:, 0] == F[:, 0].min()
    if m == 2:
        return _nondominated_2d(F)
    return _nondominated_kd(F)


def _nondominated_2d(F: np.ndarray) -> np.ndarray:
    order = np.lexsort((F[:, 1], F[:, 0]))
    a, b = F[order, 0], F[order, 1]
    # Rows before a row in this order have a smaller first value, or an equal
    # first value and a second value <= its own.
    start = np.searchsorted(a, a, side="left")  # first row with the same first value
    running_min = np.minimum.accumulate(b)
    before = np.where(start > 0, running_min[start - 1], np.inf)  # best second value with a strictly smaller first
    dominated = (before <= b) | (b[start] < b)
    mask = np.empty(len(F), dtype=bool)
    mask[order] = ~dominated
    return mask


def _nondominated_kd(F: np.ndarray) -> np.ndarray:
    n, m = F.shape
    ranks = np.zeros(n, dtype=np.int64)
    for j in range(m):
        ranks += np.searchsorted(np.sort(F[:, j]), F[:, j], side="left")
    idx = np.argsort(ranks, kind="stable")
    G = F[idx]
    i = 0
    while i < len(G):
        tail = G[i:]
        size = max(1, min(len(tail), _CELLS // len(tail)))
        block = tail[:size]
        le = np.ones((size, len(tail)), dtype=bool)
        lt = np.zeros((size, len(tail)), dtype=bool)
        for j in range(m):
            c, t = block[:, j, None], tail[None, :, j]
            le &= c <= t
            lt |= c < t
        keep = ~(le & lt).any(axis=0)
        # Rows before i were kept by every earlier block and cannot be dominated by later rows.
        G = np.concatenate([G[:i], tail[keep]])
        idx = np.concatenate([idx[:i], idx[i:][keep]])
        i += int(keep[:size].sum())
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return mask
