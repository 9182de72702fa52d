"""Tests of the Ray Tune adapter on real (tiny) Ray Tune runs; one Ray session for the module."""

from __future__ import annotations

import glob
import logging
import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

import cloudpickle  # noqa: E402
from ray import cloudpickle as ray_cloudpickle  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402
from ray.tune.search.basic_variant import BasicVariantGenerator  # noqa: E402

import hpviz  # noqa: E402
from hpviz.testing import CONFORMANCE_SPACE, AdapterConformance, conformance_objective  # noqa: E402
from hpviz_raytune import from_tune, to_tune  # noqa: E402
from hpviz_raytune.callback import HpvizCallback  # noqa: E402
from hpviz_raytune.convert import build_experiment, infer_space, log_result, new_record  # noqa: E402
from hpviz_raytune.space import from_tune_with_notes  # noqa: E402

TS = hpviz.TrialState

# Ray workers cannot import this test module: ship its trainables (and callbacks) by value.
ray_cloudpickle.register_pickle_by_value(sys.modules[__name__])


pytestmark = pytest.mark.usefixtures("ray_session")  # one Ray session for the module (tests/conftest.py)


def _fit(trainable, param_space, tmp: Path, name: str, callbacks=(), *, num_samples: int, metric="loss",
         mode="min", scheduler=None, seed: int = 0, max_concurrent: int | None = None):
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(num_samples=num_samples, metric=metric, mode=mode, scheduler=scheduler,
                                    search_alg=BasicVariantGenerator(random_state=seed,
                                                                     max_concurrent=max_concurrent or 0),
                                    reuse_actors=True),
        run_config=tune.RunConfig(name=name, storage_path=str(tmp), callbacks=list(callbacks), verbose=0),
    )
    return tuner.fit()


def _trial_index() -> int:
    return int(tune.get_context().get_trial_id().rsplit("_", 1)[1])


# --------------------------------------------------------------------------- trainables (module level: picklable)


def conformance_trainable(config):
    if _trial_index() == 2:
        raise RuntimeError("trial 2 fails on purpose")
    tune.report({"loss": conformance_objective(config)})


def nested_trainable(config):
    base = (config["x"] - 1.0) ** 2 + 0.5 * config["model"]["depth"] + (0.0 if config["model"]["act"] == "relu" else 1)
    for step in range(1, 4):
        if _trial_index() == 2 and step == 2:
            raise ValueError("boom at step 2")
        tune.report({"loss": base + 1.0 / step, "acc": 1.0 / (1.0 + base), "val": {"f1": step / 10.0}})


def asha_trainable(config):
    for step in range(1, 5):
        tune.report({"loss": config["x"] ** 2 + 1.0 / step})


def tiny_trainable(config):
    tune.report({"score": config["x"]})


NESTED_SPACE = {
    "x": tune.uniform(-3.0, 3.0),
    "model": {"depth": tune.randint(1, 4), "act": tune.choice(["relu", "tanh"])},
    "const": 7,
}


# --------------------------------------------------------------------------- shared runs (once per module)


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory):
    """6 trials, 3 reports each, nested param_space, trial 2 raises at step 2; two callbacks."""
    tmp = tmp_path_factory.mktemp("nested")
    exact = HpvizCallback(param_space=NESTED_SPACE, metric="loss", mode="min")
    bare = HpvizCallback()  # metric/mode from the TuneConfig, space recovered at the end
    grid = _fit(nested_trainable, NESTED_SPACE, tmp, "nested", [exact, bare], num_samples=6, seed=1)
    return grid, exact, bare


@pytest.fixture(scope="module")
def asha_run(tmp_path_factory):
    """8 trials, sequential, ASHA(max_t=4, grace=1, rf=2): later bad trials are stopped early."""
    tmp = tmp_path_factory.mktemp("asha")
    cb = HpvizCallback(param_space={"x": tune.uniform(-5.0, 5.0)})
    sched = ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2)
    grid = _fit(asha_trainable, {"x": tune.uniform(-5.0, 5.0)}, tmp, "asha", [cb], num_samples=8, seed=3,
                scheduler=sched, max_concurrent=1)
    return grid, cb


# --------------------------------------------------------------------------- conformance


_CONFORMANCE: dict[str, Any] = {}


