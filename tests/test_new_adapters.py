"""The four adapters added together (scikit-learn, SMAC3, Ax, OSS Vizier): what `hpviz adapters` says without them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_missing_frameworks_are_listed_with_their_install_command():
    code = textwrap.dedent("""
        import sys
        for name in ("ax", "vizier", "smac", "ConfigSpace"):
            sys.modules[name] = None  # as if not installed
        from hpviz.cli import main
        main(["adapters"])
        import hpviz
        infos = {i["framework"]: i for i in hpviz.plugins.get_plugin_manager().hook.hpviz_adapter_info()}
        print("SMAC-INFO", infos["smac"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert "unavailable" in lines["ax"]
    assert "pip install torch==2.13.0" in lines["ax"] and "[ax] extra" in lines["ax"]
    assert "unavailable" in lines["vizier"] and "pip install google-vizier" in lines["vizier"]
    assert lines["sklearn"].split()[1] == "ok"
    assert lines["smac"].split()[1] == "ok"  # output folders are read without SMAC
    assert "pip install smac" in lines["SMAC-INFO"]


def test_finding_advice_in_each_frameworks_terms():
    import pytest

    from hpviz.plugins import make_plugin_manager

    for module in ("smac", "ax", "vizier"):
        pytest.importorskip(module)  # make test installs them
    pm = make_plugin_manager()
    ask = pm.hook.hpviz_finding_advice
    assert "min_resources=270" in ask(code="pruner-misranks", evidence={"reliable_step": 270}, framework="sklearn")
    assert "Scenario(min_budget=3)" in ask(code="pruner-misranks", evidence={"reliable_step": 3.0}, framework="smac")
    assert "min_progression=5" in ask(code="pruner-misranks", evidence={"reliable_step": 5}, framework="ax")
    assert "automated_stopping" in ask(code="pruner-misranks", evidence={}, framework="vizier")
    assert ask(code="too-few-trials", evidence={}, framework="sklearn") is None


def test_cli_trust_option_is_accepted(tmp_path):
    """`hpviz report --trust` passes trust=True to every adapter; these read data only and accept it."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    import hpviz

    X = [[i / 10.0] for i in range(20)]
    y = [i % 2 for i in range(20)]
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    path = tmp_path / "cv_results.csv"
    pd.DataFrame(search.cv_results_).to_csv(path)
    assert len(hpviz.experiment(path, trust=True).trials) == 2
