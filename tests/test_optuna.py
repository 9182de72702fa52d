"""The Optuna adapter, on real Optuna studies (tiny ones; nothing mocked)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

import hpviz
from hpviz import Categorical, Change, Float, Int, SearchSpace, TrialState
from hpviz.plugins import make_plugin_manager
from hpviz.testing import CONFORMANCE_SPACE, AdapterConformance, conformance_objective
from hpviz_optuna import HpvizCallback, from_optuna, study_to_experiment, suggest, to_optuna
from hpviz_optuna import plugin as optuna_plugin
from hpviz_optuna.convert import merge_params

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def _conformance_trial(trial: optuna.Trial) -> float:
    params = {
        "x": trial.suggest_float("x", -5.0, 5.0),
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "layers": trial.suggest_int("layers", 1, 4),
        "act": trial.suggest_categorical("act", ["relu", "tanh"]),
    }
    if trial.number == 2:
        raise RuntimeError("the conformance run's trial 2 fails")
    return conformance_objective(params)


class TestOptunaConformance(AdapterConformance):
    framework = "optuna"

    def run(self, tmp_path: Path, n_trials: int) -> tuple[Any, dict[str, Any]]:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
        study.optimize(_conformance_trial, n_trials=n_trials, catch=(RuntimeError,))
        return study, {}

    def export_space(self, space: SearchSpace) -> Any:
        return to_optuna(space)

    def import_space(self, native: Any) -> SearchSpace:
        return from_optuna(native)

    def make_callback(self, **options: Any) -> Any:
        return HpvizCallback(**options)

    def run_recorded(self, tmp_path: Path, callback: Any, n_trials: int) -> tuple[Any, dict[str, Any]]:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(_conformance_trial, n_trials=n_trials, catch=(RuntimeError,), callbacks=[callback])
        assert len(study.trials) == n_trials  # the study ran to the end
        return study, {}


# --------------------------------------------------------------------------- a rich space

RICH_SPACE = SearchSpace({
    "x": Float(-3.0, 3.0),
    "lr": Float(1e-5, 1e-1, log=True),
    "q": Float(0.0, 1.0, step=0.25),
    "units": Int(4, 256, log=True),
    "layers": Int(2, 10, step=2),
    "choice": Categorical([None, True, 1, 2.5, "b"]),
    "model": Categorical(["linear", "tree"]),
    "depth": Int(1, 8),
})


def rich_objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
    units = trial.suggest_int("units", 4, 256, log=True)
    layers = trial.suggest_int("layers", 2, 10, step=2)
    choice = trial.suggest_categorical("choice", [None, True, 1, 2.5, "b"])
    model = trial.suggest_categorical("model", ["linear", "tree"])
    value = x**2 + (math.log10(lr) + 3) ** 2 + q + units / 256 + layers / 10 + (choice is None)
    if model == "tree":  # conditional parameter
        value += abs(trial.suggest_int("depth", 1, 8) - 4)
    trial.set_user_attr("tag", f"t{trial.number}")
    return value


def _assert_matches_study(exp: hpviz.Experiment, study: optuna.Study) -> None:
    frozen = study.get_trials(deepcopy=False)
    assert [t.number for t in exp.trials] == [ft.number for ft in frozen]
    names = list(exp.objectives)
    for t, ft in zip(exp.trials, frozen):
        assert t.state.value == ft.state.name
        assert t.params == ft.params  # conditional params absent exactly where Optuna has none
        if ft.values is None:
            assert t.values == {}
        else:
            assert t.values == dict(zip(names, ft.values))
        assert t.attrs == ft.user_attrs
        for ours, theirs in ((t.started, ft.datetime_start), (t.finished, ft.datetime_complete)):
            if theirs is None:
                assert ours is None
            else:  # Optuna's naive local time, as an aware UTC datetime
                assert ours.tzinfo is not None and ours.utcoffset() == dt.timedelta(0)
                assert ours == theirs.astimezone(dt.timezone.utc)
        if ft.intermediate_values:
            steps, values = t.log.series(names[0])
            assert list(steps) == sorted(ft.intermediate_values)
            assert list(values) == [ft.intermediate_values[s] for s in sorted(ft.intermediate_values)]
            assert t.budget == len(ft.intermediate_values)
        else:
            assert t.log is None


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_samplers_convert_exactly(sampler: str) -> None:
    s = optuna.samplers.TPESampler(seed=1) if sampler == "tpe" else optuna.samplers.RandomSampler(seed=1)
    study = optuna.create_study(sampler=s, study_name=f"rich-{sampler}")
    study.optimize(rich_objective, n_trials=25)
    exp = hpviz.experiment(study)
    assert exp.source == "optuna" and exp.name == f"rich-{sampler}"
    assert exp.objectives == {"value": "min"}
    assert exp.space == RICH_SPACE
    assert list(exp.space) == list(RICH_SPACE)  # first-seen order
    _assert_matches_study(exp, study)
    linear = [t for t in exp.trials if t.params["model"] == "linear"]
    assert linear, "the seed should give some linear trials"
    inactive = {(f.number, f.param) for f in exp.flags() if f.kind == "inactive"}
    assert inactive == {(t.number, "depth") for t in linear}
    assert exp.best().number == study.best_trial.number


def test_median_pruner_keeps_learning_curves() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -2.0, 2.0)
        loss = 0.0
        for step in range(8):
            loss = x**2 + 1.0 / (step + 1)
            trial.report(loss, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return loss

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    study.set_metric_names(["loss"])
    cb = HpvizCallback(log_capacity=4)
    study.optimize(objective, n_trials=25, callbacks=[cb])
    exp = hpviz.experiment(study)  # default log capacity keeps all 8 points
    _assert_matches_study(exp, study)
    pruned = [t for t in exp.trials if t.state is TrialState.PRUNED]
    assert pruned, "MedianPruner should prune some of 25 random trials"
    for t in pruned:
        assert t.log is not None and 2 <= t.log.seen < 8 and t.log.metrics() == ["loss"]
        # Optuna stores a pruned trial's last intermediate value as its value
        assert t.values["loss"] == t.log.series("loss")[1][-1]
    # the callback's bounded logs keep the first and the last point of every curve
    for ours, full in zip(cb.experiment.trials, exp.trials):
        assert len(ours.log) <= 4 and ours.log.seen == full.log.seen
        assert ours.log.points()[0] == full.log.points()[0] and ours.log.points()[-1] == full.log.points()[-1]


def test_pruned_study_feeds_diagnose() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -2.0, 2.0)
        for step in range(6):
            trial.report(x**2 + 1.0 / (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x**2

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), pruner=optuna.pruners.MedianPruner(3))
    study.optimize(objective, n_trials=30)
    diagnosis = hpviz.diagnose(study)
    assert all(f.severity in ("info", "warning", "problem") for f in diagnosis.findings)


@pytest.mark.parametrize("names", [None, ["error", "accuracy"]])
def test_multi_objective_nsga2(names: list[str] | None) -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        k = trial.suggest_categorical("k", ["a", "b"])
        return x, (1.0 - x) ** 2 + (0.1 if k == "b" else 0.0)

    study = optuna.create_study(directions=["minimize", "maximize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=0, population_size=6))
    if names:
        study.set_metric_names(names)
    study.optimize(objective, n_trials=18)
    cb_study_names = names or ["value_0", "value_1"]
    exp = hpviz.experiment(study)
    assert exp.objectives == dict(zip(cb_study_names, ["min", "max"]))
    _assert_matches_study(exp, study)
    first, second = cb_study_names
    assert exp.best(first).values[first] == min(t.values[0] for t in study.trials)
    assert exp.best(second).values[second] == max(t.values[1] for t in study.trials)


def test_failures_nan_inf_running_and_waiting(tmp_path: Path) -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        kind = trial.number % 4
        if kind == 1:
            return float("nan")  # Optuna: FAIL, no values
        if kind == 2:
            raise ValueError("boom")  # caught: FAIL, params kept
        if kind == 3:
            return float("inf")  # Optuna: COMPLETE with inf
        return x

    study = optuna.create_study()
    study.optimize(objective, n_trials=8, catch=(ValueError,))
    study.enqueue_trial({"x": 0.5})  # WAITING
    running = study.ask()  # RUNNING (the enqueued trial)
    study.enqueue_trial({"x": 0.25})  # WAITING
    exp = hpviz.experiment(study)
    _assert_matches_study(exp, study)
    by = {t.number: t for t in exp.trials}
    assert [by[n].state for n in range(8)] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL,
                                               TrialState.COMPLETE] * 2
    assert by[1].values == {} and "x" in by[1].params and "x" in by[2].params
    assert by[3].values == {"value": math.inf}
    assert by[running.number].state is TrialState.RUNNING and by[running.number].finished is None
    waiting = [t for t in exp.trials if t.state is TrialState.WAITING]
    assert len(waiting) == 1 and waiting[0].started is None
    assert exp.best().values["value"] == min(study.trials[n].value for n in (0, 4))  # finite only
    back = hpviz.load(exp.save(tmp_path / "exp.json"))
    assert [(t.number, t.state) for t in back.trials] == [(t.number, t.state) for t in exp.trials]
    assert back.trials[3].values == {"value": math.inf}


def test_changed_distributions_are_widened() -> None:
    def objective(trial: optuna.Trial) -> float:
        if trial.number < 3:
            x = trial.suggest_float("x", 0.0, 1.0)
            n = trial.suggest_int("n", 2, 8, step=2)
            c = trial.suggest_categorical("c", ["a", "b"])
        else:  # the user widened the space mid-study
            x = trial.suggest_float("x", -1.0, 2.0)
            n = trial.suggest_int("n", 1, 10)
            c = trial.suggest_categorical("c", ["a", "b"])  # Optuna forbids changing choices in a study
            trial.suggest_float("y", 1e-3, 1.0, log=True)
        return x + n + (c == "a")

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    cb = HpvizCallback()
    study.optimize(objective, n_trials=6, callbacks=[cb])
    expected = SearchSpace({"x": Float(-1.0, 2.0), "n": Int(1, 10), "c": Categorical(["a", "b"]),
                            "y": Float(1e-3, 1.0, log=True)})
    exp = study_to_experiment(study)
    assert exp.space == expected
    assert cb.experiment.space == expected
    assert not [f for f in exp.flags() if f.kind in ("out-of-space", "undeclared")]


def test_merge_params_known_cases() -> None:
    assert merge_params([Int(0, 8, step=2), Int(4, 12, step=2)]) == Int(0, 12, step=2)
    assert merge_params([Int(0, 8, step=2), Int(1, 9, step=2)]) == Int(0, 9)  # grids disagree
    assert merge_params([Float(1e-3, 1.0, log=True), Float(0.5, 2.0)]) == Float(1e-3, 2.0)
    assert merge_params([Float(0.0, 1.0, step=0.25), Float(0.5, 2.0, step=0.25)]) == Float(0.0, 2.0, step=0.25)
    assert merge_params([Int(1, 5), Float(0.5, 2.0)]) == Float(0.5, 5.0)
    assert merge_params([Categorical([1, True]), Categorical([True, "x"])]) == Categorical([1, True, "x"])
    assert merge_params([Categorical([3.0]), Float(0.0, 1.0)]) == Float(0.0, 3.0)  # Optuna's low == high
    mixed = merge_params([Categorical(["a"]), Float(0.0, 1.0)], observed=["a", 0.5])
    assert mixed == Categorical(["a", 0.5])


# --------------------------------------------------------------------------- the callback


def test_callback_matches_converter_and_is_cheap_to_call() -> None:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    cb = HpvizCallback()
    assert len(cb.experiment) == 0 and cb.experiment.framework == "optuna"
    study.optimize(rich_objective, n_trials=15, callbacks=[cb])
    ours, full = cb.experiment, study_to_experiment(study)
    assert ours.space == full.space == RICH_SPACE and ours.objectives == full.objectives
    assert [(t.number, t.state, t.params, t.values, t.started, t.attrs) for t in ours.trials] == [
        (t.number, t.state, t.params, t.values, t.started, t.attrs) for t in full.trials
    ]
    assert cb.n_recorded == 15 and cb.experiment is not ours  # a snapshot per read
    assert cb.experiment.trials[0] is ours.trials[0]  # sharing the frozen trials: converted once, cheap to take


def test_callback_thread_safe_with_n_jobs_2() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        time.sleep(0.002)  # let the two worker threads interleave
        return x * x

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    cb = HpvizCallback()
    stop = threading.Event()
    seen: list[int] = []

    def reader() -> None:  # reads (and so converts) while both workers record
        while not stop.is_set():
            exp = cb.experiment
            seen.append(0 if exp is None else len(exp))
            time.sleep(0.001)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        study.optimize(objective, n_trials=60, n_jobs=2, callbacks=[cb])
    finally:
        stop.set()
        thread.join()
    numbers = [t.number for t in cb.experiment.trials]
    assert numbers == sorted(ft.number for ft in study.trials) == list(range(60))  # none lost, none doubled
    assert all(t.values["value"] == study.trials[t.number].value for t in cb.experiment.trials)
    assert seen == sorted(seen)  # the reader saw a growing, consistent experiment


def test_failing_report_logs_a_warning_and_the_study_continues(tmp_path: Path, caplog: Any) -> None:
    blocker = tmp_path / "file"
    cb = HpvizCallback(report_path=blocker / "sub" / "report.html", every=1)
    blocker.write_text("not a directory")  # the location breaks after construction
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    with caplog.at_level(logging.WARNING, logger="hpviz"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4, callbacks=[cb])
        cb.wait()  # periodic reports render in the background; requests coalesce
    assert len(study.trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    warnings_ = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("hpviz")]
    assert 1 <= len(warnings_) <= 4 and all(r.getMessage().startswith("hpviz:") for r in warnings_)
    assert len(cb.experiment) == 4
    # called directly, report() raises: the user asked for it
    with pytest.raises((OSError, ImportError, hpviz.HpvizError)):
        cb.report()


def test_report_before_any_trial_raises() -> None:
    with pytest.raises(hpviz.InsufficientDataError):
        HpvizCallback().report()
    with pytest.raises(hpviz.SchemaError, match="every"):
        HpvizCallback(every=0)


def test_callback_numbers_sequential_studies_after_each_other() -> None:
    cb = HpvizCallback()
    studies = []
    for seed in (0, 1):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed), study_name=f"s{seed}")
        if seed == 1:  # trials added without callbacks (e.g. a warm start) take numbers 0 and 1
            study.add_trials(studies[0].trials[:2])
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3, n_jobs=seed + 1, callbacks=[cb])
        studies.append(study)
    exp = cb.experiment
    assert [t.number for t in exp.trials] == list(range(6))
    assert [t.params for t in exp.trials] == [t.params for t in studies[0].trials] + [
        t.params for t in studies[1].trials[2:]]
    assert [t.attrs for t in exp.trials[3:]] == [{"optuna_study": "s1", "optuna_number": n} for n in (2, 3, 4)]
    assert exp.trials[0].attrs == {}


def test_rounds_through_the_callback(tmp_path: Path) -> None:
    space1 = SearchSpace({"x": Float(-4.0, 4.0), "act": Categorical(["relu", "tanh", "gelu"])})
    space2 = SearchSpace({"x": Float(-1.0, 2.0), "act": Categorical(["relu", "tanh"])})
    changes = (Change("x", "shrink", space1["x"], space2["x"], "good trials near 0.5"),
               Change("act", "drop-choices", space1["act"], space2["act"], "gelu is worse"))
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    cb = HpvizCallback(space=space1)
    current = space1

    def objective(trial: optuna.Trial) -> float:
        p = suggest(trial, current)
        return (p["x"] - 0.5) ** 2 + (p["act"] == "gelu")

    study.optimize(objective, n_trials=6, callbacks=[cb])
    assert cb.next_round(space2, changes) == 1
    current = space2
    # Optuna forbids new categorical choices within a study: suggest says so clearly
    with pytest.raises(hpviz.SchemaError, match="'act'.*new study"):
        study.optimize(objective, n_trials=1)
    study2 = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study2.optimize(objective, n_trials=5, callbacks=[cb])
    exp = cb.experiment
    assert [t.round for t in exp.trials] == [0] * 6 + [1] * 5
    assert [t.number for t in exp.trials] == list(range(11))
    assert exp.rounds[1].space == space2 and exp.rounds[1].parent_space == space1
    assert exp.rounds[1].changes == changes
    assert all(space2.get("x").contains(t.params["x"]) for t in exp.trials if t.round == 1)
    back = hpviz.load(exp.save(tmp_path / "rounds.json"))
    assert [t.round for t in back.trials] == [t.round for t in exp.trials] and len(back.rounds) == 2


# --------------------------------------------------------------------------- spaces


NATIVE = {
    "f": FloatDistribution(-1.0, 1.0),
    "flog": FloatDistribution(1e-5, 1.0, log=True),
    "fstep": FloatDistribution(0.0, 1.0, step=0.1),
    "i": IntDistribution(1, 9),
    "ilog": IntDistribution(1, 1024, log=True),
    "istep": IntDistribution(0, 20, step=4),
    "cat": CategoricalDistribution([None, True, 1, 1.5, "a"]),
}


def test_space_round_trip_native_hpviz_native() -> None:
    space = from_optuna(NATIVE)
    assert space == SearchSpace({
        "f": Float(-1.0, 1.0), "flog": Float(1e-5, 1.0, log=True), "fstep": Float(0.0, 1.0, step=0.1),
        "i": Int(1, 9), "ilog": Int(1, 1024, log=True), "istep": Int(0, 20, step=4),
        "cat": Categorical([None, True, 1, 1.5, "a"]),
    })
    assert to_optuna(space) == NATIVE
    assert from_optuna(to_optuna(RICH_SPACE)) == RICH_SPACE


def test_log_step_cannot_go_to_optuna() -> None:
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True, step=1e-4), "n": Int(1, 64, log=True, step=2)})
    with pytest.raises(hpviz.SchemaError, match="'lr'.*log"):
        to_optuna(space)
    assert to_optuna(space, drop_log_step=True) == {"lr": FloatDistribution(1e-4, 1e-1, log=True),
                                                    "n": IntDistribution(1, 64, log=True)}
    # the hook is lenient: the report shows a usable native space
    assert optuna_plugin.hpviz_export_space(space=space, framework="optuna") == to_optuna(space, drop_log_step=True)


def test_deprecated_distributions_and_empty_study() -> None:
    from optuna.distributions import IntLogUniformDistribution, LogUniformDistribution, UniformDistribution

    with pytest.warns(FutureWarning):
        old = {"u": UniformDistribution(0.0, 2.0), "l": LogUniformDistribution(1e-3, 1.0),
               "i": IntLogUniformDistribution(1, 64)}
    assert from_optuna(old) == SearchSpace({"u": Float(0.0, 2.0), "l": Float(1e-3, 1.0, log=True),
                                            "i": Int(1, 64, log=True)})
    exp = hpviz.experiment(optuna.create_study(study_name="empty"))
    assert len(exp) == 0 and len(exp.space) == 0 and exp.best() is None and exp.name == "empty"
    with pytest.raises(hpviz.SchemaError, match="Change"):
        HpvizCallback().next_round(RICH_SPACE, changes=["shrink x"])


def test_degenerate_optuna_range_becomes_one_choice() -> None:
    assert from_optuna({"a": FloatDistribution(2.0, 2.0), "b": IntDistribution(3, 3)}) == SearchSpace(
        {"a": Categorical([2.0]), "b": Categorical([3])})


def test_suggest_samples_the_hpviz_space() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sampled = []

    def objective(trial: optuna.Trial) -> float:
        sampled.append(suggest(trial, RICH_SPACE))
        return 0.0

    study.optimize(objective, n_trials=10)
    for ft, params in zip(study.trials, sampled):
        assert ft.distributions == to_optuna(RICH_SPACE)
        assert ft.params == params
        assert all(RICH_SPACE[k].contains(v) for k, v in params.items())
    assert hpviz.experiment(study).space == RICH_SPACE


def test_hooks_through_a_fresh_plugin_manager() -> None:
    pm = make_plugin_manager()
    assert any(a.name == "optuna" and a.available for a in pm.adapter_status)
    assert pm.hook.hpviz_export_space(space=CONFORMANCE_SPACE, framework="optuna") == to_optuna(CONFORMANCE_SPACE)
    assert optuna_plugin.hpviz_export_space(space=CONFORMANCE_SPACE, framework="ray") is None
    assert optuna_plugin.hpviz_to_experiment(obj=object(), options={}) is None
    assert optuna_plugin.hpviz_to_experiment(obj="results.csv", options={}) is None
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(hpviz.experiment(study, plugin_manager=pm)) == 2


# --------------------------------------------------------------------------- storage, processes, CLI

WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import optuna
    from hpviz_optuna import HpvizCallback

    url, name, n_trials, seed, out, me, other = sys.argv[1:]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=url,
                              sampler=optuna.samplers.RandomSampler(seed=int(seed)))
    cb = HpvizCallback()  # per-worker: live log of this worker's trials only

    def objective(trial):
        x = trial.suggest_float("x", -2.0, 2.0)
        for step in range(3):
            trial.report(x * x + 1.0 / (step + 1), step)
        time.sleep(0.01)
        return x * x

    Path(me).touch()
    deadline = time.time() + 60
    while not Path(other).exists() and time.time() < deadline:  # start together
        time.sleep(0.01)
    study.optimize(objective, n_trials=int(n_trials), callbacks=[cb])
    cb.experiment.save(out)
""")


