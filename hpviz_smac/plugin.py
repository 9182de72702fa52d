"""Entry point of the hpviz SMAC3 adapter (group ``hpviz.adapters``).

Always loads: SMAC output folders are plain JSON and are read without SMAC.
Converting live facades/RunHistory objects and exporting spaces need SMAC
(``pip install 'hpviz[smac]'``), which is imported only when used.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import hpviz

FRAMEWORK = "smac"
INSTALL = "pip install 'hpviz[smac]'"


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    if importlib.util.find_spec("smac") is None:
        return {"name": FRAMEWORK, "framework": FRAMEWORK, "version": None,
                "note": f"SMAC is not installed: output folders are read, live objects need: {INSTALL}"}
    return {"name": FRAMEWORK, "framework": FRAMEWORK, "version": importlib.metadata.version("smac")}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """A SMAC facade or ``RunHistory``, or a SMAC output folder (plain JSON; no SMAC needed)."""
    from hpviz_smac.convert import convert

    return convert(obj, options)


@hpviz.hookimpl
def hpviz_export_space(space: hpviz.SearchSpace, framework: str) -> Any:
    """A ConfigSpace ``ConfigurationSpace`` for ``framework == "smac"``."""
    if framework != FRAMEWORK:
        return None
    from hpviz_smac.space import to_configspace

    return to_configspace(space)


@hpviz.hookimpl
def hpviz_space_code(space: hpviz.SearchSpace, framework: str, experiment: hpviz.Experiment | None) -> str | None:
    if framework != FRAMEWORK:
        return None
    from hpviz_smac.space import space_code

    return space_code(space, experiment)


@hpviz.hookimpl
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> hpviz.Experiment | None:
    if framework != FRAMEWORK:
        return None
    if importlib.util.find_spec("smac") is None:
        raise hpviz.HpvizError(f"the SMAC demo needs SMAC: {INSTALL}")
    from hpviz_smac.demo import run_demo

    keys = ("n_trials", "rounds", "seed", "workdir")
    return run_demo(**{k: options[k] for k in keys if options.get(k) is not None})
