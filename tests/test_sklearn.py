"""The scikit-learn adapter, on real fitted searches (tiny ones; nothing mocked)."""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from offline_conformance import OfflineConformance
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    ParameterSampler,
    RandomizedSearchCV,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import hpviz
from hpviz import Categorical, Float, Int, SchemaError, SearchSpace, TrialState
from hpviz.plugins import make_plugin_manager
from hpviz.testing import CONFORMANCE_SPACE, conformance_objective
from hpviz_sklearn import from_sklearn, infer_space, space_code, to_sklearn
from hpviz_sklearn.space import branches as sklearn_branches

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore::sklearn.exceptions.FitFailedWarning",
                                        "ignore::UserWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


class Conformance(BaseEstimator):
    """Scores minus :func:`conformance_objective` of its params; fitting the ``fail_x`` candidate raises."""

    def __init__(self, x=0.0, lr=1e-2, layers=1, act="relu", fail_x=None):
        self.x, self.lr, self.layers, self.act, self.fail_x = x, lr, layers, act, fail_x

    def fit(self, X, y=None):
        if self.fail_x is not None and self.x == self.fail_x:
            raise RuntimeError("the conformance run's trial 2 fails")
        return self

    def score(self, X, y=None):
        return -conformance_objective({"x": self.x, "lr": self.lr, "layers": self.layers, "act": self.act})


