"""Budget-fair comparison: expected best score as a function of the number of trials.

Comparing the best score of experiment A after 200 trials with that of B
after 30 favours A for its budget, not its merit. The expected best score
after ``n`` trials (the "expected validation performance" of Dodge et al.,
*Show Your Work*, EMNLP 2019) puts both on one axis of trials.

Estimators (closed form over the order statistics ``y_(1) <= ... <= y_(N)``
of the N observed scores, oriented so that larger is better):

- ``"v"`` (default), with replacement, the V-statistic of Dodge et al. 2019:
  ``E_n = sum_i y_(i) [(i/N)^n - ((i-1)/N)^n]``. Biased low for small N but
  with lower variance; Dodge et al. (Findings of EMNLP 2021, "Expected
  Validation Performance and Estimation of a Random Variable's Maximum")
  found the biased estimators make fewer wrong comparisons, hence the default.
- ``"u"``, without replacement, the U-statistic: the mean, over all subsets
  of n of the N trials, of their best: ``E_n = sum_i y_(i) C(i-1, n-1) / C(N, n)``.
  Unbiased; equals the observed best at ``n = N``.

Both are evaluated in the Abel-summed form ``E_n = y_(N) - sum_i P(max <= y_(i)) (y_(i+1) - y_(i))``,
skipping terms below ``exp(-45)``, so a curve over N = 10,000 trials costs
a few million operations, not N^2.

Band: a simultaneous Dvoretzky-Kiefer-Wolfowitz (DKW, Massart's constant)
band on the CDF of one trial's score, ``|F_hat - F| <= eps`` with
``eps = sqrt(log(2 / alpha) / (2 N))``, propagated to the expected maximum
in the spirit of Lourie et al. ("Show Your Work with Confidence", NAACL
2024): the expected maximum of n draws is monotone in the CDF, so the
highest CDF in the band gives the lower curve and the lowest the upper
curve, for every n at once. The band covers the *population* expected best
(whatever the estimator). The mass the band moves beyond the data goes to
``bounds`` (the range the score can take, e.g. ``(0, 1)`` for accuracy, used
automatically for accuracy-like objective names with values in [0, 1]);
without bounds it goes to a tail extension of the observed extremes that is
valid for tails up to a Pareto index of 3 (``hpviz.analysis._inference``).
Measured simultaneous coverage at 95%: 0.91-1.00 on normal, Pareto, uniform
and log-normal scores, N = 20-200 (``benchmarks/calibration.py``).

Comparison: :func:`compare` tests each pair at equal budgets with a
permutation max-T test over budgets (trials, seconds or steps), corrected
over pairs by Holm (default) or Benjamini-Hochberg.

Split noise: when trials carry per-split scores (``attrs["split_test_<objective>"]``,
a cross-validated search), :func:`compare` blurs every experiment's values to
one noise level before the test and never calls a difference in expected best
below that noise a win (:func:`_split_rule`; ``docs/selection.md``).

Assumption: trials are i.i.d. draws from one distribution. That is exact for
random search. For sequential (model-based) samplers the curve is the
expected best of n draws from the *pooled* distribution of everything the
sampler tried, not what the sampler would reach in n trials (usually better,
since it adapts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from hpviz._columns import orientation, rankable_trials
from hpviz._configs import config_groups
from hpviz._expected import expected_max
from hpviz._richrepr import RichResult
from hpviz._splits import SplitNoise, split_noise
from hpviz._validate import Interval, Options, check, check_int, keywords_checked
from hpviz.analysis._inference import (
    CORRECTIONS,
    PERMUTATIONS,
    TAIL_SHAPE_MAX,
    adjust,
    correction_words,
    equal_budget_test,
    tail_extension,
)
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Experiment, Trial

__all__ = ["ExpectedBest", "Comparison", "expected_best", "compare", "expected_max"]


# --------------------------------------------------------------------------- band


def _dkw_eps(level: float, n: int) -> float:
    return math.sqrt(math.log(2.0 / (1.0 - level)) / (2.0 * n))


def _curves(y: np.ndarray, ns: np.ndarray, estimator: str, level: float | None,
            bounds_y: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, lower, upper expected-max curves of sorted, larger-is-better scores ``y``."""
    N = len(y)
    F = np.arange(1, N + 1) / N
    mean = expected_max(y, F, ns, replace=estimator == "v")
    if level is None:
        nan = np.full(len(ns), np.nan)
        return mean, nan, nan.copy()
    eps = _dkw_eps(level, N)
    lo, hi = bounds_y if bounds_y is not None else tail_extension(y, int(ns[-1]), level)
    # Highest CDF in the band (mass moved down to `lo`) -> lowest expected max, and vice versa.
    lower = expected_max(np.concatenate([[lo], y]), np.concatenate([[min(1.0, eps)], np.minimum(1.0, F + eps)]), ns)
    upper = expected_max(np.concatenate([y, [hi]]), np.concatenate([np.maximum(0.0, F - eps), [1.0]]), ns)
    return mean, lower, upper


