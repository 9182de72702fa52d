"""Trial schema: validation names the field, out-of-space and inactive values are flagged, not rejected."""

import datetime as dt
import math

import pytest

import hpviz
from hpviz import Categorical, Experiment, Float, Int, SchemaError, SearchSpace, Trial, TrialState


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Float(1.0, 1.0), "Float.low"),
        (lambda: Float(2.0, 1.0), "Float.low"),
        (lambda: Float(0.0, 1.0, log=True), "Float.low"),
        (lambda: Float(-1.0, 1.0, log=True), "Float.low"),
        (lambda: Float(float("nan"), 1.0), "Float.low"),
        (lambda: Float(0.0, float("inf")), "Float.high"),
        (lambda: Float(0.0, 1.0, step=0.0), "Float.step"),
        (lambda: Int(5, 5), "Int.low"),
        (lambda: Int(0, 10, log=True), "Int.low"),
        (lambda: Int(0, 10, step=0), "Int.step"),
        (lambda: Int(0.5, 10), "Int.low"),
        (lambda: Categorical([]), "Categorical.choices"),
        (lambda: Categorical(["a", "a"]), "Categorical.choices"),
        (lambda: Categorical("abc"), "Categorical.choices"),
        (lambda: SearchSpace({"x": (0, 1)}), "SearchSpace['x']"),
        (lambda: Trial(-1, {}, {}), "Trial.number"),
        (lambda: Trial(0, {}, {"loss": "bad"}), "Trial.values['loss']"),
        (lambda: Trial(0, {}, {}, state="DONE"), "Trial.state"),
        (lambda: Trial(0, {}, {}, started="yesterday"), "Trial.started"),
        (lambda: Experiment({}, {"loss": "minimize"}), "Experiment.objectives['loss']"),
        (lambda: Experiment({}, {}), "Experiment.objectives"),
    ],
)
def test_bad_input_names_the_field(make, field):
    with pytest.raises(SchemaError) as info:
        make()
    assert field in str(info.value)


def test_schema_errors_are_value_errors():
    with pytest.raises(ValueError):
        Float(1.0, 0.0)


def test_duplicate_trial_numbers_are_rejected_and_replace_updates():
    exp = Experiment({"x": Float(0, 1)}, {"loss": "min"})
    exp.add(Trial(0, {"x": 0.5}, {}, TrialState.RUNNING))
    with pytest.raises(SchemaError, match="duplicate Trial.number 0"):
        exp.add(Trial(0, {"x": 0.5}, {"loss": 1.0}))
    exp.add(Trial(0, {"x": 0.5}, {"loss": 1.0}), replace=True)
    assert exp.trials[0].state is TrialState.COMPLETE and len(exp) == 1


def test_categorical_keeps_types_distinct():
    c = Categorical([1, 1.0, True, "1", None])
    assert [c.index(v) for v in (1, 1.0, True, "1", None)] == [0, 1, 2, 3, 4]
    assert c.index(False) == -1
    assert c != Categorical([1.0, 1, True, "1", None])


def test_out_of_space_inactive_and_undeclared_are_flagged_not_rejected():
    space = SearchSpace({"x": Float(0, 1), "n": Int(1, 4), "act": Categorical(["relu", "tanh"])})
    exp = Experiment(space, {"loss": "min"})
    exp.add(Trial(0, {"x": 2.0, "n": 2, "act": "relu"}, {"loss": 1.0}))
    exp.add(Trial(1, {"x": 0.5, "act": "gelu", "extra": 3}, {"loss": 2.0}))
    exp.add(Trial(2, {"x": 0.5, "n": 2.5, "act": "tanh"}, {"loss": 0.5}))
    flags = {(f.number, f.param, f.kind) for f in exp.flags()}
    assert flags == {
        (0, "x", "out-of-space"),
        (1, "n", "inactive"),
        (1, "act", "out-of-space"),
        (1, "extra", "undeclared"),
        (2, "n", "out-of-space"),
    }
    assert len(exp.trials) == 3


