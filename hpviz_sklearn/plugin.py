"""Entry point of the hpviz scikit-learn adapter (group ``hpviz.adapters``).

scikit-learn is a dependency of hpviz itself, so this adapter is always
available; nothing of scikit-learn is imported until something is converted.
"""

from __future__ import annotations

import argparse
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


@hpviz.hookimpl
def hpviz_add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sklearn-results", metavar="CSV",
                        help="cv_results_ saved with pd.DataFrame(search.cv_results_).to_csv(CSV)")
    parser.add_argument("--sklearn-metric", metavar="SCORER", help="primary scorer (with --sklearn-results)")


@hpviz.hookimpl
def hpviz_cli_source(args: argparse.Namespace) -> Any:
    """``--sklearn-results CSV [--sklearn-metric SCORER]`` as an Experiment."""
    path, metric = getattr(args, "sklearn_results", None), getattr(args, "sklearn_metric", None)
    if path is None:
        if metric is not None:
            raise hpviz.HpvizError("--sklearn-metric needs --sklearn-results CSV")
        return None
    return hpviz.experiment(path, metric=metric)


# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK,
    export="hpviz_sklearn.space:to_sklearn",
    code="hpviz_sklearn.space:space_code",
    demo="hpviz_sklearn.demo:run_demo",
    advice="hpviz_sklearn.advice:advice",
)