class TestSklearnConformance(OfflineConformance):
    """The offline parts of the contract: scikit-learn has no live callback (a search reports when fitted),
    and its scores are maximized, so the conversion test is restated with the sign flipped."""

    framework = "sklearn"

    def run(self, tmp_path: Path, n_trials: int) -> tuple[Any, dict[str, Any]]:
        dists = to_sklearn(CONFORMANCE_SPACE)
        third = list(ParameterSampler(dists, n_trials, random_state=0))[2]
        search = RandomizedSearchCV(Conformance(fail_x=third["x"]), dists, n_iter=n_trials, cv=2,
                                    random_state=0, error_score=np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search.fit(np.zeros((4, 1)), np.zeros(4))
        return search, {}

    def export_space(self, space: SearchSpace) -> Any:
        return to_sklearn(space)

    def import_space(self, native: Any) -> SearchSpace:
        return from_sklearn(native)

    def test_conversion_matches_the_run(self, tmp_path: Path) -> None:
        exp = self._converted(tmp_path)
        assert exp.framework == "sklearn"
        assert exp.space == CONFORMANCE_SPACE
        assert exp.objectives == {"score": "max"}
        assert [t.number for t in exp.trials] == list(range(self.n_trials))
        assert [t.state for t in exp.trials].index(TrialState.FAIL) == 2
        assert "failed" in exp.trials[2].attrs["error"]
        for t in exp.completed():
            assert math.isclose(t.values["score"], -conformance_objective(t.params), rel_tol=1e-9)
            assert all(CONFORMANCE_SPACE[k].contains(v) for k, v in t.params.items())
            assert t.attrs["split_test_score"] == [t.values["score"]] * 2
        assert exp.best().values["score"] == max(t.values["score"] for t in exp.completed())


# --------------------------------------------------------------------------- spaces


def test_distributions_map_to_hpviz_params():
    space = from_sklearn({
        "C": scipy.stats.loguniform(1e-3, 1e2),
        "n": scipy.stats.randint(2, 9),
        "u": scipy.stats.uniform(0.5, 2.0),
        "kernel": ["rbf", "linear"],
        "g": scipy.stats.norm(0, 1),
    })
    assert space["C"] == Float(1e-3, 1e2, log=True)
    assert space["n"] == Int(2, 8)  # randint's high is exclusive
    assert space["u"] == Float(0.5, 2.5)
    assert space["kernel"] == Categorical(["rbf", "linear"])
    assert math.isclose(space["g"].low, scipy.stats.norm.ppf(0.001)) and math.isclose(space["g"].high, scipy.stats.norm.ppf(0.999))


def test_unreadable_distribution_is_a_clear_error():
    class Custom:
        def rvs(self, random_state=None):
            return 1.0

    with pytest.raises(SchemaError, match="'a'.*space="):
        from_sklearn({"a": Custom()})


def test_export_of_steps_and_log_ints_is_a_list():
    out = to_sklearn(SearchSpace({"q": Float(0.0, 1.0, step=0.25), "k": Int(2, 10, step=4), "u": Int(1, 1000, log=True)}))
    assert out["q"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert out["k"] == [2, 6, 10]
    assert out["u"][0] == 1 and out["u"][-1] == 1000 and len(out["u"]) > 5
    ratios = np.diff(np.log(out["u"]))
    assert ratios.max() < 3 * ratios.min() + 1e-9  # log-spaced, not uniform


def test_space_code_runs_and_searches_the_space():
    space = SearchSpace({"C": Float(1e-3, 10.0, log=True), "n": Int(1, 4), "kernel": Categorical(["rbf", "poly"])})
    ns: dict[str, Any] = {"estimator": SVC()}
    exec(compile(space_code(space), "<sklearn>", "exec"), ns)
    assert from_sklearn(ns["param_distributions"]) == space
    assert isinstance(ns["search"], RandomizedSearchCV)


# --------------------------------------------------------------------------- searches


def test_pipeline_grid_of_branches_is_conditional(digits):
    X, y = digits
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SVC())])
    grid = [{"clf__kernel": ["linear"], "clf__C": [0.1, 1.0]},
            {"clf__kernel": ["rbf"], "clf__C": [0.1, 1.0], "clf__gamma": [0.01, 0.1]}]
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    exp = hpviz.experiment(search)
    assert set(exp.space) == {"clf__kernel", "clf__C", "clf__gamma"}
    assert exp.space["clf__kernel"] == Categorical(["linear", "rbf"])
    assert len(exp.trials) == 6
    linear = [t for t in exp.trials if t.params["clf__kernel"] == "linear"]
    assert len(linear) == 2 and all("clf__gamma" not in t.params for t in linear)  # inactive, not NaN
    assert all("clf__gamma" in t.params for t in exp.trials if t.params["clf__kernel"] == "rbf")
    code = space_code(exp.space, exp)
    ns: dict[str, Any] = {"estimator": pipe}
    exec(compile(code, "<sklearn>", "exec"), ns)
    branches = ns["param_distributions"]
    assert isinstance(branches, list) and len(branches) == 2
    assert "clf__gamma" not in branches[0] and "clf__gamma" in branches[1]
    assert [b["clf__kernel"] for b in branches] == [["linear"], ["rbf"]]  # each branch samples only its own kernel
    # a real search over the exported branches: gamma only where the kernel is rbf, the same structure back
    again = hpviz.experiment(RandomizedSearchCV(pipe, branches, n_iter=8, cv=2, random_state=0).fit(X, y))
    assert {t.params["clf__kernel"] for t in again.trials} == {"linear", "rbf"}
    assert all(("clf__gamma" in t.params) == (t.params["clf__kernel"] == "rbf") for t in again.trials)
    # a refined space without the rbf kernel drops its branch (and gamma with it)
    refined = exp.space.replace(clf__kernel=Categorical(["linear"])).without("clf__gamma")
    assert to_sklearn(refined, sklearn_branches(exp, refined)) == {"clf__kernel": ["linear"], "clf__C": [0.1, 1.0]}


