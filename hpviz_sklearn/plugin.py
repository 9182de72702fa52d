"""Entry point of the hpviz scikit-learn adapter (group ``hpviz.adapters``).

scikit-learn is a dependency of hpviz itself, so this adapter is always
available; nothing of scikit-learn is imported until something is converted.
"""

from __future__ import annotations

from hpviz.plugins import cli_hooks, converter_hook, framework_hooks, info_hook

FRAMEWORK = "sklearn"

hpviz_adapter_info = info_hook(FRAMEWORK, "scikit-learn")
# A fitted ``*SearchCV``, or a ``cv_results_`` table saved as CSV.
hpviz_to_experiment = converter_hook("hpviz_sklearn.convert:convert")
# ``--sklearn-results CSV [--sklearn-metric SCORER]`` as an Experiment.
hpviz_add_cli_arguments, hpviz_cli_source = cli_hooks(
    ("--sklearn-results", "CSV", "cv_results_ saved with pd.DataFrame(search.cv_results_).to_csv(CSV)"),
    ("--sklearn-metric", "SCORER", "primary scorer (with --sklearn-results)"),
    read="hpviz:experiment", keyword="metric",
)
# Space export, native code for a refined space, the demo and finding advice: for this framework only.
hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice = framework_hooks(
    FRAMEWORK, package="hpviz_sklearn", export="to_sklearn")
