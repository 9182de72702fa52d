"""Entry point of the hpviz SMAC3 adapter (group ``hpviz.adapters``).

Always loads: SMAC output folders are plain JSON and are read without SMAC.
Converting live facades/RunHistory objects and exporting spaces need SMAC
(``pip install smac`` or the ``[smac]`` extra), which is imported only when used.
"""

from __future__ import annotations

import importlib.util

import hpviz
from hpviz.plugins import cli_hooks, converter_hook, framework_hooks, info_hook

FRAMEWORK = "smac"
INSTALL = "`pip install smac`, or reinstall hpviz with the [smac] extra"


def _need_smac() -> None:
    if importlib.util.find_spec("smac") is None:
        raise hpviz.HpvizError(f"the SMAC demo needs SMAC: {INSTALL}")


hpviz_adapter_info = info_hook(
    FRAMEWORK, "smac", live="Facade(scenario, train, callbacks=[hpviz_smac.HpvizCallback(...)])",
    missing=("smac", f"SMAC is not installed: output folders are read, live objects need: {INSTALL}"))
# A SMAC facade or ``RunHistory``, or a SMAC output folder (plain JSON; no SMAC needed).
hpviz_to_experiment = converter_hook("hpviz_smac.convert:convert")
# ``--smac-run DIR [--smac-direction max]`` as an Experiment.
hpviz_add_cli_arguments, hpviz_cli_source = cli_hooks(
    ("--smac-run", "DIR", "SMAC output folder (one run at or below it)"),
    ("--smac-direction", "", "'max' when the cost is a negated metric (with --smac-run)"),
    read="hpviz_smac.convert:folder_to_experiment", keyword="direction", choices=["min", "max"],
)
# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK, package="hpviz_smac", export="to_configspace",
    before_demo=_need_smac,
)
