"""``expand``: the best trials sit at a bound; that side is widened (never past a hard limit)."""

from __future__ import annotations

import math

import numpy as np

from hpviz._numbers import fmt_p, fmt_value
from hpviz.analysis.suggest.context import Context, importance_gate
from hpviz.analysis.suggest.ranges import build, effective_limits
from hpviz.schema import Change, Float, Int


def rule_expand(name: str, param: Float | Int, s: np.ndarray, ctx: Context) -> Change | None:
    th = ctx.th
    active = np.isfinite(s)
    g = ctx.good & active
    r = ~ctx.good & active
    n_g, n_r = int(g.sum()), int(r.sum())
    if n_g < th.min_good or n_r < 1 or not active[ctx.best]:
        return None
    lo, hi = param.search_bounds
    width = hi - lo
    band = th.edge_band * width
    sides = []
    for side, in_band in (("upper", s >= hi - band), ("lower", s <= lo + band)):
        g_in, r_in = int((in_band & g).sum()), int((in_band & r).sum())
        if in_band[ctx.best] and g_in >= 2 and g_in / n_g >= th.edge_share:
            sides.append((g_in / n_g, side, g_in, r_in))
    if not sides:
        return None
    share, side, g_in, r_in = max(sides)
    # Location test: are the good trials shifted toward that bound, compared with the others?
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(s[g], s[r], alternative="greater" if side == "upper" else "less").pvalue)
    if not p < ctx.alpha:
        return None
    bound = param.high if side == "upper" else param.low
    what = f"the best trials sit at the {side} bound {fmt_value(bound)}"
    if not importance_gate(name, ctx, what):
        return None
    lim_lo, lim_hi, implicit = effective_limits(name, param, ctx.limits)
    if side == "upper":
        target = float(param.from_search_scale(hi + th.expand_by * width))
        after = build(param, param.low, target, param.low, lim_hi, keep_low=True)
        limit = lim_hi
    else:
        target = float(param.from_search_scale(lo - th.expand_by * width))
        after = build(param, target, param.high, lim_lo, param.high, keep_high=True)
        limit = lim_lo
    grown = after is not None and (after.high > param.high if side == "upper" else after.low < param.low)
    if not grown:
        src = "the implicit limit 0 of a non-negative parameter (pass limits= to allow more)" if implicit \
            else f"the limit {fmt_value(limit)}"
        ctx.notes.append(f"{name}: {what}, but it is already at {src}; not expanded")
        return None
    new = after.high if side == "upper" else after.low
    best_v = ctx.trials[ctx.best].params[name]
    scale = " (in log space)" if param.log else ""
    capped = f", capped by the limit {fmt_value(limit)}" if math.isfinite(limit) and new == limit else ""
    reason = (f"{g_in} of the {n_g} best trials (and the best, {name}={fmt_value(best_v)}) lie within "
              f"{th.edge_band:.0%} of the range of the {side} bound {fmt_value(bound)} ({r_in} of {n_r} others; "
              f"shifted toward it: Mann-Whitney p={fmt_p(p)}); {side} bound moved by {th.expand_by:.0%} of the range{scale} to "
              f"{fmt_value(new)}{capped}")
    return Change(name, "expand", param, after, reason)
