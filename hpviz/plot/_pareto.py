"""Model-selection view: the Pareto front over two metrics (more metrics: the third as colour).

The axes are scaled to the front and the bulk of the trials, never to a few extreme ones, so the
front is never squeezed into one dot; the view says how many trials lie outside the axes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from hpviz.plot._common import COLORS, message, new_figure, note, sample_indices, short
from hpviz.plot._display import Display

__all__ = ["ParetoDisplay", "ParetoInfo", "pareto_info", "pareto"]

#: Quantiles of all candidate trials that the axes always include (with the whole front).
BULK = (0.02, 0.98)
#: The axes show every trial unless that would make them this many times wider than the bulk and front.
MAX_STRETCH = 3.0


class ParetoInfo(NamedTuple):
    """What the Pareto view draws (pure data; tested without pixels)."""

    names: list[str]  # metrics in order (the first two are the axes)
    points: pd.DataFrame  # drawn candidate trials: ``number``, metrics, ``on_front``, ``feasible``
    front: pd.DataFrame  # feasible front points, sorted by the first metric
    n_total: int  # candidate trials before sampling
    xlim: tuple[float, float] | None
    ylim: tuple[float, float] | None
    n_outside: int  # candidate trials outside the axes
    n_infeasible: int


def _limits(values: np.ndarray, front: np.ndarray) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = np.quantile(finite, BULK)
    if front.size:
        lo, hi = min(lo, float(front.min())), max(hi, float(front.max()))
    if finite.max() - finite.min() <= MAX_STRETCH * (hi - lo):
        lo, hi = float(finite.min()), float(finite.max())  # no outlier worth clipping: show every trial
    span = hi - lo
    if span <= 0:
        span = abs(hi) * 0.1 or 1.0
    return float(lo - 0.05 * span), float(hi + 0.05 * span)


def pareto_info(front: Any, experiment: Any = None, max_points: int = 3000, seed: int = 0) -> ParetoInfo:
    """Points, front and axis limits of the Pareto view (limits: the whole front and the bulk of trials)."""
    names = list(front.objectives)
    df = front.all.copy()
    infeasible: set[int] = set()
    if experiment is not None:
        infeasible = {t.number for t in experiment.trials if getattr(t, "feasible", True) is False}
    df["feasible"] = ~df["number"].isin(infeasible) if len(df) else pd.Series(dtype=bool)
    if len(names) < 2 or df.empty:
        return ParetoInfo(names, df, df.iloc[:0], len(df), None, None, 0, len(infeasible & set(df.get("number", []))))
    a, b = names[0], names[1]
    on = (df["on_front"].to_numpy(dtype=bool) & df["feasible"].to_numpy(dtype=bool))
    fr = df[on].sort_values(a)
    xlim = _limits(df[a].to_numpy(float), fr[a].to_numpy(float))
    ylim = _limits(df[b].to_numpy(float), fr[b].to_numpy(float))
    x, y = df[a].to_numpy(float), df[b].to_numpy(float)
    outside = ((x < xlim[0]) | (x > xlim[1]) | (y < ylim[0]) | (y > ylim[1])) if xlim and ylim else np.zeros(len(df), bool)
    idx = sample_indices(len(df), max_points, np.flatnonzero(on), seed)
    return ParetoInfo(names, df.iloc[idx], fr, len(df), xlim, ylim, int(outside.sum()),
                      int((~df["feasible"].to_numpy(dtype=bool)).sum()))


class ParetoDisplay(Display):
    """Every candidate trial over the first two metrics, the non-dominated feasible ones joined and labelled.

    The result is a :class:`ParetoFront` (from :func:`hpviz.pareto_front`); ``experiment=`` marks
    infeasible trials (hollow grey; never on the highlighted front). ``front_``: the front's scatter.
    ``info_``: the :class:`ParetoInfo` drawn (axis limits, what was clipped).
    """

    key = "pareto"
    title = "Pareto front"
    about = "Trade-offs between objectives: no trial on the front is beaten on all."
    result_key = "pareto"
    result_attrs = ("all", "objectives")
    compute_options = ("objectives",)
    options = {"max_points": 3000, "label_front": 8, "seed": 0}

    @classmethod
    def applies(cls, experiment: Any) -> str | None:
        return None if len(experiment.objectives) >= 2 else "one objective: no trade-off to show"

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, objectives: Any = None) -> Any:
        from hpviz import pareto_front

        return pareto_front(experiment, objectives)

    def _draw(self, ax: Axes | None) -> Axes:
        front = self.result
        info = self.info_ = pareto_info(front, self.experiment, self.options["max_points"], self.options["seed"])
        self.front_ = None
        names = info.names
        if ax is None:
            ax = new_figure(7.5, 5.2).add_subplot()
        ax.set_title("Pareto front" + (f": {short(names[0], 20)} vs {short(names[1], 20)}" if len(names) > 1 else ""),
                     loc="left")
        if len(names) < 2:
            message(ax, "one metric: no trade-off to show")
            ax.set_xlabel(short(names[0], 30) if names else "metric")
            ax.set_ylabel("metric")
            return ax
        a, b = names[0], names[1]
        ax.set_xlabel(f"{short(a, 40)} ({front.objectives[a]})")
        ax.set_ylabel(f"{short(b, 40)} ({front.objectives[b]})")
        if info.points.empty:
            message(ax, "no completed trial with finite values of all metrics")
            return ax
        sub = info.points
        feas = sub["feasible"].to_numpy(dtype=bool)
        off = ~(sub["on_front"].to_numpy(dtype=bool) & feas) & feas
        n_off = info.n_total - len(info.front) - info.n_infeasible
        if len(names) > 2:
            c = names[2]
            sc = ax.scatter(sub[a][off], sub[b][off], c=sub[c][off], cmap="viridis", s=10, alpha=0.6, lw=0,
                            rasterized=True, label="dominated")
            ax.figure.colorbar(sc, ax=ax, label=f"{short(c, 30)} ({front.objectives[c]})", pad=0.01)
        else:
            ax.scatter(sub[a][off], sub[b][off], s=10, color=COLORS["muted"], alpha=0.5, lw=0, rasterized=True,
                       label=f"dominated ({n_off})")
        if (~feas).any():
            ax.scatter(sub[a][~feas], sub[b][~feas], s=14, facecolor="none", edgecolor=COLORS["infeasible"], lw=0.7,
                       rasterized=True, label=f"infeasible ({info.n_infeasible})")
        fr = info.front
        # the staircase bounding what the front dominates (only meaningful in two dimensions)
        step = ("steps-post" if front.objectives[a] == "min" else "steps-pre") if len(names) == 2 else "default"
        ax.plot(fr[a], fr[b], color=COLORS["highlight"], lw=1.2, zorder=3, drawstyle=step, alpha=0.8)
        self.front_ = ax.scatter(fr[a], fr[b], color=COLORS["highlight"], s=28, zorder=4, edgecolor="white", lw=0.6,
                                 label=f"on the front ({len(fr)})")
        if info.xlim and info.ylim:
            ax.set_xlim(*info.xlim)
            ax.set_ylim(*info.ylim)
        head = fr.head(self.options["label_front"])
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
        if len(sub) < info.n_total:
            notes.append(f"showing {len(sub)} of {info.n_total} trials")
        if info.n_outside:
            notes.append(f"{info.n_outside} extreme trial{'s' if info.n_outside > 1 else ''} outside the axes")
        if len(names) > 2:
            notes.append(f"{len(names)} metrics: front over all, colour = {short(names[2], 16)}")
        if notes:
            note(ax, "; ".join(notes))
        return ax


def pareto(obj: Any, ax: Axes | None = None, **options: Any) -> ParetoDisplay:
    """One call: :class:`ParetoDisplay` of a :class:`ParetoFront`, or of anything :func:`hpviz.pareto_front`
    accepts (``objectives=`` picks the metrics)."""
    return ParetoDisplay.shortcut(obj, ax, **options)
