"""Search-space coverage: how densely the sampled configurations explored the space (a fairness axis).

Two experiments with the same number of trials may have explored their
spaces very differently: a model-based sampler concentrates its trials, a
grid leaves gaps, a large space is thinly sampled. When models are compared,
"model A was explored much more thinly than model B" qualifies any verdict.

Everything is measured on the *search scale*: each parameter mapped to
``[0, 1]`` the way it was searched (``log10`` for log parameters, integers as
equal cells, a categorical's choice ``c`` of ``m`` at ``(c + 0.5) / m``),
over the space of the first round (the space the user declared), for every
trial that was sampled (all states but WAITING); values outside the space
are clipped into it.

Per numeric parameter:

* ``discrepancy``: the Kolmogorov distance between the sampled values and
  the uniform distribution on the search scale (0 = perfectly even);
* ``max_gap``: the widest interval of the range no trial sampled
  (including the ends), as a fraction of the range.

Per categorical: ``choices_used`` (share of the choices sampled at least
once) and ``evenness`` (normalized entropy of the choice counts, 1 = even).

Jointly (the parameters active in every sampled trial; at most
:data:`JOINT_MAX_POINTS` configurations, a seeded subsample beyond): the centered L2
discrepancy (Hickernell 1998, ``scipy.stats.qmc.discrepancy``) and the
dispersion (the largest distance from a point of the unit cube to its nearest
sample, estimated on :data:`N_PROBES` seeded probe points, divided by
``sqrt(d)``). Each is set beside what uniform random sampling of the same
number of trials gives (mean and 90% range over :data:`N_REFERENCE` seeded
random samples, drawn on the same grid: integers and choices stay discrete): a ``ratio`` above 1 means thinner or more uneven than
random search with the same budget.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from hpviz._numbers import _FAST_TYPES, MISSING, choice_codes
from hpviz._richrepr import RichResult
from hpviz._validate import keywords_checked
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Categorical, Experiment, Int, TrialState

__all__ = ["coverage", "Coverage", "N_REFERENCE", "N_PROBES", "MAX_POINTS", "THIN_RATIO", "THIN_QUANTILE", "JOINT_MAX_POINTS", "N_REFERENCE_DISPERSION"]

#: Uniform random reference samples per measure (their mean and 5-95% range); the dispersion, which
#: decides "thin", gets :data:`N_REFERENCE_DISPERSION` for its 99th percentile.
N_REFERENCE = 20
N_REFERENCE_DISPERSION = 100
#: "Thin" needs the dispersion above this quantile of random search's. Measured in
#: ``benchmarks/coverage.py`` (1-4 parameters, 20-200 trials, 100 runs each): random search called thin
#: 0%, values squeezed into a third of each range 100%; with the 95th percentile a 40-trial random search
#: was called thin.
THIN_QUANTILE = 0.99
#: Probe points of the dispersion estimate.
N_PROBES = 1024
#: Configurations in the joint measures at most (a seeded subsample beyond; random search's reference
#: uses as many): 101 reference samples of this size keep the measure under a second or two.
JOINT_MAX_POINTS = 500
#: Sampled configurations used at most (a seeded subsample beyond): the discrepancy is O(n^2 d).
MAX_POINTS = 2000
#: A joint dispersion above this many times random search's (and above its 95th percentile) is called
#: "much thinner than random search".
THIN_RATIO = 1.5


@dataclass(frozen=True, eq=False)
class Coverage(RichResult):
    """Result of :func:`coverage` (definitions in the module docstring).

    Attributes
    ----------
    n_trials:
        Sampled configurations measured.
    params:
        Per parameter: ``param, kind, n, discrepancy, discrepancy_random, max_gap, max_gap_random,
        choices_used, evenness`` (NaN where a measure does not apply).
    joint_params:
        Parameters in the joint measures (active in every trial).
    joint:
        One row per joint measure (``discrepancy``, ``dispersion``): ``value, random_mean, random_low,
        random_high`` (5-95% of random search), ``random_q99``, ``ratio`` (value / random_mean).
    """

    name: str | None
    n_trials: int
    params: pd.DataFrame
    joint_params: tuple[str, ...]
    joint: pd.DataFrame
    seed: int

    @property
    def ratio(self) -> float:
        """Joint dispersion relative to random search with the same budget (> 1: thinner); NaN without joint."""
        return float(self.joint.loc["dispersion", "ratio"]) if "dispersion" in self.joint.index else math.nan

    @property
    def thin(self) -> bool:
        """Explored much more thinly than random search: the joint dispersion is above :data:`THIN_RATIO`
        times random search's and above its :data:`THIN_QUANTILE` quantile (not a chance gap)."""
        if "dispersion" not in self.joint.index:
            return False
        d = self.joint.loc["dispersion"]
        return bool(d["ratio"] > THIN_RATIO and d["value"] > d["random_q99"])

    def to_dataframe(self) -> pd.DataFrame:
        """The per-parameter table (``params``)."""
        return self.params.copy()

    @property
    def message(self) -> str:
        who = f"{self.name!r}: " if self.name else ""
        if self.joint.empty:
            return f"{who}{self.n_trials} sampled configurations; no parameter is active in every trial."
        d = self.joint.loc["dispersion"]
        text = (f"{who}{self.n_trials} sampled configurations over {len(self.joint_params)} parameters leave a "
                f"largest empty region of radius {d['value']:.2f} (random search with as many trials: "
                f"{d['random_mean']:.2f}, 90% range {d['random_low']:.2f} to {d['random_high']:.2f}).")
        if self.thin:
            text += " The space is explored much more thinly than by random search with the same budget."
        thin = self.params[self.params["discrepancy"] > self.params["discrepancy_random"] * 2]
        if len(thin):
            text += f" Unevenly sampled: {', '.join(thin['param'])}."
        return text

    def __repr__(self) -> str:
        return f"Coverage(name={self.name!r}, n_trials={self.n_trials}, ratio={self.ratio:.2f})"


