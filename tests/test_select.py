"""Model selection: Pareto fronts against a brute-force check, top-k tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

import hpviz
from hpviz import Experiment, Float, InsufficientDataError, ReservoirLog, SchemaError, Trial, TrialState
from hpviz.analysis.select import nondominated
from hpviz.testing import make_experiment

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def brute_force_front(F: np.ndarray) -> np.ndarray:
    """O(n^2) definition: dominated if some row is <= everywhere and < somewhere (all minimized)."""
    le = (F[:, None, :] <= F[None, :, :]).all(axis=2)  # le[j, i]: row j <= row i everywhere
    lt = (F[:, None, :] < F[None, :, :]).any(axis=2)
    return ~(le & lt).any(axis=0)


def multi_experiment(F: np.ndarray, directions: list[str], *, as_attrs: bool = False) -> Experiment:
    """Trials i with metrics F[i]; objectives m0.. (or attrs m0.. plus one objective 'score')."""
    names = [f"m{j}" for j in range(F.shape[1])]
    objectives = {"score": "min"} if as_attrs else dict(zip(names, directions))
    exp = Experiment({"x": Float(0.0, 1.0)}, objectives, name="multi")
    for i, row in enumerate(F):
        metrics = {n: float(v) for n, v in zip(names, row)}
        if as_attrs:
            exp.add(Trial(i, {"x": 0.5}, {"score": 0.0}, attrs=metrics))
        else:
            exp.add(Trial(i, {"x": 0.5}, metrics))
    return exp


# --------------------------------------------------------------------------- nondominated


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 9, 80, 400])
@pytest.mark.parametrize("ties", [True, False])
def test_nondominated_matches_brute_force(m: int, n: int, ties: bool) -> None:
    rng = np.random.default_rng(1000 * m + n + ties)
    F = rng.integers(0, 5, size=(n, m)).astype(float) if ties else rng.normal(size=(n, m))
    np.testing.assert_array_equal(nondominated(F), brute_force_front(F))


def test_nondominated_large_2d_and_anticorrelated_3d() -> None:
    rng = np.random.default_rng(7)
    F = rng.random((3000, 2))
    np.testing.assert_array_equal(nondominated(F), brute_force_front(F))
    # Points on a plane x+y+z=1: nobody dominates anybody, the whole set is the front.
    P = rng.dirichlet([1.0, 1.0, 1.0], size=500)
    assert nondominated(P).all()
    np.testing.assert_array_equal(nondominated(P), brute_force_front(P))


def test_equal_points_are_all_on_the_front() -> None:
    F = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [1.0, 3.0]])
    np.testing.assert_array_equal(nondominated(F), [True, True, True, False, False])
    F3 = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(nondominated(F3), [True, True, False, True])


# --------------------------------------------------------------------------- pareto_front


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("n", [5, 60, 300])
def test_pareto_front_mixed_directions_and_nan_rows(m: int, n: int) -> None:
    rng = np.random.default_rng(n + m)
    F = rng.integers(0, 6, size=(n, m)).astype(float)
    nan_rows = rng.random(n) < 0.15
    F[nan_rows, rng.integers(0, m, size=int(nan_rows.sum()))] = np.nan
    directions = ["min", "max", "min"][:m]
    result = hpviz.pareto_front(multi_experiment(F, directions))

    ok = ~nan_rows
    signs = np.array([1.0 if d == "min" else -1.0 for d in directions])
    expected = np.flatnonzero(ok)[brute_force_front(F[ok] * signs)]
    assert sorted(result.trials) == expected.tolist()
    assert set(result.excluded) == set(np.flatnonzero(nan_rows).tolist())
    assert result.objectives == dict(zip([f"m{j}" for j in range(m)], directions))
    # .all holds every finite candidate with a consistent flag; .frame holds the metric columns.
    assert len(result.all) == ok.sum()
    assert sorted(result.all.loc[result.all["on_front"], "number"]) == expected.tolist()
    assert list(result.frame.columns[:m + 1]) == ["number", *result.objectives]
    first = result.frame["m0"].to_numpy()
    assert (np.diff(first) >= 0).all()  # m0 is minimized: best (lowest) first


def test_pareto_front_over_attrs_and_duration() -> None:
    exp = Experiment({"x": Float(0.0, 1.0)}, {"loss": "min"})
    # (accuracy, seconds): 0 and 1 trade off, 2 is dominated by 1, 3 fails, 4 has no accuracy.
    rows = [(0.9, 50.0), (0.8, 10.0), (0.7, 20.0), (0.95, 1.0), (None, 1.0)]
    for i, (acc, secs) in enumerate(rows):
        state = TrialState.FAIL if i == 3 else TrialState.COMPLETE
        attrs = {} if acc is None else {"accuracy": acc, "tag": "not-a-number"}
        exp.add(Trial(i, {"x": 0.1 * i}, {"loss": 1.0 - (acc or 0.0)}, state, attrs=attrs,
                      started=T0, finished=T0 + dt.timedelta(seconds=secs)))
    front = hpviz.pareto_front(exp, {"accuracy": "max", "duration": "min"})
    assert front.trials == (0, 1)  # best accuracy first
    assert front.excluded == (4,)
    assert front.frame["duration"].tolist() == [50.0, 10.0]
    assert "x" in front.frame.columns
    # Objectives given by name take the experiment's direction.
    assert hpviz.pareto_front(exp, {"loss": None, "duration": "minimize"}).trials == (0, 1, 4)


def test_pareto_front_defaults_to_the_experiment_objectives(tmp_path) -> None:
    F = np.array([[1.0, 1.0], [2.0, 2.0], [0.5, 0.5], [3.0, 3.0]])
    exp = multi_experiment(F, ["min", "max"])
    result = hpviz.pareto_front(exp)
    assert result.trials == (2, 0, 1, 3)  # all trade off; lowest m0 first
    signs = np.array([1.0, -1.0])
    assert sorted(result.trials) == np.flatnonzero(brute_force_front(F * signs)).tolist()
    # A saved path is accepted like the experiment itself.
    path = exp.save(tmp_path / "multi.json")
    assert hpviz.pareto_front(path).trials == result.trials
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.trials = ()  # type: ignore[misc]


def test_pareto_front_errors() -> None:
    single = make_experiment(10)
    with pytest.raises(SchemaError, match="two or more"):
        hpviz.pareto_front(single)
    with pytest.raises(SchemaError, match="unknown metric 'nope'"):
        hpviz.pareto_front(single, {"value": "min", "nope": "min"})
    with pytest.raises(SchemaError, match="direction of metric 'duration'"):
        hpviz.pareto_front(single, ["value", "duration"])
    with pytest.raises(SchemaError, match="'min' or 'max'"):
        hpviz.pareto_front(single, {"value": "min", "duration": "down"})
    with pytest.raises(SchemaError, match="two or more"):
        hpviz.pareto_front(single, {"value": "min"})
    empty = Experiment({"x": Float(0.0, 1.0)}, {"a": "min", "b": "max"})
    with pytest.raises(InsufficientDataError):
        hpviz.pareto_front(empty)
    failed = multi_experiment(np.array([[np.nan, 1.0], [2.0, np.inf]]), ["min", "min"])
    with pytest.raises(InsufficientDataError, match="no COMPLETE, feasible trial with finite"):
        hpviz.pareto_front(failed)


# --------------------------------------------------------------------------- top_k


def curve_log(tail: list[float]) -> ReservoirLog:
    log = ReservoirLog(capacity=64, seed=0)
    for step, v in enumerate([5.0, 4.0, 3.0, *tail]):
        log.append(step, loss=v)
    return log


def test_top_k_order_columns_and_states() -> None:
    exp = Experiment({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}, {"loss": "min", "acc": "max"})
    losses = [0.5, 0.2, 0.2, 0.9, 0.1, math.nan, 0.05, 0.3]
    for i, v in enumerate(losses):
        state = TrialState.PRUNED if i == 6 else TrialState.COMPLETE
        params = {"x": i / 10} if i == 1 else {"x": i / 10, "y": 0.5}  # trial 1: y inactive
        exp.add(Trial(i, params, {"loss": v, "acc": 1 - v}, state, attrs={"size": 10 * i, "y": "clash"},
                      started=T0, finished=T0 + dt.timedelta(seconds=i)))
    table = hpviz.top_k(exp, k=4)
    # Lowest loss first; equal losses by trial number; PRUNED (6) and NaN (5) left out.
    assert table["number"].tolist() == [4, 1, 2, 7]
    assert table.index.tolist() == [1, 2, 3, 4] and table.index.name == "rank"
    assert list(table.columns) == ["number", "loss", "acc", "x", "y", "duration", "size", "stability"]
    assert math.isnan(table.loc[2, "y"])
    assert table["size"].tolist() == [40.0, 10.0, 20.0, 70.0]
    assert table["stability"].isna().all()  # no logs
    # Another objective, max direction; k larger than the candidates returns them all.
    by_acc = hpviz.top_k(exp, k=100, objective="acc")
    assert by_acc["number"].tolist() == [4, 1, 2, 7, 0, 3]


def test_top_k_where_constraint() -> None:
    exp = Experiment({"x": Float(0.0, 1.0)}, {"acc": "max"})
    # (accuracy, seconds): the best fast trial is 2.
    for i, (acc, secs) in enumerate([(0.95, 120.0), (0.90, 100.0), (0.88, 30.0), (0.80, 10.0), (0.85, 59.0)]):
        exp.add(Trial(i, {"x": i / 10}, {"acc": acc}, started=T0, finished=T0 + dt.timedelta(seconds=secs)))
    fast = hpviz.top_k(exp, k=2, where=lambda t: t.duration < 60)
    assert fast["number"].tolist() == [2, 4]
    assert hpviz.top_k(exp, k=2, where="duration < 60 and x > 0.25")["number"].tolist() == [4, 3]
    none = hpviz.top_k(exp, where="duration < 1")
    assert none.empty and "stability" in none.columns
    with pytest.raises(SchemaError, match="where="):
        hpviz.top_k(exp, where="no_such_column < 3")
    with pytest.raises(SchemaError, match="where must be"):
        hpviz.top_k(exp, where=42)  # type: ignore[arg-type]


def test_top_k_stability_from_learning_curves() -> None:
    exp = Experiment({"x": Float(0.0, 1.0)}, {"loss": "min"})
    a = 0.3
    exp.add(Trial(0, {"x": 0.1}, {"loss": 1.0}, log=curve_log([1.0] * 5)))  # flat tail
    exp.add(Trial(1, {"x": 0.2}, {"loss": 0.9}, log=curve_log([a, -a, a, -a, a])))  # oscillating tail
    exp.add(Trial(2, {"x": 0.3}, {"loss": 1.1}))  # no log
    table = hpviz.top_k(exp).set_index("number")
    assert table.loc[0, "stability"] == pytest.approx(0.0, abs=1e-12)
    # Sample sd of (a, -a, a, -a, a) is a * sqrt(1.2).
    assert table.loc[1, "stability"] == pytest.approx(a * math.sqrt(1.2))
    assert math.isnan(table.loc[2, "stability"])
    # A window of 2 only sees the last two points (-a, a): sd = a * sqrt(2).
    narrow = hpviz.top_k(exp, stability_window=2).set_index("number")
    assert narrow.loc[1, "stability"] == pytest.approx(a * math.sqrt(2.0))


def test_top_k_on_synthetic_curves_and_errors() -> None:
    exp = make_experiment(30, log_steps=40, prune_rate=0.2, seed=3)
    table = hpviz.top_k(exp, k=5)
    best = exp.best()
    assert table.iloc[0]["number"] == best.number
    assert (np.diff(table["value"].to_numpy()) >= 0).all()
    assert table["stability"].notna().all() and (table["stability"] >= 0).all()
    with pytest.raises(SchemaError, match="unknown objective"):
        hpviz.top_k(exp, objective="nope")
    with pytest.raises(SchemaError, match="k must be"):
        hpviz.top_k(exp, k=0)
    with pytest.raises(InsufficientDataError):
        hpviz.top_k(Experiment({"x": Float(0.0, 1.0)}, {"value": "min"}))
    only_failed = Experiment({"x": Float(0.0, 1.0)}, {"value": "min"},
                             [Trial(0, {"x": 0.1}, {}, TrialState.FAIL), Trial(1, {"x": 0.2}, {"value": math.inf})])
    with pytest.raises(InsufficientDataError, match="no COMPLETE, feasible trial"):
        hpviz.top_k(only_failed)
    assert isinstance(table, pd.DataFrame)


def test_infeasible_trials_are_never_on_the_front_or_in_the_top_k() -> None:
    import dataclasses

    pts = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])  # row 0 dominates all, but is infeasible
    exp = multi_experiment(pts, ["min", "min"])
    exp = exp.with_trials(dataclasses.replace(t, feasible=t.number != 0) for t in exp.trials)
    front = hpviz.pareto_front(exp)
    assert set(front.trials) == {1, 2} and front.infeasible == (0,)
    assert front.to_dataframe()["number"].tolist() == list(front.trials)
    top = hpviz.top_k(exp, k=4)
    assert 0 not in top["number"].tolist() and top["number"].tolist()[0] in (1, 2)
    everything_infeasible = exp.with_trials(dataclasses.replace(t, feasible=False) for t in exp.trials)
    with pytest.raises(InsufficientDataError, match="feasible"):
        hpviz.top_k(everything_infeasible)
    with pytest.raises(InsufficientDataError, match="4 infeasible"):
        hpviz.pareto_front(everything_infeasible)


def test_top_k_argument_messages_name_the_parameter() -> None:
    exp = multi_experiment(np.array([[0.0, 1.0], [1.0, 0.0]]), ["min", "min"])
    with pytest.raises(SchemaError, match=r"k must be an integer in \[1, inf\), got 0"):
        hpviz.top_k(exp, k=0)
    with pytest.raises(SchemaError, match=r"stability_window must be an integer in \[2, inf\), got True"):
        hpviz.top_k(exp, stability_window=True)
    with pytest.raises(SchemaError, match="where must be None or a callable or a string, got 3"):
        hpviz.top_k(exp, where=3)
