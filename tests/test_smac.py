"""The SMAC3 adapter, on real SMAC runs (RandomFacade: SMAC's cheapest optimizer) and their output folders."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("smac")  # make test installs it; the JSON reader is also tested without it (subprocess)

from ConfigSpace import Categorical as CSCategorical  # noqa: E402
from ConfigSpace import ConfigurationSpace, EqualsCondition, ForbiddenEqualsClause  # noqa: E402
from ConfigSpace import Float as CSFloat  # noqa: E402
from ConfigSpace import Integer as CSInteger  # noqa: E402
from offline_conformance import OfflineConformance  # noqa: E402
from smac import MultiFidelityFacade, RandomFacade, Scenario  # noqa: E402
from smac.intensifier.successive_halving import SuccessiveHalving  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Categorical, Float, Int, SchemaError, SearchSpace, TrialState  # noqa: E402
from hpviz.plugins import make_plugin_manager  # noqa: E402
from hpviz.testing import CONFORMANCE_SPACE, conformance_objective  # noqa: E402
from hpviz_smac import conditions_of, find_runs, from_configspace, space_code, to_configspace  # noqa: E402

# SMAC's default crash_cost=inf makes one crashing trial abort optimize() (upstream bug): always set a finite one.
CRASH_COST = 1e6


def _run(space: ConfigurationSpace, target: Any, out: Path, n_trials: int, **scenario: Any) -> RandomFacade:
    sc = Scenario(space, deterministic=True, n_trials=n_trials, output_directory=out, crash_cost=CRASH_COST,
                  seed=0, **scenario)
    facade = RandomFacade(sc, target, overwrite=True, logging_level=40)
    facade.optimize()
    return facade


def _failing_third(fn):
    calls = []

    def target(config, seed: int = 0) -> float:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the conformance run's trial 2 fails")
        return fn(dict(config))
    return target


class TestSmacConformance(OfflineConformance):
    framework = "smac"

    def run(self, tmp_path: Path, n_trials: int) -> tuple[Any, dict[str, Any]]:
        facade = _run(to_configspace(CONFORMANCE_SPACE, seed=0), _failing_third(conformance_objective),
                      tmp_path / "smac3_output", n_trials)
        return facade, {}

    def export_space(self, space: SearchSpace) -> Any:
        return to_configspace(space)

    def import_space(self, native: Any) -> SearchSpace:
        return from_configspace(native)

    def test_folder_converts_like_the_facade(self, tmp_path: Path) -> None:
        facade, _ = self.run(tmp_path, self.n_trials)
        live = hpviz.experiment(facade)
        saved = hpviz.experiment(tmp_path / "smac3_output")
        assert live.framework == saved.framework == "smac"
        assert saved.space == live.space == CONFORMANCE_SPACE
        assert [(t.params, t.state, t.values) for t in saved.trials] == [(t.params, t.state, t.values) for t in live.trials]
        failed = [t for t in saved.trials if t.state is TrialState.FAIL]
        assert len(failed) == 1 and "RuntimeError" in failed[0].attrs["error"] and failed[0].values == {}
        assert all(t.duration is not None and t.duration >= 0 for t in saved.trials)


def test_folder_is_read_without_smac(tmp_path):
    _run(to_configspace(CONFORMANCE_SPACE, seed=0), _failing_third(conformance_objective), tmp_path / "out", 6)
    code = textwrap.dedent(f"""
        import sys
        for name in ("smac", "ConfigSpace"):
            sys.modules[name] = None  # importing them now fails
        import hpviz
        exp = hpviz.experiment({str(tmp_path / "out")!r})
        assert len(exp.trials) == 6 and exp.framework == "smac", exp
        assert exp.space == hpviz.testing.CONFORMANCE_SPACE
        print("ok", hpviz.plugins.get_plugin_manager().hook.hpviz_adapter_info())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ok" in out.stdout


def test_conditions_make_params_inactive_and_come_back_in_code(tmp_path):
    cs = ConfigurationSpace(seed=0)
    cs.add([CSCategorical("opt", ["sgd", "adam"]), CSFloat("momentum", (0.0, 0.99)), CSFloat("lr", (1e-4, 1.0), log=True),
            CSInteger("units", (8, 256), log=True)])
    cs.add(EqualsCondition(cs["momentum"], cs["opt"], "sgd"))
    cs.add(ForbiddenEqualsClause(cs["units"], 8))
    facade = _run(cs, lambda config, seed=0: config["lr"], tmp_path / "out", 10)
    exp = hpviz.experiment(facade)
    assert exp.space == SearchSpace({"opt": Categorical(["sgd", "adam"]), "momentum": Float(0.0, 0.99),
                                     "lr": Float(1e-4, 1.0, log=True), "units": Int(8, 256, log=True)})
    for t in exp.trials:
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
        assert t.params["units"] != 8
    assert conditions_of(exp, exp.space) == [("momentum", "opt", ["sgd"])]
    ns: dict[str, Any] = {}
    exec(compile(space_code(exp.space, exp), "<smac>", "exec"), ns)
    assert from_configspace(ns["cs"]) == exp.space
    assert len(ns["cs"].conditions) == 1 and ns["cs"].conditions[0].child.name == "momentum"
    adam_only = space_code(exp.space.replace(opt=Categorical(["adam"])), exp)  # momentum went with sgd
    assert "# momentum is left out" in adam_only and "Float('momentum'" not in adam_only


