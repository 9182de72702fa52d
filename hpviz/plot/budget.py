"""Budget views: expected best score vs number of trials (with band), and several experiments compared."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from hpviz.plot._common import COLORS, fmt, integer_ticks, message, new_figure, note, plain_log_labels, style

__all__ = ["expected_best", "compare"]

_PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


def _curve(ax: Axes, eb: Any, color: str, label: str) -> None:
    n = np.asarray(eb.n, dtype=float)
    mean = np.asarray(eb.mean, dtype=float)
    lower = np.asarray(eb.lower, dtype=float)
    upper = np.asarray(eb.upper, dtype=float)
    if np.isfinite(lower).any() and np.isfinite(upper).any():
        ax.fill_between(n, lower, upper, color=color, alpha=0.18, lw=0, step=None)
    ax.plot(n, mean, color=color, lw=1.8, label=label, marker="o" if n.size <= 12 else None, ms=3)


def _axes_setup(ax: Axes, eb: Any) -> None:
    if len(eb.n) > 100:
        ax.set_xscale("log")
        plain_log_labels(ax, "x", subs=(1.0, 2.0, 5.0))
    else:
        integer_ticks(ax)
    ax.set_xlabel("number of trials n")
    ax.set_ylabel(f"expected best {eb.objective} ({eb.direction})")


def expected_best(result_or_obj: Any, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Expected best score after n trials (n = 1..N) with its confidence band.

    Parameters
    ----------
    result_or_obj:
        An :class:`ExpectedBest` (from :func:`hpviz.expected_best`) or anything it accepts
        (then computed with ``kwargs``).
    """
    eb = result_or_obj
    if not hasattr(eb, "mean") or not hasattr(eb, "n"):
        from hpviz.analysis.budget import expected_best as compute

        eb = compute(result_or_obj, **kwargs)
    with style():
        if ax is None:
            ax = new_figure(8, 4.2).add_subplot()
        band = f"{eb.band:.0%} band" if getattr(eb, "band", None) else "no band"
        ax.set_title(f"Expected best {eb.objective} vs budget ({band})", loc="left")
        _axes_setup(ax, eb)
        if len(eb.n) == 0:
            message(ax, "no completed trial")
            return ax
        _curve(ax, eb, COLORS["complete"], "expected best after n trials")
        ax.axhline(eb.observed_best, color="0.3", ls=":", lw=1, label=f"observed best ({fmt(eb.observed_best)})")
        ax.legend(loc="best")
        if eb.n_trials == 1:
            note(ax, "1 trial: the curve is a single point")
        else:
            note(ax, f"from {eb.n_trials} completed trials (i.i.d. assumption)")
        return ax


def compare(result_or_objs: Any, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Expected-best curves of several experiments on one axis, with the verdict in words.

    Parameters
    ----------
    result_or_objs:
        A :class:`Comparison` (from :func:`hpviz.compare`) or a sequence of experiments
        (then compared with ``kwargs``).
    """
    cmp_ = result_or_objs
    if not hasattr(cmp_, "curves"):
        from hpviz.analysis.budget import compare as compute

        cmp_ = compute(*result_or_objs, **kwargs)
    with style():
        if ax is None:
            ax = new_figure(8.5, 4.8).add_subplot()
        first = cmp_.curves[cmp_.names[0]]
        _axes_setup(ax, first)
        ax.set_title(f"Budget-fair comparison: expected best {cmp_.objective}", loc="left")
        for i, name in enumerate(cmp_.names):
            _curve(ax, cmp_.curves[name], _PALETTE[i % len(_PALETTE)], str(name))
        if cmp_.n_common >= 1:
            ax.axvline(cmp_.n_common, color="0.5", ls="--", lw=0.8, label=f"common budget ({cmp_.n_common})")
        ax.legend(loc="best")
        text = cmp_.statement if getattr(cmp_, "statement", "") else ""
        warnings = list(getattr(cmp_, "warnings", ()) or ())
        lines = textwrap.wrap(text, 110) + [w for ws in warnings for w in textwrap.wrap("! " + ws, 110)]
        if lines:
            ax.annotate("\n".join(lines[:6]), xy=(0, 0), xycoords="axes fraction", xytext=(0, -42),
                        textcoords="offset points", va="top", ha="left", fontsize=7.5, color="0.2",
                        annotation_clip=False)
        return ax
