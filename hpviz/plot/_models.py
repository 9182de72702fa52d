"""Several model families side by side: each best with its interval, budget-fair curves, the cross-model front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz.plot._common import new_figure, short
from hpviz.plot._display import Display

__all__ = ["ModelsDisplay", "models"]

_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")


def _frame(result: Any) -> Any:
    """The comparison's long table ``name, n, mean, lower, upper`` (``to_dataframe`` or the older ``to_frame``)."""
    comp = result.comparison
    return comp.to_dataframe() if hasattr(comp, "to_dataframe") else comp.to_frame()


class ModelsDisplay(Display):
    """A :class:`hpviz.ModelComparison`: left, each model's best with its interval (per-split scores or
    repeated configurations; a bare dot when its noise is unknown); middle, expected best vs number of
    trials with bands (``hpviz.compare``); right, with ``metrics``, every model's trials on the two first
    metrics with the cross-model Pareto front. ``best_points_``: model -> the best's artist."""

    key = "models"
    title = "Model comparison"
    about = "Several model families: each best with its uncertainty, budget-fair curves, trade-offs across models."
    result_key = "models"
    result_attrs = ("names", "best", "comparison")
    options: dict[str, Any] = {}

    @classmethod
    def from_experiment(cls, obj: Any, *, ax: Axes | None = None, objective: str | None = None,
                        **options: Any) -> Display:
        """Compare the models of ``obj`` (a list of experiments; ``names``, ``metrics`` as in compare_models)."""
        from hpviz.analysis.models import compare_models

        kw = {k: options.pop(k) for k in ("names", "metrics", "level", "seed") if k in options}
        cls._check(options)
        if isinstance(obj, (str, bytes)) or not isinstance(obj, Sequence):
            raise TypeError("ModelsDisplay.from_experiment needs a list of two or more experiments")
        return cls(compare_models(list(obj), objective=objective, **kw), **options).plot(ax=ax)

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        mc = self.result
        has_front = mc.pareto is not None
        if ax is None:
            fig = new_figure(15 if has_front else 11, 4.3)
            axes = fig.subplots(1, 3 if has_front else 2)
        else:
            axes, fig = [ax], ax.figure
        colors = {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(mc.names)}
        self.best_points_ = {}
        a = axes[0]
        for i, row in enumerate(mc.best.itertuples(index=False)):
            lo, hi = row.low, row.high
            if np.isfinite(lo):
                a.plot([lo, hi], [i, i], color=colors[row.model], lw=2.2, solid_capstyle="butt")
            (self.best_points_[row.model],) = a.plot([row.best], [i], "o", color=colors[row.model], ms=6)
            a.annotate(f"  {row.uncertainty}", (row.best, i), fontsize=7, color="0.35", va="bottom")
        a.set_yticks(range(len(mc.best)), [short(n, 20) for n in mc.best["model"]])
        a.invert_yaxis()
        a.set_xlabel(f"best {short(mc.objective, 24)} ({mc.level:.0%} interval)")
        a.set_title("Each model's best", loc="left")
        a.grid(False, axis="y")
        if len(axes) > 1:
            b = axes[1]
            df = _frame(mc)
            for name, g in df.groupby("name", sort=False):
                b.plot(g["n"], g["mean"], color=colors[name], lw=1.5, label=short(name, 20))
                if "lower" in g and g["lower"].notna().any():
                    b.fill_between(g["n"], g["lower"], g["upper"], color=colors[name], alpha=0.15, lw=0)
            b.set_xlabel("trials (budget)")
            b.set_ylabel(f"expected best {short(mc.objective, 24)}")
            b.set_title("Expected best at equal budgets", loc="left")
            b.legend(loc="lower right" if mc.direction == "max" else "upper right")
        if has_front and len(axes) > 2:
            c = axes[2]
            m1, m2 = list(mc.metrics)[:2]
            for name, g in mc.pareto.groupby("model", sort=False):
                c.scatter(g[m1], g[m2], s=12, color=colors[name], alpha=0.35, lw=0)
                on = g[g["on_front"]]
                c.scatter(on[m1], on[m2], s=40, color=colors[name], edgecolor="black", lw=0.8,
                          label=f"{short(name, 20)}: {len(on)} on the front")
            c.set_xlabel(f"{short(m1, 24)} ({mc.metrics[m1]})")
            c.set_ylabel(f"{short(m2, 24)} ({mc.metrics[m2]})")
            c.set_title("Trade-offs across models (outlined: Pareto front)", loc="left")
            c.legend(loc="best", fontsize=7)
        if ax is None:
            fig.suptitle(f"{len(mc.names)} models compared on {short(mc.objective, 30)}")
            return fig
        return ax


def models(obj: Any, ax: Axes | None = None, **options: Any) -> ModelsDisplay:
    """One call: :class:`ModelsDisplay` of a :class:`hpviz.ModelComparison` or of a list of experiments."""
    return ModelsDisplay.shortcut(obj, ax, **options)
