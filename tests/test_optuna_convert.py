"""Optuna conversion on real studies: constraints, live RDB studies, read-only probing, options, hooks."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

import hpviz  # noqa: E402
import hpviz_optuna.plugin as optuna_plugin  # noqa: E402
from hpviz import Categorical, Float, Int, SearchSpace, TrialState  # noqa: E402
from hpviz.cli import main  # noqa: E402
from hpviz.plugins import make_plugin_manager  # noqa: E402
from hpviz_optuna import _compat  # noqa: E402
from hpviz_optuna.code import branches  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
# Optuna 5 deprecates the samplers' constraints_func (users still have studies made with it).
pytestmark = pytest.mark.filterwarnings("ignore:`constraints_func` has been deprecated:FutureWarning")


def _constraint(trial: optuna.trial.FrozenTrial) -> list[float]:
    return trial.user_attrs["c"]


# --------------------------------------------------------------------------- constraints


def _objective_with_constraint(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3, 3)
    trial.set_user_attr("c", [x - 1.0])  # feasible when x <= 1, while the optimum of (x - 2)^2 is at 2
    return (x - 2) ** 2


def test_sampler_constraints_single_objective() -> None:
    sampler = optuna.samplers.TPESampler(seed=0, constraints_func=_constraint, n_startup_trials=5)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective_with_constraint, n_trials=25)
    exp = hpviz.experiment(study)
    assert exp.framework == "optuna"
    by_number = {t.number: t for t in exp.trials}
    n_infeasible = 0
    for ft in study.trials:
        t = by_number[ft.number]
        assert t.constraints == {"0": pytest.approx(ft.params["x"] - 1.0)}
        assert t.feasible is (ft.params["x"] <= 1.0)
        n_infeasible += not t.feasible
    assert 0 < n_infeasible < len(study.trials)  # both kinds present, so the assertions above could fail


def test_sampler_constraints_multi_objective_nsga2() -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x, y = trial.suggest_float("x", 0, 5), trial.suggest_float("y", 0, 3)
        trial.set_user_attr("c", [(x - 5) ** 2 + y ** 2 - 25, -((x - 8) ** 2) - (y + 3) ** 2 + 7.7])
        return 4 * x ** 2 + 4 * y ** 2, (x - 5) ** 2 + (y - 5) ** 2

    sampler = optuna.samplers.NSGAIISampler(seed=1, constraints_func=_constraint, population_size=10)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=30)
    exp = hpviz.experiment(study)
    assert list(exp.objectives) == ["value_0", "value_1"]
    feasible = {t.number: t.feasible for t in exp.trials}
    expected = {ft.number: all(c <= 0 for c in ft.user_attrs["c"]) for ft in study.trials}
    assert feasible == expected and set(expected.values()) == {True, False}
    assert all(len(t.constraints) == 2 for t in exp.trials)


def test_trial_level_constraints_by_name() -> None:
    study = optuna.create_study()
    for x in (0.5, 2.0):
        trial = study.ask()
        trial.suggest_float("x", 0, 3)
        trial.set_constraint("memory_gb", x - 1.0)
        study.tell(trial, x)
    plain = study.ask()
    plain.suggest_float("x", 0, 3)
    study.tell(plain, 1.0)
    trials = hpviz.experiment(study).trials
    assert [t.constraints for t in trials] == [{"memory_gb": -0.5}, {"memory_gb": 1.0}, None]
    assert [t.feasible for t in trials] == [True, False, True]


def test_compat_trial_constraints_reads_the_system_attribute_list() -> None:
    sampler = optuna.samplers.TPESampler(seed=0, constraints_func=lambda t: [0.5, -1.0])
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    ft = study.trials[0]
    assert list(ft.system_attrs.get("constraints")) == [0.5, -1.0]  # where Optuna (< 5 and 5) puts constraints_func
    assert _compat.trial_constraints(ft) == {"0": 0.5, "1": -1.0}

    class Old:  # Optuna < 5 FrozenTrial: no ``constraints`` property, only the system attribute
        system_attrs = {"constraints": (0.25,)}

    assert _compat.trial_constraints(Old()) == {"0": 0.25}


def test_compat_recognises_optunas_incompatible_distribution_error() -> None:
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    trial = study.ask()
    with pytest.raises(ValueError) as info:
        trial.suggest_categorical("x", ["a", "b"])
    assert _compat.is_incompatible_distribution_error(info.value)
    assert not _compat.is_incompatible_distribution_error(ValueError("something else"))
    with pytest.raises(hpviz.SchemaError, match="new study"):
        hpviz_optuna_suggest = __import__("hpviz_optuna").suggest
        hpviz_optuna_suggest(study.ask(), SearchSpace({"x": Categorical(["a", "b"])}))


# --------------------------------------------------------------------------- live RDB studies


def test_running_and_waiting_trials_are_kept_as_such(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = optuna.create_study(storage=url, study_name="live")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    running = study.ask()  # a worker is still evaluating it
    running.suggest_float("x", 0, 1)
    study.enqueue_trial({"x": 0.5})  # queued, not started
    exp = hpviz.experiment(url)
    states = [t.state for t in exp.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING]
    assert exp.trials[2].values == {} and exp.trials[2].finished is None
    assert len(exp.completed()) == 2


def test_empty_study_converts_and_reads_no_trials_yet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.create_study(storage=url, study_name="fresh", direction="maximize")
    exp = hpviz.experiment(url)
    assert len(exp) == 0 and exp.objectives == {"value": "max"} and exp.framework == "optuna"
    finding = hpviz.diagnose(exp).findings[0]
    assert finding.code == "too-few-trials" and "no trials yet" in finding.message


# --------------------------------------------------------------------------- read-only probe


def _other_db(path: Path) -> bytes:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, score REAL)")
    con.execute("INSERT INTO runs (score) VALUES (0.5)")
    con.commit()
    con.close()
    return path.read_bytes()


def test_a_foreign_sqlite_file_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "other-framework.db"
    before = _other_db(path)
    url = f"sqlite:///{path}"
    with pytest.raises(hpviz.UnsupportedObjectError):
        hpviz.experiment(url)  # not claimed: another adapter may read it
    with pytest.raises(hpviz.SchemaError, match="not an Optuna storage"):
        hpviz.experiment(url, optuna_storage=url)
    assert main(["report", "--optuna-storage", url, "-o", str(tmp_path / "r.html")]) == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-framework.db"]  # no journal, no report


def test_compat_schema_probes(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    before = _other_db(other)
    real = tmp_path / "optuna.db"
    optuna.create_study(storage=f"sqlite:///{real}")
    assert _compat.sqlite_has_optuna_schema(real)
    assert not _compat.sqlite_has_optuna_schema(other)
    (tmp_path / "text.db").write_text("not sqlite")
    assert not _compat.sqlite_has_optuna_schema(tmp_path / "text.db")
    assert _compat.rdb_has_optuna_schema(f"sqlite:///{real}")
    assert not _compat.rdb_has_optuna_schema(f"sqlite:///{other}")
    assert other.read_bytes() == before
    assert len(_compat.open_rdb_storage(f"sqlite:///{real}").get_all_studies()) == 1


# --------------------------------------------------------------------------- options


def test_unknown_options_are_a_type_error_naming_the_allowed_ones() -> None:
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(TypeError, match=r"'spcae'.*log_capacity, name, optuna_storage, study"):
        hpviz.experiment(study, spcae=1)
    with pytest.raises(TypeError, match="does not apply to an optuna.Study"):
        hpviz.experiment(study, study="other")
    exp = hpviz.experiment(study, name="renamed")
    assert exp.name == "renamed"
    with pytest.raises(TypeError, match="'objective'.*takes: trust"):
        hpviz.experiment(exp, objective="value")


# --------------------------------------------------------------------------- hooks


def _pm():
    pm = make_plugin_manager(load_entry_points=False)
    pm.register(optuna_plugin, name="optuna")
    return pm


def test_finding_advice_in_optunas_terms() -> None:
    hook = _pm().hook.hpviz_finding_advice
    text = hook(code="pruner-misranks", evidence={"reliable_step": 12.0}, framework="optuna")
    assert "MedianPruner(n_warmup_steps=12)" in text and "PatientPruner" in text
    assert "NopPruner" in hook(code="pruner-misranks", evidence={}, framework="optuna")
    assert "GridSampler" in hook(code="duplicate-configs", evidence={"n_distinct_possible": 12.0}, framework="optuna")
    assert "GridSampler" not in hook(code="duplicate-configs", evidence={}, framework="optuna")
    assert "TPESampler(n_startup_trials" in hook(code="collapsed-exploration", evidence={}, framework="optuna")
    assert hook(code="pruner-misranks", evidence={}, framework="hyperopt") is None
    assert hook(code="best-at-boundary", evidence={}, framework="optuna") is None


def test_export_constraints() -> None:
    hook = _pm().hook.hpviz_export_constraints
    assert hook(framework="optuna")["log_with_step"] is False
    assert hook(framework="other") is None


def _conditional(trial: optuna.Trial) -> float:
    clf = trial.suggest_categorical("classifier", ["svm", "rf", "knn"])
    if clf == "svm":
        c = trial.suggest_float("svm_c", 1e-3, 1e3, log=True)
        kernel = trial.suggest_categorical("kernel", ["rbf", "poly"])
        if kernel == "poly":
            return abs(math.log10(c)) + trial.suggest_int("degree", 2, 5)
        return abs(math.log10(c))
    if clf == "rf":
        return 1.0 / trial.suggest_int("rf_depth", 1, 32)
    return trial.suggest_float("knn_w", 0, 1)


def test_space_code_keeps_the_branches_and_fixes_only_inside_them() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_conditional, n_trials=60)
    exp = hpviz.experiment(study)
    tree = branches(exp)
    assert {p: (b.parent, b.values) for p, b in tree.items()} == {
        "svm_c": ("classifier", ("svm",)), "kernel": ("classifier", ("svm",)),
        "degree": ("kernel", ("poly",)), "rf_depth": ("classifier", ("rf",)), "knn_w": ("classifier", ("knn",)),
    }
    refined = dict(exp.space)
    refined["classifier"] = Categorical(["svm", "rf"])  # knn dropped: its branch goes with it
    refined["kernel"] = Categorical(["poly"])  # fixed inside the svm branch only
    refined["rf_depth"] = Int(4, 16)
    code = _pm().hook.hpviz_space_code(space=SearchSpace(refined), framework="optuna", experiment=exp)
    assert "knn" not in code and "if params['classifier'] == 'svm':" in code
    namespace: dict = {}
    exec(compile(code, "<hpviz space code>", "exec"), namespace)  # noqa: S102 - code we generated
    seen = []

    def objective(trial: optuna.Trial) -> float:
        params = namespace["suggest_params"](trial)
        seen.append(params)
        return float(len(params))

    optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).optimize(objective, n_trials=30)
    for params in seen:
        if params["classifier"] == "svm":
            assert set(params) == {"classifier", "svm_c", "kernel", "degree"} and params["kernel"] == "poly"
        else:
            assert set(params) == {"classifier", "rf_depth"} and 4 <= params["rf_depth"] <= 16
    assert {p["classifier"] for p in seen} == {"svm", "rf"}


def test_space_code_of_the_real_suggestion_runs() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 1e-4, 10.0)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        return (math.log10(x) + 3) ** 2 + (kind == "b")

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(objective, n_trials=60)
    suggestion = hpviz.suggest_space(study)
    code = _pm().hook.hpviz_space_code(space=suggestion.space, framework="optuna", experiment=hpviz.experiment(study))
    namespace: dict = {}
    exec(compile(code, "<hpviz space code>", "exec"), namespace)  # noqa: S102 - code we generated
    new = optuna.create_study()
    new.optimize(lambda t: objective_from(namespace["suggest_params"](t)), n_trials=5)
    assert len(new.trials) == 5 and all(t.state.name == "COMPLETE" for t in new.trials)


def objective_from(params: dict) -> float:
    return (math.log10(params["x"]) + 3) ** 2 + (params["kind"] == "b")


def test_space_code_drops_the_step_of_a_log_parameter() -> None:
    code = _pm().hook.hpviz_space_code(space=SearchSpace({"lr": Float(1e-4, 1.0, log=True, step=1e-4)}),
                                       framework="optuna", experiment=None)
    assert "trial.suggest_float('lr', 0.0001, 1.0, log=True)" in code


# --------------------------------------------------------------------------- CLI


def test_cli_reads_a_single_study_storage_through_the_adapter_options(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    optuna.create_study(storage=url, study_name="only").optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    out = tmp_path / "r"
    assert main(["report", "--optuna-storage", url, "-o", str(out), "--quiet"], plugin_manager=_pm()) == 0
    assert "3 trials" in capsys.readouterr().out and any(out.iterdir())
    assert main(["report", "x.json", "--optuna-storage", url], plugin_manager=_pm()) == 2
    assert "not both" in capsys.readouterr().err
    optuna.create_study(storage=url, study_name="second")
    assert main(["report", "--optuna-storage", url, "-o", str(out)], plugin_manager=_pm()) == 1
    assert "holds 2 studies ['only', 'second']; name one with --optuna-study NAME" in capsys.readouterr().err


def test_demo_framework_choices_come_from_the_installed_adapters(capsys) -> None:
    pm = _pm()
    assert main(["demo", "--framework", "hyperopt", "--trials", "0"], plugin_manager=pm) == 2
    assert "invalid choice: 'hyperopt'" in (err := capsys.readouterr().err) and "{optuna}" in err
    assert main(["demo", "--trials", "0", "--quiet"], plugin_manager=pm) == 1  # default: the only adapter
    assert "n_trials >= 1" in capsys.readouterr().err


def test_suggest_with_the_experiment_samples_only_active_branches() -> None:
    from hpviz_optuna import suggest

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_conditional, n_trials=60)
    exp = hpviz.experiment(study)
    refined = dict(exp.space)
    refined["classifier"] = Categorical(["svm", "knn"])
    seen = []

    def objective(trial: optuna.Trial) -> float:
        seen.append(suggest(trial, SearchSpace(refined), experiment=exp))
        return 0.0

    optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2)).optimize(objective, n_trials=40)
    for params in seen:
        if params["classifier"] == "knn":
            assert set(params) == {"classifier", "knn_w"}
        else:
            assert {"svm_c", "kernel"} <= set(params) and "rf_depth" not in params and "knn_w" not in params
            assert ("degree" in params) == (params["kernel"] == "poly")
    flat = []
    optuna.create_study().optimize(lambda t: flat.append(suggest(t, SearchSpace(refined))) or 0.0, n_trials=1)
    assert set(flat[0]) == set(refined)  # without the experiment: every parameter
