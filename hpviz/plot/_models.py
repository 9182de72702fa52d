"""Several model families side by side: each best with its interval, budget-fair curves, the cross-model front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz.plot._common import PALETTE, new_figure, plain_log_labels, short
from hpviz.plot._display import Display

__all__ = ["ModelsDisplay", "models"]

class ModelsDisplay(Display):
    """A :class:`hpviz.ModelComparison`. Top: each model's best with its interval (per-split scores or
    repeated configurations; a bare dot when its noise is unknown) and, with ``metrics``, every model's
    trials on the two first metrics with the cross-model Pareto front. Bottom: expected best against the
    budget, one panel per axis compared (trials, seconds, steps), bands as tested, the common budget
    dotted and the axis's verdict in the panel's title. With ``ax``: the bests only.

    ``best_points_``: model -> the best's artist; ``curve_axes_``: axis -> its Axes;
    ``curve_lines_``: axis -> {model: line}."""

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

        kw = {k: options.pop(k) for k in ("names", "metrics", "axes", "level", "correction", "seed") if k in options}
        cls._check(options)
        if isinstance(obj, (str, bytes)) or not isinstance(obj, Sequence):
            raise TypeError("ModelsDisplay.from_experiment needs a list of two or more experiments")
        return cls(compare_models(list(obj), objective=objective, **kw), **options).plot(ax=ax)

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        mc = self.result
        has_front = mc.pareto is not None
        colors = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(mc.names)}
        self.curve_axes_: dict[str, Axes] = {}
        self.curve_lines_: dict[str, dict[str, Any]] = {}
        if ax is not None:
            self._bests(ax, mc, colors)
            return ax
        axes_ = list(mc.comparisons)
        fig = new_figure(15, 8.6)
        grid = fig.add_gridspec(2, 6)
        self._bests(fig.add_subplot(grid[0, :3] if has_front else grid[0, :]), mc, colors)
        if has_front:
            self._front(fig.add_subplot(grid[0, 3:]), mc, colors)
        width = 6 // len(axes_)
        for i, axis in enumerate(axes_):
            b = fig.add_subplot(grid[1, i * width:(i + 1) * width])
            self._curves(b, mc, axis, colors)
        fig.suptitle(f"{len(mc.names)} models compared on {short(mc.objective, 30)}")
        return fig

    def _bests(self, a: Axes, mc: Any, colors: dict[str, str]) -> None:
        self.best_points_ = {}
        for i, row in enumerate(mc.best.itertuples(index=False)):
            lo, hi = row.low, row.high
            if np.isfinite(lo):
                a.plot([lo, hi], [i, i], color=colors[row.model], lw=2.2, solid_capstyle="butt")
            (self.best_points_[row.model],) = a.plot([row.best], [i], "o", color=colors[row.model], ms=6)
            a.annotate(f"  {row.uncertainty}, {int(row.n_trials)} trials", (row.best, i), fontsize=7,
                       color="0.35", va="bottom")
        a.set_yticks(range(len(mc.best)), [short(n, 20) for n in mc.best["model"]])
        a.set_ylim(len(mc.best) - 0.5, -0.7)
        a.set_xlabel(f"best {short(mc.objective, 24)} ({mc.level:.0%} interval)")
        a.set_title("Each model's best", loc="left")
        a.grid(False, axis="y")

    def _front(self, c: Axes, mc: Any, colors: dict[str, str]) -> None:
        m1, m2 = list(mc.metrics)[:2]
        for name, g in mc.pareto.groupby("model", sort=False):
            c.scatter(g[m1], g[m2], s=12, color=colors[name], alpha=0.35, lw=0)
            on = g[g["on_front"]]
            c.scatter(on[m1], on[m2], s=40, color=colors[name], edgecolor="black", lw=0.8,
                      label=f"{short(name, 20)}: {len(on)} on the front")
        for m, which in ((m1, "x"), (m2, "y")):
            v = mc.pareto[m].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if len(v) and v.min() > 0 and v.max() / v.min() > 50:  # fit times of different families
                (c.set_xscale if which == "x" else c.set_yscale)("log")
                plain_log_labels(c, which)
        c.set_xlabel(f"{short(m1, 24)} ({mc.metrics[m1]})")
        c.set_ylabel(f"{short(m2, 24)} ({mc.metrics[m2]})")
        c.set_title("Trade-offs across models (outlined: Pareto front)", loc="left")
        c.legend(loc="best", fontsize=7)

    def _curves(self, b: Axes, mc: Any, axis: str, colors: dict[str, str]) -> None:
        df = mc.curves(axis)
        lines = {}
        for name, g in df.groupby("name", sort=False):
            few = len(g) <= 3  # a run of a few trials: its points, or a single one would not show
            (lines[name],) = b.plot(g["budget"], g["mean"], color=colors[name], lw=1.5, label=short(name, 20),
                                    marker="o" if few else None, ms=4)
            if g["lower"].notna().any() and few:  # a band over 1-3 points would not show: bars
                b.errorbar(g["budget"], g["mean"], yerr=[g["mean"] - g["lower"], g["upper"] - g["mean"]], fmt="none",
                           ecolor=colors[name], alpha=0.5, lw=1.2, capsize=3)
            elif g["lower"].notna().any():
                b.fill_between(g["budget"], g["lower"], g["upper"], color=colors[name], alpha=0.15, lw=0)
        row = mc.by_axis.set_index("axis").loc[axis]
        b.axvline(row["budget"], color="0.5", ls=":", lw=1)
        if axis != "trials" and df["budget"].max() / max(df["budget"].min(), 1e-12) > 20:
            b.set_xscale("log")
            plain_log_labels(b, "x", subs=(1.0, 2.0, 5.0))
        unit = {"trials": "trials", "seconds": "seconds (trials run one after another)",
                "steps": "training steps"}[axis]
        b.set_xlabel(unit)
        b.set_ylabel(f"expected best {short(mc.objective, 24)}")
        if not isinstance(row["winner"], str):
            verdict = "no single best established"
        elif row["decisive"]:
            verdict = f"{short(row['winner'], 24)} best"
        else:
            verdict = f"{short(row['winner'], 24)} ahead at small budgets only"
        b.set_title(f"By {axis}: {verdict}", loc="left", fontsize=10)
        b.legend(loc="lower right" if mc.direction == "max" else "upper right", fontsize=7)
        self.curve_axes_[axis] = b
        self.curve_lines_[axis] = lines


def models(obj: Any, ax: Axes | None = None, **options: Any) -> ModelsDisplay:
    """One call: :class:`ModelsDisplay` of a :class:`hpviz.ModelComparison` or of a list of experiments."""
    return ModelsDisplay.shortcut(obj, ax, **options)
