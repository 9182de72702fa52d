"""Ax's live recorder (``hpviz_ax.HpvizCallback``), on real Ax clients generating with Sobol only."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ax")  # make test installs it (CPU torch first)

from ax.api import Client  # noqa: E402
from offline_conformance import LiveConformance  # noqa: E402
from test_ax import _client, _next  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Float, SearchSpace, TrialState  # noqa: E402
from hpviz.testing import CONFORMANCE_SPACE, conformance_objective  # noqa: E402
from hpviz_ax import HpvizCallback, to_ax  # noqa: E402

logging.getLogger("ax").setLevel(logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning",
                                        "ignore::FutureWarning")


def _comparable(exp: hpviz.Experiment) -> list:
    return [(t.number, t.state, t.params, t.values, t.round, t.feasible, t.constraints, t.budget,
             {k: v for k, v in t.attrs.items() if k != "ax_experiment"},
             None if t.log is None else t.log.points()) for t in exp.trials]


class TestAxLiveConformance(LiveConformance):
    framework = "ax"

    def make_callback(self, **options: Any) -> HpvizCallback:
        return HpvizCallback(**options)

    def run_recorded(self, tmp_path: Path, callback: Any, n_trials: int) -> tuple[Any, dict[str, Any]]:
        client = _client(CONFORMANCE_SPACE, "-loss")
        for i in range(n_trials):
            index, params = _next(client)
            if i == 2:
                client.mark_trial_failed(index, failed_reason="the conformance run's trial 2 fails")
            else:
                client.complete_trial(index, {"loss": conformance_objective(params)})
            callback.update(client)
        return client, {}


def test_every_status_curves_constraints_and_running_trials_equal_offline():
    space = SearchSpace({"x": Float(-5.0, 5.0)})
    client = _client(space, "-loss", outcome_constraints=["size <= 3"])
    cb = HpvizCallback()
    index, _ = _next(client)
    for step in range(3):
        client.attach_data(index, {"loss": 10.0 - step}, progression=step)
        assert cb.update(client) == 0  # still running: its curve grows live
        assert len(cb.experiment.trials[0].log.points()) == step + 1
    assert cb.experiment.trials[0].state is TrialState.RUNNING
    client.complete_trial(index, {"loss": 7.5, "size": 1.0})
    stopped, _ = _next(client)
    for step in range(2):
        client.attach_data(stopped, {"loss": 20.0 - step}, progression=step)
    client.mark_trial_early_stopped(stopped)
    abandoned, _ = _next(client)
    client.mark_trial_abandoned(abandoned)
    manual = client.attach_trial({"x": 1.0})
    client.complete_trial(manual, {"loss": 0.5, "size": 4.0})
    _next(client)  # left running
    assert cb.update(client) == 4  # one call catches up with everything that changed
    live = cb.experiment
    assert _comparable(live) == _comparable(hpviz.experiment(client))
    assert [t.state for t in live.trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL,
                                              TrialState.COMPLETE, TrialState.RUNNING]
    assert live.trials[3].attrs["generation_method"] == "Manual" and not live.trials[3].feasible
    assert live.best().number == 0 and cb.n_recorded == 4


def test_report_catches_up_after_run_trials_style_loops(tmp_path):
    client = _client(CONFORMANCE_SPACE, "-loss")
    cb = HpvizCallback(report_path=tmp_path / "r.html", report_options={"views": ["progress"]})
    index, params = _next(client)
    client.complete_trial(index, {"loss": conformance_objective(params)})
    cb.update(client)
    for _ in range(5):  # trials told to Ax without update(): the next read catches up
        index, params = _next(client)
        client.complete_trial(index, {"loss": conformance_objective(params)})
    assert cb.report() == tmp_path / "r.html"
    assert len(cb.experiment) == 6 == cb.n_recorded
    assert _comparable(cb.experiment) == _comparable(hpviz.experiment(client))


def test_a_new_client_per_round_is_numbered_after_the_first(tmp_path):
    cb = HpvizCallback()
    first = _client(SearchSpace({"x": Float(-5.0, 5.0)}), "-loss")
    for _ in range(3):
        index, p = _next(first)
        first.complete_trial(index, {"loss": p["x"] ** 2})
        cb.update(first)
    narrow = SearchSpace({"x": Float(-1.0, 1.0)})
    assert cb.next_round(to_ax(narrow)) == 1
    second = _client(narrow, "-loss", seed=1)
    for _ in range(2):
        index, p = _next(second)
        second.complete_trial(index, {"loss": p["x"] ** 2})
        cb.update(second)
    exp = cb.experiment
    assert [t.number for t in exp.trials] == list(range(5)) and [t.round for t in exp.trials] == [0, 0, 0, 1, 1]
    assert exp.rounds[1].space == narrow
    assert [t.attrs.get("ax_experiment") for t in exp.trials] == [None] * 3 + ["hpviz-test"] * 2
    assert [t.params for t in exp.trials[3:]] == [t.params for t in hpviz.experiment(second).trials]
    back = pickle.loads(pickle.dumps(cb))
    assert _comparable(back.experiment) == _comparable(exp)


def test_wrong_objects_and_failures():
    cb = HpvizCallback()
    with pytest.raises(TypeError, match="ax.api.Client"):
        cb.update("client")
    with pytest.raises(hpviz.SchemaError, match="configure_experiment"):
        cb.update(Client())
    assert cb.experiment.framework == "ax" and len(cb.experiment) == 0


def test_adapters_command_shows_live_recording(capsys):
    from hpviz.cli import main

    assert main(["adapters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["ax", "ok"])
    assert lines[at + 1].split()[0] == "live:" and "hpviz_ax.HpvizCallback" in lines[at + 1]
