"""Exact functional ANOVA of a regression forest, tree by tree, aggregated as it goes.

Each fitted tree partitions the bounded search space (every parameter mapped
to ``[0, 1]``) into axis-aligned leaf boxes with a constant prediction, so
its decomposition under the uniform measure is exact:

* the mean ``f0`` and total variance are volume-weighted sums over leaves;
* the marginal of parameter ``j`` is piecewise constant on the grid of the
  tree's split points in ``j``, accumulated from the leaves with a
  difference array and a cumulative sum (O(leaves + cells));
* the marginal of a pair ``(i, j)`` likewise on the 2-D grid of both
  parameters' split points, with a 2-D difference array and two cumulative
  sums (:func:`tree_pairs`, :func:`dense_pairs`: used for the 2-D
  marginal surfaces, one pair at a time when asked for);
* the pure interaction of a pair is the doubly centred 2-D marginal, to
  which only the leaves split in *both* parameters contribute
  (:func:`forest_interactions`): each leaf's split parameters taken two at
  a time give the events, and the grids are batched across trees and pairs
  by shape, so the cost is O(events + s_i s_j) per (tree, pair) with few
  numpy calls.

The leaf boxes, grids and main effects of a chunk of trees come from one
set of numpy passes over all their nodes and leaves (:func:`forest_parts`),
not one per tree. Every result is the same, bit for bit, as decomposing the
trees one at a time: each sum adds the same terms in the same order.

Cost per tree: O(leaves x d) for the boxes and main effects, and about
O(s_i s_j) per pair, where ``s_j`` is the number of the tree's distinct
split points in ``j`` (about leaves / d). The caller bounds the leaves
(:func:`hpviz.importance` caps them with a minimum leaf size), which bounds
the pair grids whatever the number of trials.

:func:`decompose_forest` keeps no per-tree results: fractions and 1-D
curves (and, when asked, 2-D surfaces) are folded into running means and
variances (Welford) as trees are decomposed, a chunk of trees at a time, so
memory is that of a chunk plus the aggregate, independent of the number of
trees.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Largest 2-D marginal grid block held in memory at once (cells).
_MAX_CELLS = 1 << 22
#: Trees decomposed together hold at most about this many node x parameter entries. Measured (best of 7,
#: load ~5): 2^18 beats 2^21 by 10-15% at 250 x 30 and 1,000 x 10 (the chunk's arrays stay in cache) and
#: 2^17 (more chunks, each with fixed costs).
_CHUNK_LEAF_PARAMS = 1 << 18
#: Pairwise grids up to this many cells are computed in batches.
_SMALL_GRID = 1 << 12


@dataclass
class TreeParts:
    """One tree's leaves on each parameter's grid of split points, and its main effects."""

    f0: float
    total: float
    mass: np.ndarray  # (leaves,) centred prediction x volume
    width: np.ndarray  # (leaves, d) fraction of each parameter's range
    start: np.ndarray  # (leaves, d) first grid cell of the leaf along each parameter
    stop: np.ndarray  # (leaves, d) one past its last cell
    cellw: list[np.ndarray]  # per parameter: cell widths (fraction of range), then a trailing 0
    at2: list[np.ndarray] | None  # per parameter: the cell of each 2-D evaluation point (None: not asked for)
    main: np.ndarray  # (d,) variance of each 1-D marginal
    marg1: np.ndarray  # every parameter's 1-D marginal at its evaluation points, concatenated


@dataclass
class ForestParts:
    """The :class:`TreeParts` of several trees, concatenated.

    Tree ``t`` owns the leaf rows ``leaf_off[t]:leaf_off[t + 1]``; its cell
    widths along parameter ``j`` are ``cellw[run_off[t * d + j]:run_off[t * d + j + 1]]``
    (``sizes[t, j]`` of them: cells + 1, the last 0).
    """

    f0: np.ndarray  # (trees,)
    total: np.ndarray  # (trees,)
    leaf_off: np.ndarray  # (trees + 1,)
    mass: np.ndarray  # (leaves,)
    width: np.ndarray  # (leaves, d)
    start: np.ndarray  # (leaves, d)
    stop: np.ndarray  # (leaves, d)
    cellw: np.ndarray  # every (tree, parameter) run of cell widths, concatenated
    run_off: np.ndarray  # (trees * d + 1,)
    sizes: np.ndarray  # (trees, d)
    main: np.ndarray  # (trees, d)
    marg1: np.ndarray  # (trees, evaluation points)
    at2: np.ndarray | None  # (trees, 2-D evaluation points): each point's cell along its parameter

    def tree(self, t: int, grid2_sizes: Sequence[int] = ()) -> TreeParts:
        """Tree ``t``'s parts (``grid2_sizes``: the 2-D evaluation points per parameter, to split ``at2``)."""
        d = self.sizes.shape[1]
        rows = slice(self.leaf_off[t], self.leaf_off[t + 1])
        runs = self.run_off[t * d:(t + 1) * d + 1]
        at2 = None if self.at2 is None else np.split(self.at2[t], np.cumsum(grid2_sizes)[:-1])
        return TreeParts(float(self.f0[t]), float(self.total[t]), self.mass[rows], self.width[rows],
                         self.start[rows], self.stop[rows], np.split(self.cellw[runs[0]:runs[-1]], runs[1:-1] - runs[0]),
                         at2, self.main[t], self.marg1[t])