def test_multi_fidelity_budgets_are_learning_curves(tmp_path):
    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
    sc = Scenario(cs, deterministic=True, n_trials=14, output_directory=tmp_path / "out", min_budget=1, max_budget=9,
                  crash_cost=CRASH_COST, seed=0)
    facade = MultiFidelityFacade(sc, lambda config, seed=0, budget=1: (config["x"] - 1) ** 2 + 1 / budget,
                                 initial_design=MultiFidelityFacade.get_initial_design(sc, n_configs=5),
                                 intensifier=SuccessiveHalving(sc, eta=3), overwrite=True, logging_level=40)
    facade.optimize()
    exp = hpviz.experiment(tmp_path / "out")
    by_budget = {}
    for key, value in facade.runhistory.items():
        by_budget.setdefault(key.config_id, {})[key.budget] = value.cost
    for t in exp.trials:
        costs = by_budget[t.attrs["config_id"]]
        assert [s for s, _ in t.log.points()] == sorted(costs)
        assert [m["cost"] for _, m in t.log.points()] == [costs[b] for b in sorted(costs)]
        assert t.budget == max(costs)
        assert t.state is (TrialState.COMPLETE if t.budget == 9 else TrialState.PRUNED)
        assert t.values["cost"] == costs[t.budget]
    assert {TrialState.COMPLETE, TrialState.PRUNED} <= {t.state for t in exp.trials}


def test_multi_objective_and_direction(tmp_path):
    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)

    def target(config, seed: int = 0) -> dict[str, float]:
        return {"loss": (config["x"] - 1) ** 2, "neg_acc": -1.0 / (1.0 + abs(config["x"]))}

    facade = _run(cs, target, tmp_path / "out", 6, objectives=["loss", "neg_acc"], )
    exp = hpviz.experiment(facade)
    assert exp.objectives == {"loss": "min", "neg_acc": "min"}
    for t in exp.trials:
        assert math.isclose(t.values["loss"], (t.params["x"] - 1) ** 2)
    flipped = hpviz.experiment(tmp_path / "out", direction={"neg_acc": "max"})
    assert flipped.objectives == {"loss": "min", "neg_acc": "max"}
    assert [t.values["neg_acc"] for t in flipped.trials] == [-t.values["neg_acc"] for t in exp.trials]
    with pytest.raises(SchemaError, match="'acc'.*loss"):
        hpviz.experiment(facade, direction={"acc": "max"})
    with pytest.raises(TypeError, match="it takes"):
        hpviz.experiment(facade, mode="max")


def test_runhistory_alone(tmp_path):
    facade = _run(to_configspace(CONFORMANCE_SPACE, seed=0), lambda c, seed=0: conformance_objective(dict(c)),
                  tmp_path / "out", 5)
    exp = hpviz.experiment(facade.runhistory)
    assert exp.space == CONFORMANCE_SPACE and len(exp.trials) == 5 and exp.objectives == {"cost": "min"}
    assert all(isinstance(t.attrs["origin"], str) for t in exp.trials)


def _autopytorch_like(root: Path) -> Path:
    """A SMAC 1.x run folder as AutoPyTorch leaves it: <tmp_dir>/smac3-output/run_<seed>/ (cost = 1 - accuracy)."""
    run = root / "smac3-output" / "run_1"
    run.mkdir(parents=True)
    ok, crash, timeout = ({"__enum__": f"StatusType.{s}"} for s in ("SUCCESS", "CRASHED", "TIMEOUT"))
    history = {
        "data": [
            [[1, None, 0, 5.555], [0.30, 1.0, ok, 100.0, 101.0, {"opt_loss": {"accuracy": 0.30}}]],
            [[2, None, 0, 5.555], [0.20, 1.0, ok, 101.0, 102.0, {}]],
            [[2, None, 0, 16.666], [0.12, 2.0, ok, 102.0, 104.0, {}]],
            [[3, None, 0, 5.555], [1.0, 1.0, crash, 104.0, 105.0, {"error": "CUDA out of memory"}]],
            [[4, None, 0, 16.666], [1.0, 9.0, timeout, 105.0, 114.0, {}]],
        ],
        "config_origins": {"1": "Initial design", "2": "Random Search", "3": "Local Search", "4": "Random Search"},
        "configs": {str(i): {"lr": lr, "network_backbone:__choice__": net}
                    for i, (lr, net) in enumerate([(1e-3, "MLPBackbone"), (1e-2, "ResNetBackbone"),
                                                   (3e-4, "MLPBackbone"), (5e-2, "ResNetBackbone")], start=1)},
    }
    (run / "runhistory.json").write_text(json.dumps(history))
    cs = {"hyperparameters": [
        {"name": "lr", "type": "uniform_float", "log": True, "lower": 1e-4, "upper": 0.1, "default": 1e-3},
        {"name": "network_backbone:__choice__", "type": "categorical", "choices": ["MLPBackbone", "ResNetBackbone"],
         "default": "MLPBackbone"}], "conditions": [], "forbiddens": [], "json_format_version": 0.2}
    (run / "configspace.json").write_text(json.dumps(cs))
    return root