# --------------------------------------------------------------------------- expected_best


@dataclass(frozen=True, eq=False)
class ExpectedBest(RichResult):
    """Expected best score after n trials, n = 1..n_max, with a simultaneous band.

    Attributes
    ----------
    objective, direction:
        The objective and its direction; for ``"min"`` "best" is the lowest.
    estimator:
        ``"v"`` (with replacement) or ``"u"`` (without replacement).
    n:
        Budgets 1..n_max (int array).
    mean:
        Expected best score after n trials (in the objective's units).
    lower, upper:
        Simultaneous DKW band (``lower <= upper`` numerically), NaN when ``band=None``.
    band:
        Confidence level of the band, or ``None``.
    bounds:
        Range the score can take, used by the band (``None``: observed range).
    observed_best:
        Best value among the N trials used.
    n_trials:
        N, the number of COMPLETE trials with a finite value.
    seconds:
        Expected wall time of n trials run one after another (``n`` times the
        mean trial duration), or ``None`` without timestamps.
    band_method:
        One line saying what the band is, its level and its assumption.
    """

    objective: str
    direction: str
    estimator: str
    n: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    band: float | None
    bounds: tuple[float, float] | None
    observed_best: float
    n_trials: int
    seconds: np.ndarray | None = None
    band_method: str = ""

    def at(self, n: int) -> float:
        """The expected best after ``n`` trials."""
        if not 1 <= n <= len(self.n):
            raise SchemaError(f"n must be within 1..{len(self.n)}, got {n!r}")
        return float(self.mean[n - 1])

    def __repr__(self) -> str:
        return (f"ExpectedBest(objective={self.objective!r}, n_trials={self.n_trials}, "
                f"observed_best={self.observed_best:.4g}, band={self.band})")

    def to_dataframe(self) -> pd.DataFrame:
        """Columns ``n, mean, lower, upper`` (and ``seconds`` when known)."""
        data = {"n": self.n, "mean": self.mean, "lower": self.lower, "upper": self.upper}
        if self.seconds is not None:
            data["seconds"] = self.seconds
        return pd.DataFrame(data)


def _check_options(estimator: Any, band: Any) -> str:
    est = estimator.lower() if isinstance(estimator, str) else estimator
    check("estimator ('v': with replacement, 'u': without)", est, Options(("v", "u")))
    check("band (a confidence level)", band, None, Interval(float, 0.0, 1.0, "neither"))
    return est


def _scores(exp: Experiment, objective: str | None) -> tuple[str, str, list[Trial], np.ndarray]:
    objective = exp.objective(objective)
    trials = rankable_trials(exp, objective)
    if not trials:
        raise InsufficientDataError(
            f"expected_best needs at least 1 COMPLETE, feasible trial with a finite {objective!r}; "
            f"experiment {exp.name!r} has none ({len(exp)} trials in total)",
            have=0,
            need=1,
        )
    return objective, exp.objectives[objective], trials, np.array([t.values[objective] for t in trials], dtype=float)


