"""fANOVA importance: accuracy against analytic answers, data handling, determinism."""

from __future__ import annotations

import math
import warnings

import numpy as np
import optuna
import pytest

import hpviz
from hpviz import Categorical, Experiment, Float, Int, SearchSpace, Trial, TrialState
from hpviz.analysis._fanova import (
    dense_pairs,
    forest_interactions,
    forest_parts,
    surface_gather,
    tree_pairs,
    tree_parts,
)
from hpviz.analysis.importance import MIN_TRIALS, _encode

optuna.logging.set_verbosity(optuna.logging.WARNING)

PI = math.pi


def _ishigami(trial: optuna.Trial) -> float:
    x1 = trial.suggest_float("x1", -PI, PI)
    x2 = trial.suggest_float("x2", -PI, PI)
    x3 = trial.suggest_float("x3", -PI, PI)
    trial.suggest_float("noise_f", 0.0, 1.0)
    trial.suggest_int("noise_i", 1, 10)
    trial.suggest_categorical("noise_c", ["a", "b", "c"])
    return math.sin(x1) + 7.0 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)


@pytest.fixture(scope="module")
def ishigami() -> Experiment:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_ishigami, n_trials=2000)
    return hpviz.experiment(study)


@pytest.fixture(scope="module")
def ishigami_imp(ishigami):
    return hpviz.importance(ishigami, n_trees=64, seed=0)


def _exp(params_list, values, space, states=None):
    states = states or [TrialState.COMPLETE] * len(values)
    trials = [Trial(i, p, {} if v is None else {"value": v}, s)
              for i, (p, v, s) in enumerate(zip(params_list, values, states))]
    return Experiment(SearchSpace(space), {"value": "min"}, trials)


# --------------------------------------------------------------------------- accuracy


def test_ishigami_individual_and_pairwise(ishigami_imp):
    ind, pw = ishigami_imp.individual, ishigami_imp.pairwise
    assert abs(ind["x1"] - 0.3139) < 0.05
    assert 0.28 <= ind["x2"] <= 0.50
    for name in ("x3", "noise_f", "noise_i", "noise_c"):
        assert ind[name] < 0.03, name
    assert abs(pw[("x1", "x3")] - 0.2437) < 0.08
    assert pw[("x1", "x2")] < 0.05
    assert pw[("x2", "x3")] < 0.05
    assert list(ind.index[:2]) == ["x2", "x1"]  # descending
    assert (np.diff(ind.to_numpy()) <= 0).all() and (np.diff(pw.to_numpy()) <= 0).all()


def test_ishigami_not_normalized(ishigami_imp):
    total = ishigami_imp.individual.sum() + ishigami_imp.pairwise.sum()
    assert ishigami_imp.individual.sum() < 0.8  # interactions are not folded into main effects
    assert 0.7 < total <= 1.0 + 1e-9
    assert (ishigami_imp.individual_std >= 0).all() and ishigami_imp.individual_std["x1"] > 0
    assert ishigami_imp.n_used == 2000 and ishigami_imp.n_excluded == 0


def test_ishigami_marginals(ishigami_imp):
    m1, m3 = ishigami_imp.marginal("x2"), ishigami_imp.marginal("noise_f")
    assert list(m1.columns) == ["value", "mean", "std"] and len(m1) == 100
    assert m1["value"].iloc[0] == pytest.approx(-PI) and m1["value"].iloc[-1] == pytest.approx(PI)
    # marginal of x2 is 3.5 - 3.5 cos(2 x2): minima at 0 and +-pi, maxima at +-pi/2
    assert np.ptp(m1["mean"]) > 5.0 and np.ptp(m1["mean"]) > 10 * np.ptp(m3["mean"])
    lowest = abs(m1["value"].iloc[m1["mean"].idxmin()])
    assert lowest < 0.5 or lowest > PI - 0.5
    assert abs(abs(m1["value"].iloc[m1["mean"].idxmax()]) - PI / 2) < 0.5
    mc = ishigami_imp.marginal("noise_c")
    assert list(mc["value"]) == ["a", "b", "c"]
    mi = ishigami_imp.marginal("noise_i")
    assert list(mi["value"]) == list(range(1, 11))
    # every marginal averages to the forest mean (mean of x2's curve ~ E f = 3.5)
    assert m1["mean"].mean() == pytest.approx(3.5, abs=0.4)


