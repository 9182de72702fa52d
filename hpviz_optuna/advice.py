"""Optuna's own terms for hpviz findings (the ``hpviz_finding_advice`` hook).

The core's finding messages are framework-neutral ("start pruning later",
"more random startup trials"); this module says which Optuna setting does
that, from the finding's stable code and numeric evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["advice"]


def _n(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def _collapsed(evidence: Mapping[str, Any]) -> str:
    return ("In Optuna: give the sampler more random startup trials (TPESampler(n_startup_trials=...)), a larger "
            "CmaEsSampler(sigma0=...), or restart with a new study; if the objective is still improving there, "
            "this is normal exploitation.")


def _duplicates(evidence: Mapping[str, Any]) -> str:
    size = evidence.get("n_distinct_possible")
    grid = ""
    if isinstance(size, (int, float)) and math.isfinite(size) and size > 0:
        grid = (f"The space has only {_n(size)} distinct configurations: search it exhaustively with "
                f"optuna.samplers.GridSampler(search_space) or stop at {_n(size)} trials. ")
    return (f"{grid}In Optuna: skip configurations already evaluated by checking study.trials (or "
            "study.get_trials(states=...)) before evaluating, and prefer suggest_float/suggest_int ranges over "
            "coarse steps.")


def _pruner(evidence: Mapping[str, Any]) -> str:
    reliable = evidence.get("reliable_step")
    if isinstance(reliable, (int, float)) and math.isfinite(reliable):
        k = _n(reliable)
        return (f"In Optuna: start pruning later, MedianPruner(n_warmup_steps={k}) / "
                f"PercentilePruner(..., n_warmup_steps={k}), or SuccessiveHalvingPruner(min_resource={k}) / "
                f"HyperbandPruner(min_resource={k}); or wrap the pruner in PatientPruner(pruner, patience=...).")
    return ("In Optuna: prune much later or not at all (optuna.pruners.NopPruner()), or wrap the pruner in "
            "PatientPruner(pruner, patience=...).")


def _not_random(evidence: Mapping[str, Any]) -> str:
    return ("In Optuna: check study.sampler (RandomSampler is expected to look like this); for TPESampler try "
            "more n_startup_trials or multivariate=True, or a narrower space.")


def _no_improvement(evidence: Mapping[str, Any]) -> str:
    return ("In Optuna: stop early with a callback calling study.stop(), or start the next round in a new study "
            "with the refined space (hpviz_optuna.suggest(trial, space)).")


def _early_stopping(evidence: Mapping[str, Any]) -> str | None:
    sentinel = evidence.get("sentinel_step")
    if not isinstance(sentinel, (int, float)) or not math.isfinite(sentinel):
        return None
    k = _n(max(sentinel, 0))
    text = f"In Optuna: optuna.pruners.MedianPruner(n_warmup_steps={k}) (the earliest prune is at step {k})"
    eta = evidence.get("reduction_factor")
    if isinstance(eta, (int, float)) and math.isfinite(eta):
        text += (f", or SuccessiveHalvingPruner(min_resource={_n(max(sentinel, 1))}, reduction_factor={_n(eta)}) "
                 f"(HyperbandPruner takes the same min_resource and reduction_factor)")
    return text + "."


_ADVICE = {
    "early-stopping": _early_stopping,
    "collapsed-exploration": _collapsed,
    "duplicate-configs": _duplicates,
    "pruner-misranks": _pruner,
    "not-better-than-random": _not_random,
    "no-improvement": _no_improvement,
}


def advice(code: str, evidence: Mapping[str, Any]) -> str | None:
    """Optuna wording for finding ``code`` given its ``evidence``; ``None`` when Optuna adds nothing."""
    make = _ADVICE.get(code)
    return make(evidence or {}) if make is not None else None
