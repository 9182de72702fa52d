"""Finding severities and their order: one definition for the diagnosis, its table and the views."""

from __future__ import annotations

__all__ = ["SEVERITIES", "SEVERITY_COLORS", "severity_rank"]

#: Severities, most serious first.
SEVERITIES = ("problem", "warning", "info")
#: Badge colours (Okabe-Ito, colour-blind safe), for the views, the report and the rich displays.
SEVERITY_COLORS = {"problem": "#D55E00", "warning": "#E69F00", "info": "#0072B2"}
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def severity_rank(severity: str) -> int:
    """0 for the most serious; unknown severities sort last."""
    return _RANK.get(str(severity), len(SEVERITIES))