def test_marginal2(ishigami_imp):
    m = ishigami_imp.marginal2("x1", "x3")
    assert list(m.columns) == ["value_a", "value_b", "mean", "std"] and len(m) == 25 * 25
    grid = m.pivot(index="value_a", columns="value_b", values="mean").to_numpy()
    # the x1 effect is amplified at |x3| = pi and nearly absent at x3 = 0
    assert np.ptp(grid[:, 0]) > 2 * np.ptp(grid[:, 12])
    swapped = ishigami_imp.marginal2("x3", "x1")
    again = swapped.pivot(index="value_b", columns="value_a", values="mean").to_numpy()
    np.testing.assert_allclose(again, grid)
    cat = ishigami_imp.marginal2("noise_c", "x2")
    assert len(cat) == 3 * 25 and list(cat["value_a"].iloc[[0, 25, 50]]) == ["a", "b", "c"]
    with pytest.raises(hpviz.SchemaError):
        ishigami_imp.marginal2("x1", "nope")
    with pytest.raises(hpviz.SchemaError):
        ishigami_imp.marginal("nope")


@pytest.mark.parametrize("path", ["batched", "several-batches", "single", "blocks", "dense", "interactions"])
def test_tree_decomposition_is_exact(path, monkeypatch):
    """Per tree, compare with brute force over every cell of the tree's split grid.

    The code paths for 2-D grids: small grids batched together, one grid at
    a time, one grid in many row blocks, all grids as blocks of one dense
    matrix product, and the interactions alone from the leaves split in both
    parameters (doubly centred grids, batched across trees).
    """
    from sklearn.tree import DecisionTreeRegressor

    if path == "several-batches":
        monkeypatch.setattr("hpviz.analysis._fanova._MAX_CELLS", 250)
    elif path != "batched":
        monkeypatch.setattr("hpviz.analysis._fanova._SMALL_GRID", 0)
    if path == "blocks":
        monkeypatch.setattr("hpviz.analysis._fanova._MAX_CELLS", 7)

    rng = np.random.default_rng(3)
    space = {"a": Float(0.0, 1.0), "b": Float(1e-3, 1.0, log=True), "c": Categorical(["p", "q", "r"]),
             "d": Int(1, 4)}
    params = [{"a": float(rng.uniform()), "b": float(10 ** rng.uniform(-3, 0)), "c": "pqr"[rng.integers(3)],
               "d": int(rng.integers(1, 5))} for _ in range(60)]
    values = [p["a"] * (p["c"] == "q") + math.log10(p["b"]) ** 2 + p["d"] for p in params]
    exp = _exp(params, values, space)
    enc = _encode(exp, exp.trials)
    tree = DecisionTreeRegressor(random_state=0, max_leaf_nodes=25).fit(enc.X, values)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    parts = tree_parts(tree, enc.lo, enc.hi, enc.grid_points, enc.grid2_points)
    got = {"total": parts.total, "main": parts.main}
    if path == "dense":
        n_points = [g.size for g in enc.grid2_points]
        got["inter"], flat = dense_pairs(parts, pairs, range(4), surface_gather(pairs, range(4), n_points))
        cuts = np.cumsum([n_points[i] * n_points[j] for i, j in pairs])[:-1]
        got["marg2"] = [parts.f0 + s.reshape(n_points[i], n_points[j])
                        for s, (i, j) in zip(np.split(flat, cuts), pairs)]
    else:
        surfaces = {}
        got["inter"] = tree_pairs(parts, pairs, lambda k, s: surfaces.__setitem__(k, parts.f0 + s))
        got["marg2"] = [surfaces[k] for k in range(len(pairs))]
    if path == "interactions":
        other = DecisionTreeRegressor(random_state=1, max_leaf_nodes=40).fit(enc.X, values)
        both = forest_interactions(forest_parts([tree, other], enc.lo, enc.hi, enc.grid_points), pairs)
        np.testing.assert_allclose(both[1], tree_pairs(tree_parts(other, enc.lo, enc.hi, enc.grid_points), pairs),
                                   atol=1e-9)
        # pairs given (j, i), and only some of them: the same interactions
        some = [(j, i) for i, j in pairs[::2]]
        np.testing.assert_allclose(forest_interactions(forest_parts([tree, other], enc.lo, enc.hi, enc.grid_points),
                                                       some), both[:, ::2], atol=1e-12)
        got["inter"] = both[0]

    # Brute force: the tree is constant on every cell of the product of its split grids.
    edges = []
    for j in range(4):
        thr = tree.tree_.threshold[tree.tree_.feature == j]
        edges.append(np.unique(np.clip(np.concatenate([[enc.lo[j], enc.hi[j]], thr]), enc.lo[j], enc.hi[j])))
    mids = np.meshgrid(*[(e[1:] + e[:-1]) / 2 for e in edges], indexing="ij")
    widths = np.meshgrid(*[np.diff(e) / (e[-1] - e[0]) for e in edges], indexing="ij")
    f = tree.predict(np.stack([m.ravel() for m in mids], axis=1)).reshape(mids[0].shape)
    w = np.prod(widths, axis=0)
    f0 = (w * f).sum()
    assert got["total"] == pytest.approx((w * (f - f0) ** 2).sum(), rel=1e-9)
    for j in range(4):
        other = tuple(k for k in range(4) if k != j)
        marg = (w * f).sum(axis=other) / w.sum(axis=other)
        wj = w.sum(axis=other)
        assert got["main"][j] == pytest.approx((wj * (marg - f0) ** 2).sum(), rel=1e-9, abs=1e-12)
    for k, (i, j) in enumerate(pairs):
        other = tuple(m for m in range(4) if m not in (i, j))
        wij = w.sum(axis=other)
        marg = (w * f).sum(axis=other) / wij
        v2 = (wij * (marg - f0) ** 2).sum()
        assert got["inter"][k] == pytest.approx(v2 - got["main"][i] - got["main"][j], abs=1e-9)
        # the 2-D marginal surface, at the evaluation points
        at_i = np.searchsorted(edges[i], enc.grid2_points[i], side="right").clip(1, edges[i].size - 1) - 1
        at_j = np.searchsorted(edges[j], enc.grid2_points[j], side="right").clip(1, edges[j].size - 1) - 1
        np.testing.assert_allclose(got["marg2"][k], marg[np.ix_(at_i, at_j)], atol=1e-9)


