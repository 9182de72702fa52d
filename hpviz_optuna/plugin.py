"""Entry point of the hpviz optuna adapter (group ``hpviz.adapters``).

Loading this module only checks that optuna is installed; optuna itself is
imported when something is actually converted or exported.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import hpviz

if importlib.util.find_spec("optuna") is None:
    raise ImportError("optuna is not installed: pip install 'hpviz[optuna]'")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": "optuna", "framework": "optuna", "version": importlib.metadata.version("optuna")}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """An ``optuna.Study``, or ``optuna_storage=URL`` (+ ``study=NAME``) from the CLI."""
    from hpviz_optuna.convert import convert

    return convert(obj, options)


@hpviz.hookimpl
def hpviz_export_space(space: hpviz.SearchSpace, framework: str) -> Any:
    """``{name: optuna distribution}`` for ``framework == "optuna"``.

    Lenient (``drop_log_step=True``): a log-scaled stepped parameter is exported
    log-scaled without its step, since Optuna has no such distribution.
    """
    if framework != "optuna":
        return None
    from hpviz_optuna.space import to_optuna

    return to_optuna(space, drop_log_step=True)


@hpviz.hookimpl
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> hpviz.Experiment | None:
    if framework != "optuna":
        return None
    from hpviz_optuna.demo import run_demo

    keys = ("n_trials", "rounds", "seed", "workdir")
    return run_demo(**{k: options[k] for k in keys if options.get(k) is not None})
