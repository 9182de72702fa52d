"""Entry point of the hpviz hyperopt adapter (group ``hpviz.adapters``).

Loading this module only checks that hyperopt is installed; hyperopt itself is
imported when something is actually converted or exported.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import hpviz

if importlib.util.find_spec("hyperopt") is None:
    raise ImportError("hyperopt is not installed: pip install 'hpviz[hyperopt]'")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": "hyperopt", "framework": "hyperopt", "version": importlib.metadata.version("hyperopt")}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """A Hyperopt ``Trials`` (or any object with its structure); needs ``space=`` (or ``infer=True``)."""
    from hpviz_hyperopt.convert import convert

    return convert(obj, options)


@hpviz.hookimpl
def hpviz_export_space(space: hpviz.SearchSpace, framework: str) -> Any:
    """``{name: hp expression}`` for ``framework == "hyperopt"``."""
    if framework != "hyperopt":
        return None
    from hpviz_hyperopt.space import to_hyperopt

    return to_hyperopt(space)


@hpviz.hookimpl
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> hpviz.Experiment | None:
    if framework != "hyperopt":
        return None
    from hpviz_hyperopt.demo import run_demo

    keys = ("n_trials", "rounds", "seed", "workdir")
    return run_demo(**{k: options[k] for k in keys if options.get(k) is not None})
