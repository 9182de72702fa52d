"""Search-space coverage on constructed samples with known answers."""

from __future__ import annotations

import numpy as np
import pytest

import hpviz
from hpviz import Categorical, Float, Int, SearchSpace, Trial, TrialState
from hpviz._numbers import MISSING
from hpviz.analysis.coverage import THIN_RATIO, Coverage, _unit, coverage

SPACE = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "depth": Int(1, 8), "act": Categorical(["relu", "tanh", "gelu"])})


def _exp(points, name=None):
    exp = hpviz.Experiment(SPACE, {"loss": "min"}, name=name)
    for i, (lr, depth, act) in enumerate(points):
        exp.add(Trial(i, {"lr": lr, "depth": depth, "act": act}, {"loss": 1.0}, TrialState.COMPLETE))
    return exp


def _random(n, seed, lr_hi=-1.0):
    rng = np.random.default_rng(seed)
    return [(10 ** rng.uniform(-4, lr_hi), int(rng.integers(1, 9)), ["relu", "tanh", "gelu"][rng.integers(3)])
            for _ in range(n)]


def test_random_search_is_as_dense_as_random():
    cov = coverage(_exp(_random(100, 0)))
    assert isinstance(cov, Coverage) and cov.n_trials == 100
    assert cov.joint_params == ("lr", "depth", "act")
    assert 0.7 < cov.ratio < 1.3
    assert 0.6 < cov.joint.loc["discrepancy", "ratio"] < 1.6
    lr = cov.params.set_index("param").loc["lr"]
    assert lr["discrepancy"] < 2 * lr["discrepancy_random"]
    act = cov.params.set_index("param").loc["act"]
    assert act["choices_used"] == 1.0 and act["evenness"] > 0.95
    assert "much more thinly" not in cov.message


def test_concentrated_sampling_is_thin_and_says_so():
    # every lr in the lowest decade of three (log scale): a third of the lr axis
    pts = [(lr, d, "relu") for lr, d, _ in _random(100, 1, lr_hi=-3.0)]
    cov = coverage(_exp(pts, name="svm"))
    assert cov.ratio > THIN_RATIO
    lr = cov.params.set_index("param").loc["lr"]
    assert lr["discrepancy"] == pytest.approx(2 / 3, abs=0.05)  # KS distance of U(0, 1/3) from U(0, 1)
    assert lr["max_gap"] == pytest.approx(2 / 3, abs=0.05)
    act = cov.params.set_index("param").loc["act"]
    assert act["choices_used"] == pytest.approx(1 / 3) and act["evenness"] == 0.0
    assert "'svm'" in cov.message and "much more thinly" in cov.message and "lr" in cov.message


def test_deterministic_under_seed_and_inactive_parameters():
    exp = _exp(_random(30, 2))
    a, b = coverage(exp, seed=3), coverage(exp, seed=3)
    assert a.joint.equals(b.joint) and a.params.equals(b.params)
    exp.add(Trial(99, {"lr": 1e-3, "act": "relu"}, {"loss": 1.0}))  # depth inactive
    cov = coverage(exp)
    assert cov.joint_params == ("lr", "act")
    assert cov.params.set_index("param").loc["depth", "n"] == 30


def test_bad_input():
    with pytest.raises(hpviz.InsufficientDataError, match="at least 2 sampled configurations; have 1"):
        coverage(_exp(_random(1, 0)))
    with pytest.raises(hpviz.SchemaError, match="seed must be an integer"):
        coverage(_exp(_random(5, 0)), seed="x")


def test_unit_scale_of_plain_numbers_is_the_general_rules():
    """A column of plain numbers (read at C speed) maps as the value-by-value rule maps it: forced here by a
    string at the end, which the rule skips (NaN)."""
    rng = np.random.default_rng(3)
    for param in (Float(-5.0, 5.0), Float(1e-5, 1e-1, log=True), Int(8, 512, log=True), Int(1, 9)):
        for _ in range(50):
            vals = [float(rng.uniform(-6, 600)) if rng.random() < 0.6 else int(rng.integers(-3, 600))
                    for _ in range(int(rng.integers(0, 40)))]
            vals += [np.nan, np.inf, np.float32(rng.uniform(0, 1)), np.int64(4)] if rng.random() < 0.5 else []
            fast, general = _unit(param, vals), _unit(param, [*vals, "x"])
            np.testing.assert_array_equal(fast, general[:-1])
            assert np.isnan(general[-1])
    choices = Categorical(["a", 1, 2.0, True, None])
    got = _unit(choices, ["a", MISSING, 1, True, 1.0, None, "b", 2.0])
    np.testing.assert_array_equal(got, [0.1, np.nan, 0.3, 0.7, np.nan, 0.9, np.nan, 0.5])
