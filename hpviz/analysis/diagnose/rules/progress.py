"""``no-improvement`` and ``still-improving``: has the best value stopped moving, or is it still moving?

Over the last ``W = window(n)`` finished trials the best value gained less
than NO_IMPROVEMENT_TOL (resp. at least STILL_IMPROVING_GAIN) of the total
improvement of the run. The thresholds differ, so the two never fire together.
"""

from __future__ import annotations

import numpy as np

from hpviz._numbers import fmt, pct
from hpviz.analysis.diagnose._space import window
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import MIN_TRIALS, NO_IMPROVEMENT_TOL, STILL_IMPROVING_GAIN


def _no_improvement(ctx: Context, b: np.ndarray, numbers: np.ndarray, total: float, W: int) -> Finding:
    n = b.size
    final = b[-1]
    sign = ctx.cols.sign
    best_trial = int(numbers[int(np.argmax(b <= final))])
    tol = NO_IMPROVEMENT_TOL * total
    i_reach = int(np.argmax(b <= final + tol))
    since = n - 1 - i_reach
    rel = (b[i_reach] - final) / total if total > 0 else 0.0
    msg = (f"The best value ({fmt(sign * final)}, trial {best_trial}) has not improved meaningfully for "
           f"the last {since} of {n} finished trials ({pct(since / n)} of the budget): the last gain "
           f"of at least {pct(NO_IMPROVEMENT_TOL)} of the total improvement came at trial "
           f"{int(numbers[i_reach])}, and everything since added {pct(rel)}. More of the same search is "
           f"unlikely to pay: stop here, or start a new round with a refined space (hpviz.suggest_space) "
           f"or a different sampler.")
    return Finding("no-improvement", "warning", msg, (), {
        "last_improvement_trial": float(numbers[i_reach]), "best_trial": float(best_trial),
        "trials_since": float(since), "fraction_since": since / n, "relative_gain_since": float(rel),
        "window": float(W), "best_value": float(sign * final)})


def _still_improving(ctx: Context, b: np.ndarray, numbers: np.ndarray, total: float, W: int) -> Finding:
    n = b.size
    final = b[-1]
    ref = b[max(n - 1 - W, int(np.argmax(np.isfinite(b))))]
    gain = ref - final
    sign = ctx.cols.sign
    best_trial = int(numbers[int(np.argmax(b <= final))])
    improvements = int(np.sum(np.diff(np.concatenate([[ref], b[n - W:]])) < 0))
    msg = (f"The best value was still improving at the end: over the last {W} of {n} finished trials it "
           f"went from {fmt(sign * ref)} to {fmt(sign * final)} ({improvements} improvement{'s' if improvements != 1 else ''}), "
           f"{pct(gain / total)} of all the improvement since the first trial. The search has not "
           f"converged: more trials are likely to pay (e.g. another {W}-{n // 2 if n // 2 > W else 2 * W} "
           f"trials), then diagnose again.")
    return Finding("still-improving", "info", msg, (), {
        "relative_gain_last_window": float(gain / total), "window": float(W),
        "improvements_in_window": float(improvements), "best_trial": float(best_trial),
        "best_value": float(sign * final)})


@rule("no-improvement", "still-improving")
def progress(ctx: Context) -> list[Finding]:
    if ctx.n_rankable < MIN_TRIALS:
        return []
    cols = ctx.cols
    fin = cols.finished
    numbers = cols.numbers[fin]
    b = cols.running_best_loss()[fin]
    n = b.size
    f0 = int(np.argmax(np.isfinite(b)))
    final = b[-1]
    total = b[f0] - final
    W = window(n)
    gain = b[max(n - 1 - W, f0)] - final
    if total <= 0 or gain <= NO_IMPROVEMENT_TOL * total:
        return [_no_improvement(ctx, b, numbers, total, W)]
    if gain >= STILL_IMPROVING_GAIN * total:
        return [_still_improving(ctx, b, numbers, total, W)]
    return []