class TestRayConformance(AdapterConformance):
    framework = "ray"
    n_trials = 6

    def run(self, tmp_path, n_trials):
        # One real run shared by the conformance tests (Ray runs are the slow part).
        if n_trials not in _CONFORMANCE:
            cb = HpvizCallback(param_space=to_tune(CONFORMANCE_SPACE), metric="loss", mode="min")
            grid = _fit(conformance_trainable, to_tune(CONFORMANCE_SPACE), tmp_path, "conformance", [cb],
                        num_samples=n_trials)
            _CONFORMANCE[n_trials] = (grid, cb)
        return _CONFORMANCE[n_trials][0], {"trust": True}  # the exact space is in the pickled state

    def export_space(self, space):
        return to_tune(space)

    def import_space(self, native):
        return from_tune(native)

    def make_callback(self, **options):
        return HpvizCallback(param_space=to_tune(CONFORMANCE_SPACE), metric="loss", mode="min", **options)

    def run_recorded(self, tmp_path, callback, n_trials):
        grid = _fit(conformance_trainable, to_tune(CONFORMANCE_SPACE), tmp_path, "cb", [callback],
                    num_samples=n_trials, max_concurrent=1)
        return grid, {"trust": True}  # as run(): the exact space is in the pickled state

    def test_callback_agrees_with_converter(self, tmp_path):
        grid, _ = self.run(tmp_path, self.n_trials)
        cb = _CONFORMANCE[self.n_trials][1]
        live, offline = cb.experiment, hpviz.experiment(grid, trust=True)
        by_id = {t.attrs["trial_id"]: t for t in offline.trials}
        assert len(live.trials) == len(offline.trials) == self.n_trials
        for t in live.trials:
            o = by_id[t.attrs["trial_id"]]
            assert (t.state, t.params, t.values) == (o.state, o.params, o.values)
        assert live.space == offline.space == CONFORMANCE_SPACE


# --------------------------------------------------------------------------- live callback


def test_random_search_records_every_step_nested_names_and_failure(nested_run):
    grid, cb, _ = nested_run
    exp = cb.experiment
    assert set(exp.space) == {"x", "model.depth", "model.act"} and not exp.space.inferred
    assert exp.space["model.depth"] == hpviz.Int(1, 3)  # randint's upper bound is exclusive
    assert exp.objectives == {"loss": "min"}
    assert [t.number for t in exp.trials] == list(range(6))
    # numbers follow start order
    starts = [t.started for t in exp.trials]
    assert starts == sorted(starts)
    failed = [t for t in exp.trials if t.state is TS.FAIL]
    assert len(failed) == 1 and failed[0].attrs["trial_id"].endswith("_00002")
    assert "boom at step 2" in failed[0].attrs["error"]
    assert failed[0].values == {} and failed[0].log.seen == 1
    results = {r.metrics["trial_id"]: r for r in grid if r.error is None}
    for t in exp.trials:
        assert set(t.params) == set(exp.space) and t.attrs["config"] == {"const": 7}
        assert t.attrs["resources"] == {"CPU": 1.0}
        assert t.started is not None and t.finished is not None and t.finished >= t.started
        if t.state is TS.FAIL:
            continue
        assert t.state is TS.COMPLETE  # FIFO scheduler: nothing is pruned
        steps, loss = t.log.series("loss")
        assert steps.tolist() == [1, 2, 3]
        assert set(t.log.metrics()) >= {"loss", "acc", "val/f1"}
        r = results[t.attrs["trial_id"]]
        assert t.values["loss"] == pytest.approx(r.metrics["loss"]) == pytest.approx(loss[-1])
        assert t.params["model.depth"] == r.config["model"]["depth"] and t.params["x"] == r.config["x"]
        assert t.budget == 3


def test_bare_callback_recovers_metric_mode_and_space(nested_run):
    _, exact, bare = nested_run
    a, b = exact.experiment, bare.experiment
    assert b.objectives == {"loss": "min"}  # from the TuneConfig
    assert b.space == a.space and not b.space.inferred  # from the saved searcher state
    assert [(t.params, t.state, t.values) for t in b.trials] == [(t.params, t.state, t.values) for t in a.trials]


def test_directory_conversion_matches_callback(nested_run):
    grid, cb, _ = nested_run
    path = grid.experiment_path
    offline = hpviz.experiment(path, trust=True)  # no param_space: recovered from the pickled state
    live = cb.experiment
    assert offline.space == live.space and not offline.space.inferred
    assert offline.objectives == {"loss": "min"}
    by_id = {t.attrs["trial_id"]: t for t in offline.trials}
    for t in live.trials:
        o = by_id[t.attrs["trial_id"]]
        assert o.state == t.state and o.params == t.params and o.values == t.values
        if t.log is not None:
            assert o.log.series("loss")[1].tolist() == pytest.approx(t.log.series("loss")[1].tolist())
    from_analysis = hpviz.experiment(tune.ExperimentAnalysis(path), trust=True)
    assert [(t.params, t.state) for t in from_analysis.trials] == [(t.params, t.state) for t in offline.trials]
    # options override what the directory says
    other = hpviz.experiment(Path(path), metric="acc", mode="max")
    assert other.objectives == {"acc": "max"}
    best = other.best()
    assert best.values["acc"] == max(t.values["acc"] for t in other.completed())


