"""Packaging: ``python -m hpviz``, the licence metadata and the constraints file."""

import subprocess
import sys
from pathlib import Path

import hpviz

ROOT = Path(__file__).resolve().parents[1]


def test_python_dash_m_hpviz_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "hpviz", "--version"], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == f"hpviz {hpviz.__version__}"


def _pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text()


def test_license_is_an_spdx_string_with_its_file():
    # a table (license = {text = ...}) makes every setuptools install print deprecation warnings
    assert '\nlicense = "MIT"\n' in _pyproject() and '\nlicense-files = ["LICENSE"]\n' in _pyproject()
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_constraints_pin_every_dependency_make_test_installs():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions, got {line!r}"
            pins[name.lower().replace("_", "-")] = version
    for name in ("numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "pluggy", "optuna", "ray", "hyperopt",
                 "pytest", "ruff"):
        assert f'"{name}' in _pyproject() and name in pins, f"{name} is not pinned in constraints.txt"
    assert "-c $(CONSTRAINTS)" in (ROOT / "Makefile").read_text()
