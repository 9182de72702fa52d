"""trust= is the core's option: every converter accepts it, only sources that would unpickle use it."""

import optuna
import pytest

import hpviz
from hpviz.cli import main


@pytest.fixture
def study_path(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=url, study_name="s", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=6)
    return url, study


def test_every_converter_accepts_trust_and_checks_its_type(study_path, tmp_path):
    _, study = study_path
    assert len(hpviz.experiment(study, trust=True).trials) == 6
    saved = hpviz.experiment(study).save(tmp_path / "e.json")
    assert len(hpviz.experiment(saved, trust=True).trials) == 6
    with pytest.raises(TypeError, match="trust"):
        hpviz.experiment(study, trust="yes")
    with pytest.raises(TypeError, match="spcae"):
        hpviz.experiment(study, spcae=None, trust=True)


def test_cli_trust_flag_with_a_source_that_runs_no_code(study_path, tmp_path):
    url, _ = study_path
    out = tmp_path / "r.html"
    assert main(["report", "--optuna-storage", url, "--optuna-study", "s", "-o", str(out), "--quiet", "--trust"]) == 0
    saved = hpviz.experiment(hpviz.experiment(optuna.load_study(study_name="s", storage=url))).save(tmp_path / "e.json")
    out2 = tmp_path / "r2.html"
    assert main(["report", str(saved), "-o", str(out2), "--quiet", "--trust"]) == 0
    assert out.is_file() and out2.is_file()
