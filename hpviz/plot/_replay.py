"""Early-stopping replay view: rank correlation per step with its band, and what each stopping rule saves."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpviz._numbers import fmt
from hpviz.plot._common import COLORS, new_figure, note, short
from hpviz.plot._display import Display

__all__ = ["ReplayDisplay", "replay"]

_RULE_STYLE = {"median": ("-", COLORS["complete"]), "bottom-0.5": (":", "#56B4E9"), "bottom-0.75": ("--", "#009E73")}


def _has_curves(experiment: Any) -> str | None:
    n = sum(1 for t in experiment.trials if t.log is not None and len(t.log) > 1)
    return None if n >= 10 else f"{n} trials logged learning curves; the replay needs 10"


def _sentinel(ax: Axes, r: Any) -> None:
    if r.sentinel_step is not None:
        ax.axvline(r.sentinel_step, color=COLORS["highlight"], lw=1.2, ls="--", zorder=3,
                   label=f"sentinel step {fmt(r.sentinel_step)}")


def _correlation(ax: Axes, r: Any) -> Any:
    st = r.steps
    x = st.index.to_numpy(dtype=float)
    ax.fill_between(x, st["low"], st["high"], color=COLORS["complete"], alpha=0.18, lw=0,
                    label=f"{r.level:.0%} band")
    (line,) = ax.plot(x, st["spearman"], color=COLORS["complete"], lw=1.6, label="Spearman(step, final)")
    from hpviz.analysis.replay import RELIABLE_CORRELATION

    ax.axhline(RELIABLE_CORRELATION, color=COLORS["muted"], lw=0.9, ls=":", label=f"reliable ({RELIABLE_CORRELATION})")
    _sentinel(ax, r)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("step")
    ax.set_ylabel("rank correlation with the final value")
    ax.set_title("Does the ranking at a step predict the final ranking?", loc="left")
    ax.legend(loc="lower right")
    return line


def _rules(ax: Axes, r: Any) -> dict[str, Any]:
    lines = {}
    for rule, grp in r.rules.groupby("rule", sort=False):
        ls, color = _RULE_STYLE.get(rule, ("-.", "0.4"))
        x = grp["step"].to_numpy(dtype=float)
        (lines[rule],) = ax.plot(x, grp["saved"], ls=ls, color=color, lw=1.3, label=f"{rule}: compute saved")
        ax.plot(x, grp["recall"], ls=ls, color=color, lw=0.9, alpha=0.6, marker="o", ms=2.2,
                label=f"{rule}: top-{r.top} recall")
    _sentinel(ax, r)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("step at which trials are stopped")
    ax.set_ylabel("share")
    ax.set_title("Stopping rules replayed: compute saved vs best trials kept", loc="left")
    ax.legend(loc="center right", fontsize=7)
    return lines


class ReplayDisplay(Display):
    """The :class:`hpviz.Replay`: per step the rank correlation with the final value (band, 0.7 line) and,
    per rule, the share of compute saved and the recall of the best trials; the sentinel step dashed.
    ``corr_line_`` and ``rule_lines_`` (rule -> saved line) hold the artists."""

    key = "replay"
    title = "Early-stopping replay"
    about = "If a trial is bad at step k, do we need the rest? Stopping rules replayed on the curves."
    result_key = "replay"
    result_attrs = ("sentinel_step", "rules", "halving")
    options: dict[str, Any] = {}

    @classmethod
    def applies(cls, experiment: Any) -> str | None:
        return _has_curves(experiment)

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz.analysis.replay import replay as compute

        return compute(experiment, objective=objective)

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        r = self.result
        if ax is not None:
            self.corr_line_ = _correlation(ax, r)
            self.rule_lines_ = {}
            return ax
        fig = new_figure(12, 4.4)
        a1, a2 = fig.subplots(1, 2)
        self.corr_line_ = _correlation(a1, r)
        self.rule_lines_ = _rules(a2, r)
        if r.sentinel_step is None:
            note(a2, "no safe sentinel step: do not stop early")
        fig.suptitle(f"Early stopping replayed on {r.n_trials} trials reaching step {fmt(r.horizon)} "
                     f"of {short(r.objective, 30)}")
        self.note_ = r.message + (f" {r.advice}" if r.advice else "")
        return fig


def replay(obj: Any, ax: Axes | None = None, **options: Any) -> ReplayDisplay:
    """One call: :class:`ReplayDisplay` of a :class:`hpviz.Replay` or of anything :func:`hpviz.replay` accepts."""
    return ReplayDisplay.shortcut(obj, ax, **options)
