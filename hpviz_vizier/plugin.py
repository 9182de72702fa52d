"""Entry point of the hpviz OSS Vizier adapter (group ``hpviz.adapters``).

Loading this module only checks that google-vizier is installed. Reading
studies needs only google-vizier; running them (the demo) needs its jax extra.
"""

from __future__ import annotations

import importlib.util

from hpviz.plugins import cli_hooks, constraints_hook, converter_hook, framework_hooks, info_hook

FRAMEWORK = "vizier"
INSTALL = "`pip install google-vizier \"jax<0.6\" \"jaxlib<0.6\"`, or reinstall hpviz with the [vizier] extra"

if importlib.util.find_spec("vizier") is None:
    raise ImportError(f"OSS Vizier is not installed: {INSTALL}")

hpviz_adapter_info = info_hook(
    FRAMEWORK, "google-vizier", live="cb = hpviz_vizier.HpvizCallback(...); cb.update(study) in your suggest/complete loop")
# A ``vizier.service.clients.Study``, or the path of a Vizier SQLite datastore (``study=`` picks one).
hpviz_to_experiment = converter_hook("hpviz_vizier.convert:convert")
# Vizier has no log-scaled stepped parameter (a stepped one is DISCRETE).
hpviz_export_constraints = constraints_hook(FRAMEWORK, {"log_with_step": False})
# ``--vizier-db PATH [--vizier-study NAME]`` as an Experiment.
hpviz_add_cli_arguments, hpviz_cli_source = cli_hooks(
    ("--vizier-db", "PATH", "Vizier SQLite datastore (read-only)"),
    ("--vizier-study", "NAME", "study in --vizier-db: resource name, display name or id (needed when it holds several)"),
    read="hpviz_vizier.convert:datastore_to_experiment", keyword="study",
)
# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK, package="hpviz_vizier", export="to_vizier")