def test_directory_without_searcher_state_infers_space(nested_run, tmp_path, caplog):
    grid, cb, _ = nested_run
    copy = tmp_path / "copy"
    shutil.copytree(grid.experiment_path, copy)
    for f in glob.glob(str(copy / "basic-variant-state-*")):
        os.unlink(f)
    # the HpvizCallback(param_space=...) pickled in tuner.pkl still knows the exact space
    assert hpviz.experiment(copy, trust=True).space == cb.experiment.space
    os.unlink(copy / "tuner.pkl")
    with caplog.at_level(logging.WARNING, logger="hpviz"):
        exp = hpviz.experiment(copy, trust=True, mode="min")
    assert exp.space.inferred
    assert any(r.getMessage().startswith("hpviz:") and "param_space" in r.getMessage() for r in caplog.records)
    xs = [t.params["x"] for t in exp.trials]
    assert exp.space["x"] == hpviz.Float(min(xs), max(xs))
    assert isinstance(exp.space["model.act"], hpviz.Categorical)
    # with the native param_space it is exact again
    exact = hpviz.experiment(copy, param_space=NESTED_SPACE, mode="min")
    assert exact.space == cb.experiment.space and not exact.space.inferred


def test_asha_stopped_trials_are_pruned(asha_run):
    grid, cb = asha_run
    exp = cb.experiment
    iters = {r.metrics["trial_id"]: r.metrics["training_iteration"] for r in grid}
    states = {t.attrs["trial_id"]: t.state for t in exp.trials}
    assert set(states.values()) == {TS.COMPLETE, TS.PRUNED}
    for tid, n in iters.items():
        assert states[tid] is (TS.PRUNED if n < 4 else TS.COMPLETE)
    for t in exp.trials:
        assert t.budget == iters[t.attrs["trial_id"]] and t.log.seen == t.budget
        assert t.values["loss"] == pytest.approx(t.params["x"] ** 2 + 1.0 / t.budget)
    offline = hpviz.experiment(grid)
    assert {t.attrs["trial_id"]: t.state for t in offline.trials} == states


class Broken(HpvizCallback):
    def _record(self, trial):  # every hook that records a trial now raises
        raise RuntimeError("simulated hpviz bug")


@pytest.fixture(scope="module")
def no_metric_run(tmp_path_factory):
    """2 trials, no metric in the TuneConfig; a broken callback and a callback without metric/mode."""
    import io

    handler = logging.StreamHandler(io.StringIO())
    handler.setLevel(logging.WARNING)
    log = logging.getLogger("hpviz")
    log.addHandler(handler)
    try:
        broken, plain = Broken(metric="score", mode="max"), HpvizCallback(param_space={"x": tune.uniform(0, 1)})
        grid = _fit(tiny_trainable, {"x": tune.uniform(0, 1)}, tmp_path_factory.mktemp("nometric"), "nometric",
                    [broken, plain], num_samples=2, metric=None, mode=None)
    finally:
        log.removeHandler(handler)
    return grid, plain, handler.stream.getvalue().splitlines()


def test_callback_failure_does_not_fail_the_run(no_metric_run):
    grid, _, messages = no_metric_run
    assert grid.num_errors == 0 and grid.num_terminated == 2
    assert messages and all(m.startswith("hpviz:") for m in messages)
    assert any("simulated hpviz bug" in m for m in messages)


def test_missing_metric_warns_and_still_records(no_metric_run, caplog):
    grid, cb, messages = no_metric_run
    assert any("metric=" in m for m in messages)
    exp = cb.experiment
    assert exp.objectives == {"score": "min"} and len(exp.trials) == 2
    assert sorted(t.values["score"] for t in exp.trials) == sorted(r.metrics["score"] for r in grid)
    # offline, an unknown metric/mode is an error saying what to pass, never a silent minimise
    with pytest.raises(hpviz.SchemaError, match=r"metric=.*'score'"):
        hpviz.experiment(grid)


