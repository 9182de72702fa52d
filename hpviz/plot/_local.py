"""Local importance beside global: which hyperparameters matter among the good configurations."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from hpviz.plot._common import COLORS, axes_or_new, short
from hpviz.plot._display import Display

__all__ = ["LocalImportanceDisplay", "local_importance"]


class LocalImportanceDisplay(Display):
    """A :class:`hpviz.LocalImportance`: per parameter, global importance (all trials, whole space) and
    local importance (best ``q`` of trials, their region) as paired bars with across-tree std.
    ``global_bars_``, ``local_bars_``: the bar containers, parameters in drawing order."""

    key = "local_importance"
    title = "Local importance"
    about = "Importance among the best trials (their region) beside global importance: what still matters when good."
    result_key = "local_importance"
    result_attrs = ("local", "global_", "q")
    compute_options = ("n_trees", "seed", "q")
    options = {"max_params": 15}

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz.analysis.local import local_importance as compute

        return compute(experiment, objective=objective, **kwargs)

    def _draw(self, ax: Axes | None) -> Axes:
        li = self.result
        df = li.to_dataframe().head(max(1, int(self.options["max_params"])))
        ax = axes_or_new(ax, 8.5, max(3.0, 0.9 + 0.42 * len(df)))
        y = np.arange(len(df))
        h = 0.38
        self.global_bars_ = ax.barh(y - h / 2, df["global"], xerr=df["global_std"], height=h, color="#b7cde0",
                                    label="global (all trials, whole space)", error_kw=dict(ecolor="0.4", lw=0.8))
        self.local_bars_ = ax.barh(y + h / 2, df["local"], xerr=df["local_std"], height=h, color=COLORS["complete"],
                                   label=f"local (best {li.q:.0%}: {li.n_top} trials, their region)",
                                   error_kw=dict(ecolor="0.2", lw=0.8))
        ax.set_yticks(y, [short(p, 24) for p in df["param"]])
        ax.invert_yaxis()
        ax.set_xlim(0, min(1.1, float(np.nanmax(np.r_[df["global"] + df["global_std"],
                                                      df["local"] + df["local_std"], 0.05])) * 1.15))
        ax.set_xlabel("fraction of variance explained")
        ax.set_title(f"Which hyperparameters matter among the good trials ({short(li.objective, 30)})", loc="left")
        ax.grid(False, axis="y")
        ax.legend(loc="lower right")
        self.note_ = li.message
        return ax


def local_importance(obj: Any, ax: Axes | None = None, **options: Any) -> LocalImportanceDisplay:
    """One call: :class:`LocalImportanceDisplay` of a :class:`hpviz.LocalImportance` or an experiment."""
    return LocalImportanceDisplay.shortcut(obj, ax, **options)
