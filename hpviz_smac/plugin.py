"""Entry point of the hpviz SMAC3 adapter (group ``hpviz.adapters``).

Always loads: SMAC output folders are plain JSON and are read without SMAC.
Converting live facades/RunHistory objects and exporting spaces need SMAC
(``pip install smac`` or the ``[smac]`` extra), which is imported only when used.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

import hpviz
from hpviz.plugins import framework_hooks

FRAMEWORK = "smac"
INSTALL = "`pip install smac`, or reinstall hpviz with the [smac] extra"


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    if importlib.util.find_spec("smac") is None:
        return {"name": FRAMEWORK, "framework": FRAMEWORK, "version": None,
                "note": f"SMAC is not installed: output folders are read, live objects need: {INSTALL}"}
    return {"name": FRAMEWORK, "framework": FRAMEWORK, "demo": True, "version": importlib.metadata.version("smac"),
            "live": "Facade(scenario, train, callbacks=[hpviz_smac.HpvizCallback(...)])"}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """A SMAC facade or ``RunHistory``, or a SMAC output folder (plain JSON; no SMAC needed)."""
    from hpviz_smac.convert import convert

    return convert(obj, options)


def _need_smac() -> None:
    if importlib.util.find_spec("smac") is None:
        raise hpviz.HpvizError(f"the SMAC demo needs SMAC: {INSTALL}")


@hpviz.hookimpl
def hpviz_add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--smac-run", metavar="DIR", help="SMAC output folder (one run at or below it)")
    parser.add_argument("--smac-direction", choices=["min", "max"],
                        help="'max' when the cost is a negated metric (with --smac-run)")


@hpviz.hookimpl
def hpviz_cli_source(args: argparse.Namespace) -> Any:
    """``--smac-run DIR [--smac-direction max]`` as an Experiment."""
    path, direction = getattr(args, "smac_run", None), getattr(args, "smac_direction", None)
    if path is None:
        if direction is not None:
            raise hpviz.HpvizError("--smac-direction needs --smac-run DIR")
        return None
    from hpviz_smac.convert import folder_to_experiment

    return folder_to_experiment(path, direction=direction)


# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK,
    export="hpviz_smac.space:to_configspace",
    code="hpviz_smac.space:space_code",
    demo="hpviz_smac.demo:run_demo",
    advice="hpviz_smac.advice:advice",
    before_demo=_need_smac,
)