def interrupting_trainable(config):
    import signal
    import time

    marker = Path(config["marker"])
    for step in range(1, 3):
        if _trial_index() == 1 and step == 2 and not marker.exists():
            time.sleep(1)  # let the driver write step 1 to disk
            marker.touch()  # interrupt the driver once, like Ctrl-C
            os.kill(config["driver"], signal.SIGINT)
            time.sleep(2)
        tune.report({"loss": config["x"] + step})


def test_interrupted_run_then_restore(tmp_path):
    space = {"x": tune.uniform(0, 1), "driver": os.getpid(), "marker": str(tmp_path / "interrupted")}
    cb = HpvizCallback(param_space=space, metric="loss", mode="min")
    _fit(interrupting_trainable, space, tmp_path, "intr", [cb], num_samples=4)
    path = tmp_path / "intr"
    # after the interrupt: the live callback and the directory agree on every trial
    live, offline = cb.experiment, hpviz.experiment(path, mode="min")  # the mode is only in tuner.pkl
    by_id = {t.attrs["trial_id"]: t for t in offline.trials}
    assert len(offline.trials) == len(live.trials) == 4
    assert {t.attrs["trial_id"]: t.state for t in live.trials} == {k: t.state for k, t in by_id.items()}
    interrupted = [t for t in live.trials if t.attrs["trial_id"].endswith("_00001")][0]
    assert interrupted.state is TS.RUNNING and interrupted.log.seen == 1
    assert set(live.space) == {"x"}  # constants are not parameters
    # Tuner.restore runs an unpickled copy of the callback, restored with set_state()
    tuner = tune.Tuner.restore(str(path), interrupting_trainable)
    tuner.fit()
    restored = HpvizCallback.from_tuner(tuner)
    assert restored is not None and restored is not cb
    exp = restored.experiment
    assert len(exp.trials) == 4 and {t.state for t in exp.trials} == {TS.COMPLETE}
    assert sorted(t.attrs["trial_id"] for t in exp.trials) == sorted(by_id)
    assert all(t.log.series("loss")[0].tolist() == [1, 2] for t in exp.trials)
    # trials recorded before the interrupt keep their numbers
    kept = {t.attrs["trial_id"]: t.number for t in live.trials if t.state is not TS.WAITING}
    assert {t.attrs["trial_id"]: t.number for t in exp.trials if t.attrs["trial_id"] in kept} == kept


def test_callback_is_picklable_and_tuner_accepts_it(nested_run):
    _, cb, _ = nested_run
    for dumps, loads in ((pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)):
        back = loads(dumps(cb))
        a, b = back.experiment, cb.experiment
        assert [(t.number, t.params, t.state, t.values) for t in a.trials] == [
            (t.number, t.params, t.state, t.values) for t in b.trials]
        assert a.trials[0].log == b.trials[0].log
    fresh = HpvizCallback(param_space=NESTED_SPACE, report_path="r.html", every=5)
    tune.Tuner(nested_trainable, param_space=NESTED_SPACE,
               run_config=tune.RunConfig(callbacks=[fresh, cb]))  # Ray cloudpickles the callbacks here


def test_get_state_set_state_round_trip(nested_run):
    _, cb, _ = nested_run
    state = pickle.loads(pickle.dumps(cb.get_state()))
    fresh = HpvizCallback(param_space=NESTED_SPACE, metric="loss", mode="min")
    assert fresh.get_state() is None
    fresh.set_state(state)
    assert [(t.number, t.params, t.values) for t in fresh.experiment.trials] == [
        (t.number, t.params, t.values) for t in cb.experiment.trials]
    assert fresh._max_number == 5 and fresh.n_recorded == cb.n_recorded


def test_every_writes_the_report_during_the_run(tmp_path):
    from ray.tune.experiment import Trial

    out = tmp_path / "live.html"
    cb = HpvizCallback(param_space={"x": tune.uniform(0, 1)}, report_path=out, metric="loss", mode="min", every=2,
                       report_options={"views": ["progress"]})
    trials = [Trial("t", config={"x": 0.25 * (k + 1)}, stub=True) for k in range(3)]  # real Trial objects, no run
    for t in trials:
        cb.on_trial_start(iteration=0, trials=trials, trial=t)
    for i in range(2):
        for t in trials:
            cb.on_trial_result(iteration=i, trials=trials, trial=t,
                               result={"loss": t.config["x"] + i, "training_iteration": i + 1, "done": False})
    cb.on_trial_complete(iteration=2, trials=trials, trial=trials[0])
    cb.wait()
    assert not out.exists()  # every=2 counts finished trials, as in every adapter
    cb.on_trial_complete(iteration=2, trials=trials, trial=trials[1])
    cb.wait()  # rendered in the background
    assert out.is_file() and out.stat().st_size > 0
    exp = cb.experiment
    assert [t.state for t in exp.trials] == [TS.COMPLETE, TS.COMPLETE, TS.RUNNING]
    assert [t.values["loss"] for t in exp.trials] == [1.25, 1.5, 1.75]


