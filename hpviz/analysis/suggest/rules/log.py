"""``use-log``: a wide linear range whose good values sit in its lowest part, spread over decades."""

from __future__ import annotations

import math

import numpy as np

from hpviz._numbers import fmt_p, fmt_value
from hpviz.analysis.suggest.context import Context, fisher_greater
from hpviz.schema import Change, Float, Int


def rule_log(name: str, param: Float | Int, vals: np.ndarray, ctx: Context) -> Change | None:
    th = ctx.th
    if param.log or param.low <= 0 or param.high / param.low < th.log_min_ratio:
        return None
    stepped = (isinstance(param, Int) and param.step != 1) or (isinstance(param, Float) and param.step is not None)
    if stepped and not ctx.allows("log_with_step"):
        return None  # the framework cannot search a log scale on a step grid
    active = np.isfinite(vals) & (vals > 0)
    g = ctx.good & active
    n_g, n_r = int(g.sum()), int((~ctx.good & active).sum())
    if n_g < ctx.th.min_good or n_r < 1 or not active[ctx.best]:
        return None
    band_hi = param.low + th.log_band * (param.high - param.low)
    in_band = vals <= band_hi
    g_in, r_in = int((in_band & g).sum()), int((in_band & ~ctx.good & active).sum())
    share = g_in / n_g
    gv = vals[g]
    decades = float(np.log10(gv.max() / gv.min()))
    if share < th.log_share or not in_band[ctx.best] or decades < th.log_min_decades:
        return None
    p = fisher_greater(g_in, n_g, r_in, n_r)
    if not p < ctx.alpha:
        return None
    after = type(param)(param.low, param.high, log=True, step=param.step)
    reason = (f"[{fmt_value(param.low)}, {fmt_value(param.high)}] spans {math.log10(param.high / param.low):.1f} decades and "
              f"{g_in} of the {n_g} best trials lie in its lowest {th.log_band:.0%} (<= {fmt_value(band_hi)}; "
              f"{r_in} of {n_r} others, Fisher p={fmt_p(p)}), spread over {decades:.1f} decades "
              f"({fmt_value(float(gv.min()))} to {fmt_value(float(gv.max()))}): search it log-uniformly")
    return Change(name, "use-log", param, after, reason)
