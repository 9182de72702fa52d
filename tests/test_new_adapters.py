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
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install 'hpviz[ax]'" in lines["ax"]
    assert "unavailable" in lines["vizier"] and "pip install 'hpviz[vizier]'" in lines["vizier"]
    assert lines["sklearn"].split()[1] == "ok"
    assert lines["smac"].split()[1] == "ok"  # output folders are read without SMAC
    assert "pip install 'hpviz[smac]'" in lines["SMAC-INFO"]
