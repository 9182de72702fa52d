"""Search-space coverage view: how unevenly each parameter was sampled, beside random search."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from hpviz._numbers import fmt
from hpviz.plot._common import COLORS, axes_or_new, short
from hpviz.plot._display import Display

__all__ = ["CoverageDisplay", "coverage"]


class CoverageDisplay(Display):
    """A :class:`hpviz.Coverage`: per numeric parameter the largest unexplored share of its range and the
    distance from even sampling (KS), each beside random search with as many trials (grey ticks); per
    categorical the share of choices used. ``gap_bars_``: the bar container (parameters in order)."""

    key = "coverage"
    title = "Search-space coverage"
    about = "How densely the trials covered the declared space, beside random search with the same budget."
    result_key = "coverage"
    result_attrs = ("joint", "params", "n_trials")
    compute_options = ("seed",)
    options: dict[str, Any] = {}

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz.analysis.coverage import coverage as compute

        return compute(experiment, **kwargs)

    def _draw(self, ax: Axes | None) -> Axes:
        cov = self.result
        df = cov.params
        ax = axes_or_new(ax, 8.5, max(3.0, 1.0 + 0.45 * len(df)))
        y = np.arange(len(df))
        numeric = df["kind"] != "categorical"
        gap = np.where(numeric, df["max_gap"], 1 - df["choices_used"])
        h = 0.38
        self.gap_bars_ = ax.barh(y - h / 2, gap, height=h, color=COLORS["complete"],
                                 label="largest unexplored share of the range (categorical: choices never tried)")
        ax.barh(y + h / 2, np.where(numeric, df["discrepancy"], np.nan), height=h, color="#E69F00",
                label="distance from even sampling (KS)")
        ax.scatter(df["max_gap_random"], y - h / 2, marker="|", s=140, color="0.25", zorder=3,
                   label="random search, same budget")
        ax.scatter(df["discrepancy_random"], y + h / 2, marker="|", s=140, color="0.25", zorder=3)
        ax.set_yticks(y, [short(p, 24) for p in df["param"]])
        ax.invert_yaxis()
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("share (0 = dense and even)")
        ax.grid(False, axis="y")
        title = f"Coverage of the declared space by {cov.n_trials} trials"
        if np.isfinite(cov.ratio):
            title += f" (largest empty region {fmt(cov.ratio)} x random search's)"
        ax.set_title(title, loc="left")
        ax.legend(loc="lower right", fontsize=7)
        self.note_ = cov.message
        return ax


def coverage(obj: Any, ax: Axes | None = None, **options: Any) -> CoverageDisplay:
    """One call: :class:`CoverageDisplay` of a :class:`hpviz.Coverage` or of anything :func:`hpviz.coverage` accepts."""
    return CoverageDisplay.shortcut(obj, ax, **options)
