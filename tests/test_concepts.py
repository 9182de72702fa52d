"""The shared private modules: one implementation per concept, and the rule each one states."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import hpviz
from hpviz import Categorical, Experiment, Float, Int, ReservoirLog, SchemaError, Trial
from hpviz._columns import rankable, running_best, trial_columns, unorient
from hpviz._configs import config_groups
from hpviz._expected import expected_best_of, expected_max
from hpviz._metrics import experiment_log_metric, log_curve, log_metric
from hpviz._numbers import MISSING, as_float, choice_codes, fmt, fmt_value, numeric_column, pct
from hpviz._pareto import nondominated, weakly_dominated
from hpviz._severity import SEVERITIES, severity_rank
from hpviz._validate import Interval, Options, check, check_int, check_options, check_real
from hpviz._warn import warn


def test_validator_messages_name_parameter_allowed_values_and_given():
    assert check_int("k", 3, 1) == 3 and check_real("alpha", 0.5, 0, 1, "neither") == 0.5
    with pytest.raises(SchemaError, match=r"^k must be an integer in \[1, inf\), got 0$"):
        check_int("k", 0, 1)
    with pytest.raises(SchemaError, match=r"^k must be an integer in \[1, inf\), got 2.0$"):
        check_int("k", 2.0, 1)
    with pytest.raises(SchemaError, match=r"^alpha must be a number in \(0, 1\), got 1$"):
        check_real("alpha", 1, 0, 1, "neither")
    with pytest.raises(SchemaError, match=r"got nan"):
        check_real("alpha", math.nan)
    with pytest.raises(SchemaError, match=r"^mode must be one of 'min', 'max', got 'maximize'$"):
        check("mode", "maximize", Options(("min", "max")))
    with pytest.raises(SchemaError, match=r"^flag must be True or False, got 1$"):
        check("flag", 1, bool)
    assert check("band", None, None, Interval(float, 0, 1)) is None
    assert check_int("n", np.int64(4), 1) == 4
    with pytest.raises(TypeError, match=r"report\(\) got unexpected keyword argument 'format'; allowed: path, views"):
        check_options("report()", {"format": "pdf"}, ["path", "views"])
    check_options("report()", {"path": "x"}, ["path", "views"])


def test_running_best_and_rankable_rule():
    assert running_best(np.array([3.0, np.nan, 2.0, 5.0])).tolist() == [3.0, 3.0, 2.0, 2.0]
    assert np.isnan(unorient(np.array([np.inf, -2.0]), "max")[0]) and unorient(np.array([-2.0]), "max")[0] == 2.0
    t_ok = Trial(0, {"x": 1}, {"y": 1.0})
    assert rankable(t_ok, "y") and not rankable(Trial(1, {}, {"y": 1.0}, feasible=False), "y")
    assert not rankable(Trial(2, {}, {"y": math.inf}), "y") and not rankable(Trial(3, {}, {"y": 1.0}, "PRUNED"), "y")
    exp = Experiment({"x": Float(0, 1)}, {"y": "max"}, [t_ok, Trial(1, {"x": 0.5}, {"y": 2.0}, feasible=False)])
    cols = trial_columns(exp)
    assert cols.usable.tolist() == [True, True] and cols.rankable.tolist() == [True, False]
    assert cols.loss.tolist() == [-1.0, -2.0] and cols.numeric("x").tolist() == [1.0, 0.5]


def test_one_logged_metric_rule():
    log = ReservoirLog(8)
    log.append(0, acc=0.1, value=2.0)
    t = Trial(0, {}, {"loss": 1.0}, log=log)
    assert log_metric(t, "loss") == "value"  # the objective is not logged: the bare value stands for it
    only_acc = ReservoirLog(8)
    only_acc.append(0, acc=0.1)
    t2 = Trial(1, {}, {"loss": 1.0}, log=only_acc)
    assert log_metric(t2, "loss") is None and log_curve(t2, "loss") is None  # never another metric
    assert log_metric(t2, "acc") == "acc" and experiment_log_metric([t2, t], "loss") == "value"
    both = ReservoirLog(8)
    both.append(1, loss=3.0)
    both.append(0, loss=4.0)
    steps, vals = log_curve(Trial(2, {}, {}, log=both), "loss")
    assert steps.tolist() == [0.0, 1.0] and vals.tolist() == [4.0, 3.0]


def test_one_same_configuration_rule():
    space = {"x": Float(0, 1e9), "s": Float(0, 1, step=0.1), "c": Categorical([1, 1.0, True])}
    trials = [Trial(i, p) for i, p in enumerate([
        {"x": 0.1 + 0.2, "s": 0.1, "c": 1}, {"x": 0.3, "s": 0.1000000001, "c": 1},  # same: noise only
        {"x": 0.30001, "s": 0.1, "c": 1},  # x differs (a range-relative tolerance would merge it)
        {"x": 0.3, "s": 0.1, "c": 1.0},  # 1.0 is another choice than 1
        {"x": 0.3, "s": 0.1},  # c inactive
        {"x": 0.3, "s": 0.1, "c": 1, "extra": "a"}, {"x": 0.3, "s": 0.1, "c": 1, "extra": "b"},  # undeclared: exact
    ])]
    assert config_groups(space, trials).tolist() == [0, 0, 1, 2, 3, 4, 5]


def test_numbers_parse_and_format():
    assert math.isnan(as_float(True)) and math.isnan(as_float("1")) and as_float(np.float32(2)) == 2.0
    assert np.isnan(numeric_column([1, MISSING, "a", None, False])[1:]).all()
    assert fmt(3.0) == "3" and fmt(0.123456) == "0.123" and fmt(math.nan) == "nan"
    assert fmt_value("relu") == "'relu'" and fmt_value(0.000123456) == "0.0001235" and pct(0.004) == "0.4%"


def test_choice_codes_agree_with_categorical_index_value_by_value():
    from hpviz import Categorical

    # 1, True and 1.0 are three different choices; None is a choice; MISSING (inactive) and undeclared are -1.
    plain = Categorical(["a", 1, True, None])
    raw = ["a", 1, True, None, MISSING, "b", 1.0, False, np.str_("a"), np.int64(1)]
    assert choice_codes(plain, raw).tolist() == [plain.index(v) if v is not MISSING else -1 for v in raw]
    assert choice_codes(plain, raw).tolist() == [0, 1, 2, 3, -1, -1, -1, -1, -1, -1]
    # One plain type per column (the fast path, a look-up by value): the same answers.
    for raw in (["a", MISSING, "b", "a"], [1, 2, MISSING, 1], [True, False, MISSING], [None, MISSING, None]):
        assert choice_codes(plain, raw).tolist() == [plain.index(v) if v is not MISSING else -1 for v in raw]
    assert choice_codes(Categorical([1, True, 0, False]), [True, False, MISSING]).tolist() == [1, 3, -1]
    assert choice_codes(Categorical([1, True, 0, False]), [1, 0, MISSING]).tolist() == [0, 2, -1]
    mixed = Categorical([0.5, float("nan"), (1, 2), "x"])  # floats, NaN, tuples: the general path
    raw = [0.5, float("nan"), (1, 2), "x", MISSING, 0.25, 1]
    assert choice_codes(mixed, raw).tolist() == [0, 1, 2, 3, -1, -1, -1]


def test_pareto_dominance_and_expected_max():
    pts = np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [1.0, 2.0]])
    assert nondominated(pts).tolist() == [True, True, False, True]
    assert weakly_dominated(np.array([2.0, 2.0]), pts[:2]) and not weakly_dominated(np.array([0.0, 5.0]), pts[:2])
    v = np.array([3.0, 1.0, 2.0])
    # best of 2 draws with replacement, lowest: P(min=1)=5/9, P(min=2)=3/9, P(min=3)=1/9
    assert expected_best_of(v, 2, "min") == pytest.approx((5 * 1 + 3 * 2 + 1 * 3) / 9)
    assert expected_best_of(v, 2, "max") == pytest.approx(-expected_best_of(-v, 2, "min"))
    assert expected_max(np.sort(v), np.arange(1, 4) / 3, [1])[0] == pytest.approx(2.0)


def test_severity_order_and_warnings_at_the_callers_line():
    assert [severity_rank(s) for s in SEVERITIES] == [0, 1, 2] and severity_rank("odd") == 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn("careful", hpviz.InsufficientDataWarning)
    assert caught[0].filename == __file__ and issubclass(caught[0].category, hpviz.HpvizWarning)
    assert issubclass(hpviz.HpvizWarning, UserWarning) and issubclass(hpviz.InferredSpaceWarning, hpviz.HpvizWarning)


def test_importance_result_table():
    from hpviz.testing import make_experiment

    space = {"x": Float(-2, 2), "k": Int(1, 5)}
    imp = hpviz.importance(make_experiment(40, hpviz.SearchSpace(space), lambda p: p["x"] ** 2, seed=0), n_trees=8)
    table = imp.to_dataframe()
    assert table["param"].tolist() == list(imp.individual.index) and table.loc[0, "param"] == "x"
    pairs = imp.to_dataframe(pairwise=True)
    assert list(pairs.columns) == ["a", "b", "importance", "std", "p_value"] and len(pairs) == 1
