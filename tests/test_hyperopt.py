"""The Hyperopt adapter: real ``fmin`` runs (TPE and random search), no mocks."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")

from hyperopt import STATUS_FAIL, STATUS_OK, Trials, fmin, hp, rand, space_eval, tpe  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Categorical, Float, Int, SearchSpace, TrialState  # noqa: E402
from hpviz.plugins import make_plugin_manager  # noqa: E402
from hpviz.testing import CONFORMANCE_SPACE, AdapterConformance, conformance_objective  # noqa: E402
from hpviz_hyperopt import HpvizCallback, describe, from_hyperopt, from_trials, to_hyperopt  # noqa: E402

NATIVE_CONFORMANCE = {
    "x": hp.uniform("x", -5.0, 5.0),
    "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
    "layers": hp.uniformint("layers", 1, 4),
    "act": hp.choice("act", ["relu", "tanh"]),
}


def _failing_at_2():
    count = {"n": 0}

    def fn(params: dict[str, Any]) -> dict[str, Any]:
        i = count["n"]
        count["n"] += 1
        if i == 2:
            return {"status": STATUS_FAIL}
        return {"status": STATUS_OK, "loss": conformance_objective(params)}

    return fn


def _fmin(fn, space, n, trials=None, algo=tpe.suggest, seed=0, **kw):
    trials = trials if trials is not None else Trials()
    fmin(fn, space, algo=algo, max_evals=n, trials=trials, rstate=np.random.default_rng(seed),
         show_progressbar=False, **kw)
    return trials


class TestConformance(AdapterConformance):
    framework = "hyperopt"
    n_trials = 8

    def run(self, tmp_path: Path, n_trials: int):
        trials = _fmin(_failing_at_2(), NATIVE_CONFORMANCE, n_trials)
        return trials, {"space": NATIVE_CONFORMANCE}

    def export_space(self, space: SearchSpace):
        return to_hyperopt(space)

    def import_space(self, native) -> SearchSpace:
        return from_hyperopt(native)

    def make_callback(self, **options):
        return HpvizCallback(NATIVE_CONFORMANCE, **options)

    def run_recorded(self, tmp_path: Path, callback, n_trials: int):
        trials = _fmin(_failing_at_2(), NATIVE_CONFORMANCE, n_trials, early_stop_fn=callback)
        return trials, {"space": NATIVE_CONFORMANCE}


# --------------------------------------------------------------------------- every distribution

def _full_space() -> dict[str, Any]:
    return {
        "u": hp.uniform("u", -2.0, 2.0),
        "lu": hp.loguniform("lu", math.log(1e-3), math.log(1.0)),
        "q": hp.quniform("q", 0, 10, 2),
        "qlu": hp.qloguniform("qlu", 0.0, 3.0, 1),
        "ui": hp.uniformint("ui", 1, 6),
        "ri": hp.randint("ri", 5),
        "ri2": hp.randint("ri2", 3, 9),
        "c": hp.choice("c", ["a", "b", 3]),
        "pc": hp.pchoice("pc", [(0.3, "x"), (0.7, "y")]),
        "n": hp.normal("n", 1.0, 0.5),
        "ln": hp.lognormal("ln", 0.0, 1.0),
        "qn": hp.qnormal("qn", 0.0, 2.0, 0.5),
        "qln": hp.qlognormal("qln", 1.0, 0.5, 1.0),
        "model": hp.choice("model", [
            {"kind": "svm", "C": hp.loguniform("C", -3.0, 3.0)},
            {"kind": "rf", "depth": hp.uniformint("depth", 2, 12),
             "crit": hp.choice("crit", ["gini", "entropy"])},
        ]),
    }


def _full_loss(p: dict[str, Any]) -> float:
    m = p["model"]
    extra = math.log(m["C"]) ** 2 if m["kind"] == "svm" else 0.1 * m["depth"] + (m["crit"] == "gini")
    return (p["u"] ** 2 + abs(math.log10(p["lu"]) + 2) + p["q"] / 10 + p["qlu"] / 20 + p["ui"] / 6 + p["ri"] / 5
            + p["ri2"] / 9 + (p["c"] == "b") + (p["pc"] == "x") + (p["n"] - 1) ** 2 + abs(math.log(p["ln"]))
            + abs(p["qn"]) / 4 + p["qln"] / 10 + extra)


EXPECTED = {
    "u": Float(-2.0, 2.0),
    "lu": Float(1e-3, 1.0, log=True),
    "q": Float(0, 10, step=2),
    "ri": Int(0, 4),
    "ri2": Int(3, 8),
    "ui": Int(1, 6),
    "c": Categorical(["a", "b", 3]),
    "pc": Categorical(["x", "y"]),
    "n": Float(1.0 - 1.5, 1.0 + 1.5),
    "qn": Float(-6.0, 6.0, step=0.5),
    "model": Categorical([0, 1]),
    "depth": Int(2, 12),
    "crit": Categorical(["gini", "entropy"]),
}


def test_space_introspection_recovers_every_distribution():
    space = from_hyperopt(_full_space())
    assert set(space) == {"u", "lu", "q", "qlu", "ui", "ri", "ri2", "c", "pc", "n", "ln", "qn", "qln", "model",
                          "C", "depth", "crit"}
    for name, param in EXPECTED.items():
        assert space[name] == param, name
    # log distributions: bounds exp'ed back
    assert space["qlu"].log and space["qlu"].step == 1 and space["qlu"].low == 1.0
    assert math.isclose(space["qlu"].high, math.exp(3.0))
    assert space["C"].log and math.isclose(space["C"].low, math.exp(-3)) and math.isclose(space["C"].high, math.exp(3))
    assert space["ln"].log and math.isclose(space["ln"].low, math.exp(-3)) and math.isclose(space["ln"].high, math.exp(3))
    assert space["qln"].log and space["qln"].step == 1.0 and math.isclose(space["qln"].high, math.exp(2.5))
    desc = describe(_full_space())
    assert [n for n, d in desc.items() if not d.bounded] == ["ln", "n", "qln", "qn"]
    assert desc["C"].conditions == ((("model", 0),),)
    assert desc["depth"].conditions == desc["crit"].conditions == ((("model", 1),),)
    assert desc["u"].conditions == ()
    assert desc["pc"].kind == "pchoice" and desc["pc"].args["p"] == (0.3, 0.7)
    assert desc["ui"].kind == "uniformint" and desc["ri"].kind == "randint" and desc["ri"].is_int


def test_unusual_choice_options_decode_like_space_eval():
    space = {"sizes": hp.choice("sizes", [[64], [128, 64]]), "opt": hp.choice("opt", [{"name": "adam"}, {"name": "sgd"}]),
             "m": hp.pchoice("m", [(0.4, {"a": hp.uniform("a", 0, 1)}), (0.6, "plain")])}
    desc = describe(space)
    assert desc["sizes"].param == Categorical([(64,), (128, 64)])  # sequences: hashable tuples
    assert desc["opt"].param == Categorical([0, 1]) and desc["m"].param == Categorical([0, 1])  # indices
    assert desc["a"].conditions == ((("m", 0),),)
    trials = _fmin(lambda p: 0.0, space, 12, algo=rand.suggest)
    exp = from_trials(trials, space)
    for t, doc in zip(exp.trials, trials.trials):
        decoded = space_eval(space, {k: v[0] for k, v in doc["misc"]["vals"].items() if v})
        assert t.params["sizes"] == decoded["sizes"]
        assert decoded["opt"] == [{"name": "adam"}, {"name": "sgd"}][t.params["opt"]]
        assert ("a" in t.params) == (t.params["m"] == 0) == isinstance(decoded["m"], dict)


@pytest.mark.parametrize("algo", [tpe.suggest, rand.suggest], ids=["tpe", "random"])
def test_real_fmin_over_every_distribution(algo):
    space = _full_space()
    trials = _fmin(_full_loss, space, 24, algo=algo, seed=1)
    exp = hpviz.experiment(trials, space=space)
    desc = describe(space)
    assert len(exp.trials) == 24 and exp.source == "hyperopt"
    assert exp.objectives == {"loss": "min"}
    for trial, doc in zip(exp.trials, trials.trials):
        assert trial.number == doc["tid"]
        vals = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        decoded = space_eval(space, vals)
        # the recorded loss is the loss of the recorded (decoded) configuration
        assert trial.values["loss"] == pytest.approx(_full_loss(decoded))
        for key in ("u", "lu", "q", "qlu", "ui", "ri", "ri2", "c", "pc", "n", "ln", "qn", "qln"):
            assert trial.params[key] == decoded[key], key
            assert type(trial.params[key]) is type(decoded[key]), key
        model = decoded["model"]
        assert trial.params["model"] == (0 if model["kind"] == "svm" else 1)
        if model["kind"] == "svm":
            assert trial.params["C"] == model["C"]
            assert "depth" not in trial.params and "crit" not in trial.params
        else:
            assert trial.params["depth"] == model["depth"] and trial.params["crit"] == model["crit"]
            assert "C" not in trial.params
    for flag in exp.flags():
        if flag.kind == "inactive":
            ((choice, option),) = desc[flag.param].conditions[0]
            assert exp.trials[flag.number].params[choice] != option
        else:
            # only the unbounded (normal/lognormal) parameters can fall outside their hpviz bounds
            assert flag.kind == "out-of-space" and not desc[flag.param].bounded, flag
    assert {f.param for f in exp.flags() if f.kind == "inactive"} <= {"C", "depth", "crit"}
    best = exp.best()
    assert best.values["loss"] == min(t["result"]["loss"] for t in trials.trials)


def test_normal_value_beyond_three_sigma_is_kept_and_flagged():
    space = {"n": hp.normal("n", 0.0, 1.0), "u": hp.uniform("u", 0, 1)}
    trials = _fmin(lambda p: p["u"] + p["n"] ** 2, space, 5)

    class LookAlike:  # the structure MongoTrials/SparkTrials share with Trials
        def __init__(self, docs):
            self.trials = docs

    docs = copy.deepcopy(trials.trials)
    docs[3]["misc"]["vals"]["n"] = [7.5]
    exp = hpviz.experiment(LookAlike(docs), space=space)
    assert exp.trials[3].params["n"] == 7.5
    assert [(f.number, f.param, f.kind) for f in exp.flags()] == [(3, "n", "out-of-space")]


# --------------------------------------------------------------------------- failures, NaN, attrs, times

def _messy(params: dict[str, Any]) -> Any:
    x = params["x"]
    if x < -0.6:
        return {"status": STATUS_FAIL, "why": "too small"}
    if x < -0.2:
        return float("nan")
    if x > 0.8:
        raise ValueError("exploded at x > 0.8")
    curve = [x + 1.0 / k for k in range(1, 6)]
    return {"status": STATUS_OK, "loss": x ** 2, "accuracy": 1 - x ** 2, "curve": curve}


def test_failures_nan_losses_errors_attrs_and_timestamps(tmp_path):
    space = {"x": hp.uniform("x", -1.0, 1.0)}
    trials = _fmin(_messy, space, 30, algo=rand.suggest, seed=3, catch_eval_exceptions=True)
    docs = trials._dynamic_trials
    exp = from_trials(trials, space)
    assert len(exp.trials) == len(docs) == 30  # ERROR trials are only in _dynamic_trials: kept
    by_kind = {"fail": 0, "nan": 0, "error": 0, "ok": 0}
    for t in exp.trials:
        x = t.params["x"]
        if x < -0.6:
            kind = "fail"
            assert t.state is TrialState.FAIL and t.attrs["why"] == "too small" and not t.values
        elif x < -0.2:
            kind = "nan"
            assert t.state is TrialState.FAIL and math.isnan(t.values["loss"]) and "NaN" in t.attrs["fail_reason"]
        elif x > 0.8:
            kind = "error"
            assert t.state is TrialState.FAIL and "exploded" in t.attrs["error"]
        else:
            kind = "ok"
            assert t.state is TrialState.COMPLETE and t.values == {"loss": pytest.approx(x ** 2)}
            assert t.attrs["accuracy"] == pytest.approx(1 - x ** 2)
            steps = [s for s, _ in t.log.points()]
            assert steps == [1, 2, 3, 4, 5] and t.budget == 5
            assert t.log.points()[-1][1]["loss"] == pytest.approx(x + 0.2)
        by_kind[kind] += 1
        assert t.started.tzinfo is not None and t.started.utcoffset() == dt.timedelta(0)
        assert t.started <= t.finished
        assert abs((t.started - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 600
    assert all(v > 0 for v in by_kind.values()), by_kind  # the run exercised every case
    assert len(exp.completed()) == by_kind["ok"]
    assert exp.best().values["loss"] == min(t.values["loss"] for t in exp.completed())
    # nothing is lost in a save/load round trip (NaN, attrs, logs)
    back = hpviz.load(exp.save(tmp_path / "messy.json"))
    assert [(t.number, t.state, t.params) for t in back.trials] == [(t.number, t.state, t.params) for t in exp.trials]


def test_objective_and_direction_options():
    space = {"x": hp.uniform("x", -1.0, 1.0)}
    trials = _fmin(_messy, space, 20, algo=rand.suggest, seed=4, catch_eval_exceptions=True)
    exp = hpviz.experiment(trials, space=space, objective="accuracy", direction="max")
    assert exp.objectives == {"accuracy": "max"}
    ok = [t for t in exp.trials if t.state is TrialState.COMPLETE]
    assert ok and all(t.values["accuracy"] == pytest.approx(1 - t.params["x"] ** 2) for t in ok)
    assert all(t.attrs["loss"] == pytest.approx(t.params["x"] ** 2) for t in ok)
    assert exp.best().values["accuracy"] == max(t.values["accuracy"] for t in ok)


def test_space_is_required_or_inferred(caplog):
    space = {"x": hp.uniform("x", -1.0, 1.0), "k": hp.randint("k", 4)}
    trials = _fmin(lambda p: p["x"] ** 2 + p["k"], space, 6, algo=rand.suggest)
    with pytest.raises(hpviz.SchemaError, match="space"):
        hpviz.experiment(trials)
    with caplog.at_level(logging.WARNING, logger="hpviz"):
        exp = hpviz.experiment(trials, infer=True)
    assert exp.space.inferred and any(r.getMessage().startswith("hpviz:") for r in caplog.records)
    xs = [t.params["x"] for t in exp.trials]
    assert exp.space["x"] == Float(min(xs), max(xs))
    assert isinstance(exp.space["k"], (Int, Categorical))
    assert not [f for f in exp.flags() if f.kind != "inactive"]


def test_empty_trials_give_an_empty_experiment():
    space = {"x": hp.uniform("x", 0, 1)}
    exp = hpviz.experiment(Trials(), space=space)
    assert len(exp) == 0 and exp.best() is None and exp.space == SearchSpace({"x": Float(0, 1)})


def test_other_objects_are_not_converted():
    pm = make_plugin_manager()
    assert pm.hook.hpviz_to_experiment(obj=object(), options={}) is None
    assert pm.hook.hpviz_to_experiment(obj={"trials": []}, options={}) is None
    with pytest.raises(hpviz.UnsupportedObjectError):
        hpviz.experiment(object(), plugin_manager=pm)


def test_bad_space_gives_schema_error():
    with pytest.raises(hpviz.SchemaError, match="'y'"):
        from_hyperopt({"x": hp.uniform("x", 0, 1), "y": hp.uniform("y", 0, hp.uniform("z", 1, 2))})


# --------------------------------------------------------------------------- callback

def test_callback_records_incrementally_and_never_stops_fmin(tmp_path, caplog):
    space = _full_space()
    seen: list[int] = []
    cb = HpvizCallback(space, report_path=tmp_path / "file-not-dir" / "r.html", every=1)
    (tmp_path / "file-not-dir").write_text("blocks the report directory")

    def fn(p):
        # the callback has recorded every earlier trial by the time the next one runs
        seen.append(len(cb.experiment.trials))
        return _full_loss(p)

    with caplog.at_level(logging.WARNING, logger="hpviz"):
        trials = _fmin(fn, space, 10, early_stop_fn=cb)
        cb.wait()  # periodic reports render in the background; requests coalesce
    assert len(trials.trials) == 10  # never stopped early
    assert seen == list(range(10))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 <= len(warnings) <= 10 and all(m.startswith("hpviz:") for m in warnings)
    ref = from_trials(trials, space)
    assert [(t.number, t.params, t.values) for t in cb.experiment.trials] == [
        (t.number, t.params, t.values) for t in ref.trials]
    # calling it again records nothing twice
    assert cb.update(trials) == 0 and cb(trials) == (False, [])
    with pytest.raises(OSError):  # on demand, the report error propagates
        cb.report()


def test_callback_writes_periodic_reports(tmp_path):
    space = {"x": hp.uniform("x", -1, 1), "k": hp.choice("k", ["a", "b"])}
    path = tmp_path / "live" / "report.html"
    path.parent.mkdir()  # hpviz writes into existing folders only (docs/report.md, "Output paths")
    written: list[int] = []
    cb = HpvizCallback(space, report_path=path, every=4, report_options={"views": ["progress"]})

    def fn(p):
        written.append(path.stat().st_mtime_ns if path.exists() else 0)
        return p["x"] ** 2 + (p["k"] == "b")

    _fmin(fn, space, 9, early_stop_fn=cb)
    cb.wait()  # periodic reports render in the background, never before the 4th trial
    assert written[:4] == [0] * 4 and path.exists() and "<img" in path.read_text()
    first = path.stat().st_mtime_ns
    assert cb.report() == path and path.stat().st_mtime_ns > first  # the final report, complete


def test_callback_chains_a_user_early_stop_rule():
    from hyperopt.early_stop import no_progress_loss

    space = {"x": hp.uniform("x", -1, 1)}
    cb = HpvizCallback(space, early_stop_fn=no_progress_loss(3))
    trials = _fmin(lambda p: 1.0, space, 50, early_stop_fn=cb)  # flat loss: no progress
    assert len(trials.trials) < 50
    assert len(cb.experiment.trials) == len(trials.trials)


def test_callback_rounds_with_fresh_trials():
    space1 = {"lr": hp.loguniform("lr", math.log(1e-4), 0.0), "act": hp.choice("act", ["relu", "tanh", "gelu"])}
    cb = HpvizCallback(space1)
    t1 = _fmin(lambda p: abs(math.log10(p["lr"]) + 2) + (p["act"] != "relu"), space1, 6, early_stop_fn=cb)
    refined = SearchSpace({"lr": Float(1e-3, 1e-1, log=True), "act": Categorical(["tanh", "relu"])})
    assert cb.next_round(refined, [hpviz.Change("act", "drop-choices", Categorical(["relu", "tanh", "gelu"]),
                                                refined["act"], "gelu was worse")]) == 1
    t2 = _fmin(lambda p: abs(math.log10(p["lr"]) + 2) + (p["act"] != "relu"), to_hyperopt(refined), 5,
               early_stop_fn=cb, seed=1)
    exp = cb.experiment
    assert [t.number for t in exp.trials] == list(range(11))
    assert [t.round for t in exp.trials] == [0] * 6 + [1] * 5
    assert exp.rounds[1].space == refined and exp.rounds[1].parent_space == from_hyperopt(space1)
    for t, doc in zip(exp.trials[6:], t2.trials):
        vals = {k: v[0] for k, v in doc["misc"]["vals"].items()}
        assert t.params == space_eval(to_hyperopt(refined), vals)  # index 0 now means "tanh"
        assert refined["act"].contains(t.params["act"]) and refined["lr"].contains(t.params["lr"])
    assert not exp.flags()
    assert len(t1.trials) == 6


def test_callback_rejects_bad_arguments():
    with pytest.raises(hpviz.SchemaError, match="every"):
        HpvizCallback({"x": hp.uniform("x", 0, 1)}, every=0)
    with pytest.raises(hpviz.SchemaError, match="space"):
        HpvizCallback(None)


# --------------------------------------------------------------------------- round trips

def test_native_round_trip_every_distribution_is_exact():
    native = _full_space()
    back = to_hyperopt(from_hyperopt(native), native=native)
    before, after = describe(native), describe(back)
    assert set(before) == set(after)
    for name, d in before.items():
        if d.options is None and d.kind in ("choice", "pchoice"):
            continue  # nested options: exported as option indices (flat), see below
        assert (after[name].kind, dict(after[name].args), after[name].is_int, after[name].options) == (
            d.kind, dict(d.args), d.is_int, d.options), name
    assert after["model"].param == Categorical([0, 1])


def test_canonical_export_round_trips():
    space = SearchSpace({
        "a": Float(-1.5, 2.0), "b": Float(1e-5, 0.3, log=True), "c": Float(0.0, 1.0, step=0.25),
        "d": Float(1.0, 100.0, log=True, step=1.0), "e": Int(1, 9), "f": Int(0, 20, step=4),
        "g": Int(8, 256, log=True), "h": Categorical(["x", 2, 3.5, None, True]),
    })
    native = to_hyperopt(space)
    assert from_hyperopt(native) == space
    kinds = {n: (d.kind, d.is_int) for n, d in describe(native).items()}
    assert kinds == {"a": ("uniform", False), "b": ("loguniform", False), "c": ("quniform", False),
                     "d": ("qloguniform", False), "e": ("uniformint", True), "f": ("quniform", True),
                     "g": ("qloguniform", True), "h": ("choice", False)}
    # natively written canonical kinds come back unchanged without a template
    plain = {k: v for k, v in _full_space().items() if k in ("u", "lu", "q", "qlu", "ui", "c")}
    d0, d1 = describe(plain), describe(to_hyperopt(from_hyperopt(plain)))
    for name in plain:
        assert d1[name].kind == d0[name].kind, name
        for arg, v in d0[name].args.items():
            assert d1[name].args[arg] == pytest.approx(v), (name, arg)
    # sampled values of the exported space lie in the hpviz space
    trials = _fmin(lambda p: 0.0, native, 15, algo=rand.suggest)
    exp = from_trials(trials, space)
    assert not exp.flags()
    assert all(isinstance(t.params["g"], int) and isinstance(t.params["d"], float) for t in exp.trials)


def test_export_hook():
    pm = make_plugin_manager()
    native = pm.hook.hpviz_export_space(space=CONFORMANCE_SPACE, framework="hyperopt")
    assert from_hyperopt(native) == CONFORMANCE_SPACE
    assert pm.hook.hpviz_export_space(space=CONFORMANCE_SPACE, framework="no-such-framework") is None
    assert any(info["framework"] == "hyperopt" for info in pm.hook.hpviz_adapter_info())


# --------------------------------------------------------------------------- demo

def test_demo_runs_two_rounds():
    from hpviz_hyperopt.demo import run_demo

    exp = run_demo(n_trials=20, rounds=2, seed=0, n_epochs=1)
    assert exp.objectives == {"val_accuracy": "max"} and len(exp.rounds) == 2
    assert [t.round for t in exp.trials] == [0] * 20 + [1] * 20
    second = exp.rounds[1]
    assert second.parent_space == exp.rounds[0].space
    if second.note is None:  # round 2 searched suggest_space's refined space
        suggestion = hpviz.suggest_space(hpviz.Experiment(exp.rounds[0].space, exp.objectives, exp.trials[:20]))
        assert second.space == suggestion.space and second.changes == tuple(suggestion.changes)
    else:  # the suggestion failed: logged, and round 2 reused the space
        assert second.note.startswith("suggest_space failed") and second.space == second.parent_space
    for t in exp.trials:
        assert t.state is TrialState.COMPLETE and 0.0 <= t.values["val_accuracy"] <= 1.0
        points = t.log.points()
        assert [s for s, _ in points] == [1]
        assert points[-1][1]["val_accuracy"] == t.values["val_accuracy"]
        assert not [f for f in exp.flags() if f.number == t.number]