def _expected_best(exp: Experiment, objective: str | None, estimator: str, band: float | None,
                   bounds: tuple[float, float] | None, n_max: int | None) -> ExpectedBest:
    objective, direction, trials, x = _scores(exp, objective)
    N = len(x)
    sign = 1.0 if direction == "max" else -1.0
    y = np.sort(sign * x)
    n_max = N if n_max is None else check_int("n_max", n_max, 1)
    if estimator == "u" and n_max > N:
        raise SchemaError(f"the 'u' estimator is defined up to n = N = {N} trials, got n_max={n_max}")
    bounds_y = None
    if bounds is not None:
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise SchemaError(f"bounds must be a pair (low, high), got {bounds!r}") from None
        if not (lo <= x.min() and x.max() <= hi):
            raise SchemaError(f"bounds {bounds!r} do not contain the observed {objective!r} values "
                              f"[{x.min():g}, {x.max():g}]")
        bounds = (lo, hi)
    else:
        bounds = _known_bounds(objective, x)
    if bounds is not None:
        bounds_y = (bounds[0], bounds[1]) if sign > 0 else (-bounds[1], -bounds[0])
    ns = np.arange(1, int(n_max) + 1)
    mean_y, lower_y, upper_y = _curves(y, ns, estimator, band, bounds_y)
    mean, lower, upper = (mean_y, lower_y, upper_y) if sign > 0 else (-mean_y, -upper_y, -lower_y)
    durations = np.array([t.duration for t in trials if t.duration is not None], dtype=float)
    seconds = ns * float(durations.mean()) if len(durations) else None
    for arr in (ns, mean, lower, upper, seconds):
        if arr is not None:
            arr.flags.writeable = False
    if band is None:
        method = ""
    elif bounds is not None:
        method = (f"simultaneous {band:.0%} band (DKW on the score distribution, mass beyond the data at the "
                  f"bounds {bounds[0]:g}..{bounds[1]:g}); assumes i.i.d. trials")
    else:
        method = (f"simultaneous {band:.0%} band (DKW on the score distribution plus a tail extension valid for "
                  f"tails up to Pareto index {1 / TAIL_SHAPE_MAX:g}); assumes i.i.d. trials")
    return ExpectedBest(objective, direction, estimator, ns, mean, lower, upper, band, bounds,
                        float(sign * y[-1]), N, seconds, method)



@keywords_checked
def expected_best(
    obj: Any,
    objective: str | None = None,
    *,
    estimator: str = "v",
    band: float | None = 0.95,
    bounds: tuple[float, float] | None = None,
    n_max: int | None = None,
    seed: int = 0,
) -> ExpectedBest:
    """Expected best score if only n trials had been run, for n = 1..N.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    objective:
        Objective name (default: primary). COMPLETE trials with a finite value are used.
    estimator:
        ``"v"`` (default): draws with replacement, the V-statistic of Dodge
        et al. 2019; chosen because Dodge et al. 2021 found the biased forms
        make fewer wrong comparisons. ``"u"``: without replacement, the
        unbiased U-statistic; equals the observed best at n = N.
    band:
        Confidence level of the simultaneous DKW band (see the module
        docstring), or ``None`` for no band.
    bounds:
        ``(low, high)`` the score can take (e.g. ``(0, 1)``), where the band
        puts the probability mass it moves beyond the data. Default: the
        observed range (the band is then conditional on it).
    n_max:
        Largest budget (default N). With ``"v"`` it may exceed N.
    seed:
        Unused: the estimates and the band are closed-form and deterministic.
        Accepted so all analyses share one signature.

    Returns
    -------
    ExpectedBest

    Raises
    ------
    InsufficientDataError
        No COMPLETE trial with a finite value.
    SchemaError
        Unknown objective, bad ``estimator``/``band``/``bounds``/``n_max``.

    Notes
    -----
    Assumes i.i.d. trials: exact for random search; for sequential samplers
    it is the expected best of n draws from the pooled distribution of what
    the sampler tried.
    """
    del seed
    est = _check_options(estimator, band)
    return _expected_best(_to_experiment(obj), objective, est, band, bounds, n_max)


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Segment:
    """Budgets ``n_from..n_to`` over which ``winner`` beats the other of ``a``, ``b`` (``None``: no difference)."""

    a: str
    b: str
    winner: str | None
    n_from: int
    n_to: int

    @property
    def loser(self) -> str | None:
        if self.winner is None:
            return None
        return self.b if self.winner == self.a else self.a