# --------------------------------------------------------------------------- stable trial objects


def converging_trainable(config):
    # poor configurations (|x| > 1.5) converge after 2 iterations and stop on their own; ASHA stops others
    for step in range(1, (2 if abs(config["x"]) > 1.5 else 8) + 1):
        tune.report({"loss": config["x"] ** 2 + 1.0 / step})


class Probe(tune.Callback):
    """Listed after the HpvizCallback: after each of its hooks, checks that its trials are the same objects
    as at the previous look exactly when their content is the same, and after each finished trial hands
    the snapshot over to a render process's receiver (see trial_identity). Failures are kept, not raised
    (an exception in a callback aborts fit())."""

    def __init__(self, cb: HpvizCallback, folder: Path):
        self.cb, self.folder, self.errors = cb, folder, []
        self.identity = self.handovers = None  # made in the driver: Ray pickles callbacks at Tuner()

    def _look(self, trial, handover: bool = False) -> None:
        from trial_identity import Handovers, Identity

        if self.identity is None:
            self.identity, self.handovers = Identity(self.cb), Handovers(self.cb, self.folder)
        try:
            rec = self.cb._records.get(trial.trial_id)
            self.identity.look(None if rec is None else rec["number"])
            if handover:
                self.handovers.handover()
        except AssertionError as exc:
            self.errors.append(exc)

    def on_trial_start(self, iteration, trials, trial, **info):
        self._look(trial)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self._look(trial)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._look(trial, handover=True)


def test_asha_run_keeps_the_objects_of_unchanged_trials_and_hands_over_only_changed_ones(tmp_path):
    # Results arrive over iterations, ASHA stops trials, some stop on their own: after every hook, each
    # trial is the very object of the previous refresh unless its content changed; a trial that finished
    # at 2 iterations is COMPLETE until a longer trial passes it, then PRUNED (re-derived, a new object)
    space = {"x": tune.grid_search([2.0, 0.1, 3.0, 0.3, 2.5, 0.2, -2.0])}
    cb = HpvizCallback(param_space=space, metric="loss", mode="min")
    probe = Probe(cb, tmp_path)
    grid = _fit(converging_trainable, space, tmp_path, "stable", [cb, probe], num_samples=1, max_concurrent=1,
                scheduler=ASHAScheduler(max_t=8, grace_period=1, reduction_factor=2))
    assert grid.num_errors == 0 and not probe.errors, probe.errors
    ident = probe.identity
    assert ident.looks >= 20 and ident.kept > ident.changed > 0
    assert (0, "COMPLETE", "PRUNED") in ident.rederived  # trial 0 (2 iterations) once trial 1 passed it
    exp = cb.experiment
    assert exp.trials[0].state is TS.PRUNED and exp.trials[0].budget == 2
    assert {TS.COMPLETE, TS.PRUNED} == {t.state for t in exp.trials}
    offline = {t.attrs["trial_id"]: t.state for t in hpviz.experiment(grid).trials}
    assert {t.attrs["trial_id"]: t.state for t in exp.trials} == offline
    sent = probe.handovers.sent
    assert len(sent) == 7 and sent[0] == (1, 1) and all(s <= 3 for s, _ in sent[1:])
    assert sum(s for s, _ in sent) < sum(n for _, n in sent) / 2
    again = {t.number: t for t in cb.experiment.trials}
    assert all(again[t.number] is t for t in exp.trials)  # nothing changed: the same objects


