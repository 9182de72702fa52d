"""The demo's second model family (logistic regression beside the MLP) in every framework, and the
multi-model report ``hpviz demo`` writes from the two studies."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

import hpviz
from hpviz.cli import main
from hpviz.demo import DEMO_OBJECTIVE, LOGREG, LOGREG_SPACE, MODELS, demo_model
from hpviz.plugins import make_plugin_manager

#: framework id -> the module it needs
FRAMEWORKS = {"optuna": "optuna", "hyperopt": "hyperopt", "sklearn": "sklearn", "smac": "smac", "ax": "ax",
              "vizier": "vizier", "ray": "ray"}


@pytest.fixture
def root_logging():
    """Restore the root logger after a framework's demo: SMAC's logging setup sets the root level to ERROR
    and adds a handler, which would hide the warnings later tests capture (caplog)."""
    import logging

    level, handlers = logging.root.level, list(logging.root.handlers)
    yield
    logging.root.setLevel(level)
    logging.root.handlers[:] = handlers


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_every_framework_tunes_the_logistic_regression_in_its_own_study(framework, tmp_path, root_logging):
    if importlib.util.find_spec(FRAMEWORKS[framework]) is None:
        pytest.skip(f"{FRAMEWORKS[framework]} is not installed")
    pm = make_plugin_manager()
    exp = pm.hook.hpviz_run_demo(framework=framework, options={
        "n_trials": 3, "rounds": 1, "seed": 0, "workdir": str(tmp_path), "model": "logreg"})
    assert exp.rounds[0].space == LOGREG_SPACE and exp.objectives == {DEMO_OBJECTIVE: "max"}
    assert "logistic regression on digits" in exp.name
    done = exp.completed()
    assert done and all(0.0 <= t.values[DEMO_OBJECTIVE] <= 1.0 for t in done)
    assert all(set(t.params) == set(LOGREG_SPACE) for t in done)


def test_the_logistic_regression_learns_and_its_estimator_takes_the_space():
    curve = list(LOGREG.train_epochs({"alpha": 1e-4, "eta0": 1e-2, "learning_rate": "constant", "penalty": "l2"},
                                     n_epochs=3))
    assert [e for e, _ in curve] == [1, 2, 3] and curve[-1][1] > 0.9  # digits: a linear model reaches > 90%
    est = LOGREG.estimator(3, 0)
    assert set(LOGREG_SPACE) <= set(est.get_params())
    assert demo_model(None) is MODELS["mlp"] and demo_model("logreg") is LOGREG
    with pytest.raises(hpviz.SchemaError, match=r"unknown demo model 'svm'; known: \['logreg', 'mlp'\]"):
        demo_model("svm")


def test_the_demo_writes_both_reports_and_the_multi_model_report(tmp_path, capsys):
    if importlib.util.find_spec("optuna") is None:
        pytest.skip("optuna is not installed")
    out = tmp_path / "demo"
    assert main(["demo", "--framework", "optuna", "--trials", "6", "--rounds", "1", "--out", str(out),
                 "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} >= {"experiment.json", "report.html", "experiment-logreg.json",
                                               "report-logreg.html", "models.html"}
    page = (out / "models.html").read_text()
    # per-model sections link to the reports the demo wrote (none written twice)
    assert re.findall(r'<a href="([^"]+)">Full report', page) == ["report.html", "report-logreg.html"]
    assert not list(out.glob("models-*.html"))
    assert "Verdict per budget axis" in page and "by seconds of training" in page and "data:image/png" in page
    assert "2 models compared" in page and "logistic regression" in page
    assert "multi-model report" not in capsys.readouterr().err


def test_demo_models_option_is_checked_before_any_work(tmp_path, capsys):
    assert main(["demo", "--models", "mlp,svm", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "--models takes demo models among ['logreg', 'mlp']" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_reports_option_links_existing_reports_and_is_checked(tmp_path):
    a = hpviz.testing.make_experiment(20, seed=0, name="a")
    b = hpviz.testing.make_experiment(20, seed=1, name="b")
    own = hpviz.report(a, tmp_path / "a.html", views=["progress"])
    (tmp_path / "sub").mkdir()
    page = hpviz.report([a, b], tmp_path / "sub" / "models.html", reports=[own, None], views=["progress"])
    html = page.read_text()
    assert '<a href="../a.html">' in html and (tmp_path / "sub" / "models-2-b.html").is_file()
    with pytest.raises(hpviz.SchemaError, match="reports must list one existing report"):
        hpviz.report([a, b], tmp_path / "m.html", reports=[own])
    with pytest.raises(hpviz.SchemaError, match="is not an existing report file"):
        hpviz.report([a, b], tmp_path / "m.html", reports=[tmp_path / "nope.html", None])
    assert not Path(tmp_path / "m.html").exists()


def test_cli_compares_models_from_a_json_file_and_studies_of_one_storage_with_a_pareto_front(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = tmp_path / "studies.db"
    for name, scale in (("wide", 3.0), ("narrow", 0.5)):
        study = optuna.create_study(study_name=name, storage=f"sqlite:///{db}",
                                    sampler=optuna.samplers.RandomSampler(seed=1))
        study.optimize(lambda t, s=scale: (t.suggest_float("x", -s, s) - 0.2) ** 2, n_trials=12)
    saved = hpviz.testing.make_experiment(15, seed=0, name="saved").save(tmp_path / "a.json")
    out = tmp_path / "models.html"
    assert main(["report", str(saved), f"{db}#wide", f"sqlite:///{db}#narrow", "-o", str(out), "--quiet",
                 "--pareto", "value:min,duration:min", "--names", "saved,wide,narrow"]) == 0
    page = out.read_text()
    assert "on value and duration together, the best trade-offs come from" in page
    assert [p.name for p in sorted(tmp_path.glob("models-*.html"))] == [
        "models-1-saved.html", "models-2-wide.html", "models-3-narrow.html"]
    # checked before any source is read
    for bad, msg in ((["--pareto", "value"], "--pareto takes METRIC:max or METRIC:min"),
                     (["--pareto", "value:min"], "--pareto needs two or more metrics"),
                     (["--names", "a,b"], "--names needs 3 comma-separated names")):
        capsys.readouterr()
        assert main(["report", str(saved), f"{db}#wide", "missing.db#x", "-o", str(out), *bad]) == 2
        assert msg in capsys.readouterr().err
    assert main(["report", str(saved), "-o", str(out), "--pareto", "a:min,b:max"]) == 2
    assert "apply to several sources" in capsys.readouterr().err
    # a study name the storage does not hold: an error naming the ones it has
    assert main(["report", str(saved), f"{db}#nope", "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "wide" in err
