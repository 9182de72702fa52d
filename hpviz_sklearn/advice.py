"""scikit-learn's own terms for hpviz findings (the ``hpviz_finding_advice`` hook)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["advice"]


def _n(x: Any) -> str | None:
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def advice(code: str, evidence: Mapping[str, Any]) -> str | None:
    """scikit-learn wording for finding ``code``; ``None`` when scikit-learn adds nothing."""
    if code == "pruner-misranks":
        k = _n(evidence.get("reliable_step"))
        start = f"min_resources={k}" if k else "a larger min_resources"
        return (f"In scikit-learn: successive halving eliminated candidates too early; give HalvingRandomSearchCV/"
                f"HalvingGridSearchCV {start}, or a smaller factor (fewer candidates dropped per iteration).")
    if code == "duplicate-configs":
        return ("In scikit-learn: RandomizedSearchCV draws from lists with replacement; use distributions "
                "(scipy.stats.loguniform, randint) or a GridSearchCV over the few distinct values.")
    if code == "no-improvement":
        return "In scikit-learn: lower n_iter, or search the refined space (hpviz_sklearn.to_sklearn) in a new search."
    return None
