"""Importance by budget level: how each hyperparameter's importance shifts with the training budget."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from hpviz._numbers import fmt_tick as fmt
from hpviz.plot._common import axes_or_new, short
from hpviz.plot._display import Display

__all__ = ["BudgetImportanceDisplay", "budget_importance"]

_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")


class BudgetImportanceDisplay(Display):
    """A :class:`hpviz.BudgetImportance`: importance (with across-tree std) of the ``max_params`` most
    important parameters at the highest budget, one line each over the budget levels. ``lines_``:
    parameter -> line."""

    key = "budget_importance"
    title = "Importance by budget"
    about = "Importance per budget level (rung), from every trial that reached it: what decides early vs final values."
    result_key = "budget_importance"
    result_attrs = ("levels", "importances")
    compute_options = ("n_trees", "seed")
    options = {"max_params": 8}

    @classmethod
    def applies(cls, experiment: Any) -> str | None:
        ends = set()
        for t in experiment.trials:
            if t.log is not None and len(t.log):
                ends.add(t.log.points()[-1][0])
                if len(ends) > 1:  # two budgets are enough (reading every log costs 0.1 s at 5,000 trials)
                    return None
        return "every trial ran to the same budget: importance by budget is the global importance"

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz.analysis.rungs import budget_importance as compute

        return compute(experiment, objective=objective, **kwargs)

    def _draw(self, ax: Axes | None) -> Axes:
        bi = self.result
        ax = axes_or_new(ax, 8.5, 4.2)
        table = bi.to_dataframe()
        top = bi.highest.individual.index[: max(1, int(self.options["max_params"]))]
        x = np.asarray(bi.levels, dtype=float)
        self.lines_ = {}
        for i, p in enumerate(top):
            rows = table[table["param"] == p].set_index("budget").reindex(x)
            line = ax.errorbar(x, rows["importance"], yerr=rows["std"], color=_PALETTE[i % len(_PALETTE)],
                               marker="o", ms=4, lw=1.5, capsize=2, label=short(p, 24))
            self.lines_[p] = line.lines[0]
        if len(x) > 1 and x.min() > 0 and x.max() / x.min() >= 8:
            ax.set_xscale("log")
        ax.set_xticks(x, [f"{fmt(b)}\n({n} trials)" for b, n in zip(x, bi.n_trials)])
        ax.minorticks_off()
        ax.set_xlabel("budget level (step) and trials that reached it")
        ax.set_ylabel("fraction of variance explained")
        ax.set_ylim(bottom=0)
        ax.set_title(f"Importance of each hyperparameter for {short(bi.objective, 30)} by budget", loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        self.note_ = bi.message
        return ax


def budget_importance(obj: Any, ax: Axes | None = None, **options: Any) -> BudgetImportanceDisplay:
    """One call: :class:`BudgetImportanceDisplay` of a :class:`hpviz.BudgetImportance` or an experiment."""
    return BudgetImportanceDisplay.shortcut(obj, ax, **options)
