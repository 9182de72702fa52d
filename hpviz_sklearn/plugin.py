"""Entry point of the hpviz scikit-learn adapter (group ``hpviz.adapters``).

scikit-learn is a dependency of hpviz itself, so this adapter is always
available; nothing of scikit-learn is imported until something is converted.
"""

from __future__ import annotations

from typing import Any

import hpviz
from hpviz.plugins import framework_hooks

FRAMEWORK = "sklearn"


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": FRAMEWORK, "framework": FRAMEWORK, "demo": True, "version": importlib.metadata.version("scikit-learn")}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """A fitted ``*SearchCV``, or a ``cv_results_`` table saved as CSV."""
    from hpviz_sklearn.convert import convert

    return convert(obj, options)


hpviz_export_space, hpviz_space_code, hpviz_run_demo = framework_hooks(
    FRAMEWORK, export="hpviz_sklearn.space:to_sklearn", code="hpviz_sklearn.space:space_code", demo="hpviz_sklearn.demo:run_demo")
