"""Progress and algorithm diagnosis: is the optimizer working, and is it configured well?

:func:`diagnose` computes the best value so far (over trial order and over
wall time; the normalized hypervolume for multi-objective experiments) and a
list of :class:`Finding` objects, each with a stable ``code``:

``too-few-trials``
    Fewer than :data:`MIN_TRIALS` trials finished with a finite value.
``no-improvement`` / ``still-improving``
    Over the last ``W = max(WINDOW_MIN_TRIALS, WINDOW_FRACTION * n)``
    finished trials the best value gained less than
    :data:`NO_IMPROVEMENT_TOL` (resp. at least :data:`STILL_IMPROVING_GAIN`)
    of the total improvement of the run. The two thresholds differ, so the
    two findings never fire together.
``not-better-than-random``
    A one-sided Mann-Whitney U test finds the later half of the values no
    better than the earlier half, *and* the best-so-far curve is no better
    (smaller area, min direction) than the curves of the same values in
    random order (permutation test, :data:`N_PERMUTATIONS` permutations with a
    fixed seed). Both p-values are at least :data:`ALPHA`.
``best-at-boundary``
    At least :data:`BOUNDARY_FRACTION` of the top trials lie in the outer
    :data:`EDGE_FRACTION` of a numeric range, on its search scale.
``collapsed-exploration``
    The last trials sampled a numeric parameter within a band narrower than
    :data:`COLLAPSE_WIDTH` of its range.
``duplicate-configs``
    The same configuration (rounded to each parameter's step, categorical
    choice, or 1e-9 of a continuous range) was evaluated again.
``high-failure-rate``
    At least :data:`FAILURE_RATE` of the finished trials failed or returned
    NaN/inf; the parameter regions where failures concentrate are found with a
    two-sample Kolmogorov-Smirnov split (numeric) or Fisher's exact test
    (categorical).
``pruner-misranks``
    Spearman correlation, over the trials that ran to the end, between the
    logged value at each step and the final value (DeepCAVE's "budget
    correlation"); fires when at least :data:`PRUNE_BEFORE_FRACTION` of the
    stopped trials stopped before the step from which the correlation stays
    at or above :data:`RELIABLE_CORRELATION`.

The thresholds are module constants; ``docs/diagnosis.md`` explains each one
and what to do when a finding fires.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hpviz.convert import experiment as _to_experiment
from hpviz.schema import Categorical, Experiment, Float, Int, Trial, TrialState, choice_key

__all__ = [
    "diagnose",
    "Diagnosis",
    "Finding",
    "CODES",
    "SEVERITIES",
    "MIN_TRIALS",
    "TRIALS_PER_PARAM",
    "WINDOW_MIN_TRIALS",
    "WINDOW_FRACTION",
    "NO_IMPROVEMENT_TOL",
    "STILL_IMPROVING_GAIN",
    "ALPHA",
    "N_PERMUTATIONS",
    "MAX_BAND_POINTS",
    "TOP_FRACTION",
    "TOP_MIN",
    "EDGE_FRACTION",
    "BOUNDARY_FRACTION",
    "MIN_LEVELS",
    "COLLAPSE_TAIL_FRACTION",
    "COLLAPSE_WIDTH",
    "COLLAPSE_INSIDE",
    "COLLAPSE_MIN_LEVELS",
    "DUPLICATE_MIN_EXTRA",
    "DUPLICATE_WARN_FRACTION",
    "FAILURE_RATE",
    "FAILURE_PROBLEM_RATE",
    "FAILURE_MIN_COUNT",
    "FAILURE_ASSOC_ALPHA",
    "RELIABLE_CORRELATION",
    "PRUNE_MIN_TRIALS",
    "PRUNE_BEFORE_FRACTION",
    "MAX_GRID_STEPS",
    "MAX_CURVE_TRIALS",
    "HV_MC_SAMPLES",
]

#: The stable finding codes, in the order findings of equal severity are listed.
CODES = (
    "too-few-trials",
    "high-failure-rate",
    "not-better-than-random",
    "no-improvement",
    "still-improving",
    "pruner-misranks",
    "best-at-boundary",
    "collapsed-exploration",
    "duplicate-configs",
)
#: Severities, most serious first.
SEVERITIES = ("problem", "warning", "info")

# --------------------------------------------------------------------------- thresholds
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
#: No-improvement: the window gained < 1% of the run's total improvement
#: (first value to best value): gains that small are within typical noise.
NO_IMPROVEMENT_TOL = 0.01
#: Still-improving: the window gained >= 5% of the total improvement. A curve
#: still moving that fast at the end has not converged. Between 1% and 5%
#: neither fires (the curve is flattening).
STILL_IMPROVING_GAIN = 0.05
#: Significance level of the tests (one-sided).
ALPHA = 0.05
#: Permutations of the best-so-far curve (p-value resolution 1/201). They are
#: drawn in blocks of at most _CELLS values, so memory stays bounded.
N_PERMUTATIONS = 200
_CELLS = 4_000_000
#: Positions at which ``Diagnosis.random_band`` is kept (enough for any plot).
MAX_BAND_POINTS = 2000
#: Top trials for best-at-boundary: the best 5% (at least 5, so a single lucky
#: trial cannot make a cluster). As wide as the edge zone: when the objective
#: keeps improving towards a bound, even random search puts its best 5% in the
#: outer 5%, while an interior optimum puts (almost) none there.
TOP_FRACTION = 0.05
TOP_MIN = 5
#: The outer 5% of a range on its search scale is its "edge"; uniform sampling
#: puts 5% of trials there, so half of the top trials there is a 10x excess.
EDGE_FRACTION = 0.05
BOUNDARY_FRACTION = 0.5
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

_MISSING = object()
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_CODE_RANK = {c: i for i, c in enumerate(CODES)}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """One diagnosis finding.

    Attributes
    ----------
    code:
        Stable identifier (see :data:`CODES`).
    severity:
        ``"info"``, ``"warning"`` or ``"problem"``.
    message:
        What was seen, with numbers, and what to do about it.
    params:
        Names of the parameters the finding is about (may be empty).
    evidence:
        The numbers behind the message (``name -> float``).
    """

    code: str
    severity: str
    message: str
    params: tuple[str, ...] = ()
    evidence: Mapping[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{self.severity}] {self.code}: {self.message}"


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Result of :func:`diagnose`.

    Attributes
    ----------
    objective, direction:
        The objective diagnosed and its direction (``"min"``/``"max"``).
    n_trials:
        Trials in the experiment, any state.
    counts:
        Trials by state name (``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING``, ``WAITING``).
    n_usable:
        COMPLETE trials with a finite objective value.
    n_nan:
        COMPLETE trials whose value is missing, NaN or infinite (counted as failures).
    findings:
        The findings, most serious first.
    best_so_far:
        Best value so far after each finished trial, indexed by trial number
        (NaN before the first finite value).
    best_so_far_time:
        The same over wall time: indexed by seconds from the first start to
        each trial's finish; ``None`` without timestamps.
    hypervolume:
        With 2+ objectives: the hypervolume dominated by the trials so far,
        indexed like ``best_so_far``. Each objective is scaled to ``[0, 1]``
        by its observed range (best observed -> 0) and the reference point
        is the worst observed value of each objective, so the hypervolume is
        a fraction of the box spanned by the observed values (exact for 2
        objectives, Monte Carlo with a fixed seed for 3+). ``None`` otherwise.
    random_band:
        Best-so-far curves of the same values in random order: DataFrame
        with columns ``low``, ``median``, ``high`` (5%, 50%, 95% quantiles),
        indexed by the numbers of the usable trials (at most
        :data:`MAX_BAND_POINTS` of them, evenly spaced, the last included);
        ``None`` when there are fewer than :data:`MIN_TRIALS`.
    step_correlation:
        Spearman correlation between the logged value at each step and the
        final value, indexed by step; ``None`` without enough logs.
    reliable_step:
        First step from which ``step_correlation`` stays >= :data:`RELIABLE_CORRELATION`.
    """

    objective: str
    direction: str
    n_trials: int
    counts: Mapping[str, int]
    n_usable: int
    n_nan: int
    findings: tuple[Finding, ...]
    best_so_far: pd.Series
    best_so_far_time: pd.Series | None = None
    hypervolume: pd.Series | None = None
    random_band: pd.DataFrame | None = None
    step_correlation: pd.Series | None = None
    reliable_step: float | None = None

    @property
    def n_complete(self) -> int:
        return self.counts.get("COMPLETE", 0)

    @property
    def n_pruned(self) -> int:
        return self.counts.get("PRUNED", 0)

    @property
    def n_failed(self) -> int:
        return self.counts.get("FAIL", 0)

    @property
    def n_running(self) -> int:
        return self.counts.get("RUNNING", 0)

    @property
    def codes(self) -> tuple[str, ...]:
        """Codes of the findings, in order."""
        return tuple(f.code for f in self.findings)

    def by_code(self, code: str) -> tuple[Finding, ...]:
        """The findings with this code (empty when it did not fire)."""
        return tuple(f for f in self.findings if f.code == code)

    def summary(self) -> str:
        """The findings as plain text, one paragraph each."""
        head = (f"{self.n_trials} trials ({', '.join(f'{v} {k}' for k, v in self.counts.items() if v)}); "
                f"objective {self.objective!r} ({self.direction})")
        if not self.findings:
            return head + "\nNo findings."
        return "\n".join([head, *(str(f) for f in self.findings)])

    def __repr__(self) -> str:
        return (f"Diagnosis(objective={self.objective!r}, n_trials={self.n_trials}, "
                f"findings={list(self.codes)})")


