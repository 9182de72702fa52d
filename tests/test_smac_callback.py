"""SMAC3's live callback (``hpviz_smac.HpvizCallback``), on real SMAC runs with a finite crash_cost."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("smac")  # make test installs it

from ConfigSpace import ConfigurationSpace  # noqa: E402
from offline_conformance import LiveConformance  # noqa: E402
from smac import Callback, HyperbandFacade, HyperparameterOptimizationFacade, RandomFacade, Scenario  # noqa: E402
from smac.runhistory import TrialValue  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Float, SearchSpace, TrialState  # noqa: E402
from hpviz.testing import CONFORMANCE_SPACE, conformance_objective  # noqa: E402
from hpviz_smac import HpvizCallback, from_configspace, to_configspace  # noqa: E402
from hpviz_smac._compat import smbo_scenario  # noqa: E402

# SMAC's default crash_cost=inf makes one crashing trial abort optimize() (upstream bug): always set a finite one.
CRASH_COST = 1e6


def _failing_third(fn):
    calls = []

    def target(config, seed: int = 0, budget: float | None = None) -> float:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the conformance run's trial 2 fails")
        return fn(dict(config))
    return target


def _scenario(cs: ConfigurationSpace, out: Path, n_trials: int, **kwargs: Any) -> Scenario:
    return Scenario(cs, deterministic=True, n_trials=n_trials, output_directory=out, crash_cost=CRASH_COST, seed=0,
                    **kwargs)


def _comparable(exp: hpviz.Experiment) -> list:
    return [(t.number, t.state, t.params, t.values, t.budget, t.round, t.attrs.get("config_id"),
             None if t.log is None else t.log.points()) for t in exp.trials]


class TestSmacLiveConformance(LiveConformance):
    framework = "smac"

    def make_callback(self, **options: Any) -> HpvizCallback:
        return HpvizCallback(**options)

    def run_recorded(self, tmp_path: Path, callback: Any, n_trials: int) -> tuple[Any, dict[str, Any]]:
        sc = _scenario(to_configspace(CONFORMANCE_SPACE, seed=0), tmp_path / "smac3_output", n_trials)
        facade = RandomFacade(sc, _failing_third(conformance_objective), callbacks=[callback], overwrite=True,
                              logging_level=False)
        facade.optimize()
        return facade, {}


def test_hpo_facade_run_live_equals_offline_and_the_final_report_is_written(tmp_path):
    out = tmp_path / "report.html"
    cb = HpvizCallback(report_path=out, every=4, report_options={"views": ["progress"]})
    assert cb.experiment.objectives == {"cost": "min"} and cb.experiment.space == SearchSpace({})
    sc = _scenario(to_configspace(CONFORMANCE_SPACE, seed=0), tmp_path / "out", 12)
    facade = HyperparameterOptimizationFacade(
        sc, _failing_third(conformance_objective), callbacks=[cb], overwrite=True, logging_level=False,
        initial_design=HyperparameterOptimizationFacade.get_initial_design(sc, n_configs=5))
    facade.optimize()
    assert out.stat().st_size > 1000  # on_end wrote (and awaited) the final report
    live, offline = cb.experiment, hpviz.experiment(facade)
    assert _comparable(live) == _comparable(offline) and len(live) == 12 == cb.n_recorded
    assert live.space == offline.space == CONFORMANCE_SPACE and live.name == offline.name
    assert [t.attrs["origin"] for t in live.trials] == [t.attrs["origin"] for t in offline.trials]
    assert {t.attrs["origin"] for t in live.trials} >= {"Initial Design: Sobol"}
    (failed,) = [t for t in live.trials if t.state is TrialState.FAIL]
    assert "trial 2 fails" in failed.attrs["error"] and failed.values == {}


def test_hyperband_budgets_live_equal_offline(tmp_path):
    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
    cb = HpvizCallback(every=3)
    sc = _scenario(cs, tmp_path / "out", 20, min_budget=1, max_budget=9)
    facade = HyperbandFacade(sc, lambda config, seed=0, budget=1: (config["x"] - 1) ** 2 + 1 / budget, callbacks=[cb],
                             overwrite=True, logging_level=False)
    facade.optimize()
    live, offline = cb.experiment, hpviz.experiment(facade)
    assert _comparable(live) == _comparable(offline)
    states = {t.state for t in live.trials}
    assert {TrialState.COMPLETE, TrialState.PRUNED} <= states
    assert any(len(t.log.points()) > 1 for t in live.trials)  # promoted configurations: one point per budget
    assert cb.n_recorded == len(live)  # a promotion updates its trial, it does not count again


def test_ask_and_tell_running_trials_next_round_and_a_second_facade(tmp_path):
    cb = HpvizCallback(direction="max")
    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
    facade = HyperparameterOptimizationFacade(_scenario(cs, tmp_path / "a", 30), lambda config, seed=0: 0.0,
                                              callbacks=[cb], overwrite=True, logging_level=False)
    infos = [facade.ask() for _ in range(4)]
    for info in infos[:3]:
        facade.tell(info, TrialValue(cost=-(info.config["x"] ** 2)))  # cost = -metric: direction="max"
    live = cb.experiment
    assert live.objectives == {"cost": "max"}
    assert [t.state for t in live.trials] == [TrialState.COMPLETE] * 3 + [TrialState.RUNNING]
    assert _comparable(live) == _comparable(hpviz.experiment(facade, direction="max"))
    assert live.trials[0].values["cost"] == infos[0].config["x"] ** 2
    facade.tell(infos[3], TrialValue(cost=1.0))
    first = cb.experiment.trials
    # round 2: a narrower space, a new facade, numbered after the first one's trials
    narrow = ConfigurationSpace({"x": (-1.0, 1.0)}, seed=1)
    assert cb.next_round(narrow) == 1
    second = HyperparameterOptimizationFacade(_scenario(narrow, tmp_path / "b", 30, name="round2"),
                                              lambda config, seed=0: 0.0, callbacks=[cb], overwrite=True,
                                              logging_level=False)
    for _ in range(2):
        info = second.ask()
        second.tell(info, TrialValue(cost=-1.0))
    exp = cb.experiment
    assert [t.number for t in exp.trials] == list(range(6)) and [t.round for t in exp.trials] == [0] * 4 + [1] * 2
    assert exp.rounds[1].space == SearchSpace({"x": Float(-1.0, 1.0)})
    assert all(t.attrs["smac_run"] == "round2" for t in exp.trials[4:]) and "smac_run" not in exp.trials[0].attrs
    assert all(a is b for a, b in zip(first, exp.trials[:4]))  # the first run's trials did not change
    assert cb.n_recorded == 6
    back = pickle.loads(pickle.dumps(cb))
    assert _comparable(back.experiment) == _comparable(exp)


def test_a_resumed_run_brings_its_earlier_trials(tmp_path):
    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
    target = lambda config, seed=0: (config["x"] - 1) ** 2  # noqa: E731

    class StopAfterFive(Callback):
        def on_tell_end(self, smbo, info, value):
            return False if len(smbo.runhistory) >= 5 else None

    sc = _scenario(cs, tmp_path / "out", 8, name="resume")
    RandomFacade(sc, target, callbacks=[StopAfterFive()], overwrite=True, logging_level=False).optimize()
    cb = HpvizCallback()
    facade = RandomFacade(sc, target, callbacks=[cb], logging_level=False)  # continues from the output folder
    assert len(facade.runhistory) == 5
    facade.optimize()
    live = cb.experiment
    assert len(live) == 8 == cb.n_recorded
    assert _comparable(live) == _comparable(hpviz.experiment(facade))


def test_a_failing_hpviz_step_never_stops_smac(tmp_path, caplog):
    cb = HpvizCallback(direction={"nope": "max"})  # names an objective the run does not have
    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
    facade = RandomFacade(_scenario(cs, tmp_path / "out", 4), lambda config, seed=0: 1.0, callbacks=[cb],
                          overwrite=True, logging_level=False)
    with caplog.at_level(logging.WARNING):
        facade.optimize()
    assert len(facade.runhistory) == 4  # SMAC ran all its trials
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(m.startswith("hpviz:") and "nope" in m for m in warned), warned


def test_bad_options_fail_at_construction():
    with pytest.raises(hpviz.SchemaError, match="direction"):
        HpvizCallback(direction="maximize")
    with pytest.raises(TypeError, match="direction"):
        HpvizCallback(directoin="max")
    cs = to_configspace(CONFORMANCE_SPACE)
    assert HpvizCallback(space=cs).experiment.space == CONFORMANCE_SPACE == from_configspace(cs)


def test_compat_scenario_of_the_smbo(tmp_path):
    sc = _scenario(ConfigurationSpace({"x": (0.0, 1.0)}, seed=0), tmp_path / "out", 2)
    facade = RandomFacade(sc, lambda config, seed=0: 1.0, overwrite=True, logging_level=False)
    assert smbo_scenario(facade.optimizer) is facade.scenario


def test_adapters_command_shows_live_recording(capsys):
    from hpviz.cli import main

    assert main(["adapters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["smac", "ok"])
    assert lines[at + 1].split()[0] == "live:" and "hpviz_smac.HpvizCallback" in lines[at + 1]


# --------------------------------------------------------------------------- stable trial objects


class Probe(Callback):
    """Listed after the HpvizCallback: looks at its trials after each of its hooks (see trial_identity)."""

    def __init__(self, cb: HpvizCallback, handovers: Any = None, every: int = 3) -> None:
        from trial_identity import Identity

        self.cb, self.identity, self.handovers, self.every, self.tells = cb, Identity(cb), handovers, every, 0

    def _number(self, smbo: Any, info: Any) -> int:
        run = self.cb._run_of(smbo)
        return run.offset + sorted(run.configs).index(int(smbo.runhistory.get_config_id(info.config)))

    def on_ask_end(self, smbo: Any, info: Any) -> None:
        self.identity.look(self._number(smbo, info))

    def on_tell_end(self, smbo: Any, info: Any, value: Any) -> None:
        self.identity.look(self._number(smbo, info))
        self.tells += 1
        if self.handovers is not None and self.tells % self.every == 0:
            self.handovers.handover()


def test_hyperband_keeps_the_objects_of_unchanged_trials_and_hands_over_only_changed_ones(tmp_path):
    # promotions re-run a configuration at a higher budget: only its trial is rebuilt (a new object), every
    # other one is the very object of the previous refresh, and each hand-over sends just the changed ones
    from trial_identity import Handovers

    cs = ConfigurationSpace({"x": (-5.0, 5.0), "y": (0.0, 1.0)}, seed=0)
    cb = HpvizCallback()
    probe = Probe(cb, Handovers(cb, tmp_path))
    sc = _scenario(cs, tmp_path / "out", 40, min_budget=1, max_budget=9)
    facade = HyperbandFacade(sc, lambda config, seed=0, budget=1: (config["x"] - 1) ** 2 + config["y"] / budget,
                             callbacks=[cb, probe], overwrite=True, logging_level=False)
    facade.optimize()
    ident = probe.identity
    assert ident.looks >= 80 and ident.kept > 10 * ident.changed > 0
    live = cb.experiment
    assert _comparable(live) == _comparable(hpviz.experiment(facade))
    assert {TrialState.COMPLETE, TrialState.PRUNED} <= {t.state for t in live.trials}
    assert any(len(t.log.points()) > 1 for t in live.trials)  # promoted: their trials changed after they finished
    sent = probe.handovers.sent
    assert sent[0] == (3, 3) and len(sent) >= 10
    assert all(s < n for s, n in sent[1:]) and sum(s for s, _ in sent[1:]) < sum(n for _, n in sent[1:]) / 4
    before = {t.number: t for t in cb.experiment.trials}
    assert all(before[t.number] is t for t in cb.experiment.trials)  # nothing changed: the same objects


def test_ask_and_tell_background_reports_hand_over_only_what_changed(tmp_path, monkeypatch):
    import re

    import hpviz.recording as recording

    monkeypatch.setattr(recording, "RENDER_FIRST_DELAY", 0.0)
    options = {"views": ["progress", "tendrils"]}
    cb = HpvizCallback(report_path=tmp_path / "bg.html", every=2, report_options=options)
    cs = ConfigurationSpace({"x": (-5.0, 5.0)}, seed=0)
    facade = HyperparameterOptimizationFacade(_scenario(cs, tmp_path / "out", 40), lambda config, seed=0: 0.0,
                                              callbacks=[cb], overwrite=True, logging_level=False)

    def tell(info: Any) -> None:
        facade.tell(info, TrialValue(cost=(info.config["x"] - 1) ** 2))

    infos = [facade.ask() for _ in range(3)]
    first = {t.number: t for t in cb.experiment.trials}
    assert [t.state for t in first.values()] == [TrialState.RUNNING] * 3
    assert all(first[t.number] is t for t in cb.experiment.trials)  # a snapshot again: the same objects
    tell(infos[0])
    tell(infos[1])
    cb.wait()  # every=2: one request per two tells, rendered in the background process
    assert cb._worker.last_handover == (3, 3)  # the first request: everything
    after = {t.number: t for t in cb.experiment.trials}
    assert after[0] is not first[0] and after[0].state is TrialState.COMPLETE and after[2] is first[2]
    tell(infos[2])  # RUNNING -> COMPLETE
    tell(facade.ask())  # a new trial
    cb.wait()
    assert cb._worker.last_handover == (2, 4)  # the two that changed, not the two that did not
    now = {t.number: t for t in cb.experiment.trials}
    assert now[0] is after[0] and now[1] is after[1] and now[2] is not after[2]
    infos = [facade.ask() for _ in range(3)]
    tell(infos[0])
    tell(infos[1])
    cb.wait()
    assert cb._worker.last_handover == (3, 7)  # two finished, one running
    background = (tmp_path / "bg.html").read_text()
    final = cb.report(tmp_path / "final.html").read_text()
    images = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    assert len(images.findall(background)) >= 2 and images.findall(background) == images.findall(final)
