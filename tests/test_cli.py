"""The ``hpviz`` console script."""

import subprocess
import sys
from pathlib import Path

import hpviz
from hpviz.cli import main

HPVIZ = str(Path(sys.executable).parent / "hpviz")


def test_version_from_console_script():
    out = subprocess.run([HPVIZ, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"hpviz {hpviz.__version__}"


def test_adapters_lists_the_three(capsys):
    assert main(["adapters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert {line.split()[0] for line in lines} >= {"optuna", "raytune", "hyperopt"}


def test_report_without_source_is_a_usage_error(capsys):
    assert main(["report", "-o", "x.html"]) == 2
    assert "give a SOURCE" in capsys.readouterr().err


def test_adapter_option_misuse_is_a_usage_error(capsys):
    assert main(["report", "--optuna-study", "s"]) == 2
    assert "--optuna-study needs --optuna-storage" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys):
    assert main(["report", "--no-such-option"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_report_of_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json"), "-o", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hpviz: error:") and "nope.json" in err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "report" in capsys.readouterr().out


def test_demo_refuses_an_empty_budget(tmp_path, capsys):
    for framework in ("optuna", "ray", "hyperopt"):
        assert main(["demo", "--framework", framework, "--trials", "0", "--out", str(tmp_path), "--quiet"]) == 1
        assert "n_trials >= 1" in capsys.readouterr().err


class _BrokenOptions:
    """An adapter whose options clash with another adapter's: the command line must survive it."""

    @hpviz.hookimpl
    def hpviz_adapter_info(self):
        return {"name": "broken", "framework": "broken", "version": "0"}

    @hpviz.hookimpl
    def hpviz_add_cli_arguments(self, parser):
        parser.add_argument("--output")  # clashes with the core's -o/--output


def test_a_broken_adapter_loses_only_its_own_options(tmp_path, capsys):
    from hpviz.plugins import make_plugin_manager

    pm = make_plugin_manager()
    pm.register(_BrokenOptions(), name="broken")
    exp = hpviz.Experiment({"x": hpviz.Float(0, 1)}, "loss",
                           [hpviz.Trial(i, {"x": i / 30}, {"loss": (i / 30 - 0.3) ** 2}) for i in range(30)])
    saved = exp.save(tmp_path / "exp.json")
    assert main(["report", str(saved), "-o", str(tmp_path / "r"), "--quiet"], plugin_manager=pm) == 0
    err = capsys.readouterr().err
    assert "adapter 'broken' could not add its options" in err
    assert main(["demo", "--help"], plugin_manager=pm) == 0
    assert "broken" in capsys.readouterr().out  # its framework id is still a demo choice
