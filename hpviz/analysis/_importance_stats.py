"""Calibrated statistics behind importance-driven suggestions (issue 15, item 11).

Binned first-order share with an upper confidence bound (``fix``)
    The forest's fANOVA underestimates small main effects (a true 4.4% share
    reads 1-2% at a few hundred trials), so "fix when the share is small" on
    the forest alone removes parameters that matter. The binned estimator
    works on the trials directly: the parameter's search scale is cut into
    ``B`` equal-width bins (choices for categoricals), the main effect is the
    variance of the bin means (bins weighted equally: the uniform measure of
    the space) minus the average sampling variance of a bin mean (which
    removes the noise floor), divided by the variance of the objective. Its
    upper bound is the ``FIX_LEVEL`` percentile over ``FIX_BOOTSTRAP``
    bootstrap resamples of the trials. ``fix`` needs the upper bound below
    the threshold, so a parameter is fixed only when the data rule out a
    share above it. Assumption: trials spread over the parameter's range
    (random or quasi-random search, or an early round); where the sampler
    concentrated, empty bins are skipped and the bound widens.

Choice effect test (``drop-choices``)
    A choice is dropped when its values are worse than the reference choice's
    (one-sided Mann-Whitney, Bonferroni over the choices) *and* its effect is
    large: the probability that one of its trials beats one of the
    reference's (the common-language effect size) is at most
    ``DROP_MAX_WIN``. The old rule also asked that none of its trials be
    among the good ones, which one lucky trial defeats. The choice of the
    best trial is never dropped.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from hpviz.schema import Categorical, Param, Trial, choice_key

FIX_BOOTSTRAP = 200  # bootstrap resamples for the upper bound (percentile error ~1.5% at the 95th)
FIX_LEVEL = 0.95  # one-sided level of the upper confidence bound
#: Bins: about n / 10 trials per bin, between 4 and 12 (fewer bins lose the shape of the effect,
#: more leave too few trials per bin for a stable mean).
MIN_BINS, MAX_BINS, TRIALS_PER_BIN = 4, 12, 10
#: A choice whose trial beats a reference trial with probability <= 0.4 is worse by more than a
#: nuance (Vargha-Delaney A >= 0.6, "small-to-medium"): a +2 shift over terms spanning ~10 gives
#: about 0.31; a choice 0.3 behind gives 0.47 and is kept. One lucky trial barely moves it.
DROP_MAX_WIN = 0.4


def n_bins(n: int) -> int:
    return int(np.clip(n // TRIALS_PER_BIN, MIN_BINS, MAX_BINS))


def binned_share(codes: np.ndarray, y: np.ndarray, n_bins: int) -> np.ndarray:
    """Noise-corrected share of variance of the bin means; ``codes`` (r, n) or (n,), -1 = inactive."""
    codes = np.atleast_2d(codes)
    y = np.atleast_2d(y)
    r, n = y.shape
    out = np.zeros(r)
    rows = np.repeat(np.arange(r), n)
    ok = codes.ravel() >= 0
    idx = rows[ok] * n_bins + codes.ravel()[ok]
    yy = y.ravel()[ok]
    cnt = np.bincount(idx, minlength=r * n_bins).reshape(r, n_bins)
    s1 = np.bincount(idx, yy, minlength=r * n_bins).reshape(r, n_bins)
    s2 = np.bincount(idx, yy * yy, minlength=r * n_bins).reshape(r, n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        var = (s2 - cnt * mean**2) / (cnt - 1)  # within-bin variance
        use = cnt >= 2
        k = use.sum(axis=1)
        m = np.where(use, mean, 0.0)
        grand = m.sum(axis=1) / k
        # The bins are the population (equal weights): variance with ddof=0 over bins. Its expectation is
        # the true bin-level variance plus (k - 1)/k of the mean sampling variance of a bin mean.
        between = (np.where(use, (mean - grand[:, None]) ** 2, 0.0)).sum(axis=1) / k
        noise = np.where(use, var / cnt, 0.0).sum(axis=1) / k * (k - 1) / k
        total = y.var(axis=1, ddof=1)
        out = np.where((k >= 2) & (total > 0), (between - noise) / total, 0.0)
    return out


def bin_codes(pos: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins of positions in [0, 1] (NaN -> -1)."""
    pos = np.asarray(pos, dtype=float)
    ok = np.isfinite(pos)
    b = np.floor(np.clip(np.where(ok, pos, 0.0), 0.0, 1.0) * n_bins).astype(np.int64)
    return np.where(ok, np.minimum(b, n_bins - 1), -1)


