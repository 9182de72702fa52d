"""Marginals view: the fANOVA marginal curve of the top parameters with its band, trial points behind."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz._columns import trial_columns
from hpviz.plot._common import (
    COLORS,
    cap_note,
    jitter,
    param_column,
    plain_log_labels,
    sample_indices,
    setup_param_axis,
    short,
)
from hpviz.plot._display import Display
from hpviz.plot._importance import ImportanceDisplay
from hpviz.schema import Categorical

__all__ = ["MarginalsDisplay", "marginals"]


def _panel(ax: Axes, imp: Any, name: str, exp: Any, arrays: Any, idx: np.ndarray, rng: np.random.Generator,
           show_points: bool) -> None:
    df = imp.marginal(name)
    param = exp.all_params().get(name) if exp is not None else None
    mean = df["mean"].to_numpy(dtype=float)
    std = df["std"].to_numpy(dtype=float)
    if isinstance(param, Categorical) or (param is None and df["value"].dtype == object):
        if isinstance(param, Categorical):
            x = np.array([param.index(v) for v in df["value"]], dtype=float)
        else:
            x = np.arange(len(df), dtype=float)
        categorical = True
    else:
        x = df["value"].to_numpy(dtype=float)
        categorical = False
    ylo, yhi = np.nanmin(mean - std), np.nanmax(mean + std)
    if show_points and exp is not None and idx.size:
        trials = [arrays.trials[i] for i in idx]
        px = jitter(param_column(trials, name, param), param, rng, 0.15)
        py = arrays.value[idx]
        ok = np.isfinite(px) & np.isfinite(py)
        if ok.any():
            ax.scatter(px[ok], py[ok], s=5, color="0.55", alpha=float(np.clip(150 / ok.sum(), 0.15, 0.6)), lw=0,
                       zorder=1, rasterized=True, label="trials")
            q = np.percentile(py[ok], [5, 95])
            ylo, yhi = min(ylo, q[0]), max(yhi, q[1])
    if categorical:
        ax.errorbar(x, mean, yerr=std, fmt="o", color=COLORS["complete"], ms=5, capsize=3, lw=1.2, zorder=3,
                    label="marginal ± std")
        if isinstance(param, Categorical):
            setup_param_axis(ax, param, "x", max_labels=8)
            if len(param.choices) > 4:
                ax.tick_params(axis="x", labelrotation=30)
        else:
            ax.set_xticks(x, [short(v, 10) for v in df["value"]], rotation=30)
    else:
        order = np.argsort(x)
        ax.fill_between(x[order], (mean - std)[order], (mean + std)[order], color=COLORS["complete"], alpha=0.2,
                        lw=0, zorder=2, label="± std across trees")
        ax.plot(x[order], mean[order], color=COLORS["complete"], lw=1.8, zorder=3, label="marginal mean")
        if param is not None and param.log:
            ax.set_xscale("log")
            plain_log_labels(ax, "x")
    pad = 0.08 * (yhi - ylo if yhi > ylo else 1.0)
    if math.isfinite(ylo) and math.isfinite(yhi):
        ax.set_ylim(ylo - pad, yhi + pad)
    frac = imp.individual.get(name, math.nan)
    ax.set_title(f"{short(name, 30)}  ({100 * frac:.1f}% of variance)" if math.isfinite(frac) else short(name, 30),
                 loc="left", fontsize=9)
    over = df.attrs.get("n_trials", imp.n_used)
    if over < imp.n_used:  # a conditional parameter: its marginal is the branch where it exists
        ax.text(0.99, 0.97, f"over {over} trials where {short(name, 20)} is active", transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="0.3")
    ax.set_xlabel(short(name, 30) + (" (log scale)" if getattr(param, "log", False) else ""))
    ax.set_ylabel(f"predicted {short(imp.objective, 30)}")


class MarginalsDisplay(Display):
    """Marginal predicted objective across each of the most important parameters.

    The result is an :class:`hpviz.Importance`; with ``experiment=`` the trials are drawn behind
    the curves. Without ``ax``: one panel per parameter (at most ``max_params``, most important
    first; ``ax_`` an array); with ``ax``: the first of ``params`` (or the most important).
    """

    key = "marginals"
    title = "Marginal effects"
    about = "Predicted objective across each important hyperparameter, averaged over the others."
    result_key = "importance"
    result_attrs = ("marginal", "individual")
    compute_options = ("n_trees", "seed")
    options = {"params": None, "max_params": 6, "max_points": 1500, "seed": 0}
    report_caps = {"max_params": 6, "max_points": 1500}

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        return ImportanceDisplay._compute(experiment, objective=objective, **kwargs)

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        return _marginals(self.result, ax, experiment=self.experiment, **self.options)


def marginals(obj: Any, ax: Axes | None = None, **options: Any) -> MarginalsDisplay:
    """One call: :class:`MarginalsDisplay` of an :class:`hpviz.Importance` (pass ``experiment=`` to see
    the trials), or of anything :func:`hpviz.importance` accepts."""
    return MarginalsDisplay.shortcut(obj, ax, **options)


def _marginals(imp: Any, ax: Axes | None, *, experiment: Any, params: list[str] | None, max_params: int,
               max_points: int, seed: int) -> Axes | Figure:
    exp = experiment
    arrays = None
    idx = np.array([], dtype=int)
    if exp is not None:
        arrays = trial_columns(exp, imp.objective if imp.objective in exp.objectives else None)
        idx = sample_indices(len(arrays.numbers), max_points, arrays.top_indices(20), seed)
    names = [n for n in (params or list(imp.individual.index)) if n in imp.params]
    total = len(names)
    names = names[:max(1, max_params)]
    rng = np.random.default_rng(seed)
    if ax is not None:
        if names:
            _panel(ax, imp, names[0], exp, arrays, idx, rng, exp is not None)
        return ax
    ncols = 1 if len(names) == 1 else (2 if len(names) <= 4 else 3)
    nrows = max(1, math.ceil(len(names) / ncols))
    # a fixed grid: constrained layout would cost more than the drawing
    width, height = (11.0 if ncols > 1 else 7.0), 1.0 + 2.6 * nrows
    gap = 0.75  # inches between rows: tick labels, axis label and the next panel's title
    ax_h = (height - 1.45 - gap * (nrows - 1)) / nrows
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.85 / width, right=1 - 0.3 / width, top=1 - 0.6 / height, bottom=0.85 / height,
                        wspace=0.32, hspace=gap / ax_h)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for a_, name in zip(axes, names):
        _panel(a_, imp, name, exp, arrays, idx, rng, exp is not None)
    for a_ in axes[len(names):]:
        a_.set_visible(False)
    if names:
        # one legend for all panels, in the header row: inside a panel it covers trial points
        handles, labels = axes[0].get_legend_handles_labels()
        leg = fig.legend(handles, labels, loc="lower left", ncol=len(labels), fontsize=8,
                         bbox_to_anchor=(0.3 / width, 0.0), borderaxespad=0.2)
        for h in leg.legend_handles:
            if h is not None and h.get_alpha() is not None:
                h.set_alpha(1.0)  # the faint trial dots would be invisible in the key
    sub = cap_note(len(names), total, "parameters", "most important first")
    fig.suptitle(f"Marginal effect on {short(imp.objective, 40)}" + (" (grey: trials)" if exp is not None else ""),
                 y=1 - 0.12 / height, va="top")
    if sub:
        fig.text(1 - 0.3 / width, 0.1 / height, sub, ha="right", va="bottom", fontsize=8, color="0.35")
    return fig