def _unit(param: Any, values: list[Any]) -> np.ndarray:
    """Values on the search scale mapped to [0, 1] (NaN for inactive / unusable)."""
    out = np.full(len(values), np.nan)
    if isinstance(param, Categorical):
        codes = choice_codes(param, values)  # param.index of each value (-1 when inactive), at C speed
        ok = codes >= 0
        out[ok] = (codes[ok] + 0.5) / len(param.choices)
        return out
    if set(map(type, values)) <= _FAST_TYPES:  # the usual column (plain numbers): checked at C speed
        raw = np.asarray(values, dtype=float)
        ok = np.isfinite(raw)
        raw = raw[ok]
    else:
        ok = [i for i, v in enumerate(values) if v is not MISSING and isinstance(v, numbers.Real)
              and not isinstance(v, bool) and math.isfinite(v)]
        raw = np.array([float(values[i]) for i in ok])
    if not raw.size:
        return out
    lo, hi = param.low, param.high
    raw = np.clip(raw, lo, hi)
    if isinstance(param, Int) and not param.log:
        s, a, b = raw, lo - 0.5, hi + 0.5  # each integer owns an equal cell
    else:
        s = param.to_search_scale(raw)
        a, b = param.search_bounds
    out[ok] = np.clip((s - a) / (b - a), 0.0, 1.0)
    return out


