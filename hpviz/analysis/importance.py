"""fANOVA hyperparameter importance (Hutter, Hoos & Leyton-Brown, ICML 2014).

A random forest (the trees scikit-learn's ``RandomForestRegressor`` grows for
the seed with the settings of ``_forest_options``, fitted directly on two
threads) is fitted on the usable trials (a sample of at most ``max_trials``
of them, stratified on the objective), with every parameter on the scale it
was searched in. Each tree's functional ANOVA decomposition under the
uniform measure on the space is exact (:mod:`hpviz.analysis._fanova`: leaf
boxes, 1-D and 2-D difference arrays); results are folded into running
means as the trees are decomposed.

Main-effect variance ``V_j`` is the variance of the 1-D marginal; the
interaction ``V_ij`` is the variance of the 2-D marginal minus ``V_i`` and
``V_j``. Each is divided by the tree's total variance, then averaged over
trees (``individual_std`` is the spread across trees). The fractions are not
renormalized: what they leave out of 1 is the variance in higher-order
interactions (and in the trees' overfitting of noise).

Cost: leaves hold at least ``ceil(n_fit / _MAX_LEAVES)`` trials (and 3 with
150 trials and 10 parameters or more: ``_forest_options``), so a tree has at
most about ``_MAX_LEAVES`` leaves and the pair grids stay bounded as the
number of trials grows; pairs can be screened to the top parameters
(``pairs="top:K"``). Measured curves: ``docs/scale.md``.

Encoding (documented in ``docs/importance.md``):

* numeric parameters on the search scale (``log10`` for ``log=True``),
  bounded by the declared space; ``Int`` cells extend half a step beyond
  ``low``/``high`` so each integer owns an equal share of the range;
* categoricals as integer codes, choice ``c`` owning the unit cell
  ``[c, c + 1)``; a threshold split then partitions the choices and each
  choice keeps exactly its share of the volume;
* values outside the declared space are clipped into it (numerics);
  an undeclared categorical choice, a non-numeric value or an absent
  (inactive) parameter goes to a sentinel below the range, which the trees
  can split off but which lies outside the integrated space. The marginal
  of a parameter inactive in some trials comes from a forest fitted on the
  trials where it is active (:mod:`hpviz.analysis._conditional`).

:func:`importance` runs named steps: usable trials, stratified sample,
forest, pair screening, per-tree decomposition, individual and pairwise
fractions, marginal tables (each built when first read). Each parameter's
column is read from the trials once per call (``TrialValues``) and shared by
the encoding, the binned shares, the placement test and the pair test. The
trees grow on two threads; the placement test and, with every pair tested,
the pair test need no forest: the main thread runs them while the first trees
grow, then decomposes the trees finished so far while the others grow (in
order, batches of at least ``_STREAM_TREES``: the results do not depend on
the batches or the threads).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from hpviz._richrepr import RichResult
from hpviz._validate import check, check_int, keywords_checked
from hpviz._warn import warn
from hpviz.analysis._conditional import active_marginals
from hpviz.analysis._fanova import Expansion, ForestDecomposition, Running, decompose_forest
from hpviz.analysis._importance_stats import (
    PAIR_PERMUTATIONS,
    TrialValues,
    bin_codes,
    binned_shares,
    pair_pvalues_of,
    trial_codes,
    with_pair_test,
)
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, InsufficientDataWarning, SchemaError
from hpviz.schema import Categorical, Int, TrialState

__all__ = ["importance", "Importance", "MIN_TRIALS", "PLACEMENT_ALPHA", "placement_pvalue"]

#: Fewest usable (COMPLETE, finite) trials :func:`importance` accepts.
MIN_TRIALS = 10
#: screen=True: only with at least 10 parameters (with few, the median parameter is a real one), and
#: keeping those whose impurity importance exceeds 4x the median. Measured with 20 dummies at n = 250:
#: dummies reach at most 2x the median (product), real parameters 10-100x (a 7% linear effect: 20x).
SCREEN_MIN_PARAMS = 10
SCREEN_FACTOR = 4.0
#: Share of the parameters a split may choose from (the reference fanova's 7/10).
_FEATURE_SHARE = 0.7


def _forest_options(n: int, d: int) -> dict[str, Any]:
    """Settings of every tree of the forest fitted on ``n`` trials of ``d`` parameters.

    Keys: ``bootstrap`` (a bootstrap draw per tree, as sample counts) and the
    ``DecisionTreeRegressor`` arguments ``splitter``, ``max_features`` and
    ``min_samples_leaf``.

    Trees draw their diversity from feature subsampling (7/10 of the
    parameters per split, at least 2) and are fitted on all trials without
    bootstrap: measured on Ishigami + noise (``benchmarks/importance.py``)
    this shrinks the forest's smoothing of the strongest main effect and the
    spurious interactions compared with scikit-learn's bootstrap default.
    With one or two parameters subsampling would leave a single candidate
    per split, so those forests bootstrap over all parameters instead.

    Leaves hold at least ``ceil(n / _MAX_LEAVES)`` trials, and at least 3
    with 150 trials or more and 10 parameters or more. Measured
    (``benchmarks/importance.py --forests``: Ishigami + d - 3 noise
    parameters, 10 data sets per case, paired differences against fully
    grown trees; ``docs/importance.md``): the floor of 3 lowers the summed
    error of the shares by 0.036 at 250 x 30, 0.011 at 1,000 x 10, 0.026 at
    150 x 10, 0.024 at 250 x 10, 0.025-0.026 with noise added to the
    objective, and the sum of the spurious interactions by 0.001-0.016, the
    true pair's share unchanged within its standard error (at most 0.005
    either way); it cuts the CPU of a call at 250 x 30 by about a third (68
    leaves per tree instead of 250). It is slightly worse on two measures:
    the main effect read on a parameter that acts only through an
    interaction (``x3``, truth 0: +0.004 at 250 x 30, +0.006 at 150 x 10,
    standard errors 0.002-0.003) and the largest spurious pair (+0.003 to
    +0.006). With fewer trials or fewer parameters the floor costs the true
    pair (0.009-0.036 of its share at 50-100 trials, 0.018 at 150 x 3, 0.008
    at 200 x 6: a fully grown leaf is what resolves an interaction when few
    trials spread over few parameters), so there the trees stay fully grown.
    Random thresholds (extra trees: a call 1.2-3.3x cheaper) lost 0.13-0.20
    of summed error, a share of 0.5 or 1.0 of the parameters per split
    0.02-0.09, a cap of 128-256 leaves helped at 1,000 trials and hurt at
    4,000.
    """
    share = max(2, int(_FEATURE_SHARE * d))
    floor = _MIN_LEAF if n >= _MIN_LEAF_TRIALS and d >= _MIN_LEAF_PARAMS else 1
    min_leaf = max(floor, math.ceil(n / _MAX_LEAVES))
    options: dict[str, Any] = {"splitter": "best", "min_samples_leaf": min_leaf}
    if share >= d:
        return {**options, "bootstrap": True, "max_features": 1.0}
    return {**options, "bootstrap": False, "max_features": share}


#: Evaluation points of a numeric 1-D marginal curve.
_GRID_1D = 100
#: Evaluation points per numeric axis of a 2-D marginal.
_GRID_2D = 25


#: Default ``max_trials``: the forest is fitted on a stratified sample of at most this many trials.
MAX_TRIALS = 10_000
#: Trees grow until a leaf would hold fewer than ``ceil(n_fit / _MAX_LEAVES)`` trials, so a tree has at
#: most ``_MAX_LEAVES`` leaves and the pair grids (``(leaves / d)^2`` cells) stay bounded in n. Measured on
#: Ishigami + 7 noise parameters (3 seeds): 512 is as accurate as fully grown trees at 1,000 and 4,000
#: trials (summed absolute error 0.241 vs 0.256 and 0.137 vs 0.148) and 1.6-2.2x faster.
_MAX_LEAVES = 512
#: With at least ``_MIN_LEAF_TRIALS`` trials and ``_MIN_LEAF_PARAMS`` parameters, leaves hold at least
#: ``_MIN_LEAF`` trials (measured in ``_forest_options``).
_MIN_LEAF = 3
_MIN_LEAF_TRIALS = 150
_MIN_LEAF_PARAMS = 10
#: ``pairs="auto"``: every pair up to this many parameters, else pairs among the top ``_AUTO_TOP``.
_AUTO_TOP = 24
#: Family-wise level of the placement test (``placement_p``): below it the trials are taken to be placed
#: unlike random search, and the views do not show the binned estimate. Random search is called
#: concentrated in at most about 1% of runs (measured: ``docs/importance.md``, ``tests/test_importance.py``).
PLACEMENT_ALPHA = 0.01
#: Integer parameters with more values than this are binned like floats in the placement test.
_PLACEMENT_MAX_INTS = 100_000


@dataclass(frozen=True, eq=False)
class Importance(RichResult):
    """Result of :func:`importance`.

    Attributes
    ----------
    objective:
        The objective analysed.
    params:
        Parameter names analysed, in search-space order.
    individual:
        ``name -> fraction of the total variance`` explained by the parameter
        alone (main effect), mean over trees, sorted descending. Not
        renormalized to sum to 1.
    individual_std:
        Standard deviation of ``individual`` across trees (same index order).
    pairwise:
        ``(a, b) -> fraction of variance`` in the pure two-way interaction of
        ``a`` and ``b``, sorted descending; empty when ``pairs=False``.
    pairwise_std:
        Standard deviation of ``pairwise`` across trees.
    n_used:
        Trials the forest was fitted on (COMPLETE with a finite value).
    n_excluded:
        Trials left out; ``excluded`` breaks them down by reason (state
        name, or ``non-finite`` for COMPLETE trials without a finite value).
    inactive, clipped:
        Per parameter, how many used trials had it absent (or not a declared
        choice) and how many had a numeric value outside the declared bounds
        (clipped into them).
    total_variance:
        Mean over trees of the variance of the tree's prediction over the space.
    n_trees, seed:
        Forest settings used.
    individual_binned:
        Binned first-order share of each parameter, computed on the trials
        (noise-corrected variance of the bin means of the objective minus the
        forest's main effects of the other parameters; same order as
        ``individual``). Less biased than the forest for small effects and
        with many parameters when the trials spread over the space (random
        search, early rounds): see ``docs/importance.md``.
    pairwise_p:
        Per pair, the permutation p-value of an interaction under an additive
        null (binned residuals of an additive fit, ``pair_test``
        permutations), family-wise over all pairs (max-T): at 0.05 the chance
        that any pair is flagged when none interacts is at most 5% (measured
        in ``benchmarks/calibration.py``). ``None`` with ``pair_test=0`` or
        ``pairs=False``.
    n_fit:
        Trials the forest was fitted on: ``n_used``, or a sample of
        ``max_trials`` stratified on the objective when there are more.
    pair_params:
        Parameters whose pairs were computed (all of them, the screened top
        ``K``, or none).
    budget:
        ``None`` normally; the budget level (step) whose values were analysed when the
        experiment had too few COMPLETE trials and the highest budget reached by enough
        trials was used instead (see :mod:`hpviz.analysis.rungs`).
    placement_p:
        Whether the trials are placed as random search places them, which the binned estimate
        (``individual_binned``) assumes: the family-wise p-value (Bonferroni over the parameters) of
        chi-square tests of each parameter's trial counts in the binned estimate's bins (choices for
        categoricals) against the shares the uniform measure on the search scale gives them (an
        integer's share is its cell's). Below :data:`PLACEMENT_ALPHA` a sampler concentrated the trials
        and the views hide the binned estimate (``docs/importance.md``).
    marginal_trials:
        Per parameter, the number of trials its marginal was computed over:
        ``n_used``, or for a conditional parameter (inactive in some used
        trials) the trials where it is active (see :meth:`marginal`).
    """

    objective: str
    params: tuple[str, ...]
    individual: pd.Series
    individual_std: pd.Series
    pairwise: pd.Series
    pairwise_std: pd.Series
    n_used: int
    n_excluded: int
    excluded: dict[str, int]
    inactive: pd.Series
    clipped: pd.Series
    total_variance: float
    n_trees: int
    seed: int
    n_fit: int = 0
    pair_params: tuple[str, ...] = ()
    _marginals: Mapping[str, pd.DataFrame] = field(repr=False, default_factory=dict)
    _surfaces: Any = field(repr=False, default=None)
    individual_binned: pd.Series | None = field(repr=False, default=None)
    pairwise_p: pd.Series | None = field(repr=False, default=None)
    budget: float | None = None
    marginal_trials: pd.Series | None = field(repr=False, default=None)
    placement_p: float | None = field(repr=False, default=None)

    def __repr__(self) -> str:
        top = ", ".join(f"{k}={v:.3f}" for k, v in self.individual.head(5).items())
        return (f"Importance(objective={self.objective!r}, n_used={self.n_used}, n_excluded={self.n_excluded}, "
                f"n_trees={self.n_trees}, individual: {top}{', ...' if len(self.individual) > 5 else ''})")

    def to_dataframe(self, pairwise: bool = False) -> pd.DataFrame:
        """One row per parameter: ``param, importance, std, inactive, clipped`` (descending importance).

        ``pairwise=True``: one row per pair instead, ``a, b, importance, std`` (and ``p_value`` when
        the pairs were tested, see ``pairwise_p``).
        """
        if pairwise:
            df = pd.DataFrame({"a": [a for a, _ in self.pairwise.index], "b": [b for _, b in self.pairwise.index],
                               "importance": self.pairwise.to_numpy(), "std": self.pairwise_std.to_numpy()},
                              columns=["a", "b", "importance", "std"])
            if self.pairwise_p is not None:
                df["p_value"] = self.pairwise_p.reindex(self.pairwise.index).to_numpy()
            return df
        names = list(self.individual.index)
        return pd.DataFrame({"param": names, "importance": self.individual.to_numpy(),
                             "std": self.individual_std.to_numpy(),
                             "inactive": self.inactive[names].to_numpy(), "clipped": self.clipped[names].to_numpy()})

    def marginal(self, name: str) -> pd.DataFrame:
        """Marginal prediction of the objective as a function of one parameter.

        Returns
        -------
        pandas.DataFrame
            Columns ``value`` (on the parameter's original scale: a grid over
            the declared range for numerics, one row per choice for
            categoricals), ``mean`` (forest mean of the marginal) and ``std``
            (its spread across trees). ``df.attrs["n_trials"]`` is the number
            of trials it was computed over.

        A conditional parameter (inactive in some used trials) has the
        marginal of a forest fitted on the trials where it is active, so
        the curve describes the branch where the parameter exists, not an
        average with branches where it does not (``marginal_trials`` says
        over how many trials; ``docs/importance.md``).
        """
        if name not in self._marginals:
            raise SchemaError(f"unknown parameter {name!r}; analysed: {list(self.params)}")
        df = self._marginals[name].copy()
        counts = self.marginal_trials
        df.attrs["n_trials"] = int(counts[name]) if counts is not None and name in counts.index else self.n_used
        return df

    def marginal2(self, a: str, b: str) -> pd.DataFrame:
        """Joint marginal of two parameters (needs ``pairs=True``).

        Returns
        -------
        pandas.DataFrame
            Long format, columns ``value_a``, ``value_b``, ``mean``, ``std``;
            ``value_a`` varies slowest. ``df.pivot(index="value_a",
            columns="value_b", values="mean")`` gives a heat map.
        """
        for name in (a, b):
            if name not in self.params:
                raise SchemaError(f"unknown parameter {name!r}; analysed: {list(self.params)}")
        if a == b:
            raise SchemaError("marginal2 needs two different parameters")
        surfaces = self._surfaces
        if surfaces is None or ((a, b) not in surfaces.index and (b, a) not in surfaces.index):
            raise SchemaError(f"the pair ({a!r}, {b!r}) was not computed (pairs among {list(self.pair_params)}); "
                              "call hpviz.importance(..., pairs=True) for every pair")
        if (a, b) in surfaces.index:
            return surfaces.frame((a, b))
        df = surfaces.frame((b, a))
        # Stored with b slowest: transpose the (len(b), len(a)) block order.
        n_a = int((df["value_a"] == df["value_a"].iloc[0]).sum())
        order = np.arange(len(df)).reshape(-1, n_a).T.ravel()
        df = df.iloc[order].rename(columns={"value_a": "value_b", "value_b": "value_a"})
        return df[["value_a", "value_b", "mean", "std"]].reset_index(drop=True)


# --------------------------------------------------------------------------- encoding


@dataclass
class _Encoded:
    names: list[str]
    X: np.ndarray  # (n, d) search-scale values mapped to [0, 1]; -1 (sentinel) for inactive
    lo: np.ndarray  # (d,) integration bounds (0 and 1 after the mapping)
    hi: np.ndarray
    grid_values: list[list[Any]]  # per param: marginal grid on the original scale
    grid_points: list[np.ndarray]  # per param: the same points on the encoded scale
    grid2_values: list[list[Any]]
    grid2_points: list[np.ndarray]
    inactive: np.ndarray
    clipped: np.ndarray


def _numeric_grid(param: Any, lo: float, hi: float, n: int) -> tuple[list[Any], np.ndarray]:
    """Marginal evaluation points: ``(original-scale values, encoded values)``."""
    if isinstance(param, Int):
        count = (param.high - param.low) // param.step + 1
        if count <= n:
            ints = np.arange(param.low, param.high + 1, param.step)
        else:
            raw = param.from_search_scale(np.linspace(*param.search_bounds, n))
            ints = np.unique(param.low + np.round((raw - param.low) / param.step) * param.step)
            ints = np.clip(ints, param.low, param.high)
        values = [int(v) for v in ints]
        return values, param.to_search_scale(ints.astype(float))
    points = np.linspace(lo, hi, n)
    return [float(v) for v in param.from_search_scale(points)], points


def _cell_bounds(p: Any, low: float, high: float) -> tuple[float, float]:
    """Search-scale ends of ``[low, high]``; an ``Int`` owns a cell of one step per integer
    (a split between k and k + step lands on the cell boundary)."""
    if isinstance(p, Int):
        half = 0.5 * p.step
        low = low - half if not p.log or low - half > 0 else 0.5 * low
        high = high + half
    a, b = p.to_search_scale([low, high])
    return float(a), float(b)


def _subset(enc: _Encoded, keep: list[int]) -> _Encoded:
    """The encoding restricted to the parameters ``keep``."""
    return _Encoded([enc.names[j] for j in keep], enc.X[:, keep], enc.lo[keep], enc.hi[keep],
                    [enc.grid_values[j] for j in keep], [enc.grid_points[j] for j in keep],
                    [enc.grid2_values[j] for j in keep], [enc.grid2_points[j] for j in keep],
                    enc.inactive[keep], enc.clipped[keep])


def _round_spaces(exp: Any, rounds: Any, space: str) -> tuple[set[int], dict[str, Any], dict[str, Any]]:
    """(selected round indices, space integrated over, fit ranges: per numeric the union of the selected
    rounds' ranges, per categorical whose choices changed the union of its choices as a Categorical)."""
    n_rounds = len(exp.rounds)
    if rounds is None:
        selected = list(range(n_rounds))
    else:
        items = [rounds] if isinstance(rounds, numbers.Integral) and not isinstance(rounds, bool) else rounds
        try:
            selected = sorted({int(r) for r in items if not isinstance(r, bool)})
            ok = len(selected) == len(list(items)) and selected and all(0 <= r < n_rounds for r in selected)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise SchemaError(f"rounds must be None, a round index or indices within 0..{n_rounds - 1}, got {rounds!r}")
    if space not in ("round", "union"):
        raise SchemaError(f"space must be 'round' or 'union', got {space!r}")
    analysed: dict[str, Any] = {}
    for r in range(selected[-1] + 1):  # definitions as of the latest selected round
        analysed.update(exp.rounds[r].space)
    fit: dict[str, Any] = {}
    for name, p in analysed.items():
        if isinstance(p, Categorical):
            # Choices any selected round declared, the analysed round's first: a choice dropped in a
            # later round keeps its own cell outside the integrated space (not the inactive sentinel).
            union = list(p.choices)
            for r in selected:
                q = exp.rounds[r].space.get(name) if name in exp.rounds[r].space else None
                if isinstance(q, Categorical):
                    union += [c for c in q.choices if not Categorical(tuple(union)).contains(c)]
            if len(union) > len(p.choices):
                fit[name] = Categorical(tuple(union))
                if space == "union":
                    analysed[name] = fit[name]
            continue
        defs = [exp.rounds[r].space[name] for r in selected if name in exp.rounds[r].space]
        defs = [q for q in defs if not isinstance(q, Categorical)]
        lows, highs = [q.low for q in defs] + [p.low], [q.high for q in defs] + [p.high]
        fit[name] = (min(lows), max(highs))
        if space == "union" and fit[name] != (p.low, p.high):
            analysed[name] = dataclasses.replace(p, low=fit[name][0], high=fit[name][1])
    return set(selected), analysed, fit


def _encode(exp: Any, trials: Sequence[Any], params: dict[str, Any] | None = None,
            fit_ranges: dict[str, Any] | None = None, values: TrialValues | None = None) -> _Encoded:
    """Encode the trials for the forest.

    ``params``: the space integrated over (default: every parameter's latest
    definition). ``fit_ranges``: per numeric parameter, a wider ``(low, high)``
    (original scale) the trials are placed in without clipping, e.g. the union
    of the ranges several rounds searched; the integration box is then the
    sub-box of ``params`` inside it. For a categorical, a ``Categorical`` with
    the union of the choices (``params``' first): trials at a choice the
    analysed round dropped keep their own cell, outside the integrated box.
    ``values``: the trials' values when already extracted (a ``TrialValues`` of ``trials``).
    """
    params = exp.all_params() if params is None else params
    fit_ranges = fit_ranges or {}
    names = list(params)
    values = TrialValues(trials, names) if values is None else values
    n, d = len(trials), len(names)
    X = np.empty((n, d))
    lo = np.empty(d)
    hi = np.empty(d)
    box_lo, box_hi = np.zeros(d), np.ones(d)
    grids, points, grids2, points2 = [], [], [], []
    inactive = np.zeros(d, dtype=int)
    clipped = np.zeros(d, dtype=int)
    for j, name in enumerate(names):
        p = params[name]
        if isinstance(p, Categorical):
            # ``fit_ranges[name]``: the union of the rounds' choices (``p``'s first); dropped choices own cells
            # past ``len(p.choices)``, outside the integrated box.
            union = fit_ranges.get(name, p)
            codes = values.codes(name, union).astype(float)
            active = codes >= 0
            lo[j], hi[j] = 0.0, float(len(union.choices))
            box_hi[j] = len(p.choices) / len(union.choices)
            x = codes + 0.5  # the centre of the choice's unit cell
            grids.append(list(p.choices))
            points.append(np.arange(len(p.choices)) + 0.5)
            grids2.append(list(p.choices))
            points2.append(np.arange(len(p.choices)) + 0.5)
        else:
            vals = values.numeric(name)
            active = ~np.isnan(vals)  # +-inf counts as out of space and is clipped
            f_low, f_high = fit_ranges.get(name, (p.low, p.high))
            f_low, f_high = min(f_low, p.low), max(f_high, p.high)
            clipped[j] = int(np.sum(active & ((vals < f_low) | (vals > f_high))))
            vals = np.clip(vals, f_low, f_high)

            a_lo, a_hi = _cell_bounds(p, float(p.low), float(p.high))  # integrated over
            lo[j], hi[j] = _cell_bounds(p, float(f_low), float(f_high))  # fitted in
            box_lo[j], box_hi[j] = (a_lo - lo[j]) / (hi[j] - lo[j]), (a_hi - lo[j]) / (hi[j] - lo[j])
            x = p.to_search_scale(vals)
            for store_v, store_p, size in ((grids, points, _GRID_1D), (grids2, points2, _GRID_2D)):
                gv, gp = _numeric_grid(p, a_lo, a_hi, size)
                store_v.append(gv)
                store_p.append(gp)
        inactive[j] = int(np.sum(~active))
        # Sentinel one range-width below the space: the midpoint between it and
        # any active value is <= lo, so such a split never cuts the space.
        X[:, j] = np.where(active, x, lo[j] - (hi[j] - lo[j]))
    # Fit and integrate on [0, 1] per parameter: scikit-learn's trees compare
    # in float32, which a raw range such as [0, 1e40] would overflow.
    span = hi - lo
    X = (X - lo) / span
    points = [(pt - lo[j]) / span[j] for j, pt in enumerate(points)]
    points2 = [(pt - lo[j]) / span[j] for j, pt in enumerate(points2)]
    return _Encoded(names, X, box_lo, box_hi, grids, points, grids2, points2, inactive, clipped)


# --------------------------------------------------------------------------- importance: named steps


def _usable_trials(exp: Any, objective: str, selected: set[int]) -> tuple[list[Any], dict[str, int]]:
    """COMPLETE trials with a finite value of the selected rounds (at least MIN_TRIALS), the others counted by reason."""
    excluded: dict[str, int] = {}
    used = []
    for t in exp.trials:
        if t.round not in selected:
            excluded["other round"] = excluded.get("other round", 0) + 1
        elif t.state is not TrialState.COMPLETE:
            excluded[t.state.value] = excluded.get(t.state.value, 0) + 1
        elif not math.isfinite(t.values.get(objective, math.nan)):
            excluded["non-finite"] = excluded.get("non-finite", 0) + 1
        else:
            used.append(t)
    if len(used) < MIN_TRIALS:
        raise InsufficientDataError(
            f"importance needs at least {MIN_TRIALS} COMPLETE trials with a finite {objective!r}; "
            f"have {len(used)} ({sum(excluded.values())} excluded: {excluded or 'none'})",
            have=len(used), need=MIN_TRIALS,
        )
    return used, excluded


def _stratified_sample(y: np.ndarray, size: int | None, seed: int) -> np.ndarray | None:
    """Indices of a sample of ``size`` trials stratified on the objective, or ``None`` for all trials.

    The trials sorted by value are cut into ``size`` equal strata and one
    trial is drawn at random from each, so the sample keeps the objective's
    distribution (its tails included) while the parameters stay as sampled.
    """
    n = y.size
    if size is None or n <= size:
        return None
    rng = np.random.default_rng(seed)
    order = np.argsort(y, kind="stable")
    pos = np.floor((np.arange(size) + rng.uniform(size=size)) * (n / size)).astype(np.intp)
    return np.sort(order[np.minimum(pos, n - 1)])


def _parse_pairs(pairs: Any, d: int) -> int:
    """How many top parameters the pairs are computed among (``d`` = all pairs, 0 = none)."""
    if pairs is True:
        return d
    if pairs is False:
        return 0
    if pairs == "auto":
        return d if d <= _AUTO_TOP else _AUTO_TOP
    if isinstance(pairs, str) and pairs.startswith("top:"):
        try:
            k = int(pairs[4:])
        except ValueError:
            k = -1
        if k >= 2:
            return min(k, d)
    raise SchemaError(f"pairs must be True, False, 'auto' or 'top:K' with an integer K >= 2; got {pairs!r}")


@dataclass(frozen=True)
class _Forest:
    """The fitted trees and their impurity importance (as ``RandomForestRegressor`` exposes them)."""

    estimators_: list[Any]

    @property
    def feature_importances_(self) -> np.ndarray:
        """Mean over the trees that split of each tree's normalized impurity importance, normalized."""
        split = [t.feature_importances_ for t in self.estimators_ if t.tree_.node_count > 1]
        if not split:
            return np.zeros(self.estimators_[0].n_features_in_)
        mean = np.mean(split, axis=0, dtype=np.float64)
        return mean / np.sum(mean)


#: Threads the trees are fitted on (tree building releases the GIL).
_FIT_THREADS = 2
#: With every pair and no screening, the trees are decomposed while the others grow, at least this many at a
#: time (a batch's fixed cost is a few milliseconds; results do not depend on the batches).
_STREAM_TREES = 16


def _fit_forest(X: np.ndarray, y: np.ndarray, n_trees: int, seed: int) -> _Forest:
    """Fit the forest (trees as :func:`_forest_options` sets them)."""
    return _grow_forest(X, y, n_trees, seed).result()


class _Growing:
    """Trees growing on :data:`_FIT_THREADS` threads (started by :func:`_grow_forest`); :meth:`result` waits."""

    def __init__(self, grow: Any, seeds: np.ndarray):
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(min(_FIT_THREADS, seeds.size))
        self._futures = [self._pool.submit(grow, s) for s in seeds]

    def result(self) -> _Forest:
        try:
            return _Forest([f.result() for f in self._futures])
        finally:
            self.close()

    def batches(self, least: int) -> Any:
        """The trees in order as they finish: each time every finished tree after those given, at least
        ``least`` of them (waited for) or the rest."""
        futures, i = self._futures, 0
        while i < len(futures):
            j = min(i + least, len(futures))
            for f in futures[i:j]:
                f.result()
            while j < len(futures) and futures[j].done():
                j += 1
            yield [f.result() for f in futures[i:j]]
            i = j

    def close(self) -> None:
        """Stop: trees not started are cancelled, running ones finish."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _grow_forest(X: np.ndarray, y: np.ndarray, n_trees: int, seed: int) -> _Growing:
    """Start fitting the forest in the background (see :func:`_fit_forest`).

    The trees are the ones ``RandomForestRegressor(n_estimators=n_trees, random_state=seed, ...)`` grows (the
    same per-tree seeds and bootstrap draws; ``tests/test_importance.py`` checks it), fitted on two threads
    without the ensemble's per-tree cloning and parameter validation (measured at 250 x 30: 108 vs 119 ms
    CPU, 59 vs 72 ms wall), so the caller can work meanwhile: tree building releases the GIL.
    """
    from sklearn import config_context
    from sklearn.tree import DecisionTreeRegressor

    n, d = X.shape
    options = dict(_forest_options(n, d))
    bootstrap = options.pop("bootstrap")
    X32 = np.ascontiguousarray(X, dtype=np.float32)  # what the trees split on (scikit-learn compares in float32)
    y64 = np.ascontiguousarray(y, dtype=np.float64)
    seeds = np.random.RandomState(seed).randint(np.iinfo(np.int32).max, size=int(n_trees))

    per_thread = threading.local()

    def grow(tree_seed: int) -> Any:
        # One RandomState per thread, re-seeded for each use: the same draws as RandomState(tree_seed), whose
        # constructor first seeds itself from OS entropy (72 of a tree's ~1,200 us at 250 x 30: 6 ms a forest).
        state = getattr(per_thread, "state", None)
        if state is None:
            state = per_thread.state = np.random.RandomState()
        weight = None
        if bootstrap:  # a bootstrap sample as counts, drawn from the tree's seed
            state.seed(int(tree_seed))
            weight = np.bincount(state.randint(0, n, n), minlength=n)
        state.seed(int(tree_seed))  # the tree draws its splitter's seed from it when the fit starts
        tree = DecisionTreeRegressor(**options, random_state=state)
        with config_context(skip_parameter_validation=True):  # thread-local: set in the worker
            tree.fit(X32, y64, sample_weight=weight, check_input=False)
        tree.random_state = int(tree_seed)  # the tree's parameters as RandomState(tree_seed) gives them, not the
        return tree  # thread's generator (whose state depends on which trees that thread fitted)

    return _Growing(grow, seeds)


def _screen(forest: _Forest, d: int, top: int) -> list[tuple[int, int]]:
    """Pairs among the ``top`` parameters with the largest impurity importance (all pairs when ``top == d``).

    Impurity importance counts every split on a parameter, including splits
    that only matter jointly with another parameter, so a pure interaction
    without main effects survives the screening (a ranking by main effects
    would drop it).
    """
    if top >= d:
        keep = list(range(d))
    elif top <= 0:
        return []
    else:
        keep = sorted(np.argsort(-forest.feature_importances_, kind="stable")[:top].tolist())
    return [(i, j) for a, i in enumerate(keep) for j in keep[a + 1:]]


def _decompose(forest: Any, enc: _Encoded, X: np.ndarray, y: np.ndarray, pair_idx: list[tuple[int, int]],
               n_trees: int, seed: int, screen: bool, done: ForestDecomposition | None = None
               ) -> tuple[ForestDecomposition, _SurfaceSource]:
    """Decompose the forest (pairs' fractions, no surfaces); with ``screen``, a forest refitted on the
    standing-out parameters instead. Also returns what the pairs' 2-D marginals are computed from.
    ``done``: the forest's decomposition when already made while it grew (no refit)."""
    d = len(enc.names)
    keep = list(range(d))
    if screen and d >= SCREEN_MIN_PARAMS:
        # Refit on the parameters whose impurity importance stands out from the typical one.
        fi = forest.feature_importances_
        keep = [j for j in range(d) if fi[j] > SCREEN_FACTOR * np.median(fi)] or [int(np.argmax(fi))]
    if len(keep) == d:
        source = _SurfaceSource(list(forest.estimators_), enc.lo, enc.hi, enc.grid_points, enc.grid2_points)
        return source.decompose(pair_idx, surfaces=False) if done is None else done, source
    sub = _subset(enc, keep)
    forest = _fit_forest(X[:, keep], y, n_trees, seed)
    source = _SurfaceSource(list(forest.estimators_), sub.lo, sub.hi, sub.grid_points, sub.grid2_points, keep,
                            enc.grid_points, enc.grid2_points)
    return source.decompose(pair_idx, surfaces=False), source


@dataclass
class _SurfaceSource:
    """A decomposed forest kept to compute pairs' 2-D marginals when asked for (or a constant objective's).

    ``lo``, ``hi`` and the grids describe the parameters the trees were fitted on: all of them, or
    ``keep`` (full indices) among ``full_grid_points`` / ``full_grid2_points`` after screening.
    """

    trees: list[Any]
    lo: np.ndarray
    hi: np.ndarray
    grid_points: Sequence[np.ndarray]
    grid2_points: Sequence[np.ndarray]
    keep: list[int] | None = None
    full_grid_points: Sequence[np.ndarray] | None = None
    full_grid2_points: Sequence[np.ndarray] | None = None
    constant: float | None = None

    def decompose(self, pairs: list[tuple[int, int]], surfaces: bool) -> ForestDecomposition:
        """The forest's decomposition with ``pairs`` (full indices)."""
        if self.keep is None:
            return decompose_forest(self.trees, self.lo, self.hi, self.grid_points, self.grid2_points, pairs,
                                    surfaces=surfaces)
        pos = {j: k for k, j in enumerate(self.keep)}
        sub_pairs = [(pos[i], pos[j]) for i, j in pairs if i in pos and j in pos]
        return decompose_forest(self.trees, self.lo, self.hi, self.grid_points, self.grid2_points, sub_pairs,
                                Expansion(self.keep, self.full_grid_points, self.full_grid2_points, pairs),
                                surfaces=surfaces)

    def surface(self, i: int, j: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and across-tree spread of the 2-D marginal of ``(i, j)`` at its evaluation points, flattened."""
        if self.constant is not None:
            return np.full(shape[0] * shape[1], self.constant), np.zeros(shape[0] * shape[1])
        dec = self.decompose([(i, j)], surfaces=True)
        return np.asarray(dec.marg2.mean, dtype=float), np.asarray(dec.marg2.std(), dtype=float)


def _constant(enc: _Encoded, y: np.ndarray, pair_idx: list[tuple[int, int]], objective: str
              ) -> tuple[ForestDecomposition, _SurfaceSource]:
    """An all-zero decomposition (with flat marginals at the constant) for a constant objective."""
    warn(f"objective {objective!r} is constant over the {y.size} usable trials; all importances are zero",
         InsufficientDataWarning)
    d = len(enc.names)
    main, inter = Running(), Running()
    main.add(np.zeros(d))
    inter.add(np.zeros(len(pair_idx)))
    marg1 = []
    for p in enc.grid_points:
        r = Running()
        r.add(np.full(p.size, y[0]))
        marg1.append(r)
    dec = ForestDecomposition(1, 0.0, main, inter, marg1, Running(), np.zeros(1, dtype=np.int64), [])
    return dec, _SurfaceSource([], enc.lo, enc.hi, enc.grid_points, enc.grid2_points, constant=float(y[0]))


def _individual(dec: ForestDecomposition, names: list[str]) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Main-effect fractions averaged over trees (and their spread), sorted descending (ties in parameter
    order), and that order (positions in ``names``)."""
    mean = np.asarray(dec.main.mean, dtype=float)
    order = np.argsort(-mean, kind="stable")
    index = pd.Index([names[j] for j in order])
    return (pd.Series(mean[order], index=index, name="importance"),
            pd.Series(np.asarray(dec.main.std(), dtype=float)[order], index=index, name="importance_std"), order)


def _pairwise(dec: ForestDecomposition, names: list[str], pair_idx: list[tuple[int, int]]
              ) -> tuple[pd.Series, pd.Series]:
    """Pure two-way interaction fractions averaged over trees (and their spread), sorted descending."""
    if not pair_idx:
        pairwise = pd.Series([], dtype=float, name="importance", index=pd.Index([], dtype=object))
        return pairwise, pairwise.rename("importance_std")
    pair_names = [(names[i], names[j]) for i, j in pair_idx]
    pw = pd.Series(dec.inter.mean, index=pd.Index(pair_names, tupleize_cols=False), name="importance")
    pw_std = pd.Series(dec.inter.std(), index=pw.index, name="importance_std")
    porder = np.argsort(-pw.to_numpy(), kind="stable")
    return pw.iloc[porder], pw_std.iloc[porder]


class _Marginals(Mapping[str, pd.DataFrame]):
    """1-D marginals of the parameters (forest mean and spread across trees on each grid), each as a frame
    built when first read; ``overrides``: frames already made (conditional parameters' restricted forests).

    Building every frame cost ~2 ms of a 75 ms call at 250 x 30 (pandas, not the numbers); the binned
    shares read the curves without frames (:meth:`curve`).
    """

    def __init__(self, names: Sequence[str], values: Sequence[list[Any]], categorical: Sequence[bool],
                 dec_marg1: Sequence[Running], overrides: dict[str, pd.DataFrame]):
        self._index = {name: j for j, name in enumerate(names)}
        self._values, self._categorical, self._marg1 = values, categorical, dec_marg1
        self._frames = dict(overrides)

    def __getitem__(self, name: str) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            j = self._index[name]
            frame = self._frames[name] = pd.DataFrame({
                "value": pd.Series(self._values[j], dtype=object if self._categorical[j] else None),
                "mean": self._marg1[j].mean,
                "std": self._marg1[j].std(),
            })
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def curve(self, name: str) -> tuple[list[Any], np.ndarray]:
        """The marginal's grid values and forest mean (not copies: read only)."""
        frame = self._frames.get(name)
        if frame is not None:
            return list(frame["value"]), frame["mean"].to_numpy(dtype=float)
        j = self._index[name]
        return self._values[j], np.asarray(self._marg1[j].mean, dtype=float)


@dataclass(frozen=True)
class _Surfaces:
    """2-D marginals of the computed pairs, each computed from the kept forest when first asked for.

    The fractions need no surfaces; computing every pair's surface for every tree cost as much as the
    fractions and held pairs x 625 values per aggregate (gigabytes with hundreds of parameters).
    """

    index: dict[tuple[str, str], int]
    pairs: list[tuple[int, int]]
    values: list[tuple[list[Any], list[Any], bool, bool]]  # per pair: grids of a and b, categorical flags
    source: _SurfaceSource
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def frame(self, key: tuple[str, str]) -> pd.DataFrame:
        k = self.index[key]
        va, vb, cat_a, cat_b = self.values[k]
        if k not in self.cache:
            self.cache[k] = self.source.surface(*self.pairs[k], (len(va), len(vb)))
        mean, std = self.cache[k]
        return pd.DataFrame({
            "value_a": pd.Series([a for a in va for _ in vb], dtype=object if cat_a else None),
            "value_b": pd.Series([b for _ in va for b in vb], dtype=object if cat_b else None),
            "mean": mean,
            "std": std,
        })


def _surfaces(space: dict[str, Any], enc: _Encoded, source: _SurfaceSource, pair_idx: list[tuple[int, int]]
              ) -> _Surfaces:
    cat = [isinstance(space[name], Categorical) for name in enc.names]
    index = {(enc.names[i], enc.names[j]): k for k, (i, j) in enumerate(pair_idx)}
    values = [(enc.grid2_values[i], enc.grid2_values[j], cat[i], cat[j]) for i, j in pair_idx]
    return _Surfaces(index, list(pair_idx), values, source)


# --------------------------------------------------------------------------- placement test


def _expected_shares(p: Any, nbins: int) -> np.ndarray | None:
    """Share of the uniform measure on the search scale in each of ``nbins`` bins of ``trial_codes``.

    ``None`` for a float (equal shares). An integer's share is its cell's (one step around it on the search
    scale, as the forest integrates); the bin of an integer is the bin of its value.
    """
    if not isinstance(p, Int):
        return None
    count = (p.high - p.low) // p.step + 1
    if count > _PLACEMENT_MAX_INTS:
        return None
    ints = p.low + p.step * np.arange(count, dtype=float)
    half = 0.5 * p.step
    a, b = _cell_bounds(p, float(p.low), float(p.high))
    edges = np.asarray(p.to_search_scale(np.concatenate([ints - half, [ints[-1] + half]])), dtype=float)
    edges[0], edges[-1] = a, b
    lo, hi = p.search_bounds
    codes = bin_codes((np.asarray(p.to_search_scale(ints), dtype=float) - lo) / (hi - lo), nbins)
    return np.bincount(codes, np.diff(edges), minlength=nbins) / (b - a)


def placement_pvalue(space: dict[str, Any], names: Sequence[str], trials: Sequence[Any],
                     values: TrialValues | None = None) -> float:
    """Family-wise p-value that the trials are placed as random search places them (see ``placement_p``).

    ``values``: the trials' values when already extracted (a ``TrialValues`` of ``trials``)."""
    from scipy.special import chdtrc  # the chi-square survival function (scipy.stats.chi2.sf without its checks)

    codes, nb = trial_codes(space, names, trials, values=values)
    stats, dfs, impossible = [], [], 0
    for j, name in enumerate(names):
        c = codes[:, j]
        c = c[c >= 0]
        k = int(nb[j])
        if c.size < 2 or k < 2:
            continue
        observed = np.bincount(c, minlength=k).astype(float)
        share = _expected_shares(space[name], k)
        share = np.full(k, 1.0 / k) if share is None else share
        expected = share * c.size
        if np.any(observed[expected <= 0] > 0):
            impossible += 1  # trials where random search puts none: p = 0
            continue
        ok = expected > 0
        stats.append(float(np.sum((observed[ok] - expected[ok]) ** 2 / expected[ok])))
        dfs.append(max(1, int(ok.sum()) - 1))
    tests = len(stats) + impossible
    if not tests:
        return 1.0
    smallest = 0.0 if impossible else float(np.min(chdtrc(np.array(dfs, dtype=float), np.array(stats))))
    return min(1.0, tests * smallest)


# --------------------------------------------------------------------------- public entry point


@keywords_checked
def importance(
    obj: Any,
    objective: str | None = None,
    *,
    pairs: bool | str = "auto",
    n_trees: int = 64,
    seed: int = 0,
    max_trials: int | None = MAX_TRIALS,
    pair_test: int | None = None,
    rounds: Any = None,
    space: str = "round",
    screen: bool = False,
) -> Importance:
    """fANOVA importance of each hyperparameter (and pair) for one objective.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    objective:
        Which objective to analyse; default the primary. Its direction does
        not matter (variance is the same for ``f`` and ``-f``).
    pairs:
        Pairwise interactions and 2-D marginals to compute. ``True``: every
        pair; ``False``: none; ``"top:K"``: the pairs among the ``K``
        parameters with the largest impurity importance in the forest (which
        counts splits in interactions too, so a pure interaction without main
        effects is kept); ``"auto"`` (default): every pair up to 24
        parameters, else ``"top:24"``. ``pair_params`` on the result says
        which parameters were paired.
    n_trees:
        Trees in the random forest.
    seed:
        Random state of the forest (and of the sample); equal seeds give
        equal results.
    max_trials:
        Fit the forest on a sample of at most this many usable trials,
        stratified on the objective (default 10,000; ``None``: all). The
        sample's effect on the estimates is measured in ``docs/scale.md``;
        ``n_fit`` on the result says how many trials were used.

    pair_test:
        Permutations of the pairs' significance test (``pairwise_p``: an
        additive null, max-T over all pairs, see ``docs/importance.md``);
        ``None`` (default) runs :data:`PAIR_PERMUTATIONS` when pairs are
        computed, ``0`` skips it. Cheap: no forest is refitted.
    rounds:
        Steering rounds whose trials are used: ``None`` (all), an index or a
        sequence of indices. Trials are placed at the values they were
        sampled at (the union of the ranges the selected rounds declared),
        never clipped onto a narrowed range.
    screen:
        With at least ``SCREEN_MIN_PARAMS`` parameters: fit a first forest,
        keep the parameters whose impurity importance exceeds ``SCREEN_FACTOR``
        times the median, and decompose a forest refitted on those only; the
        others get zero importance and flat marginals. Fewer splits on
        parameters that do not matter: measured, the pure interaction of a
        product with 20 dummy parameters reads 0.78 instead of 0.15 at n =
        250 (truth 1.0). Off by default: a weak real effect can be screened out.
    space:
        Space the decomposition integrates over: ``"round"`` (default, the
        declared space of the latest selected round) or ``"union"`` (each
        numeric range widened to the union of the selected rounds' ranges).

    Returns
    -------
    Importance
        Individual and pairwise variance fractions (not renormalized),
        their spread across trees, and marginal curves.

    Raises
    ------
    InsufficientDataError
        Fewer than :data:`MIN_TRIALS` COMPLETE trials with a finite value, and no
        budget level (step of the learning curves) that many trials reached. With
        such a level (runs that stop most trials early) the importance is computed
        from the values there, with a warning, and ``.budget`` is set.
    SchemaError
        Unknown objective, ``n_trees < 1``, ``max_trials`` below
        :data:`MIN_TRIALS`, or a ``pairs`` value not listed above.

    Warns
    -----
    hpviz.InsufficientDataWarning
        When the objective is constant over the usable trials (all
        importances are then zero).
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    n_trees = check_int("n_trees", n_trees, 1)
    if max_trials is not None:
        max_trials = check_int("max_trials", max_trials, MIN_TRIALS)
    check("screen", screen, bool)
    if pair_test is None:
        pair_test = PAIR_PERMUTATIONS if pairs is not False else 0
    pair_test = check_int("pair_test (permutations)", pair_test, 0)
    if pair_test and pairs is False:
        raise SchemaError("pair_test needs pairs (True, 'auto' or 'top:K')")
    if not exp.all_params():
        # nothing to attribute variance to: too little data (a study with no trials yet), not a malformed one
        raise InsufficientDataError("importance needs at least one searched parameter; this experiment has none "
                                    "(no trials yet, or a space that holds no parameter)")
    selected, analysed, fit_ranges = _round_spaces(exp, rounds, space)
    top = _parse_pairs(pairs, len(analysed))
    try:
        used, excluded = _usable_trials(exp, objective, selected)
    except InsufficientDataError:
        from hpviz.analysis.rungs import at_highest_budget  # early-stopped runs: the highest budget with enough trials

        rung = at_highest_budget(exp, objective, MIN_TRIALS)
        if rung is None:
            raise
        warn(f"importance: {rung.note}", InsufficientDataWarning)
        found = importance(rung.experiment, objective, pairs=pairs, n_trees=n_trees, seed=seed, pair_test=pair_test,
                           rounds=rounds, space=space, screen=screen, max_trials=max_trials)
        return replace(found, budget=rung.budget)
    values = TrialValues(used, list(analysed))  # every parameter's column, extracted once for every step
    enc = _encode(exp, used, analysed, fit_ranges, values)
    y_all = np.array([t.values[objective] for t in used])
    sample = _stratified_sample(y_all, max_trials, seed)
    X = enc.X if sample is None else enc.X[sample]
    y = y_all if sample is None else y_all[sample]
    d = len(enc.names)
    pvalues = None  # of the pair test, when it ran early
    if np.ptp(y) == 0:
        pair_idx = [(i, j) for i in range(top) for j in range(i + 1, top)]
        dec, source = _constant(enc, y, pair_idx, objective)
        placement = placement_pvalue(analysed, enc.names, used, values)
    else:
        growing = _grow_forest(X, y, n_trees, seed)
        done = None
        every = [(i, j) for i in range(d) for j in range(i + 1, d)]
        # What needs no forest runs here while the first trees grow: the placement test, and with every pair the
        # pair test (~14 ms of CPU at 250 x 30, about as long as the first batch of trees takes); then the trees
        # are decomposed as they finish. On a thread of its own instead (which paid while the test took twice as
        # long) it contended with the decomposition for the GIL: measured at 250 x 30 on two idle cores, fresh
        # processes alternating, 27 x 9 calls: 74.5 ms a call (123.5 ms CPU) on its thread, 71.7 (117.6) here.
        tested = [(enc.names[i], enc.names[j]) for i, j in every] if pair_test and top >= d else []
        try:
            placement = placement_pvalue(analysed, enc.names, used, values)
            if tested:
                pvalues = pair_pvalues_of(exp, objective, enc.names, tested, refits=int(pair_test), seed=seed,
                                          rounds=rounds, space=space, values=values)
            if top >= d and not (screen and d >= SCREEN_MIN_PARAMS):  # every pair, no refit: decompose as they grow
                done = decompose_forest(growing.batches(_STREAM_TREES), enc.lo, enc.hi, enc.grid_points,
                                        enc.grid2_points, every, surfaces=False)
        except BaseException:
            growing.close()
            raise
        forest = growing.result()
        pair_idx = _screen(forest, d, top)
        dec, source = _decompose(forest, enc, X, y, pair_idx, n_trees, seed, screen, done)
    individual, individual_std, order = _individual(dec, enc.names)
    pairwise, pairwise_std = _pairwise(dec, enc.names, pair_idx)
    paired = sorted({k for ij in pair_idx for k in ij})
    restricted, over = active_marginals(exp, objective, used, enc.names, n_trees=n_trees, seed=seed,
                                        rounds=rounds, space=space, max_trials=max_trials)
    marginals = _Marginals(enc.names, enc.grid_values, [isinstance(analysed[k], Categorical) for k in enc.names],
                           dec.marg1, restricted)
    result = Importance(
        objective=objective,
        params=tuple(enc.names),
        individual=individual,
        individual_std=individual_std,
        pairwise=pairwise,
        pairwise_std=pairwise_std,
        n_used=len(used),
        n_excluded=sum(excluded.values()),
        excluded=excluded,
        inactive=pd.Series(enc.inactive, index=enc.names, name="inactive"),
        clipped=pd.Series(enc.clipped, index=enc.names, name="clipped"),
        total_variance=dec.total,
        n_trees=dec.n_trees,
        seed=seed,
        n_fit=int(y.size),
        pair_params=tuple(enc.names[j] for j in paired),
        _marginals=marginals,
        _surfaces=_surfaces(analysed, enc, source, pair_idx),
        marginal_trials=pd.Series([over[k] for k in enc.names], index=enc.names, name="marginal_trials"),
    )
    binned = binned_shares(analysed, enc.names, used, y_all, result, values)[order]  # in the order of individual
    result = dataclasses.replace(result, individual_binned=pd.Series(binned, index=individual.index,
                                                                     name="importance_binned"),
                                 placement_p=placement)
    if pair_test:
        result = with_pair_test(exp, result, seed=seed, refits=int(pair_test), rounds=rounds, space=space,
                                values=values, pvalues=pvalues)
    return result
