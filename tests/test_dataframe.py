"""Tables in and out: Experiment.to_dataframe, hpviz.from_dataframe and hpviz.experiment(df)."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest

import hpviz
from hpviz import Categorical, Experiment, Float, Int, SearchSpace, Trial, TrialState
from hpviz.testing import make_experiment

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def test_round_trip_through_to_dataframe():
    exp = make_experiment(30, seed=0, prune_rate=0.2, fail_rate=0.1)
    exp.add(Trial(30, {"x": 0.5, "lr": 1e-3, "units": 16, "act": "relu"}, {"value": 0.1}, attrs={"gpu": "a100"},
                  feasible=False, budget=3.0))
    back = hpviz.from_dataframe(exp.to_dataframe(), exp.space, objectives={"value": "min"})
    assert [t.number for t in back.trials] == [t.number for t in exp.trials]
    for a, b in zip(exp.trials, back.trials):
        assert a.params == b.params and a.state is b.state and a.feasible == b.feasible
        assert a.values == b.values or (not a.values and not b.values)
        assert a.started == b.started and a.finished == b.finished and a.budget == b.budget
    assert back.trials[-1].attrs == {"gpu": "a100"} and not back.space.inferred
    assert back.best().number == exp.best().number != 30  # the infeasible 0.1 is never the best


def test_inferred_space_is_flagged_and_warned_at_the_callers_line():
    df = pd.DataFrame({"params_x": [0.1, 0.7, 0.4], "params_n": [1, 3, 2], "params_act": ["a", "b", "a"],
                       "values_loss": [1.0, 2.0, 0.5]})
    with pytest.warns(hpviz.InferredSpaceWarning, match="inferred") as record:
        exp = hpviz.from_dataframe(df, objectives={"loss": "min"})
    assert record[0].filename == __file__
    assert exp.space.inferred
    assert exp.space == SearchSpace({"x": Float(0.1, 0.7), "n": Int(1, 3), "act": Categorical(["a", "b"])})


def test_optuna_trials_dataframe_single_and_multi_objective():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", -2, 2)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        if kind == "b":
            trial.suggest_int("depth", 1, 4)  # conditional
        if x > 1.5:
            raise optuna.TrialPruned()
        return x**2

    study.optimize(objective, n_trials=25)
    df = study.trials_dataframe()
    exp = hpviz.experiment(df, objectives={"value": "min"}, space={"x": Float(-2, 2), "kind": Categorical(["a", "b"]),
                                                                  "depth": Int(1, 4)})
    assert [t.number for t in exp.trials] == [t.number for t in study.trials]
    for ours, theirs in zip(exp.trials, study.trials):
        assert ours.params == theirs.params  # inactive depth stays absent
        assert ours.state.value == theirs.state.name
        assert ours.started is not None and ours.finished is not None
    assert exp.best().params == study.best_params

    multi = optuna.create_study(directions=["minimize", "maximize"], sampler=optuna.samplers.RandomSampler(seed=0))
    multi.set_metric_names(["loss", "acc"])
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=10)
    with pytest.warns(hpviz.InferredSpaceWarning):
        exp = hpviz.from_dataframe(multi.trials_dataframe(), objectives={"loss": "min", "acc": "max"})
    assert [t.values["acc"] for t in exp.trials] == [t.values[1] for t in multi.trials]


def test_mlflow_search_runs_layout():
    # the columns mlflow.search_runs() returns: strings for params, runs newest first, status names
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    df = pd.DataFrame({
        "run_id": ["c", "b", "a"], "experiment_id": ["1"] * 3, "status": ["FINISHED", "FAILED", "FINISHED"],
        "start_time": [t0 + pd.Timedelta(seconds=20), t0 + pd.Timedelta(seconds=10), t0],
        "end_time": [t0 + pd.Timedelta(seconds=25), t0 + pd.Timedelta(seconds=12), t0 + pd.Timedelta(seconds=5)],
        "metrics.val_loss": [0.3, np.nan, 0.5], "metrics.train_loss": [0.2, np.nan, 0.4],
        "params.lr": ["0.01", "0.1", "0.001"], "params.layers": ["2", "3", "1"], "params.opt": ["adam", "sgd", "adam"],
        "tags.mlflow.runName": ["r3", "r2", "r1"],
    })
    space = SearchSpace({"lr": Float(1e-4, 1.0, log=True), "layers": Int(1, 4), "opt": Categorical(["adam", "sgd"])})
    exp = hpviz.experiment(df, space=space, objectives={"val_loss": "min"})
    assert [t.attrs["mlflow.runName"] for t in exp.trials] == ["r1", "r2", "r3"]  # numbered by start time
    assert exp.trials[0].params == {"lr": 0.001, "layers": 1, "opt": "adam"}
    assert [t.state for t in exp.trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE]
    assert exp.trials[2].attrs["train_loss"] == 0.2 and exp.trials[0].duration == 5.0
    assert hpviz.top_k(exp, 1)["number"].tolist() == [2]


def test_wandb_export_plain_and_prefixed_names():
    prefixed = pd.DataFrame({"name": ["r1", "r2"], "state": ["finished", "crashed"],
                             "config.lr": [0.01, 0.1], "summary.acc": [0.9, np.nan], "_runtime": [10, 3]})
    with pytest.warns(hpviz.InferredSpaceWarning):
        exp = hpviz.from_dataframe(prefixed, objectives={"acc": "max"})
    assert list(exp.space) == ["lr"] and [t.state for t in exp.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    plain = pd.DataFrame({"lr": [0.01, 0.1, 0.05], "units": [32, 64, 32], "accuracy": [0.9, 0.8, 0.95]})
    exp = hpviz.from_dataframe(plain, SearchSpace({"lr": Float(1e-3, 1), "units": Int(16, 128)}),
                               objectives={"accuracy": "max"})
    assert exp.best().params == {"lr": 0.05, "units": 32}


def test_bad_tables_are_schema_errors_naming_the_column():
    df = pd.DataFrame({"x": [0.1, 0.2], "loss": ["0.5", "oops"]})
    with pytest.raises(hpviz.SchemaError, match="column 'loss' must hold numbers, got 'oops'"):
        hpviz.from_dataframe(df, {"x": Float(0, 1)}, objectives={"loss": "min"})
    with pytest.raises(hpviz.SchemaError, match="objective 'acc'.*metric columns"):
        hpviz.from_dataframe(df, {"x": Float(0, 1)}, objectives={"acc": "max"})
    with pytest.raises(hpviz.SchemaError, match="objectives= as a mapping"):
        hpviz.from_dataframe(df, {"x": Float(0, 1)})
    with pytest.raises(hpviz.SchemaError, match="'min' or 'max', got 'maximize'"):
        hpviz.from_dataframe(df, {"x": Float(0, 1)}, objectives={"loss": "maximize"})
    with pytest.raises(hpviz.SchemaError, match="unknown trial state 'zombie'"):
        hpviz.from_dataframe(pd.DataFrame({"x": [0.1], "loss": [1.0], "state": ["zombie"]}), {"x": Float(0, 1)},
                             objectives={"loss": "min"})
    with pytest.raises(hpviz.SchemaError, match="duplicates"):
        hpviz.from_dataframe(pd.DataFrame({"number": [0, 0], "x": [0.1, 0.2], "loss": [1.0, 2.0]}),
                             {"x": Float(0, 1)}, objectives={"loss": "min"})
    with pytest.raises(TypeError, match="unexpected keyword argument 'spcae'.*allowed: space, objectives"):
        hpviz.experiment(df, spcae={"x": Float(0, 1)}, objectives={"loss": "min"})


def test_a_fresh_plugin_manager_has_the_dataframe_adapter():
    from hpviz.plugins import make_plugin_manager

    pm = make_plugin_manager(load_entry_points=False)
    df = pd.DataFrame({"x": [0.1, 0.2], "loss": [1.0, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hpviz.InferredSpaceWarning)
        exp = hpviz.experiment(df, plugin_manager=pm, objectives={"loss": "min"})
    assert len(exp) == 2 and exp.source == "DataFrame" and exp.framework is None
    assert pm.hook.hpviz_to_experiment(obj=object(), options={}) is None


def test_analyses_accept_a_dataframe_through_experiment():
    exp = make_experiment(40, seed=1)
    df = exp.to_dataframe()
    back = hpviz.experiment(df, space=exp.space, objectives={"value": "min"})
    assert hpviz.diagnose(back).codes == hpviz.diagnose(exp).codes
    assert math.isclose(hpviz.expected_best(back).mean[-1], hpviz.expected_best(exp).mean[-1])


def test_naive_and_epoch_times():
    t0 = dt.datetime(2026, 1, 1)
    df = pd.DataFrame({"x": [0.1, 0.2], "loss": [1.0, 2.0], "start_time": [1767225600000, 1767225610000],
                       "end_time": [1767225605000, 1767225611000]})
    exp = hpviz.from_dataframe(df, {"x": Float(0, 1)}, objectives={"loss": "min"})
    assert exp.trials[0].started == t0.replace(tzinfo=dt.timezone.utc) and exp.trials[0].duration == 5.0


def test_experiment_with_infeasible_and_rounds_round_trip():
    exp = Experiment({"x": Float(0, 1)}, {"loss": "min"})
    exp.add(Trial(0, {"x": 0.1}, {"loss": 0.1}, feasible=False))
    exp.add(Trial(1, {"x": 0.2}, {"loss": 0.2}))
    exp.next_round(exp.space)
    exp.add(Trial(2, {"x": 0.3}, {"loss": 0.3}, round=1))
    back = hpviz.from_dataframe(exp.to_dataframe(), exp.space, objectives={"loss": "min"})
    assert [t.round for t in back.trials] == [0, 0, 1] and len(back.rounds) == 2
    assert back.best().number == 1


def test_optuna_constraints_columns_mark_infeasible_trials():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("xmax", x - 0.5)  # Optuna 5's trial-level constraints
        return -x  # best raw value: the largest x, infeasible

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=20)
    df = study.trials_dataframe()
    exp = hpviz.experiment(df, objectives={"value": "min"}, space={"x": Float(0, 1)})
    assert [t.feasible for t in exp.trials] == [t.params["x"] <= 0.5 for t in study.trials]
    assert exp.trials[0].constraints == {"xmax": pytest.approx(study.trials[0].params["x"] - 0.5)}
    assert exp.best().params["x"] <= 0.5 < max(t.params["x"] for t in study.trials)
    # a sampler's constraints_func (deprecated in Optuna 5) stores one tuple per trial
    df = df.drop(columns=["system_attrs_constraints:xmax"])
    df["system_attrs_constraints"] = [(t.params["x"] - 0.5,) for t in study.trials]
    old = hpviz.experiment(df, objectives={"value": "min"}, space={"x": Float(0, 1)})
    assert [t.feasible for t in old.trials] == [t.feasible for t in exp.trials]
    assert old.trials[0].constraints == {"c0": pytest.approx(study.trials[0].params["x"] - 0.5)}
    # Optuna writes naive local times: they stay naive (taken as given)
    assert exp.trials[0].started.tzinfo is None and exp.trials[0].started == study.trials[0].datetime_start