@pytest.fixture(scope="module")
def two_worker_storage(tmp_path_factory: Any) -> tuple[str, str, list[Path]]:
    tmp = tmp_path_factory.mktemp("storage")
    url = f"sqlite:///{tmp / 'study.db'}"
    name = "two-workers"
    optuna.create_study(study_name=name, storage=url)
    optuna.create_study(study_name="other-study", storage=url)
    outs = [tmp / "worker0.json", tmp / "worker1.json"]
    ready = [tmp / "ready0", tmp / "ready1"]
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, name, "12", str(i), str(outs[i]), str(ready[i]),
                          str(ready[1 - i])], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    return url, name, outs


def test_two_processes_on_sqlite_storage(two_worker_storage: tuple[str, str, list[Path]]) -> None:
    url, name, outs = two_worker_storage
    study = optuna.load_study(study_name=name, storage=url)
    exp = hpviz.experiment(study)
    assert [t.number for t in exp.trials] == list(range(24))
    assert all(t.state is TrialState.COMPLETE and t.log is not None and t.log.seen == 3 for t in exp.trials)
    _assert_matches_study(exp, study)
    # each worker's live record holds exactly its own trials: disjoint, together the whole study
    workers = [hpviz.load(p) for p in outs]
    numbers = [{t.number for t in w.trials} for w in workers]
    assert len(numbers[0]) == len(numbers[1]) == 12 and not numbers[0] & numbers[1]
    assert numbers[0] | numbers[1] == set(range(24))
    for w in workers:
        for t in w.trials:
            assert t.values == exp.trials[t.number].values and t.params == exp.trials[t.number].params
    # the workers really ran at the same time
    spans = [(min(t.started for t in w.trials), max(t.finished for t in w.trials)) for w in workers]
    assert max(s for s, _ in spans) < min(e for _, e in spans)
    # from the storage URL, as the CLI does it
    same = hpviz.experiment(url, optuna_storage=url, study=name)
    assert [(t.number, t.values) for t in same.trials] == [(t.number, t.values) for t in exp.trials]


