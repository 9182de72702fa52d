"""Learning curves from the trials' reservoir logs (pruned trials drawn distinctly)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from hpviz._columns import TrialColumns, trial_columns
from hpviz._metrics import experiment_log_metric
from hpviz.plot._common import (
    COLORS,
    cap_note,
    effective_k,
    integer_ticks,
    message,
    new_figure,
    note,
    sample_indices,
    score_colorbar,
    score_norm,
    short,
)
from hpviz.plot._display import Display

__all__ = ["CurvesDisplay", "CurvesInfo", "curves_info", "curves"]


def _metric(exp: Any, objective: str | None = None) -> str | None:
    """The metric that stands for the objective (:func:`hpviz._metrics.experiment_log_metric`, the rule the
    pruner-misranks finding uses too): the objective if logged, else ``"value"``, else None."""
    return experiment_log_metric(exp.trials, exp.objective(objective))


class CurvesDisplay(Display):
    """Intermediate values per step for every trial that logged them.

    The result is the Experiment itself. Completed trials are coloured by their final objective,
    the ``top_k`` best feasible ones drawn thick (``top_``), pruned ones as dashed orange lines ending
    where they were stopped; infeasible ones grey.
    """

    key = "curves"
    title = "Learning curves"
    about = "Intermediate values per step; pruned trials dashed."
    result_attrs = ("trials", "space")
    options = {"objective": None, "metric": None, "max_curves": 300, "top_k": 10, "seed": 0}

    @classmethod
    def applies(cls, experiment: Any) -> str | None:
        return None if _metric(experiment) is not None else "no trial logged intermediate values of the objective"

    def _draw(self, ax: Axes | None) -> Axes:
        self.top_ = None
        self.info_ = curves_info(self.experiment if self.experiment is not None else self.result, **self.options)
        return _curves(self, self.info_, ax)


def curves(obj: Any, ax: Axes | None = None, **options: Any) -> CurvesDisplay:
    """One call: :class:`CurvesDisplay` of an experiment (or anything :func:`hpviz.experiment` accepts)."""
    return CurvesDisplay.shortcut(obj, ax, **options)


class CurvesInfo(NamedTuple):
    """What the learning-curves view draws (pure data; tested without pixels)."""

    arrays: TrialColumns
    metric: str | None  # the logged metric drawn (None: nothing logged)
    n_logged: int  # trials that logged anything
    segments: list[np.ndarray]  # one (steps, 2) array per drawn curve: step, value
    trials: np.ndarray  # index (into ``arrays``) of each curve's trial
    top: np.ndarray  # bool per curve: one of the top-k best feasible trials
    pruned: np.ndarray  # bool per curve
    infeasible: np.ndarray  # bool per curve (never top)


def curves_info(exp: Any, objective: str | None = None, metric: str | None = None, max_curves: int = 300,
                top_k: int = 10, seed: int = 0) -> CurvesInfo:
    """The curves to draw: a sample of the logged trials (the top k always in), finite points only."""
    a = trial_columns(exp, objective)
    metric = metric or _metric(exp, objective)
    has = np.array([t.log is not None and len(t.log) > 0 for t in a.trials], dtype=bool)
    empty = np.array([], dtype=bool)
    if metric is None or not has.any():
        return CurvesInfo(a, metric, int(has.sum()), [], np.array([], dtype=int), empty, empty, empty)
    with_log = np.flatnonzero(has)
    top = np.intersect1d(a.top_indices(effective_k(top_k, int(a.rankable.sum()))), with_log)
    pick = with_log[sample_indices(with_log.size, max_curves, np.searchsorted(with_log, top), seed)]
    segs, kinds = [], []
    for i in pick:
        steps, vals = a.trials[i].log.series(metric)
        keep = np.isfinite(steps) & np.isfinite(vals)
        if keep.sum() == 0:
            continue
        segs.append(np.column_stack([steps[keep], vals[keep]]))
        kinds.append(i)
    kinds = np.array(kinds, dtype=int)
    is_top = np.isin(kinds, top)
    return CurvesInfo(a, metric, int(has.sum()), segs, kinds, is_top, a.pruned[kinds],
                      a.infeasible[kinds] & ~is_top)


def _curves(display: CurvesDisplay, info: CurvesInfo, ax: Axes | None) -> Axes:
    a, metric = info.arrays, info.metric
    own_figure = ax is None
    if ax is None:
        ax = new_figure(8.5, 4.5).add_subplot()
    ax.set_title(f"Learning curves{f': {short(metric, 40)}' if metric else ''}", loc="left")
    ax.set_xlabel("step")
    ax.set_ylabel(short(metric, 40) if metric else "intermediate value")
    if not info.n_logged:
        message(ax, "no intermediate values were logged\n(report them per step to see learning curves)")
        return ax
    if metric is None:
        message(ax, f"no logged metric is named {short(a.objective, 30)!r} or 'value'\n"
                    "(pass metric= to draw another one)")
        return ax
    if not info.segments:
        message(ax, f"metric {metric!r} has no finite values")
        return ax
    all_segs = info.segments
    unfit = info.infeasible
    keep = ~unfit
    segs = [s for s, k in zip(all_segs, keep) if k]
    kinds, pruned, is_top = info.trials[keep], info.pruned[keep], info.top[keep]
    if unfit.any():
        ax.add_collection(LineCollection([s for s, u in zip(all_segs, unfit) if u], colors=COLORS["infeasible"],
                                         linewidths=0.7, linestyles=":", zorder=1, rasterized=True))
    norm, cmap = score_norm(a.feasible_values(), a.direction)
    alpha = float(np.clip(40.0 / max(len(segs), 1), 0.12, 0.8))
    sel = [s for s, p, t in zip(segs, pruned, is_top) if not p and not t]
    if sel:
        done = kinds[~pruned & ~is_top]
        vals = a.value[done]
        lc = LineCollection(sel, cmap=cmap, norm=norm, linewidths=0.8, alpha=alpha, zorder=2, rasterized=True)
        lc.set_array(np.where(np.isfinite(vals), vals, np.nanmax(a.value) if np.isfinite(a.value).any() else 0.0))
        ax.add_collection(lc)
        score_colorbar(ax.figure, norm, cmap, ax, f"final {short(a.objective, 30)} (dark = better)", pad=0.01, aspect=35)
    psegs = [s for s, p in zip(segs, pruned) if p]
    if psegs:
        ax.add_collection(LineCollection(psegs, colors=COLORS["pruned"], linewidths=0.8, linestyles="--",
                                         alpha=min(1.0, alpha + 0.15), zorder=1, rasterized=True))
        ends = np.array([s[-1] for s in psegs])
        ax.scatter(ends[:, 0], ends[:, 1], marker="v", s=12, color=COLORS["pruned"], zorder=3, lw=0,
                   rasterized=True)
    tsegs = [s for s, t in zip(segs, is_top) if t]
    if tsegs:
        display.top_ = LineCollection(tsegs, colors=COLORS["highlight"], linewidths=1.6, zorder=4)
        ax.add_collection(display.top_)
    ax.autoscale_view()
    if all(np.all(np.mod(s[:, 0], 1) == 0) for s in all_segs):
        integer_ticks(ax)
    allv = np.concatenate([s[:, 1] for s in all_segs])
    lo, hi = np.percentile(allv, [1, 99])
    if hi > lo and (allv.max() - allv.min()) > 3 * (hi - lo):
        pad = 0.08 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
    handles = [Line2D([], [], color=COLORS["highlight"], lw=1.6, label=f"top {len(tsegs)}")] if tsegs else []
    if psegs:
        handles.append(Line2D([], [], color=COLORS["pruned"], lw=1, ls="--", marker="v", ms=4,
                              label=f"pruned ({len(psegs)})"))
    if sel:
        handles.append(Line2D([], [], color=cmap(0.5), lw=1, label=f"other finished ({len(sel)})"))
    if unfit.any():
        handles.append(Line2D([], [], color=COLORS["infeasible"], lw=1, ls=":",
                              label=f"infeasible ({int(unfit.sum())})"))
    if own_figure:
        # under the plot: "best" cannot see line collections and put the box on the top curves
        ax.figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    else:
        ax.legend(handles=handles, loc="best")
    shown = cap_note(len(all_segs), info.n_logged, "curves", "random sample + top k")
    if shown:
        note(ax, shown)
    elif len(all_segs) == 1:
        note(ax, "1 curve: nothing to compare yet")
    return ax
