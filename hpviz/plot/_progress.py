"""Progress view: objective per trial with the best-so-far (peak) line, over trial order and wall time.

The best-so-far lines come from the :class:`hpviz.Diagnosis` (``best_so_far`` and
``best_so_far_time``): the view draws them and never recomputes them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz._columns import TrialColumns, trial_columns
from hpviz._numbers import fmt
from hpviz.errors import SchemaError
from hpviz.plot._common import COLORS, integer_ticks, message, new_figure, note, robust_ylim, shade_rounds, short
from hpviz.plot._display import Display

__all__ = ["ProgressDisplay", "ProgressInfo", "progress_info", "progress"]


class ProgressInfo(NamedTuple):
    """What the progress view draws (pure data; tested without pixels)."""

    arrays: TrialColumns
    best_trials: tuple[np.ndarray, np.ndarray]  # (trial number, best so far)
    best_time: tuple[np.ndarray, np.ndarray]  # (time in ``time_unit`` since the first start, best so far)
    time_unit: str
    band: Any  # DataFrame with ``low``, ``high`` indexed by trial number, or None
    alpha: float


def _series(s: Any, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    if s is None:
        return np.array([]), np.array([])
    s = pd.Series(s).dropna()
    return np.asarray(s.index, dtype=float) / scale, np.asarray(s.to_numpy(), dtype=float)


def progress_info(experiment: Any, diagnosis: Any, objective: str | None = None) -> ProgressInfo:
    """Trial columns and the diagnosis' best-so-far curves, on the scales the view draws."""
    a = trial_columns(experiment, objective if objective is not None else getattr(diagnosis, "objective", None))
    t = a.elapsed
    tmax = float(np.nanmax(t)) if np.isfinite(t).any() else 0.0
    unit, scale = ("h", 3600.0) if tmax > 3 * 3600 else (("min", 60.0) if tmax > 180 else ("s", 1.0))
    band = getattr(diagnosis, "random_band", None)
    if band is not None and not {"low", "high"} <= set(getattr(band, "columns", ())):
        band = None
    return ProgressInfo(
        arrays=a,
        best_trials=_series(getattr(diagnosis, "best_so_far", None)),
        best_time=_series(getattr(diagnosis, "best_so_far_time", None), scale),
        time_unit=unit,
        band=band,
        alpha=float(np.clip(300.0 / max(len(a.numbers), 1), 0.25, 0.85)),
    )


def _draw(ax: Axes, a: TrialColumns, x: np.ndarray, xlabel: str, best: tuple[np.ndarray, np.ndarray],
          alpha: float, band: Any = None) -> list:
    """One panel; returns the best-so-far line(s) drawn."""
    ok = a.rankable & np.isfinite(x)
    infeasible = a.infeasible & np.isfinite(x)
    pruned = a.pruned & np.isfinite(a.value) & np.isfinite(x)
    failed = (a.failed | (a.pruned & ~np.isfinite(a.value))) & np.isfinite(x)
    shade_rounds(ax, x, a.rounds)
    size = 26 if a.numbers.size <= 50 else (14 if a.numbers.size <= 500 else 6)
    if ok.any():
        ax.scatter(x[ok], a.value[ok], s=size, color=COLORS["complete"], alpha=alpha, lw=0,
                   label=f"complete ({int(ok.sum())})", rasterized=True, zorder=2)
    if infeasible.any():
        ax.scatter(x[infeasible], a.value[infeasible], s=size + 4, marker="o", facecolor="none",
                   edgecolor=COLORS["infeasible"], alpha=min(1.0, alpha + 0.2), lw=0.8,
                   label=f"infeasible ({int(infeasible.sum())})", rasterized=True, zorder=2)
    if pruned.any():
        ax.scatter(x[pruned], a.value[pruned], s=size + 4, marker="v", facecolor="none",
                   edgecolor=COLORS["pruned"], alpha=min(1.0, alpha + 0.2), lw=0.8,
                   label=f"pruned, last value ({int(pruned.sum())})", rasterized=True, zorder=2)
    if failed.any():
        # Failed trials have no value: mark them on the bottom edge.
        trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
        ax.scatter(x[failed], np.full(int(failed.sum()), 0.015), s=size + 6, marker="x", color=COLORS["fail"],
                   transform=trans, lw=0.9, label=f"failed, no value ({int(failed.sum())})", clip_on=False,
                   rasterized=True, zorder=3)
    if band is not None and len(band) > 1:
        # what the same values would have reached in random order: above it, the sampler is learning
        bidx = np.asarray(band.index, dtype=float)
        ax.fill_between(bidx, band["low"].to_numpy(dtype=float), band["high"].to_numpy(dtype=float), step="post",
                        color="0.55", alpha=0.25, lw=0, zorder=1, label="best so far in random order (90%)")
    bx, by = best
    keep = np.isfinite(bx) & np.isfinite(by)
    bx, by = bx[keep], by[keep]
    lines = []
    if bx.size:
        lines = ax.step(np.append(bx, np.nanmax(x)), np.append(by, by[-1]), where="post", color=COLORS["best"], lw=1.6,
                label=f"best so far ({fmt(by[-1])})", zorder=4)
    xs = x[np.isfinite(x)]
    if xs.size:  # markers on the bottom edge do not extend the data limits: set them from every trial
        span = xs.max() - xs.min()
        # half a trial on the trial axis; 2% on a time axis (0.5 s would dwarf a sub-second run)
        pad = max(0.5, 0.02 * span) if xlabel == "trial number" else (0.02 * span if span > 0 else 0.5)
        ax.set_xlim(xs.min() - pad, xs.max() + pad)
    cut = robust_ylim(ax, a.value[ok | infeasible | pruned], a.direction)
    if cut:
        note(ax, f"{cut} worse value{'s' if cut > 1 else ''} above/below the axis")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{short(a.objective, 40)} ({a.direction})")
    if xlabel == "trial number":
        integer_ticks(ax)
    if not (ok.any() or infeasible.any() or pruned.any()):
        message(ax, "no completed trial with a finite value:\nonly failures to show", clear=False)
        ax.set_yticks([])
    return lines


