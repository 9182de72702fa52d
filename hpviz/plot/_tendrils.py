"""Tendrils view: per hyperparameter, the sampled value by trial order, coloured by score.

Shows how the sampler explored each dimension over time: a tendril that
narrows onto one region is the sampler exploiting; scattered points everywhere
are exploration (or a parameter that does not matter).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz._columns import TrialColumns, trial_columns
from hpviz.plot._common import (
    COLORS,
    cap_note,
    declared_param,
    integer_ticks,
    jitter,
    message,
    new_figure,
    ordered_params,
    param_column,
    sample_indices,
    score_colorbar,
    score_norm,
    setup_param_axis,
    short,
)
from hpviz.plot._display import Display
from hpviz.schema import Categorical

__all__ = ["TendrilsDisplay", "TendrilsInfo", "tendrils_info", "tendrils"]


class TendrilsInfo(NamedTuple):
    """What the tendrils view draws (pure data; tested without pixels)."""

    arrays: TrialColumns
    names: list[str]  # one panel each, in order
    params: dict[str, Any]  # name -> declared parameter over all rounds (None if undeclared)
    idx: np.ndarray  # indices of the drawn trials (a sample of large runs, the 50 best always in)
    columns: dict[str, np.ndarray]  # name -> value per drawn trial (categoricals as choice index; NaN inactive)
    notes: list[str]  # what was left out, and the marker legend


def tendrils_info(exp: Any, objective: str | None = None, importance: Any = None, params: list[str] | None = None,
                  max_params: int = 12, max_points: int = 2000, seed: int = 0) -> TendrilsInfo:
    """Parameters, sampled trials and their values for the tendrils view."""
    a = trial_columns(exp, objective)
    names, ranked = ordered_params(exp, importance)
    if params is not None:
        names = [p for p in params if p in exp.all_params()] or names
    total = len(names)
    names = names[:max(1, max_params)]
    n = len(a.numbers)
    idx = sample_indices(n, max_points, a.top_indices(50), seed)
    declared = {name: declared_param(exp, name) for name in names}  # earlier rounds' choices keep their rows
    trials = [a.trials[i] for i in idx]
    columns = {name: param_column(trials, name, declared[name]) for name in names}
    notes = [s for s in (cap_note(len(names), total, "parameters", "most important first" if ranked else "in space order"),
                         cap_note(idx.size, n, "trials", "random sample + the 50 best")) if s]
    notes += (["1 trial: no exploration pattern yet"] if n == 1 else []) + \
             (["x = not complete"] if (~a.usable).any() else []) + \
             (["hollow = infeasible"] if a.infeasible.any() else [])
    return TendrilsInfo(a, names, declared, idx, columns, notes)


def _panel(ax: Axes, info: TendrilsInfo, name: str, norm: Any, cmap: Any, size: float,
           rng: np.random.Generator) -> None:
    a, idx, param = info.arrays, info.idx, info.params[name]
    y = jitter(info.columns[name], param, rng)
    x = a.numbers[idx]
    ok = a.rankable[idx] & np.isfinite(y)
    infeasible = a.infeasible[idx] & np.isfinite(y)
    other = ~a.usable[idx] & np.isfinite(y)
    if infeasible.any():
        ax.scatter(x[infeasible], y[infeasible], s=size, facecolor="none", edgecolor=COLORS["infeasible"], lw=0.6,
                   alpha=0.7, rasterized=True, zorder=1)
    if other.any():
        ax.scatter(x[other], y[other], s=size, color=COLORS["muted"], marker="x", lw=0.6, alpha=0.6,
                   rasterized=True, zorder=1)
    if ok.any():
        # best drawn last so it stays on top of the crowd
        order = np.argsort(a.goodness()[idx][ok], kind="stable")
        ax.scatter(x[ok][order], y[ok][order], c=a.value[idx][ok][order], cmap=cmap, norm=norm, s=size, lw=0,
                   rasterized=True, zorder=2)
    setup_param_axis(ax, param, "y", max_labels=8)
    integer_ticks(ax)
    if param is not None and not isinstance(param, Categorical):
        # the whole declared range, so a tendril shows how much of it was explored
        finite = y[np.isfinite(y)]
        lo, hi = param.low, param.high
        if finite.size:
            lo, hi = min(lo, finite.min()), max(hi, finite.max())
        if param.log:
            ax.set_ylim(lo / (hi / lo) ** 0.04, hi * (hi / lo) ** 0.04)
        else:
            ax.set_ylim(lo - 0.04 * (hi - lo), hi + 0.04 * (hi - lo))
    kind = "log scale" if getattr(param, "log", False) else ("choice" if param is not None and param.kind == "categorical" else "value")
    ax.set_ylabel(kind)
    # as many characters as the panel is wide (9 pt bold: about 0.09 inch per character)
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    ax.set_title(short(name, int(max(12, min(60, width_in / 0.09)))), loc="left", fontsize=9)
    if not np.isfinite(y).any():
        message(ax, "never active")


class TendrilsDisplay(Display):
    """Sampled value of each hyperparameter by trial number, coloured by the objective.

    The result is the Experiment itself. Without ``ax``: one panel per parameter (at most
    ``max_params``; ``ax_`` an array); with ``ax``: the first of ``params`` (or the most important).
    Options: ``importance=`` (an :class:`hpviz.Importance`) orders the parameters most important
    first; ``max_points`` caps the points (the 50 best trials always kept; the figure says so).
    Infeasible trials are hollow grey circles, unfinished ones grey crosses.
    """

    key = "tendrils"
    title = "Tendrils"
    about = "Where the sampler looked in each dimension, trial by trial."
    uses = ("importance",)
    result_attrs = ("trials", "space")
    options = {"objective": None, "params": None, "max_params": 12, "max_points": 2000, "seed": 0}

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        exp = self.experiment if self.experiment is not None else self.result
        self.info_ = tendrils_info(exp, importance=self.extras.get("importance"), **self.options)
        return _tendrils(self.info_, ax, self.options["seed"])


def tendrils(obj: Any, ax: Axes | None = None, **options: Any) -> TendrilsDisplay:
    """One call: :class:`TendrilsDisplay` of an experiment (or anything :func:`hpviz.experiment` accepts)."""
    return TendrilsDisplay.shortcut(obj, ax, **options)


def _tendrils(info: TendrilsInfo, ax: Axes | None, seed: int) -> Axes | Figure:
    a, names, idx = info.arrays, info.names, info.idx
    n = len(a.numbers)
    size = 16 if idx.size <= 300 else (8 if idx.size <= 1000 else 5)
    norm, cmap = score_norm(a.feasible_values(), a.direction)
    rng = np.random.default_rng(seed)
    title = "Tendrils: where the sampler looked, by trial"
    if ax is not None:
        if names:
            _panel(ax, info, names[0], norm, cmap, size, rng)
        ax.set_xlabel("trial number")
        ax.set_title(f"{title} — {short(names[0], 40) if names else ''}", loc="left")
        return ax
    if not names:
        fig = new_figure(8, 3)
        ax = fig.add_subplot()
        message(ax, "the search space has no parameters")
        ax.set_title(title, loc="left")
        ax.set_xlabel("trial number")
        ax.set_ylabel("value")
        return fig
    ncols = 1 if len(names) == 1 else (2 if len(names) <= 4 else 3)
    nrows = math.ceil(len(names) / ncols)
    # A fixed grid instead of constrained layout: with a dozen panels the layout solver
    # costs more than drawing every point, and a regular grid needs no solving.
    width, height = (11.0 if ncols > 1 else 8.0), 1.25 + 2.1 * nrows
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=1.0 / width, right=1 - 1.25 / width, top=1 - 0.55 / height,
                        bottom=0.8 / height, wspace=0.45, hspace=0.45)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for i, name in enumerate(names):
        _panel(axes[i], info, name, norm, cmap, size, rng)
    for j in range(len(names), len(axes)):
        axes[j].set_visible(False)
    for i in range(len(names)):
        if i >= len(names) - ncols:
            axes[i].set_xlabel("trial number")
            axes[i].tick_params(labelbottom=True)
    if n == 0:
        axes[0].set_xlim(-0.5, 0.5)
    else:
        pad = max(0.5, 0.02 * (a.numbers.max() - a.numbers.min()))
        axes[0].set_xlim(a.numbers.min() - pad, a.numbers.max() + pad)
    cax = fig.add_axes((1 - 1.0 / width, 0.8 / height, 0.16 / width, 1 - 1.35 / height))
    score_colorbar(fig, norm, cmap, None, f"{short(a.objective, 30)} ({a.direction}; dark = better)", cax=cax)
    sub = "; ".join(info.notes)
    fig.suptitle(title, y=1 - 0.12 / height, va="top")
    if sub:
        fig.text(0.5, 0.1 / height, sub, ha="center", va="bottom", fontsize=8, color="0.35")
    return fig
