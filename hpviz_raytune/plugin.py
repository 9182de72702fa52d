"""Entry point of the hpviz ray adapter (group ``hpviz.adapters``).

Loading this module only checks that ray is installed; ray itself is
imported when something is actually converted or exported: when ``obj`` is a
Ray object (its type's module starts with ``ray``) or a directory that looks
like a Ray Tune experiment (``tuner.pkl`` or ``experiment_state-*.json``,
checked without importing Ray).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from typing import Any

import hpviz

if importlib.util.find_spec("ray") is None:
    raise ImportError("ray is not installed: `pip install \"ray[tune]\"`, or reinstall hpviz with the [ray] extra")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": "raytune", "framework": "ray", "version": importlib.metadata.version("ray"), "demo": True,
            "live": "tune.RunConfig(callbacks=[hpviz_raytune.HpvizCallback(...)])"}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """Convert a Ray Tune ``ResultGrid`` or an experiment directory; ``None`` for anything else."""
    from hpviz_raytune.convert import is_experiment_dir

    if isinstance(obj, (str, os.PathLike)):  # a path relative to the working directory works too
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


_IDS = ("ray", "raytune", "tune", "ray.tune")


def _ours(framework: str | None) -> bool:
    return isinstance(framework, str) and framework.lower() in _IDS


@hpviz.hookimpl
def hpviz_space_code(space: hpviz.SearchSpace, framework: str, experiment: Any) -> str | None:
    """``param_space = {...}`` code with ``from ray import tune`` for a refined space."""
    if not _ours(framework):
        return None
    from hpviz_raytune.advice import space_code

    return space_code(space)


@hpviz.hookimpl
def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
    """Ray Tune takes log-scaled parameters on a step grid and a kind change between rounds."""
    if not _ours(framework):
        return None
    from hpviz_raytune.advice import EXPORT_CONSTRAINTS

    return dict(EXPORT_CONSTRAINTS)


@hpviz.hookimpl
def hpviz_finding_advice(code: str, evidence: dict[str, Any], framework: str) -> str | None:
    """The Ray Tune setting to change for a finding (ASHA grace_period, searcher start-up trials, ...)."""
    if not _ours(framework):
        return None
    from hpviz_raytune.advice import finding_advice

    return finding_advice(code, evidence or {})


@hpviz.hookimpl
def hpviz_add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """``--ray-experiment DIR`` with ``--ray-metric``, ``--ray-mode`` and ``--trust``."""
    parser.add_argument("--ray-experiment", metavar="DIR",
                        help="Ray Tune experiment folder (or s3://... URI, with --trust), read with the options below")
    parser.add_argument("--ray-metric", metavar="NAME", action="append",
                        help="Ray Tune: the metric to optimize (repeat for several objectives)")
    parser.add_argument("--ray-mode", metavar="min|max", action="append", choices=["min", "max"],
                        help="Ray Tune: min or max, one per --ray-metric")
    # --trust is the core's flag: with it, tuner.pkl and the searcher state give the exact param_space,
    # metric/mode and scheduler settings.


@hpviz.hookimpl
def hpviz_cli_source(args: argparse.Namespace) -> Any:
    """The Experiment of ``--ray-experiment DIR`` (with ``--ray-metric``/``--ray-mode``/``--trust``); else ``None``."""
    folder = getattr(args, "ray_experiment", None)
    metric, mode = getattr(args, "ray_metric", None), getattr(args, "ray_mode", None)
    if folder is None and (metric or mode) and getattr(args, "source", None):
        folder, args.source = args.source, None  # `hpviz report DIR --ray-metric M`: the options qualify SOURCE
    if folder is None:
        if metric or mode:
            raise hpviz.HpvizError("--ray-metric/--ray-mode need --ray-experiment DIR (the Ray Tune experiment "
                                   "folder), e.g. hpviz report --ray-experiment ray_results/exp --ray-metric loss "
                                   "--ray-mode min")
        return None
    from hpviz_raytune.convert import experiment_from_dir

    options: dict[str, Any] = {"trust": bool(getattr(args, "trust", False))}
    if metric:
        options["metric"] = metric[0] if len(metric) == 1 else metric
    if mode:
        options["mode"] = mode[0] if len(mode) == 1 else mode
    return experiment_from_dir(folder, options)


@hpviz.hookimpl
def hpviz_export_space(space: hpviz.SearchSpace, framework: str) -> Any:
    """``framework="ray"`` (or ``"raytune"``/``"tune"``): the space as a Tune ``param_space`` dict."""
    if not _ours(framework):
        return None
    from hpviz_raytune.space import to_tune

    return to_tune(space)


@hpviz.hookimpl
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> hpviz.Experiment | None:
    """``framework="ray"``: run the bundled MLP-on-digits demo with Ray Tune and ASHA."""
    if framework.lower() not in ("ray", "raytune", "tune"):
        return None
    from hpviz_raytune.demo import run_demo

    return run_demo(**{k: v for k, v in options.items() if k in ("n_trials", "rounds", "seed", "workdir", "model")})
