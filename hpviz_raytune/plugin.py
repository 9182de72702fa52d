"""Entry point of the hpviz ray adapter (group ``hpviz.adapters``).

Loading this module only checks that ray is installed; ray itself is
imported when something is actually converted or exported: when ``obj`` is a
Ray object (its type's module starts with ``ray``) or a directory that looks
like a Ray Tune experiment (``tuner.pkl`` or ``experiment_state-*.json``,
checked without importing Ray).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import hpviz

if importlib.util.find_spec("ray") is None:
    raise ImportError("ray is not installed: pip install 'hpviz[ray]'")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": "raytune", "framework": "ray", "version": importlib.metadata.version("ray")}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """Convert a Ray Tune ``ResultGrid`` or an experiment directory; ``None`` for anything else."""
    from hpviz_raytune.convert import is_experiment_dir

    if isinstance(obj, (str, os.PathLike)):
        if not is_experiment_dir(obj):
            return None
        from hpviz_raytune.convert import experiment_from_dir

        return experiment_from_dir(obj, options)
    if not type(obj).__module__.startswith("ray"):
        return None
    from ray.tune import ExperimentAnalysis, ResultGrid

    from hpviz_raytune.convert import experiment_from_dir, experiment_from_result_grid

    if isinstance(obj, ResultGrid):
        return experiment_from_result_grid(obj, options)
    if isinstance(obj, ExperimentAnalysis):
        return experiment_from_dir(obj.experiment_path, options)
    return None


@hpviz.hookimpl
def hpviz_export_space(space: hpviz.SearchSpace, framework: str) -> Any:
    """``framework="ray"`` (or ``"raytune"``/``"tune"``): the space as a Tune ``param_space`` dict."""
    if framework.lower() not in ("ray", "raytune", "tune", "ray.tune"):
        return None
    from hpviz_raytune.space import to_tune

    return to_tune(space)


@hpviz.hookimpl
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> hpviz.Experiment | None:
    """``framework="ray"``: run the bundled MLP-on-digits demo with Ray Tune and ASHA."""
    if framework.lower() not in ("ray", "raytune", "tune"):
        return None
    from hpviz_raytune.demo import run_demo

    return run_demo(**{k: v for k, v in options.items() if k in ("n_trials", "rounds", "seed", "workdir")})
