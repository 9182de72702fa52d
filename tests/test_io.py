"""Versioned JSON persistence: lossless round trip, clear errors, atomic writes."""

import datetime as dt
import json
import math
import os

import pytest

import hpviz
from hpviz import Categorical, Change, Experiment, Float, Int, ReservoirLog, SchemaError, SearchSpace, Trial, TrialState
from hpviz.io import SCHEMA_VERSION, atomic_write


def _rich_experiment():
    space = SearchSpace({
        "lr": Float(1e-5, 1e-1, log=True),
        "drop": Float(0.0, 0.5, step=0.1),
        "units": Int(16, 512, log=True),
        "layers": Int(1, 9, step=2),
        "opt": Categorical(["adam", 1, 2.5, True, None]),
    })
    exp = Experiment(space, {"acc": "max", "time": "min"}, name="rich", source="test")
    log = ReservoirLog(capacity=8, seed=3)
    for step in range(50):
        log.append(step, acc=step / 50, loss=math.inf if step == 7 else 1.0 / (step + 1))
    naive = dt.datetime(2026, 3, 1, 12, 0, 0)
    aware = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    exp.add(Trial(0, {"lr": 1e-3, "drop": 0.1, "units": 64, "layers": 3, "opt": True},
                  {"acc": 0.9, "time": 12.5}, log=log, started=naive, finished=naive + dt.timedelta(seconds=4),
                  budget=50, attrs={"note": "x", "sizes": (1, 2), "nested": {"a": [1.5, math.nan]}}))
    exp.add(Trial(1, {"lr": 1e-2, "opt": None}, {"acc": math.nan, "time": math.inf}, started=aware))
    exp.add(Trial(2, {"lr": 2.0, "opt": 1}, {"acc": -math.inf}, TrialState.PRUNED))
    exp.add(Trial(3, {"opt": 2.5}, {}, TrialState.FAIL))
    exp.add(Trial(4, {"opt": "adam"}, {}, TrialState.RUNNING))
    exp.add(Trial(5, {"opt": "adam"}, {}, TrialState.WAITING))
    new_space = space.replace(lr=Float(1e-4, 1e-2, log=True), opt=Categorical(["adam", 1]))
    exp.next_round(new_space, [
        Change("lr", "shrink", space["lr"], new_space["lr"], "top 20% in [1e-4, 1e-2]"),
        Change("opt", "drop-choices", space["opt"], new_space["opt"], "2.5, True, None clearly worse"),
    ], note="round two")
    exp.add(Trial(6, {"lr": 5e-3, "opt": 1}, {"acc": 0.95, "time": 3.0}, round=1))
    return exp


def _same(a: Experiment, b: Experiment):
    assert a.name == b.name and a.source == b.source and a.objectives == b.objectives
    assert list(a.objectives) == list(b.objectives)
    assert a.rounds == b.rounds
    assert list(a.space) == list(b.space)
    assert len(a.trials) == len(b.trials)
    for x, y in zip(a.trials, b.trials):
        assert (x.number, x.state, x.round, x.budget, x.started, x.finished) == (
            y.number, y.state, y.round, y.budget, y.started, y.finished)
        assert x.started is None or x.started.tzinfo == y.started.tzinfo
        assert list(x.params) == list(y.params)
        for k in x.params:  # type-exact: 1, 1.0 and True are different choices
            assert type(x.params[k]) is type(y.params[k]) and x.params[k] == y.params[k]
        assert x.values.keys() == y.values.keys()
        for k in x.values:
            assert (math.isnan(x.values[k]) and math.isnan(y.values[k])) or x.values[k] == y.values[k]
        assert x.log == y.log
        assert repr(x.attrs) == repr(y.attrs)


def test_lossless_round_trip(tmp_path):
    exp = _rich_experiment()
    path = exp.save(tmp_path / "exp.json")
    back = hpviz.load(path)
    _same(exp, back)
    # saved twice gives identical bytes (deterministic output)
    assert back.save(tmp_path / "again.json").read_bytes() == path.read_bytes()
    # the loaded log keeps sampling exactly as the original would
    a, b = exp.trials[0].log, back.trials[0].log
    for step in range(50, 500):
        a.append(step, acc=1.0)
        b.append(step, acc=1.0)
    assert a.points() == b.points()


def test_file_is_strict_json_with_version(tmp_path):
    path = _rich_experiment().save(tmp_path / "exp.json")
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["schema_version"] == SCHEMA_VERSION and data["format"] == "hpviz-experiment"


def test_experiment_accepts_saved_path(tmp_path):
    path = _rich_experiment().save(tmp_path / "exp.json")
    assert len(hpviz.experiment(str(path)).trials) == 7


def test_newer_schema_version_is_refused(tmp_path):
    path = _rich_experiment().save(tmp_path / "exp.json")
    data = json.loads(path.read_text())
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match="upgrade hpviz"):
        hpviz.load(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "hpviz-experiment", "schema_ver', "invalid JSON"),
        ('{"hello": 1}', "not an hpviz experiment"),
        ('{"format": "hpviz-experiment", "schema_version": 1, "objectives": [["a", "min"]]}', "corrupted"),
        ('{"format": "hpviz-experiment", "schema_version": 1, "objectives": [["a", "up"]], '
         '"rounds": [{"index": 0, "space": {"params": []}}], "trials": []}', "'min' or 'max'"),
    ],
)
def test_corrupted_files_raise_schema_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SchemaError, match=message):
        hpviz.load(path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left behind


def test_atomic_write_gives_normal_permissions(tmp_path):
    fresh = atomic_write(tmp_path / "fresh.txt", "x")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert fresh.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    os.chmod(plain, 0o640)
    atomic_write(plain, "y")
    assert plain.stat().st_mode & 0o777 == 0o640 and plain.read_text() == "y"