def test_storage_errors_name_the_problem(two_worker_storage: tuple[str, str, list[Path]], tmp_path: Path) -> None:
    url, _, _ = two_worker_storage
    with pytest.raises(hpviz.SchemaError, match="no study named 'nope'.*two-workers"):
        hpviz.experiment(url, optuna_storage=url, study="nope")
    with pytest.raises(hpviz.SchemaError, match="holds 2 studies"):
        hpviz.experiment(url)  # an RDB URL alone is read as an Optuna storage
    missing = tmp_path / "typo.db"
    with pytest.raises(hpviz.SchemaError, match="no such SQLite file"):
        hpviz.experiment(f"sqlite:///{missing}", study="s")
    assert not missing.exists()  # not created as a side effect
    junk = tmp_path / "junk.db"
    junk.write_text("not a database " * 100)
    with pytest.raises(hpviz.UnsupportedObjectError):  # not Optuna's: left for other adapters, untouched
        hpviz.experiment(f"sqlite:///{junk}", study="s")
    with pytest.raises(hpviz.SchemaError, match="not an Optuna storage"):  # explicitly Optuna's: say why not
        hpviz.experiment(f"sqlite:///{junk}", optuna_storage=f"sqlite:///{junk}", study="s")
    assert junk.read_text() == "not a database " * 100
    one = f"sqlite:///{tmp_path / 'one.db'}"
    optuna.create_study(storage=one, study_name="only").optimize(lambda t: t.suggest_int("n", 0, 3), n_trials=2)
    assert len(hpviz.experiment(one)) == 2 and hpviz.experiment(one).name == "only"


