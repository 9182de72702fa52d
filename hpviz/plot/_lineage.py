"""PBT lineage view: trials as lanes over training steps, exploits as arrows from donor to receiver."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hpviz.plot._common import COLORS, new_figure, score_colorbar, score_norm, short
from hpviz.plot._display import Display

__all__ = ["LineageDisplay", "lineage"]


def _is_pbt(experiment: Any) -> str | None:
    if any(t.attrs.get("config_history") or t.attrs.get("pbt_exploits") for t in experiment.trials):
        return None
    return "no trial changed its configuration during training (not a population-based run)"


class LineageDisplay(Display):
    """A :class:`hpviz.Lineage`: left, one lane per trial over the steps, its learning curve's values as
    colour (dark = better), exploits as arrows from the donor's lane at the donor step to the receiver's;
    right, a hyperparameter's value along each trial (search scale) with the exploit jumps.
    ``arrows_``: one annotation per exploit with a known donor."""

    key = "lineage"
    title = "Population-based training lineage"
    about = "Who cloned whom and when (arrows donor -> receiver), scores along each lane, hyperparameters over time."
    result_key = "lineage"
    result_attrs = ("events", "segments", "roots")
    options = {"param": None}

    @classmethod
    def applies(cls, experiment: Any) -> str | None:
        return _is_pbt(experiment)

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz.analysis.lineage import lineage as compute

        return compute(experiment, objective=objective)

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        lin, exp = self.result, self.experiment
        if ax is None:
            fig = new_figure(13, 5.0)
            a1, a2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
        else:
            a1, a2, fig = ax, None, ax.figure
        trials = sorted(lin.roots)
        lane = {n: i for i, n in enumerate(trials)}
        pts, vals = [], []
        if exp is not None:
            from hpviz.analysis._steps import curves

            cs = curves(exp, lin.objective)
            for t, s, v in zip(cs.trials, cs.steps, cs.values):
                if t.number in lane:
                    pts.append(np.column_stack([s, np.full(s.size, lane[t.number])]))
                    vals.append(v)
        if pts:
            P, V = np.concatenate(pts), np.concatenate(vals)
            norm, cmap = score_norm(V, lin.direction)
            a1.scatter(P[:, 0], P[:, 1], c=V, cmap=cmap, norm=norm, s=9, marker="s", lw=0, zorder=2)
            score_colorbar(fig, norm, cmap, a1, f"{short(lin.objective, 24)} (dark = better)", pad=0.01)
        self.arrows_ = []
        for e in lin.events.itertuples(index=False):
            if np.isnan(e.donor) or int(e.donor) not in lane:
                a1.plot([e.step], [lane[int(e.receiver)]], marker="x", color=COLORS["highlight"], ms=5, zorder=3)
                continue
            self.arrows_.append(a1.annotate(
                "", xy=(e.step, lane[int(e.receiver)]), xytext=(e.donor_step, lane[int(e.donor)]),
                arrowprops=dict(arrowstyle="->", color=COLORS["highlight"], lw=0.8, alpha=0.7), zorder=3))
        if lin.collapse_step is not None:
            a1.axvline(lin.collapse_step, color="0.3", ls="--", lw=1, label=f"one lineage from step {lin.collapse_step:g}")
            a1.legend(loc="upper left")
        a1.set_yticks(range(len(trials)), [f"#{n}" for n in trials])
        a1.set_xlabel("training step")
        a1.set_ylabel("trial")
        a1.grid(False, axis="y")
        a1.set_title(f"Lanes and exploits ({len(lin.events)} exploits; arrows: donor -> receiver)", loc="left")
        if a2 is not None:
            self._params(a2, lin, exp)
            fig.suptitle("Population-based training: lineage and hyperparameters over time")
        self.note_ = lin.message
        return fig if a2 is not None else a1

    def _params(self, ax: Axes, lin: Any, exp: Any) -> None:
        seg = lin.segments
        names = [c for c in seg.columns if c not in ("trial", "start", "end")]
        space = exp.all_params() if exp is not None else {}
        numeric = [n for n in names if getattr(space.get(n), "kind", "") in ("float", "int")]
        name = self.options["param"] or (numeric[0] if numeric else None)
        if name is None:
            ax.set_axis_off()
            return
        param = space[name]
        lines = []
        for _, g in seg.groupby("trial"):
            xs, ys = [], []
            for r in g.itertuples(index=False):
                v = getattr(r, name) if name.isidentifier() else r[list(seg.columns).index(name)]
                if v is None:
                    continue
                s = float(param.to_search_scale([float(v)])[0])
                xs += [r.start, r.end]
                ys += [s, s]
            if xs:
                lines.append(np.column_stack([xs, ys]))
        ax.add_collection(LineCollection(lines, colors=COLORS["complete"], lw=1.0, alpha=0.7))
        ax.autoscale()
        ax.set_xlabel("training step")
        ax.set_ylabel(f"{short(name, 24)}{' (log10)' if param.log else ''}")
        ax.set_title(f"{short(name, 24)} along each trial", loc="left")


def lineage(obj: Any, ax: Axes | None = None, **options: Any) -> LineageDisplay:
    """One call: :class:`LineageDisplay` of a :class:`hpviz.Lineage` or of anything :func:`hpviz.lineage` accepts."""
    return LineageDisplay.shortcut(obj, ax, **options)