def test_best_respects_direction_state_and_nan():
    trials = [
        Trial(0, {}, {"acc": 0.7, "time": 5.0}),
        Trial(1, {}, {"acc": 0.9, "time": 9.0}),
        Trial(2, {}, {"acc": math.nan, "time": 1.0}),
        Trial(3, {}, {"acc": 0.99}, state=TrialState.PRUNED),
        Trial(4, {}, {"acc": 0.8, "time": 0.5}),
        Trial(5, {}, {"acc": 0.8, "time": 0.5}),
    ]
    exp = Experiment({}, {"acc": "max", "time": "min"}, trials)
    assert exp.primary == "acc"
    assert exp.best().number == 1
    assert exp.best("time").number == 4  # ties go to the earlier trial
    assert exp.best("time").number in {t.number for t in exp.completed("time")}
    with pytest.raises(SchemaError, match="unknown objective 'f1'"):
        exp.best("f1")
    assert Experiment({}, "loss").best() is None


def test_to_dataframe_one_row_per_trial_with_nan_for_inactive():
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    exp = Experiment({"x": Float(0, 1), "y": Float(0, 1)}, {"loss": "min"})
    exp.add(Trial(0, {"x": 0.1, "y": 0.2}, {"loss": 1.0}, started=t0, finished=t0 + dt.timedelta(seconds=3)))
    exp.add(Trial(1, {"x": 0.3}, {}, TrialState.FAIL))
    df = exp.to_dataframe()
    assert list(df["number"]) == [0, 1]
    assert list(df["state"]) == ["COMPLETE", "FAIL"]
    assert df.loc[0, "duration"] == 3.0 and math.isnan(df.loc[1, "duration"])
    assert math.isnan(df.loc[1, "params_y"]) and math.isnan(df.loc[1, "values_loss"])
    assert list(df.columns) == ["number", "state", "round", "feasible", "values_loss", "params_x", "params_y",
                                "duration", "budget", "started", "finished"]


def test_to_dataframe_never_lets_a_name_collide():
    # a parameter named "state", an objective named "number", an attribute named "round"
    exp = Experiment({"state": Categorical(["a", "b"]), "number": Int(1, 3)}, {"number": "max"})
    exp.add(Trial(0, {"state": "b", "number": 2}, {"number": 0.5}, TrialState.PRUNED, attrs={"round": 9},
                  feasible=False))
    df = exp.to_dataframe()
    row = df.iloc[0]
    assert row["state"] == "PRUNED" and row["params_state"] == "b"
    assert row["number"] == 0 and row["params_number"] == 2 and row["values_number"] == 0.5
    assert row["round"] == 0 and row["attrs_round"] == 9 and not row["feasible"]
    assert len(set(df.columns)) == len(df.columns)


def test_rounds_record_parent_and_changes():
    exp = Experiment({"x": Float(0, 10)}, "loss")
    exp.add(Trial(0, {"x": 1.0}, {"loss": 1.0}))
    change = hpviz.Change("x", "shrink", Float(0, 10), Float(0, 2), "top trials in [0, 2]")
    rnd = exp.next_round(SearchSpace({"x": Float(0, 2)}), [change])
    assert rnd.index == 1 and rnd.parent_space == SearchSpace({"x": Float(0, 10)})
    exp.add(Trial(1, {"x": 1.5}, {"loss": 0.5}, round=1))
    assert exp.space == SearchSpace({"x": Float(0, 2)})
    assert exp.space_of(exp.trials[0])["x"] == Float(0, 10)
    with pytest.raises(SchemaError, match="Trial.round 5"):
        exp.add(Trial(2, {}, {}, round=5))


def test_search_scale_of_log_params():
    p = Float(1e-5, 1e-1, log=True)
    assert p.search_bounds == pytest.approx((-5.0, -1.0))
    assert p.from_search_scale(p.to_search_scale([1e-3]))[0] == pytest.approx(1e-3)
    assert Int(1, 1024, log=True).search_bounds == pytest.approx((0.0, math.log10(1024)))


def test_best_is_never_an_infeasible_trial():
    exp = Experiment({"x": Float(0, 1)}, {"loss": "min", "acc": "max"})
    exp.add(Trial(0, {"x": 0.1}, {"loss": 0.01, "acc": 0.99}, feasible=False))  # best raw values, infeasible
    exp.add(Trial(1, {"x": 0.2}, {"loss": 0.5, "acc": 0.7}))
    exp.add(Trial(2, {"x": 0.3}, {"loss": 0.4, "acc": 0.6}))
    assert exp.best().number == 2 and exp.best("acc").number == 1
    only = Experiment({"x": Float(0, 1)}, "loss", [Trial(0, {"x": 0.1}, {"loss": 0.0}, feasible=False)])
    assert only.best() is None