def test_categorical_volume_accounting():
    rng = np.random.default_rng(1)
    effect = {"x": 0.0, "y": 3.0, "z": 1.0}
    params = [{"cat": "xyz"[rng.integers(3)], "u": float(rng.uniform())} for _ in range(300)]
    imp = hpviz.importance(_exp(params, [effect[p["cat"]] + 0.3 * p["u"] for p in params],
                                {"cat": Categorical(["x", "y", "z"]), "u": Float(0, 1)}), n_trees=16)
    # Var(cat) = 14/9 over equal-volume choices, Var(u) = 0.09/12
    assert imp.individual["cat"] == pytest.approx((14 / 9) / (14 / 9 + 0.0075), abs=0.02)
    m = imp.marginal("cat").set_index("value")["mean"]
    for choice, eff in effect.items():
        assert m[choice] == pytest.approx(eff + 0.15, abs=0.05)


# --------------------------------------------------------------------------- scales


def _log_objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    y = trial.suggest_float("y", 0.0, 1.0)
    return min(math.log10(lr), -2.0) + 0.79 * y


def test_log_scale_matters():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(_log_objective, n_trials=400)
    exp = hpviz.experiment(study)
    # Analytic on the log scale: Var(lr) = 0.984, Var(y) = 0.052 -> lr explains 0.95.
    imp = hpviz.importance(exp, n_trees=16)
    assert imp.individual["lr"] == pytest.approx(0.95, abs=0.04)
    m = imp.marginal("lr")
    assert m["value"].iloc[0] == pytest.approx(1e-5) and m["value"].iloc[-1] == pytest.approx(0.1)
    assert np.allclose(np.diff(np.log10(m["value"])), 0.04040404)  # a log-spaced grid
    # The same trials analysed as if searched linearly: lr's range below 1e-2 is
    # 10% of the space, so it explains ~0.41 (analytic) instead.
    linear = exp.with_trials(exp.trials)
    linear.next_round(exp.space.replace(lr=Float(1e-5, 1e-1)))
    lin = hpviz.importance(linear, n_trees=16)
    assert lin.individual["lr"] < 0.6


