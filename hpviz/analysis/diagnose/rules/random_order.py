"""``not-better-than-random``: are later trials better than earlier ones, and better than random order?

A one-sided Mann-Whitney U test finds the later half of the values no better
than the earlier half, *and* the best-so-far curve is no better (smaller
area, min direction) than the curves of the same values in random order
(permutation test, N_PERMUTATIONS permutations with a fixed seed). Both
p-values are at least ALPHA. The permutation quantiles are kept as the
diagnosis' ``random_band`` (product ``"random_band"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from hpviz._numbers import fmt
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import (
    ALPHA,
    MAX_BAND_POINTS,
    MIN_TRIALS,
    N_PERMUTATIONS,
    PERMUTATION_CELLS,
)


def _permutation_curves(z: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Areas of N_PERMUTATIONS random-order best-so-far curves, and their values at the kept positions."""
    n = z.size
    rng = np.random.default_rng(seed)
    # The band is kept at up to MAX_BAND_POINTS positions (always including the last).
    keep = np.unique(np.linspace(0, n - 1, min(n, MAX_BAND_POINTS)).round().astype(np.int64))
    area_perm = np.empty(N_PERMUTATIONS)
    kept = np.empty((N_PERMUTATIONS, keep.size))
    rows = max(1, PERMUTATION_CELLS // n)  # permutations per block: bounded memory for any run length
    for start in range(0, N_PERMUTATIONS, rows):
        stop = min(N_PERMUTATIONS, start + rows)
        curves = np.minimum.accumulate(rng.permuted(np.broadcast_to(z, (stop - start, n)), axis=1), axis=1)
        area_perm[start:stop] = curves.mean(axis=1)
        kept[start:stop] = curves[:, keep]
    return area_perm, kept, keep


@rule("not-better-than-random")
def random_order(ctx: Context) -> list[Finding]:
    if ctx.n_usable < MIN_TRIALS:
        return []
    cols = ctx.cols
    use = cols.usable
    z = cols.loss[use]
    n = z.size
    half = n // 2
    early, late = z[:half], z[half:]
    # One-sided: are late values smaller (better) than early ones?
    p_better = float(stats.mannwhitneyu(late, early, alternative="less").pvalue)
    p_worse = float(stats.mannwhitneyu(late, early, alternative="greater").pvalue)
    area_obs = np.minimum.accumulate(z).mean()
    area_perm, kept, keep = _permutation_curves(z, ctx.seed)
    # Small when the observed curve reaches good values sooner than random orderings do.
    p_curve = float((1 + np.sum(area_perm <= area_obs + 1e-12 * abs(area_obs))) / (N_PERMUTATIONS + 1))
    q = np.quantile(kept, [0.05, 0.5, 0.95], axis=0)
    sign = cols.sign
    if sign < 0:
        q = -q[::-1]
    ctx.products["random_band"] = pd.DataFrame({"low": q[0], "median": q[1], "high": q[2]},
                                               index=pd.Index(cols.numbers[use][keep], name="trial"))
    if p_better < ALPHA or p_curve < ALPHA:
        return []
    med_e, med_l = float(np.median(sign * early)), float(np.median(sign * late))
    direction_hint = ""
    if p_worse < ALPHA:
        direction_hint = (f" Later trials are even significantly worse (p = {p_worse:.2g}): check that the "
                          f"direction ('{cols.direction}') matches the objective.")
    msg = (f"Later trials are not better than earlier ones: median {fmt(med_l)} over the last {late.size} "
           f"trials vs {fmt(med_e)} over the first {early.size} (one-sided Mann-Whitney p = {p_better:.2g}), "
           f"and the best-so-far curve is no better than the same {n} values in random order (permutation "
           f"p = {p_curve:.2g}, {N_PERMUTATIONS} permutations).{direction_hint} For a random search this is "
           f"expected; for a model-based sampler it means it is not learning from the results: check that the "
           f"objective is not dominated by noise, give the sampler more startup trials or a narrower space "
           f"(hpviz.suggest_space), or try another sampler.")
    return [Finding("not-better-than-random", "warning", msg, (), {
        "p_value": p_better, "p_value_curve": p_curve, "p_value_worse": p_worse,
        "n_early": float(early.size), "n_late": float(late.size), "median_early": med_e, "median_late": med_l,
        "n_permutations": float(N_PERMUTATIONS)})]