def _reference(params: list[Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` configurations of random search over ``params`` on the unit scale (discrete where they are)."""
    cols = []
    for p in params:
        if isinstance(p, Categorical):
            m = len(p.choices)
            cols.append((rng.integers(m, size=n) + 0.5) / m)
        elif isinstance(p, Int) and not p.log:
            m = p.high - p.low + 1
            cols.append((rng.integers(m, size=n) + 0.5) / m)
        else:
            cols.append(rng.uniform(size=n))
    return np.column_stack(cols)


def _ks(u: np.ndarray) -> float:
    x = np.sort(u)
    n = x.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - x), np.max(x - (i - 1) / n)))


def _gap(u: np.ndarray) -> float:
    x = np.concatenate([[0.0], np.sort(u), [1.0]])
    return float(np.max(np.diff(x)))


def _dispersion(X: np.ndarray, probes: np.ndarray) -> float:
    """Largest probe-to-nearest-sample distance / sqrt(d) (squared distances by one matrix product)."""
    # min over samples of |p|^2 + |x|^2 - 2 p.x is |p|^2 + the min of |x|^2 - 2 p.x: two passes over the matrix
    g = probes @ X.T
    g *= -2.0
    g += (X ** 2).sum(axis=1)[None, :]
    d2 = g.min(axis=1) + (probes ** 2).sum(axis=1)
    return float(math.sqrt(max(float(d2.max()), 0.0)) / math.sqrt(X.shape[1]))


@keywords_checked
def coverage(obj: Any, *, seed: int = 0) -> Coverage:
    """How densely the sampled configurations cover the search space, per parameter and jointly.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    seed:
        Seeds the random reference samples, the probe points and the subsample beyond
        :data:`MAX_POINTS`; equal seeds give equal results.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 sampled configurations, or a space without parameters.
    SchemaError
        A seed that is not an integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise SchemaError(f"seed must be an integer, got {seed!r}")
    exp: Experiment = _to_experiment(obj)
    space = dict(exp.all_params())
    space.update(exp.rounds[0].space)
    if not space:
        raise InsufficientDataError("coverage needs a search space with at least one parameter; this one has none",
                                    have=0, need=1)
    trials = [t for t in exp.trials if t.state is not TrialState.WAITING and t.params]
    if len(trials) < 2:
        raise InsufficientDataError(f"coverage needs at least 2 sampled configurations; have {len(trials)}",
                                    have=len(trials), need=2)
    rng = np.random.default_rng(seed)
    if len(trials) > MAX_POINTS:
        keep = np.sort(rng.choice(len(trials), MAX_POINTS, replace=False))
        trials = [trials[i] for i in keep]
    U = np.column_stack([_unit(p, [t.params.get(name, MISSING) for t in trials]) for name, p in space.items()])
    rows = []
    for j, (name, p) in enumerate(space.items()):
        u = U[np.isfinite(U[:, j]), j]
        row: dict[str, Any] = {"param": name, "kind": p.kind, "n": int(u.size)}
        if isinstance(p, Categorical):
            m = len(p.choices)
            counts = np.bincount(np.floor(u * m).astype(int), minlength=m)[:m] if u.size else np.zeros(m)
            share = counts / max(1, counts.sum())
            ent = -np.sum(share[share > 0] * np.log(share[share > 0]))
            row.update(choices_used=float((counts > 0).mean()), evenness=float(ent / math.log(m)) if m > 1 else 1.0)
        elif u.size:
            ref = [_reference([p], u.size, rng)[:, 0] for _ in range(N_REFERENCE)]
            row.update(discrepancy=_ks(u), discrepancy_random=float(np.mean([_ks(r) for r in ref])),
                       max_gap=_gap(u), max_gap_random=float(np.mean([_gap(r) for r in ref])))
        rows.append(row)
    cols = ["param", "kind", "n", "discrepancy", "discrepancy_random", "max_gap", "max_gap_random", "choices_used",
            "evenness"]
    params_df = pd.DataFrame(rows, columns=cols)
    full = np.all(np.isfinite(U), axis=0)
    joint_names = tuple(name for name, ok in zip(space, full) if ok)
    joint_rows = {}
    if joint_names:
        X = U[:, full]
        if X.shape[0] > JOINT_MAX_POINTS:
            X = X[np.sort(rng.choice(X.shape[0], JOINT_MAX_POINTS, replace=False))]
        probes = rng.uniform(size=(N_PROBES, X.shape[1]))
        joint_params = [p for p, ok in zip(space.values(), full) if ok]
        refs = [_reference(joint_params, X.shape[0], rng) for _ in range(N_REFERENCE_DISPERSION)]
        for what, fn, n_ref in (("discrepancy", lambda A: float(qmc.discrepancy(A, method="CD")), N_REFERENCE),
                                ("dispersion", lambda A: _dispersion(A, probes), N_REFERENCE_DISPERSION)):
            value = fn(X)
            ref = np.array([fn(r) for r in refs[:n_ref]])
            joint_rows[what] = {"value": value, "random_mean": float(ref.mean()),
                                "random_low": float(np.quantile(ref, 0.05)),
                                "random_high": float(np.quantile(ref, 0.95)),
                                "random_q99": float(np.quantile(ref, THIN_QUANTILE)),
                                "ratio": value / float(ref.mean()) if ref.mean() > 0 else math.nan}
    joint = pd.DataFrame.from_dict(joint_rows, orient="index",
                                   columns=["value", "random_mean", "random_low", "random_high", "random_q99",
                                            "ratio"])
    return Coverage(exp.name, len(trials), params_df, joint_names, joint, int(seed))
