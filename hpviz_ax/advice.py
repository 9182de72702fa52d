"""Ax's own terms for hpviz findings (the ``hpviz_finding_advice`` hook)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["advice"]


def advice(code: str, evidence: Mapping[str, Any]) -> str | None:
    """Ax wording for finding ``code``; ``None`` when Ax adds nothing."""
    if code == "pruner-misranks":
        k = evidence.get("reliable_step")
        start = f"min_progression={k:g}" if isinstance(k, (int, float)) and math.isfinite(k) else "a larger min_progression"
        return (f"In Ax: early stopping judged trials too early; give the early-stopping strategy {start} "
                "(PercentileEarlyStoppingStrategy) in client.set_early_stopping_strategy(...).")
    if code in ("not-better-than-random", "collapsed-exploration"):
        return ("In Ax: check attrs['generation_method'] — Sobol trials are the random initialization; "
                "configure_generation_strategy(initialization_budget=...) sets how many come before BoTorch.")
    return None
