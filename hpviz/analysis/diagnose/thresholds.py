"""Thresholds of the diagnosis findings: every number a finding compares against, with its reason.

One place, so a change of a threshold (and the calibration that justifies it,
``benchmarks/calibration.py``) is one edit. ``docs/diagnosis.md`` explains
each one and what to do when a finding fires.
"""

from __future__ import annotations

__all__ = [
    "MIN_TRIALS", "TRIALS_PER_PARAM", "WINDOW_MIN_TRIALS", "WINDOW_FRACTION", "NO_IMPROVEMENT_TOL",
    "STILL_IMPROVING_GAIN", "RECORD_ALPHA", "CONVERGED_SPREAD", "NOISE_GAIN", "RECENT_RECORD_TRIALS",
    "BOUNDARY_ALPHA", "ALPHA", "N_PERMUTATIONS", "PERMUTATION_CELLS", "MAX_BAND_POINTS", "TOP_FRACTION",
    "TOP_MIN", "EDGE_FRACTION", "BOUNDARY_FRACTION", "MIN_LEVELS", "COLLAPSE_TAIL_FRACTION", "COLLAPSE_WIDTH",
    "COLLAPSE_INSIDE", "COLLAPSE_MIN_LEVELS", "DUPLICATE_MIN_EXTRA", "DUPLICATE_WARN_FRACTION", "FAILURE_RATE",
    "FAILURE_PROBLEM_RATE", "FAILURE_MIN_COUNT", "FAILURE_ASSOC_ALPHA", "RELIABLE_CORRELATION",
    "PRUNE_MIN_TRIALS", "PRUNE_BEFORE_FRACTION", "MAX_GRID_STEPS", "MAX_CURVE_TRIALS", "HV_MC_SAMPLES",
]