def test_cli_reports_an_unknown_study_cleanly(two_worker_storage: tuple[str, str, list[Path]],
                                              tmp_path: Path, capsys: Any) -> None:
    from hpviz.cli import main

    url, _, _ = two_worker_storage
    code = main(["report", "--optuna-storage", url, "--optuna-study", "nope", "-o", str(tmp_path / "r.html")])
    assert code == 1
    assert "no study named 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_cli_report_from_storage(two_worker_storage: tuple[str, str, list[Path]], tmp_path: Path) -> None:
    from hpviz.cli import main

    url, name, _ = two_worker_storage
    out = tmp_path / "report.html"
    assert main(["report", "--optuna-storage", url, "--optuna-study", name, "-o", str(out), "--quiet"]) == 0
    text = out.read_text()
    assert text.lstrip().lower().startswith(("<!doctype html", "<html")) and "data:image" in text


# --------------------------------------------------------------------------- demo


def test_demo_runs_two_rounds_through_the_hook(tmp_path: Path) -> None:
    pm = make_plugin_manager()
    exp = pm.hook.hpviz_run_demo(framework="optuna",
                                 options={"n_trials": 4, "rounds": 2, "seed": 0, "workdir": str(tmp_path)})
    from hpviz.demo import DEMO_OBJECTIVE, DEMO_SPACE

    assert exp.source == "optuna" and exp.objectives == {DEMO_OBJECTIVE: "max"}
    assert len(exp.rounds) == 2 and exp.rounds[0].space == DEMO_SPACE
    assert [t.round for t in exp.trials] == [0] * 4 + [1] * 4
    assert all(t.log is not None and t.log.metrics() == [DEMO_OBJECTIVE] for t in exp.trials)
    for t in exp.trials:
        assert all(exp.space_of(t)[k].contains(v) for k, v in t.params.items())
    assert optuna_plugin.hpviz_run_demo(framework="ray", options={}) is None


