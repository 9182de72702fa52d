"""Hyperopt: refined spaces keep the user's structure (run with real fmin), options, hooks, _compat."""

from __future__ import annotations

import math

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")

from hyperopt import STATUS_OK, Trials, fmin, hp, rand, space_eval  # noqa: E402
from hyperopt.pyll import scope  # noqa: E402

import hpviz  # noqa: E402
import hpviz_hyperopt.plugin as hyperopt_plugin  # noqa: E402
from hpviz import Categorical, Float, SearchSpace  # noqa: E402
from hpviz.plugins import make_plugin_manager  # noqa: E402
from hpviz_hyperopt import _compat, to_hyperopt  # noqa: E402
from hpviz_hyperopt.structure import UNPRINTABLE, native_space  # noqa: E402


def _space() -> dict:
    return {
        "model": hp.choice("model_choice", [
            {"type": "svm", "C": hp.loguniform("svm_C", math.log(1e-3), math.log(1e3)),
             "kernel": hp.choice("svm_kernel", ["rbf", "linear"])},
            {"type": "forest", "n_estimators": scope.int(hp.quniform("rf_n", 10, 200, 10)),
             "max_depth": hp.choice("rf_depth", [None, 4, 8])},
        ]),
        "learning_rate": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
        "layers": (hp.uniformint("width", 8, 64), "relu"),
    }


def _user_objective(params: dict) -> dict:
    """The user's objective: it reads the nested structure by its own keys."""
    model = params["model"]
    width, activation = params["layers"]
    assert activation == "relu" and isinstance(width, int)
    if model["type"] == "svm":
        loss = abs(math.log10(model["C"])) + (model["kernel"] == "linear")
    else:
        loss = 1.0 / model["n_estimators"] + (0 if model["max_depth"] is None else 0.1)
    return {"loss": loss + abs(math.log10(params["learning_rate"]) + 2), "status": STATUS_OK, "accuracy": -loss}


def _run(space, n: int, seed: int = 0) -> Trials:
    trials = Trials()
    fmin(_user_objective, space, algo=rand.suggest, max_evals=n, trials=trials,
         rstate=np.random.default_rng(seed), show_progressbar=False)
    return trials


def _pm():
    pm = make_plugin_manager(load_entry_points=False)
    pm.register(hyperopt_plugin, name="hyperopt")
    return pm


@pytest.fixture(scope="module")
def converted():
    space = _space()
    trials = _run(space, 40)
    return space, trials, hpviz.experiment(trials, space=space)


def test_experiment_remembers_the_users_space(converted) -> None:
    space, _, exp = converted
    assert exp.framework == "hyperopt" and native_space(exp) is space
    assert native_space(hpviz.Experiment(exp.space, exp.objectives)) is None


def _refined(exp) -> SearchSpace:
    refined = dict(exp.space)
    refined["model_choice"] = Categorical([1])  # keep only the forest option (a dict, not the index 1)
    refined["rf_depth"] = Categorical([8])  # a fix inside the forest branch
    refined["lr"] = Float(1e-3, 1e-2, log=True)
    return SearchSpace(refined)


def test_exported_space_keeps_dict_choices_and_keys_and_runs_the_users_objective(converted) -> None:
    space, _, exp = converted
    native = to_hyperopt(_refined(exp), native=space)
    assert set(native) == {"model", "learning_rate", "layers"}  # the user's keys, not the labels
    trials = _run(native, 15, seed=1)
    assert len(trials.trials) == 15 and all(r["status"] == STATUS_OK for r in trials.results)
    for doc in trials.trials:
        vals = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        params = space_eval(native, vals)
        assert params["model"]["type"] == "forest" and params["model"]["max_depth"] == 8
        assert 1e-3 <= params["learning_rate"] <= 1e-2


def test_space_code_builds_the_same_structure(converted) -> None:
    space, _, exp = converted
    code = _pm().hook.hpviz_space_code(space=_refined(exp), framework="hyperopt", experiment=exp)
    assert "'n_estimators': scope.int(hp.quniform('rf_n', 10, 200, 10))" in code
    assert "svm" not in code and "'max_depth': hp.choice('rf_depth', [8])" in code
    namespace: dict = {}
    exec(compile(code, "<hpviz space code>", "exec"), namespace)  # noqa: S102 - code we generated
    trials = _run(namespace["space"], 10, seed=2)
    assert all(r["status"] == STATUS_OK for r in trials.results)
    unchanged = _pm().hook.hpviz_space_code(space=exp.space, framework="hyperopt", experiment=exp)
    assert "hp.choice('model_choice', [" in unchanged and "'type': 'svm'" in unchanged


def test_a_fix_in_one_branch_leaves_the_other_branch_free(converted) -> None:
    space, _, exp = converted
    refined = dict(exp.space)
    refined["svm_kernel"] = Categorical(["rbf"])
    native = to_hyperopt(SearchSpace(refined), native=space)
    trials = _run(native, 30, seed=3)
    models = [space_eval(native, {k: v[0] for k, v in d["misc"]["vals"].items() if v})["model"] for d in trials.trials]
    assert {m["type"] for m in models} == {"svm", "forest"}
    assert all(m["kernel"] == "rbf" for m in models if m["type"] == "svm")
    assert all("kernel" not in m for m in models if m["type"] == "forest")


