"""Entry point of the hpviz hyperopt adapter (group ``hpviz.adapters``).

Loading this module only checks that hyperopt is installed; hyperopt itself is
imported when something is actually converted or exported.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import hpviz
from hpviz.plugins import converter_hook, info_hook

if importlib.util.find_spec("hyperopt") is None:
    raise ImportError("hyperopt is not installed: `pip install hyperopt`, or reinstall hpviz with the [hyperopt] extra")


hpviz_adapter_info = info_hook("hyperopt", "hyperopt",
                               live="fmin(..., early_stop_fn=hpviz_hyperopt.HpvizCallback(space, ...))")
# A Hyperopt ``Trials`` (or any object with its structure); needs ``space=`` (or ``infer=True``).
hpviz_to_experiment = converter_hook("hpviz_hyperopt.convert:convert")


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

    keys = ("n_trials", "rounds", "seed", "workdir", "model")
    return run_demo(**{k: options[k] for k in keys if options.get(k) is not None})


@hpviz.hookimpl
def hpviz_space_code(space: hpviz.SearchSpace, framework: str, experiment: hpviz.Experiment | None) -> str | None:
    """Code building the refined space in the structure of the space given to ``fmin``.

    The original space is known for experiments converted in this process
    (``hpviz.experiment(trials, space=...)``); otherwise the code is a flat dict.
    """
    if framework != "hyperopt":
        return None
    from hpviz_hyperopt.structure import native_space, space_code

    return space_code(space, native_space(experiment) if experiment is not None else None)


@hpviz.hookimpl
def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
    """Hyperopt takes every hpviz space (``qloguniform`` is log-scaled on a step grid)."""
    if framework != "hyperopt":
        return None
    return {"log_with_step": True, "change_kind": True}


_ADVICE = {
    "collapsed-exploration": ("In Hyperopt: give TPE more random startup evaluations, "
                              "algo=functools.partial(tpe.suggest, n_startup_jobs=...), or restart with a new "
                              "Trials object."),
    "not-better-than-random": ("In Hyperopt: check algo= (rand.suggest is expected to look like this); for "
                               "tpe.suggest try functools.partial(tpe.suggest, n_startup_jobs=...) or a narrower "
                               "space."),
    "duplicate-configs": ("In Hyperopt: coarse hp.quniform steps and hp.choice make repeats likely; use "
                          "hp.uniform/hp.loguniform where the parameter is continuous."),
}


@hpviz.hookimpl
def hpviz_finding_advice(code: str, evidence: dict[str, Any], framework: str) -> str | None:
    """Which Hyperopt ``algo`` setting acts on the finding (Hyperopt has no pruner)."""
    if framework != "hyperopt":
        return None
    return _ADVICE.get(code)