def test_int_params_are_numeric():
    rng = np.random.default_rng(2)
    params = [{"k": int(rng.integers(1, 9)), "u": float(rng.uniform())} for _ in range(200)]
    imp = hpviz.importance(_exp(params, [p["k"] + 0.0 * p["u"] for p in params],
                                {"k": Int(1, 8), "u": Float(0, 1)}), n_trees=8)
    assert imp.individual["k"] > 0.98
    m = imp.marginal("k")
    assert list(m["value"]) == list(range(1, 9))
    np.testing.assert_allclose(m["mean"], np.arange(1, 9), atol=0.05)


# --------------------------------------------------------------------------- data handling


def test_inactive_params_do_not_crash():
    rng = np.random.default_rng(4)
    params, values = [], []
    for _ in range(300):
        kind = "a" if rng.uniform() < 0.5 else "b"
        p = {"kind": kind, "noise": float(rng.uniform())}
        if kind == "a":
            p["x"] = float(rng.uniform(-1, 1))
        params.append(p)
        values.append(2.0 * p["x"] if kind == "a" else 1.0)
    space = {"kind": Categorical(["a", "b"]), "x": Float(-1, 1), "noise": Float(0, 1),
             "never": Float(0, 1)}  # declared but inactive in every trial
    imp = hpviz.importance(_exp(params, values, space), n_trees=16)
    assert imp.inactive["x"] == sum(p["kind"] == "b" for p in params)
    assert imp.inactive["never"] == 300 and imp.inactive["kind"] == 0
    assert np.isfinite(imp.individual).all() and np.isfinite(imp.pairwise).all()
    assert imp.individual["never"] < 1e-12  # never split on: zero up to rounding
    assert imp.individual["x"] > 0.5 and imp.individual["noise"] < 0.03
    assert len(imp.marginal("never")) == 100


def test_excluded_trials_are_counted():
    rng = np.random.default_rng(5)
    space = {"x": Float(0, 1), "y": Float(0, 1)}
    params = [{"x": float(rng.uniform()), "y": float(rng.uniform())} for _ in range(60)]
    values: list = [p["x"] for p in params]
    states = [TrialState.COMPLETE] * 60
    for i in range(0, 5):
        states[i], values[i] = TrialState.FAIL, None
    for i in range(5, 8):
        states[i] = TrialState.PRUNED
    states[8], values[8] = TrialState.RUNNING, None
    values[9], values[10], values[11] = math.nan, math.inf, None
    imp = hpviz.importance(_exp(params, values, space, states), n_trees=8)
    assert imp.n_used == 60 - 12 and imp.n_excluded == 12
    assert imp.excluded == {"FAIL": 5, "PRUNED": 3, "RUNNING": 1, "non-finite": 3}
    assert imp.individual["x"] > 0.9


