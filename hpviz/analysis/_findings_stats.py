"""Calibrated statistics behind the progress findings (issue 15, items 6 and 7).

Stagnation / still-improving (scale-free, robust to outliers)
    Only the *order* of the values counts (new records, ranks) plus one ratio
    of robust spreads, so rescaling the objective or one diverged trial
    changes nothing. With ``W`` the recent window:

    - still-improving: the number of new records (strictly better than every
      earlier trial) in the window exceeds what an exhausted search (i.i.d.
      trials, record probability ``1/t`` at trial t) gives, one-sided p <=
      ``RECORD_ALPHA`` (exact Poisson-binomial tail).
    - no-improvement: no record in the last ``RECENT_RECORD_TRIALS`` trials
      *and* evidence of a plateau rather than slow progress: either the
      search has converged (interquartile range of the window's values at
      most ``CONVERGED_SPREAD`` of that of all the values, and the window's
      records, if any, gained less than ``NOISE_GAIN`` of the run's robust
      total improvement: the sampler keeps proposing near-equal values), or
      no record in the window and an exhausted search would have produced a
      record since the best with probability >= ``1 - RECORD_ALPHA``.
      A run that keeps sampling as widely as at the start with no record
      cannot be told apart from slow progress, so nothing fires.

Best at a boundary (valid under adaptive sampling)
    On pure noise the best trials are a uniformly random subset of the
    trials *whatever the sampler did* (their values do not depend on their
    positions), so the number of top trials in a parameter's edge zone is
    hypergeometric given how many trials the sampler put there. The finding
    needs that count to exceed the hypergeometric expectation at level
    ``BOUNDARY_ALPHA`` (Bonferroni over parameters), besides the effect size
    (at least half of the top trials at the edge). Under adaptive sampling
    the subset is not exactly uniform (later trials are drawn towards earlier
    good ones), which is why the level is measured on TPE runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from hpviz.analysis.diagnose.thresholds import (  # noqa: E402  (thresholds live in one module)
    BOUNDARY_ALPHA,
    BOUNDARY_FRACTION,
    CONVERGED_SPREAD,
    EDGE_FRACTION,
    NOISE_GAIN,
    RECENT_RECORD_TRIALS,
    RECORD_ALPHA,
    TOP_FRACTION,
    TOP_MIN,
)


def records(loss: np.ndarray) -> np.ndarray:
    """Boolean mask: trial t is a strict new best (smaller loss) over every earlier trial; NaN never is."""
    z = np.where(np.isfinite(loss), loss, np.inf)
    prev = np.concatenate([[np.inf], np.minimum.accumulate(z)[:-1]])
    return z < prev


def record_tail(first: int, last: int, r: int) -> float:
    """P(at least r records among trials first..last (1-based) of an i.i.d. sequence), exact."""
    if r <= 0:
        return 1.0
    p = 1.0 / np.arange(first, last + 1)
    dist = np.zeros(len(p) + 1)
    dist[0] = 1.0
    for q in p:  # Poisson-binomial by convolution: window sizes are small
        dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
        dist[0] *= 1 - q
    return float(min(1.0, dist[r:].sum()))


def _iqr(x: np.ndarray) -> float:
    q1, q3 = np.percentile(x, [25, 75])
    return float(q3 - q1)


@dataclass(frozen=True)
class Stagnation:
    """Evidence about progress at the end of a run (loss: smaller is better, usable trials in order)."""

    n: int
    window: int
    records_in_window: int
    expected_records: float  # what an exhausted (i.i.d.) search gives in the window
    p_improving: float  # P(>= records_in_window | exhausted search)
    since_best: int  # trials after the current best
    p_no_record: float  # P(no record in the trials since the best | exhausted search)
    spread_ratio: float  # IQR(window) / IQR(all): < CONVERGED_SPREAD means the search has narrowed
    improving: bool
    stalled: bool


def stagnation(loss: np.ndarray, window: int) -> Stagnation:
    """Still-improving and no-improvement evidence from the usable losses in trial order."""
    z = np.asarray(loss, dtype=float)
    z = z[np.isfinite(z)]
    n = len(z)
    W = min(window, n - 1)
    rec = records(z)
    r = int(rec[n - W:].sum())
    t = np.arange(n - W + 1, n + 1)
    expected = float(np.sum(1.0 / t))
    p_imp = record_tail(n - W + 1, n, r)
    best_at = int(np.flatnonzero(rec)[-1]) + 1  # 1-based trial of the current best
    since = n - best_at
    p_none = best_at / n  # P(no record in trials best_at+1..n | i.i.d.) = prod (1 - 1/t) = best_at / n
    spread_all = _iqr(z)
    spread_ratio = _iqr(z[n - W:]) / spread_all if spread_all > 0 else 0.0
    improving = p_imp <= RECORD_ALPHA
    best = float(z.min())
    total = float(np.median(z[:W])) - best  # robust: one diverged early trial does not set the scale
    gain = float(z[: n - W].min()) - best
    converged = spread_ratio <= CONVERGED_SPREAD and (r == 0 or (total > 0 and gain <= NOISE_GAIN * total))
    recent = bool(rec[n - min(RECENT_RECORD_TRIALS, W):].any())
    stalled = not recent and (converged or (r == 0 and since >= W and p_none <= RECORD_ALPHA))
    return Stagnation(n, W, r, expected, p_imp, since, p_none, spread_ratio, improving, stalled)


@dataclass(frozen=True)
class EdgeTest:
    """Top trials at one edge of one parameter, against the sampler's own share of trials there."""

    top_at_edge: int
    n_top: int
    all_at_edge: int
    n_all: int
    p_value: float  # hypergeometric P(>= top_at_edge)


