"""Round-over-round view: the objective of each steering round, and best-so-far within each round."""

from __future__ import annotations

import textwrap
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz._columns import TrialColumns, running_best, trial_columns, unorient
from hpviz._numbers import fmt, fmt_p
from hpviz.plot._common import COLORS, PALETTE, message, new_figure, robust_ylim, short
from hpviz.plot._display import Display

__all__ = ["RoundsDisplay", "RoundInfo", "rounds_info", "rounds"]

_PALETTE = [COLORS["muted"], *PALETTE[:7]]  # the first round grey, later ones in the shared palette


def _comparison_text(comparison: Any) -> str:
    deltas = getattr(comparison, "deltas", None)
    if deltas:
        out = []
        for d in deltas:
            if d.beats is None:
                out.append(f"round {d.current + 1} vs {d.previous + 1}: a round has no usable trial.")
                continue
            verdict = "better" if d.beats else "not better"
            out.append(f"round {d.current + 1} vs {d.previous + 1}, first {d.m} trials each: best "
                       f"{fmt(d.best_current)} vs {fmt(d.best_previous)} ({verdict} by an equal-budget "
                       f"permutation test at level 0.05, uncorrected over the consecutive pairs, p = {fmt_p(d.p_value)}).")
        return " ".join(out)
    for attr in ("statement", "summary", "message"):
        text = getattr(comparison, attr, None)
        if isinstance(text, str) and text:
            return text
    return ""


class RoundInfo(NamedTuple):
    """One round as the rounds view draws it."""

    round: int  # 0-based
    values: np.ndarray  # usable feasible objective values, in trial order
    n_complete: int
    n_trials: int
    best: float  # NaN without a usable trial
    median: float
    within: tuple[np.ndarray, np.ndarray]  # (trials into the round, best so far), at usable positions


def rounds_info(a: TrialColumns) -> list[RoundInfo]:
    """Per round: its feasible values, best, median and best-so-far by trials into the round."""
    out = []
    rounds = np.unique(a.rounds) if a.rounds.size else np.array([0.0])
    for r in rounds:
        sel = a.rounds == r
        ok = a.rankable[sel]
        values = a.value[sel][ok]
        y = unorient(running_best(np.where(ok, a.loss[sel], np.nan)), a.direction)
        x = np.arange(1, y.size + 1)
        keep = np.isfinite(y)
        best = (values.min() if a.direction == "min" else values.max()) if values.size else np.nan
        out.append(RoundInfo(int(r), values, int((sel & a.usable).sum()), int(sel.sum()), float(best),
                             float(np.median(values)) if values.size else np.nan, (x[keep], y[keep])))
    return out


def _color(i: int, n: int) -> str:
    return _PALETTE[i % len(_PALETTE)] if n > 1 else _PALETTE[1]


def _strip(ax: Axes, a: TrialColumns, info: list[RoundInfo], rng: np.random.Generator) -> None:
    for i, r in enumerate(info):
        y = r.values
        color = _color(i, len(info))
        if y.size:
            x = i + rng.uniform(-0.22, 0.22, size=y.size)
            ax.scatter(x, y, s=9, color=color, alpha=float(np.clip(200 / y.size, 0.15, 0.7)), lw=0,
                       rasterized=True)
            ax.hlines(r.median, i - 0.32, i + 0.32, color="0.15", lw=1.5)
            ax.scatter([i], [r.best], marker="*", s=90, color=color, edgecolor="black", lw=0.6, zorder=4)
            ax.annotate(f"best {fmt(r.best)}", (i, r.best), xytext=(8, 0), textcoords="offset points", fontsize=7.5,
                        va="center")
    labels = [f"round {r.round + 1}\n{r.n_complete}/{r.n_trials} complete" for r in info]
    ax.set_xticks(range(len(info)), labels)
    ax.set_xlim(-0.6, len(info) - 0.4)
    robust_ylim(ax, a.value[a.rankable], a.direction)
    ax.set_xlabel("round (bar: median, star: best" + (", feasible trials only)" if a.infeasible.any() else ")"))
    ax.set_ylabel(f"{short(a.objective, 30)} ({a.direction})")
    ax.grid(False, axis="x")