class ProgressDisplay(Display):
    """Objective of every trial with the best-so-far line; rounds shaded; infeasible trials hollow grey.

    Without ``ax``: a Figure with two panels (trial order, wall time), ``ax_`` an array of both.
    With ``ax``: one panel (``over="trials"`` or ``"time"``). ``lines_``: the best-so-far lines drawn.
    The result is a :class:`hpviz.Diagnosis`; ``experiment=`` (the trials) is required.
    """

    key = "progress"
    title = "Progress"
    about = "Each trial's objective and the best value so far, by trial order and by wall time."
    result_key = "diagnosis"
    compute_options = ("seed",)
    options = {"over": None, "objective": None}

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz import diagnose

        return diagnose(experiment, objective=objective, **kwargs)

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        if self.experiment is None:
            raise TypeError("ProgressDisplay draws the trials: pass experiment= with the diagnosis")
        over = self.options["over"]
        if over not in (None, "trials", "time"):
            raise SchemaError(f"ProgressDisplay over={over!r}: use 'trials', 'time' or None (both panels)")
        info = self.info_ = progress_info(self.experiment, self.result, self.options["objective"])
        a = info.arrays
        name = self.experiment.name
        title = f"Progress: {short(name, 60)}" if name else "Progress"
        if ax is not None or over is not None:
            over = over or "trials"
            ax = ax if ax is not None else new_figure(8, 4).add_subplot()
            if over == "time":
                self.lines_ = _draw_time(ax, info)
            else:
                self.lines_ = _draw(ax, a, a.numbers, "trial number", info.best_trials, info.alpha, info.band)
            ax.set_title(title + (" (wall time)" if over == "time" else ""), loc="left")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            _empty(ax, a)
            return ax
        fig = new_figure(11, 4.2)
        ax1, ax2 = fig.subplots(1, 2, sharey=True)
        self.lines_ = _draw(ax1, a, a.numbers, "trial number", info.best_trials, info.alpha, info.band)
        ax1.set_title("over trial order", loc="left")
        self.lines_ += _draw_time(ax2, info)
        ax2.set_title("over wall time", loc="left")
        ax2.tick_params(labelleft=True)
        fig.suptitle(title)
        handles, labels = ax1.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=len(handles), markerscale=1.5)
        _empty(ax1, a)
        return fig


def progress(obj: Any, ax: Axes | None = None, *, diagnosis: Any = None, **options: Any) -> ProgressDisplay:
    """One call: :class:`ProgressDisplay` of an experiment (or anything :func:`hpviz.experiment` accepts).

    ``diagnosis=`` reuses a :class:`hpviz.Diagnosis` instead of computing one.
    """
    if diagnosis is not None:
        return ProgressDisplay.from_result(diagnosis, ax=ax, experiment=obj, **options)
    return ProgressDisplay.from_experiment(obj, ax=ax, **options)


def _draw_time(ax: Axes, info: ProgressInfo) -> list:
    a = info.arrays
    if not np.isfinite(a.elapsed).any():
        ax.set_xlabel("time since first trial started")
        ax.set_ylabel(f"{short(a.objective, 40)} ({a.direction})")
        message(ax, "no timestamps recorded:\nwall-time view not available")
        return []
    scale = {"h": 3600.0, "min": 60.0, "s": 1.0}[info.time_unit]
    return _draw(ax, a, a.elapsed / scale, f"time since first trial started ({info.time_unit})", info.best_time,
                 info.alpha)


def _empty(ax: Axes, a: TrialColumns) -> None:
    if a.numbers.size == 0:
        message(ax, "no trials yet")
    elif a.numbers.size == 1:
        note(ax, "1 trial: no progress to show yet")
