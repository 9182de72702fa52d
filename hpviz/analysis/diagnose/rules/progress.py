"""``no-improvement`` and ``still-improving``: has the best value stopped moving, or is it still moving?

Over the last ``W = window(n)`` rankable trials, counting only new records
(ranks) and one ratio of robust spreads, so the findings are scale-free and
robust to a diverged trial (``hpviz.analysis._findings_stats``):

- still-improving: more new records in the window than an exhausted search
  (independent trials, a record at trial t with probability 1/t) gives,
  one-sided p <= RECORD_ALPHA;
- no-improvement: no new record in the last RECENT_RECORD_TRIALS trials and a
  plateau rather than slow progress: the values converged (window IQR <=
  CONVERGED_SPREAD of the run's), or an exhausted search would have found a
  new best since the best with probability >= 1 - RECORD_ALPHA.

They never fire together.
"""

from __future__ import annotations

import numpy as np

from hpviz._numbers import fmt, pct
from hpviz.analysis import _findings_stats as fstats  # module import: _findings_stats reads thresholds
from hpviz.analysis.diagnose._space import window
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import CONVERGED_SPREAD, MIN_TRIALS


def _no_improvement(ctx: Context, st: fstats.Stagnation, best: float, best_trial: int) -> Finding:
    sign = ctx.cols.sign
    n, W = st.n, st.window
    if st.spread_ratio <= CONVERGED_SPREAD:
        why = (f"the last {W} values spread over {pct(st.spread_ratio)} of the run's interquartile range "
               f"(converged: at most {pct(CONVERGED_SPREAD)}) and none is a meaningful new best")
    else:
        why = (f"an exhausted search (independent trials) would have found a new best since then with "
               f"probability {pct(1 - st.p_no_record)}")
    msg = (f"The best value ({fmt(sign * best)}, trial {best_trial}) has not improved for the last "
           f"{st.since_best} of {n} usable trials ({pct(st.since_best / n)} of the budget): {why}. More of "
           f"the same search is unlikely to pay: stop here, or start a new round with a refined space "
           f"(hpviz.suggest_space) or a different sampler.")
    return Finding("no-improvement", "warning", msg, (), {
        "last_improvement_trial": float(best_trial), "best_trial": float(best_trial),
        "trials_since": float(st.since_best), "fraction_since": st.since_best / n,
        "relative_gain_since": 0.0, "window": float(W), "records_in_window": float(st.records_in_window),
        "spread_ratio": st.spread_ratio, "p_no_record": st.p_no_record, "best_value": float(sign * best)})


def _still_improving(ctx: Context, st: fstats.Stagnation, z: np.ndarray, best: float, best_trial: int) -> Finding:
    sign = ctx.cols.sign
    n, W, r = st.n, st.window, st.records_in_window
    ref = float(z[: n - W].min())
    msg = (f"The best value was still improving at the end: {r} new best{'s' if r != 1 else ''} in the last "
           f"{W} of {n} usable trials, where a search that had stopped learning (independent trials) would give "
           f"{st.expected_records:.2g} on average (p = {st.p_improving:.2g}); the best went from "
           f"{fmt(sign * ref)} to {fmt(sign * best)}. The search has not converged: more trials are likely to "
           f"pay (e.g. another {W}-{n // 2 if n // 2 > W else 2 * W} trials), then diagnose again.")
    return Finding("still-improving", "info", msg, (), {
        "records_in_window": float(r), "expected_records": st.expected_records, "p_value": st.p_improving,
        "window": float(W), "improvements_in_window": float(r), "best_trial": float(best_trial),
        "best_value": float(sign * best)})


@rule("no-improvement", "still-improving")
def progress(ctx: Context) -> list[Finding]:
    if ctx.n_rankable < MIN_TRIALS:
        return []
    cols = ctx.cols
    use = cols.rankable
    z = cols.loss[use]
    numbers = cols.numbers[use]
    st = fstats.stagnation(z, window(z.size))
    i_best = int(np.flatnonzero(fstats.records(z))[-1])
    best, best_trial = float(z[i_best]), int(numbers[i_best])
    if st.stalled:
        return [_no_improvement(ctx, st, best, best_trial)]
    if st.improving:
        return [_still_improving(ctx, st, z, best, best_trial)]
    return []
