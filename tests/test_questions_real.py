"""The new analyses on real framework runs: Optuna with a successive-halving pruner, one small Ray ASHA run."""

from __future__ import annotations

import math
import sys

import optuna
import pytest

import hpviz
from hpviz.analysis.rungs import budget_importance

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _curve(good: float, fast: float, step: int) -> float:
    """Early values decided by ``fast``, final ones by ``good`` (optimum 0.3)."""
    return (good - 0.3) ** 2 + 2.0 * fast * math.exp(-step / 2.0)


def test_optuna_successive_halving_gets_budget_importance_and_suggestions():
    def objective(trial):
        good, fast = trial.suggest_float("good", 0, 1), trial.suggest_float("fast", 0, 1)
        trial.suggest_float("idle", 0, 1)
        for step in range(1, 28):
            trial.report(_curve(good, fast, step), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return _curve(good, fast, 27)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1),
                                pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    study.optimize(objective, n_trials=60)
    exp = hpviz.experiment(study)
    assert len(exp.completed()) < 10  # most trials pruned
    bi = budget_importance(exp)
    assert bi.levels[0] == 1.0 and bi.n_trials[0] == 60
    assert bi.at(bi.levels[0]).individual.index[0] == "fast"
    with pytest.warns(UserWarning, match="analysed at budget"):
        imp = hpviz.importance(exp)
    assert imp.budget == bi.levels[-1]
    sug = hpviz.suggest_space(exp)
    assert sug.notes[0].startswith(f"only {len(exp.completed())} COMPLETE trials: analysed at budget")


ray = pytest.importorskip("ray")
from ray import cloudpickle as ray_cloudpickle  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402
from ray.tune.search.basic_variant import BasicVariantGenerator  # noqa: E402

from hpviz_raytune.callback import HpvizCallback  # noqa: E402

ray_cloudpickle.register_pickle_by_value(sys.modules[__name__])


def asha_trainable(config):
    for step in range(1, 10):
        tune.report({"loss": _curve(config["good"], config["fast"], step)})


def test_ray_asha_run_gets_importance_suggestions_and_replay(tmp_path, ray_session):
    space = hpviz.SearchSpace({"good": hpviz.Float(0, 1), "fast": hpviz.Float(0, 1)})
    cb = HpvizCallback(space=space, metric="loss", mode="min")
    tuner = tune.Tuner(
        asha_trainable,
        param_space={"good": tune.uniform(0, 1), "fast": tune.uniform(0, 1)},
        tune_config=tune.TuneConfig(metric="loss", mode="min", num_samples=30, reuse_actors=True,
                                    scheduler=ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3),
                                    search_alg=BasicVariantGenerator(random_state=0, max_concurrent=2)),
        run_config=tune.RunConfig(name="asha", storage_path=str(tmp_path), callbacks=[cb], verbose=0),
    )
    tuner.fit()
    exp = cb.experiment
    n_full = sum(1 for t in exp.trials if t.log is not None and t.log.points()[-1][0] >= 9)
    assert n_full < 10  # ASHA stopped most trials: plain importance had too few
    bi = budget_importance(exp)
    assert bi.levels[0] == 1.0 and bi.n_trials[0] == 30
    with pytest.warns(UserWarning, match="analysed at budget"):
        imp = hpviz.importance(exp)
    assert imp.budget is not None and imp.n_used >= 10
    sug = hpviz.suggest_space(exp)
    assert "analysed at budget" in sug.notes[0]
    r = hpviz.replay(exp)
    assert r.horizon < 9 and r.n_trials >= 10


def test_sklearn_halving_search_gets_budget_importance_and_suggestions():
    pytest.importorskip("hpviz_sklearn")
    from scipy.stats import loguniform, uniform
    from sklearn.datasets import make_classification
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import HalvingRandomSearchCV

    X, y = make_classification(n_samples=600, n_features=10, random_state=0)
    search = HalvingRandomSearchCV(SGDClassifier(random_state=0), {"alpha": loguniform(1e-6, 1e-1),
                                                                    "l1_ratio": uniform(0, 1)},
                                   n_candidates=36, factor=3, min_resources=60, cv=3, random_state=0).fit(X, y)
    exp = hpviz.experiment(search)
    assert len(exp.completed()) < 10 and len(exp) == 36
    bi = budget_importance(exp)
    assert bi.n_trials[0] == 36 and set(bi.importances[bi.levels[0]].params) == {"alpha", "l1_ratio"}
    sug = hpviz.suggest_space(exp, level="bold")
    assert "analysed at budget" in sug.notes[0]
