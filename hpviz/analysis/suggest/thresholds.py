"""Evidence levels of the suggestions: :class:`SuggestThresholds` and the ``CONSERVATIVE`` / ``BOLD`` presets.

Every number a suggestion rule compares against lives here, with what it means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpviz._validate import Interval, check, check_int
from hpviz.errors import SchemaError

__all__ = ["ACTIONS", "IMPORTANCE_TREES", "SuggestThresholds", "CONSERVATIVE", "BOLD", "resolve_level"]

ACTIONS = ("shrink", "expand", "fix", "drop-choices", "use-log")

#: Trees of the forest :func:`suggest_space` fits when it computes importance itself.
IMPORTANCE_TREES = 32


@dataclass(frozen=True)
class SuggestThresholds:
    """Evidence a suggestion needs. ``CONSERVATIVE`` is the default; ``BOLD`` asks for less.

    Attributes
    ----------
    min_trials:
        Usable trials (COMPLETE, finite objective) below which
        :func:`suggest_space` raises :class:`~hpviz.InsufficientDataError`.
    top_quantile, min_good:
        The "good" trials are the best ``max(min_good, ceil(top_quantile * n))``.
    alpha:
        Significance level of the tests (Bonferroni-corrected over the
        parameters tested, and over the choices of a categorical).
    min_importance:
        A parameter whose fANOVA importance is below this is neither shrunk
        nor expanded (the test on where its good values are is then likely
        a fluke).
    shrink_pad, shrink_min_pad, shrink_max_keep:
        ``shrink`` keeps the span of the good trials padded by
        ``max(shrink_pad * span, shrink_min_pad * range)`` on each side, and
        only when the result keeps at most ``shrink_max_keep`` of the range.
    edge_band, edge_share, expand_by:
        ``expand`` needs the best trial and at least ``edge_share`` of the
        good trials within ``edge_band * range`` of one bound; that side is
        widened by ``expand_by * range``.
    fix_max_importance, fix_min_trials:
        ``fix`` needs ``importance + 2 * std < fix_max_importance`` with at
        least ``fix_min_trials`` usable trials, and another parameter with an
        importance of at least ``min_importance``.
    drop_min_count:
        A choice is judged (and dropped) only with at least this many trials.
    log_min_ratio, log_band, log_share, log_min_decades:
        ``use-log`` needs ``high / low >= log_min_ratio``, the best trial and
        at least ``log_share`` of the good trials in the lowest ``log_band``
        of the linear range, and the good values spread over at least
        ``log_min_decades`` decades.
    """

    min_trials: int = 20
    top_quantile: float = 0.2
    min_good: int = 5
    alpha: float = 0.01
    min_importance: float = 0.05
    shrink_pad: float = 0.5
    shrink_min_pad: float = 0.05
    shrink_max_keep: float = 0.75
    edge_band: float = 0.1
    edge_share: float = 0.25
    expand_by: float = 0.5
    fix_max_importance: float = 0.03
    fix_min_trials: int = 30
    drop_min_count: int = 5
    log_min_ratio: float = 100.0
    log_band: float = 0.25
    log_share: float = 0.8
    log_min_decades: float = 1.0

    def __post_init__(self) -> None:
        for name in ("min_trials", "min_good", "fix_min_trials", "drop_min_count"):
            check_int(f"SuggestThresholds.{name}", getattr(self, name), 2)
        for name in ("top_quantile", "alpha", "edge_band", "log_band", "shrink_max_keep"):
            check(f"SuggestThresholds.{name}", getattr(self, name), Interval(float, 0, 1, "neither"))
        for name in ("edge_share", "log_share"):  # a share of 1 ("all of them") is meaningful
            check(f"SuggestThresholds.{name}", getattr(self, name), Interval(float, 0, 1, "right"))
        for name in ("min_importance", "shrink_pad", "shrink_min_pad", "expand_by", "fix_max_importance",
                     "log_min_decades"):
            check(f"SuggestThresholds.{name}", getattr(self, name), Interval(float, 0, None))
        check("SuggestThresholds.log_min_ratio", self.log_min_ratio, Interval(float, 1, None, "neither"))
        if self.min_trials < 2 * self.min_good:
            raise SchemaError(
                f"SuggestThresholds.min_trials ({self.min_trials}) must be at least 2 * min_good ({self.min_good})"
            )


CONSERVATIVE = SuggestThresholds()
BOLD = SuggestThresholds(
    min_trials=10, top_quantile=0.25, min_good=4, alpha=0.05, min_importance=0.02,
    shrink_pad=0.25, shrink_min_pad=0.02, shrink_max_keep=0.9, edge_share=0.15, expand_by=1.0,
    fix_max_importance=0.08, fix_min_trials=15, drop_min_count=3,
    log_min_ratio=20.0, log_share=0.6, log_min_decades=0.7,
)
_LEVELS = {"conservative": CONSERVATIVE, "bold": BOLD}


def resolve_level(level: Any) -> SuggestThresholds:
    if isinstance(level, SuggestThresholds):
        return level
    if isinstance(level, str) and level in _LEVELS:
        return _LEVELS[level]
    raise SchemaError(f"level must be 'conservative', 'bold' or a SuggestThresholds, got {level!r}")