def test_background_reports_hand_over_only_the_trials_that_changed(tmp_path, monkeypatch):
    import re

    from ray.tune.experiment import Trial

    import hpviz.recording as recording

    monkeypatch.setattr(recording, "RENDER_FIRST_DELAY", 0.0)
    out = tmp_path / "bg.html"
    cb = HpvizCallback(param_space={"x": tune.uniform(0, 1)}, report_path=out, metric="loss", mode="min", every=2,
                       report_options={"views": ["progress", "curves"]})
    trials = [Trial("t", config={"x": 0.1 * (k + 1)}, stub=True) for k in range(7)]  # real Trial objects

    def run(k: int, steps: int, complete: bool = True) -> None:
        cb.on_trial_start(iteration=0, trials=trials, trial=trials[k])
        for i in range(1, steps + 1):
            cb.on_trial_result(iteration=i, trials=trials, trial=trials[k],
                               result={"loss": trials[k].config["x"] + 1.0 / i, "training_iteration": i})
        if complete:
            cb.on_trial_complete(iteration=steps, trials=trials, trial=trials[k])

    run(0, 3)
    run(1, 1)  # every=2: a request, rendered in the background process
    cb.wait()
    assert cb._worker.last_handover == (2, 2)
    first = {t.number: t for t in cb.experiment.trials}
    assert [t.state for t in first.values()] == [TS.COMPLETE, TS.PRUNED]  # the longest trial so far: 3 iterations
    run(2, 2)
    run(3, 3)
    cb.wait()
    assert cb._worker.last_handover == (2, 4)  # trials 0 and 1 did not change: not sent
    second = {t.number: t for t in cb.experiment.trials}
    assert second[0] is first[0] and second[1] is first[1]
    run(4, 4)  # the longest is now 4 iterations: trials 0 and 3 (3 iterations) become PRUNED
    run(5, 2, complete=False)  # still running, with a curve
    run(6, 1)
    cb.wait()
    # sent: 0 and 3 (re-derived), 4 and 6 (finished), 5 (running: its log is copied into each snapshot)
    assert cb._worker.last_handover == (5, 7)
    third = {t.number: t for t in cb.experiment.trials}
    assert third[1] is second[1] and third[2] is second[2]
    assert third[0] is not second[0] and (second[0].state, third[0].state) == (TS.COMPLETE, TS.PRUNED)
    assert third[3].state is TS.PRUNED and third[4].state is TS.COMPLETE
    background = out.read_text()
    final = cb.report(tmp_path / "final.html").read_text()
    images = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    assert len(images.findall(background)) >= 2 and images.findall(background) == images.findall(final)
    cb.next_round(hpviz.SearchSpace({"x": hpviz.Float(0.0, 0.5)}))
    cb.on_trial_result(iteration=3, trials=trials, trial=trials[5], result={"loss": 0.5, "training_iteration": 3})
    cb.on_trial_complete(iteration=3, trials=trials, trial=trials[5])  # 3 iterations: below the longest, 4
    fourth = {t.number: t for t in cb.experiment.trials}
    assert all(fourth[n] is third[n] for n in (0, 1, 2, 3, 4, 6))  # a new round changes none of the others
    assert fourth[5].state is TS.PRUNED and fourth[5].round == 0


def test_nan_inf_and_missing_metric_values():
    from ray.tune.experiment import Trial

    cb = HpvizCallback(param_space={"x": tune.uniform(0, 1)}, metric="loss", mode="min")
    trials = [Trial("t", config={"x": 0.1 * (k + 1)}, stub=True) for k in range(4)]
    reported = [math.nan, math.inf, None, 0.5]
    for t, loss in zip(trials, reported):
        cb.on_trial_start(iteration=0, trials=trials, trial=t)
        result = {"training_iteration": 1, "acc": 0.1} if loss is None else {"loss": loss, "training_iteration": 1}
        cb.on_trial_result(iteration=1, trials=trials, trial=t, result=result)
        cb.on_trial_complete(iteration=1, trials=trials, trial=t)
    exp = cb.experiment
    assert [t.state for t in exp.trials] == [TS.COMPLETE] * 4
    assert math.isnan(exp.trials[0].values["loss"]) and exp.trials[1].values["loss"] == math.inf
    assert exp.trials[2].values == {} and exp.trials[2].log.metrics() == ["acc"]
    assert exp.best().number == 3  # NaN, inf and missing values never win


def test_callback_argument_errors():
    with pytest.raises(hpviz.SchemaError, match="mode"):
        HpvizCallback(mode="maximize")
    with pytest.raises(hpviz.SchemaError, match="every"):
        HpvizCallback(every=0)
    with pytest.raises(hpviz.InsufficientDataError):
        HpvizCallback().report()


def test_empty_callback_experiment_is_empty():
    exp = HpvizCallback(metric="loss", mode="max").experiment
    assert len(exp.trials) == 0 and exp.objectives == {"loss": "max"}


# --------------------------------------------------------------------------- space conversion