def test_out_of_space_values_are_clipped():
    rng = np.random.default_rng(6)
    space = {"x": Float(0, 1), "lr": Float(1e-4, 1e-1, log=True), "c": Categorical(["a", "b"])}
    params = [{"x": float(rng.uniform()), "lr": float(10 ** rng.uniform(-4, -1)), "c": "ab"[rng.integers(2)]}
              for _ in range(80)]
    params[0]["x"], params[1]["x"], params[2]["lr"], params[3]["c"] = 7.0, -3.0, 0.0, "zzz"
    values = [p["x"] if 0 <= p["x"] <= 1 else float(np.clip(p["x"], 0, 1)) for p in params]
    imp = hpviz.importance(_exp(params, values, space), n_trees=8)
    assert imp.clipped.to_dict() == {"x": 2, "lr": 1, "c": 0}
    assert imp.inactive["c"] == 1  # an undeclared choice is treated as inactive
    # identical to the result with the values placed on the boundary
    fixed = [dict(p) for p in params]
    fixed[0]["x"], fixed[1]["x"], fixed[2]["lr"] = 1.0, 0.0, 1e-4
    fixed[3].pop("c")
    ref = hpviz.importance(_exp(fixed, values, space), n_trees=8)
    np.testing.assert_allclose(imp.individual.sort_index(), ref.individual.sort_index())


def test_insufficient_data():
    space = {"x": Float(0, 1)}
    params = [{"x": i / 20} for i in range(20)]
    values = [float(i) for i in range(20)]
    states = [TrialState.COMPLETE] * (MIN_TRIALS - 1) + [TrialState.FAIL] * (21 - MIN_TRIALS)
    with pytest.raises(hpviz.InsufficientDataError) as info:
        hpviz.importance(_exp(params, values, space, states))
    assert info.value.have == MIN_TRIALS - 1 and info.value.need == MIN_TRIALS
    assert str(MIN_TRIALS) in str(info.value)
    with pytest.raises(hpviz.InsufficientDataError) as info:
        hpviz.importance(Experiment(SearchSpace(space), "value"))
    assert info.value.have == 0


def test_bad_arguments():
    rng = np.random.default_rng(7)
    params = [{"x": float(rng.uniform())} for _ in range(20)]
    exp = _exp(params, [p["x"] for p in params], {"x": Float(0, 1)})
    with pytest.raises(hpviz.SchemaError, match="objective"):
        hpviz.importance(exp, "nope")
    with pytest.raises(hpviz.SchemaError, match="n_trees"):
        hpviz.importance(exp, n_trees=0)
    with pytest.raises(hpviz.UnsupportedObjectError):
        hpviz.importance(object())
    empty = Experiment(SearchSpace({}), "value", [Trial(i, {}, {"value": float(i)}) for i in range(20)])
    with pytest.raises(hpviz.InsufficientDataError, match="parameter"):
        hpviz.importance(empty)
    for bad in ("top:1", "top:x", "all", 3):
        with pytest.raises(hpviz.SchemaError, match="pairs must be"):
            hpviz.importance(exp, pairs=bad)
    with pytest.raises(hpviz.SchemaError, match="max_trials"):
        hpviz.importance(exp, max_trials=5)


def test_pair_screening_keeps_a_pure_interaction():
    """pairs="top:K" pairs the parameters with the largest impurity importance: a product of two
    centred parameters (no main effects) is kept, the noise parameters are dropped."""
    rng = np.random.default_rng(11)
    space = {f"n{k}": Float(0, 1) for k in range(8)} | {"a": Float(-1, 1), "b": Float(-1, 1)}
    params = [{k: float(rng.uniform(-1, 1) if k in "ab" else rng.uniform()) for k in space} for _ in range(600)]
    values = [p["a"] * p["b"] for p in params]
    imp = hpviz.importance(_exp(params, values, space), pairs="top:3", n_trees=16)
    assert {"a", "b"} <= set(imp.pair_params) and len(imp.pair_params) == 3
    assert len(imp.pairwise) == 3 and imp.pairwise.index[0] == ("a", "b") and imp.pairwise.iloc[0] > 0.2
    assert max(imp.individual["a"], imp.individual["b"]) < 0.1
    noise = next(k for k in space if k not in imp.pair_params)
    with pytest.raises(hpviz.SchemaError, match="not computed"):
        imp.marginal2("a", noise)
    assert len(imp.marginal2("b", "a")) == 25 * 25
    auto = hpviz.importance(_exp(params, values, space), n_trees=4)  # "auto": all pairs up to 24 params
    assert len(auto.pairwise) == 45 and len(auto.pair_params) == 10


