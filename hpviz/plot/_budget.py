"""Budget views: expected best score vs number of trials (with band), and several experiments compared."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from hpviz._numbers import fmt
from hpviz.plot._common import COLORS, PALETTE, integer_ticks, message, new_figure, note, plain_log_labels, short
from hpviz.plot._display import Display

__all__ = ["ExpectedBestDisplay", "CompareDisplay", "expected_best", "compare"]



def _curve(ax: Axes, eb: Any, color: str, label: str) -> Any:
    n = np.asarray(eb.n, dtype=float)
    mean = np.asarray(eb.mean, dtype=float)
    lower = np.asarray(eb.lower, dtype=float)
    upper = np.asarray(eb.upper, dtype=float)
    if np.isfinite(lower).any() and np.isfinite(upper).any():
        ax.fill_between(n, lower, upper, color=color, alpha=0.18, lw=0, step=None)
    return ax.plot(n, mean, color=color, lw=1.8, label=label, marker="o" if n.size <= 12 else None, ms=3)[0]


def _axes_setup(ax: Axes, eb: Any) -> None:
    if len(eb.n) > 100:
        ax.set_xscale("log")
        plain_log_labels(ax, "x", subs=(1.0, 2.0, 5.0))
    else:
        integer_ticks(ax)
    ax.set_xlabel("number of trials n")
    ax.set_ylabel(f"expected best {short(eb.objective, 30)} ({eb.direction})")


class ExpectedBestDisplay(Display):
    """Expected best score after n trials (n = 1..N) with its confidence band.

    The result is an ``ExpectedBest`` (from :func:`hpviz.expected_best`). ``lines_``: the curve drawn.
    """

    key = "expected_best"
    title = "Expected best vs budget"
    about = ("Expected best score after n trials, with a simultaneous 95% (DKW) band. It treats the trials as "
             "independent draws: exact for random search; for a model-based sampler it is the best of n draws from "
             "the configurations this run tried, not what a fresh run of n trials would reach.")
    result_key = "expected_best"
    result_attrs = ("mean", "n")
    compute_options = ("estimator", "band", "bounds", "n_max", "seed")

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz import expected_best as compute

        return compute(experiment, objective=objective, **kwargs)

    def _draw(self, ax: Axes | None) -> Axes:
        eb = self.result
        self.lines_ = []
        if ax is None:
            ax = new_figure(8, 4.2).add_subplot()
        band = f"{eb.band:.0%} band" if getattr(eb, "band", None) else "no band"
        ax.set_title(f"Expected best {short(eb.objective, 30)} vs budget ({band})", loc="left")
        _axes_setup(ax, eb)
        if len(eb.n) == 0:
            message(ax, "no completed trial")
            return ax
        self.lines_ = [_curve(ax, eb, COLORS["complete"], "expected best after n trials")]
        ax.axhline(eb.observed_best, color="0.3", ls=":", lw=1, label=f"observed best ({fmt(eb.observed_best)})")
        ax.legend(loc="best")
        if eb.n_trials == 1:
            note(ax, "1 trial: the curve is a single point")
        else:
            method = getattr(eb, "band_method", "")  # one line: the band's level, method and assumption
            note(ax, f"from {eb.n_trials} completed trials; {method}" if method
                 else f"from {eb.n_trials} completed trials (i.i.d. assumption)")
        return ax


def expected_best(obj: Any, ax: Axes | None = None, **options: Any) -> ExpectedBestDisplay:
    """One call: :class:`ExpectedBestDisplay` of an ``ExpectedBest``, or of anything :func:`hpviz.expected_best`
    accepts."""
    return ExpectedBestDisplay.shortcut(obj, ax, **options)


class CompareDisplay(Display):
    """Expected-best curves of several experiments on one axis, with the verdict in words.

    The result is a ``Comparison`` (from :func:`hpviz.compare`); ``from_experiment`` takes a
    sequence of experiments. ``lines_``: one curve per experiment, in order.
    """

    key = "compare"
    title = "Budget-fair comparison"
    about = "Expected best score vs number of trials for each experiment."
    result_key = "compare"
    result_attrs = ("curves", "names")

    @classmethod
    def from_experiment(cls, obj: Any, *, ax: Axes | None = None, objective: str | None = None,
                        **options: Any) -> Display:
        """Compare a sequence of experiments (anything :func:`hpviz.experiment` accepts) and draw it."""
        cls._check(options)
        from hpviz import compare as compute

        kw = {} if objective is None else {"objective": objective}
        return cls(compute(*obj, **kw)).plot(ax=ax)

    def _draw(self, ax: Axes | None) -> Axes:
        cmp_ = self.result
        if ax is None:
            ax = new_figure(8.5, 4.8).add_subplot()
        first = cmp_.curves[cmp_.names[0]]
        _axes_setup(ax, first)
        ax.set_title(f"Budget-fair comparison: expected best {short(cmp_.objective, 30)}", loc="left")
        self.lines_ = [_curve(ax, cmp_.curves[name], PALETTE[i % len(PALETTE)], short(name, 30))
                       for i, name in enumerate(cmp_.names)]
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


def compare(obj: Any, ax: Axes | None = None, **options: Any) -> CompareDisplay:
    """One call: :class:`CompareDisplay` of a ``Comparison``, or of a sequence of experiments."""
    return CompareDisplay.shortcut(obj, ax, **options)