def test_from_tune_maps_every_domain():
    space, notes = from_tune_with_notes({
        "u": tune.uniform(-1, 2), "lu": tune.loguniform(1e-4, 1e-1), "qu": tune.quniform(0, 1, 0.25),
        "qlu": tune.qloguniform(1, 100, 1), "ri": tune.randint(0, 10), "lri": tune.lograndint(1, 1000),
        "qri": tune.qrandint(0, 10, 2), "qri1": tune.qrandint(0, 10, 1), "qlri": tune.qlograndint(2, 64, 2),
        "c": tune.choice(["a", 1, None]), "g": tune.grid_search([1, 2, 3]), "const": 3, "n": tune.randn(0, 1),
        "f": tune.sample_from(lambda spec: 1), "deep": {"er": {"x": tune.uniform(0, 1)}},
    })
    assert space == hpviz.SearchSpace({
        "u": hpviz.Float(-1, 2), "lu": hpviz.Float(1e-4, 1e-1, log=True), "qu": hpviz.Float(0, 1, step=0.25),
        "qlu": hpviz.Float(1, 100, log=True, step=1.0), "ri": hpviz.Int(0, 9), "lri": hpviz.Int(1, 999, log=True),
        "qri": hpviz.Int(0, 10, step=2), "qri1": hpviz.Int(0, 9), "qlri": hpviz.Int(2, 64, log=True, step=2),
        "c": hpviz.Categorical(["a", 1, None]), "g": hpviz.Categorical([1, 2, 3]),
        "deep.er.x": hpviz.Float(0, 1),
    })
    assert any(n.startswith("n:") for n in notes) and any(n.startswith("f:") for n in notes)
    with pytest.raises(hpviz.SchemaError):
        from_tune([1, 2])


def _describe(native: dict, prefix: str = "") -> dict:
    """Native param_space -> comparable description of each distribution."""
    from ray.tune.search import sample

    out = {}
    for k, v in native.items():
        if isinstance(v, dict) and "grid_search" not in v:
            out.update(_describe(v, f"{prefix}{k}."))
        elif isinstance(v, sample.Categorical):
            out[prefix + k] = ("choice", tuple(v.categories))
        else:
            s = v.get_sampler()
            q = getattr(s, "q", None)
            inner = s.get_sampler() if q is not None else s
            upper = v.upper
            if isinstance(v, sample.Integer) and q in (None, 1):
                q, upper = None, v.upper - 1  # randint == qrandint(q=1): exclusive upper
            out[prefix + k] = (type(v).__name__, v.lower, upper, type(inner).__name__, q)
    return out


def test_native_round_trip():
    native = {
        "lr": tune.loguniform(1e-5, 1e-1), "x": tune.uniform(-2, 2), "q": tune.quniform(0, 10, 0.5),
        "n": tune.randint(1, 8), "ln": tune.lograndint(4, 512), "qn": tune.qrandint(10, 100, 10),
        "opt": {"kind": tune.choice(["adam", "sgd"]), "beta": tune.qloguniform(0.1, 10, 0.1)},
    }
    back = to_tune(from_tune(native))
    assert _describe(back) == _describe(native)
    assert set(back["opt"]) == {"kind", "beta"}
    assert from_tune(back) == from_tune(native)


def test_to_tune_via_hook_and_name_clash():
    pm = hpviz.plugins.make_plugin_manager()
    native = pm.hook.hpviz_export_space(space=CONFORMANCE_SPACE, framework="ray")
    assert from_tune(native) == CONFORMANCE_SPACE
    with pytest.raises(hpviz.SchemaError, match="clash"):
        to_tune(hpviz.SearchSpace({"a": hpviz.Float(0, 1), "a.b": hpviz.Float(0, 1)}))


def test_infer_space_from_records():
    recs = []
    for i, (lr, units, act) in enumerate([(1e-4, 8, "relu"), (1e-1, 64, "tanh"), (1e-3, 16, "relu")]):
        rec = new_record(f"t_{i:05d}", i, {"lr": lr, "m": {"units": units, "act": act}, "c": 1},
                         searched=["lr", "m/units", "m/act"])
        rec["status"] = "TERMINATED"
        log_result(rec, {"loss": float(i), "training_iteration": 1}, 8)
        recs.append(rec)
    space = infer_space(recs)
    assert space.inferred
    assert space == hpviz.SearchSpace({"lr": hpviz.Float(1e-4, 1e-1, log=True), "m.units": hpviz.Int(8, 64),
                                      "m.act": hpviz.Categorical(["relu", "tanh"])})
    exp = build_experiment(recs, space=None, metric=None, mode=None)
    assert exp.objectives == {"loss": "min"} and exp.best().number == 0


