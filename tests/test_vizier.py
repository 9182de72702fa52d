"""The OSS Vizier adapter, on real Vizier studies (RANDOM_SEARCH) and their SQLite datastore."""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("vizier")
pytest.importorskip("jax")  # running a study needs google-vizier[jax]; make test installs it

from conditional_source import conditional_experiment, structure  # noqa: E402
from offline_conformance import OfflineConformance  # noqa: E402
from vizier.service import clients  # noqa: E402
from vizier.service import pyvizier as vz  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Categorical, Float, Int, SearchSpace, TrialState  # noqa: E402
from hpviz.plugins import make_plugin_manager  # noqa: E402
from hpviz.testing import CONFORMANCE_SPACE, conformance_objective  # noqa: E402
from hpviz_vizier import from_vizier, space_code, to_vizier  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def datastore(tmp_path_factory) -> Path:
    """Vizier's local servicer is created once per process with the first database path set: set ours
    (its default lies inside site-packages). Returns the datastore actually in use."""
    default = f"sqlite:///{tmp_path_factory.mktemp('vizier') / 'vizier.db'}"
    url = clients.environment_variables.servicer_kwargs.setdefault("database_url", default)
    clients.environment_variables.new_suggestion_polling_secs = 0.0
    return Path(url[len("sqlite:///"):])


def _study(space: SearchSpace, objectives: dict[str, str], **metrics: Any) -> clients.Study:
    problem = to_vizier(space, objectives)
    for name, (goal, threshold) in metrics.items():
        problem.metric_information.append(vz.MetricInformation(name, goal=goal, safety_threshold=threshold))
    config = vz.StudyConfig.from_problem(problem)
    config.algorithm = "RANDOM_SEARCH"
    return clients.Study.from_study_config(config, owner="hpviz-test", study_id=uuid.uuid4().hex)


class TestVizierConformance(OfflineConformance):
    framework = "vizier"

    def run(self, tmp_path: Path, n_trials: int) -> tuple[Any, dict[str, Any]]:
        study = _study(CONFORMANCE_SPACE, {"loss": "min"})
        for i in range(n_trials):
            (trial,) = study.suggest(count=1)
            if i == 2:
                trial.complete(infeasible_reason="the conformance run's trial 2 fails")
                continue
            params = {k: (int(v) if k == "layers" else v) for k, v in trial.parameters.items()}
            trial.complete(vz.Measurement({"loss": conformance_objective(params)}))
        return study, {}

    def export_space(self, space: SearchSpace) -> Any:
        return to_vizier(space)

    def import_space(self, native: Any) -> SearchSpace:
        return from_vizier(native)

    def test_datastore_converts_like_the_study(self, tmp_path: Path, datastore: Path) -> None:
        study, _ = self.run(tmp_path, self.n_trials)
        live = hpviz.experiment(study)
        assert all(isinstance(t.params["layers"], int) for t in live.trials)  # Vizier returns INTEGER as float
        failed = live.trials[2]
        assert failed.state is TrialState.FAIL and not failed.feasible and "trial 2 fails" in failed.attrs["error"]
        mtime = datastore.stat().st_mtime_ns
        study_id = study.resource_name.rsplit("/", 1)[-1]
        saved = hpviz.experiment(datastore, study=study_id)
        assert datastore.stat().st_mtime_ns == mtime  # read-only
        assert saved.framework == "vizier" and saved.space == live.space
        assert [(t.params, t.state, t.values) for t in saved.trials] == [(t.params, t.state, t.values) for t in live.trials]
        with pytest.raises(hpviz.SchemaError, match="studies.*study="):
            hpviz.experiment(datastore)
        with pytest.raises(hpviz.SchemaError, match="no study 'nope'"):
            hpviz.experiment(f"sqlite:///{datastore}", study="nope")


def test_parameter_types_and_sorted_choices():
    problem = vz.ProblemStatement()
    root = problem.search_space.root
    root.add_float_param("lr", 1e-4, 1e-1, scale_type=vz.ScaleType.LOG)
    root.add_int_param("units", 8, 64)
    root.add_discrete_param("d", [0.5, 1.0, 2.0])
    root.add_discrete_param("batch", [16, 32, 48, 64])
    root.add_categorical_param("act", ["tanh", "relu", "gelu"])
    problem.metric_information.append(vz.MetricInformation("acc", goal=vz.ObjectiveMetricGoal.MAXIMIZE))
    problem.metric_information.append(vz.MetricInformation("ms", goal=vz.ObjectiveMetricGoal.MINIMIZE))
    config = vz.StudyConfig.from_problem(problem)
    config.algorithm = "RANDOM_SEARCH"
    study = clients.Study.from_study_config(config, owner="hpviz-test", study_id=uuid.uuid4().hex)
    for trial in study.suggest(count=4):
        trial.complete(vz.Measurement({"acc": 0.5, "ms": 3.0}))
    exp = hpviz.experiment(study)
    assert exp.objectives == {"acc": "max", "ms": "min"}
    assert exp.space.without("act") == SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "units": Int(8, 64),
                                                    "d": Categorical([0.5, 1.0, 2.0]), "batch": Int(16, 64, step=16)})
    assert exp.space["act"].choices == ("gelu", "relu", "tanh")  # Vizier stores choices sorted
    for t in exp.trials:
        assert isinstance(t.params["units"], int) and isinstance(t.params["batch"], int)
        assert all(exp.space[k].contains(v) for k, v in t.params.items())


