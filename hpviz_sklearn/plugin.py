"""Entry point of the hpviz scikit-learn adapter (group ``hpviz.adapters``).

scikit-learn is a dependency of hpviz itself, so this adapter is always
available; nothing of scikit-learn is imported until something is converted.
"""

from __future__ import annotations

from typing import Any

import hpviz

FRAMEWORK = "sklearn"


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": FRAMEWORK, "framework": FRAMEWORK, "version": importlib.metadata.version("scikit-learn")}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """A fitted ``*SearchCV``, or a ``cv_results_`` table saved as CSV."""
    from hpviz_sklearn.convert import convert

    return convert(obj, options)


@hpviz.hookimpl
def hpviz_export_space(space: hpviz.SearchSpace, framework: str) -> Any:
    """``param_distributions`` for ``RandomizedSearchCV`` when ``framework == "sklearn"``."""
    if framework != FRAMEWORK:
        return None
    from hpviz_sklearn.space import to_sklearn

    return to_sklearn(space)


@hpviz.hookimpl
def hpviz_space_code(space: hpviz.SearchSpace, framework: str, experiment: hpviz.Experiment | None) -> str | None:
    if framework != FRAMEWORK:
        return None
    from hpviz_sklearn.space import space_code

    return space_code(space, experiment)


@hpviz.hookimpl
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> hpviz.Experiment | None:
    if framework != FRAMEWORK:
        return None
    from hpviz_sklearn.demo import run_demo

    keys = ("n_trials", "rounds", "seed", "workdir")
    return run_demo(**{k: options[k] for k in keys if options.get(k) is not None})
