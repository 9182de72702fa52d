"""Plugin system: adapters load one at a time; a missing framework is reported, not fatal."""

import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

import hpviz
from hpviz.plugins import make_plugin_manager


def _fake_distribution(root, entries):
    dist = root / "hpviz_fake_adapters-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hpviz-fake-adapters\nVersion: 0.1\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (dist / "entry_points.txt").write_text(f"[hpviz.adapters.test]\n{lines}\n")


def test_broken_adapter_is_listed_and_others_still_work(tmp_path, monkeypatch):
    (tmp_path / "good_adapter.py").write_text(textwrap.dedent("""
        import hpviz

        class Thing:
            pass

        @hpviz.hookimpl
        def hpviz_to_experiment(obj, options):
            if isinstance(obj, Thing):
                return hpviz.Experiment({"x": hpviz.Float(0, 1)}, {"loss": "min"}, name=options.get("name"))
    """))
    (tmp_path / "broken_adapter.py").write_text("import a_framework_that_is_not_installed\n")
    _fake_distribution(tmp_path, {"good": "good_adapter", "broken": "broken_adapter"})
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = make_plugin_manager(load_entry_points=False)
    pm.load_adapters(group="hpviz.adapters.test")
    status = {s.name: s for s in hpviz.plugins.status(pm)}
    assert status["good"].available and status["good"].error is None
    assert not status["broken"].available
    assert "a_framework_that_is_not_installed" in status["broken"].error

    import good_adapter

    exp = hpviz.experiment(good_adapter.Thing(), plugin_manager=pm, name="via-hook")
    assert exp.name == "via-hook"
    with pytest.raises(hpviz.UnsupportedObjectError) as info:
        hpviz.experiment(object(), plugin_manager=pm)
    message = str(info.value)
    assert "builtins.object" in message and "good" in message and "broken" in message
    assert isinstance(info.value, TypeError)


def test_installed_adapters_load():
    status = {s.name: s for s in hpviz.plugins.status(make_plugin_manager())}
    assert {"optuna", "raytune", "hyperopt"} <= set(status)
    assert all(status[name].available for name in ("optuna", "raytune", "hyperopt")), status


def test_missing_path_is_a_clear_error():
    with pytest.raises(hpviz.UnsupportedObjectError, match="does it exist"):
        hpviz.experiment("/no/such/experiment")


_BLOCK_FRAMEWORKS = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('optuna', 'ray', 'hyperopt', 'ax', 'vizier', 'smac', 'ConfigSpace'):
            raise ModuleNotFoundError(f'No module named {name!r} (blocked for this test)')
sys.meta_path.insert(0, Block())
"""


def test_import_hpviz_without_frameworks():
    code = _BLOCK_FRAMEWORKS + textwrap.dedent("""
        import hpviz
        assert not any(m in sys.modules for m in ('optuna', 'ray', 'hyperopt', 'sklearn', 'matplotlib'))
        status = {s.name: s for s in hpviz.plugins.status()}
        # scikit-learn is a dependency of hpviz, and SMAC output folders are read without SMAC
        assert {n for n, s in status.items() if s.available} == {'sklearn', 'smac'}, status
        assert 'optuna' in status['optuna'].error
        try:
            hpviz.experiment(object())
        except hpviz.UnsupportedObjectError as exc:
            assert 'Unavailable adapters: ' in str(exc) and 'optuna' in str(exc)
        else:
            raise AssertionError('no error')
        print('ok')
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_import_hpviz_imports_no_framework():
    code = "import sys, hpviz; print(sorted(m for m in ('optuna', 'ray', 'hyperopt') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_shared_hook_builders():
    import argparse

    from hpviz.plugins import cli_hooks, constraints_hook, framework_hooks, info_hook

    info = info_hook("fake", "pluggy", missing=("no_such_module_hpviz", "fake needs no_such_module_hpviz"))()
    assert info == {"name": "fake", "framework": "fake", "version": None, "note": "fake needs no_such_module_hpviz"}
    assert info_hook("fake", "pluggy", demo=False)() == {"name": "fake", "framework": "fake",
                                                          "version": importlib.metadata.version("pluggy")}
    hook = constraints_hook("fake", {"log_with_step": False})
    assert hook(framework="fake") == {"log_with_step": False} and hook(framework="other") is None
    add, source = cli_hooks(("--fake-file", "PATH", "a file"), ("--fake-mode", "", "mode"), read="os.path:join",
                            keyword="x", choices=["a", "b"])
    parser = argparse.ArgumentParser()
    add(parser=parser)
    assert source(args=parser.parse_args([])) is None
    with pytest.raises(hpviz.HpvizError, match="--fake-mode needs --fake-file PATH"):
        source(args=parser.parse_args(["--fake-mode", "a"]))
    with pytest.raises(SystemExit):
        parser.parse_args(["--fake-file", "f", "--fake-mode", "c"])
    with pytest.raises(TypeError, match="package="):
        framework_hooks("fake", export="to_fake")
    export = framework_hooks("fake", package="json", export="decoder:JSONDecoder")[0]  # a full target as given
    assert export(space=None, framework="other") is None