def test_curves_early_stopping_infeasibility_safety_and_running():
    space = SearchSpace({"x": Float(-5.0, 5.0)})
    study = _study(space, {"loss": "min"}, mem=(vz.ObjectiveMetricGoal.MINIMIZE, 100.0))
    full, stopped, unsafe, infeasible, running = study.suggest(count=5)
    for step in range(4):
        full.add_measurement(vz.Measurement({"loss": 4.0 - step}, steps=step))
    full.complete(vz.Measurement({"loss": 0.5, "mem": 50.0}))
    for step in range(2):
        stopped.add_measurement(vz.Measurement({"loss": 9.0 - step}, steps=step))
    stopped.stop()
    stopped.complete()  # Vizier records it COMPLETED, its last measurement as final
    unsafe.complete(vz.Measurement({"loss": 0.1, "mem": 150.0}))
    infeasible.complete(vz.Measurement({"loss": 0.01, "mem": 10.0}), infeasible_reason="diverged")
    exp = hpviz.experiment(study)
    t_full, t_stopped, t_unsafe, t_inf, t_running = exp.trials
    assert t_full.state is TrialState.COMPLETE and t_full.values == {"loss": 0.5} and t_full.budget == 3
    assert [(s, m["loss"]) for s, m in t_full.log.points()] == [(0, 4.0), (1, 3.0), (2, 2.0), (3, 1.0)]
    assert t_full.attrs["mem"] == 50.0 and t_full.constraints == {"mem": -50.0} and t_full.feasible
    assert t_stopped.state is TrialState.PRUNED and t_stopped.values == {"loss": 8.0}
    assert "1 < full budget 3" in t_stopped.attrs["early_stopped"]
    assert t_unsafe.constraints == {"mem": 50.0} and not t_unsafe.feasible and t_unsafe.state is TrialState.COMPLETE
    assert t_inf.state is TrialState.COMPLETE and not t_inf.feasible and t_inf.attrs["infeasibility_reason"] == "diverged"
    assert t_running.state is TrialState.RUNNING
    assert [t.number for t in exp.trials if t.feasible and t.state is TrialState.COMPLETE] == [t_full.number]
    assert hpviz.experiment(study, max_steps=0).trials[1].state is TrialState.COMPLETE
    with pytest.raises(TypeError, match="it takes"):
        hpviz.experiment(study, direction="max")


def test_space_export_and_code():
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "units": Int(8, 256, log=True), "q": Float(0.0, 1.0, step=0.25),
                         "b": Categorical([16, 32, 128]), "opt": Categorical(["adam", "sgd"])})
    assert from_vizier(to_vizier(space)) == space
    code = space_code(space, hpviz.Experiment(space, {"acc": "max"}))
    ns: dict[str, Any] = {}
    exec(compile(code.split("# give the datastore")[0], "<vizier>", "exec"), ns)  # without creating the study
    assert from_vizier(ns["problem"]) == space
    assert ns["study_config"].metric_information.item().goal == vz.ObjectiveMetricGoal.MAXIMIZE
    assert "database_url" in code and "from_study_config" in code
    with pytest.raises(hpviz.SchemaError, match="strings"):
        to_vizier(SearchSpace({"flag": Categorical([True, "x"])}))


def _sorted_choices(space: SearchSpace) -> dict[str, Any]:
    """Vizier stores categorical choices sorted: compare spaces by name, with choices as sets."""
    return {k: frozenset(p.choices) if isinstance(p, Categorical) else p for k, p in space.items()}


def _draw(configs: Any, rng: np.random.Generator, out: dict[str, Any]) -> dict[str, Any]:
    """One point of a (conditional) Vizier search space, read from its own parameter configs: active parameters only."""
    for pc in configs:
        if pc.type == vz.ParameterType.CATEGORICAL:
            value = str(rng.choice(pc.feasible_values))
        elif pc.type == vz.ParameterType.DOUBLE:
            low, high = pc.bounds
            log = pc.scale_type == vz.ScaleType.LOG
            value = float(np.exp(rng.uniform(np.log(low), np.log(high))) if log else rng.uniform(low, high))
        else:
            low, high = pc.bounds
            value = int(rng.integers(low, high + 1))
        out[pc.name] = value
        if pc.child_parameter_configs:
            _draw(pc.subspace(value).parameters, rng, out)
    return out


