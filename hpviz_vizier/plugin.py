"""Entry point of the hpviz OSS Vizier adapter (group ``hpviz.adapters``).

Loading this module only checks that google-vizier is installed. Reading
studies needs only google-vizier; running them (the demo) needs its jax extra.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

import hpviz
from hpviz.plugins import framework_hooks

FRAMEWORK = "vizier"
INSTALL = "`pip install google-vizier \"jax<0.6\" \"jaxlib<0.6\"`, or reinstall hpviz with the [vizier] extra"

if importlib.util.find_spec("vizier") is None:
    raise ImportError(f"OSS Vizier is not installed: {INSTALL}")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": FRAMEWORK, "framework": FRAMEWORK, "demo": True, "version": importlib.metadata.version("google-vizier"),
            "live": "cb = hpviz_vizier.HpvizCallback(...); cb.update(study) in your suggest/complete loop"}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """A ``vizier.service.clients.Study``, or the path of a Vizier SQLite datastore (``study=`` picks one)."""
    from hpviz_vizier.convert import convert

    return convert(obj, options)


@hpviz.hookimpl
def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
    """Vizier has no log-scaled stepped parameter (a stepped one is DISCRETE)."""
    return {"log_with_step": False} if framework == FRAMEWORK else None


@hpviz.hookimpl
def hpviz_add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vizier-db", metavar="PATH", help="Vizier SQLite datastore (read-only)")
    parser.add_argument("--vizier-study", metavar="NAME",
                        help="study in --vizier-db: resource name, display name or id (needed when it holds several)")


@hpviz.hookimpl
def hpviz_cli_source(args: argparse.Namespace) -> Any:
    """``--vizier-db PATH [--vizier-study NAME]`` as an Experiment."""
    path, study = getattr(args, "vizier_db", None), getattr(args, "vizier_study", None)
    if path is None:
        if study is not None:
            raise hpviz.HpvizError("--vizier-study needs --vizier-db PATH")
        return None
    from hpviz_vizier.convert import datastore_to_experiment

    return datastore_to_experiment(path, study=study)


# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK,
    export="hpviz_vizier.space:to_vizier",
    code="hpviz_vizier.space:space_code",
    demo="hpviz_vizier.demo:run_demo",
    advice="hpviz_vizier.advice:advice",
)
