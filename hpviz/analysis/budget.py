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
``bounds`` (the range the score can take, e.g. ``(0, 1)`` for accuracy);
without ``bounds`` it goes to the observed extremes, which makes the band
conditional on the scores never leaving the observed range.

Assumption: trials are i.i.d. draws from one distribution. That is exact for
random search. For sequential (model-based) samplers the curve is the
expected best of n draws from the *pooled* distribution of everything the
sampler tried, not what the sampler would reach in n trials (usually better,
since it adapts).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from hpviz._expected import expected_max
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Experiment, Trial, choice_key

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
    lo, hi = bounds_y if bounds_y is not None else (y[0], y[-1])
    # Highest CDF in the band (mass moved down to `lo`) -> lowest expected max, and vice versa.
    lower = expected_max(np.concatenate([[lo], y]), np.concatenate([[min(1.0, eps)], np.minimum(1.0, F + eps)]), ns)
    upper = expected_max(np.concatenate([y, [hi]]), np.concatenate([np.maximum(0.0, F - eps), [1.0]]), ns)
    return mean, lower, upper


# --------------------------------------------------------------------------- expected_best


@dataclass(frozen=True, eq=False)
class ExpectedBest:
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

    def at(self, n: int) -> float:
        """The expected best after ``n`` trials."""
        if not 1 <= n <= len(self.n):
            raise SchemaError(f"n must be within 1..{len(self.n)}, got {n!r}")
        return float(self.mean[n - 1])

    def to_frame(self) -> pd.DataFrame:
        """Columns ``n, mean, lower, upper`` (and ``seconds`` when known)."""
        data = {"n": self.n, "mean": self.mean, "lower": self.lower, "upper": self.upper}
        if self.seconds is not None:
            data["seconds"] = self.seconds
        return pd.DataFrame(data)


def _check_options(estimator: Any, band: Any) -> str:
    est = estimator.lower() if isinstance(estimator, str) else estimator
    if est not in ("v", "u"):
        raise SchemaError(f"estimator must be 'v' (with replacement) or 'u' (without), got {estimator!r}")
    if band is not None and (isinstance(band, bool) or not isinstance(band, numbers.Real) or not 0.0 < band < 1.0):
        raise SchemaError(f"band must be a confidence level in (0, 1) or None, got {band!r}")
    return est


