"""Conditional spaces (issue 14 items 11-12): marginals over the trials where a parameter is active,
suggestions for a parameter inside a branch learnt from that branch only, and refined spaces of a
conditional experiment that export and run with real Optuna and Hyperopt."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hpviz
from hpviz import Categorical, Experiment, Float, SearchSpace, Trial, TrialState

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _classifier(trial) -> float:
    """After Optuna's examples: a gating classifier with branch-specific parameters."""
    classifier = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier == "SVC":
        svc_c = trial.suggest_float("svc_c", 1e-3, 1e3, log=True)
        return 0.5 * (math.log10(svc_c) - 1.0) ** 2  # best near C = 10
    depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
    return 6.0 + 0.01 * depth  # a worse branch, nearly flat in its own parameter


@pytest.fixture(scope="module")
def study():
    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    s.optimize(_classifier, n_trials=80)
    return s


def test_marginal_of_a_conditional_parameter_is_over_its_active_trials(study) -> None:
    exp = hpviz.experiment(study)
    imp = hpviz.importance(exp, seed=0)
    active = [t for t in exp.trials if "svc_c" in t.params]
    assert 10 <= len(active) < len(exp.trials)
    df = imp.marginal("svc_c")
    assert df.attrs["n_trials"] == imp.marginal_trials["svc_c"] == len(active)
    assert imp.marginal("classifier").attrs["n_trials"] == imp.n_used == len(exp.trials)
    y = np.array([t.values["value"] for t in active])
    span = float(np.ptp(y))
    mean = df["mean"].to_numpy()
    # within the range of the active trials' values...
    assert mean.min() >= y.min() - 0.05 * span and mean.max() <= y.max() + 0.05 * span
    # ...and near them: the curve's low point sits at the best active trials (the forest over all trials puts
    # it halfway to the other branch, 6 higher), and at C = 10 it is close to the truth 0
    assert mean.min() - y.min() < 0.1 * span
    at_10 = float(np.interp(1.0, np.log10(df["value"].to_numpy()), mean))
    assert abs(at_10) < 0.1 * span


def test_marginals_view_says_over_how_many_trials(study) -> None:
    from hpviz.plot import MarginalsDisplay

    exp = hpviz.experiment(study)
    n = sum("svc_c" in t.params for t in exp.trials)
    disp = MarginalsDisplay.from_experiment(exp, params=["svc_c", "classifier"])
    texts = [t.get_text() for a in np.atleast_1d(disp.ax_) for t in a.texts]
    assert f"over {n} trials where svc_c is active" in texts
    assert not any("classifier is active" in t for t in texts)


def test_marginal_keeps_all_trials_when_too_few_are_active() -> None:
    rng = np.random.default_rng(1)
    exp = Experiment(SearchSpace({"model": Categorical(["a", "b"]), "x": Float(0, 1), "z": Float(0, 1)}),
                     {"loss": "min"})
    for i in range(30):
        params = {"model": "a" if i < 5 else "b", "z": float(rng.uniform())}
        if i < 5:
            params["x"] = float(rng.uniform())
        exp.add(Trial(i, params, {"loss": float(rng.normal())}, TrialState.COMPLETE))
    imp = hpviz.importance(exp, seed=0)
    assert imp.marginal("x").attrs["n_trials"] == 30  # 5 active trials: no forest of their own, and it says so