def test_dict_valued_choice_stays_one_parameter():
    rec = new_record("t_00000", 0, {"opt": {"a": 1}, "x": 0.5, "c": 3}, searched={"opt/a": 1, "x": 0.5})
    rec["status"] = "TERMINATED"
    log_result(rec, {"loss": 1.0, "training_iteration": 1}, 8)
    space = from_tune({"opt": tune.choice([{"a": 1}, {"a": 2}]), "x": tune.uniform(0, 1)})
    exp = build_experiment([rec], space=space, metric="loss", mode="min")
    assert exp.trials[0].params == {"opt": {"a": 1}, "x": 0.5} and not exp.flags()
    assert exp.trials[0].attrs["config"] == {"c": 3}


# --------------------------------------------------------------------------- plugin, CLI, demo


def test_plugin_does_not_import_ray_and_ignores_foreign_objects(tmp_path):
    code = ("import sys, hpviz_raytune.plugin as p; "
            "assert p.hpviz_to_experiment(obj=object(), options={}) is None; "
            f"assert p.hpviz_to_experiment(obj={str(tmp_path)!r}, options={{}}) is None; "
            "assert p.hpviz_export_space(space=None, framework='optuna') is None; "
            "import hpviz_raytune; assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_package_exports_callback_lazily():
    import hpviz_raytune

    assert hpviz_raytune.HpvizCallback is HpvizCallback
    assert callable(hpviz_raytune.run_demo) and "HpvizCallback" in dir(hpviz_raytune)


def test_unknown_object_is_unsupported():
    with pytest.raises(hpviz.UnsupportedObjectError):
        hpviz.experiment(ray.tune.search.sample.Float(0, 1))


def test_cli_report_on_experiment_dir(nested_run, tmp_path):
    pytest.importorskip("hpviz.reporting")
    from hpviz.cli import main

    grid, _, _ = nested_run
    out = tmp_path / "report.html"
    assert main(["report", "--ray-experiment", grid.experiment_path, "-o", str(out), "--quiet", "--trust"]) == 0
    assert out.is_file() and out.stat().st_size > 0
    # the positional SOURCE with the core --trust flag, and with Ray options that qualify it
    positional = tmp_path / "positional.html"
    assert main(["report", grid.experiment_path, "-o", str(positional), "--quiet", "--trust"]) == 0
    assert positional.is_file() and positional.stat().st_size > 0
    qualified = tmp_path / "qualified.html"
    metric = next(iter(hpviz.experiment(grid.experiment_path, trust=True).objectives))
    assert main(["report", grid.experiment_path, "--ray-metric", metric, "-o", str(qualified), "--quiet",
                 "--trust"]) == 0
    assert qualified.is_file()


def test_demo_runs_two_rounds(tmp_path):
    from hpviz_raytune.demo import run_demo

    exp = run_demo(n_trials=3, rounds=2, seed=0, workdir=tmp_path, n_epochs=3)
    assert len(exp.rounds) == 2 and len(exp.trials) == 6
    assert [t.round for t in exp.trials] == [0] * 3 + [1] * 3
    assert exp.objectives == {"val_accuracy": "max"}
    assert all(t.state in (TS.COMPLETE, TS.PRUNED) for t in exp.trials)
    assert all(0.0 <= t.values["val_accuracy"] <= 1.0 for t in exp.trials)
    assert all(math.isfinite(t.budget) and 1 <= t.budget <= 3 for t in exp.trials)
    assert (tmp_path / "ray_results" / "hpviz-demo-round2").is_dir()


def test_compat_reads_the_private_ray_attributes(tmp_path):
    from ray.train._internal.storage import StorageContext
    from ray.tune.experiment import Trial

    from hpviz_raytune._compat import trial_storage, tuner_callbacks

    trial = Trial("t", config={}, stub=True,
                  storage=StorageContext(storage_path=str(tmp_path), experiment_dir_name="exp"))
    fs_path, locations, name = trial_storage(trial)
    assert name == "exp" and fs_path.endswith("exp") and locations[-1][0] == fs_path
    assert trial_storage(Trial("t", config={}, stub=True)) is None
    cb = HpvizCallback(param_space={"x": tune.uniform(0, 1)})
    tuner = tune.Tuner(tiny_trainable, param_space={"x": tune.uniform(0, 1)},
                       run_config=tune.RunConfig(name="compat", storage_path=str(tmp_path), callbacks=[cb]))
    assert [type(c) for c in tuner_callbacks(tuner)] == [HpvizCallback]
    assert HpvizCallback.from_tuner(tuner) is not None
