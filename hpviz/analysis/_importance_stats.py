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
    bootstrap resamples of the trials, drawn cell by cell from the bins'
    counts, sums and sums of squares (:func:`share_upper_bound`: exact for
    cells under ``NORMAL_CELL`` trials, central limit theorem above), so its
    cost does not grow with the number of trials. ``fix`` needs the upper bound below
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
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse, stats

from hpviz._numbers import MISSING, choice_codes, numeric_column
from hpviz.schema import Categorical, Param, Trial

FIX_BOOTSTRAP = 200  # bootstrap resamples for the upper bound (percentile error ~1.5% at the 95th)
FIX_LEVEL = 0.95  # one-sided level of the upper confidence bound
#: Bootstrap cells (bins, and the trials where the parameter is inactive) of at least this many trials draw
#: their resampled sums from the normal law with the sums' exact mean and covariance (central limit theorem);
#: smaller cells are resampled trial by trial. So beyond ~2,500 trials the bootstrap costs O(resamples x cells),
#: not O(resamples x trials). Against the trial-by-trial bootstrap on the same data (``benchmarks/scale.py``
#: section 6, 200 data sets per case): no difference at normal noise; with lognormal or t(3) noise the upper
#: bound is higher by 1-3% of its distance to the estimate (conservative: fixes less), while two seeds of the
#: trial bootstrap itself differ by ~11% of it (standard deviation).
NORMAL_CELL = 200
#: Bins: about n / 10 trials per bin, between 4 and 12 (fewer bins lose the shape of the effect,
#: more leave too few trials per bin for a stable mean).
MIN_BINS, MAX_BINS, TRIALS_PER_BIN = 4, 12, 10
#: A choice whose trial beats a reference trial with probability <= 0.4 is worse by more than a
#: nuance (Vargha-Delaney A >= 0.6, "small-to-medium"): a +2 shift over terms spanning ~10 gives
#: about 0.31; a choice 0.3 behind gives 0.47 and is kept. One lucky trial barely moves it.
DROP_MAX_WIN = 0.4