def share_upper_bound(codes: np.ndarray, y: np.ndarray, n_bins: int, *, seed: int = 0) -> tuple[float, float]:
    """(estimate, upper confidence bound) of a parameter's main-effect share from binned trials."""
    codes = np.asarray(codes)
    y = np.asarray(y, dtype=float)
    est = float(binned_share(codes, y, n_bins)[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(FIX_BOOTSTRAP, len(y)))
    boot = binned_share(codes[idx], y[idx], n_bins)
    return est, float(np.quantile(boot, FIX_LEVEL))


def choice_effect(worse: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(one-sided Mann-Whitney p that ``worse`` has larger losses, P(a ``worse`` trial beats a ``ref`` trial))."""
    res = stats.mannwhitneyu(worse, ref, alternative="greater")
    win = 1.0 - float(res.statistic) / (len(worse) * len(ref))  # P(worse < ref) + ties / 2
    return float(res.pvalue), win


def main_effect_at(imp: Any, name: str, param: Param, trials: Sequence[Trial]) -> np.ndarray:
    """The forest's centred marginal of ``name`` at each trial's value (objective units; 0 if unknown)."""
    out = np.zeros(len(trials))
    if imp is None or name not in getattr(imp, "params", ()):
        return out
    m = imp.marginal(name)
    f = m["mean"].to_numpy(dtype=float)
    f = f - f.mean()
    if isinstance(param, Categorical):
        lookup = {choice_key(v): k for k, v in enumerate(m["value"])}
        for i, t in enumerate(trials):
            k = lookup.get(choice_key(t.params[name])) if name in t.params else None
            out[i] = f[k] if k is not None else 0.0
        return out
    grid = np.asarray(param.to_search_scale(m["value"].to_numpy(dtype=float)), dtype=float)
    raw = np.array([float(t.params[name]) if isinstance(t.params.get(name), (int, float)) and
                    not isinstance(t.params.get(name), bool) else math.nan for t in trials])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.asarray(param.to_search_scale(raw), dtype=float)
    return np.where(np.isfinite(x), np.interp(np.nan_to_num(x), grid, f), 0.0)


# --------------------------------------------------------------------------- pair significance (item 9)

PAIR_REFITS = 19  # null refits: p-value resolution 1/20, so a pair is flagged at 5% only above all 19
PAIR_ALPHA = 0.05  # per-pair level: the rate of null pairs flagged is what calibration.py measures


def additive_fit(codes: np.ndarray, y: np.ndarray, n_bins: np.ndarray, *, sweeps: int = 20) -> tuple[np.ndarray, int]:
    """Piecewise-constant additive model by backfitting: ``(fitted values, parameters used)``.

    ``codes``: (n, d) bin index per trial and parameter (-1: inactive, contributes 0).
    """
    n, d = codes.shape
    y = np.asarray(y, dtype=float)
    f0 = float(y.mean())
    g = [np.zeros(int(b)) for b in n_bins]
    parts = np.zeros((n, d))
    for _ in range(sweeps):
        for j in range(d):
            r = y - f0 - parts.sum(axis=1) + parts[:, j]
            ok = codes[:, j] >= 0
            cnt = np.bincount(codes[ok, j], minlength=int(n_bins[j]))
            s = np.bincount(codes[ok, j], r[ok], minlength=int(n_bins[j]))
            gj = np.where(cnt > 0, s / np.maximum(cnt, 1), 0.0)
            gj = gj - (cnt * gj).sum() / max(cnt.sum(), 1)
            g[j] = gj
            parts[:, j] = np.where(ok, gj[np.maximum(codes[:, j], 0)], 0.0)
    used = 1 + int(sum(int(b) - 1 for b in n_bins))
    return f0 + parts.sum(axis=1), used


def trial_codes(space: Any, names: Sequence[str], trials: Sequence[Trial]) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) bin codes of the trials (choices for categoricals, ``n_bins(n)`` equal-width search-scale bins
    for numerics; -1 where inactive or outside the declared space) and the number of bins per parameter."""
    n = len(trials)
    nb = np.array([len(space[k].choices) if isinstance(space[k], Categorical) else n_bins(n) for k in names])
    codes = np.empty((n, len(names)), dtype=np.int64)
    for j, k in enumerate(names):
        p = space[k]
        if isinstance(p, Categorical):
            codes[:, j] = [p.index(t.params[k]) if k in t.params and p.contains(t.params[k]) else -1 for t in trials]
        else:
            lo, hi = p.search_bounds
            raw = np.array([float(t.params[k]) if isinstance(t.params.get(k), (int, float)) and
                            not isinstance(t.params.get(k), bool) else math.nan for t in trials])
            with np.errstate(divide="ignore", invalid="ignore"):
                pos = (np.asarray(p.to_search_scale(raw), dtype=float) - lo) / (hi - lo)
            pos = np.where((pos >= 0) & (pos <= 1), pos, np.nan)  # outside the declared space: not binned
            codes[:, j] = bin_codes(pos, int(nb[j]))
    return codes, nb


def binned_shares(space: Any, names: Sequence[str], trials: Sequence[Trial], y: np.ndarray,
                  imp: Any = None) -> np.ndarray:
    """Binned first-order share of each parameter (see the module docstring), clipped at 0.

    With ``imp`` (a forest result), each share is computed on the objective
    minus the forest's main effects of the *other* parameters (rescaled to the
    objective's variance): with random placement that removes their variance
    from the bin means without biasing this parameter's share.
    """
    codes, nb = trial_codes(space, names, trials)
    y = np.asarray(y, dtype=float)
    total = float(np.var(y, ddof=1)) if len(y) > 1 else 0.0
    effects = [main_effect_at(imp, k, space[k], trials) for k in names] if imp is not None else None
    out = np.zeros(len(names))
    for j in range(len(names)):
        r = y if effects is None else y - (sum(effects) - effects[j])
        scale = float(np.var(r, ddof=1)) / total if total > 0 else 0.0
        out[j] = max(0.0, float(binned_share(codes[:, j], r, int(nb[j]))[0]) * scale)
    return out


def pair_pvalues(exp: Any, objective: str, imp: Any, *, refits: int = PAIR_REFITS, seed: int = 0) -> dict:
    """Permutation p-value of each pairwise interaction share under an additive null.

    The null model is an additive fit (piecewise-constant main effects by
    backfitting on ``n/10`` bins per parameter, 4 to 12) plus its residuals,
    rescaled for the degrees of freedom the fit used and permuted across
    trials: interactions are destroyed, main effects and the noise level kept.
    Each null data set is refitted with the same forest settings;
    ``p = (1 + #{null share >= observed}) / (refits + 1)``. Assumes the
    residuals are exchangeable (homoscedastic noise).
    """
    from hpviz.analysis.importance import importance

    space = exp.all_params()
    used = [t for t in exp.completed(objective)]
    y = np.array([t.values[objective] for t in used])
    n = len(y)
    codes, nb = trial_codes(space, list(imp.params), used)
    additive, dof = additive_fit(codes, y, nb)
    resid = (y - additive) * math.sqrt(n / max(n - dof, 1))
    rng = np.random.default_rng(seed)
    obs = imp.pairwise
    exceed = {k: 0 for k in obs.index}
    for r in range(refits):
        ystar = additive + rng.permutation(resid)
        null_exp = exp.__class__(space, {objective: exp.objectives[objective]})
        for t, v in zip(used, ystar):
            null_exp.add(dataclasses.replace(t, values={objective: float(v)}, round=0))
        null = importance(null_exp, objective, pairs=True, n_trees=imp.n_trees, seed=seed + 1 + r).pairwise
        for k in obs.index:
            exceed[k] += bool(null.get(k, 0.0) >= obs[k] - 1e-12)
    return {k: (1 + v) / (refits + 1) for k, v in exceed.items()}