def _tree_nodes(trees: Sequence[Any], lo: np.ndarray, hi: np.ndarray) -> tuple:
    """Every tree's nodes concatenated: ``(node offsets per tree, left, right, feature, threshold clipped to the
    space, value)``; children as global node indices, -1 at leaves."""
    ts = [t.tree_ for t in trees]
    counts = np.array([t.node_count for t in ts], dtype=np.intp)
    off = np.concatenate([[0], np.cumsum(counts)])
    left = np.concatenate([np.where(t.children_left >= 0, t.children_left + o, -1) for t, o in zip(ts, off)])
    right = np.concatenate([np.where(t.children_right >= 0, t.children_right + o, -1) for t, o in zip(ts, off)])
    feat = np.concatenate([t.feature for t in ts])
    # Thresholds outside the space (sentinel splits) clip to its boundary:
    # the outer child then has zero width and drops out.
    safe_feat = np.where(feat >= 0, feat, 0)
    thr = np.clip(np.concatenate([t.threshold for t in ts]), lo[safe_feat], hi[safe_feat])
    value = np.concatenate([t.value[:, 0, 0] for t in ts]).astype(float)
    return off, left, right, safe_feat, thr, value


def forest_parts(trees: Sequence[Any], lo: np.ndarray, hi: np.ndarray, grid_points: Sequence[np.ndarray],
                 grid2_points: Sequence[np.ndarray] | None = None) -> ForestParts:
    """Leaf boxes, means, total variances and main effects of several trees at once (``grid2_points``: also
    ``at2``), in a fixed number of numpy passes over all their leaves, not per tree.

    Leaf boxes: every node's bounds are node indices (the node whose clipped
    threshold bounds it, or a virtual node holding ``lo``/``hi``),
    propagated top-down one depth level at a time for every tree at once. A
    tree's grid along parameter ``j`` is the sorted set of its kept leaves'
    bounds (leaves of zero volume drop out), shifted by ``2j`` (parameters
    lie in ``[0, 1]``) so one sorted run per tree holds every parameter's
    edges in turn; a bound's cell index is its node's rank in that run. The
    marginals come from difference arrays (one bincount for all trees) and
    cumulative sums per tree.
    """
    d = lo.size
    span = hi - lo
    off, left, right, feat, thr, node_value = _tree_nodes(trees, lo, hi)
    n_trees, n_nodes = off.size - 1, int(off[-1])
    # Bound values: nodes' thresholds, then each tree's lo (one virtual node per parameter), then its hi.
    bound = np.concatenate([thr, np.tile(lo, n_trees), np.tile(hi, n_trees)])
    bound_feat = np.concatenate([feat, np.tile(np.arange(d), 2 * n_trees)])
    bound_tree = np.concatenate([np.repeat(np.arange(n_trees), np.diff(off)), np.tile(np.repeat(np.arange(n_trees), d), 2)])
    lower = np.empty((n_nodes, d), dtype=np.int32 if bound.size < 2**31 else np.intp)
    upper = np.empty_like(lower)
    roots = off[:-1]
    virtual = n_nodes + np.arange(n_trees * d).reshape(n_trees, d)
    lower[roots], upper[roots] = virtual, virtual + n_trees * d
    frontier = roots
    while frontier.size:
        parents = frontier[left[frontier] >= 0]
        if not parents.size:
            break
        lc, rc, f, th = left[parents], right[parents], feat[parents], thr[parents]
        lo_p, up_p = lower[parents], upper[parents]
        row = np.arange(parents.size)
        lower[lc], upper[lc], lower[rc], upper[rc] = lo_p, up_p, lo_p, up_p
        cur = up_p[row, f]
        upper[lc, f] = np.where(bound[cur] <= th, cur, parents)  # min(upper, threshold)
        cur = lo_p[row, f]
        lower[rc, f] = np.where(bound[cur] >= th, cur, parents)  # max(lower, threshold)
        frontier = np.concatenate([lc, rc])
    leaves = np.flatnonzero(left < 0)
    lower, upper = np.take(lower, leaves, axis=0), np.take(upper, leaves, axis=0)
    width = np.maximum(np.take(bound, upper) - np.take(bound, lower), 0.0) / span
    vol = np.prod(width, axis=1)
    keep = vol > 0
    if not keep.all():
        lower, upper, width, vol, leaves = lower[keep], upper[keep], width[keep], vol[keep], leaves[keep]
    value = np.take(node_value, leaves)
    leaf_tree = np.take(bound_tree, leaves)
    leaf_off = np.concatenate([[0], np.cumsum(np.bincount(leaf_tree, minlength=n_trees))])
    f0, total = np.empty(n_trees), np.empty(n_trees)
    for t in range(n_trees):
        f0[t] = vol[leaf_off[t]:leaf_off[t + 1]] @ value[leaf_off[t]:leaf_off[t + 1]]
    centred = value - np.take(f0, leaf_tree)
    sq = centred**2
    for t in range(n_trees):
        total[t] = vol[leaf_off[t]:leaf_off[t + 1]] @ sq[leaf_off[t]:leaf_off[t + 1]]
    # Centred prediction x volume. The leaves covering one cell of a marginal
    # grid tile the other dimensions with total measure 1, so marginals of the
    # centred predictions are the centred marginals.
    mass = centred * vol
    # Each tree's edges: the distinct shifted bounds of its kept leaves, in (tree, value) order.
    used = np.zeros(bound.size, dtype=bool)
    used[lower] = True
    used[upper] = True
    ids = np.flatnonzero(used)
    shifted = bound[ids] + 2.0 * bound_feat[ids]
    order = np.lexsort((shifted, bound_tree[ids]))
    ids, shifted, id_tree = ids[order], shifted[order], bound_tree[ids][order]
    new = np.ones(ids.size, dtype=bool)
    new[1:] = (shifted[1:] != shifted[:-1]) | (id_tree[1:] != id_tree[:-1])
    rank = np.empty(bound.size, dtype=np.intp)
    rank[ids] = np.cumsum(new) - 1  # global edge index (trees in turn)
    edges, edge_tree = shifted[new], id_tree[new]
    edge_run = edge_tree * d + bound_feat[ids[new]]
    run_off = np.searchsorted(edge_run, np.arange(n_trees * d + 1))
    tree_off = run_off[::d]
    sizes = np.diff(run_off).reshape(n_trees, d)
    start, stop = np.take(rank, lower), np.take(rank, upper)  # global edge indices
    # Difference arrays of every tree, one row each (padded), summed up row by row.
    n_cols = int(np.diff(tree_off).max())
    to_row = (leaf_tree * n_cols - tree_off[leaf_tree])[:, None]
    w = mass[:, None] / width
    diff = (np.bincount((start + to_row).ravel(), w.ravel(), minlength=n_trees * n_cols)
            - np.bincount((stop + to_row).ravel(), w.ravel(), minlength=n_trees * n_cols))
    cells = np.cumsum(diff.reshape(n_trees, n_cols), axis=1)  # each parameter's last entry is 0: all leaves have ended
    cells = cells[edge_tree, np.arange(edges.size) - tree_off[edge_tree]]
    c = np.append(np.diff(edges), 0.0)
    c[run_off[1:] - 1] = 0.0  # the gap between two parameters' (and trees') edge runs has no width
    main = np.add.reduceat(c * cells**2, run_off[:-1]).reshape(n_trees, d) / span
    first = run_off[:-1].reshape(n_trees, d)
    first_of = np.take(first, leaf_tree, axis=0)
    start -= first_of
    stop -= first_of
    cellw = c / span[edge_run % d]
    idx = _cells_at(edges, tree_off, first, sizes, grid_points)
    marg1 = f0[:, None] + cells[idx]
    at2 = None
    if grid2_points is not None:
        owner = np.repeat(np.arange(d), [g.size for g in grid2_points])
        at2 = _cells_at(edges, tree_off, first, sizes, grid2_points) - first[:, owner]
    return ForestParts(f0, total, leaf_off, mass, width, start, stop, cellw, run_off, sizes, main, marg1, at2)