@dataclass(frozen=True, eq=False)
class Comparison(RichResult):
    """Several experiments compared at equal budgets.

    Attributes
    ----------
    names:
        Experiment names, in the order given.
    objective, direction:
        The objective compared (name of the first experiment's) and its direction.
    curves:
        ``name -> ExpectedBest`` (each up to its own N; bands at the
        Bonferroni-adjusted level ``1 - (1 - band) / k``, so that all k hold
        together with probability ``band``).
    n_common:
        The smallest N: budgets compared are 1..n_common.
    ranking:
        Names best first by expected best at ``n_common``.
    stable_from:
        Smallest n from which the ranking by expected best stays as at ``n_common``.
    winner:
        The experiment that beats every other (at some budget, never beaten),
        else ``None``.
    segments:
        Per pair, runs of budgets (in units of ``axis``) with the same verdict.
        "X beats Y at b" means the equal-budget permutation test declares X
        better at budget b, after the multiple-comparison correction.
    statement:
        Plain-language verdict, one sentence per pair, then the test, the axis
        and the correction.
    optimism:
        ``name -> observed best minus the mean of its top trials`` (>= 0, in
        the objective's units): how much of the observed best may be luck
        (winner's curse) if the top trials are equally good in truth.
    noise:
        ``name -> standard deviation of repeated evaluations of identical
        configurations`` (``None`` when no configuration was repeated).
    noise_level:
        That standard deviation pooled over all experiments, or ``None``.
    warnings:
        Winner's-curse, unequal-budget and within-noise warnings, in words.
    axis:
        Budget axis of the verdicts: ``"trials"``, ``"seconds"`` or ``"steps"``.
    correction:
        ``"holm"``, ``"bh"`` or ``"none"``.
    alpha:
        Error level of the verdicts (``1 - band``).
    p_values:
        ``(a, b) -> adjusted p-value`` of each pair's equal-budget test.
    split_noise:
        ``name -> SplitNoise`` (pooled split noise of its trials' per-split
        scores, ``attrs["split_test_<objective>"]``) or ``None`` without them;
        empty when no experiment has split scores.
    noise_rule:
        The split-noise rule the verdicts applied, in words ("" when none did).
    """


    names: tuple[str, ...]
    objective: str
    direction: str
    curves: Mapping[str, ExpectedBest]
    n_common: int
    ranking: tuple[str, ...]
    stable_from: int
    winner: str | None
    segments: tuple[Segment, ...]
    statement: str
    optimism: Mapping[str, float]
    noise: Mapping[str, float | None]
    noise_level: float | None
    warnings: tuple[str, ...]
    axis: str = "trials"
    correction: str = "holm"
    alpha: float = 0.05
    p_values: Mapping[tuple[str, str], float] = field(default_factory=lambda: MappingProxyType({}))
    split_noise: Mapping[str, SplitNoise | None] = field(default_factory=lambda: MappingProxyType({}))
    noise_rule: str = ""

    def __repr__(self) -> str:
        return (f"Comparison(names={list(self.names)}, n_common={self.n_common}, ranking={list(self.ranking)}, "
                f"winner={self.winner!r})")

    def to_dataframe(self) -> pd.DataFrame:
        """Long table: ``name, n, mean, lower, upper`` (and ``seconds`` when every curve has it)."""
        frames = []
        for name in self.names:
            f = self.curves[name].to_dataframe()
            f.insert(0, "name", name)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)


def _noise(exp: Experiment, trials: Sequence[Trial], objective: str) -> tuple[float, int]:
    """Within-configuration sum of squares and degrees of freedom over repeated configurations
    ("same configuration" is the rule of :mod:`hpviz._configs`)."""
    groups = config_groups(exp.all_params(), trials)
    y = np.array([t.values[objective] for t in trials], dtype=float)
    ss, df = 0.0, 0
    for g in range(int(groups.max()) + 1 if groups.size else 0):
        v = y[groups == g]
        if v.size > 1:
            ss += float(((v - v.mean()) ** 2).sum())
            df += v.size - 1
    return ss, df


def _runs(status: np.ndarray) -> list[tuple[int, int, int]]:
    """Run-length encoding of a status array: ``(value, first n, last n)`` with n 1-based."""
    cuts = np.flatnonzero(np.diff(status)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(status)]])
    return [(int(status[s]), int(s) + 1, int(e)) for s, e in zip(starts, ends)]


def _span(lo: Any, hi: Any, unit: str) -> str:
    f = (lambda v: str(v)) if unit == "trials" else (lambda v: f"{v:.4g}")
    if lo == hi:
        return f"{f(lo)} {unit[:-1] if unit == 'trials' and lo == 1 else unit}"
    return f"{f(lo)}-{f(hi)} {unit}"


def _pair_sentence(a: str, b: str, segs: list[Segment], top: Any, unit: str, p: float) -> str:
    first = segs[0].n_from
    f = (lambda v: str(v)) if unit == "trials" else (lambda v: f"{v:.4g}")
    if all(s.winner is None for s in segs):
        return (f"No difference between {a} and {b} established at any budget from {f(first)} to {f(top)} "
                f"{unit} (adjusted p = {p:.2g})")
    decided = [s for s in segs if s.winner is not None]
    if len(decided) == 1 and decided[0].n_to == top:
        s = decided[0]
        if s.n_from == first:
            return f"{s.winner} beats {s.loser} at every budget from {f(first)} to {f(top)} {unit} (adjusted p = {p:.2g})"
        return (f"{s.winner} beats {s.loser} from {f(s.n_from)} {unit} on (checked up to {f(top)}); "
                f"below that no difference is established (adjusted p = {p:.2g})")
    parts = []
    for s in segs:
        span = _span(s.n_from, s.n_to, unit)
        parts.append(f"no difference at {span}" if s.winner is None
                     else f"{s.winner} beats {s.loser} at {span}")
    return f"{a} vs {b}: " + "; ".join(parts) + f" (adjusted p = {p:.2g})"