def test_stratified_sample_keeps_the_estimate():
    """max_trials fits on a sample stratified on the objective: n_fit says so; the shares stay close."""
    rng = np.random.default_rng(12)
    space = {"x": Float(0, 1), "y": Float(0, 1), "z": Float(0, 1)}
    params = [{k: float(rng.uniform()) for k in space} for _ in range(3000)]
    values = [4 * p["x"] + 2 * p["y"] + float(rng.normal(0, 0.1)) for p in params]
    exp = _exp(params, values, space)
    full = hpviz.importance(exp, n_trees=16, max_trials=None)
    part = hpviz.importance(exp, n_trees=16, max_trials=1000)
    assert full.n_fit == full.n_used == 3000 and part.n_fit == 1000 and part.n_used == 3000
    for k in space:
        assert part.individual[k] == pytest.approx(full.individual[k], abs=0.03)
    assert part.individual["x"] == pytest.approx(16 / 20, abs=0.05)


def test_constant_objective_warns_and_gives_zeros():
    rng = np.random.default_rng(8)
    space = {"x": Float(0, 1), "c": Categorical(["a", "b"])}
    params = [{"x": float(rng.uniform()), "c": "ab"[rng.integers(2)]} for _ in range(30)]
    with pytest.warns(UserWarning, match="constant"):
        imp = hpviz.importance(_exp(params, [2.5] * 30, space))
    assert (imp.individual == 0).all() and (imp.pairwise == 0).all() and (imp.individual_std == 0).all()
    assert len(imp.pairwise) == 1
    m = imp.marginal("x")
    assert (m["mean"] == 2.5).all() and (m["std"] == 0).all()


def test_multi_objective_picks_objective():
    rng = np.random.default_rng(9)
    space = SearchSpace({"x": Float(0, 1), "y": Float(0, 1)})
    trials = []
    for i in range(100):
        x, y = float(rng.uniform()), float(rng.uniform())
        trials.append(Trial(i, {"x": x, "y": y}, {"loss": x, "latency": 10 * y}))
    exp = Experiment(space, {"loss": "min", "latency": "max"}, trials)
    primary = hpviz.importance(exp, n_trees=8, pairs=False)
    assert primary.objective == "loss" and primary.individual.index[0] == "x"
    other = hpviz.importance(exp, "latency", n_trees=8, pairs=False)
    assert other.objective == "latency" and other.individual.index[0] == "y"
    assert len(other.pairwise) == 0
    with pytest.raises(hpviz.SchemaError, match="pairs=True"):
        other.marginal2("x", "y")


def test_deterministic_under_seed():
    rng = np.random.default_rng(10)
    space = {"x": Float(0, 1), "y": Float(0, 1), "c": Categorical(["a", "b", "c"])}
    params = [{"x": float(rng.uniform()), "y": float(rng.uniform()), "c": "abc"[rng.integers(3)]}
              for _ in range(150)]
    values = [math.sin(6 * p["x"]) * p["y"] + (p["c"] == "b") for p in params]
    exp = _exp(params, values, space)
    a = hpviz.importance(exp, n_trees=8, seed=3)
    b = hpviz.importance(exp, n_trees=8, seed=3)
    c = hpviz.importance(exp, n_trees=8, seed=4)
    assert a.individual.equals(b.individual) and a.pairwise.equals(b.pairwise)
    assert a.marginal("x").equals(b.marginal("x"))
    assert not a.individual.sort_index().equals(c.individual.sort_index())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hpviz.importance(exp, n_trees=2, seed=0)


