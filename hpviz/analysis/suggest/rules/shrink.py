"""``shrink``: the best trials concentrate in part of the range; the range shrinks to them, padded."""

from __future__ import annotations

import numpy as np

from hpviz._numbers import fmt_p, fmt_value
from hpviz.analysis.suggest.context import Context, importance_gate
from hpviz.analysis.suggest.ranges import build
from hpviz.schema import Change, Float, Int


def rule_shrink(name: str, param: Float | Int, s: np.ndarray, ctx: Context) -> Change | None:
    from scipy.stats import mannwhitneyu

    th = ctx.th
    active = np.isfinite(s)
    g = ctx.good & active
    r = ~ctx.good & active
    if int(g.sum()) < th.min_good or int(r.sum()) < th.min_good:
        return None
    lo, hi = param.search_bounds
    width = hi - lo
    gs = s[g]
    # Concentration test: are the good trials closer to their own median than the others are?
    # (catches a narrow optimum in the middle, which a location test would miss)
    centre = float(np.median(gs))
    p = float(mannwhitneyu(np.abs(gs - centre), np.abs(s[r] - centre), alternative="less").pvalue)
    if not p < ctx.alpha:
        return None
    a, b = float(gs.min()), float(gs.max())
    pad = max(th.shrink_pad * (b - a), th.shrink_min_pad * width)
    new_lo, new_hi = max(a - pad, lo), min(b + pad, hi)
    after = build(param, float(param.from_search_scale(new_lo)), float(param.from_search_scale(new_hi)),
                   param.low, param.high, keep_low=new_lo <= lo, keep_high=new_hi >= hi)
    if after is None:
        return None
    a2, b2 = after.search_bounds
    keep = (b2 - a2) / width
    if keep > th.shrink_max_keep:
        return None
    if not importance_gate(name, ctx, f"the best trials concentrate in {keep:.0%} of its range"):
        return None
    imp = ctx.importance_of(name)
    imp_txt = f"; importance {imp[0]:.2g} ± {imp[1]:.2g}" if imp is not None else ""
    lo_v, hi_v = param.from_search_scale([a, b])
    scale = " (log scale)" if param.log else ""
    reason = (f"the {int(g.sum())} best trials ({ctx.objective} {'<=' if ctx.sign > 0 else '>='} "
              f"{fmt_value(ctx.value(ctx.order[int(ctx.good.sum()) - 1]))}) span [{fmt_value(float(lo_v))}, {fmt_value(float(hi_v))}] "
              f"of [{fmt_value(param.low)}, {fmt_value(param.high)}]; padded, the new range keeps {keep:.0%} of the old"
              f"{scale}; concentration p={fmt_p(p)} (Mann-Whitney, distance to their median, best vs other trials){imp_txt}")
    return Change(name, "shrink", param, after, reason)