def test_the_real_suggestion_exports_and_runs(converted) -> None:
    space, _, exp = converted
    suggestion = hpviz.suggest_space(exp)
    native = to_hyperopt(suggestion.space, native=space)
    assert all(r["status"] == STATUS_OK for r in _run(native, 5, seed=4).results)
    code = _pm().hook.hpviz_space_code(space=suggestion.space, framework="hyperopt", experiment=exp)
    namespace: dict = {}
    exec(compile(code, "<hpviz space code>", "exec"), namespace)  # noqa: S102 - code we generated
    assert all(r["status"] == STATUS_OK for r in _run(namespace["space"], 5, seed=5).results)


def test_code_without_the_native_space_is_flat_and_unprintable_constants_are_marked() -> None:
    flat = _pm().hook.hpviz_space_code(space=SearchSpace({"x": Float(0, 1)}), framework="hyperopt", experiment=None)
    assert "space = {\n    'x': hp.uniform('x', 0.0, 1.0),\n}" in flat
    space = {"fn": math.sqrt, "x": hp.uniform("x", 0, 1)}
    trials = Trials()
    fmin(lambda p: p["x"], space, algo=rand.suggest, max_evals=3, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)
    exp = hpviz.experiment(trials, space=space)
    code = _pm().hook.hpviz_space_code(space=exp.space, framework="hyperopt", experiment=exp)
    assert UNPRINTABLE in code and "put yours back" in code


def test_pchoice_and_randint_keep_their_native_form() -> None:
    space = {"p": hp.pchoice("p", [(0.2, "a"), (0.3, "b"), (0.5, "c")]), "r": hp.randint("r", 5)}
    trials = Trials()
    fmin(lambda p: float(p["r"]), space, algo=rand.suggest, max_evals=5, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)
    exp = hpviz.experiment(trials, space=space)
    refined = dict(exp.space)
    refined["p"] = Categorical(["a", "c"])
    code = _pm().hook.hpviz_space_code(space=SearchSpace(refined), framework="hyperopt", experiment=exp)
    assert "hp.pchoice('p', [(0.28571428571428575, 'a'), (0.7142857142857143, 'c')])" in code
    assert "'r': hp.randint('r', 5)" in code


# --------------------------------------------------------------------------- options


def test_options_are_checked(converted) -> None:
    space, trials, _ = converted
    with pytest.raises(TypeError, match=r"'spcae'.*did you mean 'space'.*curve_key, direction"):
        hpviz.experiment(trials, spcae=space)
    with pytest.raises(hpviz.SchemaError, match=r"'acc' is in no trial's result.*'accuracy', 'loss'"):
        hpviz.experiment(trials, space=space, objective="acc")
    with pytest.raises(hpviz.SchemaError, match="direction must be 'min' or 'max'"):
        hpviz.experiment(trials, space=space, direction="up")
    exp = hpviz.experiment(trials, space=space, objective="accuracy", direction="max")
    assert exp.objectives == {"accuracy": "max"}


# --------------------------------------------------------------------------- hooks and _compat


def test_hooks_answer_for_hyperopt_only() -> None:
    hook = _pm().hook
    assert hook.hpviz_export_constraints(framework="hyperopt")["log_with_step"] is True
    assert hook.hpviz_export_constraints(framework="optuna") is None
    assert "n_startup_jobs" in hook.hpviz_finding_advice(code="collapsed-exploration", evidence={},
                                                        framework="hyperopt")
    assert hook.hpviz_finding_advice(code="pruner-misranks", evidence={}, framework="hyperopt") is None
    assert hook.hpviz_space_code(space=SearchSpace({"x": Float(0, 1)}), framework="optuna", experiment=None) is None


def test_compat_dynamic_trials_holds_the_errors_and_exp_key_filters() -> None:
    def objective(p: dict) -> float:
        if p["x"] > 0.5:
            raise RuntimeError("boom")
        return p["x"]

    trials = Trials(exp_key="mine")
    fmin(objective, {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, max_evals=12, trials=trials,
         rstate=np.random.default_rng(0), catch_eval_exceptions=True, show_progressbar=False)
    dynamic = _compat.dynamic_trials(trials)
    errors = [d for d in dynamic if d["state"] == 3]
    assert errors and all(d["tid"] not in {t["tid"] for t in trials.trials} for d in errors)
    assert _compat.exp_key(trials) == "mine" and _compat.exp_key(object()) is None
    assert _compat.dynamic_trials(object()) is None
    exp = hpviz.experiment(trials, space={"x": hp.uniform("x", 0, 1)})
    assert len(exp) == 12 and sum(t.state == hpviz.TrialState.FAIL for t in exp.trials) == len(errors)
