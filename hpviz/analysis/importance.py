"""fANOVA hyperparameter importance (Hutter, Hoos & Leyton-Brown, ICML 2014).

A random forest (scikit-learn ``RandomForestRegressor``) is fitted on the
usable trials, with every parameter on the scale it was searched in. Each
tree partitions the bounded search space into axis-aligned leaf boxes with a
constant prediction, so the tree's functional ANOVA decomposition under the
uniform measure on the space is exact:

* the mean ``f0`` and total variance are volume-weighted sums over leaves;
* the marginal of parameter ``j`` (the prediction averaged over all the
  other parameters) is piecewise constant on the grid of the tree's split
  points in ``j``; it is accumulated from the leaves with a difference array
  and a cumulative sum (O(leaves + cells), no loop over samples or cells);
* the marginal of a pair ``(i, j)`` likewise on the 2-D grid, with a 2-D
  difference array and two cumulative sums.

Main-effect variance ``V_j`` is the variance of the 1-D marginal; the
interaction ``V_ij`` is the variance of the 2-D marginal minus ``V_i`` and
``V_j``. Each is divided by the tree's total variance, then averaged over
trees (``individual_std`` is the spread across trees). The fractions are not
renormalized: what they leave out of 1 is the variance in higher-order
interactions (and in the trees' overfitting of noise).

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
  can split off but which lies outside the integrated space.

:func:`importance` runs named steps: usable trials, forest and per-tree
decomposition, individual and pairwise fractions, marginal tables. The
module is over 600 lines on purpose: the exact per-tree decomposition (leaf
boxes, 1-D and 2-D difference arrays, batched small grids) is one algorithm
whose pieces share the block-size constants (``_MAX_CELLS``, ``_SMALL_GRID``)
tests patch here; splitting it would scatter them.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hpviz._numbers import as_float
from hpviz._richrepr import RichResult
from hpviz._validate import check, check_int, keywords_checked
from hpviz._warn import warn
from hpviz.analysis._importance_stats import binned_shares, pair_pvalues
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import InsufficientDataError, InsufficientDataWarning, SchemaError
from hpviz.schema import Categorical, Int, TrialState

__all__ = ["importance", "Importance", "MIN_TRIALS"]

#: Fewest usable (COMPLETE, finite) trials :func:`importance` accepts.
MIN_TRIALS = 10
#: screen=True: only with at least 10 parameters (with few, the median parameter is a real one), and
#: keeping those whose impurity importance exceeds 4x the median. Measured with 20 dummies at n = 250:
#: dummies reach at most 2x the median (product), real parameters 10-100x (a 7% linear effect: 20x).
SCREEN_MIN_PARAMS = 10
SCREEN_FACTOR = 4.0
#: Share of the parameters a split may choose from (the reference fanova's 7/10).
_FEATURE_SHARE = 0.7


def _forest_options(d: int) -> dict[str, Any]:
    """Forest settings beyond ``n_trees``/``seed``.

    Trees draw their diversity from feature subsampling (7/10 of the
    parameters per split, at least 2) and are fitted on all trials without
    bootstrap: measured on Ishigami + noise (``benchmarks/importance.py``)
    this shrinks the forest's smoothing of the strongest main effect and the
    spurious interactions compared with scikit-learn's bootstrap default.
    With one or two parameters subsampling would leave a single candidate
    per split, so those forests bootstrap over all parameters instead.
    """
    share = max(2, int(_FEATURE_SHARE * d))
    if share >= d:
        return {"bootstrap": True, "max_features": 1.0}
    return {"bootstrap": False, "max_features": share}


#: Largest 2-D marginal grid block held in memory at once (cells).
_MAX_CELLS = 1 << 22
#: Pairwise grids up to this many cells are computed in batches.
_SMALL_GRID = 1 << 12
#: Evaluation points of a numeric 1-D marginal curve.
_GRID_1D = 100
#: Evaluation points per numeric axis of a 2-D marginal.
_GRID_2D = 25


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
        With ``pair_test > 0``: per pair, the permutation p-value of its
        interaction share under an additive null (main effects kept,
        residuals permuted, forest refitted ``pair_test`` times). ``None``
        otherwise. At level 0.05 the rate of null pairs flagged is measured
        in ``benchmarks/calibration.py``.
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
    _marginals: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)
    _marginals2: dict[tuple[str, str], pd.DataFrame] = field(repr=False, default_factory=dict)
    individual_binned: pd.Series | None = field(repr=False, default=None)
    pairwise_p: pd.Series | None = field(repr=False, default=None)

    def __repr__(self) -> str:
        top = ", ".join(f"{k}={v:.3f}" for k, v in self.individual.head(5).items())
        return (f"Importance(objective={self.objective!r}, n_used={self.n_used}, n_excluded={self.n_excluded}, "
                f"n_trees={self.n_trees}, individual: {top}{', ...' if len(self.individual) > 5 else ''})")

    def to_dataframe(self, pairwise: bool = False) -> pd.DataFrame:
        """One row per parameter: ``param, importance, std, inactive, clipped`` (descending importance).

        ``pairwise=True``: one row per pair instead, ``a, b, importance, std``.
        """
        if pairwise:
            return pd.DataFrame({"a": [a for a, _ in self.pairwise.index], "b": [b for _, b in self.pairwise.index],
                                 "importance": self.pairwise.to_numpy(), "std": self.pairwise_std.to_numpy()},
                                columns=["a", "b", "importance", "std"])
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
            (its spread across trees).
        """
        if name not in self._marginals:
            raise SchemaError(f"unknown parameter {name!r}; analysed: {list(self.params)}")
        return self._marginals[name].copy()

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
        if not self._marginals2:
            raise SchemaError("pairwise marginals were not computed; call hpviz.importance(..., pairs=True)")
        if (a, b) in self._marginals2:
            return self._marginals2[(a, b)].copy()
        df = self._marginals2[(b, a)]
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


