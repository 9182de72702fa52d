"""SMAC3's own terms for hpviz findings (the ``hpviz_finding_advice`` hook)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["advice"]


def advice(code: str, evidence: Mapping[str, Any]) -> str | None:
    """SMAC wording for finding ``code``; ``None`` when SMAC adds nothing."""
    if code == "pruner-misranks":
        k = evidence.get("reliable_step")
        start = (f"Scenario(min_budget={int(k) if float(k).is_integer() else k})"
                 if isinstance(k, (int, float)) and math.isfinite(k) else "a larger Scenario(min_budget=...)")
        return (f"In SMAC: low budgets misrank configurations; use {start}, or a smaller eta in Hyperband/"
                "SuccessiveHalving (fewer configurations dropped per stage).")
    if code == "collapsed-exploration":
        return ("In SMAC: raise the random design's probability (HyperparameterOptimizationFacade."
                "get_random_design(scenario, probability=0.2)) or the initial design's n_configs.")
    if code == "high-failure-rate":
        return ("In SMAC: failed runs cost crash_cost; read the errors in attrs['error'] (SMAC's "
                "additional_info) and keep crash_cost finite (the default inf aborts optimize()).")
    return None
