"""Ray Tune offline conversion on real (tiny) runs: trial order, metric/mode, native spaces, PBT, trust.

One Ray session and four small runs for the module (OptunaSearch multi-objective, HyperOptSearch,
PBT, a run whose folder gets crafted pickles); every test reads those runs' folders.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
optuna = pytest.importorskip("optuna")
hyperopt = pytest.importorskip("hyperopt")

from hyperopt import hp  # noqa: E402
from ray import cloudpickle as ray_cloudpickle  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler, PopulationBasedTraining  # noqa: E402
from ray.tune.search import ConcurrencyLimiter  # noqa: E402
from ray.tune.search.hyperopt import HyperOptSearch  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

import hpviz  # noqa: E402
from hpviz.plugins import get_plugin_manager  # noqa: E402
from hpviz_raytune import _compat, convert, plugin  # noqa: E402
from hpviz_raytune.callback import HpvizCallback  # noqa: E402
from hpviz_raytune.convert import experiment_from_dir  # noqa: E402
from hpviz_raytune.space import space_from_native  # noqa: E402

TS = hpviz.TrialState

ray_cloudpickle.register_pickle_by_value(sys.modules[__name__])


pytestmark = pytest.mark.usefixtures("ray_session")  # one Ray session for the module (tests/conftest.py)


# --------------------------------------------------------------------------- trainables


def two_metrics(config):
    for _ in range(2):
        tune.report({"loss": (config["x"] - 0.5) ** 2, "gain": config["x"]})


def act_trainable(config):
    tune.report({"loss": config["x"] ** 2 + (0.0 if config["act"] == "relu" else 0.5)})


def pbt_trainable(config):
    import time

    step = 0
    ckpt = tune.get_checkpoint()
    if ckpt:
        with ckpt.as_directory() as d:
            step = json.loads(Path(d, "s.json").read_text())["step"]
    while step < 6:
        step += 1
        time.sleep(0.05)
        d = tempfile.mkdtemp()
        Path(d, "s.json").write_text(json.dumps({"step": step}))
        tune.report({"loss": abs(config["lr"] - 0.3) * 10 + 0.01 / step},
                    checkpoint=tune.Checkpoint.from_directory(d))


OPTUNA_SPACE = {"x": optuna.distributions.FloatDistribution(-2.0, 2.0)}
HYPEROPT_SPACE = {"x": hp.uniform("x", -2.0, 2.0), "act": hp.choice("act", ["relu", "tanh"])}
PBT_SPACE = {"lr": tune.uniform(0.0, 1.0)}


def _tuner(trainable, tmp, name, *, tune_config, param_space=None, callbacks=()):
    return tune.Tuner(trainable, param_space=param_space or {}, tune_config=tune_config,
                      run_config=tune.RunConfig(name=name, storage_path=str(tmp), callbacks=list(callbacks),
                                                verbose=0))


@pytest.fixture(scope="module")
def optuna_run(tmp_path_factory):
    """6 trials of OptunaSearch(space, metric=[loss, gain], mode=[min, max]); random trial ids; live callback."""
    tmp = tmp_path_factory.mktemp("optuna")
    cb = HpvizCallback(metric="loss", mode="min")
    search = OptunaSearch(OPTUNA_SPACE, metric=["loss", "gain"], mode=["min", "max"],
                          sampler=optuna.samplers.TPESampler(seed=0))
    tuner = _tuner(two_metrics, tmp, "opt", callbacks=[cb],
                   tune_config=tune.TuneConfig(num_samples=6, search_alg=ConcurrencyLimiter(search, 2)))
    grid = tuner.fit()
    return tmp / "opt", grid, cb, tuner


@pytest.fixture(scope="module")
def hyperopt_run(tmp_path_factory):
    """5 trials of HyperOptSearch(hp space, metric, mode)."""
    tmp = tmp_path_factory.mktemp("hyperopt")
    search = HyperOptSearch(HYPEROPT_SPACE, metric="loss", mode="min", random_state_seed=0)
    _tuner(act_trainable, tmp, "hyp", tune_config=tune.TuneConfig(num_samples=5, search_alg=search)).fit()
    return tmp / "hyp"


@pytest.fixture(scope="module")
def pbt_run(tmp_path_factory):
    """4 PBT trials (6 steps, perturbation every 2): configs change during trials; live callback."""
    tmp = tmp_path_factory.mktemp("pbt")
    cb = HpvizCallback(metric="loss", mode="min")
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=2, quantile_fraction=0.5,
                                  hyperparam_mutations={"lr": tune.uniform(0.0, 1.0)})
    _tuner(pbt_trainable, tmp, "pbt", param_space=PBT_SPACE, callbacks=[cb],
           tune_config=tune.TuneConfig(num_samples=4, scheduler=pbt, metric="loss", mode="min")).fit()
    return tmp / "pbt", cb


# --------------------------------------------------------------------------- trial order, live == offline


def test_offline_numbers_trials_by_start_time_and_matches_live(optuna_run):
    path, grid, cb, _ = optuna_run
    offline = hpviz.experiment(path, metric="loss", mode="min")
    assert offline.framework == "ray"
    started = [t.started for t in offline.trials]
    assert all(s is not None for s in started) and started == sorted(started)
    assert [t.number for t in offline.trials] == list(range(6))
    live = cb.experiment
    assert len(live.trials) == 6
    by_id = {t.attrs["trial_id"]: t for t in offline.trials}
    for t in live.trials:
        o = by_id[t.attrs["trial_id"]]
        assert (t.number, t.state, t.params, t.values) == (o.number, o.state, o.params, o.values)
    # the ResultGrid converts the same way
    via_grid = hpviz.experiment(grid, metric="loss", mode="min")
    assert [t.attrs["trial_id"] for t in via_grid.trials] == [t.attrs["trial_id"] for t in offline.trials]


def test_missing_start_times_fall_back_to_the_tag_counter_and_say_so(optuna_run, tmp_path, caplog):
    path = shutil.copytree(optuna_run[0], tmp_path / "copy")
    state = max(path.glob("experiment_state-*.json"))
    data = json.loads(state.read_text())
    for entry in data["trial_data"]:
        meta = json.loads(entry[1])
        meta["start_time"] = None
        entry[1] = json.dumps(meta)
    state.write_text(json.dumps(data))
    exp = hpviz.experiment(path, metric="loss", mode="min")
    counters = [int(json.loads(e[0])["experiment_tag"].split("_")[0]) for e in data["trial_data"]]
    tag_of = {json.loads(e[0])["trial_id"]: int(json.loads(e[0])["experiment_tag"].split("_")[0])
              for e in data["trial_data"]}
    assert [tag_of[t.attrs["trial_id"]] for t in exp.trials] == sorted(counters)
    assert any("no saved start time" in n for n in exp.notes)
    assert "no saved start time" in caplog.text


# --------------------------------------------------------------------------- metric and mode


def test_metric_and_mode_from_the_search_algorithm_with_trust(optuna_run):
    exp = hpviz.experiment(optuna_run[0], trust=True)
    assert exp.objectives == {"loss": "min", "gain": "max"}
    assert all(set(t.values) == {"loss", "gain"} for t in exp.trials)
    # the searcher state holds the exact space the search algorithm searched
    assert exp.space == hpviz.SearchSpace({"x": hpviz.Float(-2.0, 2.0)})
    assert not exp.space.inferred


def test_without_trust_metric_and_mode_are_asked_for(optuna_run):
    with pytest.raises(hpviz.SchemaError) as err:
        hpviz.experiment(optuna_run[0])
    msg = str(err.value)
    assert "metric=" in msg and "mode=" in msg and "trust=True" in msg and "'gain'" in msg
    assert "param_space" in msg and "scheduler" in msg


def test_metric_list_gives_several_objectives_and_bad_metric_or_mode_fail(optuna_run):
    exp = hpviz.experiment(optuna_run[0], metric=["loss", "gain"], mode=["min", "max"])
    assert exp.objectives == {"loss": "min", "gain": "max"}
    with pytest.raises(hpviz.SchemaError, match=r"'lossy' was not reported.*'loss', 'gain'"):
        hpviz.experiment(optuna_run[0], metric="lossy", mode="min")
    with pytest.raises(hpviz.SchemaError, match="'maximize'"):
        hpviz.experiment(optuna_run[0], metric="loss", mode="maximize")
    with pytest.raises(hpviz.SchemaError, match="one mode per metric"):
        hpviz.experiment(optuna_run[0], metric=["loss", "gain"], mode=["min"])
    with pytest.raises(TypeError, match="allowed"):
        hpviz.experiment(optuna_run[0], metric="loss", mode="min", trsut=True)


def test_result_grid_gives_its_metric_and_mode(hyperopt_run):
    from ray.tune import ExperimentAnalysis, ResultGrid

    # a ResultGrid built from the folder (Ray's own reader, the user's call) carries TuneConfig's metric/mode
    grid = ResultGrid(ExperimentAnalysis(str(hyperopt_run), default_metric="loss", default_mode="min"))
    assert _compat.result_grid_metric_mode(grid) == ("loss", "min")
    assert hpviz.experiment(grid).objectives == {"loss": "min"}


def test_relative_path_and_metric_from_json(pbt_run, monkeypatch):
    path = pbt_run[0]
    monkeypatch.chdir(path.parent)
    # TuneConfig's metric is in the JSON state; its mode is only in tuner.pkl
    with pytest.raises(hpviz.SchemaError, match="which mode"):
        hpviz.experiment("pbt")
    exp = hpviz.experiment("pbt", mode="min")
    assert exp.objectives == {"loss": "min"} and len(exp.trials) == 4
    assert exp.source == str(path.resolve())


# --------------------------------------------------------------------------- native spaces


def test_hyperopt_space_as_param_space_or_recovered_with_trust(hyperopt_run):
    expected = hpviz.SearchSpace({"x": hpviz.Float(-2.0, 2.0), "act": hpviz.Categorical(["relu", "tanh"])})
    given = hpviz.experiment(hyperopt_run, metric="loss", mode="min", param_space=HYPEROPT_SPACE)
    assert given.space == expected and not given.notes
    trusted = hpviz.experiment(hyperopt_run, trust=True)
    assert trusted.space == expected
    assert trusted.objectives == {"loss": "min"}
    assert {t.params["act"] for t in trusted.trials} <= {"relu", "tanh"}
    inferred = hpviz.experiment(hyperopt_run, metric="loss", mode="min")
    assert inferred.space.inferred
    assert any("inferred" in n for n in inferred.notes)


def test_optuna_distributions_as_param_space(optuna_run):
    exp = hpviz.experiment(optuna_run[0], metric="loss", mode="min", param_space=OPTUNA_SPACE)
    assert exp.space == hpviz.SearchSpace({"x": hpviz.Float(-2.0, 2.0)})
    assert space_from_native(HYPEROPT_SPACE)[0] == space_from_native(
        {"x": tune.uniform(-2.0, 2.0), "act": tune.choice(["relu", "tanh"])})[0]


def test_empty_space_is_noted(optuna_run):
    exp = hpviz.experiment(optuna_run[0], metric="loss", mode="min", param_space={"const": 3})
    assert len(exp.space) == 0 and any("empty" in n for n in exp.notes)


# --------------------------------------------------------------------------- PBT


def test_pbt_config_history_exploits_and_final_config(pbt_run):
    path, cb = pbt_run
    exp = hpviz.experiment(path, trust=True)
    assert exp.objectives == {"loss": "min"}  # from the TuneConfig in tuner.pkl
    ids = {t.attrs["trial_id"] for t in exp.trials}
    exploited = [t for t in exp.trials if t.attrs.get("pbt_exploits")]
    assert exploited, "PBT exploited no trial: the run is too small to test lineage"
    for t in exploited:
        for ev in t.attrs["pbt_exploits"]:
            assert ev["donor"] in ids and ev["donor"] != t.attrs["trial_id"]
            assert isinstance(ev["step"], int) and set(ev["config"]) == {"lr"}
    changed = [t for t in exp.trials if t.attrs.get("config_history")]
    assert changed
    for t in changed:
        hist = t.attrs["config_history"]
        assert hist[0]["step"] == 0 and len(hist) >= 2
        # params are the config of the last result (the one that produced the value)
        assert t.params == hist[-1]["config"]
    # live and offline agree on params, values, exploits and history (one rule for both: the final result
    # is Ray's last_result, the history is cut from the exploit log; result.json may have lost rows)
    live = cb.experiment
    by_id = {t.attrs["trial_id"]: t for t in exp.trials}
    for t in live.trials:
        o = by_id[t.attrs["trial_id"]]
        assert (t.number, t.params, t.values) == (o.number, o.params, o.values)
        assert t.attrs.get("config_history") == o.attrs.get("config_history")
        assert t.attrs.get("pbt_exploits") == o.attrs.get("pbt_exploits")
    # PBT stops nothing early: no trial is PRUNED
    assert {t.state for t in exp.trials} == {TS.COMPLETE}
    # the default searcher's pickled spec gives the exact space with trust
    assert exp.space == hpviz.SearchSpace({"lr": hpviz.Float(0.0, 1.0)})
    saved = Path(path.parent, "pbt.json")
    exp.save(saved)
    again = hpviz.load(saved)
    assert [t.attrs.get("pbt_exploits") for t in again.trials] == [t.attrs.get("pbt_exploits") for t in exp.trials]


# --------------------------------------------------------------------------- no code execution from data


class _Marker:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_crafted_pickles_run_nothing_without_trust(hyperopt_run, pbt_run, tmp_path):
    path = shutil.copytree(hyperopt_run, tmp_path / "crafted")
    markers = {name: tmp_path / f"ran-{name}" for name in ("tuner", "variant", "searcher", "json")}
    Path(path, "tuner.pkl").write_bytes(pickle.dumps(_Marker(markers["tuner"])))
    Path(path, "basic-variant-state-2000-01-01_00-00-00.json").write_bytes(pickle.dumps(_Marker(markers["variant"])))
    for old in path.glob("searcher-state-*.pkl"):
        old.unlink()
    Path(path, "searcher-state-2000-01-01_00-00-00.pkl").write_bytes(pickle.dumps(_Marker(markers["searcher"])))
    state = max(path.glob("experiment_state-*.json"))
    data = json.loads(state.read_text())
    blob = {"_type": "CLOUDPICKLE_FALLBACK", "value": pickle.dumps(_Marker(markers["json"])).hex()}
    data["runner_data"]["_stopper"] = blob
    trial = json.loads(data["trial_data"][0][0])
    trial["config"]["hook"] = blob
    data["trial_data"][0][0] = json.dumps(trial)
    state.write_text(json.dumps(data))

    exp = hpviz.experiment(path, metric="loss", mode="min")
    assert len(exp.trials) == 5
    assert not any(m.exists() for m in markers.values())
    # the embedded pickle is kept as an opaque placeholder, never decoded
    entries = convert._entries(json.loads(state.read_text()))
    assert "not loaded" in entries[0][0]["config"]["hook"]
    # with trust the pickles are loaded (so the test above would catch a loader that unpickles)
    hpviz.experiment(path, metric="loss", mode="min", trust=True)
    assert markers["tuner"].exists() and markers["searcher"].exists() and markers["variant"].exists()
    assert not markers["json"].exists()  # Ray's embedded pickles are never decoded, trusted or not


def test_remote_uri_needs_trust():
    with pytest.raises(hpviz.HpvizError, match=r"trust=True.*param_space"):
        experiment_from_dir("s3://some-bucket/ray_results/exp", {"metric": "loss", "mode": "min"})


# --------------------------------------------------------------------------- hooks and private Ray attributes


def test_cli_arguments_and_source(hyperopt_run, tmp_path, capsys):
    from hpviz.cli import main

    parser = argparse.ArgumentParser()
    parser.add_argument("source", nargs="?")
    parser.add_argument("--trust", action="store_true")  # the core's flag
    pm = get_plugin_manager()
    pm.hook.hpviz_add_cli_arguments(parser=parser)
    args = parser.parse_args(["--ray-experiment", str(hyperopt_run), "--ray-metric", "loss", "--ray-mode", "min"])
    exp = pm.hook.hpviz_cli_source(args=args)
    assert exp.objectives == {"loss": "min"} and len(exp.trials) == 5
    assert plugin.hpviz_cli_source(args=parser.parse_args([str(hyperopt_run)])) is None
    trusted = plugin.hpviz_cli_source(args=parser.parse_args(["--ray-experiment", str(hyperopt_run), "--trust"]))
    assert trusted.objectives == {"loss": "min"} and not trusted.space.inferred
    with pytest.raises(hpviz.HpvizError, match="--ray-experiment DIR"):
        plugin.hpviz_cli_source(args=parser.parse_args(["--ray-metric", "loss"]))
    # Ray options qualify a positional SOURCE: the adapter reads it and marks it consumed
    qualified = parser.parse_args([str(hyperopt_run), "--ray-metric", "loss", "--ray-mode", "min"])
    assert plugin.hpviz_cli_source(args=qualified).objectives == {"loss": "min"} and qualified.source is None
    # the whole command line: the error names the options, the right options write the report
    out = tmp_path / "r.html"
    assert main(["report", str(hyperopt_run), "-o", str(out), "--quiet"]) != 0
    assert "--ray-experiment DIR --ray-metric loss --ray-mode" in capsys.readouterr().err
    assert main(["report", "--ray-experiment", str(hyperopt_run), "--ray-metric", "loss", "--ray-mode", "min",
                 "-o", str(out), "--quiet"]) == 0
    assert out.is_file()


def test_space_code_advice_and_export_constraints_hooks():
    pm = get_plugin_manager()
    space = hpviz.SearchSpace({"lr": hpviz.Float(1e-4, 1e-1, log=True), "model.depth": hpviz.Int(1, 5),
                               "act": hpviz.Categorical(["relu", "tanh"]), "n": hpviz.Int(8, 64, step=8)})
    code = pm.hook.hpviz_space_code(space=space, framework="ray", experiment=None)
    assert "from ray import tune" in code and "param_space = {" in code
    namespace: dict = {}
    compile(code, "<space>", "exec")  # valid Python
    exec(code.split("# or export")[0], namespace)  # noqa: S102 - our own generated code, as the user pastes it
    assert space_from_native(namespace["param_space"])[0] == space
    assert pm.hook.hpviz_space_code(space=space, framework="other", experiment=None) is None
    advice = pm.hook.hpviz_finding_advice(code="pruner-misranks", evidence={"reliable_step": 12.0}, framework="ray")
    assert "ASHAScheduler(grace_period=12)" in advice
    for code_ in ("duplicate-configs", "collapsed-exploration"):
        assert "Ray Tune" in pm.hook.hpviz_finding_advice(code=code_, evidence={}, framework="ray")
    assert plugin.hpviz_finding_advice(code="pruner-misranks", evidence={}, framework="optuna") is None
    assert pm.hook.hpviz_finding_advice(code="pruner-misranks", evidence={}, framework="other") is None
    assert pm.hook.hpviz_export_constraints(framework="ray") == {"log_with_step": True, "change_kind": True}


def test_compat_private_ray_attributes(optuna_run):
    _, _, cb, tuner = optuna_run
    # Tuner._local_tuner: the callbacks a Tuner runs
    assert any(isinstance(c, HpvizCallback) for c in _compat.tuner_callbacks(tuner))
    assert _compat.tuner_callbacks(object()) is None
    # scheduler _time_attr / _max_t / HyperBand _max_t_attr
    asha = _compat.scheduler_settings(ASHAScheduler(max_t=7, grace_period=1, time_attr="epoch"))
    assert asha == {"time_attr": "epoch", "max_t": 7.0, "early_stopping": True, "kind": "AsyncHyperBandScheduler"}
    assert _compat.scheduler_settings(HyperBandScheduler(max_t=9))["max_t"] == 9.0
    assert _compat.scheduler_settings(None)["early_stopping"] is False
    pbt = PopulationBasedTraining(metric="loss", mode="min", hyperparam_mutations={"lr": [1, 2]})
    assert _compat.scheduler_settings(pbt)["early_stopping"] is False
    assert _compat.scheduler_metric_mode(pbt) == ("loss", "min")
    # searcher metric/mode through ConcurrencyLimiter, searcher _space
    search = ConcurrencyLimiter(OptunaSearch(OPTUNA_SPACE, metric="a", mode="max"), 2)
    assert _compat.searcher_metric_mode(search) == ("a", "max")
    assert _compat.searcher_space(search) == OPTUNA_SPACE
    assert _compat.searcher_space(HyperOptSearch(HYPEROPT_SPACE)) is not None
    assert _compat.searcher_space(OptunaSearch(lambda trial: None)) is None
    # pickled Tuner and searcher state (read with trust)
    path = optuna_run[0]
    tc, rc = _compat.saved_tuner_configs(_compat.load_pickle(Path(path, "tuner.pkl").read_bytes()))
    assert tc.num_samples == 6 and any(isinstance(c, HpvizCallback) for c in rc.callbacks)
    state = _compat.load_pickle(max(path.glob("searcher-state-*.pkl")).read_bytes())
    space, metric, mode = _compat.saved_searcher_settings(state)
    assert set(space) == {"x"} and metric == ["loss", "gain"] and mode == ["min", "max"]


def test_compat_saved_searcher_spec(pbt_run):
    path = pbt_run[0]
    spec = _compat.saved_searcher_spec(_compat.load_pickle(max(path.glob("basic-variant-state-*")).read_bytes()))
    assert set(spec) == {"lr"}
    assert _compat.saved_searcher_spec({"_iterators": []}) is None


def test_pbt_lineage_from_the_recorded_history(pbt_run):
    """hpviz.lineage reads what the converter records (config_history, pbt_exploits with donors)."""
    path, cb = pbt_run
    offline = hpviz.experiment(path, metric="loss", mode="min")
    n_exploits = sum(len(t.attrs.get("pbt_exploits") or []) for t in offline.trials)
    assert n_exploits > 0
    lin = hpviz.lineage(offline)
    assert len(lin.events) == n_exploits and lin.events["donor"].notna().all()
    assert set(lin.roots) == {t.number for t in offline.trials}
    assert set(lin.segments["trial"]) == set(lin.roots)
    live = hpviz.lineage(cb.experiment)  # the live callback records the same config history
    assert sorted(live.segments["start"]) == sorted(lin.segments["start"])