def _expand(res: dict[str, Any], keep: list[int], enc: _Encoded, pair_idx: list[tuple[int, int]]) -> dict[str, Any]:
    """A screened tree's decomposition on all parameters: screened-out ones have no effect (flat marginals)."""
    d = len(enc.names)
    pos = {j: k for k, j in enumerate(keep)}
    f0 = res["f0"]
    main = np.zeros(d)
    main[keep] = res["main"]
    marg1 = [res["marg1"][pos[j]] if j in pos else np.full(enc.grid_points[j].size, f0) for j in range(d)]
    sub_pairs = {(a, b): k for k, (a, b) in enumerate((a, b) for a in range(len(keep)) for b in range(a + 1, len(keep)))}
    inter = np.zeros(len(pair_idx))
    marg2 = []
    for k, (i, j) in enumerate(pair_idx):
        shape = (enc.grid2_points[i].size, enc.grid2_points[j].size)
        if i in pos and j in pos and (pos[i], pos[j]) in sub_pairs:
            inter[k] = res["inter"][sub_pairs[(pos[i], pos[j])]]
            marg2.append(res["marg2"][sub_pairs[(pos[i], pos[j])]])
        elif i in pos:
            m = np.interp(enc.grid2_points[i], enc.grid_points[i], res["marg1"][pos[i]])
            marg2.append(np.broadcast_to(m[:, None], shape).copy())
        elif j in pos:
            m = np.interp(enc.grid2_points[j], enc.grid_points[j], res["marg1"][pos[j]])
            marg2.append(np.broadcast_to(m[None, :], shape).copy())
        else:
            marg2.append(np.full(shape, f0))
    return {"total": res["total"], "f0": f0, "main": main, "inter": inter, "marg1": marg1, "marg2": marg2}


def _round_spaces(exp: Any, rounds: Any, space: str) -> tuple[set[int], dict[str, Any], dict[str, tuple[float, float]]]:
    """(selected round indices, space integrated over, numeric fit ranges: union of the selected rounds')."""
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
    fit: dict[str, tuple[float, float]] = {}
    for name, p in analysed.items():
        if isinstance(p, Categorical):
            continue
        defs = [exp.rounds[r].space[name] for r in selected if name in exp.rounds[r].space]
        defs = [q for q in defs if not isinstance(q, Categorical)]
        lows, highs = [q.low for q in defs] + [p.low], [q.high for q in defs] + [p.high]
        fit[name] = (min(lows), max(highs))
        if space == "union" and fit[name] != (p.low, p.high):
            analysed[name] = dataclasses.replace(p, low=fit[name][0], high=fit[name][1])
    return set(selected), analysed, fit


