"""Entry point of the hpviz optuna adapter (group ``hpviz.adapters``).

Loading this module only checks that optuna is installed; optuna itself is
imported when something is actually converted or exported.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

import hpviz
from hpviz.plugins import converter_hook, info_hook

if importlib.util.find_spec("optuna") is None:
    raise ImportError("optuna is not installed: `pip install optuna`, or reinstall hpviz with the [optuna] extra")


hpviz_adapter_info = info_hook("optuna", "optuna", live="study.optimize(..., callbacks=[hpviz_optuna.HpvizCallback(...)])")
# An ``optuna.Study``, or ``optuna_storage=URL`` (+ ``study=NAME``) from the CLI.
hpviz_to_experiment = converter_hook("hpviz_optuna.convert:convert")


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

    keys = ("n_trials", "rounds", "seed", "workdir", "model")
    return run_demo(**{k: options[k] for k in keys if options.get(k) is not None})


@hpviz.hookimpl
def hpviz_space_code(space: hpviz.SearchSpace, framework: str, experiment: hpviz.Experiment | None) -> str | None:
    """A ``suggest_params(trial)`` function, nested like the study's if/else branches."""
    if framework != "optuna":
        return None
    from hpviz_optuna.code import space_code

    return space_code(space, experiment)


@hpviz.hookimpl
def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
    """Optuna has no log-scaled distribution on a step grid (``log`` and ``step`` are exclusive).

    A parameter may change kind between rounds: the next round runs in a new study.
    """
    if framework != "optuna":
        return None
    return {"log_with_step": False, "change_kind": True}


@hpviz.hookimpl
def hpviz_finding_advice(code: str, evidence: dict[str, Any], framework: str) -> str | None:
    """Which Optuna sampler or pruner setting acts on the finding."""
    if framework != "optuna":
        return None
    from hpviz_optuna.advice import advice

    return advice(code, evidence)


@hpviz.hookimpl
def hpviz_add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--optuna-storage", metavar="URL",
                        help="Optuna storage URL, e.g. sqlite:///study.db (read-only; workers may still run)")
    parser.add_argument("--optuna-study", metavar="NAME",
                        help="study name in --optuna-storage (needed when it holds several)")


@hpviz.hookimpl
def hpviz_cli_source(args: argparse.Namespace) -> Any:
    """The study of ``--optuna-storage URL [--optuna-study NAME]`` as an Experiment."""
    storage = getattr(args, "optuna_storage", None)
    study = getattr(args, "optuna_study", None)
    if storage is None:
        if study is not None:
            raise hpviz.HpvizError("--optuna-study needs --optuna-storage URL")
        return None
    from hpviz_optuna.convert import load_study_experiment

    return load_study_experiment(storage, study, study_option="--optuna-study NAME")
