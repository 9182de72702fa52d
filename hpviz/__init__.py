"""hpviz: visual analytics for hyperparameter optimization with Optuna, Ray Tune and Hyperopt.

The core (this package) is framework-neutral and imports no framework. The
analysis and report functions are imported lazily on first access so that
``import hpviz`` stays light (no scikit-learn or Matplotlib until needed).
"""

from __future__ import annotations

import importlib
from typing import Any

from hpviz.convert import experiment
from hpviz.errors import (
    HpvizError,
    HpvizWarning,
    InferredSpaceWarning,
    InsufficientDataError,
    InsufficientDataWarning,
    SchemaError,
    UnsupportedObjectError,
)
from hpviz.io import load
from hpviz.plugins import hookimpl
from hpviz.reservoir import ReservoirLog
from hpviz.schema import (
    Categorical,
    Change,
    Experiment,
    Flag,
    Float,
    Int,
    Round,
    SearchSpace,
    Trial,
    TrialState,
)

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY = {
    "diagnose": "hpviz.analysis.diagnose",
    "Diagnosis": "hpviz.analysis.diagnose",
    "Finding": "hpviz.analysis.diagnose",
    "importance": "hpviz.analysis.importance",
    "Importance": "hpviz.analysis.importance",
    "suggest_space": "hpviz.analysis.suggest",
    "SpaceSuggestion": "hpviz.analysis.suggest",
    "compare_rounds": "hpviz.analysis.rounds",
    "RoundComparison": "hpviz.analysis.rounds",
    "pareto_front": "hpviz.analysis.select",
    "top_k": "hpviz.analysis.select",
    "expected_best": "hpviz.analysis.budget",
    "compare": "hpviz.analysis.budget",
    "from_dataframe": "hpviz._table",
    "report": "hpviz.reporting",
    "replay": "hpviz.analysis.replay",
    "Replay": "hpviz.analysis.replay",
    "budget_importance": "hpviz.analysis.rungs",
    "BudgetImportance": "hpviz.analysis.rungs",
    "local_importance": "hpviz.analysis.local",
    "LocalImportance": "hpviz.analysis.local",
    "coverage": "hpviz.analysis.coverage",
    "Coverage": "hpviz.analysis.coverage",
    "lineage": "hpviz.analysis.lineage",
    "Lineage": "hpviz.analysis.lineage",
    "compare_models": "hpviz.analysis.models",
    "ModelComparison": "hpviz.analysis.models",
}
_SUBMODULES = {"plot", "analysis", "testing", "io", "plugins", "cli", "reporting"}

__all__ = [
    "__version__",
    "experiment",
    "load",
    "hookimpl",
    "HpvizError",
    "InsufficientDataError",
    "SchemaError",
    "UnsupportedObjectError",
    "HpvizWarning",
    "InsufficientDataWarning",
    "InferredSpaceWarning",
    "ReservoirLog",
    "Float",
    "Int",
    "Categorical",
    "SearchSpace",
    "TrialState",
    "Trial",
    "Experiment",
    "Change",
    "Round",
    "Flag",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"hpviz.{name}")
    raise AttributeError(f"module 'hpviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
