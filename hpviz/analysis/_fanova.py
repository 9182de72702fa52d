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
  (:func:`forest_interactions`): their grids are batched across trees and
  pairs by shape, so the cost is O(leaves x pairs) boolean tests plus
  O(events + s_i s_j) per (tree, pair) with few numpy calls.

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Largest 2-D marginal grid block held in memory at once (cells).
_MAX_CELLS = 1 << 22
#: Trees whose interactions are batched together hold at most about this many leaf x parameter entries.
_CHUNK_LEAF_PARAMS = 1 << 21
#: Pairwise grids up to this many cells are computed in batches.
_SMALL_GRID = 1 << 12


def leaf_boxes(tree: Any, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds ``(lower, upper)`` of every leaf box, clipped to the space, and leaf values."""
    return leaf_boxes_many([tree], lo, hi)[0]


def leaf_boxes_many(trees: Sequence[Any], lo: np.ndarray, hi: np.ndarray
                    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`leaf_boxes` of several trees: bounds propagated top-down one depth level at a time,
    vectorized over the nodes of that level in every tree (one pass per level, not per tree and level)."""
    d = lo.size
    ts = [t.tree_ for t in trees]
    counts = np.array([t.node_count for t in ts])
    off = np.concatenate([[0], np.cumsum(counts)])
    left = np.concatenate([np.where(t.children_left >= 0, t.children_left + o, -1) for t, o in zip(ts, off)])
    right = np.concatenate([np.where(t.children_right >= 0, t.children_right + o, -1) for t, o in zip(ts, off)])
    feat = np.concatenate([t.feature for t in ts])
    n_nodes = int(off[-1])
    lower = np.empty((n_nodes, d))
    upper = np.empty((n_nodes, d))
    roots = off[:-1]
    lower[roots], upper[roots] = lo, hi
    # Thresholds outside the space (sentinel splits) clip to its boundary:
    # the outer child then has zero width and drops out.
    safe_feat = np.where(feat >= 0, feat, 0)
    thr = np.clip(np.concatenate([t.threshold for t in ts]), lo[safe_feat], hi[safe_feat])
    frontier = roots
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
    out = []
    for t, o0 in zip(ts, off[:-1]):
        leaves = o0 + np.flatnonzero(t.children_left < 0)
        out.append((lower[leaves], upper[leaves], t.value[t.children_left < 0, 0, 0].astype(float)))
    return out


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


def _cells_at(edges: np.ndarray, first: np.ndarray, sizes: np.ndarray, shift: np.ndarray,
              points: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Global cell index of every parameter's points (concatenated) in the shifted edge array, and the owners."""
    counts = np.array([p.size for p in points])
    owner = np.repeat(np.arange(counts.size), counts)
    x = np.concatenate(points) + shift[owner] if counts.sum() else np.empty(0)
    idx = np.searchsorted(edges, x, side="right") - 1
    return np.clip(idx, first[owner], first[owner] + sizes[owner] - 2), owner


def tree_parts(tree: Any, lo: np.ndarray, hi: np.ndarray, grid_points: Sequence[np.ndarray],
               grid2_points: Sequence[np.ndarray] | None = None,
               boxes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> TreeParts:
    """Leaf boxes, mean, total variance and main effects of one tree (``grid2_points``: also ``at2``).

    ``boxes``: the tree's :func:`leaf_boxes` when already computed. Every
    parameter at once: parameter ``j``'s values are shifted by ``2j`` (they
    lie in ``[0, 1]``) so one sorted array holds every parameter's edges in
    turn, and one search places every evaluation point.
    """
    span = hi - lo
    lower, upper, value = leaf_boxes(tree, lo, hi) if boxes is None else boxes
    width = np.maximum(upper - lower, 0.0) / span
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
    shift = 2.0 * np.arange(d)
    edges = np.unique(np.concatenate([lower + shift, upper + shift]).ravel())
    first = np.searchsorted(edges, shift)  # where each parameter's edges begin
    sizes = np.diff(np.append(first, edges.size))
    start = np.searchsorted(edges, lower + shift)  # global edge indices
    stop = np.searchsorted(edges, upper + shift)
    w = mass[:, None] / width
    diff = (np.bincount(start.ravel(), w.ravel(), minlength=edges.size)
            - np.bincount(stop.ravel(), w.ravel(), minlength=edges.size))
    cells = np.cumsum(diff)  # each parameter's last entry is 0: all leaves have ended
    c = np.append(np.diff(edges), 0.0)
    c[first[1:] - 1] = 0.0  # the gap between two parameters' edge runs has no width
    main = np.add.reduceat(c * cells**2, first) / span
    start -= first
    stop -= first
    cellw = np.split(c / np.repeat(span, sizes), first[1:])
    idx, _ = _cells_at(edges, first, sizes, shift, grid_points)
    marg1 = f0 + cells[idx]
    at2 = None
    if grid2_points is not None:
        idx2, owner2 = _cells_at(edges, first, sizes, shift, grid2_points)
        at2 = np.split(idx2 - first[owner2], np.cumsum([g.size for g in grid2_points])[:-1])
    return TreeParts(f0, total, mass, width, start, stop, cellw, at2, main, marg1)


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


def forest_interactions(parts: Sequence[TreeParts], pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Interaction variance ``(trees, pairs)`` of several trees at once, without 2-D marginals.

    The pure interaction of ``(i, j)`` is the doubly centred 2-D marginal:
    a leaf that does not split both ``i`` and ``j`` adds a function of one
    of them (or a constant), which centring removes. So only the leaves
    split in both enter a pair's grid, ``G = sum_l m_l / (w_li w_lj)
    1[I_li] x 1[I_lj]`` (a 2-D difference array), and the variance of its
    double centring is ``|G|^2 - |row means|^2 - |column means|^2 +
    mean^2`` (cell-width weighted). Equal to ``V(2-D marginal) - V_i - V_j``
    up to rounding, without its cancellation. The (tree, pair) grids are
    batched across trees by shape (rounded up to powers of 2), so the
    number of numpy calls does not grow with trees x pairs.
    """
    n_pairs = len(pairs)
    out = np.zeros((len(parts), n_pairs))
    if not n_pairs or not len(parts):
        return out
    ii = np.array([i for i, _ in pairs])
    jj = np.array([j for _, j in pairs])
    rows_n, cols_n, ev_item, ev_r0, ev_r1, ev_c0, ev_c1, ev_w = [], [], [], [], [], [], [], []
    step = max(1, _MAX_CELLS // max(1, max(p.mass.size for p in parts)))  # pairs per leaf mask
    for t, p in enumerate(parts):
        sizes = np.array([c.size for c in p.cellw])  # edges per parameter (cells + 1)
        rows_n.append(sizes[ii])
        cols_n.append(sizes[jj])
        split = np.ascontiguousarray((p.width < 1.0).T)  # (d, leaves)
        for k0 in range(0, n_pairs, step):
            ki, kj = ii[k0:k0 + step], jj[k0:k0 + step]
            # pair-major, leaves ascending within a pair: the events come out sorted by item
            k, leaf = np.nonzero(split[ki] & split[kj])
            i, j = ki[k], kj[k]
            ev_item.append(t * n_pairs + k0 + k)
            ev_r0.append(p.start[leaf, i])
            ev_r1.append(p.stop[leaf, i])
            ev_c0.append(p.start[leaf, j])
            ev_c1.append(p.stop[leaf, j])
            ev_w.append(p.mass[leaf] / (p.width[leaf, i] * p.width[leaf, j]))
    rows_n, cols_n = np.concatenate(rows_n), np.concatenate(cols_n)  # per item (tree-major)
    item = np.concatenate(ev_item)
    r0, r1, c0, c1, w = (np.concatenate(a) for a in (ev_r0, ev_r1, ev_c0, ev_c1, ev_w))
    # Shape groups: sizes rounded up (to even sizes up to 16, then multiples of 8) bound the zero padding.
    pad_r, pad_c = _padded(rows_n), _padded(cols_n)
    key = pad_r * (1 << 20) + pad_c
    # Only (tree, pair) items with a leaf split in both parameters have an interaction (``item`` is sorted).
    active = item[np.flatnonzero(np.diff(item, prepend=-1))]
    # Every tree's cell widths per parameter, zero-padded to the widest grid.
    width_max = int(max(pad_r.max(), pad_c.max()))
    cw = np.zeros((len(parts), len(parts[0].cellw), width_max))
    for t, p in enumerate(parts):
        for j, c in enumerate(p.cellw):
            cw[t, j, :c.size] = c
    flat = out.ravel()
    for g in np.unique(key[active]):
        members = active[key[active] == g]
        n_r, n_c = int(pad_r[members[0]]), int(pad_c[members[0]])
        per = max(1, _MAX_CELLS // (n_r * n_c))
        for b0 in range(0, members.size, per):
            batch = members[b0:b0 + per]
            lo_ev, hi_ev = np.searchsorted(item, batch), np.searchsorted(item, batch, side="right")
            counts = hi_ev - lo_ev
            sel = np.repeat(lo_ev - np.cumsum(np.append(0, counts[:-1])), counts) + np.arange(counts.sum())
            local = np.repeat(np.arange(batch.size), counts) * (n_r * n_c)
            ws = w[sel]
            idx = np.concatenate([local + r0[sel] * n_c + c0[sel], local + r1[sel] * n_c + c1[sel],
                                  local + r0[sel] * n_c + c1[sel], local + r1[sel] * n_c + c0[sel]])
            grid = np.bincount(idx, np.concatenate([ws, ws, -ws, -ws]), minlength=batch.size * n_r * n_c)
            grid = grid.reshape(batch.size, n_r, n_c)
            _prefix_sum(grid, 1)
            _prefix_sum(grid, 2)
            t, k = np.divmod(batch, n_pairs)
            ci = cw[t, ii[k], :n_r]
            cj = cw[t, jj[k], :n_c]
            row = np.matmul(grid, cj[:, :, None])[:, :, 0]  # cell-width weighted row means
            col = np.matmul(ci[:, None, :], grid)[:, 0, :]
            mean = (row * ci).sum(axis=1)
            np.square(grid, out=grid)
            sq = (np.matmul(grid, cj[:, :, None])[:, :, 0] * ci).sum(axis=1)
            flat[batch] = sq - (np.square(row) * ci).sum(axis=1) - (np.square(col) * cj).sum(axis=1) + np.square(mean)
    return out


def _prefix_sum(a: np.ndarray, axis: int) -> None:
    """In-place cumulative sum along a short ``axis`` (same order of additions as ``np.cumsum``).

    numpy's cumsum along a short axis of many small matrices pays per row; one vectorized add per
    position along the axis measured 3-4x faster for the pair grids.
    """
    n = a.shape[axis]
    if n > 64:
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


def decompose_forest(trees: Sequence[Any], lo: np.ndarray, hi: np.ndarray, grid_points: Sequence[np.ndarray],
                     grid2_points: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]],
                     expand: Expansion | None = None, surfaces: bool = True) -> ForestDecomposition:
    """Decompose every tree and fold the results into running aggregates (no per-tree storage).

    ``lo``, ``hi``, the grids and ``pairs`` describe the parameters the trees
    were fitted on; with ``expand`` each tree's results are placed among all
    parameters before they are aggregated. ``surfaces=False``: the pairs'
    interaction fractions only, no 2-D marginals (``marg2`` stays empty).

    Serial on purpose: two forked processes (each decomposing half the trees,
    aggregates merged) and two threads both measured slower than one process
    on this 2-core machine (``docs/scale.md``).
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
    # One BLAS thread: the products are small, and threads measured several
    # times slower on a loaded 2-core machine.
    from threadpoolctl import threadpool_limits

    def fold(p: TreeParts, v: np.ndarray, surf: np.ndarray | None) -> None:
        scale = 1.0 / p.total if p.total > 0 else 0.0
        m1, m = p.marg1, p.main
        if expand is not None:
            m, m1, v, surf = _place(p, v, surf, offsets, expand, pos, sub_index, out_offsets)
        totals.add(np.float64(p.total))
        main.add(m * scale)
        marg1_all.add(m1)
        if n_out_pairs:
            inter.add(np.maximum(v * scale, 0.0))  # exact up to rounding; never negative
            if surf is not None:
                marg2.add(surf + p.f0)

    chunk: list[TreeParts] = []
    budget = 0
    # Leaf boxes of a batch of trees at a time (nodes x parameters bounded).
    nodes = [t.tree_.node_count for t in trees]
    per = max(1, _CHUNK_LEAF_PARAMS // max(1, max(nodes, default=1) * lo.size))
    with threadpool_limits(1, user_api="blas"):
        for t, tree in enumerate(trees):
            if t % per == 0:
                boxes = leaf_boxes_many(trees[t:t + per], lo, hi)
            p = tree_parts(tree, lo, hi, grid_points, grid2_points if surfaces and pairs else None, boxes[t % per])
            if not surfaces:
                # Interactions of several trees at once (batched grids); memory bounded by the chunk's leaves.
                chunk.append(p)
                budget += p.width.size
                if budget >= _CHUNK_LEAF_PARAMS:
                    for q, v in zip(chunk, forest_interactions(chunk, pairs)):
                        fold(q, v, None)
                    chunk, budget = [], 0
                continue
            v, surf = np.zeros(0), flat
            if pairs:
                if _dense_is_cheaper(p, pairs, dims):
                    v, surf = dense_pairs(p, pairs, dims, gather)
                else:
                    v = tree_pairs(p, pairs, put)
            fold(p, v, surf)
        if chunk:
            for q, v in zip(chunk, forest_interactions(chunk, pairs)):
                fold(q, v, None)
    marg1 = _split_running(marg1_all, [g.size for g in (expand.grid_points if expand is not None else grid_points)])
    return ForestDecomposition(len(trees), float(totals.mean), main, inter, marg1, marg2, out_offsets, out_shapes)


def _split_running(r: Running, sizes: Sequence[int]) -> list[Running]:
    """One :class:`Running` of concatenated arrays as one per part."""
    cuts = np.cumsum(sizes)[:-1]
    out = []
    for mean, m2 in zip(np.split(np.asarray(r.mean, dtype=float), cuts), np.split(np.asarray(r.m2, dtype=float), cuts)):
        part = Running()
        part.n, part.mean, part.m2 = r.n, mean, m2
        out.append(part)
    return out


def _place(p: TreeParts, v: np.ndarray, surfaces: np.ndarray | None, offsets: np.ndarray, ex: Expansion,
           pos: dict[int, int], sub_index: dict[tuple[int, int], int], out_offsets: np.ndarray) -> tuple:
    """One tree's results among all parameters (see :class:`Expansion`); surfaces stay centred (``None``: skipped).

    Returns ``(main, marg1 concatenated over all parameters, inter, surfaces)``.
    """
    d = len(ex.grid_points)
    main = np.zeros(d)
    main[ex.keep] = p.main
    own = np.split(p.marg1, np.cumsum([ex.grid_points[j].size for j in ex.keep])[:-1])
    marg1 = np.concatenate([own[pos[j]] if j in pos else np.full(ex.grid_points[j].size, p.f0) for j in range(d)])
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
            out[:] = np.interp(ex.grid2_points[i], ex.grid_points[i], own[pos[i]] - p.f0)[:, None]
        elif j in pos:
            out[:] = np.interp(ex.grid2_points[j], ex.grid_points[j], own[pos[j]] - p.f0)[None, :]
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
