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
    if trial.suggest_categorical("classifier", ["SVC", "RandomForest"]) == "RandomForest":
        return 6.0 + 0.01 * trial.suggest_int("rf_max_depth", 2, 32, log=True)  # worse, nearly flat
    return 0.5 * (math.log10(trial.suggest_float("svc_c", 1e-3, 1e3, log=True)) - 1.0) ** 2  # best near C = 10


def _run(objective, n_trials: int, seed: int = 0):
    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    s.optimize(objective, n_trials=n_trials)
    return s


@pytest.fixture(scope="module")
def study():
    return _run(_classifier, 80)


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


# --------------------------------------------------------------------------- suggestions inside a branch


def _branches(trial) -> float:
    """SVC is competitive (not dropped) but holds few of the overall best trials; inside it, C has a narrow
    optimum near 10 and the kernel does not matter. The overall best trial is a RandomForest one."""
    classifier = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier == "SVC":
        svc_c = trial.suggest_float("svc_c", 1e-3, 1e3, log=True)
        trial.suggest_categorical("svc_kernel", ["rbf", "linear", "poly"])
        return 0.75 + 0.1 * (math.log10(svc_c) - 1.0) ** 2
    depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
    return 0.2 + 0.4 * (math.log2(depth) - 1.0)


@pytest.fixture(scope="module")
def branch_study():
    return _run(_branches, 150)


def test_changes_inside_a_branch_learn_from_the_trials_where_it_is_active(branch_study) -> None:
    exp = hpviz.experiment(branch_study)
    sug = hpviz.suggest_space(exp)
    changes = {c.param: c for c in sug.changes}
    svc = [t for t in exp.trials if "svc_c" in t.params]
    # shrink: the good trials are the best SVC trials, which the best trials overall (mostly RandomForest)
    # would leave too few of to test; the new range holds the optimum C = 10 and the best SVC trial
    shrink = changes["svc_c"]
    assert shrink.action == "shrink" and shrink.reason.startswith(f"over the {len(svc)} trials where svc_c is active")
    best_svc = min(svc, key=lambda t: t.values["value"])
    assert shrink.after.low < 10 < shrink.after.high and shrink.after.contains(best_svc.params["svc_c"])
    assert shrink.after.high / shrink.after.low < 1e6 * 0.5  # a real shrink of the six decades
    # fix: the kernel does not matter inside SVC; its value comes from the best trial where it is active
    # (the best trial overall is a RandomForest one, without a kernel)
    fix = changes["svc_kernel"]
    assert "svc_kernel" not in exp.best().params
    assert fix.action == "fix" and fix.after.choices == (best_svc.params["svc_kernel"],)
    assert f"best trial #{best_svc.number}" in fix.reason and "where svc_kernel is active" in fix.reason
    # the gating parameter is judged on all trials
    assert "classifier" not in changes or not changes["classifier"].reason.startswith("over the")


def test_a_branch_with_too_few_trials_is_left_unchanged() -> None:
    rng = np.random.default_rng(2)
    exp = Experiment(SearchSpace({"model": Categorical(["a", "b"]), "x": Float(0, 1), "z": Float(0, 1)}),
                     {"loss": "min"})
    for i in range(60):
        z = float(rng.uniform())
        params = {"model": "a" if i % 6 == 0 else "b", "z": z}
        if params["model"] == "a":
            params["x"] = float(rng.uniform())
        exp.add(Trial(i, params, {"loss": (z - 0.5) ** 2 + params.get("x", 0.0)}, TrialState.COMPLETE))
    sug = hpviz.suggest_space(exp)
    assert "x" not in {c.param for c in sug.changes}
    assert any(n.startswith("x: active in 10 of the 60 trials, fewer than the 20") for n in sug.notes)


# --------------------------------------------------------------------------- the refined space exports and runs