@pytest.mark.parametrize("d, n", [(2, 300), (10, 1200), (1, 40), (30, 250)])
def test_trees_are_those_of_scikit_learns_forest(d, n):
    """The trees hpviz fits (two threads, no per-tree cloning) are those of scikit-learn's ensemble with the
    same settings and seed (RandomForestRegressor for best splits, ExtraTreesRegressor for random ones):
    per-tree seeds, bootstrap draws (d <= 2), feature subsampling and leaf sizes alike, and the same
    impurity importance."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    from hpviz.analysis.importance import _fit_forest, _forest_options

    rng = np.random.default_rng(d)
    X = rng.random((n, d))
    y = np.sin(6 * X[:, 0]) + X[:, -1] ** 2 + rng.normal(0, 0.1, n)
    ours = _fit_forest(X, y, 12, 7)
    options = _forest_options(n, d)
    ensemble = RandomForestRegressor if options.pop("splitter") == "best" else ExtraTreesRegressor
    ref = ensemble(n_estimators=12, random_state=7, **options).fit(X, y)
    assert len(ours.estimators_) == 12
    for a, b in zip(ours.estimators_, ref.estimators_):
        for field in ("children_left", "feature", "threshold", "value"):
            assert np.array_equal(getattr(a.tree_, field), getattr(b.tree_, field))
    np.testing.assert_array_equal(ours.feature_importances_, ref.feature_importances_)


def test_equal_seeds_give_byte_identical_results_whichever_thread_fits_which_tree():
    """The trees grow on two threads that share one generator each; which thread fits which tree varies from
    call to call, so a tree keeping that generator would pickle differently each time (results cached or
    hashed by their bytes would never match). The fitted trees carry their own seed, as a forest's do."""
    import pickle

    rng = np.random.default_rng(3)
    space = SearchSpace({f"x{i}": Float(0.0, 1.0) for i in range(6)})
    trials = [Trial(i, {f"x{j}": float(v) for j, v in enumerate(row)}, {"value": float(row[0] * row[1] + row[2])})
              for i, row in enumerate(rng.random((120, 6)))]
    exp = Experiment(space, {"value": "min"}, trials)
    first = pickle.dumps(hpviz.importance(exp, pairs=True, n_trees=32))
    assert all(pickle.dumps(hpviz.importance(exp, pairs=True, n_trees=32)) == first for _ in range(3))


def test_trees_decomposed_as_they_grow_give_the_whole_forests_results():
    """The forest is decomposed in batches of trees as they finish growing; chunks of any size give the same
    numbers, bit for bit, as the whole forest at once (every sum adds the same terms in the same order)."""
    from hpviz.analysis._fanova import decompose_forest
    from hpviz.analysis.importance import _grow_forest

    rng = np.random.default_rng(12)
    space = {"a": Float(0.0, 1.0), "b": Float(1e-3, 1.0, log=True), "c": Categorical(["p", "q", "r"]),
             "d": Int(1, 4)}
    params = [{"a": float(rng.uniform()), "b": float(10 ** rng.uniform(-3, 0)), "c": "pqr"[rng.integers(3)],
               "d": int(rng.integers(1, 5))} for _ in range(120)]
    for p in params[::4]:  # inactive in some trials: sentinel splits, leaves of zero volume
        del p["a"]
    values = [p.get("a", 0.5) * (p["c"] == "q") + math.log10(p["b"]) ** 2 + p["d"] for p in params]
    exp = _exp(params, values, space)
    enc = _encode(exp, exp.trials)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    growing = _grow_forest(enc.X, np.array(values), 10, 0)
    streamed = decompose_forest(growing.batches(3), enc.lo, enc.hi, enc.grid_points, enc.grid2_points, pairs,
                                surfaces=False)
    trees = growing.result().estimators_
    whole = decompose_forest(trees, enc.lo, enc.hi, enc.grid_points, enc.grid2_points, pairs, surfaces=False)
    uneven = decompose_forest(iter([trees[:1], trees[1:7], trees[7:]]), enc.lo, enc.hi, enc.grid_points,
                              enc.grid2_points, pairs, surfaces=False)
    for dec in (streamed, uneven):
        assert dec.n_trees == 10 and dec.total == whole.total
        for field in ("main", "inter"):
            for stat in ("mean", "m2"):
                np.testing.assert_array_equal(getattr(getattr(dec, field), stat), getattr(getattr(whole, field), stat))
        for a, b in zip(dec.marg1, whole.marg1):
            np.testing.assert_array_equal(a.mean, b.mean)