def test_conditional_space_exports_as_subspaces_and_reads_back_equal():
    source = conditional_experiment()
    problem = to_vizier(source.space, {"acc": "max"}, source)
    assert problem.search_space.is_conditional
    assert _sorted_choices(from_vizier(problem)) == _sorted_choices(source.space)
    assert not to_vizier(source.space, {"acc": "max"}).search_space.is_conditional  # flat without the experiment
    config = vz.StudyConfig.from_problem(problem)
    config.algorithm = "RANDOM_SEARCH"
    study = clients.Study.from_study_config(config, owner="hpviz-test", study_id=uuid.uuid4().hex)
    stored = study.materialize_problem_statement().search_space
    rng = np.random.default_rng(0)
    for _ in range(24):  # no bundled OSS Vizier algorithm suggests in a conditional space: queue our own trials
        study.request(vz.TrialSuggestion(parameters=_draw(stored.parameters, rng, {})))
    for trial in study.suggest(count=24):
        trial.complete(vz.Measurement({"acc": float(trial.parameters["lr"])}))
    with pytest.raises(RuntimeError, match="does not support conditional search"):
        study.suggest(count=1)  # the queue is empty: RANDOM_SEARCH itself is asked, and refuses
    exp = hpviz.experiment(study)
    assert _sorted_choices(exp.space) == _sorted_choices(source.space)
    # OSS Vizier stores one level of subspaces: gamma (under kernel rbf, itself under svm) is lifted under svm
    lifted = [c if c[0] != "gamma" else ("gamma", "classifier", ("svm",)) for c in structure(source)]
    assert structure(exp, source.space) == lifted
    for t in exp.trials:
        assert ("svm_C" in t.params) == ("svm_kernel" in t.params) == ("gamma" in t.params) \
            == (t.params["classifier"] == "svm")
        assert ("knn_k" in t.params) == (t.params["classifier"] == "knn") and isinstance(t.params.get("knn_k", 0), int)
    code = space_code(source.space, source)
    assert "parents['classifier'].select_values(['svm']).add_float_param('gamma'" in code
    assert "# gamma was used only when svm_kernel in ['rbf']" in code and "bundled algorithms" in code
    ns: dict[str, Any] = {}
    exec(compile(code.split("# give the datastore")[0], "<vizier>", "exec"), ns)
    assert from_vizier(ns["problem"]) == from_vizier(problem) and ns["problem"].search_space.is_conditional
    refined = source.space.replace(classifier=Categorical(["svm", "rf"])).without("knn_k")
    assert "knn" not in space_code(refined, source) and _sorted_choices(from_vizier(to_vizier(refined, None, source))) \
        == _sorted_choices(refined)


def test_cli_reports_a_datastore(tmp_path, datastore):
    from hpviz.cli import main

    study = _study(CONFORMANCE_SPACE, {"loss": "min"})
    for trial in study.suggest(count=10):
        params = {k: (int(v) if k == "layers" else v) for k, v in trial.parameters.items()}
        trial.complete(vz.Measurement({"loss": conformance_objective(params)}))
    exp = hpviz.experiment(datastore, study=study.resource_name)
    assert len(exp.trials) == 10 and math.isfinite(exp.best().values["loss"])
    out = tmp_path / "report.html"
    assert main(["report", "--vizier-db", str(datastore), "--vizier-study", study.resource_name,
                 "-o", str(out), "--quiet"]) == 0
    assert out.stat().st_size > 1000
    assert main(["report", "--vizier-study", "x", "-o", str(out)]) == 2  # usage error: no --vizier-db


def test_adapter_is_listed_and_exports():
    pm = make_plugin_manager()
    status = {s.name: s for s in hpviz.plugins.status(pm)}
    assert status["vizier"].available
    infos = {i["framework"]: i for i in pm.hook.hpviz_adapter_info()}
    assert infos["vizier"]["version"]
    assert from_vizier(pm.hook.hpviz_export_space(space=CONFORMANCE_SPACE, framework="vizier")) == CONFORMANCE_SPACE


def test_demo_runs_two_rounds(tmp_path):
    from hpviz_vizier import run_demo

    exp = run_demo(n_trials=3, rounds=2, n_epochs=2, workdir=tmp_path)
    assert exp.framework == "vizier" and len(exp.rounds) == 2 and len(exp.trials) == 6
    assert all(isinstance(t.params["hidden_units"], int) and isinstance(t.params["batch_size"], int) for t in exp.trials)


def test_an_optuna_storage_is_not_taken_for_a_vizier_datastore(tmp_path):
    optuna = pytest.importorskip("optuna")
    from hpviz_vizier._compat import is_datastore

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    optuna.create_study(storage=url, study_name="s").optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert not is_datastore(tmp_path / "optuna.db")
    assert hpviz.experiment(url).framework == "optuna"