def _cells_at(edges: np.ndarray, tree_off: np.ndarray, first: np.ndarray, sizes: np.ndarray,
              points: Sequence[np.ndarray]) -> np.ndarray:
    """Global edge index of the cell holding every parameter's points (concatenated), one row per tree."""
    counts = np.array([p.size for p in points])
    owner = np.repeat(np.arange(counts.size), counts)
    n_trees = first.shape[0]
    if not counts.sum():
        return np.zeros((n_trees, 0), dtype=np.intp)
    x = np.concatenate(points) + 2.0 * owner
    idx = np.empty((n_trees, x.size), dtype=np.intp)
    for t in range(n_trees):
        idx[t] = np.searchsorted(edges[tree_off[t]:tree_off[t + 1]], x, side="right") + (tree_off[t] - 1)
    return np.clip(idx, first[:, owner], first[:, owner] + sizes[:, owner] - 2)


def tree_parts(tree: Any, lo: np.ndarray, hi: np.ndarray, grid_points: Sequence[np.ndarray],
               grid2_points: Sequence[np.ndarray] | None = None) -> TreeParts:
    """Leaf boxes, mean, total variance and main effects of one tree (``grid2_points``: also ``at2``);
    see :func:`forest_parts`."""
    parts = forest_parts([tree], lo, hi, grid_points, grid2_points)
    return parts.tree(0, [] if grid2_points is None else [g.size for g in grid2_points])