def test_refined_space_of_a_conditional_study_runs_with_optuna(branch_study) -> None:
    from hpviz_optuna import suggest

    exp = hpviz.experiment(branch_study)
    sug = hpviz.suggest_space(exp)
    changes = {c.param: c for c in sug.changes}
    assert {"svc_c", "svc_kernel"} <= set(changes)  # changes inside the SVC branch
    seen = []

    def objective(trial) -> float:
        params = suggest(trial, sug.space, experiment=exp)
        seen.append(params)
        if params["classifier"] == "SVC":
            return 0.75 + 0.1 * (math.log10(params["svc_c"]) - 1.0) ** 2
        return 0.2 + 0.4 * (math.log2(params["rf_max_depth"]) - 1.0)

    new = _run(objective, 20, seed=1)
    assert all(t.state.name == "COMPLETE" for t in new.trials)
    kernel = changes["svc_kernel"].after.choices[0]
    for params in seen:
        if params["classifier"] == "SVC":  # the fix and the shrink apply inside their branch only
            assert set(params) == {"classifier", "svc_c", "svc_kernel"} and params["svc_kernel"] == kernel
            assert sug.space["svc_c"].contains(params["svc_c"])
        else:
            assert set(params) == {"classifier", "rf_max_depth"}
    assert {p["classifier"] for p in seen} == {"SVC", "RandomForest"}


def test_refined_space_of_a_conditional_run_keeps_its_structure_with_hyperopt() -> None:
    pytest.importorskip("hyperopt")
    from hyperopt import STATUS_OK, Trials, fmin, hp, rand, space_eval
    from hyperopt.pyll import scope

    from hpviz_hyperopt import to_hyperopt

    space = {"classifier": hp.choice("classifier", [
        {"type": "SVC", "C": hp.loguniform("svc_c", math.log(1e-3), math.log(1e3)),
         "kernel": hp.choice("svc_kernel", ["rbf", "linear", "poly"])},
        {"type": "RandomForest", "max_depth": scope.int(hp.quniform("rf_max_depth", 2, 32, 1))},
    ])}

    def objective(params: dict) -> dict:
        model = params["classifier"]  # the user's own keys
        if model["type"] == "SVC":
            loss = 0.75 + 0.1 * (math.log10(model["C"]) - 1.0) ** 2
        else:
            loss = 0.2 + 0.05 * model["max_depth"]
        return {"loss": loss, "status": STATUS_OK}

    def run(s, n: int, seed: int) -> Trials:
        trials = Trials()
        fmin(objective, s, algo=rand.suggest, max_evals=n, trials=trials, rstate=np.random.default_rng(seed),
             show_progressbar=False)
        return trials

    exp = hpviz.experiment(run(space, 150, 0), space=space)
    sug = hpviz.suggest_space(exp)
    changes = {c.param: c for c in sug.changes}
    assert changes["svc_c"].reason.startswith("over the") and changes["svc_c"].action == "shrink"
    assert changes["svc_kernel"].action == "fix"
    kernel = changes["svc_kernel"].after.choices[0]
    native = to_hyperopt(sug.space, native=space)
    trials = run(native, 20, 1)
    assert all(r["status"] == STATUS_OK for r in trials.results)
    kinds = set()
    for doc in trials.trials:
        params = space_eval(native, {k: v[0] for k, v in doc["misc"]["vals"].items() if v})
        model = params["classifier"]
        kinds.add(model["type"])
        if model["type"] == "SVC":
            assert set(model) == {"type", "C", "kernel"}  # the option's own keys, fixed inside it only
            assert sug.space["svc_c"].contains(model["C"]) and model["kernel"] == kernel
        else:
            assert set(model) == {"type", "max_depth"}
    assert kinds == {"SVC", "RandomForest"}


def test_restricted_marginal_follows_the_rounds_and_space_options() -> None:
    rng = np.random.default_rng(3)
    exp = Experiment(SearchSpace({"model": Categorical(["a", "b"]), "x": Float(0, 1)}), {"loss": "min"})
    for i in range(80):
        if i == 40:
            exp.next_round(SearchSpace({"model": Categorical(["a", "b"]), "x": Float(0.2, 0.5)}))
        params = {"model": "a" if i % 2 else "b"}
        if params["model"] == "a":
            params["x"] = float(rng.uniform(0, 1) if i < 40 else rng.uniform(0.2, 0.5))
        exp.add(Trial(i, params, {"loss": 10 * (params.get("x", 0.3) - 0.3) ** 2 + 5 * (params["model"] == "b")},
                      TrialState.COMPLETE, round=int(i >= 40)))
    union = hpviz.importance(exp, seed=0, space="union").marginal("x")
    assert union.attrs["n_trials"] == 40 and union["value"].min() == 0 and union["value"].max() == 1
    first = hpviz.importance(exp, seed=0, rounds=0).marginal("x")
    assert first.attrs["n_trials"] == 20 and first["mean"].min() < 1.0  # the curve reaches the branch's best