# --------------------------------------------------------------------------- helpers


def _fmt(x: float) -> str:
    """A number for a message: 3 significant digits, no noise."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.3g}"


def _pct(x: float) -> str:
    """A fraction as a percentage; small ones keep two significant digits (0.4%, not 0%)."""
    pct = 100.0 * x
    return f"{pct:.0f}%" if pct == 0 or abs(pct) >= 10 else f"{pct:.2g}%"


def _timestamp(value: _dt.datetime | None) -> float:
    if value is None:
        return math.nan
    if value.tzinfo is None:  # naive: taken as given (all trials of a run share the convention)
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.timestamp()


_FAST_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})


def _numeric_column(raw: list[Any]) -> np.ndarray:
    """Floats of a parameter column; NaN for inactive, non-numeric or bool values."""
    if set(map(type, raw)) <= _FAST_TYPES:  # the common case, checked at C speed
        return np.asarray(raw, dtype=float)
    out = np.full(len(raw), math.nan)
    for i, v in enumerate(raw):
        if v is _MISSING or v is None or isinstance(v, (bool, str)):
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            pass
    return out


def _levels(param: Float | Int) -> int | None:
    """Number of values a stepped parameter can take; None when continuous."""
    step = param.step
    if step is None:
        return None
    return int(math.floor((param.high - param.low) / step + 1e-9)) + 1


def _top_level(param: Float | Int) -> float:
    """Largest value on the step grid (``high`` when continuous)."""
    n = _levels(param)
    return float(param.high) if n is None else float(param.low + (n - 1) * param.step)


@dataclass
class _Run:
    """Arrays of one experiment for one objective, in trial order."""

    exp: Experiment
    trials: list[Trial]
    objective: str
    direction: str
    numbers: np.ndarray
    state: np.ndarray
    y: np.ndarray  # objective value as recorded
    loss: np.ndarray  # oriented so smaller is better
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)  # parameter columns, extracted once

    @property
    def complete(self) -> np.ndarray:
        return self.state == TrialState.COMPLETE.value

    @property
    def finished(self) -> np.ndarray:
        return np.isin(self.state, ["COMPLETE", "PRUNED", "FAIL"])

    @property
    def usable(self) -> np.ndarray:
        return self.complete & np.isfinite(self.y)

    @property
    def failed(self) -> np.ndarray:
        return (self.state == TrialState.FAIL.value) | (self.complete & ~np.isfinite(self.y))

    @property
    def sampled(self) -> np.ndarray:
        return self.state != TrialState.WAITING.value

    def column(self, name: str) -> list[Any]:
        """Raw values of a parameter (``_MISSING`` where inactive), extracted once."""
        key = ("raw", name)
        if key not in self._cache:
            self._cache[key] = [t.params.get(name, _MISSING) for t in self.trials]
        return self._cache[key]

    def numeric(self, name: str) -> np.ndarray:
        key = ("num", name)
        if key not in self._cache:
            self._cache[key] = _numeric_column(self.column(name))
        return self._cache[key]


def _build_run(exp: Experiment, objective: str) -> _Run:
    trials = exp.trials
    direction = exp.objectives[objective]
    numbers = np.fromiter((t.number for t in trials), dtype=np.int64, count=len(trials))
    state = np.array([t.state.value for t in trials], dtype=object).astype(str) if trials else np.array([], dtype=str)
    y = np.fromiter((t.values.get(objective, math.nan) for t in trials), dtype=float, count=len(trials))
    loss = y if direction == "min" else -y
    return _Run(exp, trials, objective, direction, numbers, state, y, loss)


def _running_best(loss: np.ndarray) -> np.ndarray:
    """Running minimum ignoring NaN (inf until the first finite value)."""
    return np.minimum.accumulate(np.where(np.isfinite(loss), loss, np.inf)) if loss.size else loss


def _unorient(best: np.ndarray, direction: str) -> np.ndarray:
    out = np.where(np.isfinite(best), best, np.nan)
    return out if direction == "min" else -out


# --------------------------------------------------------------------------- curves


def _best_so_far(run: _Run) -> pd.Series:
    fin = run.finished
    loss = np.where(run.usable, run.loss, np.nan)[fin]
    best = _unorient(_running_best(loss), run.direction)
    return pd.Series(best, index=pd.Index(run.numbers[fin], name="trial"), name=run.objective, dtype=float)


def _best_so_far_time(run: _Run) -> pd.Series | None:
    if not run.trials:
        return None
    started = np.array([_timestamp(t.started) for t in run.trials])
    ended = np.array([_timestamp(t.finished) for t in run.trials])
    ok = run.finished & np.isfinite(ended)
    if not ok.any():
        return None
    origin = np.nanmin(np.concatenate([started[np.isfinite(started)], ended[ok]]))
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((run.numbers[idx], ended[idx]))]
    loss = np.where(run.usable, run.loss, np.nan)[idx]
    best = _unorient(_running_best(loss), run.direction)
    return pd.Series(best, index=pd.Index(ended[idx] - origin, name="seconds"), name=run.objective, dtype=float)


def _hv_2d(front: np.ndarray) -> float:
    """Hypervolume of 2-D points (minimization) against the reference (1, 1)."""
    f = front[np.argsort(front[:, 0], kind="stable")]
    # Non-dominated points sorted by f1 have decreasing f2; each owns the slab up to the next f1.
    nxt = np.append(f[1:, 0], 1.0)
    return float(np.sum((nxt - f[:, 0]) * (1.0 - f[:, 1])))


def _hypervolume(exp: Experiment, run: _Run, seed: int) -> pd.Series | None:
    if len(exp.objectives) < 2:
        return None
    fin = run.finished
    cols = []
    for name, direction in exp.objectives.items():
        v = np.fromiter((t.values.get(name, math.nan) for t in run.trials), dtype=float, count=len(run.trials))
        cols.append(v if direction == "min" else -v)
    F = np.column_stack(cols)[fin] if run.trials else np.empty((0, len(cols)))
    ok = run.complete[fin] & np.all(np.isfinite(F), axis=1)
    index = pd.Index(run.numbers[fin], name="trial")
    hv = np.zeros(int(fin.sum()))
    if ok.any():
        lo, hi = F[ok].min(axis=0), F[ok].max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        G = np.clip((F - lo) / span, 0.0, 1.0)
        d = G.shape[1]
        pos = np.flatnonzero(ok)
        if d == 2:
            front = np.empty((0, 2))
            current = 0.0
            last = 0
            for i in pos:
                p = G[i]
                hv[last:i] = current
                last = i
                if front.size and np.any(np.all(front <= p, axis=1)):
                    continue  # dominated (or equal): the volume is unchanged
                keep = ~np.all(p <= front, axis=1)
                front = np.vstack([front[keep], p])
                current = _hv_2d(front)
            hv[last:] = current
        else:
            rng = np.random.default_rng(seed)
            S = rng.random((HV_MC_SAMPLES, d))
            first = np.full(HV_MC_SAMPLES, np.inf)
            for i in pos:
                free = ~np.isfinite(first)
                if not free.any():
                    break
                dom = np.all(S[free] >= G[i], axis=1)
                sel = np.flatnonzero(free)[dom]
                first[sel] = i
            # Fraction of samples dominated by a trial at or before each position.
            counts = np.bincount(first[np.isfinite(first)].astype(np.int64), minlength=hv.size)
            hv = np.cumsum(counts[: hv.size]) / HV_MC_SAMPLES
    return pd.Series(hv, index=index, name="hypervolume", dtype=float)


# --------------------------------------------------------------------------- findings


def _too_few(run: _Run, n_usable: int, n_params: int) -> Finding | None:
    if n_usable >= MIN_TRIALS:
        return None
    n = len(run.trials)
    others = []
    for state, label in (("FAIL", "failed"), ("PRUNED", "pruned"), ("RUNNING", "running"), ("WAITING", "waiting")):
        k = int(np.sum(run.state == state))
        if k:
            others.append(f"{k} {label}")
    nan = int(np.sum(run.complete & ~np.isfinite(run.y)))
    if nan:
        others.append(f"{nan} without a finite value")
    detail = f" ({', '.join(others)})" if others else ""
    per_param = TRIALS_PER_PARAM * max(n_params, 1)
    if n == 0:
        seen = "The experiment has no trials yet."
    else:
        seen = f"Only {n_usable} of {n} trials finished with a finite value{detail}."
    msg = (f"{seen} The progress findings need at least {MIN_TRIALS}, and importance analysis "
           f"typically about {TRIALS_PER_PARAM} per parameter ({per_param} for {n_params} parameters). "
           f"Run more trials before drawing conclusions.")
    return Finding("too-few-trials", "problem" if n_usable == 0 else "warning", msg, (),
                   {"n_usable": float(n_usable), "n_trials": float(n), "needed": float(MIN_TRIALS),
                    "needed_for_importance": float(per_param)})


def _window(n: int) -> int:
    return max(WINDOW_MIN_TRIALS, int(math.ceil(WINDOW_FRACTION * n)))


def _progress(run: _Run, n_usable: int) -> list[Finding]:
    """no-improvement and still-improving (mutually exclusive by their thresholds)."""
    if n_usable < MIN_TRIALS:
        return []
    fin = run.finished
    numbers = run.numbers[fin]
    b = _running_best(np.where(run.usable, run.loss, np.nan)[fin])
    n = b.size
    f0 = int(np.argmax(np.isfinite(b)))
    final = b[-1]
    total = b[f0] - final
    W = _window(n)
    ref = b[max(n - 1 - W, f0)]
    gain = ref - final
    sign = 1.0 if run.direction == "min" else -1.0
    best_trial = int(numbers[int(np.argmax(b <= final))])
    if total <= 0 or gain <= NO_IMPROVEMENT_TOL * total:
        tol = NO_IMPROVEMENT_TOL * total
        i_reach = int(np.argmax(b <= final + tol))
        since = n - 1 - i_reach
        rel = (b[i_reach] - final) / total if total > 0 else 0.0
        msg = (f"The best value ({_fmt(sign * final)}, trial {best_trial}) has not improved meaningfully for "
               f"the last {since} of {n} finished trials ({_pct(since / n)} of the budget): the last gain "
               f"of at least {_pct(NO_IMPROVEMENT_TOL)} of the total improvement came at trial "
               f"{int(numbers[i_reach])}, and everything since added {_pct(rel)}. More of the same search is "
               f"unlikely to pay: stop here, or start a new round with a refined space (hpviz.suggest_space) "
               f"or a different sampler.")
        return [Finding("no-improvement", "warning", msg, (), {
            "last_improvement_trial": float(numbers[i_reach]), "best_trial": float(best_trial),
            "trials_since": float(since), "fraction_since": since / n, "relative_gain_since": float(rel),
            "window": float(W), "best_value": float(sign * final)})]
    if gain >= STILL_IMPROVING_GAIN * total:
        window_b = b[n - W:]
        improvements = int(np.sum(np.diff(np.concatenate([[ref], window_b])) < 0))
        msg = (f"The best value was still improving at the end: over the last {W} of {n} finished trials it "
               f"went from {_fmt(sign * ref)} to {_fmt(sign * final)} ({improvements} improvement{'s' if improvements != 1 else ''}), "
               f"{_pct(gain / total)} of all the improvement since the first trial. The search has not "
               f"converged: more trials are likely to pay (e.g. another {W}-{n // 2 if n // 2 > W else 2 * W} "
               f"trials), then diagnose again.")
        return [Finding("still-improving", "info", msg, (), {
            "relative_gain_last_window": float(gain / total), "window": float(W),
            "improvements_in_window": float(improvements), "best_trial": float(best_trial),
            "best_value": float(sign * final)})]
    return []


def _random_order(run: _Run, n_usable: int, seed: int) -> tuple[Finding | None, pd.DataFrame | None]:
    if n_usable < MIN_TRIALS:
        return None, None
    use = run.usable
    z = run.loss[use]
    n = z.size
    half = n // 2
    early, late = z[:half], z[half:]
    # One-sided: are late values smaller (better) than early ones?
    p_better = float(stats.mannwhitneyu(late, early, alternative="less").pvalue)
    p_worse = float(stats.mannwhitneyu(late, early, alternative="greater").pvalue)
    n_perm = N_PERMUTATIONS
    rng = np.random.default_rng(seed)
    observed = np.minimum.accumulate(z)
    area_obs = observed.mean()
    # The band is kept at up to MAX_BAND_POINTS positions (always including the last).
    keep = np.unique(np.linspace(0, n - 1, min(n, MAX_BAND_POINTS)).round().astype(np.int64))
    area_perm = np.empty(n_perm)
    kept = np.empty((n_perm, keep.size))
    rows = max(1, _CELLS // n)  # permutations per block: bounded memory for any run length
    for start in range(0, n_perm, rows):
        stop = min(n_perm, start + rows)
        curves = np.minimum.accumulate(rng.permuted(np.broadcast_to(z, (stop - start, n)), axis=1), axis=1)
        area_perm[start:stop] = curves.mean(axis=1)
        kept[start:stop] = curves[:, keep]
    # Small when the observed curve reaches good values sooner than random orderings do.
    p_curve = float((1 + np.sum(area_perm <= area_obs + 1e-12 * abs(area_obs))) / (n_perm + 1))
    q = np.quantile(kept, [0.05, 0.5, 0.95], axis=0)
    sign = 1.0 if run.direction == "min" else -1.0
    if sign < 0:
        q = -q[::-1]
    band = pd.DataFrame({"low": q[0], "median": q[1], "high": q[2]},
                        index=pd.Index(run.numbers[use][keep], name="trial"))
    if p_better < ALPHA or p_curve < ALPHA:
        return None, band
    med_e, med_l = float(np.median(sign * early)), float(np.median(sign * late))
    direction_hint = ""
    if p_worse < ALPHA:
        direction_hint = (f" Later trials are even significantly worse (p = {p_worse:.2g}): check that the "
                          f"direction ('{run.direction}') matches the objective.")
    msg = (f"Later trials are not better than earlier ones: median {_fmt(med_l)} over the last {late.size} "
           f"trials vs {_fmt(med_e)} over the first {early.size} (one-sided Mann-Whitney p = {p_better:.2g}), "
           f"and the best-so-far curve is no better than the same {n} values in random order (permutation "
           f"p = {p_curve:.2g}, {n_perm} permutations).{direction_hint} For a random search this is expected; "
           f"for a model-based sampler it means it is not learning from the results: check that the objective "
           f"is not dominated by noise, give the sampler more startup trials or a narrower space "
           f"(hpviz.suggest_space), or try another sampler.")
    return Finding("not-better-than-random", "warning", msg, (), {
        "p_value": p_better, "p_value_curve": p_curve, "p_value_worse": p_worse,
        "n_early": float(early.size), "n_late": float(late.size), "median_early": med_e, "median_late": med_l,
        "n_permutations": float(n_perm)}), band


def _search_positions(run: _Run, name: str, param: Float | Int) -> tuple[np.ndarray, np.ndarray]:
    """(raw values, position on the search scale normalized so low -> 0, high -> 1); NaN where unusable."""
    raw = run.numeric(name)
    lo, hi = param.search_bounds
    with np.errstate(invalid="ignore", divide="ignore"):
        s = param.to_search_scale(raw)
    u = (s - lo) / (hi - lo)
    u = np.where(np.isfinite(u), u, np.nan)
    return raw, u


def _numeric_params(exp: Experiment) -> list[tuple[str, Float | Int]]:
    return [(k, p) for k, p in exp.space.items() if isinstance(p, (Float, Int))]


def _boundary(run: _Run, n_usable: int) -> Finding | None:
    if n_usable < MIN_TRIALS:
        return None
    use = np.flatnonzero(run.usable)
    k = max(TOP_MIN, int(math.ceil(TOP_FRACTION * use.size)))
    top = use[np.argsort(run.loss[use], kind="stable")[:k]]
    hits: list[tuple[str, str, float, int, int, Float | Int]] = []
    evidence: dict[str, float] = {"n_top": float(k), "edge_fraction": EDGE_FRACTION}
    for name, p in _numeric_params(run.exp):
        levels = _levels(p)
        if levels is not None and levels < MIN_LEVELS:
            continue
        raw, u = _search_positions(run, name, p)
        raw_t, u_t = raw[top], u[top]
        active = np.isfinite(u_t)
        m = int(active.sum())
        if m < TOP_MIN:
            continue
        # Beyond the bound counts as at the edge; so does the last level of a step grid.
        at_low = (u_t[active] <= EDGE_FRACTION) | (raw_t[active] <= p.low)
        at_high = (u_t[active] >= 1.0 - EDGE_FRACTION) | (raw_t[active] >= _top_level(p))
        for side, at in (("low", at_low), ("high", at_high)):
            frac = float(at.mean())
            if frac >= BOUNDARY_FRACTION:
                hits.append((name, side, frac, int(at.sum()), m, p))
                evidence[f"{name}.{side}"] = frac
    if not hits:
        return None
    parts = []
    for name, side, frac, cnt, m, p in hits:
        lo, hi = p.search_bounds
        edge = float(p.from_search_scale(lo + EDGE_FRACTION * (hi - lo) if side == "low"
                                         else hi - EDGE_FRACTION * (hi - lo)))
        scale = "log " if p.log else ""
        bound = p.low if side == "low" else p.high
        parts.append(f"{name}: {cnt} of the {m} best trials ({_pct(frac)}) are at the {'lower' if side == 'low' else 'upper'} "
                     f"edge of its range ({'<=' if side == 'low' else '>='} {_fmt(edge)}, the outer "
                     f"{_pct(EDGE_FRACTION)} on the {scale}search scale; bound {_fmt(bound)}): extend it "
                     f"{'below' if side == 'low' else 'above'} {_fmt(bound)}")
    msg = ("The best trials cluster at the edge of a range, so the optimum may lie outside it. "
           + "; ".join(parts) + ". Widen the range on that side in the next round (hpviz.suggest_space proposes it).")
    params = tuple(dict.fromkeys(h[0] for h in hits))
    return Finding("best-at-boundary", "warning", msg, params, evidence)


def _collapsed(run: _Run, n_usable: int) -> Finding | None:
    if n_usable < MIN_TRIALS:
        return None
    b_all = _running_best(np.where(run.usable, run.loss, np.nan))
    final = b_all[-1]
    first = b_all[np.isfinite(b_all)]
    total = (first[0] - final) if first.size else 0.0
    sign = 1.0 if run.direction == "min" else -1.0
    hits = []
    evidence: dict[str, float] = {}
    samp = np.flatnonzero(run.sampled)
    for name, p in _numeric_params(run.exp):
        levels = _levels(p)
        if isinstance(p, Int) and (levels or 0) < COLLAPSE_MIN_LEVELS:
            continue
        raw, u = _search_positions(run, name, p)
        idx = samp[np.isfinite(u[samp])]
        if idx.size < MIN_TRIALS:
            continue
        tail = max(WINDOW_MIN_TRIALS, int(math.ceil(COLLAPSE_TAIL_FRACTION * idx.size)))
        ut = u[idx[-tail:]]
        q10, q50, q90 = np.quantile(ut, [0.1, 0.5, 0.9])
        width = float(q90 - q10)
        if width >= COLLAPSE_WIDTH:
            continue
        inside = (np.abs(u[idx] - q50) <= COLLAPSE_WIDTH).astype(float)
        suffix = np.cumsum(inside[::-1])[::-1] / np.arange(idx.size, 0, -1)
        # The collapse starts at a sample inside the region (not at an outlier before it).
        onset_pos = int(np.argmax((suffix >= COLLAPSE_INSIDE) & (inside > 0)))
        onset = int(idx[onset_pos])
        # Best value when the collapse began vs at the end: no gain since -> locked in while poor.
        before = b_all[:onset]
        b_onset = before[-1] if before.size else np.inf
        gain_after = (b_onset - final) / total if (total > 0 and np.isfinite(b_onset)) else 0.0
        locked = gain_after < NO_IMPROVEMENT_TOL
        center = float(p.from_search_scale(p.search_bounds[0] + q50 * (p.search_bounds[1] - p.search_bounds[0])))
        hits.append((name, width, int(run.numbers[onset]), (idx.size - onset_pos) / idx.size, center, locked,
                     tail, b_onset))
        evidence[f"{name}.width"] = width
        evidence[f"{name}.onset_trial"] = float(run.numbers[onset])
        evidence[f"{name}.fraction_after_onset"] = (idx.size - onset_pos) / idx.size
        evidence[f"{name}.center"] = center
        evidence[f"{name}.gain_after_onset"] = float(gain_after)
    if not hits:
        return None
    parts = []
    for name, width, onset, frac, center, locked, tail, b_onset in hits:
        what = (f"{name}: the last {tail} samples span only {_pct(width)} of its range (10th-90th percentile), "
                f"around {_fmt(center)}; from trial {onset} on ({_pct(frac)} of the run) 90% of the samples stay "
                f"within {_pct(COLLAPSE_WIDTH)} of the range of that value")
        if locked:
            what += (", and the best value has not improved since" +
                     (f" (still {_fmt(sign * b_onset)})" if np.isfinite(b_onset) else ""))
        parts.append(what)
    any_locked = any(h[5] for h in hits)
    advice = ("The sampler locked in while the objective was no longer improving: increase exploration "
              "(more random startup trials, e.g. TPESampler(n_startup_trials=...), a larger CMA-ES sigma0, or a "
              "restart), and check that the objective really depends on these parameters."
              if any_locked else
              "The sampler is converging on one small region; if the objective is still improving there this is "
              "normal exploitation, otherwise widen the exploration (more random startup trials, a larger CMA-ES "
              "sigma0) or fix the parameter and spend the budget on the others.")
    msg = "Exploration collapsed. " + "; ".join(parts) + ". " + advice
    return Finding("collapsed-exploration", "warning" if any_locked else "info", msg,
                   tuple(h[0] for h in hits), evidence)


def _config_codes(run: _Run) -> np.ndarray | None:
    """Integer matrix (trials x params): equal rows are the same configuration after rounding."""
    params = run.exp.space
    if not params or not run.trials:
        return None
    n = len(run.trials)
    K = np.empty((n, len(params)), dtype=np.int64)
    inactive = np.iinfo(np.int64).min
    for j, (name, p) in enumerate(params.items()):
        raw = run.column(name)
        if isinstance(p, Categorical):
            codes: dict[Any, int] = {}
            K[:, j] = [inactive if v is _MISSING else codes.setdefault(choice_key(v), len(codes)) for v in raw]
            continue
        x = run.numeric(name)
        if p.step is not None:
            with np.errstate(invalid="ignore"):
                grid = np.round((x - p.low) / p.step)
        else:
            lo, hi = p.search_bounds
            with np.errstate(invalid="ignore", divide="ignore"):
                grid = np.round((p.to_search_scale(x) - lo) / (hi - lo) * 1e9)
        ok = np.isfinite(grid) & (np.abs(grid) < 2**62)
        K[:, j] = np.where(ok, np.where(ok, grid, 0).astype(np.int64), inactive)
    return K


def _duplicates(run: _Run) -> Finding | None:
    K = _config_codes(run)
    if K is None:
        return None
    rows = np.flatnonzero(run.sampled)
    if rows.size < 2:
        return None
    _, inverse, counts = np.unique(K[rows], axis=0, return_inverse=True, return_counts=True)
    extra = int(rows.size - counts.size)
    if extra < DUPLICATE_MIN_EXTRA:
        return None
    repeated = int(np.sum(counts > 1))
    most = int(counts.max())
    frac = extra / rows.size
    example = rows[np.flatnonzero(inverse.ravel() == int(np.argmax(counts)))]
    ex_numbers = ", ".join(str(int(run.numbers[i])) for i in example[:5]) + (", ..." if example.size > 5 else "")
    size = 1
    for p in run.exp.space.values():
        levels = len(p.choices) if isinstance(p, Categorical) else _levels(p)
        if levels is None:
            size = 0
            break
        size *= levels
    space_note = ""
    if size:
        space_note = (f" The space has only {size} distinct configurations: search it exhaustively "
                      f"(e.g. Optuna's GridSampler) or stop at {size} trials.")
    msg = (f"{extra} of {rows.size} trials ({_pct(frac)}) repeated a configuration already evaluated "
           f"({repeated} configurations were evaluated more than once, one of them {most} times: trials "
           f"{ex_numbers}).{space_note} Unless the objective is noisy and repeats are intended, this wastes "
           f"budget: make discrete parameters finer or continuous, or skip known configurations (Optuna: "
           f"check study.trials before evaluating).")
    evidence = {"n_duplicate_trials": float(extra), "fraction": frac, "n_repeated_configs": float(repeated),
                "max_repeats": float(most)}
    if size:
        evidence["n_distinct_possible"] = float(size)
    return Finding("duplicate-configs", "warning" if frac >= DUPLICATE_WARN_FRACTION else "info", msg, (), evidence)


def _failure_associations(run: _Run, fin: np.ndarray, failed: np.ndarray) -> list[tuple[float, str, str, dict]]:
    """Parameter regions where failures concentrate: (p, name, sentence, evidence)."""
    out = []
    space = run.exp.space
    tests = max(len(space), 1)
    for name, p in space.items():
        if isinstance(p, Categorical):
            keys = np.array([-1 if v is _MISSING else p.index(v) for v in run.column(name)])[fin]
            act = keys >= 0
            f, k = failed[act], keys[act]
            nf, no = int(f.sum()), int((~f).sum())
            if nf < FAILURE_MIN_COUNT or no < 1:
                continue
            best = None
            for c in np.unique(k):
                a, b = int(np.sum(f & (k == c))), int(np.sum(~f & (k == c)))
                diff = a / nf - b / no
                if best is None or diff > best[0]:
                    best = (diff, c, a, b)
            if best is None or best[0] <= 0:
                continue
            _, c, a, b = best
            pval = float(stats.fisher_exact([[a, nf - a], [b, no - b]], alternative="greater").pvalue)
            sentence = (f"{_pct(a / nf)} of failures have {name} = {p.choices[c]!r} "
                        f"(vs {_pct(b / no)} of the other trials)")
            ev = {f"{name}.fail_share": a / nf, f"{name}.other_share": b / no, f"{name}.p_value": pval}
        else:
            x = run.numeric(name)[fin]
            act = np.isfinite(x)
            xs, f = x[act], failed[act]
            nf, no = int(f.sum()), int((~f).sum())
            if nf < FAILURE_MIN_COUNT or no < 1:
                continue
            order = np.argsort(xs, kind="stable")
            xs, f = xs[order], f[order]
            cf = np.cumsum(f) / nf
            co = np.cumsum(~f) / no
            # Split only between distinct values (the last index of each tie group).
            last = np.append(xs[1:] != xs[:-1], True)
            diff = np.where(last, cf - co, 0.0)
            i_low, i_high = int(np.argmax(diff)), int(np.argmin(diff))
            if diff[i_low] >= -diff[i_high]:
                share_f, share_o = cf[i_low], co[i_low]
                sentence = f"{_pct(share_f)} of failures have {name} <= {_fmt(xs[i_low])}"
            else:
                share_f, share_o = 1.0 - cf[i_high], 1.0 - co[i_high]
                sentence = f"{_pct(share_f)} of failures have {name} > {_fmt(xs[i_high])}"
            sentence += f" (vs {_pct(share_o)} of the other trials)"
            pval = float(stats.ks_2samp(xs[f], xs[~f]).pvalue)
            ev = {f"{name}.fail_share": float(share_f), f"{name}.other_share": float(share_o),
                  f"{name}.threshold": float(xs[i_low] if diff[i_low] >= -diff[i_high] else xs[i_high]),
                  f"{name}.p_value": pval}
        if pval * tests < FAILURE_ASSOC_ALPHA:
            out.append((pval, name, sentence, ev))
    out.sort(key=lambda t: t[0])
    return out


def _failures(run: _Run) -> Finding | None:
    fin = run.finished
    n_fin = int(fin.sum())
    failed_all = run.failed
    n_failed = int(np.sum(failed_all & fin))
    if n_fin == 0 or n_failed == 0:
        return None
    rate = n_failed / n_fin
    if rate < FAILURE_RATE or (n_failed < FAILURE_MIN_COUNT and n_failed < n_fin):
        return None
    n_state = int(np.sum(run.state == TrialState.FAIL.value))
    n_nan = n_failed - n_state
    failed = failed_all[fin]
    assoc = _failure_associations(run, fin, failed) if n_failed < n_fin else []
    evidence: dict[str, float] = {"n_failed": float(n_failed), "n_finished": float(n_fin), "failure_rate": rate,
                                  "n_fail_state": float(n_state), "n_nan": float(n_nan)}
    for *_, ev in assoc:
        evidence.update(ev)
    kinds = ", ".join(s for s in (f"{n_state} FAIL" if n_state else "", f"{n_nan} NaN/inf" if n_nan else "") if s)
    msg = f"{n_failed} of {n_fin} finished trials ({_pct(rate)}) failed or returned no finite value ({kinds}). "
    if n_failed == n_fin:
        msg += ("Every trial failed: the objective itself is broken (read the exception of one failed trial) "
                "before any tuning can happen.")
    elif assoc:
        msg += ("Failures concentrate in part of the space: " + "; ".join(a[2] for a in assoc[:3]) + ". "
                "Exclude that region in the next round (or make the objective robust there, e.g. gradient "
                "clipping for a large learning rate), and read the errors of a few of those trials.")
    else:
        msg += ("They do not concentrate in any parameter region: look at the errors of the failed trials "
                "(infrastructure, memory, timeouts, numerical overflow).")
    return Finding("high-failure-rate", "problem" if rate >= FAILURE_PROBLEM_RATE else "warning", msg,
                   tuple(a[1] for a in assoc), evidence)


def _log_curve(trial: Trial, objective: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, values) of the trial's log for the objective (or 'value'), sorted by step."""
    pts = trial.log.points() if trial.log is not None else []
    if not pts:
        return None
    keys = pts[-1][1]
    metric = objective if objective in keys or objective in pts[0][1] else "value"
    vals = [d.get(metric, math.nan) for _, d in pts]
    steps = [s for s, _ in pts]
    try:
        v = np.asarray(vals, dtype=float)
        s = np.asarray(steps, dtype=float)
    except (TypeError, ValueError):
        v = _numeric_column(vals)
        s = _numeric_column(steps)
    ok = np.isfinite(s) & np.isfinite(v)
    if not ok.any():
        return None
    s, v = s[ok], v[ok]
    if s.size > 1 and np.any(s[1:] < s[:-1]):
        order = np.argsort(s, kind="stable")
        s, v = s[order], v[order]
    return s, v


