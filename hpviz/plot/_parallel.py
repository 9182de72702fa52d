"""Parallel coordinates: every trial as a line across the parameters and the objective, top k highlighted.

Conditional spaces: a parameter inactive in a trial sits on an "inactive" level under its axis (the
line is never cut), and a parameter active in none of the drawn trials gets no axis (the figure says so).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hpviz._columns import TrialColumns, trial_columns
from hpviz._numbers import fmt_tick
from hpviz.plot._common import (
    COLORS,
    cap_note,
    declared_param,
    effective_k,
    message,
    one_line,
    ordered_params,
    param_column,
    sample_indices,
    score_colorbar,
    score_norm,
    short,
    to_unit,
)
from hpviz.plot._display import Display
from hpviz.schema import Categorical

__all__ = ["ParallelDisplay", "ParallelInfo", "parallel_info", "parallel", "INACTIVE"]

#: Height (in axis units, 0 = low end, 1 = high end) of the "inactive" level under a parameter's axis.
INACTIVE = -0.15


def _two_lines(name: str, chars: int, tag: str = "") -> str:
    """An upright axis name in at most two lines, broken after a separator (``optimizer.`` / ``lr``)."""
    name = one_line(name)
    text = name + tag
    if len(text) <= chars:
        return text
    cut = max((i for i, c in enumerate(name[:chars]) if c in "./:_-"), default=-1)
    if cut <= 0:
        return short(name, chars - len(tag)) + tag
    rest = name[cut + 1:]
    return name[:cut + 1] + "\n" + short(rest, chars - len(tag)) + tag


def _bounds(param: Any, values: np.ndarray) -> tuple[float, float]:
    """Axis range on the search scale: the declared bounds, widened to values outside them."""
    if isinstance(param, Categorical):
        return 0.0, float(max(len(param.choices) - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = values if param is None else param.to_search_scale(values)
    finite = scaled[np.isfinite(scaled)]
    if param is None:
        return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    lo, hi = param.search_bounds
    if finite.size:
        lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return float(lo), float(hi)


def _axis_labels(ax: Axes, j: int, param: Any, bounds: tuple[float, float]) -> None:
    """Tick labels along the vertical axis ``j`` on the parameter's own scale.

    The end labels sit inside the axis (top one hanging below 1, bottom one standing on 0) so they never
    meet the title or the rotated axis names under the plot.
    """
    kw = dict(fontsize=7, color="0.25", ha="left", zorder=6,
              bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))

    def put(pos: float, text: str) -> None:
        va = "bottom" if pos <= 0.0 else "top" if pos >= 1.0 else "center"
        ax.text(j + 0.03, pos, text, va=va, **kw)

    if isinstance(param, Categorical):
        n = len(param.choices)
        step = max(1, int(np.ceil(n / 8)))
        for i in range(0, n, step):
            put(i / (n - 1) if n > 1 else 0.5, short(param.choices[i], 10))
        return
    lo, hi = bounds
    grid = np.linspace(lo, hi, 3)
    ticks = list(grid if param is None else param.from_search_scale(grid))
    if param is not None:
        # show the declared bounds exactly (exp(log(1.0)) may come back as 0.9999999)
        slo, shi = param.search_bounds
        if lo == slo:
            ticks[0] = param.low
        if hi == shi:
            ticks[-1] = param.high
    for pos, t in zip((0.0, 0.5, 1.0), ticks):
        put(pos, fmt_tick(float(t)))


class ParallelInfo(NamedTuple):
    """What the parallel-coordinates view draws (pure data; tested without pixels)."""

    arrays: TrialColumns
    names: list[str]  # parameters with an axis, in axis order
    labels: list[str]  # axis names (objective last)
    space: dict[str, Any]  # name -> declared parameter over all rounds
    bounds: dict[str, tuple[float, float]]  # name -> axis range on the search scale
    idx: np.ndarray  # indices of the drawn trials
    top: np.ndarray  # indices of the highlighted (best feasible) trials
    data: np.ndarray  # (len(idx), len(names) + 1) heights in [0, 1]; INACTIVE where a parameter is inactive
    inactive_axes: list[int]  # axes with an "inactive" level
    notes: list[str]  # what was left out
    rotate: bool


def parallel_info(exp: Any, objective: str | None = None, importance: Any = None, top_k: int = 10,
                  max_params: int = 12, max_lines: int = 1000, seed: int = 0) -> ParallelInfo:
    """Lines of the parallel-coordinates view: every drawn trial's height on every axis."""
    a = trial_columns(exp, objective)
    names, ranked = ordered_params(exp, importance)
    n = len(a.numbers)
    top_k = effective_k(top_k, int(a.rankable.sum()))
    top = a.top_indices(top_k)
    idx = sample_indices(n, max_lines, top, seed)
    space = {name: declared_param(exp, name) for name in names}
    full = {name: param_column(a.trials, name, space.get(name)) for name in names}
    never = [name for name in names if n and not np.isfinite(full[name][idx]).any()]
    names = [name for name in names if name not in never]
    total_params = len(names)
    names = names[:max(1, max_params)]
    bounds = {name: _bounds(space.get(name), full[name]) for name in names}
    cols = [to_unit(full[name][idx], space.get(name), bounds[name]) for name in names]
    inactive_axes = [j for j, c in enumerate(cols) if (~np.isfinite(c)).any()]
    cols = [np.where(np.isfinite(c), c, INACTIVE) for c in cols]
    finite = a.value[np.isfinite(a.value)]
    vlo, vhi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    span = vhi - vlo if vhi > vlo else 1.0
    # objective axis: best at the top whatever the direction
    obj = (a.value[idx] - vlo) / span
    if a.direction == "min":
        obj = 1.0 - obj
    cols.append(obj)
    data = np.column_stack(cols) if cols else np.zeros((idx.size, 0))
    m = data.shape[1]
    rotate = m > 6
    # upright names get as many characters as the axis spacing holds; rotated ones a fixed budget
    room = (max(8.0, min(14.0, 1.1 * m + 3)) - 2.4) / (max(m - 1, 1) + 0.15)
    chars = 22 if rotate else int(np.clip(room / 0.075, 12, 30))
    labels = []
    for n_ in names:
        tag = " (log)" if getattr(space.get(n_), "log", False) else ""
        labels.append(short(n_, chars - len(tag)) + tag if rotate else _two_lines(n_, chars, tag))
    labels.append(f"{short(a.objective, 16)} ({a.direction})")
    notes = [s for s in (cap_note(len(names), total_params, "parameters",
                                  "most important first" if ranked else "in space order"),
                         cap_note(idx.size, n, "trials", "random sample + top k")) if s]
    if never:
        notes.append(f"{len(never)} parameter{'s' if len(never) > 1 else ''} never active: no axis")
    if n == 1:
        notes.append("1 trial: nothing to compare yet")
    return ParallelInfo(a, names, labels, space, bounds, idx, top, data, inactive_axes, notes, rotate)