def test_multi_metric_refit_is_primary_and_splits_are_kept(digits):
    X, y = digits
    search = RandomizedSearchCV(LogisticRegression(max_iter=200), {"C": scipy.stats.loguniform(1e-3, 1e2)}, n_iter=5,
                                cv=3, scoring=["accuracy", "f1_macro"], refit="f1_macro", random_state=0).fit(X, y)
    exp = hpviz.experiment(search)
    assert exp.objectives == {"f1_macro": "max", "accuracy": "max"}
    assert exp.space == SearchSpace({"C": Float(1e-3, 1e2, log=True)})
    res = search.cv_results_
    for i, t in enumerate(exp.trials):
        assert t.values["accuracy"] == res["mean_test_accuracy"][i]
        assert t.attrs["split_test_f1_macro"] == [res[f"split{k}_test_f1_macro"][i] for k in range(3)]
        assert t.attrs["std_test_f1_macro"] == res["std_test_f1_macro"][i]
        assert t.duration == pytest.approx(res["mean_fit_time"][i], abs=1e-5)
    assert exp.best().number == int(np.argmax(res["mean_test_f1_macro"]))
    with pytest.raises(SchemaError, match="'nope'.*accuracy"):
        hpviz.experiment(search, metric="nope")
    with pytest.raises(TypeError, match="it takes"):
        hpviz.experiment(search, directon="min")
    assert hpviz.experiment(search, metric="accuracy").primary == "accuracy"


def test_failed_fits_are_failed_trials(digits):
    X, y = digits
    search = GridSearchCV(LogisticRegression(max_iter=100), {"C": [-1.0, 1.0]}, cv=2, error_score=np.nan).fit(X, y)
    exp = hpviz.experiment(search)
    bad, good = exp.trials
    assert bad.state is TrialState.FAIL and "NaN" in bad.attrs["error"]
    assert good.state is TrialState.COMPLETE


def test_unfitted_search_is_a_clear_error():
    with pytest.raises(SchemaError, match="not fitted"):
        hpviz.experiment(GridSearchCV(SVC(), {"C": [1.0]}))


def test_halving_gives_learning_curves_and_pruned_candidates(digits):
    X, y = digits
    search = HalvingRandomSearchCV(LogisticRegression(max_iter=100), {"C": scipy.stats.loguniform(1e-3, 1e2)},
                                   n_candidates=9, factor=3, min_resources=30, cv=2, random_state=0).fit(X, y)
    exp = hpviz.experiment(search)
    assert len(exp.trials) == search.n_candidates_[0] == 9
    survivors = [t for t in exp.trials if t.state is TrialState.COMPLETE]
    assert len(survivors) == search.n_candidates_[-1]
    assert sum(t.state is TrialState.PRUNED for t in exp.trials) == 9 - len(survivors)
    res = search.cv_results_
    for t in exp.trials:
        steps = [s for s, _ in t.log.points()]
        assert steps == list(search.n_resources_[: t.attrs["iterations"]])
        assert t.budget == steps[-1]
        rows = [i for i, p in enumerate(res["params"]) if p == t.params]
        assert [m["score"] for _, m in t.log.points()] == [res["mean_test_score"][i] for i in rows]
    assert all(t.budget == max(search.n_resources_) for t in survivors)


def test_halving_grid_search(digits):
    X, y = digits
    search = HalvingGridSearchCV(SVC(), {"C": [0.1, 1.0, 10.0], "gamma": [0.01, 0.1]}, factor=2, min_resources=40,
                                 cv=2).fit(X, y)
    exp = hpviz.experiment(search)
    assert len(exp.trials) == 6 and exp.space["C"] == Categorical([0.1, 1.0, 10.0])
    assert {t.state for t in exp.trials} == {TrialState.COMPLETE, TrialState.PRUNED}


# --------------------------------------------------------------------------- saved tables


def test_saved_cv_results_csv_converts_like_the_search(tmp_path, digits):
    X, y = digits
    search = HalvingRandomSearchCV(LogisticRegression(max_iter=100),
                                   {"C": scipy.stats.loguniform(1e-3, 1e2), "fit_intercept": [True, False]},
                                   n_candidates=6, min_resources=60, cv=2, random_state=0).fit(X, y)
    path = tmp_path / "cv_results.csv"
    pd.DataFrame(search.cv_results_).to_csv(path)
    direct = hpviz.experiment(search)
    saved = hpviz.experiment(path)
    assert saved.framework == "sklearn" and saved.space.inferred
    assert saved.space["fit_intercept"] == Categorical([True, False]) or set(saved.space["fit_intercept"].choices) == {True, False}
    assert isinstance(saved.space["C"], Float) and saved.space["C"].log
    assert [(t.params, t.state, t.values) for t in saved.trials] == [(t.params, t.state, t.values) for t in direct.trials]
    explicit = hpviz.experiment(path, space=direct.space)
    assert explicit.space == direct.space