def _encode(exp: Any, trials: Sequence[Any], params: dict[str, Any] | None = None,
            fit_ranges: dict[str, tuple[float, float]] | None = None) -> _Encoded:
    """Encode the trials for the forest.

    ``params``: the space integrated over (default: every parameter's latest
    definition). ``fit_ranges``: per numeric parameter, a wider ``(low, high)``
    (original scale) the trials are placed in without clipping, e.g. the union
    of the ranges several rounds searched; the integration box is then the
    sub-box of ``params`` inside it.
    """
    params = exp.all_params() if params is None else params
    fit_ranges = fit_ranges or {}
    names = list(params)
    n, d = len(trials), len(names)
    X = np.empty((n, d))
    lo = np.empty(d)
    hi = np.empty(d)
    box_lo, box_hi = np.zeros(d), np.ones(d)
    grids, points, grids2, points2 = [], [], [], []
    inactive = np.zeros(d, dtype=int)
    clipped = np.zeros(d, dtype=int)
    missing = object()
    for j, name in enumerate(names):
        p = params[name]
        raw = [t.params.get(name, missing) for t in trials]
        if isinstance(p, Categorical):
            codes = np.array([-1 if v is missing or not p.contains(v) else p.index(v) for v in raw], dtype=float)
            active = codes >= 0
            lo[j], hi[j] = 0.0, float(len(p.choices))
            x = codes + 0.5  # the centre of the choice's unit cell
            grids.append(list(p.choices))
            points.append(np.arange(len(p.choices)) + 0.5)
            grids2.append(list(p.choices))
            points2.append(np.arange(len(p.choices)) + 0.5)
        else:
            vals = np.array([math.nan if v is missing else as_float(v) for v in raw])
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


# --------------------------------------------------------------------------- per-tree decomposition