class ParallelDisplay(Display):
    """Parallel coordinates of the trials (parameters on their search scale, objective last, best on top).

    The result is the Experiment itself. Options: ``importance=`` orders (and with ``max_params``
    caps) the parameters most important first; the ``top_k`` best feasible trials are drawn on top
    in a strong colour (``top_``: their LineCollection); infeasible trials are grey dashed lines.
    ``info_`` holds the :class:`ParallelInfo` drawn.
    """

    key = "parallel"
    title = "Parallel coordinates"
    about = "Every trial across all parameters, the best highlighted."
    uses = ("importance",)
    result_attrs = ("trials", "space")
    options = {"objective": None, "top_k": 10, "max_params": 12, "max_lines": 1000, "seed": 0}

    def _draw(self, ax: Axes | None) -> Axes:
        exp = self.experiment if self.experiment is not None else self.result
        info = self.info_ = parallel_info(exp, importance=self.extras.get("importance"), **self.options)
        self.top_ = None
        return _draw(self, info, ax)


def parallel(obj: Any, ax: Axes | None = None, **options: Any) -> ParallelDisplay:
    """One call: :class:`ParallelDisplay` of an experiment (or anything :func:`hpviz.experiment` accepts)."""
    return ParallelDisplay.shortcut(obj, ax, **options)


