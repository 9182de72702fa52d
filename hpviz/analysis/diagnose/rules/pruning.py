"""``pruner-misranks``: early stopping decides on values that do not yet rank trials like their final values.

Spearman correlation, over the trials that ran to the end, between the
logged value at each step and the final value (DeepCAVE's "budget
correlation"); fires when at least PRUNE_BEFORE_FRACTION of the stopped
trials stopped before the step from which the correlation stays at or above
RELIABLE_CORRELATION. The curve read is the one :mod:`hpviz._metrics` picks
for the objective. By-products: ``step_correlation`` and ``reliable_step``.
The finding's evidence carries ``reliable_step`` (when there is one) and
``median_stop_step`` so adapters can phrase the setting to change in their
framework's terms (``hpviz_finding_advice``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hpviz._columns import TrialColumns
from hpviz._numbers import fmt, pct
from hpviz.analysis._steps import trial_curve
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import (
    MAX_CURVE_TRIALS,
    MAX_GRID_STEPS,
    PRUNE_BEFORE_FRACTION,
    PRUNE_MIN_TRIALS,
    RELIABLE_CORRELATION,
)
from hpviz.schema import TrialState


@dataclass
class _Curves:
    curves: list[tuple[np.ndarray, np.ndarray]]  # (steps, values) per logged trial
    last_step: np.ndarray
    final: np.ndarray  # final objective value (the last logged value when the trial has none)
    full: np.ndarray  # ran to the end
    stopped: np.ndarray  # stopped early (pruned, or shorter than the full length)
    sampled_note: str


def _read_curves(cols: TrialColumns, seed: int) -> _Curves | None:
    logged = [i for i, t in enumerate(cols.trials) if t.log is not None and len(t.log) > 0
              and t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if len(logged) < PRUNE_MIN_TRIALS:
        return None
    sampled_note = ""
    if len(logged) > MAX_CURVE_TRIALS:
        rng = np.random.default_rng(seed)
        logged = sorted(rng.choice(logged, MAX_CURVE_TRIALS, replace=False).tolist())
        sampled_note = f" (estimated from a random sample of {MAX_CURVE_TRIALS} logged trials)"
    curves, idx = [], []
    for i in logged:
        c = trial_curve(cols.trials[i], cols.objective)  # the packed columns when it can
        if c is not None:
            curves.append(c)
            idx.append(i)
    if not curves:
        return None
    idx_a = np.asarray(idx)
    last_step = np.array([c[0][-1] for c in curves])
    complete = cols.complete[idx_a]
    final = np.array([cols.y[i] if np.isfinite(cols.y[i]) else c[1][-1] for i, c in zip(idx_a, curves)])
    if not complete.any():
        return None
    max_step = last_step[complete].max()
    full = complete & (last_step >= max_step) & np.isfinite(final)
    stopped = ~complete
    if full.sum() < PRUNE_MIN_TRIALS:
        # Lengths vary: take every COMPLETE trial as having run to its end.
        full = complete & np.isfinite(final)
    else:
        stopped = stopped | (complete & ~full)  # e.g. a scheduler's stopped trials end COMPLETE, shorter
    if full.sum() < PRUNE_MIN_TRIALS:
        return None
    return _Curves(curves, last_step, final, full, stopped, sampled_note)


def _step_correlation(c: _Curves) -> tuple[np.ndarray, np.ndarray]:
    """(steps, Spearman correlation of the value at each step with the final value) over the full trials."""
    full_pos = np.flatnonzero(c.full)
    steps = np.unique(np.concatenate([c.curves[k][0] for k in full_pos]))
    if steps.size > MAX_GRID_STEPS:
        steps = np.unique(steps[np.round(np.linspace(0, steps.size - 1, MAX_GRID_STEPS)).astype(int)])
    V = np.full((full_pos.size, steps.size), np.nan)
    for r, k in enumerate(full_pos):
        s, v = c.curves[k]
        at = np.searchsorted(s, steps, side="right") - 1  # the last value logged at or before each step
        V[r] = np.where(at >= 0, v[np.clip(at, 0, None)], np.nan)
    fv = c.final[full_pos]
    corr = np.full(steps.size, np.nan)
    for g in range(steps.size):
        ok = np.isfinite(V[:, g])
        if ok.sum() >= PRUNE_MIN_TRIALS and np.ptp(V[ok, g]) > 0 and np.ptp(fv[ok]) > 0:
            corr[g] = stats.spearmanr(V[ok, g], fv[ok]).statistic
    return steps, corr


def _reliable_step(steps: np.ndarray, corr: np.ndarray) -> float | None:
    """First step from which the correlation stays >= RELIABLE_CORRELATION; None if it never does."""
    finite = np.isfinite(corr)
    bad = finite & (corr < RELIABLE_CORRELATION)
    if bad[finite][-1]:
        return None
    after = np.flatnonzero(bad)
    start = after[-1] + 1 if after.size else int(np.argmax(finite))
    return float(steps[start])


def _finding(c: _Curves, steps: np.ndarray, corr: np.ndarray, reliable: float | None) -> Finding | None:
    stop_steps = c.last_step[c.stopped]
    if stop_steps.size == 0 or not (np.isfinite(corr) & (corr < RELIABLE_CORRELATION)).any():
        return None
    early = stop_steps < reliable if reliable is not None else np.ones(stop_steps.size, bool)
    frac = float(early.mean())
    if frac < PRUNE_BEFORE_FRACTION:
        return None
    med = float(np.median(stop_steps[early]))
    g_med = int(np.clip(np.searchsorted(steps, med, side="right") - 1, 0, steps.size - 1))
    corr_med = float(corr[g_med]) if np.isfinite(corr[g_med]) else float(np.nanmin(corr))
    n_full = int(c.full.sum())
    evidence = {"n_full_trials": float(n_full), "n_stopped": float(stop_steps.size),
                "n_stopped_before_reliable": float(early.sum()), "fraction_stopped_before_reliable": frac,
                "median_stop_step": med, "correlation_at_median_stop": corr_med,
                "min_correlation": float(np.nanmin(corr))}
    if reliable is not None:
        evidence["reliable_step"] = reliable
    for g in np.unique(np.round(np.linspace(0, steps.size - 1, min(8, steps.size))).astype(int)):
        if np.isfinite(corr[g]):
            evidence[f"correlation_at_step_{fmt(steps[g])}"] = float(corr[g])
    when = (f"it reaches {RELIABLE_CORRELATION} and stays there only from step {fmt(reliable)}"
            if reliable is not None else f"it never stays at or above {RELIABLE_CORRELATION}")
    advice = (f"Start early stopping later (not before step {fmt(reliable)}: a longer warm-up or grace period, "
              f"or a larger minimum resource)" if reliable is not None
              else "Stop trials much later or not at all")
    msg = (f"Early values rank trials poorly: over the {n_full} trials that ran to the end, the Spearman "
           f"correlation between the value at step {fmt(med)} and the final value is {corr_med:.2f}, and "
           f"{when}. Yet {int(early.sum())} of {stop_steps.size} stopped trials ({pct(frac)}) were stopped "
           f"before that (median step {fmt(med)}){c.sampled_note}, so early stopping is likely killing trials "
           f"that would have ended among the best. {advice}, or use a more patient rule (one that waits for "
           f"a lasting lack of progress, or keeps a larger share of the trials at each rung).")
    return Finding("pruner-misranks", "warning", msg, (), evidence)


@rule("pruner-misranks")
def pruning(ctx: Context) -> list[Finding]:
    c = _read_curves(ctx.cols, ctx.seed)
    if c is None:
        return []
    steps, corr = _step_correlation(c)
    ctx.products["step_correlation"] = pd.Series(corr, index=pd.Index(steps, name="step"), name="spearman")
    if not np.isfinite(corr).any():
        return []
    reliable = _reliable_step(steps, corr)
    ctx.products["reliable_step"] = reliable
    found = _finding(c, steps, corr, reliable)
    return [] if found is None else [found]