def edge_test(at_edge: np.ndarray, is_top: np.ndarray) -> EdgeTest:
    """Hypergeometric test: are the top trials at the edge more often than the trials the sampler drew?"""
    at_edge = np.asarray(at_edge, bool)
    is_top = np.asarray(is_top, bool)
    N, K, k = len(at_edge), int(at_edge.sum()), int(is_top.sum())
    x = int((at_edge & is_top).sum())
    p = float(stats.hypergeom.sf(x - 1, N, K, k)) if x > 0 else 1.0
    return EdgeTest(x, k, K, N, p)


@dataclass(frozen=True)
class EdgeHit:
    column: int
    side: str  # "low" or "high"
    fraction: float  # share of the top trials at that edge
    test: EdgeTest


def boundary_hits(positions: np.ndarray, loss: np.ndarray, *, at_low: np.ndarray | None = None,
                  at_high: np.ndarray | None = None) -> list[EdgeHit]:
    """Parameters whose best trials crowd an edge beyond what the sampler's own placement explains.

    ``positions``: (n, d) positions in [0, 1] on each parameter's search scale
    (NaN where inactive); ``loss``: smaller is better. ``at_low``/``at_high``
    (optional, same shape, bool) override the edge membership (e.g. the last
    level of a step grid). Fires when at least ``BOUNDARY_FRACTION`` of the
    top trials are at an edge and the hypergeometric p-value is at most
    ``BOUNDARY_ALPHA / d`` (Bonferroni over parameters; at most one side of a
    parameter can hold half of the top trials).
    """
    U = np.asarray(positions, dtype=float)
    z = np.asarray(loss, dtype=float)
    ok = np.isfinite(z)
    U, z = U[ok], z[ok]
    n, d = U.shape
    if n == 0 or d == 0:
        return []
    k = max(TOP_MIN, int(np.ceil(TOP_FRACTION * n)))
    top = np.zeros(n, dtype=bool)
    top[np.argsort(z, kind="stable")[:k]] = True
    lows = (U <= EDGE_FRACTION) if at_low is None else np.asarray(at_low, bool)[ok]
    highs = (U >= 1.0 - EDGE_FRACTION) if at_high is None else np.asarray(at_high, bool)[ok]
    hits = []
    for j in range(d):
        active = np.isfinite(U[:, j])
        m = int((top & active).sum())
        if m < TOP_MIN:
            continue
        for side, at in (("low", lows[:, j]), ("high", highs[:, j])):
            frac = float((at & top & active).sum() / m)
            if frac < BOUNDARY_FRACTION:
                continue
            test = edge_test(at[active], top[active])
            if test.p_value <= BOUNDARY_ALPHA / d:
                hits.append(EdgeHit(j, side, frac, test))
    return hits
