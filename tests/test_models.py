"""Several model families compared: best with uncertainty, coverage, cross-model Pareto and a plain verdict."""

from __future__ import annotations

import math

import pytest
from families import model_family

import hpviz
from hpviz.analysis.models import ModelComparison, compare_models


def test_a_clearly_better_model_is_supported():
    a = model_family("gbm", 0, level=0.95, spread=0.4)
    b = model_family("svm", 1, level=0.80, spread=0.4)
    mc = compare_models([a, b], metrics={"acc": "max", "fit_time": "min"})
    assert isinstance(mc, ModelComparison) and mc.names == ("gbm", "svm")
    best = mc.best.set_index("model")
    assert best.loc["gbm", "uncertainty"] == "5 splits"
    assert best.loc["gbm", "low"] < best.loc["gbm", "best"] < best.loc["gbm", "high"]
    assert best.loc["gbm", "high"] - best.loc["gbm", "low"] < 0.05
    assert any("gbm's best" in s and "beyond their noise" in s for s in mc.supported)
    assert any(s.startswith("gbm is best at equal budgets") for s in mc.supported)
    front = mc.pareto[mc.pareto["on_front"]]
    assert set(front["model"]) <= {"gbm", "svm"} and len(front) >= 1
    assert "Supported:" in mc.verdict and "Model comparison" in mc._repr_html_()
    assert list(mc.to_dataframe().columns) == ["model", "n_trials", "best", "low", "high", "uncertainty",
                                               "optimism", "coverage_ratio"]


def test_models_within_noise_and_a_thin_search_are_not_supported():
    a = model_family("mlp", 2, level=0.90, spread=0.4, split_sd=0.05)
    b = model_family("logreg", 3, level=0.90, spread=0.4, split_sd=0.05, lo=0.45, hi=0.55)
    mc = compare_models([a, b])
    joined = " ".join(mc.not_supported)
    assert "intervals overlap" in joined
    assert "logreg explored their space much more thinly" in joined and "unlike mlp" in joined
    assert mc.pareto is None


def test_unknown_noise_is_said_and_bad_input_is_an_error():
    a = hpviz.testing.make_experiment(30, seed=0, name="a")
    b = hpviz.testing.make_experiment(30, seed=1, name="b")
    mc = compare_models([a, b])
    assert mc.best["uncertainty"].eq("unknown").all() and math.isnan(mc.best["low"].iloc[0])
    assert any("noise of" in s and "is unknown" in s for s in mc.not_supported)
    with pytest.raises(hpviz.SchemaError, match="two or more experiments"):
        compare_models([a])
    with pytest.raises(hpviz.SchemaError, match="level must be"):
        compare_models([a, b], level=2)
    with pytest.raises(hpviz.SchemaError, match="metrics must be"):
        compare_models([a, b], metrics={"value": "min"})


@pytest.mark.parametrize("call", [
    lambda e: hpviz.replay(e, eta=3),
    lambda e: hpviz.budget_importance(e, level=3),
    lambda e: hpviz.local_importance(e, quantile=0.2),
    lambda e: hpviz.coverage(e, seeds=1),
    lambda e: hpviz.lineage(e, objetive="value"),
    lambda e: hpviz.compare_models([e, e], metric={"value": "min"}),
])
def test_unknown_keywords_of_the_new_analyses_list_the_allowed_ones(call):
    exp = hpviz.testing.make_experiment(30, seed=0)
    with pytest.raises(TypeError, match=r"got unexpected keyword argument '\w+'; allowed: "):
        call(exp)