def _leaf_boxes(tree: Any, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds ``(lower, upper)`` of every leaf box, clipped to the space, and leaf values.

    Propagates bounds top-down one depth level at a time, vectorized over the
    nodes of the level.
    """
    t = tree.tree_
    left, right = t.children_left, t.children_right
    feat = t.feature
    n_nodes, d = t.node_count, lo.size
    lower = np.empty((n_nodes, d))
    upper = np.empty((n_nodes, d))
    lower[0], upper[0] = lo, hi
    # Thresholds outside the space (sentinel splits) clip to its boundary:
    # the outer child then has zero width and drops out.
    safe_feat = np.where(feat >= 0, feat, 0)
    thr = np.clip(t.threshold, lo[safe_feat], hi[safe_feat])
    frontier = np.array([0])
    while frontier.size:
        parents = frontier[left[frontier] >= 0]
        if not parents.size:
            break
        lc, rc, f, th = left[parents], right[parents], feat[parents], thr[parents]
        lower[lc] = lower[parents]
        upper[lc] = upper[parents]
        upper[lc, f] = np.minimum(upper[parents, f], th)
        lower[rc] = lower[parents]
        upper[rc] = upper[parents]
        lower[rc, f] = np.maximum(lower[parents, f], th)
        frontier = np.concatenate([lc, rc])
    leaves = left < 0
    return lower[leaves], upper[leaves], t.value[leaves, 0, 0].astype(float)


def _eval_cells(edges: np.ndarray, cells: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Value of a piecewise-constant function (cell ``k`` = ``[edges[k], edges[k+1])``) at ``x``."""
    idx = np.searchsorted(edges, x, side="right") - 1
    return cells[np.clip(idx, 0, cells.size - 1)]


def _grid2(rows: np.ndarray, cols: np.ndarray, wts: np.ndarray, ni: int, nj: int, ci: np.ndarray,
           cj: np.ndarray, ri: np.ndarray, rj: np.ndarray) -> tuple[float, np.ndarray]:
    """Integrate a 2-D difference array: the variance of the (centred) grid and its values at ``ri x rj``.

    Works through blocks of at most :data:`_MAX_CELLS` cells, carrying the
    running column sums across blocks, so memory stays bounded however many
    splits the trees made.
    """
    block = max(1, _MAX_CELLS // nj)
    if block < ni:  # events grouped by row block
        order = np.argsort(rows, kind="stable")
        rows, cols, wts = rows[order], cols[order], wts[order]
        cuts = np.searchsorted(rows, np.arange(0, ni + block, block))
    else:
        cuts = np.array([0, rows.size])
    var2 = 0.0
    surface = np.empty((ri.size, rj.size))
    carry = np.zeros(nj)
    for b, r0 in enumerate(range(0, ni, block)):
        r1 = min(r0 + block, ni)
        sl = slice(cuts[b], cuts[b + 1])
        grid = np.bincount((rows[sl] - r0) * nj + cols[sl], wts[sl], minlength=(r1 - r0) * nj)
        grid = grid.reshape(r1 - r0, nj)
        grid[0] += carry
        np.cumsum(grid, axis=0, out=grid)
        carry = grid[-1].copy()
        np.cumsum(grid, axis=1, out=grid)
        # The trailing row/column are 0 and carry zero width.
        var2 += ci[r0:r1] @ np.square(grid) @ cj
        inside = (ri >= r0) & (ri < r1)
        surface[inside] = grid[ri[inside] - r0][:, rj]
    return float(var2), surface


def _small_pairs(batch: list[tuple[int, int, int]], start: list[np.ndarray], stop: list[np.ndarray],
                 mass: np.ndarray, width: np.ndarray, cellw: list[np.ndarray], at2: list[np.ndarray],
                 main: np.ndarray, f0: float, inter: np.ndarray, marg2: list[np.ndarray]) -> None:
    """Pairwise grids of several pairs at once, zero-padded to a common shape.

    ``batch`` holds ``(pair index, row parameter, column parameter)``; the
    row parameter may be the pair's second one (the surface is transposed
    back). Padding cells lie past every leaf's end, where the cumulative sums
    are 0, and get zero width. Fills ``inter`` and ``marg2``.
    """
    ks = np.array([m[0] for m in batch])
    ii = np.array([m[1] for m in batch])
    jj = np.array([m[2] for m in batch])
    n_rows = max(cellw[i].size for i in ii)  # grid edges (cells + 1) along each axis
    n_cols = max(cellw[j].size for j in jj)
    S, E = np.stack(start, axis=1), np.stack(stop, axis=1)  # (leaves, d)
    si, ei, sj, ej = S[:, ii], E[:, ii], S[:, jj], E[:, jj]  # (leaves, pairs)
    w = mass[:, None] / (width[:, ii] * width[:, jj])
    base = np.arange(len(batch)) * (n_rows * n_cols)
    idx = np.concatenate([(base + si * n_cols + sj).ravel(), (base + ei * n_cols + ej).ravel(),
                          (base + si * n_cols + ej).ravel(), (base + ei * n_cols + sj).ravel()])
    wts = np.concatenate([w.ravel(), w.ravel(), -w.ravel(), -w.ravel()])
    grid = np.bincount(idx, wts, minlength=len(batch) * n_rows * n_cols).reshape(len(batch), n_rows, n_cols)
    np.cumsum(grid, axis=1, out=grid)
    np.cumsum(grid, axis=2, out=grid)
    ci = np.zeros((len(batch), n_rows))
    cj = np.zeros((len(batch), n_cols))
    for p, (k, i, j) in enumerate(batch):
        ci[p, : cellw[i].size] = cellw[i]
        cj[p, : cellw[j].size] = cellw[j]
        surface = grid[p][np.ix_(at2[i], at2[j])]
        marg2[k] = f0 + (surface if i < j else surface.T)
    var2 = np.einsum("pr,pr->p", ci, np.einsum("prc,pc->pr", np.square(grid), cj))
    inter[ks] = var2 - main[ii] - main[jj]


def _decompose_tree(tree: Any, enc: _Encoded, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    lo, hi = enc.lo, enc.hi
    span = hi - lo
    lower, upper, value = _leaf_boxes(tree, lo, hi)
    width = np.maximum(upper - lower, 0.0) / span  # fraction of each dimension's range
    vol = np.prod(width, axis=1)
    keep = vol > 0
    lower, upper, value, width, vol = lower[keep], upper[keep], value[keep], width[keep], vol[keep]
    d = lo.size
    f0 = float(vol @ value)
    centred = value - f0
    total = float(vol @ centred**2)
    # Centred prediction x volume. The leaves covering one cell of a marginal
    # grid tile the other dimensions with total measure 1, so marginals of the
    # centred predictions are the centred marginals.
    mass = centred * vol

    main = np.zeros(d)
    marg1 = []
    edges_all, start, stop, cellw = [], [], [], []
    for j in range(d):
        edges = np.unique(np.concatenate([lower[:, j], upper[:, j]]))
        s = np.searchsorted(edges, lower[:, j])
        e = np.searchsorted(edges, upper[:, j])
        w = mass / width[:, j]
        diff = np.bincount(s, w, minlength=edges.size) - np.bincount(e, w, minlength=edges.size)
        cells = np.cumsum(diff)  # last entry is 0: all leaves have ended
        c = np.append(np.diff(edges) / span[j], 0.0)
        main[j] = c @ cells**2
        marg1.append(f0 + _eval_cells(edges, cells[:-1], enc.grid_points[j]))
        edges_all.append(edges)
        start.append(s)
        stop.append(e)
        cellw.append(c)

    inter = np.zeros(len(pairs))
    marg2: list[np.ndarray] = [np.empty(0)] * len(pairs)
    if not pairs:
        return {"total": total, "f0": f0, "main": main, "inter": inter, "marg1": marg1, "marg2": marg2}
    sizes = [edges.size for edges in edges_all]  # cells + 1 along each axis
    at2 = [np.clip(np.searchsorted(edges_all[j], enc.grid2_points[j], side="right") - 1, 0, sizes[j] - 2)
           for j in range(d)]
    groups: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for k, (i, j) in enumerate(pairs):
        if sizes[i] * sizes[j] > _SMALL_GRID:
            w = mass / (width[:, i] * width[:, j])
            # 2-D difference array: +w at (si, sj) and (ei, ej), -w at the other corners.
            si, ei, sj, ej = start[i], stop[i], start[j], stop[j]
            rows = np.concatenate([si, ei, si, ei])
            cols = np.concatenate([sj, ej, ej, sj])
            wts = np.concatenate([w, w, -w, -w])
            var2, surface = _grid2(rows, cols, wts, sizes[i], sizes[j], cellw[i], cellw[j], at2[i], at2[j])
            inter[k] = var2 - main[i] - main[j]
            marg2[k] = f0 + surface
        else:
            # Small grids (pairs with a rarely split parameter) are batched so
            # the Python overhead per pair does not dominate when there are
            # many; grouped by shape (larger axis first, sizes rounded up to a
            # power of 2) to bound the zero padding.
            r, c = (i, j) if sizes[i] >= sizes[j] else (j, i)
            key = (1 << int(sizes[r] - 1).bit_length(), 1 << int(sizes[c] - 1).bit_length())
            groups.setdefault(key, []).append((k, r, c))
    for (n_rows, n_cols), members in groups.items():
        per_batch = max(1, _MAX_CELLS // max(n_rows * n_cols, 4 * mass.size))
        for b0 in range(0, len(members), per_batch):
            _small_pairs(members[b0:b0 + per_batch], start, stop, mass, width, cellw, at2, main, f0, inter, marg2)
    return {"total": total, "f0": f0, "main": main, "inter": inter, "marg1": marg1, "marg2": marg2}


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


def _decompose_forest(enc: _Encoded, y: np.ndarray, pair_idx: list[tuple[int, int]], n_trees: int, seed: int,
                      objective: str, n_used: int, screen: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """Fit the forest and decompose each tree; a constant objective gives one all-zero decomposition."""
    d = len(enc.names)
    if np.ptp(y) == 0:
        warn(f"objective {objective!r} is constant over the {n_used} usable trials; all importances are zero",
             InsufficientDataWarning)
        return 1, [{
            "total": 0.0, "f0": float(y[0]), "main": np.zeros(d), "inter": np.zeros(len(pair_idx)),
            "marg1": [np.full(p.size, y[0]) for p in enc.grid_points],
            "marg2": [np.full((enc.grid2_points[i].size, enc.grid2_points[j].size), y[0]) for i, j in pair_idx],
        }]
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=int(n_trees), random_state=seed, n_jobs=2, **_forest_options(d))
    forest.fit(enc.X, y)
    keep = list(range(d))
    if screen and d >= SCREEN_MIN_PARAMS:
        # Refit on the parameters whose impurity importance stands out from the typical one.
        fi = forest.feature_importances_
        keep = [j for j in range(d) if fi[j] > SCREEN_FACTOR * np.median(fi)] or [int(np.argmax(fi))]
    if len(keep) < d:
        sub = _subset(enc, keep)
        sub_pairs = [(a, b) for a in range(len(keep)) for b in range(a + 1, len(keep))] if pair_idx else []
        forest = RandomForestRegressor(n_estimators=int(n_trees), random_state=seed, n_jobs=2,
                                       **_forest_options(len(keep)))
        forest.fit(sub.X, y)
        return len(forest.estimators_), [_expand(_decompose_tree(tree, sub, sub_pairs), keep, enc, pair_idx)
                                         for tree in forest.estimators_]
    # Serial on purpose: the per-tree work is memory-bound NumPy, and two
    # threads measured slower than one on this 2-core machine.
    return len(forest.estimators_), [_decompose_tree(tree, enc, pair_idx) for tree in forest.estimators_]


def _individual(results: list[dict[str, Any]], totals: np.ndarray, names: list[str]) -> tuple[pd.Series, pd.Series]:
    """Main-effect fractions per tree, averaged (and their spread), sorted descending."""
    denom = np.where(totals > 0, totals, 1.0)
    main = np.stack([r["main"] for r in results]) / denom[:, None]
    main[totals <= 0] = 0.0
    individual = pd.Series(main.mean(axis=0), index=names, name="importance")
    individual_std = pd.Series(main.std(axis=0), index=names, name="importance_std")
    order = individual.sort_values(ascending=False, kind="stable").index
    return individual[order], individual_std[order]


def _pairwise(results: list[dict[str, Any]], totals: np.ndarray, names: list[str],
              pair_idx: list[tuple[int, int]]) -> tuple[pd.Series, pd.Series]:
    """Pure two-way interaction fractions per pair, averaged (and their spread), sorted descending."""
    if not pair_idx:
        pairwise = pd.Series([], dtype=float, name="importance", index=pd.Index([], dtype=object))
        return pairwise, pairwise.rename("importance_std")
    pair_names = [(names[i], names[j]) for i, j in pair_idx]
    denom = np.where(totals > 0, totals, 1.0)
    inter = np.stack([r["inter"] for r in results]) / denom[:, None]
    inter[totals <= 0] = 0.0
    inter = np.maximum(inter, 0.0)  # exact up to rounding; never negative
    pw = pd.Series(inter.mean(axis=0), index=pd.Index(pair_names, tupleize_cols=False), name="importance")
    pw_std = pd.Series(inter.std(axis=0), index=pw.index, name="importance_std")
    porder = np.argsort(-pw.to_numpy(), kind="stable")
    return pw.iloc[porder], pw_std.iloc[porder]


def _marginal_frames(exp: Any, enc: _Encoded, results: list[dict[str, Any]], pair_idx: list[tuple[int, int]]
                     ) -> tuple[dict[str, pd.DataFrame], dict[tuple[str, str], pd.DataFrame]]:
    """1-D and 2-D marginals on their grids: forest mean and spread across trees."""
    names = enc.names
    space = exp.all_params()
    kinds = [object if isinstance(space[name], Categorical) else None for name in names]
    marginals = {}
    for j, name in enumerate(names):
        curves = np.stack([r["marg1"][j] for r in results])
        marginals[name] = pd.DataFrame({
            "value": pd.Series(enc.grid_values[j], dtype=kinds[j]),
            "mean": curves.mean(axis=0),
            "std": curves.std(axis=0),
        })
    marginals2 = {}
    for k, (i, j) in enumerate(pair_idx):
        surf = np.stack([r["marg2"][k] for r in results])
        va, vb = enc.grid2_values[i], enc.grid2_values[j]
        marginals2[(names[i], names[j])] = pd.DataFrame({
            "value_a": pd.Series([a for a in va for _ in vb], dtype=kinds[i]),
            "value_b": pd.Series([b for _ in va for b in vb], dtype=kinds[j]),
            "mean": surf.mean(axis=0).ravel(),
            "std": surf.std(axis=0).ravel(),
        })
    return marginals, marginals2


# --------------------------------------------------------------------------- public entry point


@keywords_checked
def importance(
    obj: Any,
    objective: str | None = None,
    *,
    pairs: bool = True,
    n_trees: int = 64,
    seed: int = 0,
    pair_test: int = 0,
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
        Also compute pairwise interactions and 2-D marginals.
    n_trees:
        Trees in the random forest.
    seed:
        Random state of the forest; equal seeds give equal results.
    pair_test:
        Null refits for the pairs' significance (``pairwise_p``); 0 (default)
        skips it. Each refit costs one more forest; 19 gives p-values down to
        0.05.
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


    -------
    Importance
        Individual and pairwise variance fractions (not renormalized),
        their spread across trees, and marginal curves.

    Raises
    ------
    InsufficientDataError
        Fewer than :data:`MIN_TRIALS` COMPLETE trials with a finite value.
    SchemaError
        Unknown objective, no parameters, or ``n_trees < 1``.

    Warns
    -----
    hpviz.InsufficientDataWarning
        When the objective is constant over the usable trials (all
        importances are then zero).
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    n_trees = check_int("n_trees", n_trees, 1)
    check("pairs", pairs, bool)
    check("screen", screen, bool)
    pair_test = check_int("pair_test (null refits)", pair_test, 0)
    if pair_test and not pairs:
        raise SchemaError("pair_test needs pairs=True")
    if not exp.all_params():
        # nothing to attribute variance to: too little data (a study with no trials yet), not a malformed one
        raise InsufficientDataError("importance needs at least one searched parameter; this experiment has none "
                                    "(no trials yet, or a space that holds no parameter)")
    selected, analysed, fit_ranges = _round_spaces(exp, rounds, space)
    used, excluded = _usable_trials(exp, objective, selected)
    enc = _encode(exp, used, analysed, fit_ranges)
    y = np.array([t.values[objective] for t in used])
    d = len(enc.names)
    pair_idx = [(i, j) for i in range(d) for j in range(i + 1, d)] if pairs else []
    n_eff, results = _decompose_forest(enc, y, pair_idx, n_trees, seed, objective, len(used), screen)
    totals = np.array([r["total"] for r in results])
    individual, individual_std = _individual(results, totals, enc.names)
    pairwise, pairwise_std = _pairwise(results, totals, enc.names, pair_idx)
    marginals, marginals2 = _marginal_frames(exp, enc, results, pair_idx)
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
        total_variance=float(totals.mean()),
        n_trees=n_eff,
        seed=seed,
        _marginals=marginals,
        _marginals2=marginals2,
    )
    binned = pd.Series(binned_shares(analysed, enc.names, used, y, result), index=enc.names, name="importance_binned")
    result = dataclasses.replace(result, individual_binned=binned[individual.index])
    if pair_test and len(pairwise):
        p = pair_pvalues(exp, objective, result, refits=int(pair_test), seed=seed)
        pvals = pd.Series([p[k] for k in pairwise.index], index=pairwise.index, name="p_value")
        result = dataclasses.replace(result, pairwise_p=pvals)
    return result
