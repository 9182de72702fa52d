"""OSS Vizier's live recorder (``hpviz_vizier.HpvizCallback``), on real Vizier studies (RANDOM_SEARCH)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("vizier")
pytest.importorskip("jax")  # running a study needs google-vizier[jax]; make test installs it

from offline_conformance import LiveConformance  # noqa: E402
from test_vizier import _study, datastore  # noqa: E402,F401 - the session's datastore fixture (a tmp database path)
from vizier.service import pyvizier as vz  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Float, SearchSpace, TrialState  # noqa: E402
from hpviz.testing import CONFORMANCE_SPACE, conformance_objective  # noqa: E402
from hpviz_vizier import HpvizCallback, to_vizier  # noqa: E402


def _comparable(exp: hpviz.Experiment) -> list:
    return [(t.number, t.state, t.params, t.values, t.round, t.feasible, t.constraints, t.budget,
             {k: v for k, v in t.attrs.items() if k != "vizier_study"},
             None if t.log is None else t.log.points()) for t in exp.trials]


def _layers_int(params: Any) -> dict[str, Any]:
    return {k: (int(v) if k == "layers" else v) for k, v in params.items()}


class TestVizierLiveConformance(LiveConformance):
    framework = "vizier"

    def make_callback(self, **options: Any) -> HpvizCallback:
        return HpvizCallback(**options)

    def run_recorded(self, tmp_path: Path, callback: Any, n_trials: int) -> tuple[Any, dict[str, Any]]:
        study = _study(CONFORMANCE_SPACE, {"loss": "min"})
        for i in range(n_trials):
            (trial,) = study.suggest(count=1)
            if i == 2:
                trial.complete(infeasible_reason="the conformance run's trial 2 fails")
            else:
                trial.complete(vz.Measurement({"loss": conformance_objective(_layers_int(trial.parameters))}))
            callback.update(study)
        return study, {}


def test_curves_running_trials_and_a_later_larger_budget_equal_offline():
    study = _study(SearchSpace({"x": Float(-5.0, 5.0)}), {"loss": "min"}, mem=(vz.ObjectiveMetricGoal.MINIMIZE, 100.0))
    cb = HpvizCallback()
    short, running = study.suggest(count=2)
    for step in range(2):
        short.add_measurement(vz.Measurement({"loss": 9.0 - step}, steps=step))
        assert cb.update(study) == 0
    assert [t.state for t in cb.experiment.trials] == [TrialState.RUNNING] * 2
    assert len(cb.experiment.trials[0].log.points()) == 2  # a running trial's curve, live
    short.complete(vz.Measurement({"loss": 8.0, "mem": 150.0}))
    assert cb.update(study) == 1
    assert cb.experiment.trials[0].state is TrialState.COMPLETE  # the longest run so far: full budget
    (longer,) = study.suggest(count=1, client_id="worker-2")  # the default client would get `running` again
    for step in range(4):
        longer.add_measurement(vz.Measurement({"loss": 5.0 - step}, steps=step))
    longer.complete(vz.Measurement({"loss": 1.0, "mem": 10.0}))
    assert cb.update(study) == 1
    live = cb.experiment
    assert live.trials[0].state is TrialState.PRUNED  # judged again against the larger budget
    assert not live.trials[0].feasible and live.trials[2].feasible  # the safety metric
    assert live.trials[1].state is TrialState.RUNNING
    assert _comparable(live) == _comparable(hpviz.experiment(study))
    assert cb.n_recorded == 2


def test_report_catches_up_and_a_second_study_is_round_two(tmp_path):
    cb = HpvizCallback(report_path=tmp_path / "r.html", report_options={"views": ["progress"]})
    first = _study(CONFORMANCE_SPACE, {"loss": "min"})
    (trial,) = first.suggest(count=1)
    trial.complete(vz.Measurement({"loss": conformance_objective(_layers_int(trial.parameters))}))
    cb.update(first)
    for trial in first.suggest(count=4):  # completed without update(): report() catches up
        trial.complete(vz.Measurement({"loss": conformance_objective(_layers_int(trial.parameters))}))
    assert cb.report() == tmp_path / "r.html"
    assert len(cb.experiment) == 5 == cb.n_recorded
    assert _comparable(cb.experiment) == _comparable(hpviz.experiment(first))
    narrow = CONFORMANCE_SPACE.replace(x=Float(-1.0, 2.0))
    assert cb.next_round(to_vizier(narrow)) == 1
    second = _study(narrow, {"loss": "min"})
    for trial in second.suggest(count=2):
        trial.complete(vz.Measurement({"loss": 1.0}))
    cb.update(second)
    exp = cb.experiment
    assert [t.number for t in exp.trials] == list(range(7)) and [t.round for t in exp.trials] == [0] * 5 + [1] * 2
    assert exp.rounds[1].space == narrow
    assert {t.attrs.get("vizier_study") for t in exp.trials[5:]} == {second.resource_name}
    assert all(isinstance(t.params["layers"], int) for t in exp.trials)
    back = pickle.loads(pickle.dumps(cb))
    assert _comparable(back.experiment) == _comparable(exp)


def test_bad_input():
    with pytest.raises(TypeError, match="clients.Study"):
        HpvizCallback().update("study")
    with pytest.raises(hpviz.SchemaError, match="max_steps"):
        HpvizCallback(max_steps=-1)
    with pytest.raises(TypeError, match="max_steps"):
        HpvizCallback(max_step=3)


def test_adapters_command_shows_live_recording(capsys):
    from hpviz.cli import main

    assert main(["adapters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["vizier", "ok"])
    assert lines[at + 1].split()[0] == "live:" and "hpviz_vizier.HpvizCallback" in lines[at + 1]
