"""Versioned JSON persistence: lossless round trip, clear errors, atomic writes."""

import datetime as dt
import json
import math
import os
from pathlib import Path

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
        ('{"format": "hpviz-experiment", "schema_version": 1, "objectives": [["a", "min"]]}',
         "rounds must be a list, got null"),
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


# --------------------------------------------------------------------------- version 1 files, migration

DATA = Path(__file__).parent / "data"


def test_version_1_files_are_read_and_migrated(tmp_path):
    """tests/data/experiment_v1.json was written by hpviz 0.1 (schema 1: one row per log point)."""
    path = DATA / "experiment_v1.json"
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1
    exp = hpviz.load(path)
    assert [t.number for t in exp.trials] == [0, 1, 2, 3, 4, 5, 6, 7] and len(exp.rounds) == 2
    fresh = _rich_experiment()
    for a, b in zip(fresh.trials, exp.trials):
        assert (a.number, a.state, a.round, a.started, a.finished, a.budget) == (
            b.number, b.state, b.round, b.started, b.finished, b.budget)
        assert repr(a.params) == repr(b.params) and repr(a.attrs) == repr(b.attrs)
    assert exp.rounds == fresh.rounds
    # the kept points are exactly the saved rows, in order of step
    for saved, trial in zip(raw["trials"], exp.trials):
        if saved["log"] is None:
            continue
        st = saved["log"]
        rows = [st["first"], *st["middle"], st["last"]]
        want = sorted(((r[0], r[1]) for r in rows), key=lambda p: p[0])
        got = [(s, {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in d.items()})
               for s, d in trial.log.points()]
        want = [(s, {k: (None if isinstance(v, dict) else v) for k, v in d.items()}) for s, d in want]
        assert got == want
        assert (trial.log.seen, trial.log.capacity) == (st["seen"], st["capacity"])
    # a migrated log keeps sampling uniformly: append on, the bounds still hold
    log = exp.trials[-1].log
    for step in range(3000, 6000):
        log.append(step, 1.0)
    steps = [s for s, _ in log.points()]
    assert len(steps) == 6 and steps[0] == 0 and steps[-1] == 5999 and steps == sorted(steps)
    # saving writes the current version; migrate() gives the same
    out = exp.save(tmp_path / "v2.json")
    assert json.loads(out.read_text())["schema_version"] == SCHEMA_VERSION
    assert hpviz.io.migrate(raw)["schema_version"] == SCHEMA_VERSION


def test_logs_are_stored_by_columns(tmp_path):
    log = ReservoirLog(capacity=8, seed=0)
    for step in range(3):
        log.append(step, loss=1.0 / (step + 1), acc=step / 3)
    log.append(3, 0.25)  # a scalar point among named ones
    log.append(4, loss=math.nan)  # acc absent
    exp = Experiment(SearchSpace({"x": Float(0, 1)}), "loss")
    exp.add(Trial(0, {"x": 0.5}, {"loss": 0.1}, log=log))
    path = exp.save(tmp_path / "e.json")
    saved = json.loads(path.read_text())["trials"][0]["log"]
    assert saved["steps"] == [0, 1, 2, 3, 4] and saved["ends"] == [True, True]
    assert list(saved["columns"]) == ["loss", "acc", "value"]
    assert saved["columns"]["loss"][:3] == [1.0, 0.5, 1 / 3] and saved["columns"]["loss"][4] == {"$float": "nan"}
    assert saved["scalar"] == [3] and saved["absent"] == {"loss": [3], "acc": [3, 4], "value": [0, 1, 2, 4]}
    back = hpviz.load(path).trials[0].log
    assert back == log
    assert repr(back.points()) == repr(log.points())


# --------------------------------------------------------------------------- malformed files


def _base() -> dict:
    log = ReservoirLog(capacity=4, seed=1)
    for step in range(20):
        log.append(step, 0.5)
    exp = Experiment(SearchSpace({"lr": Float(1e-4, 1.0, log=True)}), "loss")
    exp.add(Trial(0, {"lr": 0.01}, {"loss": 0.3}, log=log, started=1_700_000_000))
    return hpviz.io.experiment_to_dict(exp)


def _nest(depth: int) -> str:
    return "[" * depth + "]" * depth