def test_cli_reports_a_saved_table(tmp_path, digits):
    from hpviz.cli import main

    X, y = digits
    search = RandomizedSearchCV(LogisticRegression(max_iter=100), {"C": scipy.stats.loguniform(1e-3, 1e2)},
                                n_iter=6, cv=2, random_state=0).fit(X, y)
    path = tmp_path / "cv_results.csv"
    pd.DataFrame(search.cv_results_).to_csv(path)
    out = tmp_path / "report.html"
    assert main(["report", str(path), "-o", str(out), "--quiet"]) == 0
    assert out.stat().st_size > 1000
    pm = make_plugin_manager()
    exp = pm.hook.hpviz_cli_source(args=argparse.Namespace(sklearn_results=str(path), sklearn_metric="score"))
    assert exp.primary == "score" and len(exp.trials) == 6
    assert main(["report", "--sklearn-metric", "score", "-o", str(out)]) == 2  # usage error: no --sklearn-results


def test_params_cell_is_parsed_without_evaluating_code(tmp_path):
    from hpviz_sklearn.convert import _parse_params

    assert _parse_params("{'C': np.float64(0.5), 'k': 'rbf', 'n': np.int64(-3), 'm': None}") == {
        "C": 0.5, "k": "rbf", "n": -3, "m": None}
    assert _parse_params("{'est': __import__('os').system('echo hi')}") == {"est": "__import__('os').system('echo hi')"}


def test_inferred_space_reads_grids_as_categoricals():
    cands = [{"C": c, "n": n} for c in (0.1, 1.0, 10.0) for n in (1, 2)]
    assert infer_space(cands)["C"] == Categorical([0.1, 1.0, 10.0])
    rng = np.random.default_rng(0)
    drawn = [{"C": float(v), "k": int(k)} for v, k in zip(10 ** rng.uniform(-3, 2, 30), rng.integers(1, 50, 30))]
    space = infer_space(drawn)
    assert isinstance(space["C"], Float) and space["C"].log
    assert isinstance(space["k"], Int) and space.inferred


def test_adapter_is_listed():
    pm = make_plugin_manager()
    status = {s.name: s for s in hpviz.plugins.status(pm)}
    assert status["sklearn"].available
    infos = {i["framework"]: i for i in pm.hook.hpviz_adapter_info()}
    assert infos["sklearn"]["version"]
    exported = pm.hook.hpviz_export_space(space=CONFORMANCE_SPACE, framework="sklearn")
    assert from_sklearn(exported) == CONFORMANCE_SPACE
    code = pm.hook.hpviz_space_code(space=CONFORMANCE_SPACE, framework="sklearn", experiment=None)
    assert "RandomizedSearchCV" in code


def test_demo_runs_two_rounds():
    from hpviz_sklearn import run_demo

    exp = run_demo(n_trials=4, rounds=2, n_epochs=2)
    assert exp.framework == "sklearn" and len(exp.rounds) == 2 and len(exp.trials) == 8
    assert {t.round for t in exp.trials} == {0, 1}
    assert exp.objectives == {"val_accuracy": "max"}


def test_conditional_branches_restrict_their_deciding_choice_and_drop_with_it():
    from conditional_source import conditional_experiment

    source = conditional_experiment()
    refined = source.space.replace(classifier=Categorical(["svm", "knn"])).without("rf_depth")
    dists = to_sklearn(refined, sklearn_branches(source, refined))
    assert sorted((tuple(d["classifier"]), tuple(d.get("svm_kernel", ()))) for d in dists) == [
        (("knn",), ()), (("svm",), ("linear",)), (("svm",), ("rbf",))]  # no rf branch; gamma only under rbf
    assert all(("gamma" in d) == (d.get("svm_kernel") == ["rbf"]) for d in dists)
    assert all(("knn_k" in d) == (d["classifier"] == ["knn"]) for d in dists)