def _grid2(rows: np.ndarray, cols: np.ndarray, wts: np.ndarray, ni: int, nj: int, ci: np.ndarray,
           cj: np.ndarray, ri: np.ndarray | None, rj: np.ndarray | None) -> tuple[float, np.ndarray | None]:
    """Integrate a 2-D difference array: the variance of the (centred) grid and its values at ``ri x rj``
    (``None``: no values).

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
    surface = None if ri is None or rj is None else np.empty((ri.size, rj.size))
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
        if surface is not None:
            inside = (ri >= r0) & (ri < r1)
            surface[inside] = grid[ri[inside] - r0][:, rj]
    return float(var2), surface


def _small_pairs(p: TreeParts, batch: list[tuple[int, int, int]], inter: np.ndarray,
                 put: Any) -> None:
    """Pairwise grids of several pairs at once, zero-padded to a common shape.

    ``batch`` holds ``(pair index, row parameter, column parameter)``; the
    row parameter may be the pair's second one (the surface is transposed
    back). Padding cells lie past every leaf's end, where the cumulative sums
    are 0, and get zero width. Fills ``inter`` and calls ``put(k, surface)``.
    """
    ks = np.array([m[0] for m in batch])
    ii = np.array([m[1] for m in batch])
    jj = np.array([m[2] for m in batch])
    n_rows = max(p.cellw[i].size for i in ii)  # grid edges (cells + 1) along each axis
    n_cols = max(p.cellw[j].size for j in jj)
    si, ei, sj, ej = p.start[:, ii], p.stop[:, ii], p.start[:, jj], p.stop[:, jj]  # (leaves, pairs)
    w = p.mass[:, None] / (p.width[:, ii] * p.width[:, jj])
    base = np.arange(len(batch)) * (n_rows * n_cols)
    idx = np.concatenate([(base + si * n_cols + sj).ravel(), (base + ei * n_cols + ej).ravel(),
                          (base + si * n_cols + ej).ravel(), (base + ei * n_cols + sj).ravel()])
    wts = np.concatenate([w.ravel(), w.ravel(), -w.ravel(), -w.ravel()])
    grid = np.bincount(idx, wts, minlength=len(batch) * n_rows * n_cols).reshape(len(batch), n_rows, n_cols)
    np.cumsum(grid, axis=1, out=grid)
    np.cumsum(grid, axis=2, out=grid)
    ci = np.zeros((len(batch), n_rows))
    cj = np.zeros((len(batch), n_cols))
    for b, (i, j) in enumerate(zip(ii, jj)):
        ci[b, : p.cellw[i].size] = p.cellw[i]
        cj[b, : p.cellw[j].size] = p.cellw[j]
    var2 = np.einsum("pr,pr->p", ci, np.einsum("prc,pc->pr", np.square(grid), cj))
    inter[ks] = var2 - p.main[ii] - p.main[jj]
    if put is None:
        return
    g = max(a.size for a in p.at2)
    at = np.zeros((len(p.at2), g), dtype=np.intp)
    for j, a in enumerate(p.at2):
        at[j, : a.size] = a
    sub = grid[np.arange(len(batch))[:, None, None], at[ii][:, :, None], at[jj][:, None, :]]
    for b, (k, i, j) in enumerate(batch):
        s = sub[b, : p.at2[i].size, : p.at2[j].size]
        put(k, s if i < j else s.T)


def dense_pairs(p: TreeParts, pairs: Sequence[tuple[int, int]], dims: Sequence[int],
                gather: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Every pair's 2-D marginal grid at once, as blocks of one matrix product.

    With ``A[l, (j, a)] = 1 / width[l, j]`` when leaf ``l`` covers cell ``a``
    of parameter ``j`` (else 0), the centred 2-D marginal of ``(i, j)`` on
    its grid is the block ``(i, j)`` of ``G = A^T diag(mass) A``, and its
    variance is the cell-width-weighted sum of the block's squares. Cost
    O(leaves x S^2) flops for ``S`` grid cells over ``dims`` (the parameters
    that occur in ``pairs``), in a few BLAS calls: faster than the per-pair
    grids when the trees are small next to the number of pairs.

    ``gather`` indexes ``G`` restricted to the evaluation points (rows and
    columns concatenated over ``dims``, see :func:`surface_gather`); returns
    ``(inter, surfaces)`` with the surfaces flattened in pair order.
    """
    sizes = np.array([p.cellw[j].size for j in dims])
    offs = np.concatenate([[0], np.cumsum(sizes)])
    n_cells, n_leaves = int(offs[-1]), p.mass.size
    dims = np.asarray(dims)
    inv = 1.0 / p.width[:, dims]  # (leaves, k)
    row = np.arange(n_leaves)[:, None] * n_cells
    idx = np.concatenate([(row + offs[:-1] + p.start[:, dims]).ravel(), (row + offs[:-1] + p.stop[:, dims]).ravel()])
    A = np.bincount(idx, np.concatenate([inv.ravel(), -inv.ravel()]), minlength=n_leaves * n_cells)
    A = np.cumsum(A.reshape(n_leaves, n_cells), axis=1)
    G = (A * p.mass[:, None]).T @ A
    c = np.concatenate([p.cellw[j] for j in dims])
    H = np.square(G) * c[:, None] * c[None, :]
    V = np.add.reduceat(np.add.reduceat(H, offs[:-1], axis=0), offs[:-1], axis=1)
    pos = {j: k for k, j in enumerate(dims.tolist())}
    a = np.array([pos[i] for i, _ in pairs])
    b = np.array([pos[j] for _, j in pairs])
    inter = V[a, b] - p.main[dims[a]] - p.main[dims[b]]
    if gather is None:
        return inter, None
    at = np.concatenate([offs[k] + p.at2[j] for k, j in enumerate(dims.tolist())])
    return inter, G[np.ix_(at, at)].ravel()[gather]


def surface_gather(pairs: Sequence[tuple[int, int]], dims: Sequence[int], n_points: Sequence[int]) -> np.ndarray:
    """Flat indices into the evaluation-point block matrix of :func:`dense_pairs`, surfaces in pair order."""
    offs = np.concatenate([[0], np.cumsum([n_points[j] for j in dims])])
    pos = {j: k for k, j in enumerate(dims)}
    width = int(offs[-1])
    parts = []
    for i, j in pairs:
        r = offs[pos[i]] + np.arange(n_points[i])
        c = offs[pos[j]] + np.arange(n_points[j])
        parts.append((r[:, None] * width + c[None, :]).ravel())
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)