def _names(exps: Sequence[Experiment], names: Sequence[str] | None) -> tuple[str, ...]:
    if names is not None:
        if isinstance(names, str) or len(names) != len(exps):
            raise SchemaError(f"names must be a sequence of {len(exps)} strings, got {names!r}")
        out = tuple(str(n) for n in names)
    else:
        own = [e.name for e in exps]
        letters = [chr(ord("A") + i) if i < 26 else f"E{i + 1}" for i in range(len(exps))]
        out = tuple(own) if all(own) and len(set(own)) == len(own) else tuple(letters)
    if len(set(out)) != len(out):
        raise SchemaError(f"names must be unique, got {out!r}")
    return out


# --------------------------------------------------------------------------- compare: named steps


def _resolve_objective(exps: Sequence[Experiment], labels: Sequence[str],
                       objective: str | None) -> tuple[list[str], str]:
    """The compared objective of each experiment, and their one direction."""
    resolved = [e.objective(objective) for e in exps]
    directions = {e.objectives[o] for e, o in zip(exps, resolved)}
    if len(directions) > 1:
        detail = ", ".join(f"{lab}: {o} ({e.objectives[o]})" for lab, e, o in zip(labels, exps, resolved))
        raise SchemaError(f"compare needs one direction for the compared objective; got {detail}")
    return resolved, directions.pop()


