"""Progress view: objective per trial with the best-so-far (peak) line, over trial order and wall time."""

from __future__ import annotations

from typing import Any

import matplotlib.transforms as mtransforms
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz.plot._common import (
    COLORS,
    TrialArrays,
    as_experiment,
    fmt,
    integer_ticks,
    message,
    new_figure,
    note,
    robust_ylim,
    shade_rounds,
    style,
    trial_arrays,
)

__all__ = ["progress"]


def _best_so_far(x: np.ndarray, values: np.ndarray, ok: np.ndarray, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Running best over completed trials in the order of ``x``."""
    idx = np.flatnonzero(ok & np.isfinite(x))
    if idx.size == 0:
        return np.array([]), np.array([])
    idx = idx[np.argsort(x[idx], kind="stable")]
    acc = np.minimum.accumulate if direction == "min" else np.maximum.accumulate
    return x[idx], acc(values[idx])


def _draw(ax: Axes, a: TrialArrays, x: np.ndarray, xlabel: str, best: tuple[np.ndarray, np.ndarray] | None,
          alpha: float, band: Any = None) -> None:
    ok = a.complete & np.isfinite(x)
    pruned = a.pruned & np.isfinite(a.value) & np.isfinite(x)
    failed = (a.failed | (a.pruned & ~np.isfinite(a.value))) & np.isfinite(x)
    shade_rounds(ax, x, a.round)
    size = 26 if a.number.size <= 50 else (14 if a.number.size <= 500 else 6)
    if ok.any():
        ax.scatter(x[ok], a.value[ok], s=size, color=COLORS["complete"], alpha=alpha, lw=0,
                   label=f"complete ({int(ok.sum())})", rasterized=True, zorder=2)
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
    bx, by = best if best is not None else _best_so_far(x, a.value, a.complete, a.direction)
    if bx.size:
        ax.step(np.append(bx, np.nanmax(x)), np.append(by, by[-1]), where="post", color=COLORS["best"], lw=1.6,
                label=f"best so far ({fmt(by[-1])})", zorder=4)
    xs = x[np.isfinite(x)]
    if xs.size:  # markers on the bottom edge do not extend the data limits: set them from every trial
        pad = max(0.5, 0.02 * (xs.max() - xs.min()))
        ax.set_xlim(xs.min() - pad, xs.max() + pad)
    cut = robust_ylim(ax, a.value[ok | pruned], a.direction)
    if cut:
        note(ax, f"{cut} worse value{'s' if cut > 1 else ''} above/below the axis")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{a.objective} ({a.direction})")
    if xlabel == "trial number":
        integer_ticks(ax)
    if not (ok.any() or pruned.any()):
        message(ax, "no completed trial with a finite value:\nonly failures to show", clear=False)
        ax.set_yticks([])


def progress(result_or_obj: Any, ax: Axes | None = None, *, objective: str | None = None,
             diagnosis: Any = None, over: str | None = None) -> Axes | Figure:
    """Objective of every trial with the best-so-far line; rounds shaded.

    Parameters
    ----------
    result_or_obj:
        An Experiment (or anything :func:`hpviz.experiment` accepts).
    ax:
        Draw on this Axes (one panel, ``over`` trial order by default) and return it;
        without it a Figure with two panels (trial order, wall time) is returned.
    objective:
        Objective to show (default: the primary one).
    diagnosis:
        A :class:`hpviz.Diagnosis` whose ``best_so_far`` is used for the trial-order line.
    over:
        ``"trials"`` or ``"time"`` (single panel), or ``None`` for both (when ``ax`` is None).
    """
    exp = as_experiment(result_or_obj)
    a = trial_arrays(exp, objective)
    alpha = float(np.clip(300.0 / max(len(a.number), 1), 0.25, 0.85))
    best_trials = None
    band = getattr(diagnosis, "random_band", None) if diagnosis is not None else None
    if band is not None and not {"low", "high"} <= set(getattr(band, "columns", ())):
        band = None
    if diagnosis is not None and getattr(diagnosis, "best_so_far", None) is not None:
        s = diagnosis.best_so_far
        try:
            s = s.dropna()
            best_trials = (np.asarray(s.index, dtype=float), np.asarray(s.to_numpy(), dtype=float))
        except (TypeError, ValueError):
            best_trials = None
    with style():
        title = f"Progress: {exp.name}" if exp.name else "Progress"
        if ax is not None or over is not None:
            over = over or "trials"
            ax = ax if ax is not None else new_figure(8, 4).add_subplot()
            if over == "time":
                _draw_time(ax, a, alpha)
            else:
                _draw(ax, a, a.number, "trial number", best_trials, alpha, band)
            ax.set_title(title + (" (wall time)" if over == "time" else ""), loc="left")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            _empty(ax, a)
            return ax
        fig = new_figure(11, 4.2)
        ax1, ax2 = fig.subplots(1, 2, sharey=True)
        _draw(ax1, a, a.number, "trial number", best_trials, alpha, band)
        ax1.set_title("over trial order", loc="left")
        _draw_time(ax2, a, alpha)
        ax2.set_title("over wall time", loc="left")
        ax2.tick_params(labelleft=True)
        fig.suptitle(title)
        handles, labels = ax1.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=len(handles), markerscale=1.5)
        _empty(ax1, a)
        return fig


def _draw_time(ax: Axes, a: TrialArrays, alpha: float) -> None:
    t = a.finished
    if not np.isfinite(t).any():
        ax.set_xlabel("time since first trial started")
        ax.set_ylabel(f"{a.objective} ({a.direction})")
        message(ax, "no timestamps recorded:\nwall-time view not available")
        return
    unit, scale = ("h", 3600.0) if np.nanmax(t) > 3 * 3600 else (("min", 60.0) if np.nanmax(t) > 180 else ("s", 1.0))
    _draw(ax, a, t / scale, f"time since first trial started ({unit})", None, alpha)


def _empty(ax: Axes, a: TrialArrays) -> None:
    if a.number.size == 0:
        message(ax, "no trials yet")
    elif a.number.size == 1:
        note(ax, "1 trial: no progress to show yet")
