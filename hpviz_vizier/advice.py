"""OSS Vizier's own terms for hpviz findings (the ``hpviz_finding_advice`` hook)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["advice"]


def advice(code: str, evidence: Mapping[str, Any]) -> str | None:
    """Vizier wording for finding ``code``; ``None`` when Vizier adds nothing."""
    if code == "pruner-misranks":
        return ("In Vizier: automated stopping judged trials too early; stop later (trial.check_early_stopping() "
                "only after more measurements) or use a less aggressive StudyConfig.automated_stopping_config.")
    if code == "not-better-than-random":
        return ("In Vizier: check study_config.algorithm (RANDOM_SEARCH is expected to look like this; "
                "'DEFAULT' is the GP bandit).")
    return None
