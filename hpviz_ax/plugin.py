"""Entry point of the hpviz Ax adapter (group ``hpviz.adapters``).

Loading this module only checks that Ax is installed; Ax itself (and torch)
is imported when something is converted or exported.
"""

from __future__ import annotations

import importlib.util

from hpviz.plugins import constraints_hook, converter_hook, framework_hooks, info_hook

FRAMEWORK = "ax"
#: Ax needs torch: a CPU build first, or pip pulls a multi-GB CUDA one.
INSTALL = ("`pip install torch==2.13.0` (a CPU build: install torch first, or ax-platform pulls a multi-GB CUDA "
           "build) then `pip install ax-platform`, or reinstall hpviz with the [ax] extra")

if importlib.util.find_spec("ax") is None:
    raise ImportError(f"Ax is not installed: {INSTALL}")

# demo=False: the CLI's default demo is the first such id alphabetically, and "ax" must not
# become it (torch). `hpviz demo --framework ax` runs it all the same.
hpviz_adapter_info = info_hook(FRAMEWORK, "ax-platform", demo=False,
                               live="cb = hpviz_ax.HpvizCallback(...); cb.update(client) in your trial loop")
# An ``ax.api.Client``, ``ax.core.Experiment``, ``AxClient`` or a Client JSON snapshot path.
hpviz_to_experiment = converter_hook("hpviz_ax.convert:convert")
# Ax ranges cannot be log-scaled and stepped at once.
hpviz_export_constraints = constraints_hook(FRAMEWORK, {"log_with_step": False})
# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK, package="hpviz_ax", export="to_ax")