def test_accepts_a_saved_experiment(tmp_path):
    rng = np.random.default_rng(11)
    params = [{"x": float(rng.uniform()), "y": float(rng.uniform())} for _ in range(40)]
    exp = _exp(params, [p["y"] ** 2 for p in params], {"x": Float(0, 1), "y": Float(0, 1)})
    path = exp.save(tmp_path / "exp.json")
    from_file = hpviz.importance(path, n_trees=4)
    direct = hpviz.importance(exp, n_trees=4)
    assert from_file.individual.index[0] == "y"
    assert from_file.individual.equals(direct.individual)


def test_huge_ranges_do_not_overflow():
    # scikit-learn's trees work in float32; a linear range up to 1e40 must not reach them raw
    rng = np.random.default_rng(12)
    params = [{"big": float(rng.uniform(0, 1e40)), "u": float(rng.uniform())} for _ in range(60)]
    imp = hpviz.importance(_exp(params, [p["big"] / 1e40 for p in params],
                                {"big": Float(0.0, 1e40), "u": Float(0, 1)}), n_trees=8)
    assert imp.individual.index[0] == "big" and imp.individual["big"] > 0.9
    assert imp.marginal("big")["value"].iloc[-1] == pytest.approx(1e40)


def test_import_stays_light():
    """`import hpviz` (and the importance modules) pull in no framework, scikit-learn or Matplotlib;
    scikit-learn is imported by the first importance call only."""
    import subprocess
    import sys

    heavy = ("optuna", "ray", "hyperopt", "sklearn", "matplotlib", "threadpoolctl")
    code = ("import sys, hpviz, hpviz.analysis.importance, hpviz.analysis._fanova; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- binned estimate: placement test


def _mixed(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    k = trial.suggest_int("k", 1, 8)
    units = trial.suggest_int("units", 1, 1000, log=True)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    return (x - 1) ** 2 + (math.log10(lr) + 3) ** 2 + 0.1 * (k - 3) ** 2 + (c != "b") + 0.01 * math.log(units)


def test_binned_marker_shown_for_random_search_hidden_for_a_concentrating_sampler():
    from hpviz.analysis.importance import PLACEMENT_ALPHA
    from hpviz.plot._importance import binned_marker

    shown = []
    for seed in range(20):  # floats, log floats, integers, log integers, a categorical: all placed as random search
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(_mixed, n_trials=60)
        imp = hpviz.importance(study, n_trees=8, pairs=False)
        shown.append(binned_marker(imp)[0])
        assert imp.placement_p >= PLACEMENT_ALPHA or not shown[-1]
    assert all(shown)
    display = hpviz.plot.importance(imp)
    bars_ax = display.ax_[0] if hasattr(display.ax_, "__len__") else display.ax_
    assert any(c.get_label() == "binned estimate" for c in bars_ax.collections)
    assert "binned estimate: less biased" in bars_ax.get_xlabel()

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(_mixed, n_trials=60)
    imp = hpviz.importance(study, n_trees=8, pairs=False)
    assert imp.placement_p < PLACEMENT_ALPHA
    show, why = binned_marker(imp)
    assert not show and "concentrated" in why
    display = hpviz.plot.importance(imp)
    bars_ax = display.ax_[0] if hasattr(display.ax_, "__len__") else display.ax_
    assert not any(c.get_label() == "binned estimate" for c in bars_ax.collections)
    assert "binned estimate not shown" in bars_ax.get_xlabel()