def _scores(exp: Experiment, objective: str | None) -> tuple[str, str, list[Trial], np.ndarray]:
    objective = exp.objective(objective)
    trials = exp.completed(objective)
    if not trials:
        raise InsufficientDataError(
            f"expected_best needs at least 1 COMPLETE trial with a finite {objective!r}; "
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
    if n_max is None:
        n_max = N
    if isinstance(n_max, bool) or not isinstance(n_max, numbers.Integral) or n_max < 1:
        raise SchemaError(f"n_max must be a positive integer, got {n_max!r}")
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
        bounds_y = (lo, hi) if sign > 0 else (-hi, -lo)
    ns = np.arange(1, int(n_max) + 1)
    mean_y, lower_y, upper_y = _curves(y, ns, estimator, band, bounds_y)
    mean, lower, upper = (mean_y, lower_y, upper_y) if sign > 0 else (-mean_y, -upper_y, -lower_y)
    durations = np.array([t.duration for t in trials if t.duration is not None], dtype=float)
    seconds = ns * float(durations.mean()) if len(durations) else None
    for arr in (ns, mean, lower, upper, seconds):
        if arr is not None:
            arr.flags.writeable = False
    return ExpectedBest(objective, direction, estimator, ns, mean, lower, upper, band, bounds,
                        float(sign * y[-1]), N, seconds)


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
class Comparison:
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
        The experiment whose band beats every other's at ``n_common``, else ``None``.
    segments:
        Per pair, runs of budgets with the same verdict. "X beats Y at n"
        means X's band lies entirely on the better side of Y's band.
    statement:
        Plain-language verdict, one sentence per pair.
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

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``name, n, mean, lower, upper`` (and ``seconds`` when every curve has it)."""
        frames = []
        for name in self.names:
            f = self.curves[name].to_frame()
            f.insert(0, "name", name)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)


def _config_key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, choice_key(v)) for k, v in params.items()))


def _noise(trials: Sequence[Trial], objective: str) -> tuple[float, int]:
    """Within-configuration sum of squares and degrees of freedom over repeated configs."""
    groups: dict[tuple, list[float]] = {}
    for t in trials:
        groups.setdefault(_config_key(t.params), []).append(t.values[objective])
    ss, df = 0.0, 0
    for vals in groups.values():
        if len(vals) > 1:
            v = np.asarray(vals)
            ss += float(((v - v.mean()) ** 2).sum())
            df += len(v) - 1
    return ss, df


def _runs(status: np.ndarray) -> list[tuple[int, int, int]]:
    """Run-length encoding of a status array: ``(value, first n, last n)`` with n 1-based."""
    cuts = np.flatnonzero(np.diff(status)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(status)]])
    return [(int(status[s]), int(s) + 1, int(e)) for s, e in zip(starts, ends)]


def _pair_sentence(a: str, b: str, segs: list[Segment], n_common: int, level: float) -> str:
    if all(s.winner is None for s in segs):
        return (f"No difference between {a} and {b}: their {level:.0%} bands overlap at every budget "
                f"from 1 to {n_common} trials")
    decided = [s for s in segs if s.winner is not None]
    if len(decided) == 1 and decided[0].n_to == n_common:
        s = decided[0]
        if s.n_from == 1:
            return f"{s.winner} beats {s.loser} at every budget from 1 to {n_common} trials"
        return (f"{s.winner} beats {s.loser} for any budget above {s.n_from - 1} trials "
                f"(checked up to {n_common}); below that no difference is established")
    parts = []
    for s in segs:
        span = f"{s.n_from} trial" if s.n_from == s.n_to else f"{s.n_from}-{s.n_to} trials"
        parts.append(f"no difference at {span}" if s.winner is None
                     else f"{s.winner} beats {s.loser} at {span}")
    return f"{a} vs {b}: " + "; ".join(parts)


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


def compare(
    *objs: Any,
    names: Sequence[str] | None = None,
    objective: str | None = None,
    estimator: str = "v",
    band: float | None = 0.95,
    bounds: tuple[float, float] | None = None,
    noise_factor: float = 2.0,
) -> Comparison:
    """Compare experiments (models or tuners) at equal numbers of trials.

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
        As in :func:`expected_best`.
    band:
        Joint confidence level of all the bands (each is computed at the
        Bonferroni level ``1 - (1 - band) / k``). ``None`` is not allowed
        here: verdicts need bands.
    noise_factor:
        A difference between expected bests at ``n_common`` smaller than
        ``noise_factor`` times the noise standard deviation is flagged as
        within noise.

    Returns
    -------
    Comparison

    Raises
    ------
    InsufficientDataError
        Fewer than two experiments, or one with no usable trial.
    SchemaError
        Directions differ, an unknown objective, bad names or options.
    """
    if len(objs) < 2:
        raise InsufficientDataError(f"compare needs at least two experiments, got {len(objs)}", have=len(objs), need=2)
    est = _check_options(estimator, band)
    if band is None:
        raise SchemaError("compare needs a band level in (0, 1) to tell differences from noise, got None")
    exps = [_to_experiment(o) for o in objs]
    labels = _names(exps, names)
    resolved = [e.objective(objective) for e in exps]
    directions = {e.objectives[o] for e, o in zip(exps, resolved)}
    if len(directions) > 1:
        detail = ", ".join(f"{lab}: {o} ({e.objectives[o]})" for lab, e, o in zip(labels, exps, resolved))
        raise SchemaError(f"compare needs one direction for the compared objective; got {detail}")
    direction = directions.pop()
    k = len(exps)
    level = 1.0 - (1.0 - float(band)) / k
    curves = {lab: _expected_best(e, o, est, level, bounds, None) for lab, e, o in zip(labels, exps, resolved)}
    sign = 1.0 if direction == "max" else -1.0
    n_common = min(c.n_trials for c in curves.values())

    # Larger-is-better views over the common budgets.
    mean = np.array([sign * curves[lab].mean[:n_common] for lab in labels])
    if sign > 0:
        low = np.array([curves[lab].lower[:n_common] for lab in labels])
        high = np.array([curves[lab].upper[:n_common] for lab in labels])
    else:
        low = np.array([-curves[lab].upper[:n_common] for lab in labels])
        high = np.array([-curves[lab].lower[:n_common] for lab in labels])

    order = np.argsort(-mean, axis=0, kind="stable")
    ranking = tuple(labels[i] for i in order[:, -1])
    differs = np.flatnonzero((order != order[:, -1:]).any(axis=0))
    stable_from = int(differs[-1]) + 2 if len(differs) else 1

    segments: list[Segment] = []
    sentences = []
    beats = np.zeros((k, k), dtype=bool)  # beats[i, j]: i beats j at n_common
    for i in range(k):
        for j in range(i + 1, k):
            status = np.where(low[i] > high[j], 1, np.where(low[j] > high[i], 2, 0))
            beats[i, j], beats[j, i] = status[-1] == 1, status[-1] == 2
            segs = [Segment(labels[i], labels[j], None if v == 0 else labels[i] if v == 1 else labels[j], s, e)
                    for v, s, e in _runs(status)]
            segments.extend(segs)
            sentences.append(_pair_sentence(labels[i], labels[j], segs, n_common, float(band)))
    winners = [labels[i] for i in range(k) if beats[i, np.arange(k) != i].all()]
    winner = winners[0] if winners else None

    # Winner's curse: gap between the observed best and the mean of the top trials.
    optimism: dict[str, float] = {}
    noise: dict[str, float | None] = {}
    ss_all, df_all = 0.0, 0
    for lab, e, o in zip(labels, exps, resolved):
        trials = e.completed(o)
        y = np.sort(sign * np.array([t.values[o] for t in trials]))[::-1]
        m = max(2, min(10, math.ceil(0.1 * len(y))))
        optimism[lab] = float(y[0] - y[:m].mean()) if len(y) >= 2 else 0.0
        ss, df = _noise(trials, o)
        noise[lab] = math.sqrt(ss / df) if df else None
        ss_all, df_all = ss_all + ss, df_all + df
    noise_level = math.sqrt(ss_all / df_all) if df_all else None

    warnings = []
    sizes = {lab: curves[lab].n_trials for lab in labels}
    if len(set(sizes.values())) > 1:
        adv = ", ".join(
            f"{lab} ({sizes[lab]} trials) by {abs(curves[lab].observed_best - curves[lab].mean[n_common - 1]):.4g}"
            for lab in labels if sizes[lab] > n_common
        )
        warnings.append(
            f"trial counts differ ({', '.join(f'{lab}: {sizes[lab]}' for lab in labels)}): comparing observed bests "
            f"favours the larger budgets; at {n_common} trials the observed best overstates {adv}. "
            f"Compare the curves at equal n instead."
        )
    warnings.append(
        "observed bests are optimistic (winner's curse): the best trial beats the mean of its top trials by "
        + ", ".join(f"{lab} {optimism[lab]:.4g}" for lab in labels)
        + "; if those top trials are equally good in truth, that gap is luck."
    )
    if noise_level is not None:
        for i in range(k):
            for j in range(i + 1, k):
                gap = abs(mean[i, -1] - mean[j, -1])
                if gap < noise_factor * noise_level:
                    warnings.append(
                        f"the difference between {labels[i]} and {labels[j]} at {n_common} trials ({gap:.4g}) is "
                        f"within {noise_factor:g}x the evaluation noise (sd {noise_level:.4g} from repeated "
                        f"configurations)"
                    )
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
        statement=" ".join(s + "." for s in sentences),
        optimism=MappingProxyType(optimism),
        noise=MappingProxyType(noise),
        noise_level=noise_level,
        warnings=tuple(warnings),
    )
