"""Calibrated inference shared by the analyses: tail extension for expected-best bands,
equal-budget permutation tests, and multiple-comparison corrections.

Every rate quoted here is measured by ``benchmarks/calibration.py`` against a
known truth; the tests pin the key ones with fixed seeds.

Tail extension (expected-best bands without known bounds)
    The expected best of n draws depends on the tail above the observed best,
    which no distribution-free band can bound. We assume the score's upper tail
    is no heavier than a generalized Pareto tail with shape ``TAIL_SHAPE_MAX``
    (Pareto index >= 3; bounded, normal-like and exponential-like tails all
    qualify) and extend the observed best by ``c * (y_(N) - y_(N-k))``, with
    ``k = round(sqrt(N))`` and ``c`` the quantile of the scale-free pivot
    ``(E[max of m] - y_(N)) / (y_(N) - y_(N-k))`` under that worst-case tail,
    simulated once per ``(N, m, level)`` with a fixed seed.

Equal-budget permutation test (``compare``)
    For two experiments, the statistic at budget b is the difference of the
    unbiased (U-statistic) expected best of ``n_X(b)`` trials, where ``n_X(b)``
    is how many of X's trials fit in b (b / mean cost, cost = 1 trial, seconds
    or steps). Each difference is studentized by its permutation standard
    deviation and the maximum (and minimum) over a grid of budgets is referred
    to its permutation distribution (Westfall-Young max-T), so a verdict at any
    budget is valid simultaneously over budgets. The two directions are tested
    at ``alpha / 2`` each, so false verdicts under the null are not tied to
    which experiment has more trials. Null hypothesis: both experiments'
    (score, cost) pairs are draws from one distribution (exchangeability).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

TAIL_SHAPE_MAX = 1.0 / 3.0  # heaviest upper tail the unbounded band guarantees: Pareto index 3 (finite 3rd moment)
_TAIL_REPS = 8_000  # simulations of the tail pivot (binomial error of the 95% quantile level ~0.25%)
_TAIL_EXACT_TERMS = 200  # Renyi terms simulated exactly; the rest of the sum is normal to ~1e-3
PERMUTATIONS = 1999  # default permutations: smallest p-value 1/2000, enough for Holm over 45 pairs at 5%
GRID_POINTS = 60  # budgets tested per pair; the max-T statistic pays little for more (curves are smooth)
_BLOCK = 1 << 22  # permutation x budget x trial cells per vectorized block

CORRECTIONS = ("holm", "bh", "none")


# --------------------------------------------------------------------------- tail extension


def _gpd_expected_max(m: int, xi: float) -> float:
    """E[max of m draws] of a standard generalized Pareto variable with shape ``xi`` (< 1)."""
    if abs(xi) < 1e-12:
        return float(np.sum(1.0 / np.arange(1, m + 1)))
    return float(math.expm1(gammaln(m + 1) + gammaln(1 - xi) - gammaln(m + 1 - xi)) / xi)


@functools.lru_cache(maxsize=256)
def tail_factor(n_obs: int, m: int, level: float, xi: float = TAIL_SHAPE_MAX) -> tuple[int, float]:
    """``(k, c)`` such that ``y_(N) + c (y_(N) - y_(N-k)) >= E[max of m]`` with probability ``level``.

    Computed for a generalized Pareto tail of shape ``xi`` (the pivot is
    location- and scale-free; lighter tails give smaller pivots, so the factor
    is conservative for them). Deterministic (fixed seed), cached.
    """
    k = max(1, min(n_obs - 1, int(round(math.sqrt(n_obs)))))
    rng = np.random.default_rng(20_191_103)
    J = min(n_obs, max(_TAIL_EXACT_TERMS, k + 1))  # the k-th term must be simulated (k > 200 from 40,000 trials)
    # Renyi: the top order statistics of N Exp(1) are E_(N-i) = sum_{j > i} Z_j / j.
    z = rng.exponential(size=(_TAIL_REPS, J)) / np.arange(1, J + 1)
    tail = np.cumsum(z[:, ::-1], axis=1)[:, ::-1]
    j = np.arange(J + 1, n_obs + 1, dtype=float)
    rest = float(np.sum(1 / j)) + math.sqrt(float(np.sum(1 / j**2))) * rng.standard_normal(_TAIL_REPS)
    e_top, e_k = tail[:, 0] + rest, tail[:, k] + rest
    q = (lambda e: e) if abs(xi) < 1e-12 else (lambda e: np.expm1(xi * e) / xi)
    top, kth = q(e_top), q(e_k)
    pivot = (_gpd_expected_max(m, xi) - top) / (top - kth)
    return k, max(0.0, float(np.quantile(pivot, level)))


def tail_extension(y_sorted: np.ndarray, m: int, level: float) -> tuple[float, float]:
    """Points beyond the data, below and above, for ascending larger-is-better scores."""
    N = len(y_sorted)
    if N < 2:
        return float(y_sorted[0]), float(y_sorted[-1])
    k, c = tail_factor(N, int(m), float(level))
    hi = y_sorted[-1] + c * (y_sorted[-1] - y_sorted[-1 - k])
    lo = y_sorted[0] - c * (y_sorted[k] - y_sorted[0])
    return float(lo), float(hi)


# --------------------------------------------------------------------------- multiple comparisons


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values: Holm (family-wise error), Benjamini-Hochberg (false discovery rate) or none."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0 or method == "none":
        return p.copy()
    order = np.argsort(p, kind="stable")
    ps = p[order]
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ps))
    elif method == "bh":
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ps)[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    else:
        raise ValueError(f"unknown correction {method!r}")
    out = np.empty(m)
    out[order] = adj
    return out


def correction_words(method: str, alpha: float, n_tests: int) -> str:
    if n_tests <= 1 or method == "none":
        return f"level {alpha:g}" + (", no multiple-comparison correction" if n_tests > 1 else "")
    what = ("Holm-corrected family-wise error" if method == "holm"
            else "Benjamini-Hochberg false discovery rate")
    return f"{what} {alpha:g} over {n_tests} pairwise comparisons"


# --------------------------------------------------------------------------- equal-budget permutation test


def _u_weights(N: np.ndarray, n: np.ndarray) -> np.ndarray:
    """U-statistic weights ``C(i-1, n-1) / C(N, n)`` of the i-th smallest of N, for ``i = 1..max(N)``.

    ``N`` and ``n`` (integers) broadcast to a common shape S; returns shape ``S + (max N,)``.
    """
    N = np.asarray(N, dtype=np.int64)[..., None]
    n = np.asarray(n, dtype=np.int64)[..., None]
    top = int(np.max(N))
    lf = gammaln(np.arange(top + 2, dtype=float))  # lf[j] = log((j - 1)!)... shifted: lf[j + 1] = log(j!)
    i = np.arange(1, top + 1)
    ok = (i >= n) & (i <= N)
    # log C(i-1, n-1) - log C(N, n), with log(j!) = lf[j + 1]
    logw = (lf[i] - lf[n] - lf[np.maximum(i - n, 0) + 1]) - (lf[N + 1] - lf[n + 1] - lf[np.maximum(N - n, 0) + 1])
    return np.where(ok, np.exp(np.where(ok, logw, 0.0)), 0.0)


@dataclass(frozen=True)
class PairTest:
    """Result of the equal-budget permutation test of two experiments (larger-is-better scores)."""

    budgets: np.ndarray  # budget grid (in units of the axis)
    diff: np.ndarray  # expected best of a minus that of b at each budget (larger-is-better)
    p_at: np.ndarray  # two-sided max-T p-value at each budget (valid simultaneously over budgets)
    direction_at: np.ndarray  # +1 where a is ahead, -1 where b is ahead
    p_value: float  # two-sided p-value of the pair (min over budgets of p_at)


def equal_budget_test(ya: np.ndarray, ca: np.ndarray, yb: np.ndarray, cb: np.ndarray, *,
                      permutations: int = PERMUTATIONS, seed: int = 0,
                      grid_points: int = GRID_POINTS, blur_a: float = 0.0, blur_b: float = 0.0) -> PairTest:
    """Permutation test of "equal expected best at every common budget" for two experiments.

    ``ya``, ``yb``: larger-is-better scores; ``ca``, ``cb``: cost of each trial
    (all ones for the trials axis). Budgets run over a grid up to the common
    budget ``min(N_X * mean cost_X)``.

    ``blur_a``, ``blur_b``: standard deviation of Gaussian noise added to
    each trial of a (of b) before the test, so that trials measured with
    unequal noise are compared at one noise level (split noise,
    :func:`hpviz.analysis.budget.compare`). One draw per trial, seeded apart
    from the permutations; a trial keeps it when permuted, so the blurred
    values are exchangeable under the null and the test stays exact.
    (Averaging the statistic over several draws is not: a trial of the
    noisier experiment repeats one value in every draw; measured 0.077 false
    verdicts at 20 vs 60 trials, level 0.05.) Both 0 (the default): the plain test.
    """
    ya, yb = np.asarray(ya, float), np.asarray(yb, float)
    ca, cb = np.asarray(ca, float), np.asarray(cb, float)
    na, nb = len(ya), len(yb)
    y = np.concatenate([ya, yb])
    c = np.concatenate([ca, cb])
    top = min(ca.sum(), cb.sum())
    unit = max(ca.mean(), cb.mean())
    trials_axis = bool(np.all(c == 1.0))
    if trials_axis:
        budgets = np.unique(np.round(np.geomspace(1, min(na, nb), grid_points)).astype(int)).astype(float)
    else:
        budgets = np.unique(np.geomspace(unit, top, grid_points))
    rng = np.random.default_rng(seed)
    idx = rng.permuted(np.tile(np.arange(na + nb), (permutations + 1, 1)), axis=1)
    idx[0] = np.arange(na + nb)
    Y, C = y[idx], c[idx]
    stats = np.empty((permutations + 1, len(budgets)))

    def best(Yg: np.ndarray, Cg: np.ndarray) -> np.ndarray:
        Ng = Yg.shape[1]
        Ys = np.sort(Yg, axis=1)
        if trials_axis:  # one budget -> trial count map for every permutation
            # einsum, not BLAS: on these small products a threaded BLAS costs more in start-up than work.
            return np.einsum("ri,gi->rg", Ys, _u_weights(np.full(len(budgets), Ng), np.minimum(budgets, Ng).astype(np.int64)))
        n = np.clip(np.floor(budgets[None, :] / Cg.mean(axis=1, keepdims=True) + 1e-9), 1, Ng).astype(np.int64)
        # Budget -> trial count differs per permutation (mean costs change): weight rows of the counts used.
        used, inv = np.unique(n, return_inverse=True)
        W = _u_weights(np.full(len(used), Ng), used)
        out = np.empty((len(Yg), len(budgets)))
        step = max(1, _BLOCK // max(1, len(used) * Ng))
        rows = np.arange(len(Yg))[:, None]
        inv = inv.reshape(n.shape)
        for s in range(0, len(Yg), step):
            M = np.einsum("ri,ui->ru", Ys[s:s + step], W)
            out[s:s + step] = M[rows[: len(M)], inv[s:s + step]]
        return out

    if blur_a > 0 or blur_b > 0:  # seeded apart from the permutations: they stay the plain test's
        sd = np.concatenate([np.full(na, float(blur_a)), np.full(nb, float(blur_b))])
        Y = Y + (np.random.default_rng([seed, 1]).standard_normal(na + nb) * sd)[idx]
    stats[:] = best(Y[:, :na], C[:, :na]) - best(Y[:, na:], C[:, na:])
    # Moments over all rows, the observed one included: the statistic is then the same symmetric
    # function for every permutation and the test is exact.
    sd = stats.std(axis=0)
    sd = np.where(sd > 0, sd, np.inf)
    T = (stats - stats.mean(axis=0)) / sd
    tmax, tmin = T[1:].max(axis=1), T[1:].min(axis=1)
    obs = T[0]
    p_hi = (1 + (tmax[None, :] >= obs[:, None] - 1e-12).sum(axis=1)) / (permutations + 1)
    p_lo = (1 + (tmin[None, :] <= obs[:, None] + 1e-12).sum(axis=1)) / (permutations + 1)
    p_at = np.minimum(1.0, 2 * np.minimum(p_hi, p_lo))
    direction = np.where(p_hi <= p_lo, 1, -1)
    return PairTest(budgets, stats[0], p_at, direction, float(p_at.min()))


ROUND_ALPHA = 0.05  # two-sided level of "round r beats round r-1" (each direction at most 2.5%)


def round_beats(prev_loss: np.ndarray, cur_loss: np.ndarray, *, permutations: int = PERMUTATIONS,
                seed: int = 0) -> tuple[bool, float]:
    """Whether the current round beats the previous one at equal budgets (smaller loss is better).

    The equal-budget permutation test of :func:`equal_budget_test` on the two
    rounds' usable values; "beats" needs p <= ``ROUND_ALPHA`` with the current
    round ahead at every budget where a difference is established.
    """
    prev_loss, cur_loss = np.asarray(prev_loss, float), np.asarray(cur_loss, float)
    if len(prev_loss) < 2 or len(cur_loss) < 2:
        return False, 1.0
    test = equal_budget_test(-cur_loss, np.ones(len(cur_loss)), -prev_loss, np.ones(len(prev_loss)),
                             permutations=permutations, seed=seed)
    sig = test.p_at <= ROUND_ALPHA
    return bool(sig.any() and (test.direction_at[sig] > 0).all()), test.p_value
