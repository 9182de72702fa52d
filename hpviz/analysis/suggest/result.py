"""The result of :func:`hpviz.suggest_space`: :class:`SpaceSuggestion`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hpviz._richrepr import RichResult
from hpviz.analysis.suggest.thresholds import SuggestThresholds
from hpviz.errors import SchemaError
from hpviz.schema import Change, Experiment, Round, SearchSpace

__all__ = ["SpaceSuggestion"]


@dataclass(frozen=True, eq=False)
class SpaceSuggestion(RichResult):
    """Result of :func:`suggest_space`.

    Attributes
    ----------
    changes:
        The proposed edits, at most one per parameter, in search-space order.
    space:
        The refined space: ``parent`` with every change applied. Same
        parameter names and order as ``parent``; a fixed parameter becomes a
        single-choice :class:`~hpviz.Categorical`.
    parent:
        The space the suggestion refines (the experiment's latest round).
    objective, direction:
        The objective analysed and whether it is minimized or maximized.
    n_used, n_excluded:
        Trials analysed (COMPLETE with a finite objective) and trials left out
        (failed, pruned, running, NaN/inf).
    n_good, good_threshold:
        How many trials count as "good" and the objective value of the worst of them.
    level:
        The :class:`SuggestThresholds` applied.
    importance:
        The :class:`~hpviz.Importance` used (``None`` when it could not be computed).
    notes:
        Suggestions considered but not made, and why (e.g. an ``expand``
        blocked by a hard limit).
    signal_p:
        ``param -> p-value`` that the parameter is associated with the
        objective at all (Kruskal-Wallis across choices; KS of the good
        trials' values against the others'), uncorrected.
    """

    changes: tuple[Change, ...]
    space: SearchSpace
    parent: SearchSpace
    objective: str
    direction: str
    n_used: int
    n_excluded: int
    n_good: int
    good_threshold: float
    level: SuggestThresholds
    importance: Any = None
    notes: tuple[str, ...] = field(default=())
    signal_p: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.changes)

    def by_param(self) -> dict[str, Change]:
        """``param -> Change`` for the parameters that change."""
        return {c.param: c for c in self.changes}

    def actions(self) -> dict[str, str]:
        """``param -> action`` for the parameters that change."""
        return {c.param: c.action for c in self.changes}

    def to_dataframe(self) -> Any:
        """One row per change: ``param, action, before, after, reason``."""
        import pandas as pd

        return pd.DataFrame(
            [{"param": c.param, "action": c.action, "before": c.before, "after": c.after, "reason": c.reason}
             for c in self.changes],
            columns=["param", "action", "before", "after", "reason"],
        )

    def __repr__(self) -> str:
        return (f"SpaceSuggestion(objective={self.objective!r}, n_used={self.n_used}, "
                f"changes={[(c.param, c.action) for c in self.changes]})")

    def summary(self) -> str:
        """Human-readable list of the changes (and notes)."""
        if not self.changes:
            lines = [f"no change suggested ({self.n_used} trials analysed)"]
        else:
            lines = [f"{c.param}: {c.action} — {c.reason}" for c in self.changes]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def apply(self, exp: Experiment, note: str | None = None) -> Round:
        """Start the next round of ``exp`` with the refined space and these changes.

        Calls ``exp.next_round(self.space, self.changes, note)`` and returns
        the new :class:`~hpviz.Round`. ``exp`` must be the experiment the
        suggestion was computed from (its current space equals ``parent``).
        """
        if not isinstance(exp, Experiment):
            raise SchemaError(
                f"SpaceSuggestion.apply needs an hpviz.Experiment, got {type(exp).__name__}; "
                "convert with hpviz.experiment(obj), keep that object, and suggest from it"
            )
        if exp.space != self.parent:
            raise SchemaError(
                "SpaceSuggestion.apply: the experiment's current space is not the one this suggestion refines "
                "(was another round started since?)"
            )
        return exp.next_round(self.space, self.changes, note)
