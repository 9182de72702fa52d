"""Parallel coordinates: every trial as a line across the parameters and the objective, top k highlighted."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hpviz.plot._common import (
    COLORS,
    as_experiment,
    cap_note,
    declared_param,
    effective_k,
    fmt,
    message,
    ordered_params,
    param_column,
    sample_indices,
    score_colorbar,
    score_norm,
    short,
    style,
    to_unit,
    trial_arrays,
)
from hpviz.schema import Categorical

__all__ = ["parallel"]


def _two_lines(name: str, chars: int, tag: str = "") -> str:
    """An upright axis name in at most two lines, broken after a separator (``optimizer.`` / ``lr``)."""
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
        put(pos, fmt(float(t)))


def parallel(result_or_obj: Any, ax: Axes | None = None, *, objective: str | None = None, importance: Any = None,
             top_k: int = 10, max_params: int = 12, max_lines: int = 1000, seed: int = 0) -> Axes:
    """Parallel coordinates of the trials (parameters on their search scale, objective last).

    Parameters
    ----------
    result_or_obj:
        An Experiment (or anything :func:`hpviz.experiment` accepts).
    importance:
        An :class:`hpviz.Importance` to order (and cap) the parameters, most important first.
    top_k:
        The k best completed trials are drawn on top in a strong colour.
    max_params, max_lines:
        Caps for large experiments; the figure says what was left out.
    """
    exp = as_experiment(result_or_obj)
    a = trial_arrays(exp, objective)
    names, ranked = ordered_params(exp, importance)
    total_params = len(names)
    names = names[:max(1, max_params)]
    space = {name: declared_param(exp, name) for name in names}
    n = len(a.number)
    top_k = effective_k(top_k, int(a.complete.sum()))
    top = a.top_indices(top_k)
    idx = sample_indices(n, max_lines, top, seed)
    ok = a.complete[idx]
    full = {name: param_column(a.trials, name, space.get(name)) for name in names}
    bounds = {name: _bounds(space.get(name), full[name]) for name in names}
    cols = [to_unit(full[name][idx], space.get(name), bounds[name]) for name in names]
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
    xs = np.arange(m, dtype=float)
    norm, cmap = score_norm(a.value, a.direction)
    rotate = m > 6
    # upright names get as many characters as the axis spacing holds; rotated ones a fixed budget
    room = (max(8.0, min(14.0, 1.1 * m + 3)) - 2.4) / (max(m - 1, 1) + 0.15)
    chars = 22 if rotate else int(np.clip(room / 0.075, 12, 30))
    labels = []
    for n_ in names:
        tag = " (log)" if getattr(space.get(n_), "log", False) else ""
        labels.append(short(n_, chars - len(tag)) + tag if rotate else _two_lines(n_, chars, tag))
    labels.append(f"{short(a.objective, 16)} ({a.direction})")
    with style():
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
        bad = back[~ok[back]]
        if bad.size:
            ax.add_collection(LineCollection(list(segs[bad]), colors=COLORS["muted"], linewidths=0.6,
                                             alpha=alpha, linestyles="dotted", zorder=1, rasterized=True))
        fine = back[ok[back]]
        if fine.size:
            lc = LineCollection(list(segs[fine]), cmap=cmap, norm=norm, linewidths=0.7, alpha=min(1, alpha * 2),
                                zorder=2, rasterized=True)
            lc.set_array(a.value[idx][fine])
            ax.add_collection(lc)
        tops = order[is_top[order]]
        if tops.size:
            ax.add_collection(LineCollection(list(segs[tops]), colors=COLORS["highlight"], linewidths=1.8,
                                             alpha=0.9, zorder=4, label=f"top {tops.size}"))
        for j in range(m):
            ax.axvline(j, color="0.3", lw=0.8, zorder=3)
        for j, name in enumerate(names):
            _axis_labels(ax, j, space.get(name), bounds[name])
        if finite.size:
            # objective axis runs worst (bottom) to best (top)
            worst, best = (vhi, vlo) if a.direction == "min" else (vlo, vhi)
            for p_, v_, va in zip((0.0, 0.5, 1.0), (worst, (worst + best) / 2, best), ("bottom", "center", "top")):
                ax.text(m - 1 + 0.03, p_, fmt(float(v_)), fontsize=7, color="0.25", va=va, ha="left",
                        zorder=6, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
        ax.set_xticks(xs, labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_xlim(-0.15, x_right)
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks([])
        ax.grid(False)
        ax.spines[["left", "bottom"]].set_visible(False)
        ax.tick_params(length=0)
        if not a.complete.any():
            if cax is not None:
                cax.set_visible(False)
            ax.text(0.5, 1.0, "no completed trial: grey dotted lines are the other trials' parameters",
                    transform=ax.transAxes, ha="center", va="bottom", fontsize=8, color="0.35")
        elif cax is not None:
            score_colorbar(ax.figure, norm, cmap, None, f"{a.objective} (dark = better)", cax=cax)
        else:
            score_colorbar(ax.figure, norm, cmap, ax, f"{a.objective} (dark = better)", pad=0.01, aspect=35)
        notes = [s for s in (cap_note(len(names), total_params, "parameters",
                                      "most important first" if ranked else "in space order"),
                             cap_note(idx.size, n, "trials", "random sample + top k")) if s]
        if n == 1:
            notes.append("1 trial: nothing to compare yet")
        if notes:
            ax.set_title("; ".join(notes), loc="right", fontsize=7.5, color="0.35", fontweight="normal")
        return ax
