"""Progress curves of a diagnosis: best value so far over trials and over wall time, and the hypervolume.

"Best" is over the rankable trials only (COMPLETE, finite, feasible; see
:mod:`hpviz._columns`): an infeasible trial never sets the best so far.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hpviz._columns import TrialColumns, running_best, unorient
from hpviz._pareto import weakly_dominated
from hpviz.analysis.diagnose.thresholds import HV_MC_SAMPLES

__all__ = ["best_so_far", "best_so_far_time", "hypervolume"]


def best_so_far(cols: TrialColumns) -> pd.Series:
    """Best value after each finished trial, indexed by trial number (NaN before the first)."""
    fin = cols.finished
    best = unorient(cols.running_best_loss()[fin], cols.direction)
    return pd.Series(best, index=pd.Index(cols.numbers[fin], name="trial"), name=cols.objective, dtype=float)


def best_so_far_time(cols: TrialColumns) -> pd.Series | None:
    """Best value by seconds from the first start to each finish; ``None`` without timestamps."""
    if not cols.trials:
        return None
    started, ended = cols.started, cols.ended
    ok = cols.finished & np.isfinite(ended)
    if not ok.any():
        return None
    origin = np.nanmin(np.concatenate([started[np.isfinite(started)], ended[ok]]))
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((cols.numbers[idx], ended[idx]))]
    loss = np.where(cols.rankable, cols.loss, np.nan)[idx]
    best = unorient(running_best(loss), cols.direction)
    return pd.Series(best, index=pd.Index(ended[idx] - origin, name="seconds"), name=cols.objective, dtype=float)


def _hv_2d(front: np.ndarray) -> float:
    """Hypervolume of 2-D points (minimization) against the reference (1, 1)."""
    f = front[np.argsort(front[:, 0], kind="stable")]
    # Non-dominated points sorted by f1 have decreasing f2; each owns the slab up to the next f1.
    nxt = np.append(f[1:, 0], 1.0)
    return float(np.sum((nxt - f[:, 0]) * (1.0 - f[:, 1])))


def _normalized_objectives(cols: TrialColumns) -> tuple[np.ndarray, np.ndarray]:
    """All objectives oriented to minimization and scaled to [0, 1] by the observed range; rows of finished
    trials, and the mask of the rows that count (rankable on every objective)."""
    exp = cols.exp
    fin = cols.finished
    oriented = [cols.values(name) if direction == "min" else -cols.values(name)
                for name, direction in exp.objectives.items()]
    F = np.column_stack(oriented)[fin] if cols.trials else np.empty((0, len(oriented)))
    ok = cols.complete[fin] & cols.feasible[fin] & np.all(np.isfinite(F), axis=1)
    if ok.any():
        lo, hi = F[ok].min(axis=0), F[ok].max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        F = np.clip((F - lo) / span, 0.0, 1.0)
    return F, ok


def _running_hv_2d(G: np.ndarray, pos: np.ndarray, size: int) -> np.ndarray:
    hv = np.zeros(size)
    front = np.empty((0, 2))
    current = 0.0
    last = 0
    for i in pos:
        p = G[i]
        hv[last:i] = current
        last = i
        if weakly_dominated(p, front):
            continue  # dominated (or equal): the volume is unchanged
        keep = ~np.all(p <= front, axis=1)
        front = np.vstack([front[keep], p])
        current = _hv_2d(front)
    hv[last:] = current
    return hv


def _running_hv_mc(G: np.ndarray, pos: np.ndarray, size: int, seed: int) -> np.ndarray:
    d = G.shape[1]
    rng = np.random.default_rng(seed)
    S = rng.random((HV_MC_SAMPLES, d))
    first = np.full(HV_MC_SAMPLES, np.inf)
    for i in pos:
        free = ~np.isfinite(first)
        if not free.any():
            break
        dom = np.all(S[free] >= G[i], axis=1)
        sel = np.flatnonzero(free)[dom]
        first[sel] = i
    # Fraction of samples dominated by a trial at or before each position.
    counts = np.bincount(first[np.isfinite(first)].astype(np.int64), minlength=size)
    return np.cumsum(counts[:size]) / HV_MC_SAMPLES


def hypervolume(cols: TrialColumns, seed: int) -> pd.Series | None:
    """Running normalized hypervolume with 2+ objectives (exact for 2, Monte Carlo for 3+); else ``None``."""
    if len(cols.exp.objectives) < 2:
        return None
    G, ok = _normalized_objectives(cols)
    size = int(cols.finished.sum())
    index = pd.Index(cols.numbers[cols.finished], name="trial")
    hv = np.zeros(size)
    if ok.any():
        pos = np.flatnonzero(ok)
        hv = _running_hv_2d(G, pos, size) if G.shape[1] == 2 else _running_hv_mc(G, pos, size, seed)
    return pd.Series(hv, index=index, name="hypervolume", dtype=float)