#: Trials with a finite value needed by the trend findings: each half of the run
#: then has >= 10 values, about the least for which a rank test at 5% can detect
#: a clear shift (Mann-Whitney with 10 vs 10 needs a ~1.3 SD shift for 80% power).
MIN_TRIALS = 20
#: Importance analysis rule of thumb quoted by ``too-few-trials`` (a random forest
#: needs roughly ten observations per input to place its splits).
TRIALS_PER_PARAM = 10
#: The "recent" window is max(10 trials, 25% of the finished trials): long enough
#: that one lucky trial does not count as a trend, short enough to say "lately".
WINDOW_MIN_TRIALS = 10
WINDOW_FRACTION = 0.25
#: collapsed-exploration calls a collapse "locked in" when the best gained < 1% of the
#: run's total improvement since it began: gains that small are within typical noise.
NO_IMPROVEMENT_TOL = 0.01
#: Former still-improving gain threshold (5% of the total improvement in the window).
#: Kept for compatibility and no longer read: no-improvement and still-improving now
#: count new records against an exhausted search (hpviz.analysis._findings_stats),
#: scale-free and robust to a diverged first trial.
STILL_IMPROVING_GAIN = 0.05
#: One-sided level of the record-count tests of no-improvement / still-improving
#: (measured: benchmarks/calibration.py, progress section).
RECORD_ALPHA = 0.05
#: Window IQR <= 2% of the run's IQR: the values have narrowed 50x. Model-based runs that are still
#: improving narrow 5-13x (measured on 5-d TPE runs at 60-100 trials), a converged run 100x or more.
CONVERGED_SPREAD = 0.02
#: Records in a converged window that gained < 1% of the run's robust total improvement (median of
#: the first window's values minus the best) are noise-level luck, not progress.
NOISE_GAIN = 0.01
#: However the rest looks, a new best in the last 10 trials means the run is not stalled.
RECENT_RECORD_TRIALS = 10
#: Significance level of the tests (one-sided).
ALPHA = 0.05
#: Permutations of the best-so-far curve (p-value resolution 1/201). They are
#: drawn in blocks of at most PERMUTATION_CELLS values, so memory stays bounded.
N_PERMUTATIONS = 200
PERMUTATION_CELLS = 4_000_000
#: Positions at which ``Diagnosis.random_band`` is kept (enough for any plot).
MAX_BAND_POINTS = 2000
#: Top trials for best-at-boundary: the best 10%, at least 10. With the best 5% (at least 5) the
#: hypergeometric test had 50% power on TPE runs whose optimum lies beyond a bound (the sampler puts
#: ~40% of its trials at that edge, so 5 of 5 top trials there is p ~ 0.01); with 10 it has 100%
#: and no more false alarms (benchmarks/calibration.py, boundary section).
TOP_FRACTION = 0.10
TOP_MIN = 10
#: The outer 5% of a range on its search scale is its "edge"; effect size: at least half of the
#: top trials there.
EDGE_FRACTION = 0.05
BOUNDARY_FRACTION = 0.5
#: Family-wise level of best-at-boundary's hypergeometric test (top trials at the edge vs all the
#: trials the sampler put there), Bonferroni over the parameters tested.
BOUNDARY_ALPHA = 0.05
#: Integer parameters with fewer levels than this are skipped by
#: best-at-boundary (with 3 levels, one edge level holds a third of the range).
MIN_LEVELS = 4
#: Collapsed exploration looks at the last 25% (>= WINDOW_MIN_TRIALS) of the
#: trials that sampled the parameter. It fires when their central 80%
#: (10th-90th percentile) spans < 5% of the range: uniform sampling spans 80%,
#: and even a converging model-based sampler keeps exploring wider than that.
COLLAPSE_TAIL_FRACTION = 0.25
COLLAPSE_WIDTH = 0.05
#: Onset of a collapse: the first trial from which >= 90% of the samples stay
#: within COLLAPSE_WIDTH of the collapsed value.
COLLAPSE_INSIDE = 0.9
#: Integer parameters need this many levels for collapsed-exploration: with
#: fewer, 5% of the range is less than one level and settling on the best
#: level is the right thing to do.
COLLAPSE_MIN_LEVELS = 20
#: Duplicate configurations: fire from 2 repeated evaluations (one repeat can be
#: a deliberate re-run); warning when >= 10% of the budget went to repeats.
DUPLICATE_MIN_EXTRA = 2
DUPLICATE_WARN_FRACTION = 0.10
#: Failures (FAIL state, or COMPLETE with NaN/inf): > 10% of the budget wasted is
#: worth a look (warning); >= 50% means most of the budget is lost (problem).
FAILURE_RATE = 0.10
FAILURE_PROBLEM_RATE = 0.5
#: At least 2 failures (one failure is anecdote), unless every trial failed.
FAILURE_MIN_COUNT = 2
#: Significance of a failure-parameter association, Bonferroni-corrected over
#: the parameters tested (strict, because the region is reported as a cause).
FAILURE_ASSOC_ALPHA = 0.01
#: Spearman correlation from which the ranking at a step is taken as reliable:
#: rho >= 0.7 is the usual "strong" threshold; below it, a pruner that keeps
#: the top third at that step drops many trials that would have ended on top.
RELIABLE_CORRELATION = 0.7
#: Fewest trials that ran to the end for a per-step correlation to be computed
#: (the standard error of Spearman's rho is ~1/sqrt(n-3), 0.38 at n=10).
PRUNE_MIN_TRIALS = 10
#: pruner-misranks fires when >= 25% of the stopped trials were stopped before
#: the ranking became reliable.
PRUNE_BEFORE_FRACTION = 0.25
#: Steps at which the correlation is computed (quantiles of the logged steps).
MAX_GRID_STEPS = 50
#: Logs read for pruner-misranks: a seeded random sample of this many logged
#: trials (rho's standard error at 1500 trials is ~0.03, far below the gap
#: between a reliable 0.7 and a misranking step; reading every log of a large
#: study would dominate the run time).
MAX_CURVE_TRIALS = 1500
#: Monte Carlo samples of the hypervolume with 3+ objectives (standard error
#: <= 0.5/sqrt(n) = 0.005 of the normalized box); 2 objectives are exact.
HV_MC_SAMPLES = 10000