def test_callback_writes_periodic_and_on_demand_reports(tmp_path: Path) -> None:
    # report_options reach hpviz.report (one cheap view keeps the test fast)
    (tmp_path / "live").mkdir()  # hpviz writes into existing folders only (docs/report.md, "Output paths")
    cb = HpvizCallback(report_path=tmp_path / "live" / "report.html", every=4,
                       report_options={"views": ["progress"]})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), study_name="periodic")
    study.optimize(rich_objective, n_trials=4, callbacks=[cb])
    cb.wait()  # rendered in the background
    live = (tmp_path / "live" / "report.html").read_text()
    assert "data:image" in live and "periodic" in live
    path = cb.report(tmp_path / "final.html")
    assert path == tmp_path / "final.html" and path.stat().st_size > 0


def test_periodic_reports_send_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the render process keeps the experiment of its last request: each later one hands over only the new
    # trials (pruned and failed ones with their curves too), the rounds and the widened space; its report
    # is the one a full snapshot gives
    import re

    import hpviz.recording as recording

    monkeypatch.setattr(recording, "RENDER_FIRST_DELAY", 0.0)
    cb = HpvizCallback(report_path=tmp_path / "r.html", every=4,
                       report_options={"views": ["progress", "curves", "rounds"]})

    def objective(trial: optuna.Trial) -> float:
        value = rich_objective(trial)
        for step in range(6):
            trial.report(value + 1.0 / (step + 1), step)
        if trial.number % 5 == 3:
            raise optuna.TrialPruned()
        return math.nan if trial.number % 7 == 5 else value  # NaN: a FAIL

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), study_name="incremental")
    study.optimize(objective, n_trials=8, callbacks=[cb])
    cb.wait()
    assert cb._worker.last_handover[1] == 8
    study.optimize(objective, n_trials=4, callbacks=[cb])
    cb.wait()
    assert cb._worker.last_handover == (4, 12)
    narrow = SearchSpace({**cb.experiment.space, "x": Float(-1.0, 1.0)})
    cb.next_round(narrow, [Change("x", "shrink", cb.experiment.space["x"], narrow["x"], "near 0")])
    study2 = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1), study_name="second")
    study2.optimize(objective, n_trials=4, callbacks=[cb])
    cb.wait()
    assert cb._worker.last_handover == (4, 16)
    states = {t.state for t in cb.experiment.trials}
    assert {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL} <= states
    background = (tmp_path / "r.html").read_text()
    final = cb.report(tmp_path / "final.html").read_text()
    images = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    assert len(images.findall(background)) >= 3 and images.findall(background) == images.findall(final)


def test_timestamps_are_utc_whatever_the_local_zone() -> None:
    # Optuna stores naive *local* time; run a study in a process whose zone is UTC+05:30.
    script = textwrap.dedent("""
        import datetime as dt, json
        import optuna, hpviz
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        before = dt.datetime.now(dt.timezone.utc)
        study = optuna.create_study()
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        after = dt.datetime.now(dt.timezone.utc)
        t = hpviz.experiment(study).trials[0]
        print(json.dumps([before.isoformat(), t.started.isoformat(), t.finished.isoformat(), after.isoformat(),
                          study.trials[0].datetime_start.isoformat()]))
    """)
    import json
    import os

    env = {**os.environ, "TZ": "Asia/Kolkata"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, started, finished, after, naive = (dt.datetime.fromisoformat(s) for s in json.loads(out.stdout))
    assert started.utcoffset() == dt.timedelta(0)
    assert before <= started <= finished <= after
    assert naive.tzinfo is None and naive - started.replace(tzinfo=None) == dt.timedelta(hours=5, minutes=30)