def tree_pairs(p: TreeParts, pairs: Sequence[tuple[int, int]], put: Any = None) -> np.ndarray:
    """Interaction variance of each pair ``(i, j)``, ``i < j``; ``put(k, surface)`` gets each centred 2-D marginal.

    ``surface`` is the pair's marginal minus ``f0`` at the 2-D evaluation
    points (``len(grid2_points[i]) x len(grid2_points[j])``); ``put=None``
    skips them.
    """
    inter = np.zeros(len(pairs))
    sizes = [c.size for c in p.cellw]  # cells + 1 along each axis
    groups: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for k, (i, j) in enumerate(pairs):
        if sizes[i] * sizes[j] > _SMALL_GRID:
            w = p.mass / (p.width[:, i] * p.width[:, j])
            # 2-D difference array: +w at (si, sj) and (ei, ej), -w at the other corners.
            si, ei, sj, ej = p.start[:, i], p.stop[:, i], p.start[:, j], p.stop[:, j]
            rows = np.concatenate([si, ei, si, ei])
            cols = np.concatenate([sj, ej, ej, sj])
            wts = np.concatenate([w, w, -w, -w])
            ri, rj = (p.at2[i], p.at2[j]) if put is not None else (None, None)
            var2, surface = _grid2(rows, cols, wts, sizes[i], sizes[j], p.cellw[i], p.cellw[j], ri, rj)
            inter[k] = var2 - p.main[i] - p.main[j]
            if put is not None:
                put(k, surface)
        else:
            # Grouped by shape (larger axis first, sizes rounded up to a power
            # of 2) to bound the zero padding.
            r, c = (i, j) if sizes[i] >= sizes[j] else (j, i)
            key = (1 << int(sizes[r] - 1).bit_length(), 1 << int(sizes[c] - 1).bit_length())
            groups.setdefault(key, []).append((k, r, c))
    for (n_rows, n_cols), members in groups.items():
        per_batch = max(1, _MAX_CELLS // max(n_rows * n_cols, 4 * p.mass.size))
        for b0 in range(0, len(members), per_batch):
            _small_pairs(p, members[b0:b0 + per_batch], inter, put)
    return inter


def forest_interactions(parts: ForestParts, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Interaction variance ``(trees, pairs)`` of several trees at once, without 2-D marginals.

    The pure interaction of ``(i, j)`` is the doubly centred 2-D marginal:
    a leaf that does not split both ``i`` and ``j`` adds a function of one
    of them (or a constant), which centring removes. So only the leaves
    split in both enter a pair's grid, ``G = sum_l m_l / (w_li w_lj)
    1[I_li] x 1[I_lj]`` (a 2-D difference array), and the variance of its
    double centring is ``|G|^2 - |row means|^2 - |column means|^2 +
    mean^2`` (cell-width weighted). Equal to ``V(2-D marginal) - V_i - V_j``
    up to rounding, without its cancellation.

    Every tree at once: the (leaf, pair) events are each leaf's split
    parameters taken two at a time; each (tree, pair) grid gets its place in
    a buffer, grids of one shape (sizes rounded up, :func:`_padded`) side by
    side, so one bincount fills every grid and each shape's grids are
    integrated in a few batched numpy calls: the number of calls does not
    grow with trees x pairs.
    """
    n_trees, n_pairs = parts.f0.size, len(pairs)
    out = np.zeros((n_trees, n_pairs))
    if not n_pairs or not n_trees:
        return out
    d = parts.width.shape[1]
    ii = np.array([i for i, _ in pairs], dtype=np.intp)
    jj = np.array([j for _, j in pairs], dtype=np.intp)
    pair_of = np.full((d, d), -1, dtype=np.intp)
    pair_of[ii, jj] = pair_of[jj, ii] = np.arange(n_pairs)
    take = np.take  # faster than indexing with an array, same values
    # Events: each leaf's split parameters (among the paired ones) two at a time, leaves ascending: entries
    # a < b of one leaf (parameters dim[a] < dim[b]).
    dims = np.unique(np.concatenate([ii, jj]))
    leaf, col = np.nonzero((parts.width if dims.size == d else parts.width[:, dims]) < 1.0)
    dim = take(dims, col)
    flat_e = leaf * d + dim
    per_leaf = np.bincount(leaf, minlength=parts.mass.size)
    later = take(per_leaf, leaf) - (np.arange(leaf.size) - take(np.cumsum(per_leaf) - per_leaf, leaf)) - 1
    first = np.cumsum(later) - later  # each entry's first event
    busy = np.flatnonzero(later)  # entries with an event
    a = np.zeros(int(later.sum()), dtype=np.intp)
    if a.size:
        a[take(first, busy[1:])] = np.diff(busy)
        a[0] = busy[0]
        np.cumsum(a, out=a)
    b = np.arange(a.size) + take(np.arange(1, leaf.size + 1) - first, a)
    k = take(pair_of.ravel(), take(dim * d, a) + take(dim, b))
    if (k < 0).any():
        a, b, k = a[k >= 0], b[k >= 0], k[k >= 0]
    if (ii > jj).any():  # the entry of the pair's row parameter first
        r = np.where(take(dim, a) == take(ii, k), a, b)
        a, b = r, a + b - r
    leaf_tree = np.repeat(np.arange(n_trees), np.diff(parts.leaf_off))
    item = take(take(leaf_tree, leaf) * n_pairs, a) + k
    width = take(parts.width, flat_e)
    w = take(take(parts.mass, leaf), a) / (take(width, a) * take(width, b))
    # Shape groups: sizes rounded up (to even sizes up to 16, then multiples of 8) bound the zero padding.
    pad_r, pad_c = _padded(parts.sizes[:, ii].ravel()), _padded(parts.sizes[:, jj].ravel())
    # Only (tree, pair) items with a leaf split in both parameters have an interaction.
    active = np.flatnonzero(np.bincount(item, minlength=n_trees * n_pairs))
    if not active.size:
        return out
    # Column count first: consecutive grids with as many columns take their column sums together.
    key = pad_c[active] * (1 << 20) + pad_r[active]
    order = np.argsort(key, kind="stable")
    active, key = active[order], key[order]
    cells = np.concatenate([[0], np.cumsum(pad_r[active] * pad_c[active])])  # buffer offsets
    # Batches of one shape (at most _MAX_CELLS cells); passes of consecutive batches share one buffer.
    group = np.flatnonzero(np.diff(key, prepend=-1, append=-1))
    passes: list[list[tuple[int, int, int, int]]] = [[]]
    for g0, g1 in zip(group[:-1].tolist(), group[1:].tolist()):
        n_r, n_c = int(pad_r[active[g0]]), int(pad_c[active[g0]])
        per = max(1, _MAX_CELLS // (n_r * n_c))
        for b0 in range(g0, g1, per):
            b1 = min(b0 + per, g1)
            if passes[-1] and cells[b1] - cells[passes[-1][0][0]] > _MAX_CELLS:
                passes.append([])
            passes[-1].append((b0, b1, n_r, n_c))
    firsts = [p[0][0] for p in passes]
    at = np.zeros(n_trees * n_pairs, dtype=np.intp)  # each item's grid in its pass's buffer
    at[active] = cells[:-1] - np.repeat(cells[firsts], np.diff(firsts + [active.size]))
    at, n_c = take(at, item), take(pad_c, item)
    start, stop = take(parts.start, flat_e), take(parts.stop, flat_e)
    row0, row1 = take(start, a) * n_c + at, take(stop, a) * n_c + at
    del at, n_c
    col0, col1 = take(start, b), take(stop, b)
    n_ev = item.size
    idx = np.empty(4 * n_ev, dtype=np.intp)
    np.add(row0, col0, out=idx[:n_ev])
    np.add(row1, col1, out=idx[n_ev:2 * n_ev])
    np.add(row0, col1, out=idx[2 * n_ev:3 * n_ev])
    np.add(row1, col0, out=idx[3 * n_ev:])
    wts = np.empty(4 * n_ev)
    wts[:n_ev] = wts[n_ev:2 * n_ev] = w
    np.negative(w, out=wts[2 * n_ev:3 * n_ev])
    wts[3 * n_ev:] = wts[2 * n_ev:3 * n_ev]
    if len(passes) > 1:
        in_pass = np.zeros(n_trees * n_pairs, dtype=np.intp)
        in_pass[active] = np.repeat(np.arange(len(passes)), np.diff(firsts + [active.size]))
        in_pass = np.tile(in_pass[item], 4)
    # Every tree's cell widths per parameter, zero-padded to the widest grid.
    width_max = int(max(pad_r.max(), pad_c.max()))
    run = np.repeat(np.arange(n_trees * d), np.diff(parts.run_off))
    cw = np.zeros((n_trees * d, width_max))
    cw[run, np.arange(run.size) - parts.run_off[run]] = parts.cellw
    # Each active item's cell widths along its row and column parameter (rows of cw), and its four sums.
    t, k = np.divmod(active, n_pairs)
    cw_row, cw_col = t * d + take(ii, k), t * d + take(jj, k)
    cw = cw.reshape(n_trees * d, width_max)
    sums = np.empty((4, active.size))  # |G|^2, |row means|^2, |column means|^2, mean (cell-width weighted)
    for p, batches in enumerate(passes):
        origin = cells[firsts[p]]
        sel = slice(None) if len(passes) == 1 else in_pass == p
        buffer = np.bincount(idx[sel], wts[sel], minlength=cells[batches[-1][1]] - origin)
        for b0, b1, n_r, n_c in batches:
            _prefix_sum(buffer[cells[b0] - origin:cells[b1] - origin].reshape(b1 - b0, n_r, n_c), 1)
            if b1 == batches[-1][1] or take(pad_c, active[b1]) != n_c:  # the last grids with n_c columns
                c0 = next(q[0] for q in batches if q[3] == n_c)
                _prefix_sum(buffer[cells[c0] - origin:cells[b1] - origin].reshape(-1, n_c), 1)
        for b0, b1, n_r, n_c in batches:
            grid = buffer[cells[b0] - origin:cells[b1] - origin].reshape(b1 - b0, n_r, n_c)
            ci = take(cw[:, :n_r], cw_row[b0:b1], axis=0)
            cj = take(cw[:, :n_c], cw_col[b0:b1], axis=0)
            row = np.matmul(grid, cj[:, :, None])[:, :, 0]  # cell-width weighted row means
            col = np.matmul(ci[:, None, :], grid)[:, 0, :]
            sums[3, b0:b1] = (row * ci).sum(axis=1)
            np.square(grid, out=grid)
            sums[0, b0:b1] = (np.matmul(grid, cj[:, :, None])[:, :, 0] * ci).sum(axis=1)
            sums[1, b0:b1] = (np.square(row) * ci).sum(axis=1)
            sums[2, b0:b1] = (np.square(col) * cj).sum(axis=1)
    out.ravel()[active] = sums[0] - sums[1] - sums[2] + np.square(sums[3])
    return out


@functools.cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspecting the loaded libraries costs milliseconds: once per process


def _one_blas_thread() -> Any:
    """Context: BLAS on one thread (the cached controller's limit costs microseconds, ``threadpool_limits``
    milliseconds)."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _prefix_sum(a: np.ndarray, axis: int) -> None:
    """In-place cumulative sum along a short ``axis`` (same order of additions as ``np.cumsum``).

    numpy's cumsum along a short axis of many small matrices pays per row; one vectorized add per
    position along the axis measured 3-4x faster for the pair grids, unless the arrays are so small that
    the calls cost more (under about 300 entries per position).
    """
    n = a.shape[axis]
    if n > 64 or a.size < 300 * n:
        np.cumsum(a, axis=axis, out=a)
        return
    view = np.moveaxis(a, axis, 0)
    for k in range(1, n):
        view[k] += view[k - 1]


def _padded(sizes: np.ndarray) -> np.ndarray:
    return np.where(sizes <= 16, (sizes + 1) // 2 * 2, (sizes + 7) // 8 * 8)


class Running:
    """Running mean and variance of equally shaped arrays (Welford), one array at a time."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: Any = 0.0
        self.m2: Any = 0.0

    def add(self, x: np.ndarray) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean = self.mean + delta / self.n
        self.m2 = self.m2 + delta * (x - self.mean)

    def std(self) -> Any:
        return np.sqrt(np.maximum(self.m2 / max(self.n, 1), 0.0))


@dataclass
class ForestDecomposition:
    """Aggregate over trees: means and spreads of fractions, curves and surfaces."""

    n_trees: int
    total: float  # mean total variance
    main: Running  # (d,) main-effect fractions
    inter: Running  # (pairs,) interaction fractions, >= 0
    marg1: list[Running]  # per parameter: 1-D marginal curve
    marg2: Running  # all 2-D surfaces, flattened and concatenated (see ``offsets``)
    offsets: np.ndarray  # (pairs + 1,) where each pair's surface starts in ``marg2``
    shapes: list[tuple[int, int]]


@dataclass
class Expansion:
    """Where a forest fitted on some parameters (``keep``, full indices) puts its results among all of them.

    Parameters outside ``keep`` have no effect: zero fractions, marginals flat
    at the tree's mean; a pair with one kept parameter has that parameter's
    1-D marginal (interpolated onto the 2-D points) as its surface.
    """

    keep: list[int]
    grid_points: Sequence[np.ndarray]  # every parameter's 1-D evaluation points
    grid2_points: Sequence[np.ndarray]  # every parameter's 2-D evaluation points
    pairs: Sequence[tuple[int, int]]  # every pair reported (full indices)


def _offsets(grid2_points: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]]) -> tuple[list, np.ndarray]:
    shapes = [(grid2_points[i].size, grid2_points[j].size) for i, j in pairs]
    return shapes, np.concatenate([[0], np.cumsum([a * b for a, b in shapes], dtype=np.int64)]).astype(np.int64)


def decompose_forest(trees: Sequence[Any] | Iterable[Sequence[Any]], lo: np.ndarray, hi: np.ndarray,
                     grid_points: Sequence[np.ndarray], grid2_points: Sequence[np.ndarray],
                     pairs: Sequence[tuple[int, int]], expand: Expansion | None = None,
                     surfaces: bool = True) -> ForestDecomposition:
    """Decompose every tree and fold the results into running aggregates (no per-tree storage).

    ``trees``: the fitted trees, or an iterator of batches of them in order
    (e.g. the trees finished so far while the others grow: each batch is
    decomposed when it arrives; the results do not depend on the batches).
    ``lo``, ``hi``, the grids and ``pairs`` describe the parameters the trees
    were fitted on; with ``expand`` each tree's results are placed among all
    parameters before they are aggregated. ``surfaces=False``: the pairs'
    interaction fractions only, no 2-D marginals (``marg2`` stays empty).

    One thread on purpose: two forked processes (each decomposing half the
    trees, aggregates merged) and two threads both measured slower than one
    process on this 2-core machine (``docs/scale.md``). The overlap that pays
    is with the fit: given a stream, the trees are decomposed while the
    others grow (tree building releases the GIL).
    """
    shapes, offsets = _offsets(grid2_points, pairs)
    if expand is not None:
        out_shapes, out_offsets = _offsets(expand.grid2_points, expand.pairs)
        pos = {j: k for k, j in enumerate(expand.keep)}
        sub_index = {pair: k for k, pair in enumerate(pairs)}
    else:
        out_shapes, out_offsets = shapes, offsets
    n_out_pairs = len(expand.pairs) if expand is not None else len(pairs)
    totals, main, inter, marg1_all, marg2 = Running(), Running(), Running(), Running(), Running()
    flat = np.empty(int(offsets[-1]) if surfaces else 0)

    def put(k: int, surface: np.ndarray) -> None:
        flat[offsets[k]:offsets[k + 1]] = surface.ravel()

    dims = sorted({j for ij in pairs for j in ij})
    gather = surface_gather(pairs, dims, [g.size for g in grid2_points]) if pairs and surfaces else None

    def fold(f0: float, total: float, m: np.ndarray, m1: np.ndarray, v: np.ndarray, surf: np.ndarray | None) -> None:
        scale = 1.0 / total if total > 0 else 0.0
        if expand is not None:
            m, m1, v, surf = _place(f0, m, m1, v, surf, offsets, expand, pos, sub_index, out_offsets)
        totals.add(np.float64(total))
        main.add(m * scale)
        marg1_all.add(m1)
        if n_out_pairs:
            inter.add(np.maximum(v * scale, 0.0))  # exact up to rounding; never negative
            if surf is not None:
                marg2.add(surf + f0)

    grid2_sizes = [g.size for g in grid2_points]
    n_trees = 0
    # One BLAS thread: the products are small, and threads measured several
    # times slower on a loaded 2-core machine.
    with _one_blas_thread():
        for chunk in _chunks(trees, lo.size):
            n_trees += len(chunk)
            fp = forest_parts(chunk, lo, hi, grid_points, grid2_points if surfaces and pairs else None)
            if not surfaces:
                inter_v = forest_interactions(fp, pairs)
                for t in range(fp.f0.size):
                    fold(float(fp.f0[t]), float(fp.total[t]), fp.main[t], fp.marg1[t], inter_v[t], None)
                continue
            for t in range(fp.f0.size):
                p = fp.tree(t, grid2_sizes)
                v, surf = np.zeros(0), flat
                if pairs:
                    if _dense_is_cheaper(p, pairs, dims):
                        v, surf = dense_pairs(p, pairs, dims, gather)
                    else:
                        v = tree_pairs(p, pairs, put)
                fold(p.f0, p.total, p.main, p.marg1, v, surf)
    marg1 = _split_running(marg1_all, [g.size for g in (expand.grid_points if expand is not None else grid_points)])
    return ForestDecomposition(n_trees, float(totals.mean), main, inter, marg1, marg2, out_offsets, out_shapes)


def _chunks(trees: Sequence[Any] | Iterable[Sequence[Any]], d: int) -> Iterator[Sequence[Any]]:
    """Consecutive trees decomposed together: each batch of a stream (or all the trees), cut so that a chunk
    holds at most about :data:`_CHUNK_LEAF_PARAMS` node x parameter entries."""
    for batch in [trees] if isinstance(trees, Sequence) else trees:
        nodes = max((t.tree_.node_count for t in batch), default=1)
        per = max(1, _CHUNK_LEAF_PARAMS // max(1, nodes * d))
        per = -(-len(batch) // -(-len(batch) // per)) if batch else 1  # as many chunks, of even sizes
        for c0 in range(0, len(batch), per):
            yield batch[c0:c0 + per]


def _split_running(r: Running, sizes: Sequence[int]) -> list[Running]:
    """One :class:`Running` of concatenated arrays as one per part."""
    cuts = np.cumsum(sizes)[:-1]
    out = []
    for mean, m2 in zip(np.split(np.asarray(r.mean, dtype=float), cuts), np.split(np.asarray(r.m2, dtype=float), cuts)):
        part = Running()
        part.n, part.mean, part.m2 = r.n, mean, m2
        out.append(part)
    return out


def _place(f0: float, main_own: np.ndarray, marg1_own: np.ndarray, v: np.ndarray, surfaces: np.ndarray | None,
           offsets: np.ndarray, ex: Expansion, pos: dict[int, int], sub_index: dict[tuple[int, int], int],
           out_offsets: np.ndarray) -> tuple:
    """One tree's results among all parameters (see :class:`Expansion`); surfaces stay centred (``None``: skipped).

    Returns ``(main, marg1 concatenated over all parameters, inter, surfaces)``.
    """
    d = len(ex.grid_points)
    main = np.zeros(d)
    main[ex.keep] = main_own
    own = np.split(marg1_own, np.cumsum([ex.grid_points[j].size for j in ex.keep])[:-1])
    marg1 = np.concatenate([own[pos[j]] if j in pos else np.full(ex.grid_points[j].size, f0) for j in range(d)])
    inter = np.zeros(len(ex.pairs))
    for k, (i, j) in enumerate(ex.pairs):
        if i in pos and j in pos:
            inter[k] = v[sub_index[(pos[i], pos[j])]]
    if surfaces is None:
        return main, marg1, inter, None
    flat = np.zeros(int(out_offsets[-1]))
    for k, (i, j) in enumerate(ex.pairs):
        out = flat[out_offsets[k]:out_offsets[k + 1]].reshape(ex.grid2_points[i].size, ex.grid2_points[j].size)
        if i in pos and j in pos:
            s = sub_index[(pos[i], pos[j])]
            out[:] = surfaces[offsets[s]:offsets[s + 1]].reshape(out.shape)
        elif i in pos:
            out[:] = np.interp(ex.grid2_points[i], ex.grid_points[i], own[pos[i]] - f0)[:, None]
        elif j in pos:
            out[:] = np.interp(ex.grid2_points[j], ex.grid_points[j], own[pos[j]] - f0)[None, :]
    return main, marg1, inter, flat


#: Measured on 2 cores: a flop of the dense product costs about 1/100 of a
#: cell or leaf event of the per-pair grids (numpy passes plus Python per pair).
_DENSE_FLOPS_PER_CELL = 100
#: Largest dense matrices (cells per side of ``G``; leaves x cells of ``A``).
_DENSE_MAX_CELLS = 4096
_DENSE_MAX_A = 1 << 24


def _dense_is_cheaper(p: TreeParts, pairs: Sequence[tuple[int, int]], dims: Sequence[int]) -> bool:
    sizes = [c.size for c in p.cellw]
    n_cells = sum(sizes[j] for j in dims)
    n_leaves = p.mass.size
    if n_cells > _DENSE_MAX_CELLS or n_leaves * n_cells > _DENSE_MAX_A:
        return False
    grid = sum(sizes[i] * sizes[j] for i, j in pairs) + 4 * n_leaves * len(pairs)
    return n_leaves * n_cells**2 < _DENSE_FLOPS_PER_CELL * grid