def _within(ax: Axes, a: TrialColumns, info: list[RoundInfo]) -> list:
    lines = []
    for i, r in enumerate(info):
        x, y = r.within
        if x.size:
            lines += ax.step(x, y, where="post", color=_color(i, len(info)), lw=1.8, label=f"round {r.round + 1}")
    ax.set_xlabel("trials into the round")
    ax.set_ylabel(f"best {short(a.objective, 30)} so far")
    ax.legend(loc="best")
    return lines


class RoundsDisplay(Display):
    """Each steering round's scores side by side, and how fast each round found its best.

    The result is a ``RoundComparison`` (from :func:`hpviz.compare_rounds`; its verdict is printed)
    or ``None``; ``experiment=`` (the trials) is required. Without ``ax``: two panels (``ax_`` an
    array); with ``ax``: the per-round strip plot only. ``lines_``: the within-round best-so-far lines.
    """

    key = "rounds"
    title = "Round over round"
    about = "How each steering round did compared with the previous ones."
    result_key = "rounds"
    options = {"objective": None, "seed": 0}

    @classmethod
    def applies(cls, experiment: Any) -> str | None:
        return None if len(experiment.rounds) >= 2 else "a single round: nothing to compare"

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz import compare_rounds
        from hpviz.errors import InsufficientDataError

        try:
            return compare_rounds(experiment, objective=objective)
        except InsufficientDataError:
            return None  # the strip plot still shows what each round has

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        if self.experiment is None:
            raise TypeError("RoundsDisplay draws the trials: pass experiment= with the round comparison")
        self.lines_ = []
        return _rounds(self, self.experiment, ax, self.result, **self.options)


def rounds(obj: Any, ax: Axes | None = None, *, comparison: Any = None, **options: Any) -> RoundsDisplay:
    """One call: :class:`RoundsDisplay` of an experiment with rounds; ``comparison=`` reuses a
    ``RoundComparison`` instead of computing one."""
    if comparison is not None:
        return RoundsDisplay.from_result(comparison, ax=ax, experiment=obj, **options)
    return RoundsDisplay.from_experiment(obj, ax=ax, **options)


def _rounds(display: RoundsDisplay, exp: Any, ax: Axes | None, comparison: Any, *, objective: str | None,
            seed: int) -> Axes | Figure:
    a = trial_columns(exp, objective if objective is not None else getattr(comparison, "objective", None))
    info = display.info_ = rounds_info(a)
    rng = np.random.default_rng(seed)
    if ax is not None:
        _strip(ax, a, info, rng)
        ax.set_title("Objective by round", loc="left")
        return ax
    fig = new_figure(11, 4.6)
    # own y range on the right: best-so-far lines sit near the best values, flat on a shared axis
    ax1, ax2 = fig.subplots(1, 2)
    if not a.usable.any():
        for ax_ in (ax1, ax2):
            message(ax_, "no completed trial in any round")
    _strip(ax1, a, info, rng)
    ax1.set_title("Objective by round", loc="left")
    display.lines_ = _within(ax2, a, info)
    ax2.tick_params(labelleft=True)
    ax2.set_title("Best so far within each round", loc="left")
    text = _comparison_text(comparison) if comparison is not None else ""
    changes = []
    for rnd in exp.rounds[1:]:
        if rnd.changes:
            acts = ", ".join(f"{c.action} {short(c.param, 24)}" for c in rnd.changes[:6])
            more = f" (+{len(rnd.changes) - 6})" if len(rnd.changes) > 6 else ""
            changes.append(f"round {rnd.index + 1}: {acts}{more}")
    sub = "; ".join(changes)
    title = "Round over round" + (f"\n{textwrap.shorten(sub, 150)}" if sub else "")
    fig.suptitle(title)
    if text:
        fig.supxlabel(textwrap.fill(text, 150), fontsize=8, color="0.25")
    return fig