def _pruning(run: _Run, seed: int) -> tuple[Finding | None, pd.Series | None, float | None]:
    logged = [i for i, t in enumerate(run.trials) if t.log is not None and len(t.log) > 0
              and t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if len(logged) < PRUNE_MIN_TRIALS:
        return None, None, None
    sampled_note = ""
    if len(logged) > MAX_CURVE_TRIALS:
        rng = np.random.default_rng(seed)
        logged = sorted(rng.choice(logged, MAX_CURVE_TRIALS, replace=False).tolist())
        sampled_note = f" (estimated from a random sample of {MAX_CURVE_TRIALS} logged trials)"
    curves, idx = [], []
    for i in logged:
        c = _log_curve(run.trials[i], run.objective)
        if c is not None:
            curves.append(c)
            idx.append(i)
    if not curves:
        return None, None, None
    idx_a = np.asarray(idx)
    last_step = np.array([c[0][-1] for c in curves])
    complete = run.complete[idx_a]
    final = np.array([run.y[i] if np.isfinite(run.y[i]) else c[1][-1] for i, c in zip(idx_a, curves)])
    if not complete.any():
        return None, None, None
    max_step = last_step[complete].max()
    full = complete & (last_step >= max_step) & np.isfinite(final)
    stopped = ~complete
    if full.sum() < PRUNE_MIN_TRIALS:
        # Lengths vary: take every COMPLETE trial as having run to its end.
        full = complete & np.isfinite(final)
    else:
        stopped = stopped | (complete & ~full)  # e.g. Ray ASHA stops end TERMINATED, shorter
    if full.sum() < PRUNE_MIN_TRIALS:
        return None, None, None
    full_pos = np.flatnonzero(full)
    steps = np.unique(np.concatenate([curves[k][0] for k in full_pos]))
    if steps.size > MAX_GRID_STEPS:
        steps = np.unique(steps[np.round(np.linspace(0, steps.size - 1, MAX_GRID_STEPS)).astype(int)])
    V = np.full((full_pos.size, steps.size), np.nan)
    for r, k in enumerate(full_pos):
        s, v = curves[k]
        at = np.searchsorted(s, steps, side="right") - 1  # the last value logged at or before each step
        V[r] = np.where(at >= 0, v[np.clip(at, 0, None)], np.nan)
    fv = final[full_pos]
    corr = np.full(steps.size, np.nan)
    for g in range(steps.size):
        ok = np.isfinite(V[:, g])
        if ok.sum() >= PRUNE_MIN_TRIALS and np.ptp(V[ok, g]) > 0 and np.ptp(fv[ok]) > 0:
            corr[g] = stats.spearmanr(V[ok, g], fv[ok]).statistic
    series = pd.Series(corr, index=pd.Index(steps, name="step"), name="spearman")
    finite = np.isfinite(corr)
    if not finite.any():
        return None, series, None
    bad = finite & (corr < RELIABLE_CORRELATION)
    reliable = None
    if not bad[finite][-1]:
        after = np.flatnonzero(bad)
        start = after[-1] + 1 if after.size else int(np.argmax(finite))
        reliable = float(steps[start])
    stop_steps = last_step[stopped]
    if stop_steps.size == 0 or not bad.any():
        return None, series, reliable
    early = stop_steps < reliable if reliable is not None else np.ones(stop_steps.size, bool)
    frac = float(early.mean())
    if frac < PRUNE_BEFORE_FRACTION:
        return None, series, reliable
    med = float(np.median(stop_steps[early]))
    g_med = int(np.clip(np.searchsorted(steps, med, side="right") - 1, 0, steps.size - 1))
    corr_med = float(corr[g_med]) if np.isfinite(corr[g_med]) else float(np.nanmin(corr))
    evidence = {"n_full_trials": float(full.sum()), "n_stopped": float(stop_steps.size),
                "n_stopped_before_reliable": float(early.sum()), "fraction_stopped_before_reliable": frac,
                "median_stop_step": med, "correlation_at_median_stop": corr_med,
                "min_correlation": float(np.nanmin(corr))}
    if reliable is not None:
        evidence["reliable_step"] = reliable
    for g in np.unique(np.round(np.linspace(0, steps.size - 1, min(8, steps.size))).astype(int)):
        if np.isfinite(corr[g]):
            evidence[f"correlation_at_step_{_fmt(steps[g])}"] = float(corr[g])
    when = (f"it reaches {RELIABLE_CORRELATION} and stays there only from step {_fmt(reliable)}"
            if reliable is not None else f"it never stays at or above {RELIABLE_CORRELATION}")
    advice = (f"Start pruning later (Optuna: n_warmup_steps={_fmt(reliable)} or a larger min_resource; "
              f"Ray ASHA: grace_period={_fmt(reliable)})" if reliable is not None
              else "Prune much later or not at all")
    msg = (f"Early values rank trials poorly: over the {int(full.sum())} trials that ran to the end, the Spearman "
           f"correlation between the value at step {_fmt(med)} and the final value is {corr_med:.2f}, and "
           f"{when}. Yet {int(early.sum())} of {stop_steps.size} stopped trials ({_pct(frac)}) were stopped "
           f"before that (median step {_fmt(med)}){sampled_note}, so early stopping is likely killing trials that "
           f"would have ended among the best. {advice}, or use a more patient pruner (e.g. Optuna's "
           f"PatientPruner or a lower reduction factor).")
    return Finding("pruner-misranks", "warning", msg, (), evidence), series, reliable


# --------------------------------------------------------------------------- entry point


def diagnose(obj: Any, objective: str | None = None, *, seed: int = 0) -> Diagnosis:
    """Diagnose the progress of a search and the configuration of its algorithm.

    Parameters
    ----------
    obj:
        An :class:`hpviz.Experiment` or anything :func:`hpviz.experiment` accepts.
    objective:
        Objective to diagnose (default: the primary one).
    seed:
        Seed of the permutation test, the log subsample and the Monte Carlo
        hypervolume; equal seeds give equal results.

    Returns
    -------
    Diagnosis
        ``best_so_far`` (and over time, hypervolume) and the findings, most
        serious first. Failed, pruned, NaN and running trials are accounted
        for; an empty experiment yields only ``too-few-trials``.

    Raises
    ------
    SchemaError
        ``objective`` is not an objective of the experiment.
    UnsupportedObjectError
        ``obj`` cannot be converted to an Experiment.
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    run = _build_run(exp, objective)
    n_usable = int(run.usable.sum())
    findings: list[Finding] = []
    too_few = _too_few(run, n_usable, len(exp.space))
    if too_few is not None:
        findings.append(too_few)
    failure = _failures(run)
    if failure is not None:
        findings.append(failure)
    random_finding, band = _random_order(run, n_usable, seed)
    if random_finding is not None:
        findings.append(random_finding)
    findings.extend(_progress(run, n_usable))
    prune_finding, step_corr, reliable = _pruning(run, seed)
    if prune_finding is not None:
        findings.append(prune_finding)
    for f in (_boundary(run, n_usable), _collapsed(run, n_usable), _duplicates(run)):
        if f is not None:
            findings.append(f)
    findings.sort(key=lambda f: (_SEVERITY_RANK[f.severity], _CODE_RANK[f.code]))
    counts = exp.count_by_state()
    return Diagnosis(
        objective=objective,
        direction=run.direction,
        n_trials=len(run.trials),
        counts=counts,
        n_usable=n_usable,
        n_nan=int(np.sum(run.complete & ~np.isfinite(run.y))),
        findings=tuple(findings),
        best_so_far=_best_so_far(run),
        best_so_far_time=_best_so_far_time(run),
        hypervolume=_hypervolume(exp, run, seed),
        random_band=band,
        step_correlation=step_corr,
        reliable_step=reliable,
    )
