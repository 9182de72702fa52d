"""A conditional hpviz experiment to export: ``classifier`` in {svm, rf, knn}, each with its own parameters.

``svm_C`` and ``svm_kernel`` are active only under ``svm``, ``gamma`` only
under ``svm`` with the ``rbf`` kernel (a nested condition), ``rf_depth`` only
under ``rf``, ``knn_k`` under ``knn``; ``lr`` is always active. The trials
carry only their active parameters, as every converter produces them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import hpviz
from hpviz import Categorical, Float, Int, SearchSpace, Trial, TrialState
from hpviz._branches import conditions

__all__ = ["CONDITIONAL_SPACE", "conditional_experiment", "structure"]

CONDITIONAL_SPACE = SearchSpace({
    "classifier": Categorical(["svm", "rf", "knn"]),
    "svm_C": Float(1e-3, 1e3, log=True),
    "svm_kernel": Categorical(["rbf", "linear"]),
    "gamma": Float(1e-4, 1.0, log=True),
    "rf_depth": Int(2, 12),
    "knn_k": Int(1, 30),
    "lr": Float(0.0, 1.0),
})


def sample(rng: np.random.Generator) -> dict[str, Any]:
    params: dict[str, Any] = {"classifier": str(rng.choice(["svm", "rf", "knn"])), "lr": float(rng.uniform())}
    if params["classifier"] == "svm":
        params["svm_C"] = float(10 ** rng.uniform(-3, 3))
        params["svm_kernel"] = str(rng.choice(["rbf", "linear"]))
        if params["svm_kernel"] == "rbf":
            params["gamma"] = float(10 ** rng.uniform(-4, 0))
    elif params["classifier"] == "rf":
        params["rf_depth"] = int(rng.integers(2, 13))
    else:
        params["knn_k"] = int(rng.integers(1, 31))
    return params


def conditional_experiment(n: int = 40, seed: int = 0) -> hpviz.Experiment:
    rng = np.random.default_rng(seed)
    exp = hpviz.Experiment(CONDITIONAL_SPACE, {"acc": "max"}, name="conditional")
    for i in range(n):
        exp.add(Trial(i, sample(rng), {"acc": float(rng.uniform())}, TrialState.COMPLETE))
    return exp


def structure(exp: hpviz.Experiment, space: SearchSpace | None = None) -> list[tuple[str, str, tuple[Any, ...]]]:
    """The conditions read back from ``exp``'s trials, sorted."""
    return sorted(conditions(space or exp.space, exp))
