"""Model-selection view: the Pareto front over two metrics (more metrics: the third as colour)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from hpviz.plot._common import COLORS, message, new_figure, note, sample_indices, short, style

__all__ = ["pareto"]


def pareto(result_or_obj: Any, ax: Axes | None = None, *, experiment: Any = None, objectives: Any = None,
           max_points: int = 3000, label_front: int = 8, seed: int = 0) -> Axes:
    """Every candidate trial over the first two metrics, the non-dominated ones joined and labelled.

    Parameters
    ----------
    result_or_obj:
        A :class:`ParetoFront` (from :func:`hpviz.pareto_front`) or anything it accepts
        (computed with ``objectives``).
    label_front:
        Trial numbers are written next to at most this many front points.
    """
    front = result_or_obj
    if not hasattr(front, "all") or not hasattr(front, "objectives"):
        from hpviz.analysis.select import pareto_front

        front = pareto_front(result_or_obj, objectives)
    del experiment  # accepted for symmetry with the other views; the front carries what it needs
    names = list(front.objectives)
    with style():
        if ax is None:
            ax = new_figure(7.5, 5.2).add_subplot()
        ax.set_title("Pareto front" + (f": {short(names[0], 20)} vs {short(names[1], 20)}" if len(names) > 1 else ""),
                     loc="left")
        if len(names) < 2:
            message(ax, "one metric: no trade-off to show")
            ax.set_xlabel(names[0] if names else "metric")
            ax.set_ylabel("metric")
            return ax
        a, b = names[0], names[1]
        ax.set_xlabel(f"{a} ({front.objectives[a]})")
        ax.set_ylabel(f"{b} ({front.objectives[b]})")
        df = front.all
        if df.empty:
            message(ax, "no completed trial with finite values of all metrics")
            return ax
        on = df["on_front"].to_numpy(dtype=bool)
        idx = sample_indices(len(df), max_points, np.flatnonzero(on), seed)
        sub = df.iloc[idx]
        off = ~sub["on_front"].to_numpy(dtype=bool)
        if len(names) > 2:
            c = names[2]
            sc = ax.scatter(sub[a][off], sub[b][off], c=sub[c][off], cmap="viridis", s=10, alpha=0.6, lw=0,
                            rasterized=True, label="dominated")
            ax.figure.colorbar(sc, ax=ax, label=f"{c} ({front.objectives[c]})", pad=0.01)
        else:
            ax.scatter(sub[a][off], sub[b][off], s=10, color=COLORS["muted"], alpha=0.5, lw=0, rasterized=True,
                       label=f"dominated ({int((~on).sum())})")
        fr = df[on].sort_values(a)
        # the staircase bounding what the front dominates (only meaningful in two dimensions)
        step = ("steps-post" if front.objectives[a] == "min" else "steps-pre") if len(names) == 2 else "default"
        ax.plot(fr[a], fr[b], color=COLORS["highlight"], lw=1.2, zorder=3, drawstyle=step, alpha=0.8)
        ax.scatter(fr[a], fr[b], color=COLORS["highlight"], s=28, zorder=4, edgecolor="white", lw=0.6,
                   label=f"on the front ({len(fr)})")
        head = fr.head(label_front)
        # skip a label that would sit on one already placed (dense stretches of the front)
        pix = ax.transData.transform(np.column_stack([head[a].to_numpy(float), head[b].to_numpy(float)]))
        placed: list[np.ndarray] = []
        for (_, row), xy in zip(head.iterrows(), pix):
            if not np.isfinite(xy).all() or any(abs(xy[0] - q[0]) < 22 and abs(xy[1] - q[1]) < 11 for q in placed):
                continue
            placed.append(xy)
            ax.annotate(f"#{int(row['number'])}", (row[a], row[b]), xytext=(4, 4), textcoords="offset points",
                        fontsize=7, color="0.2")
        ax.legend(loc="best")
        notes = []
        if len(idx) < len(df):
            notes.append(f"showing {len(idx)} of {len(df)} trials")
        if len(names) > 2:
            notes.append(f"{len(names)} metrics: front over all, colour = {short(names[2], 16)}")
        if notes:
            note(ax, "; ".join(notes))
        return ax
