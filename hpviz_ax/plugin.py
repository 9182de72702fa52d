"""Entry point of the hpviz Ax adapter (group ``hpviz.adapters``).

Loading this module only checks that Ax is installed; Ax itself (and torch)
is imported when something is converted or exported.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import hpviz
from hpviz.plugins import framework_hooks

FRAMEWORK = "ax"
#: Ax needs torch: a CPU build first, or pip pulls a multi-GB CUDA one.
INSTALL = ("`pip install torch==2.13.0` (a CPU build: install torch first, or ax-platform pulls a multi-GB CUDA "
           "build) then `pip install ax-platform`, or reinstall hpviz with the [ax] extra")

if importlib.util.find_spec("ax") is None:
    raise ImportError(f"Ax is not installed: {INSTALL}")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    # No "demo": True: the CLI's default demo is the first such id alphabetically, and "ax" must not
    # become it (torch). `hpviz demo --framework ax` runs it all the same.
    return {"name": FRAMEWORK, "framework": FRAMEWORK, "version": importlib.metadata.version("ax-platform"),
            "live": "cb = hpviz_ax.HpvizCallback(...); cb.update(client) in your trial loop"}


@hpviz.hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> hpviz.Experiment | None:
    """An ``ax.api.Client``, ``ax.core.Experiment``, ``AxClient`` or a Client JSON snapshot path."""
    from hpviz_ax.convert import convert

    return convert(obj, options)


@hpviz.hookimpl
def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
    """Ax ranges cannot be log-scaled and stepped at once."""
    return {"log_with_step": False} if framework == FRAMEWORK else None


# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK,
    export="hpviz_ax.space:to_ax",
    code="hpviz_ax.space:space_code",
    demo="hpviz_ax.demo:run_demo",
    advice="hpviz_ax.advice:advice",
)
