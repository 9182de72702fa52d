"""``best-at-boundary``: the best trials cluster at the edge of a numeric range.

At least BOUNDARY_FRACTION of the top trials (the best TOP_FRACTION, at
least TOP_MIN, among the rankable ones) lie in the outer EDGE_FRACTION of a
numeric range, on its search scale (or beyond the bound, or on the last
level of a step grid), *and* more than the sampler's own placement explains:
a hypergeometric test of the top trials at the edge against all the trials
the sampler put there, at BOUNDARY_ALPHA Bonferroni-corrected over the
parameters (valid for adaptive samplers; ``hpviz.analysis._findings_stats``).
Integer parameters with fewer than MIN_LEVELS levels are skipped.
"""

from __future__ import annotations

import numpy as np

from hpviz._numbers import fmt, pct
from hpviz.analysis import _findings_stats as fstats  # module import: _findings_stats reads thresholds
from hpviz.analysis.diagnose._space import levels, numeric_params, search_positions, top_level
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import EDGE_FRACTION, MIN_LEVELS, MIN_TRIALS
from hpviz.schema import Float, Int


def _sentence(name: str, p: Float | Int, hit: fstats.EdgeHit, n_params: int) -> str:
    side, t = hit.side, hit.test
    lo, hi = p.search_bounds
    edge = float(p.from_search_scale(lo + EDGE_FRACTION * (hi - lo) if side == "low"
                                     else hi - EDGE_FRACTION * (hi - lo)))
    scale = "log " if p.log else ""
    bound = p.low if side == "low" else p.high
    return (f"{name}: {t.top_at_edge} of the {t.n_top} best trials ({pct(hit.fraction)}) are at the "
            f"{'lower' if side == 'low' else 'upper'} edge of its range ({'<=' if side == 'low' else '>='} "
            f"{fmt(edge)}, the outer {pct(EDGE_FRACTION)} on the {scale}search scale; bound {fmt(bound)}), against "
            f"{pct(t.all_at_edge / max(t.n_all, 1))} of all trials (hypergeometric p = {t.p_value:.2g}, Bonferroni "
            f"over {n_params} parameters): extend it {'below' if side == 'low' else 'above'} {fmt(bound)}")


@rule("best-at-boundary")
def boundary(ctx: Context) -> list[Finding]:
    if ctx.n_rankable < MIN_TRIALS:
        return []
    cols = ctx.cols
    use = np.flatnonzero(cols.rankable)
    tested = []
    for name, p in numeric_params(cols.exp):
        n_levels = levels(p)
        if n_levels is not None and n_levels < MIN_LEVELS:
            continue
        raw, u = search_positions(cols, name, p)
        # Beyond the bound counts as at the edge; so does the last level of a step grid.
        with np.errstate(invalid="ignore"):
            low = (u[use] <= EDGE_FRACTION) | (raw[use] <= p.low)
            high = (u[use] >= 1.0 - EDGE_FRACTION) | (raw[use] >= top_level(p))
        tested.append((name, p, u[use], low, high))
    if not tested:
        return []
    U = np.column_stack([t[2] for t in tested])
    hits = fstats.boundary_hits(U, cols.loss[use], at_low=np.column_stack([t[3] for t in tested]),
                         at_high=np.column_stack([t[4] for t in tested]))
    if not hits:
        return []
    evidence: dict[str, float] = {"n_top": float(hits[0].test.n_top), "edge_fraction": EDGE_FRACTION}
    for h in hits:
        name = tested[h.column][0]
        evidence[f"{name}.{h.side}"] = h.fraction
        evidence[f"{name}.{h.side}.p_value"] = h.test.p_value
    msg = ("The best trials cluster at the edge of a range beyond what the sampler's own placement explains, "
           "so the optimum may lie outside it. "
           + "; ".join(_sentence(tested[h.column][0], tested[h.column][1], h, len(tested)) for h in hits)
           + ". Widen the range on that side in the next round (hpviz.suggest_space proposes it).")
    params = tuple(dict.fromkeys(tested[h.column][0] for h in hits))
    return [Finding("best-at-boundary", "warning", msg, params, evidence)]
