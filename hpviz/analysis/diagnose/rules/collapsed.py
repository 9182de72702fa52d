"""``collapsed-exploration``: the last trials sampled a numeric parameter in a tiny band.

The last COLLAPSE_TAIL_FRACTION (at least WINDOW_MIN_TRIALS) of the trials
that sampled the parameter have their central 80% within COLLAPSE_WIDTH of
the range (search scale). The onset is the first trial from which
COLLAPSE_INSIDE of the samples stay in that band; "locked in" (a warning)
when the best value has not improved since the onset.
"""

from __future__ import annotations

import math

import numpy as np

from hpviz._numbers import fmt, pct
from hpviz.analysis.diagnose._space import levels, numeric_params, search_positions
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import (
    COLLAPSE_INSIDE,
    COLLAPSE_MIN_LEVELS,
    COLLAPSE_TAIL_FRACTION,
    COLLAPSE_WIDTH,
    MIN_TRIALS,
    NO_IMPROVEMENT_TOL,
    WINDOW_MIN_TRIALS,
)
from hpviz.schema import Int


def _onset(u: np.ndarray, idx: np.ndarray, center_u: float) -> int:
    """Position in ``idx`` from which COLLAPSE_INSIDE of the samples stay within COLLAPSE_WIDTH of the centre."""
    inside = (np.abs(u[idx] - center_u) <= COLLAPSE_WIDTH).astype(float)
    suffix = np.cumsum(inside[::-1])[::-1] / np.arange(idx.size, 0, -1)
    # The collapse starts at a sample inside the region (not at an outlier before it).
    return int(np.argmax((suffix >= COLLAPSE_INSIDE) & (inside > 0)))


def _sentence(name: str, width: float, onset: int, frac: float, center: float, locked: bool, tail: int,
              b_onset: float, sign: float) -> str:
    what = (f"{name}: the last {tail} samples span only {pct(width)} of its range (10th-90th percentile), "
            f"around {fmt(center)}; from trial {onset} on ({pct(frac)} of the run) 90% of the samples stay "
            f"within {pct(COLLAPSE_WIDTH)} of the range of that value")
    if locked:
        what += (", and the best value has not improved since" +
                 (f" (still {fmt(sign * b_onset)})" if np.isfinite(b_onset) else ""))
    return what


@rule("collapsed-exploration")
def collapsed(ctx: Context) -> list[Finding]:
    if ctx.n_usable < MIN_TRIALS:
        return []
    cols = ctx.cols
    b_all = cols.running_best_loss()
    final = b_all[-1]
    first = b_all[np.isfinite(b_all)]
    total = (first[0] - final) if first.size else 0.0
    hits = []
    evidence: dict[str, float] = {}
    samp = np.flatnonzero(cols.sampled)
    for name, p in numeric_params(cols.exp):
        if isinstance(p, Int) and (levels(p) or 0) < COLLAPSE_MIN_LEVELS:
            continue
        _, u = search_positions(cols, name, p)
        idx = samp[np.isfinite(u[samp])]
        if idx.size < MIN_TRIALS:
            continue
        tail = max(WINDOW_MIN_TRIALS, int(math.ceil(COLLAPSE_TAIL_FRACTION * idx.size)))
        q10, q50, q90 = np.quantile(u[idx[-tail:]], [0.1, 0.5, 0.9])
        width = float(q90 - q10)
        if width >= COLLAPSE_WIDTH:
            continue
        onset_pos = _onset(u, idx, q50)
        onset = int(idx[onset_pos])
        # Best value when the collapse began vs at the end: no gain since -> locked in while poor.
        before = b_all[:onset]
        b_onset = before[-1] if before.size else np.inf
        gain_after = (b_onset - final) / total if (total > 0 and np.isfinite(b_onset)) else 0.0
        locked = gain_after < NO_IMPROVEMENT_TOL
        center = float(p.from_search_scale(p.search_bounds[0] + q50 * (p.search_bounds[1] - p.search_bounds[0])))
        frac = (idx.size - onset_pos) / idx.size
        hits.append((name, width, int(cols.numbers[onset]), frac, center, locked, tail, b_onset))
        evidence[f"{name}.width"] = width
        evidence[f"{name}.onset_trial"] = float(cols.numbers[onset])
        evidence[f"{name}.fraction_after_onset"] = frac
        evidence[f"{name}.center"] = center
        evidence[f"{name}.gain_after_onset"] = float(gain_after)
    if not hits:
        return []
    any_locked = any(h[5] for h in hits)
    advice = ("The sampler locked in while the objective was no longer improving: increase exploration "
              "(more random startup trials, a larger initial step size of an evolution strategy, or a "
              "restart), and check that the objective really depends on these parameters."
              if any_locked else
              "The sampler is converging on one small region; if the objective is still improving there this is "
              "normal exploitation, otherwise widen the exploration (more random startup trials, a larger "
              "initial step size) or fix the parameter and spend the budget on the others.")
    msg = "Exploration collapsed. " + "; ".join(_sentence(*h, ctx.cols.sign) for h in hits) + ". " + advice
    evidence["locked_in"] = float(any_locked)
    return [Finding("collapsed-exploration", "warning" if any_locked else "info", msg,
                    tuple(h[0] for h in hits), evidence)]