def _edit(path_: str, value):
    def apply(d):
        keys = path_.split("/")
        target = d
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return json.dumps(d)
    return apply


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_edit("trials", {"0": {}}), "trials must be a list, got an object"),
        (_edit("trials/0/params", [["lr", 0.1]]), r"trial 0 \(trials\[0\]\): params must be an object, got a list"),
        (_edit("trials/0/values", {"loss": "low"}), r"trial 0 .*values\['loss'\] must be a number"),
        (_edit("trials/0/number", -3), r"trials\[0\].number must be an integer"),
        (_edit("trials/0/state", "DONE"), "trial 0 .*Trial.state must be one of"),
        (_edit("trials/0/started", 1e20), "trial 0 .*started: 1e\\+20 epoch seconds is outside"),
        (_edit("trials/0/finished", "2026-13-45"), "trial 0 .*finished is not an ISO timestamp"),
        (_edit("trials/0/round", 5), "Trial.round 5 does not exist"),
        (_edit("trials/0/attrs", {"x": {"$float": "big"}}), r"trial 0 .*attrs\['x'\]: \$float must be"),
        (_edit("trials/0/log/rng", [1, 10**20]), r"trial 0 .*log.rng\[1\] must be an integer"),
        (_edit("trials/0/log/steps", list(range(10))), "trial 0 .*log has 10 points for capacity 4"),
        (_edit("trials/0/log/capacity", 10**15), "trial 0 .*log.capacity must be an integer"),
        (_edit("trials/0/log/columns", {"value": [1]}), "trial 0 .*log.columns must map metric names to lists of 4"),
        (_edit("rounds/0/space/params/0/1/low", "tiny"), r"rounds\[0\].space\['lr'\].low must be a number"),
        (_edit("rounds/0/space/params", {"lr": {}}), r"rounds\[0\].space.params must be a list"),
        (_edit("objectives", [["loss", "down"]]), "'min' or 'max'"),
        (lambda d: json.dumps(d).replace('"lr": 0.01', '"lr": ' + "9" * 4000), r"trial 0 .*params\['lr'\]: integer of 4000"),
        (lambda d: json.dumps(d).replace('"lr": 0.01', '"lr": ' + "9" * 5000), "corrupted: Exceeds the limit"),
        (lambda d: json.dumps(d).replace('"attrs": {}', '"attrs": {"deep": ' + _nest(100) + "}"),
         r"trial 0 .*attrs\['deep'\]: nested deeper than 64 levels"),
        (lambda d: json.dumps(d).replace('"attrs": {}', '"attrs": {"deep": ' + _nest(100_000) + "}"),
         "nested too deeply"),
        (lambda d: b"\xff\xfe" + json.dumps(d).encode(), "not a UTF-8"),
    ],
)
def test_every_malformed_file_is_a_schema_error_naming_file_trial_and_field(tmp_path, make, message):
    path = tmp_path / "bad.json"
    content = make(_base())
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SchemaError, match=message) as info:
        hpviz.load(path)
    assert str(info.value).startswith(str(path))


def test_a_log_claiming_a_trillion_draws_loads_at_once(tmp_path):
    """Restoring the generator replays at most one block of draws, whatever the file claims."""
    d = _base()
    d["trials"][0]["log"]["rng"] = [7, 10**12]
    path = tmp_path / "e.json"
    path.write_text(json.dumps(d))
    log = hpviz.load(path).trials[0].log
    for step in range(20, 2000):
        log.append(step, 1.0)
    assert log._draws > 10**12 and len(log) == 4
    # the same in a version 1 file (which replayed the draws one by one before)
    v1 = json.loads((DATA / "experiment_v1.json").read_text())
    v1["trials"][-1]["log"]["rng_draws"] = 10**12
    path.write_text(json.dumps(v1))
    assert hpviz.load(path).trials[-1].log.seen == 3000


def test_an_experiment_without_parameters_round_trips(tmp_path):
    exp = Experiment(SearchSpace({}), "loss")
    for i in range(5):
        exp.add(Trial(i, {}, {"loss": float(i)}))
    back = hpviz.load(exp.save(tmp_path / "e.json"))
    assert len(back.space) == 0 and [t.values["loss"] for t in back.trials] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_streamed_save_is_the_plain_json_of_the_experiment(tmp_path):
    exp = _rich_experiment()
    text = exp.save(tmp_path / "e.json").read_text()
    assert text == json.dumps(hpviz.io.experiment_to_dict(exp), allow_nan=False, separators=(",", ":"))
    pieces = list(hpviz.io._json_chunks(exp, size=10))  # many pieces, same text
    assert len(pieces) > 3 and "".join(pieces) == text


@pytest.mark.parametrize("when", [1e20, -1e20, math.nan, math.inf])
def test_out_of_range_epoch_seconds_are_schema_errors(when):
    with pytest.raises(SchemaError, match="Trial.started must be epoch seconds within the years"):
        Trial(0, started=when)