def n_bins(n: int) -> int:
    return int(np.clip(n // TRIALS_PER_BIN, MIN_BINS, MAX_BINS))


def _share_from_cells(cnt: np.ndarray, mean: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """Noise-corrected share from per-cell statistics, one row per data set: ``cnt``, ``mean`` and ``ss`` (sum
    of squared deviations from the cell mean) of shape (r, bins + 1), the last cell holding the trials where
    the parameter is inactive (they count in the objective's variance only)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = cnt.sum(axis=1)
        grand_all = np.where(cnt > 0, cnt * mean, 0.0).sum(axis=1) / n
        total = (ss.sum(axis=1) + np.where(cnt > 0, cnt * (mean - grand_all[:, None]) ** 2, 0.0).sum(axis=1)) / (n - 1)
        cnt, mean, ss = cnt[:, :-1], mean[:, :-1], ss[:, :-1]
        var = ss / (cnt - 1)  # within-bin variance
        use = cnt >= 2
        k = use.sum(axis=1)
        m = np.where(use, mean, 0.0)
        grand = m.sum(axis=1) / k
        # The bins are the population (equal weights): variance with ddof=0 over bins. Its expectation is
        # the true bin-level variance plus (k - 1)/k of the mean sampling variance of a bin mean.
        between = (np.where(use, (mean - grand[:, None]) ** 2, 0.0)).sum(axis=1) / k
        noise = np.where(use, var / cnt, 0.0).sum(axis=1) / k * (k - 1) / k
        return np.where((k >= 2) & (total > 0), (between - noise) / total, 0.0)


def _cells(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Cell of each trial: its bin, or ``n_bins`` where the parameter is inactive (code -1)."""
    return np.where(codes >= 0, codes, n_bins)


def binned_share(codes: np.ndarray, y: np.ndarray, n_bins: int) -> np.ndarray:
    """Noise-corrected share of variance of the bin means (one value, as a length-1 array); ``codes`` (n,),
    -1 = inactive. ``codes`` and ``y`` of shape (r, n): one share per row, ``(r,)``."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    r = y.shape[0]
    cell = _cells(np.atleast_2d(np.asarray(codes)), n_bins) + (n_bins + 1) * np.arange(r)[:, None]
    cnt = np.bincount(cell.ravel(), minlength=r * (n_bins + 1)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(cell.ravel(), y.ravel(), minlength=r * (n_bins + 1)) / cnt
    ss = np.bincount(cell.ravel(), ((y - mean[cell]) ** 2).ravel(), minlength=r * (n_bins + 1))
    return _share_from_cells(cnt.reshape(r, -1), mean.reshape(r, -1), ss.reshape(r, -1))


def bin_codes(pos: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins of positions in [0, 1] (NaN -> -1)."""
    pos = np.asarray(pos, dtype=float)
    ok = np.isfinite(pos)
    b = np.floor(np.clip(np.where(ok, pos, 0.0), 0.0, 1.0) * n_bins).astype(np.int64)
    return np.where(ok, np.minimum(b, n_bins - 1), -1)


def share_upper_bound(codes: np.ndarray, y: np.ndarray, n_bins: int, *, seed: int = 0) -> tuple[float, float]:
    """(estimate, upper confidence bound) of a parameter's main-effect share from binned trials.

    The bootstrap works on cell statistics: a resample of the ``n`` trials
    falls into the cells (bins, and the inactive trials) with multinomial
    counts, and given its count ``m`` a cell's resampled trials are ``m``
    draws with replacement from its own trials. Cells under ``NORMAL_CELL``
    trials are drawn trial by trial (exact); in larger ones the sums of the
    draws (of the deviations from the cell mean and of their squares) come
    from the normal law with their exact mean and covariance (``m`` times the
    cell's variance, third and fourth central moments).
    """
    codes = np.asarray(codes)
    y = np.asarray(y, dtype=float)
    est = float(binned_share(codes, y, n_bins)[0])
    n = len(y)
    cell = _cells(codes, n_bins)
    order = np.argsort(cell, kind="stable")
    ys = y[order] - y.mean()  # the share does not depend on the origin; centring keeps the sums exact
    size = np.bincount(cell, minlength=n_bins + 1)
    start = np.concatenate([[0], np.cumsum(size)])
    rng = np.random.default_rng(seed)
    B = FIX_BOOTSTRAP
    cnt = rng.multinomial(n, size / n, size=B).astype(float)
    mean = np.zeros_like(cnt)
    ss = np.zeros_like(cnt)
    for c in np.flatnonzero(size):
        dev = ys[start[c]:start[c + 1]]
        mu = dev.mean()
        dev = dev - mu
        m = cnt[:, c]
        if size[c] >= NORMAL_CELL:
            m2, m3, m4 = (dev**2).mean(), (dev**3).mean(), (dev**4).mean()
            w, v = np.linalg.eigh(np.array([[m2, m3], [m3, m4 - m2 * m2]]))
            root = v * np.sqrt(np.clip(w, 0.0, None))
            t = rng.standard_normal((B, 2)) @ root.T * np.sqrt(m)[:, None]
            t1, t2 = t[:, 0], t[:, 1] + m * m2
        else:
            mi = m.astype(np.int64)
            draw = dev[rng.integers(0, size[c], size=int(mi.sum()))]
            group = np.repeat(np.arange(B), mi)
            t1 = np.bincount(group, draw, minlength=B)
            t2 = np.bincount(group, draw * draw, minlength=B)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[:, c] = np.where(m > 0, mu + t1 / m, 0.0)
            ss[:, c] = np.where(m > 0, np.maximum(t2 - t1 * t1 / m, 0.0), 0.0)
    boot = _share_from_cells(cnt, mean, ss)
    return est, float(np.quantile(boot, FIX_LEVEL))


def choice_effect(worse: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(one-sided Mann-Whitney p that ``worse`` has larger losses, P(a ``worse`` trial beats a ``ref`` trial))."""
    res = stats.mannwhitneyu(worse, ref, alternative="greater")
    win = 1.0 - float(res.statistic) / (len(worse) * len(ref))  # P(worse < ref) + ties / 2
    return float(res.pvalue), win


class TrialValues:
    """The trials' values of each parameter, extracted once: raw (``MISSING`` where inactive), as floats, on a
    parameter's search scale and as a categorical's choice codes (each derived array computed once and shared,
    read-only). ``names``: parameters to extract up front, in one pass over the trials."""

    def __init__(self, trials: Sequence[Trial], names: Sequence[str] = ()):
        self.trials = trials
        self._raw: dict[str, list[Any]] = {}
        self._num: dict[str, np.ndarray] = {}
        self._search: dict[tuple[str, Param], np.ndarray] = {}
        self._codes: dict[tuple[str, Categorical], np.ndarray] = {}
        if names:
            self._extract(list(names))

    def _extract(self, names: list[str]) -> None:
        """Raw columns of ``names`` in one pass: at C speed when every trial has them all."""
        names = [k for k in dict.fromkeys(names) if k not in self._raw]
        if not names:
            return
        try:
            rows = list(map(operator.itemgetter(*names), (t.params for t in self.trials)))
        except KeyError:  # some parameter inactive in some trial
            for k in names:
                self._raw[k] = [t.params.get(k, MISSING) for t in self.trials]
            return
        if len(names) == 1:
            self._raw[names[0]] = rows
            return
        cols = list(zip(*rows)) if rows else [() for _ in names]
        for k, col in zip(names, cols):
            self._raw[k] = list(col)

    def raw(self, name: str) -> list[Any]:
        if name not in self._raw:
            self._raw[name] = [t.params.get(name, MISSING) for t in self.trials]
        return self._raw[name]

    def numeric(self, name: str) -> np.ndarray:
        """Floats; NaN where inactive or not a number (read-only: shared)."""
        if name not in self._num:
            self._num[name] = numeric_column(self.raw(name))
            self._num[name].setflags(write=False)
        return self._num[name]

    def search(self, name: str, param: Param) -> np.ndarray:
        """Floats on ``param``'s search scale (a numeric parameter); NaN where inactive or not a number, -inf
        or NaN where a log scale meets a value <= 0 (read-only: shared)."""
        key = (name, param)
        if key not in self._search:
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.asarray(param.to_search_scale(self.numeric(name)), dtype=float)  # linear: the floats
            x.setflags(write=False)
            self._search[key] = x
        return self._search[key]

    def codes(self, name: str, param: Categorical) -> np.ndarray:
        """Position of each trial's value among ``param.choices`` (-1: inactive or not a declared choice)."""
        key = (name, param)
        if key not in self._codes:
            self._codes[key] = choice_codes(param, self.raw(name))
            self._codes[key].setflags(write=False)
        return self._codes[key]

    def subset(self, index: np.ndarray) -> TrialValues:
        """The values of the trials ``index`` (positions, in that order), derived arrays sliced, not recomputed."""
        index = np.asarray(index, dtype=np.intp)
        sub = TrialValues([self.trials[i] for i in index])
        for k, raw in self._raw.items():
            sub._raw[k] = [raw[i] for i in index]
        for store, out in ((self._num, sub._num), (self._search, sub._search), (self._codes, sub._codes)):
            for key, arr in store.items():
                out[key] = arr[index]
                out[key].setflags(write=False)
        return sub


def main_effect_at(imp: Any, name: str, param: Param, trials: Sequence[Trial],
                   values: TrialValues | None = None) -> np.ndarray:
    """The forest's centred marginal of ``name`` at each trial's value (objective units; 0 if unknown).

    ``values``: the trials' values when already extracted (a :class:`TrialValues` of ``trials``)."""
    out = np.zeros(len(trials))
    if imp is None or name not in getattr(imp, "params", ()):
        return out
    # the result's own curve (read only here, no frame built) when it has one: ``marginal`` copies a frame
    curve = getattr(getattr(imp, "_marginals", None), "curve", None)
    if curve is not None:
        grid_values, f = curve(name)
    else:
        m = imp.marginal(name)
        grid_values, f = list(m["value"]), m["mean"].to_numpy(dtype=float)
    f = f - f.mean()
    values = TrialValues(trials) if values is None else values
    if isinstance(param, Categorical):
        k = values.codes(name, Categorical(list(grid_values)))  # the marginal's row of each choice
        return np.where(k >= 0, f[k], 0.0)
    grid = np.asarray(param.to_search_scale(np.asarray(grid_values, dtype=float)), dtype=float)
    x = values.search(name, param)
    return np.where(np.isfinite(x), np.interp(np.nan_to_num(x), grid, f), 0.0)


# --------------------------------------------------------------------------- pair significance (item 9)

#: Permutations of the pair test (p-value resolution 0.01); ``importance(pair_test=...)`` changes it.
PAIR_PERMUTATIONS = 99
PAIR_ALPHA = 0.05  # family-wise level over all pairs: calibration.py measures the rate of null pairs flagged
#: The test uses at most this many trials (a fixed random subset): its cost is permutations x pairs x trials.
PAIR_MAX_TRIALS = 1000
#: Residuals of the additive fit whose spread is below this fraction of the objective's range are rounding
#: errors (an objective exactly additive on the bins, without noise): every pair gets p = 1. Permuting
#: rounding errors gave arbitrary p-values, down to 0.01 (3 choices x 4 parameters, 200 trials).
ADDITIVE_EXACT = 1e-10
#: One line for the views: the test, its level and its correction.
PAIR_TEST_NOTE = "5% family-wise over all pairs (max-T permutation test of binned residuals, additive null)"


def additive_fit(codes: np.ndarray, y: np.ndarray, n_bins: np.ndarray, *, sweeps: int = 20) -> tuple[np.ndarray, int]:
    """Piecewise-constant additive model by backfitting: ``(fitted values, parameters used)``.

    ``codes``: (n, d) bin index per trial and parameter (-1: inactive, contributes 0). Each update
    works on the running residual (O(n) per parameter, not O(n d)).
    """
    n, d = codes.shape
    y = np.asarray(y, dtype=float)
    f0 = float(y.mean())
    resid = y - f0  # minus every parameter's current part
    steps = []
    for j in range(d):
        col = codes[:, j]
        ok = col >= 0
        b = int(n_bins[j])
        cnt = np.bincount(col[ok], minlength=b)
        inv = np.where(cnt > 0, 1.0 / np.maximum(cnt, 1), 0.0)
        # all active: the bin of every trial; else trials where inactive point at a bin of value 0
        at = col if ok.all() else np.where(ok, col, b)
        g = np.zeros(b + 1)  # the bins' values, and 0 for inactive trials
        steps.append((at, inv, cnt / max(cnt.sum(), 1), np.zeros(n), g, g[:b]))
    for _ in range(sweeps):
        for at, inv, share, part, g, bins in steps:  # in place: 3.5 -> 2.9 ms at 250 x 30
            resid += part
            np.multiply(np.bincount(at, resid, minlength=bins.size)[:bins.size], inv, out=bins)
            bins -= share @ bins
            np.take(g, at, out=part)
            resid -= part
    return y - resid, 1 + int(sum(int(b) - 1 for b in n_bins))


def trial_codes(space: Any, names: Sequence[str], trials: Sequence[Trial], bins: int | None = None,
                values: TrialValues | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) bin codes of the trials (choices for categoricals, ``bins`` (default ``n_bins(n)``) equal-width
    search-scale bins for numerics; -1 where inactive or outside the declared space) and the bins per parameter.
    ``values``: the trials' values when already extracted (a :class:`TrialValues` of ``trials``)."""
    n = len(trials)
    bins = n_bins(n) if bins is None else int(bins)
    nb = np.array([len(space[k].choices) if isinstance(space[k], Categorical) else bins for k in names])
    codes = np.empty((n, len(names)), dtype=np.int64)
    values = TrialValues(trials) if values is None else values
    for j, k in enumerate(names):
        p = space[k]
        if isinstance(p, Categorical):
            codes[:, j] = values.codes(k, p)
        else:
            lo, hi = p.search_bounds
            with np.errstate(divide="ignore", invalid="ignore"):
                pos = (values.search(k, p) - lo) / (hi - lo)
            pos = np.where((pos >= 0) & (pos <= 1), pos, np.nan)  # outside the declared space: not binned
            codes[:, j] = bin_codes(pos, int(nb[j]))
    return codes, nb


def binned_shares(space: Any, names: Sequence[str], trials: Sequence[Trial], y: np.ndarray,
                  imp: Any = None, values: TrialValues | None = None) -> np.ndarray:
    """Binned first-order share of each parameter (see the module docstring), clipped to [0, 1].

    With ``imp`` (a forest result), each share is computed on the objective
    minus the forest's main effects of the *other* parameters (rescaled to the
    objective's variance): with random placement that removes their variance
    from the bin means without biasing this parameter's share. ``values``: the trials' values when already
    extracted (a :class:`TrialValues` of ``trials``).
    """
    values = TrialValues(trials, names) if values is None else values
    codes, nb = trial_codes(space, names, trials, values=values)
    y = np.asarray(y, dtype=float)
    total = float(np.var(y, ddof=1)) if len(y) > 1 else 0.0
    if imp is None:
        resid = np.broadcast_to(y, (len(names), y.size))
    else:
        effects = [main_effect_at(imp, k, space[k], trials, values) for k in names]
        resid = y - (sum(effects) - np.array(effects).reshape(len(names), y.size))
    scale = np.var(resid, axis=1, ddof=1) / total if total > 0 else np.zeros(len(names))
    share = np.zeros(len(names))
    for b in np.unique(nb):  # the parameters with b bins (choices) at once
        js = np.flatnonzero(nb == b)
        share[js] = binned_share(codes[:, js].T, resid[js], int(b))
    # Clipped at 1: with few trials the other parameters' main effects are rough, so the residual can carry
    # more variance than y itself (seen: 1.2 at 38 trials); no share of y's variance exceeds 1.
    return np.clip(share * scale, 0.0, 1.0)


def grid_bins(n: int) -> int:
    """Bins per numeric axis of the pair test's 2-D grid: about 10 trials per cell, 2 to 6 per axis."""
    return int(np.clip(int(math.sqrt(n / TRIALS_PER_BIN)), 2, 6))


def pair_statistics(resid: np.ndarray, ca: np.ndarray, cb: np.ndarray, na: int, nb: int, *,
                    s2: float | None = None) -> np.ndarray:
    """Interaction statistic of one pair for each row of ``resid`` (r, n): the count-weighted sum of squared
    cell means of the residuals on the ``na x nb`` grid, after removing their row and column means, per
    degree of freedom and per unit of residual variance (about 1 without an interaction; ``s2``: that
    variance, the mean over rows of ``resid.var(axis=1)``, computed when not given).
    """
    return pair_statistics_many(resid, np.column_stack([ca, cb]), np.array([na, nb]), [(0, 1)], s2=s2)[0]


#: Pairs whose cell sums run in one call hold at most about this many (pair, trial) entries and as many
#: padded (row, cell) sums (512 KB per array): each batch's passes over its sums stay in the core's cache
#: (2 MB L2 here). Measured against 16 MB batches, same p-values: 23.4 -> 11.5 ms CPU for the whole test at
#: 250 trials x 30 parameters (435 pairs), 98 -> 46 ms at 2,000 x 40, equal at 1,000 x 10 and 150 x 8.
_PAIR_BATCH = 1 << 16


def pair_statistics_many(resid: np.ndarray, codes: np.ndarray, bins: np.ndarray, pairs: Sequence[tuple[int, int]],
                         *, s2: float | None = None) -> np.ndarray:
    """:func:`pair_statistics` of several pairs, ``(pairs, r)``: ``codes`` (n, d) and ``bins`` (d,) per
    parameter, ``pairs`` their column indices (a batch's codes are gathered when it runs, so memory does not
    grow with pairs x trials).

    One sparse product per batch of pairs (grids zero-padded to the largest) gives every row's cell sums
    ``S``; with the counts ``n`` and the row and column means ``r_a``, ``c_b`` (of the row-centred
    residuals), the statistic ``sum (S - n (r_a + c_b))^2 / n`` expands into ``sum S^2 / n`` minus terms
    of the row and column sums only, so one pass over the cells (their squares) does the per-cell work.
    """
    resid = np.atleast_2d(resid)
    r, n = resid.shape
    if s2 is None:
        s2 = float(resid.var(axis=1).mean())
    ii = np.array([i for i, _ in pairs], dtype=np.intp)
    jj = np.array([j for _, j in pairs], dtype=np.intp)
    bins = np.asarray(bins)
    na, nb = bins[ii], bins[jj]
    n_pairs = ii.size
    out = np.zeros((n_pairs, r))
    # Batches bounded in trials and in (row, cell) sums (categoricals with many choices).
    cells = na * nb * r
    per = max(1, _PAIR_BATCH // max(1, n))
    starts = [0]
    while starts[-1] < n_pairs:
        p0 = starts[-1]
        fits = np.cumsum(cells[p0:p0 + per]) <= _PAIR_BATCH
        starts.append(p0 + max(1, int(fits.sum())))
    x = np.ascontiguousarray(resid.T)  # (n, r): one trial's residuals in every row, contiguous
    for p0, p1 in zip(starts[:-1], starts[1:]):
        sl = slice(p0, p1)
        a, b = codes[:, ii[sl]], codes[:, jj[sl]]  # (n, m)
        m = a.shape[1]
        A, B = int(np.max(na[sl])), int(np.max(nb[sl]))
        k = A * B
        ok = (a >= 0) & (b >= 0)
        trial, pair = np.nonzero(ok)  # trial-major: the columns of a sparse (cell x trial) one-hot matrix
        cell = pair * k + a[trial, pair] * B + b[trial, pair]
        cnt = np.bincount(cell, minlength=m * k).reshape(m, A, B).astype(float)
        indptr = np.concatenate([[0], np.cumsum(ok.sum(axis=1))])
        onehot = sparse.csc_matrix((np.ones(cell.size), cell, indptr), shape=(m * k, n))
        sums = (onehot @ x).reshape(m, A, B, r)  # every row's cell sums
        n_a, n_b = cnt.sum(axis=2), cnt.sum(axis=1)  # (m, A), (m, B)
        row_sum, col_sum = sums.sum(axis=2), sums.sum(axis=1)  # (m, A, r), (m, B, r)
        mrow = row_sum / np.maximum(n_a, 1)[:, :, None]
        spill = np.matmul(cnt.transpose(0, 2, 1), mrow)  # (m, B, r): sum_a n_ab r_a
        mcol = (col_sum - spill) / np.maximum(n_b, 1)[:, :, None]  # column means of the row-centred residuals
        np.square(sums, out=sums)
        stat = np.matmul((1.0 / np.maximum(cnt, 1)).reshape(m, 1, k), sums.reshape(m, k, r))[:, 0]
        stat -= 2.0 * ((mrow * row_sum).sum(axis=1) + (mcol * col_sum).sum(axis=1))
        stat += (n_a[:, :, None] * np.square(mrow)).sum(axis=1) + ((n_b[:, :, None] * mcol + 2.0 * spill) * mcol).sum(axis=1)
        stat = np.maximum(stat, 0.0)  # a sum of squares, up to rounding
        used_a, used_b = (n_a > 0).sum(axis=1), (n_b > 0).sum(axis=1)
        df = np.maximum(1, (used_a - 1) * (used_b - 1))
        few = ok.sum(axis=0) < 4
        out[sl] = np.where(few[:, None], 0.0, stat / (df[:, None] * max(s2, 1e-300)))
    return out


def pair_pvalues(exp: Any, objective: str, imp: Any, *, refits: int = PAIR_PERMUTATIONS, seed: int = 0,
                 max_trials: int | None = PAIR_MAX_TRIALS, rounds: Any = None, space: str = "round",
                 values: TrialValues | None = None) -> dict:
    """Family-wise permutation p-value of an interaction for each pair of ``imp.pairwise``.

    Null: the objective is additive in the parameters. The additive part is a
    piecewise-constant backfit on ``n/10`` bins per parameter (4 to 12; the
    choices of a categorical); its residuals carry every interaction. A pair's
    statistic is :func:`pair_statistics` of the residuals on a coarse 2-D grid
    (:func:`grid_bins` per axis; choices for categoricals). The residuals are
    permuted ``refits`` times across trials (which destroys any interaction);
    correction single-step max-T (Westfall-Young): ``p = (1 + #{permutations
    whose largest pair statistic >= the pair's observed one}) / (refits + 1)``,
    so under the null the chance that *any* pair is flagged at ``alpha`` is at
    most ``alpha``. Assumes exchangeable residuals (homoscedastic noise). At
    most ``max_trials`` trials (a fixed random subset) are used.
    ``rounds``/``space`` as given to :func:`hpviz.importance`; ``values``: the values of the trials the
    test selects (COMPLETE with a finite value in those rounds, in order) when already extracted.
    """
    return pair_pvalues_of(exp, objective, list(imp.params), list(imp.pairwise.index), refits=refits, seed=seed,
                           max_trials=max_trials, rounds=rounds, space=space, values=values)


def pair_pvalues_of(exp: Any, objective: str, names: Sequence[str], keys: Sequence[tuple[str, str]], *,
                    refits: int = PAIR_PERMUTATIONS, seed: int = 0, max_trials: int | None = PAIR_MAX_TRIALS,
                    rounds: Any = None, space: str = "round", values: TrialValues | None = None) -> dict:
    """:func:`pair_pvalues` of the pairs ``keys`` among the parameters ``names``, without a result: a pair's
    p-value depends on the pairs tested together, not on their order, so :func:`hpviz.importance` runs it
    while the forest grows."""
    from hpviz.analysis import importance as fanova

    keys = list(keys)
    if not keys:
        return {}
    names = list(names)
    selected, analysed, _ = fanova._round_spaces(exp, rounds, space)
    used = [t for t in exp.completed(objective) if t.round in selected
            and math.isfinite(t.values.get(objective, math.nan))]
    if values is None or len(values.trials) != len(used) or any(a is not b for a, b in zip(values.trials, used)):
        values = TrialValues(used, names)
    rng = np.random.default_rng(seed)
    if max_trials is not None and len(used) > max_trials:
        keep = np.sort(rng.choice(len(used), size=int(max_trials), replace=False))
        used = [used[i] for i in keep]
        values = values.subset(keep)
    y = np.array([t.values[objective] for t in used])
    # Bins of the additive fit: n/10 per parameter (4 to 12) but at most n/5 degrees of freedom in all, so
    # with many parameters the fit does not absorb the noise (measured: 23 parameters at n = 250 with
    # 12 bins each left residuals that flagged a null pair in 15% of runs and the true one in none).
    n = len(used)
    codes, nbins = trial_codes(analysed, names, used, values=values,
                               bins=int(np.clip(min(n_bins(n), 1 + n // (5 * max(len(names), 1))), 2, MAX_BINS)))
    additive, _ = additive_fit(codes, y, nbins)
    resid = y - additive
    if not resid.std() > ADDITIVE_EXACT * np.ptp(y):
        return {k: 1.0 for k in keys}  # additive on the bins up to rounding: no interaction to show
    R = np.vstack([resid] + [rng.permutation(resid) for _ in range(int(refits))])
    coarse, ncoarse = trial_codes(analysed, names, used, bins=grid_bins(len(used)), values=values)
    pos = {k: j for j, k in enumerate(names)}
    stats_ = pair_statistics_many(R, coarse, ncoarse, [(pos[a], pos[b]) for a, b in keys],
                                  s2=float(R.var(axis=1).mean()))
    null_max = stats_[:, 1:].max(axis=0)
    above = (null_max[None, :] >= stats_[:, :1] - 1e-12).sum(axis=1)
    return dict(zip(keys, ((1 + above) / (refits + 1)).tolist()))


def with_pair_test(exp: Any, imp: Any, *, seed: int = 0, pvalues: dict | None = None, **options: Any) -> Any:
    """``imp`` with ``pairwise_p`` filled by :func:`pair_pvalues` (``options`` passed on), or from ``pvalues``
    when already computed for its pairs. No pairs: unchanged."""
    import pandas as pd

    if not len(imp.pairwise):
        return imp
    p = pair_pvalues(exp, imp.objective, imp, seed=seed, **options) if pvalues is None else pvalues
    pvals = pd.Series([p[k] for k in imp.pairwise.index], index=imp.pairwise.index, name="p_value")
    return dataclasses.replace(imp, pairwise_p=pvals)
