"""Entry point of the hpviz OSS Vizier adapter (group ``hpviz.adapters``).

Loading this module only checks that google-vizier is installed. Reading
studies needs only google-vizier; running them (the demo) needs its jax extra.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import hpviz

FRAMEWORK = "vizier"
INSTALL = "pip install 'hpviz[vizier]'"

if importlib.util.find_spec("vizier") is None:
    raise ImportError(f"OSS Vizier is not installed: {INSTALL}")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": FRAMEWORK, "framework": FRAMEWORK, "version": importlib.metadata.version("google-vizier")}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """A ``vizier.service.clients.Study``, or the path of a Vizier SQLite datastore (``study=`` picks one)."""
    from hpviz_vizier.convert import convert

    return convert(obj, options)


@hpviz.hookimpl
def hpviz_export_space(space: hpviz.SearchSpace, framework: str) -> Any:
    """A Vizier ``ProblemStatement`` (no metrics yet) for ``framework == "vizier"``."""
    if framework != FRAMEWORK:
        return None
    from hpviz_vizier.space import to_vizier

    return to_vizier(space)


@hpviz.hookimpl
def hpviz_space_code(space: hpviz.SearchSpace, framework: str, experiment: hpviz.Experiment | None) -> str | None:
    if framework != FRAMEWORK:
        return None
    from hpviz_vizier.space import space_code

    return space_code(space, experiment)


@hpviz.hookimpl
def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
    """Vizier has no log-scaled stepped parameter (a stepped one is DISCRETE)."""
    return {"log_with_step": False} if framework == FRAMEWORK else None


@hpviz.hookimpl
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> hpviz.Experiment | None:
    if framework != FRAMEWORK:
        return None
    from hpviz_vizier.demo import run_demo

    keys = ("n_trials", "rounds", "seed", "workdir")
    return run_demo(**{k: options[k] for k in keys if options.get(k) is not None})