def test_smac1_folder_as_autopytorch_leaves_it(tmp_path):
    root = _autopytorch_like(tmp_path / "autopytorch_tmp")
    assert find_runs(root) == [root / "smac3-output" / "run_1"]
    exp = hpviz.experiment(root)
    assert exp.space["lr"] == Float(1e-4, 0.1, log=True) and exp.objectives == {"cost": "min"}
    states = [t.state for t in exp.trials]
    assert states == [TrialState.PRUNED, TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL]
    assert exp.trials[1].values == {"cost": 0.12} and exp.trials[1].budget == 16.666
    assert [s for s, _ in exp.trials[1].log.points()] == [5.555, 16.666]
    assert exp.trials[2].attrs["error"] == "CUDA out of memory"
    assert exp.trials[3].attrs["status"] == "TIMEOUT"
    assert exp.best().number == 1


def test_folder_with_several_runs_is_a_clear_error(tmp_path):
    _autopytorch_like(tmp_path / "a")
    shutil.copytree(tmp_path / "a" / "smac3-output" / "run_1", tmp_path / "a" / "smac3-output" / "run_2")
    with pytest.raises(SchemaError, match="2 SMAC runs.*run_1.*run_2"):
        hpviz.experiment(tmp_path / "a")
    assert len(hpviz.experiment(tmp_path / "a" / "smac3-output" / "run_2").trials) == 4


def test_cli_reports_an_output_folder(tmp_path):
    from hpviz.cli import main

    _run(to_configspace(CONFORMANCE_SPACE, seed=0), lambda c, seed=0: conformance_objective(dict(c)),
         tmp_path / "out", 12)
    report = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "out"), "-o", str(report), "--quiet"]) == 0
    assert report.stat().st_size > 1000
    pm = make_plugin_manager()
    args = argparse.Namespace(smac_run=str(tmp_path / "out"), smac_direction="max")
    flipped = pm.hook.hpviz_cli_source(args=args)
    assert flipped.objectives == {"cost": "max"} and len(flipped.trials) == 12
    assert main(["report", "--smac-direction", "max", "-o", str(report)]) == 2  # usage error: no --smac-run


def test_adapter_is_listed_and_exports():
    pm = make_plugin_manager()
    status = {s.name: s for s in hpviz.plugins.status(pm)}
    assert status["smac"].available
    infos = {i["framework"]: i for i in pm.hook.hpviz_adapter_info()}
    assert infos["smac"]["version"]
    cs = pm.hook.hpviz_export_space(space=CONFORMANCE_SPACE, framework="smac")
    assert isinstance(cs, ConfigurationSpace) and from_configspace(cs) == CONFORMANCE_SPACE
    assert "ConfigurationSpace" in pm.hook.hpviz_space_code(space=CONFORMANCE_SPACE, framework="smac", experiment=None)


def test_demo_runs_two_rounds(tmp_path):
    from hpviz_smac import run_demo

    exp = run_demo(n_trials=6, rounds=2, n_epochs=4, workdir=tmp_path)
    assert exp.framework == "smac" and len(exp.rounds) == 2 and {t.round for t in exp.trials} == {0, 1}
    assert exp.objectives == {"val_accuracy": "max"}
    assert all(0.0 <= t.values["val_accuracy"] <= 1.0 for t in exp.completed())


def test_ask_tell_running_trials(tmp_path):
    from smac.runhistory.dataclasses import TrialValue

    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
    sc = Scenario(cs, deterministic=True, n_trials=10, output_directory=tmp_path / "out", crash_cost=CRASH_COST, seed=0)
    facade = RandomFacade(sc, lambda config, seed=0: 0.0, overwrite=True, logging_level=40)
    done, running = facade.ask(), facade.ask()
    facade.tell(done, TrialValue(cost=(done.config["x"] - 1) ** 2, time=0.5))
    exp = hpviz.experiment(facade)
    states = {t.params["x"]: t.state for t in exp.trials}
    assert states == {done.config["x"]: TrialState.COMPLETE, running.config["x"]: TrialState.RUNNING}
