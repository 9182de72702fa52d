"""``best-at-boundary``: the best trials cluster at the edge of a numeric range.

At least BOUNDARY_FRACTION of the top trials (the best TOP_FRACTION, at
least TOP_MIN, among the rankable ones) lie in the outer EDGE_FRACTION of a
numeric range, on its search scale (or beyond the bound, or on the last
level of a step grid). Integer parameters with fewer than MIN_LEVELS levels
are skipped.
"""

from __future__ import annotations

import math

import numpy as np

from hpviz._numbers import fmt, pct
from hpviz.analysis.diagnose._space import levels, numeric_params, search_positions, top_level
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import (
    BOUNDARY_FRACTION,
    EDGE_FRACTION,
    MIN_LEVELS,
    MIN_TRIALS,
    TOP_FRACTION,
    TOP_MIN,
)
from hpviz.schema import Float, Int


def _top_trials(ctx: Context) -> np.ndarray:
    cols = ctx.cols
    use = np.flatnonzero(cols.rankable)
    k = max(TOP_MIN, int(math.ceil(TOP_FRACTION * use.size)))
    return use[np.argsort(cols.loss[use], kind="stable")[:k]]


def _sentence(name: str, side: str, frac: float, cnt: int, m: int, p: Float | Int) -> str:
    lo, hi = p.search_bounds
    edge = float(p.from_search_scale(lo + EDGE_FRACTION * (hi - lo) if side == "low"
                                     else hi - EDGE_FRACTION * (hi - lo)))
    scale = "log " if p.log else ""
    bound = p.low if side == "low" else p.high
    return (f"{name}: {cnt} of the {m} best trials ({pct(frac)}) are at the {'lower' if side == 'low' else 'upper'} "
            f"edge of its range ({'<=' if side == 'low' else '>='} {fmt(edge)}, the outer "
            f"{pct(EDGE_FRACTION)} on the {scale}search scale; bound {fmt(bound)}): extend it "
            f"{'below' if side == 'low' else 'above'} {fmt(bound)}")


@rule("best-at-boundary")
def boundary(ctx: Context) -> list[Finding]:
    if ctx.n_rankable < MIN_TRIALS:
        return []
    cols = ctx.cols
    top = _top_trials(ctx)
    hits: list[tuple[str, str, float, int, int, Float | Int]] = []
    evidence: dict[str, float] = {"n_top": float(top.size), "edge_fraction": EDGE_FRACTION}
    for name, p in numeric_params(cols.exp):
        n_levels = levels(p)
        if n_levels is not None and n_levels < MIN_LEVELS:
            continue
        raw, u = search_positions(cols, name, p)
        raw_t, u_t = raw[top], u[top]
        active = np.isfinite(u_t)
        m = int(active.sum())
        if m < TOP_MIN:
            continue
        # Beyond the bound counts as at the edge; so does the last level of a step grid.
        at_low = (u_t[active] <= EDGE_FRACTION) | (raw_t[active] <= p.low)
        at_high = (u_t[active] >= 1.0 - EDGE_FRACTION) | (raw_t[active] >= top_level(p))
        for side, at in (("low", at_low), ("high", at_high)):
            frac = float(at.mean())
            if frac >= BOUNDARY_FRACTION:
                hits.append((name, side, frac, int(at.sum()), m, p))
                evidence[f"{name}.{side}"] = frac
    if not hits:
        return []
    msg = ("The best trials cluster at the edge of a range, so the optimum may lie outside it. "
           + "; ".join(_sentence(*h) for h in hits)
           + ". Widen the range on that side in the next round (hpviz.suggest_space proposes it).")
    params = tuple(dict.fromkeys(h[0] for h in hits))
    return [Finding("best-at-boundary", "warning", msg, params, evidence)]