def _common_views(curves: Mapping[str, ExpectedBest], labels: Sequence[str], direction: str,
                  n_common: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, lower and upper curves over the common budgets, larger-is-better (one row per experiment)."""
    sign = -orientation(direction)
    mean = np.array([sign * curves[lab].mean[:n_common] for lab in labels])
    if sign > 0:
        low = np.array([curves[lab].lower[:n_common] for lab in labels])
        high = np.array([curves[lab].upper[:n_common] for lab in labels])
    else:
        low = np.array([-curves[lab].upper[:n_common] for lab in labels])
        high = np.array([-curves[lab].lower[:n_common] for lab in labels])
    return mean, low, high


def _ranking(mean: np.ndarray, labels: Sequence[str]) -> tuple[tuple[str, ...], int]:
    """Names best first at ``n_common``, and the smallest n from which that ranking holds."""
    order = np.argsort(-mean, axis=0, kind="stable")
    ranking = tuple(labels[i] for i in order[:, -1])
    differs = np.flatnonzero((order != order[:, -1:]).any(axis=0))
    return ranking, int(differs[-1]) + 2 if len(differs) else 1


def _verdicts(ys: Sequence[np.ndarray], costs: Sequence[np.ndarray], labels: Sequence[str], axis: str,
              correction: str, alpha: float, permutations: int, seed: int, blur: Sequence[float] | None = None,
              floor: float = 0.0) -> tuple[list[Segment], list[str], str | None, dict[tuple[str, str], float], str]:
    """Per pair, the equal-budget permutation test (corrected over pairs): segments, sentences, winner, p-values.

    ``blur``: per experiment, the SD of the noise added to its trials (:func:`_split_rule`); ``floor``: a
    budget whose difference in expected best is below it is never declared.
    """
    k = len(labels)
    blur = [0.0] * k if blur is None else blur
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    tests = [equal_budget_test(ys[i], costs[i], ys[j], costs[j], permutations=int(permutations), seed=seed,
                               blur_a=blur[i], blur_b=blur[j])
             for i, j in pairs]
    raw = np.array([t.p_value for t in tests])
    adjusted = adjust(raw, correction)
    threshold = _correction_level(adjusted, raw, alpha)
    unit = {"trials": "trials", "seconds": "s", "steps": "steps"}[axis]
    segments: list[Segment] = []
    sentences = []
    p_values: dict[tuple[str, str], float] = {}
    beats = np.zeros((k, k), dtype=bool)  # beats[i, j]: i beats j at some budget, j never beats i
    for (i, j), test, p_adj, thr in zip(pairs, tests, adjusted, threshold):
        p_values[(labels[i], labels[j])] = float(p_adj)
        status = np.where((test.p_at <= thr) & (np.abs(test.diff) >= floor), np.where(test.direction_at > 0, 1, 2), 0)
        b = test.budgets
        segs = [Segment(labels[i], labels[j], None if v == 0 else labels[i] if v == 1 else labels[j],
                        _budget(b[s - 1], axis), _budget(b[e - 1], axis))
                for v, s, e in _runs(status)]
        segments.extend(segs)
        beats[i, j] = (status == 1).any() and not (status == 2).any()
        beats[j, i] = (status == 2).any() and not (status == 1).any()
        sentence = _pair_sentence(labels[i], labels[j], segs, _budget(b[-1], axis), unit, float(p_adj))
        if floor > 0 and (test.p_at <= thr).any() and not status.any():
            sentence += f"; the test finds a difference, but smaller than the split noise ({floor:.2g})"
        sentences.append(sentence)
    winners = [labels[i] for i in range(k) if beats[i, np.arange(k) != i].all()]
    return segments, sentences, winners[0] if winners else None, p_values, correction_words(correction, alpha, len(pairs))


def _correction_level(adjusted: np.ndarray, raw: np.ndarray, alpha: float) -> np.ndarray:
    """Per pair, the raw p-value up to which its correction rejects (0 where the pair is not rejected).

    Holm and Benjamini-Hochberg both reject the pairs with the smallest raw
    p-values; a budget of a rejected pair is declared when its own max-T
    p-value is at most the largest rejected raw p-value (conservative).
    """
    rejected = adjusted <= alpha
    return np.where(rejected, float(raw[rejected].max()) if rejected.any() else 0.0, 0.0)


def _split_rule(noises: Mapping[str, SplitNoise | None], labels: Sequence[str]) -> tuple[list[float], float, str]:
    """Noise added to each experiment's trials, the floor under a declared difference, and the rule in words.

    With every experiment's split noise known, each one's trial values are
    blurred with Gaussian noise up to the largest noise of a trial's value
    ``tau*`` (the best of n noisier scores is inflated more: the winner's
    curse; equalizing removes that advantage), and a difference in expected
    best smaller than ``tau*`` is not called a win. With some unknown, nothing
    is blurred and the floor is the largest known noise.
    """
    known = {lab: n for lab, n in noises.items() if n is not None}
    if not known:
        return [0.0] * len(labels), 0.0, ""
    top = max(n.value_sd for n in known.values())
    each = "; ".join(f"{lab}: {n.words()}" if n is not None else f"{lab}: no split scores"
                     for lab, n in noises.items())
    if len(known) < len(labels):
        missing = ", ".join(lab for lab in labels if noises[lab] is None)
        return ([0.0] * len(labels), top,
                f"Split noise: {each}. Without split scores for {missing} the noise levels cannot be equalized; "
                f"a difference in expected best below {top:.2g} (the largest SD of a trial's mean score) is not "
                f"called a win.")
    blur = [math.sqrt(max(0.0, top * top - noises[lab].value_sd ** 2)) for lab in labels]
    return (blur, top,
            f"Split noise: {each}. Trials compared at one noise level: each experiment's scores blurred with "
            f"Gaussian noise up to an SD of {top:.2g} per trial (noisier scores give a higher best by luck), and "
            f"a difference in expected best below {top:.2g} is not called a win.")


def _budget(value: float, axis: str) -> Any:
    return int(round(value)) if axis == "trials" else float(value)


def _luck_and_noise(exps: Sequence[Experiment], labels: Sequence[str], resolved: Sequence[str],
                    direction: str) -> tuple[dict[str, float], dict[str, float | None], float | None]:
    """Winner's curse (observed best minus the mean of the top trials) and repeated-configuration noise."""
    sign = -orientation(direction)
    optimism: dict[str, float] = {}
    noise: dict[str, float | None] = {}
    ss_all, df_all = 0.0, 0
    for lab, e, o in zip(labels, exps, resolved):
        trials = rankable_trials(e, o)
        y = np.sort(sign * np.array([t.values[o] for t in trials]))[::-1]
        m = max(2, min(10, math.ceil(0.1 * len(y))))
        optimism[lab] = float(y[0] - y[:m].mean()) if len(y) >= 2 else 0.0
        ss, df = _noise(e, trials, o)
        noise[lab] = math.sqrt(ss / df) if df else None
        ss_all, df_all = ss_all + ss, df_all + df
    return optimism, noise, math.sqrt(ss_all / df_all) if df_all else None


def _budget_warnings(curves: Mapping[str, ExpectedBest], labels: Sequence[str], n_common: int) -> list[str]:
    sizes = {lab: curves[lab].n_trials for lab in labels}
    if len(set(sizes.values())) <= 1:
        return []
    adv = ", ".join(
        f"{lab} ({sizes[lab]} trials) by {abs(curves[lab].observed_best - curves[lab].mean[n_common - 1]):.4g}"
        for lab in labels if sizes[lab] > n_common
    )
    return [f"trial counts differ ({', '.join(f'{lab}: {sizes[lab]}' for lab in labels)}): comparing observed bests "
            f"favours the larger budgets; at {n_common} trials the observed best overstates {adv}. "
            f"Compare the curves at equal n instead."]


def _optimism_warning(optimism: Mapping[str, float], labels: Sequence[str]) -> str:
    return ("observed bests are optimistic (winner's curse): the best trial beats the mean of its top trials by "
            + ", ".join(f"{lab} {optimism[lab]:.4g}" for lab in labels)
            + "; if those top trials are equally good in truth, that gap is luck.")


def _noise_warnings(mean: np.ndarray, labels: Sequence[str], n_common: int, noise_level: float | None,
                    noise_factor: float) -> list[str]:
    if noise_level is None:
        return []
    out = []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            gap = abs(mean[i, -1] - mean[j, -1])
            if gap < noise_factor * noise_level:
                out.append(f"the difference between {labels[i]} and {labels[j]} at {n_common} trials ({gap:.4g}) is "
                           f"within {noise_factor:g}x the evaluation noise (sd {noise_level:.4g} from repeated "
                           f"configurations)")
    return out


_AXES = ("trials", "seconds", "steps")
_ACCURACY_LIKE = frozenset({"accuracy", "acc", "auc", "roc_auc", "f1", "precision", "recall", "iou", "dice",
                            "balanced_accuracy", "top1", "top5", "map"})  # metrics bounded by [0, 1] by definition


def _known_bounds(objective: str, x: np.ndarray) -> tuple[float, float] | None:
    """``(0, 1)`` for accuracy-like metric names whose values all lie in [0, 1], else ``None``."""
    words = {w for w in objective.lower().replace("-", "_").replace("/", "_").split("_") if w}
    name = objective.lower().replace("-", "_")
    if (name in _ACCURACY_LIKE or words & _ACCURACY_LIKE) and x.min() >= 0.0 and x.max() <= 1.0:
        return (0.0, 1.0)
    return None


def _costs(trials: Sequence[Trial], axis: str, label: str) -> np.ndarray:
    """Cost of each trial on the budget axis (1 per trial, wall-clock seconds, or training steps)."""
    if axis == "trials":
        return np.ones(len(trials))
    out = np.empty(len(trials))
    for i, t in enumerate(trials):
        if axis == "seconds":
            v = t.duration
        elif t.budget is not None:
            v = t.budget
        elif t.log is not None and len(t.log):
            steps = [float(s) for s, _ in t.log.points()]
            v = max(steps) + (1.0 if min(steps) == 0 else 0.0)
        else:
            v = None
        if v is None or not math.isfinite(v) or v <= 0:
            need = ("start and finish times" if axis == "seconds"
                    else "a positive Trial.budget or a log of steps")
            raise SchemaError(f"compare(axis={axis!r}) needs {need} for every trial; trial {t.number} of "
                              f"{label!r} has {v!r}. Use axis='trials' or record them.")
        out[i] = float(v)
    return out


@keywords_checked
def compare(
    *objs: Any,
    names: Sequence[str] | None = None,
    objective: str | None = None,
    estimator: str = "v",
    band: float | None = 0.95,
    bounds: tuple[float, float] | None = None,
    noise_factor: float = 2.0,
    axis: str = "trials",
    correction: str = "holm",
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> Comparison:
    """Compare experiments (models or tuners) at equal budgets, with a calibrated test.

    Parameters
    ----------
    *objs:
        Two or more things :func:`hpviz.experiment` accepts.
    names:
        Display names (default: the experiments' names if set and unique, else A, B, C...).
    objective:
        Objective name present in every experiment (default: each one's
        primary; directions must agree).
    estimator, bounds:
        As in :func:`expected_best` (they shape the drawn curves and bands).
    band:
        The verdicts' error level is ``1 - band`` (default 5%), and the
        curves' bands are drawn at the Bonferroni level ``1 - (1 - band) / k``
        so that all k hold together. ``None`` is not allowed here.
    noise_factor:
        A difference between expected bests at ``n_common`` smaller than
        ``noise_factor`` times the noise standard deviation is flagged as
        within noise.
    axis:
        Budget axis of the verdicts: ``"trials"`` (default), ``"seconds"``
        (wall-clock time of the trials run one after another) or ``"steps"``
        (``Trial.budget``, else the last logged step, summed over trials).
    correction:
        Multiple-comparison control over the k(k-1)/2 pairs: ``"holm"``
        (default; family-wise error <= 1 - band), ``"bh"``
        (Benjamini-Hochberg; false discovery rate <= 1 - band) or ``"none"``.
    permutations:
        Permutations of the equal-budget test (default 1999).
    seed:
        Seed of the permutations (the result is deterministic given it).

    Returns
    -------
    Comparison

    Raises
    ------
    InsufficientDataError
        Fewer than two experiments, or one with no usable trial.
    SchemaError
        Directions differ, an unknown objective, bad names or options, or a
        missing cost for ``axis="seconds"``/``"steps"``.

    Notes
    -----
    Each pair is tested at equal budget by construction: the statistic at
    budget b is the difference of the unbiased expected best of the number of
    each experiment's trials that fit in b; a permutation max-T test over the
    budgets (each direction at half the level) gives one p-value per pair,
    then corrected over pairs. Null hypothesis: the experiments' trials are
    draws from one distribution. Measured rates: ``benchmarks/calibration.py``.

    With per-split scores (``Trial.attrs["split_test_<objective>"]``), each
    experiment's values are first blurred with Gaussian noise up to the
    largest noise of a trial's mean score among the experiments, and a
    difference in expected best below that noise is not a win; the rule and
    the noise are stated in ``.statement`` and ``.noise_rule`` (rates:
    ``benchmarks/split_noise.py``).
    """
    if len(objs) < 2:
        raise InsufficientDataError(f"compare needs at least two experiments, got {len(objs)}", have=len(objs), need=2)
    est = _check_options(estimator, band)
    if band is None:
        raise SchemaError("compare needs a band level in (0, 1) to tell differences from noise, got None")
    check("noise_factor", noise_factor, Interval(float, 0.0, None))
    check("axis", axis, Options(_AXES))
    check("correction", correction, Options(CORRECTIONS))
    permutations = check_int("permutations", permutations, 99)
    exps = [_to_experiment(o) for o in objs]
    labels = _names(exps, names)
    resolved, direction = _resolve_objective(exps, labels, objective)
    k = len(exps)
    alpha = round(1.0 - float(band), 12)
    level = 1.0 - alpha / k
    curves = {lab: _expected_best(e, o, est, level, bounds, None) for lab, e, o in zip(labels, exps, resolved)}
    n_common = min(c.n_trials for c in curves.values())
    mean, _, _ = _common_views(curves, labels, direction, n_common)
    ranking, stable_from = _ranking(mean, labels)
    sign = -orientation(direction)
    ys, costs = [], []
    for lab, e, o in zip(labels, exps, resolved):
        trials = rankable_trials(e, o)
        ys.append(sign * np.array([t.values[o] for t in trials], dtype=float))
        costs.append(_costs(trials, axis, lab))
    noises = {lab: split_noise(rankable_trials(e, o), o) for lab, e, o in zip(labels, exps, resolved)}
    blur, floor, rule = _split_rule(noises, labels)
    segments, sentences, winner, p_values, how = _verdicts(ys, costs, labels, axis, correction, alpha,
                                                           permutations, seed, blur, floor)
    optimism, noise, noise_level = _luck_and_noise(exps, labels, resolved, direction)
    warnings = [*_budget_warnings(curves, labels, n_common), _optimism_warning(optimism, labels),
                *_noise_warnings(mean, labels, n_common, noise_level, noise_factor)]
    return Comparison(
        names=labels,
        objective=resolved[0],
        direction=direction,
        curves=MappingProxyType(curves),
        n_common=n_common,
        ranking=ranking,
        stable_from=stable_from,
        winner=winner,
        segments=tuple(segments),
        statement=(" ".join(s + "." for s in sentences) + f" Equal-budget permutation test on {axis}, {how}."
                   + (f" {rule}" if rule else "")),
        optimism=MappingProxyType(optimism),
        noise=MappingProxyType(noise),
        noise_level=noise_level,
        warnings=tuple(warnings),
        axis=axis,
        correction=correction,
        alpha=alpha,
        p_values=MappingProxyType(p_values),
        split_noise=MappingProxyType(noises if rule else {}),
        noise_rule=rule,
    )
