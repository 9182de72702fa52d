"""The Optuna callback against the offline conversion on the run kinds users have (real studies)."""

from __future__ import annotations

import math

import optuna
import pytest

import hpviz
from hpviz.testing import _comparable
from hpviz_optuna import HpvizCallback

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def pruned(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    for step in range(8):
        trial.report(x * x + 1.0 / (step + 1), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return x * x


def conditional(trial: optuna.Trial) -> float:
    model = trial.suggest_categorical("model", ["linear", "tree"])
    if model == "tree":
        return float(trial.suggest_int("depth", 1, 6))
    if trial.number % 7 == 3:
        return math.nan  # Optuna stores FAIL
    return trial.suggest_float("c", 1e-3, 1.0, log=True)


def two_objectives(trial: optuna.Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    return x, (1.0 - x) ** 2


@pytest.mark.parametrize("kind", ["pruned", "conditional", "multi-objective"])
def test_live_equals_offline_with_two_threads(kind: str) -> None:
    if kind == "multi-objective":
        study = optuna.create_study(directions=["minimize", "minimize"],
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        objective = two_objectives
    else:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
        objective = pruned if kind == "pruned" else conditional
    cb = HpvizCallback()
    study.optimize(objective, n_trials=30, n_jobs=2, callbacks=[cb])
    live, offline = cb.experiment, hpviz.experiment(study)
    assert live.objectives == offline.objectives and live.space == offline.space
    assert _comparable(live) == _comparable(offline)
    assert [t.log.points() if t.log else None for t in live.trials] == [
        t.log.points() if t.log else None for t in offline.trials]
    states = {t.state for t in live.trials}
    if kind == "pruned":
        assert hpviz.TrialState.PRUNED in states
    if kind == "conditional":
        assert hpviz.TrialState.FAIL in states and any("depth" not in t.params for t in live.trials)