def _draw(display: ParallelDisplay, info: ParallelInfo, ax: Axes | None) -> Axes:
    a, names, labels, space, bounds, idx, top = (info.arrays, info.names, info.labels, info.space, info.bounds,
                                                 info.idx, info.top)
    data, rotate, n = info.data, info.rotate, len(info.arrays.numbers)
    m = data.shape[1]
    xs = np.arange(m, dtype=float)
    ok = a.rankable[idx]
    infeasible = a.infeasible[idx]
    finite = a.value[np.isfinite(a.value)]
    vlo, vhi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    norm, cmap = score_norm(a.feasible_values(), a.direction)
    cax = None
    if ax is None:
        # fixed margins (room for rotated names and the colorbar): cheaper than constrained layout,
        # sized from the label lengths so the first name is not cut at the left edge
        char_w, line_h = 0.07, 0.16  # inches per character / per line of 8 pt text
        cos, sin = (0.866, 0.5) if rotate else (0.5, 0.0)
        width, height = max(8.0, min(14.0, 1.1 * m + 3)), 5.0
        right_in, pad_in = 1.25, 0.6  # colorbar; room for the objective's value labels
        left_in = 0.55
        for _ in range(2):  # the first name's overhang depends on the axis spacing and vice versa
            unit_in = (width - left_in - right_in - pad_in) / (max(m - 1, 1) + 0.15)
            overhang = max(map(len, labels[0].split("\n"))) * char_w * cos + line_h * sin - 0.15 * unit_in
            left_in = max(0.55, overhang + 0.1)
        longest = max(len(t) for t in labels)
        lines = max(t.count("\n") + 1 for t in labels)
        bottom_in = max(0.7, 0.45 + longest * char_w * sin + line_h * lines)
        unit_in = (width - left_in - right_in - pad_in) / (max(m - 1, 1) + 0.15)
        fig = Figure(figsize=(width, height))
        y0, y1 = bottom_in / height, 1 - 0.4 / height
        fig.subplots_adjust(left=left_in / width, right=1 - right_in / width, top=y1, bottom=y0)
        ax = fig.add_subplot()
        cax = fig.add_axes((1 - 1.05 / width, y0, 0.14 / width, y1 - y0))
        x_right = m - 1 + pad_in / unit_in
    else:
        x_right = m - 1 + 0.6
    title = f"Parallel coordinates (top {top.size} in orange)" if top.size else "Parallel coordinates"
    ax.set_title(title, loc="left")
    ax.set_xlabel("parameter (search scale; objective last, best at the top)")
    ax.set_ylabel("low  ←  position in range  →  high")
    if n == 0:
        message(ax, "no trials yet")
        return ax
    segs = np.stack([np.broadcast_to(xs, data.shape), data], axis=-1)  # (lines, m, 2)
    good = a.goodness()[idx]
    order = np.argsort(np.where(ok, good, -np.inf), kind="stable")  # worst first, best on top
    is_top = np.isin(idx, top)
    back = order[~is_top[order]]
    alpha = float(np.clip(60.0 / max(back.size, 1), 0.06, 0.6))
    bad = back[~ok[back] & ~infeasible[back]]
    if bad.size:
        ax.add_collection(LineCollection(list(segs[bad]), colors=COLORS["muted"], linewidths=0.6,
                                         alpha=alpha, linestyles="dotted", zorder=1, rasterized=True))
    unfit = back[infeasible[back]]
    if unfit.size:
        ax.add_collection(LineCollection(list(segs[unfit]), colors=COLORS["infeasible"], linewidths=0.7,
                                         alpha=min(1, alpha * 2), linestyles="dashed", zorder=1.5,
                                         rasterized=True, label=f"infeasible ({unfit.size})"))
    fine = back[ok[back]]
    if fine.size:
        lc = LineCollection(list(segs[fine]), cmap=cmap, norm=norm, linewidths=0.7, alpha=min(1, alpha * 2),
                            zorder=2, rasterized=True)
        lc.set_array(a.value[idx][fine])
        ax.add_collection(lc)
    tops = order[is_top[order]]
    if tops.size:
        display.top_ = LineCollection(list(segs[tops]), colors=COLORS["highlight"], linewidths=1.8,
                                      alpha=0.9, zorder=4, label=f"top {tops.size}")
        ax.add_collection(display.top_)
    for j in range(m):
        ax.axvline(j, color="0.3", lw=0.8, zorder=3)
    for j, name in enumerate(names):
        _axis_labels(ax, j, space.get(name), bounds[name])
    for j in info.inactive_axes:
        ax.text(j + 0.03, INACTIVE, "inactive", va="center", ha="left", fontsize=7, color="0.35", style="italic",
                zorder=6, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
    if finite.size:
        # objective axis runs worst (bottom) to best (top)
        worst, best = (vhi, vlo) if a.direction == "min" else (vlo, vhi)
        for p_, v_, va in zip((0.0, 0.5, 1.0), (worst, (worst + best) / 2, best), ("bottom", "center", "top")):
            ax.text(m - 1 + 0.03, p_, fmt_tick(float(v_)), fontsize=7, color="0.25", va=va, ha="left",
                    zorder=6, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
    ax.set_xticks(xs, labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlim(-0.15, x_right)
    ax.set_ylim(INACTIVE - 0.05 if info.inactive_axes else -0.05, 1.05)
    ax.set_yticks([])
    ax.grid(False)
    ax.spines[["left", "bottom"]].set_visible(False)
    ax.tick_params(length=0)
    if not a.usable.any():
        if cax is not None:
            cax.set_visible(False)
        ax.text(0.5, 1.0, "no completed trial: grey dotted lines are the other trials' parameters",
                transform=ax.transAxes, ha="center", va="bottom", fontsize=8, color="0.35")
    elif cax is not None:
        score_colorbar(ax.figure, norm, cmap, None, f"{short(a.objective, 30)} (dark = better)", cax=cax)
    else:
        score_colorbar(ax.figure, norm, cmap, ax, f"{short(a.objective, 30)} (dark = better)", pad=0.01, aspect=35)
    notes = list(info.notes)
    if unfit.size:
        notes.append("grey dashed: infeasible")
    if notes:
        ax.set_title("; ".join(notes), loc="right", fontsize=7.5, color="0.35", fontweight="normal")
    return ax
