"""``too-few-trials``: fewer than MIN_TRIALS trials finished with a finite value."""

from __future__ import annotations

import numpy as np

from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import MIN_TRIALS, TRIALS_PER_PARAM


def _state_breakdown(ctx: Context) -> str:
    cols = ctx.cols
    others = []
    for state, label in (("FAIL", "failed"), ("PRUNED", "pruned"), ("RUNNING", "running"), ("WAITING", "waiting")):
        k = int(np.sum(cols.state == state))
        if k:
            others.append(f"{k} {label}")
    nan = int(np.sum(cols.complete & ~np.isfinite(cols.y)))
    if nan:
        others.append(f"{nan} without a finite value")
    return f" ({', '.join(others)})" if others else ""


@rule("too-few-trials")
def too_few(ctx: Context) -> list[Finding]:
    n_usable = ctx.n_usable
    if n_usable >= MIN_TRIALS:
        return []
    n = len(ctx.cols.trials)
    n_params = len(ctx.cols.exp.space)
    per_param = TRIALS_PER_PARAM * max(n_params, 1)
    if n == 0:
        seen = "The experiment has no trials yet."
    else:
        seen = f"Only {n_usable} of {n} trials finished with a finite value{_state_breakdown(ctx)}."
    msg = (f"{seen} The progress findings need at least {MIN_TRIALS}, and importance analysis "
           f"typically about {TRIALS_PER_PARAM} per parameter ({per_param} for {n_params} parameters). "
           f"Run more trials before drawing conclusions.")
    return [Finding("too-few-trials", "problem" if n_usable == 0 else "warning", msg, (),
                    {"n_usable": float(n_usable), "n_trials": float(n), "needed": float(MIN_TRIALS),
                     "needed_for_importance": float(per_param)})]
