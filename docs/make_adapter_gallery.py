"""Generate docs/gallery/adapter_*.png: views of real runs from the scikit-learn, SMAC3, Ax and Vizier adapters.

Usage: python docs/make_adapter_gallery.py [--out docs/gallery] [--dpi 80]

Each case is a small real run (seeded), converted by its adapter. Adapters
whose framework is not installed are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import warnings
from pathlib import Path

import hpviz
import hpviz.plot

sys.path.insert(0, str(Path(__file__).parent))
from make_gallery import LIMIT, save  # noqa: E402


def sklearn_halving() -> hpviz.Experiment:
    """HalvingRandomSearchCV on digits: learning curves over n_samples, eliminated candidates PRUNED."""
    from scipy.stats import loguniform
    from sklearn.datasets import load_digits
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    search = HalvingRandomSearchCV(SVC(), {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-5, 1e-1)},
                                   n_candidates=27, factor=3, min_resources=60, cv=3, random_state=0)
    return hpviz.experiment(search.fit(X / 16.0, y))


def smac_multi_fidelity() -> hpviz.Experiment:
    """SMAC's MultiFidelityFacade (Hyperband) on a toy loss: budgets as learning curves."""
    from ConfigSpace import ConfigurationSpace
    from smac import MultiFidelityFacade, Scenario

    cs = ConfigurationSpace({"x": (-5.0, 5.0), "lr": (1e-4, 1e-1)}, seed=0)
    out = Path(tempfile.mkdtemp(prefix="hpviz-gallery-smac-"))
    sc = Scenario(cs, deterministic=True, n_trials=60, min_budget=1, max_budget=27, crash_cost=1e6,
                  output_directory=out, seed=0)
    MultiFidelityFacade(sc, lambda c, seed=0, budget=1: (c["x"] - 1) ** 2 + 5.0 / budget, overwrite=True,
                        logging_level=False).optimize()
    return hpviz.experiment(out)


def _digits(n: int = 600) -> tuple:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def sklearn_grid() -> hpviz.Experiment:
    """GridSearchCV over an SVC's C x gamma on 600 digits: 30 candidates, accuracy maximized."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    grid = {"C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], "gamma": [1e-4, 1e-3, 1e-2, 1e-1, 1.0]}
    return hpviz.experiment(GridSearchCV(SVC(), grid, cv=3).fit(*_digits()))


def sklearn_random_pipeline() -> hpviz.Experiment:
    """RandomizedSearchCV over a scaler + logistic-regression Pipeline: ``step__param`` names, loguniform C."""
    from scipy.stats import loguniform, randint
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([("pca", PCA()), ("clf", LogisticRegression(max_iter=300))])
    dists = {"pca__n_components": randint(2, 41), "clf__C": loguniform(1e-4, 1e2),
             "clf__fit_intercept": [True, False]}
    return hpviz.experiment(RandomizedSearchCV(pipe, dists, n_iter=30, cv=3, random_state=0).fit(*_digits()))


def dataframe_mlflow() -> hpviz.Experiment:
    """A table as MLflow's ``search_runs`` returns it (string params, ``metrics.``, FINISHED/FAILED), read by
    ``hpviz.from_dataframe`` without a space: SGD runs on digits, timed; 3 runs fail (NaN loss)."""
    import time

    import numpy as np
    import pandas as pd
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    X, y = _digits()
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0)
    rng = np.random.default_rng(0)
    rows = []
    t0 = pd.Timestamp("2026-01-05 09:00", tz="UTC")
    for i in range(40):
        alpha, loss = float(10 ** rng.uniform(-6, 0)), str(rng.choice(["hinge", "log_loss", "modified_huber"]))
        start = time.perf_counter()
        acc = SGDClassifier(alpha=alpha, loss=loss, random_state=i).fit(Xtr, ytr).score(Xva, yva)
        seconds = time.perf_counter() - start
        failed = i in (7, 19, 33)
        rows.append({"run_id": f"run{i:02d}", "status": "FAILED" if failed else "FINISHED",
                     "start_time": t0 + pd.Timedelta(seconds=30 * i),
                     "end_time": t0 + pd.Timedelta(seconds=30 * i + seconds),
                     "params.alpha": repr(alpha), "params.loss": loss,
                     "metrics.val_acc": float("nan") if failed else acc, "tags.mlflow.runName": f"sgd-{i}"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the inferred space is announced; the figure says so too
        return hpviz.from_dataframe(pd.DataFrame(rows), objectives={"val_acc": "max"}, name="mlflow runs")


def smac_multi_objective() -> hpviz.Experiment:
    """SMAC's HPO facade with ParEGO on two costs: error of an MLP on digits and its number of weights.

    ``momentum`` is conditional (active only with ``solver == "sgd"``).
    """
    from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer
    from sklearn.neural_network import MLPClassifier
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario
    from smac.multi_objective.parego import ParEGO

    X, y = _digits(400)
    cs = ConfigurationSpace(seed=0)
    cs.add([Integer("units", (2, 128), log=True), Float("lr", (1e-4, 1e-1), log=True),
            Categorical("solver", ["adam", "sgd"]), Float("momentum", (0.0, 0.99))])
    cs.add(EqualsCondition(cs["momentum"], cs["solver"], "sgd"))

    def train(config, seed: int = 0) -> dict[str, float]:
        kw = {"momentum": config["momentum"]} if config["solver"] == "sgd" else {}
        model = MLPClassifier((config["units"],), learning_rate_init=config["lr"], solver=config["solver"],
                              max_iter=40, random_state=seed, **kw).fit(X[:300], y[:300])
        return {"error": 1.0 - model.score(X[300:], y[300:]), "weights": float(75 * config["units"] + 10)}

    out = Path(tempfile.mkdtemp(prefix="hpviz-gallery-smac-mo-"))
    sc = Scenario(cs, objectives=["error", "weights"], deterministic=True, n_trials=40, crash_cost=[1.0, 1e5],
                  output_directory=out, seed=0)
    HPO(sc, train, multi_objective_algorithm=ParEGO(sc), overwrite=True, logging_level=False,
        initial_design=HPO.get_initial_design(sc, n_configs=12)).optimize()
    return hpviz.experiment(out)


def _ax_constrained(n: int) -> hpviz.Experiment:
    import logging

    from ax.api import Client
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    logging.getLogger("ax").setLevel(logging.WARNING)
    client = Client(random_seed=0)
    client.configure_experiment(name="branin-constrained", parameters=[
        RangeParameterConfig(name="x1", parameter_type="float", bounds=(-5.0, 10.0)),
        RangeParameterConfig(name="x2", parameter_type="float", bounds=(0.0, 15.0)),
        ChoiceParameterConfig(name="noise", parameter_type="str", values=["low", "high"], is_ordered=False)])
    client.configure_optimization(objective="-branin", outcome_constraints=["x_sum <= 10"])
    client.configure_generation_strategy(method="random_search")  # Sobol only (BoTorch: minutes per trial here)
    import math

    for _ in range(n):
        ((index, p),) = client.get_next_trials(max_trials=1).items()
        b = (p["x2"] - 5.1 / (4 * math.pi ** 2) * p["x1"] ** 2 + 5 / math.pi * p["x1"] - 6) ** 2 \
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(p["x1"]) + 10
        client.complete_trial(index, {"branin": b * (1.3 if p["noise"] == "high" else 1.0), "x_sum": p["x1"] + p["x2"]})
    return hpviz.experiment(client)


def ax_constrained() -> hpviz.Experiment:
    """Ax Sobol on Branin with the outcome constraint ``x1 + x2 <= 10``: violating trials are infeasible (grey)."""
    return _ax_constrained(40)


def ax_few_trials() -> hpviz.Experiment:
    """The hostile case: the same Ax experiment stopped after 5 Sobol trials."""
    return _ax_constrained(5)


def vizier_curves() -> hpviz.Experiment:
    """OSS Vizier RANDOM_SEARCH with intermediate measurements (SGD epochs on digits); stopped trials end early."""
    import uuid

    import numpy as np
    from sklearn.linear_model import SGDClassifier
    from vizier.service import clients
    from vizier.service import pyvizier as vz

    clients.environment_variables.servicer_kwargs.setdefault(
        "database_url", f"sqlite:///{tempfile.mkdtemp(prefix='hpviz-gallery-vizier-')}/vizier.db")
    problem = vz.ProblemStatement()
    problem.search_space.root.add_float_param("alpha", 1e-6, 1e-1, scale_type=vz.ScaleType.LOG)
    problem.search_space.root.add_float_param("eta0", 1e-4, 1.0, scale_type=vz.ScaleType.LOG)
    problem.metric_information.append(vz.MetricInformation("val_acc", goal=vz.ObjectiveMetricGoal.MAXIMIZE))
    config = vz.StudyConfig.from_problem(problem)
    config.algorithm = "RANDOM_SEARCH"
    study = clients.Study.from_study_config(config, owner="gallery", study_id=uuid.uuid4().hex)
    X, y = _digits()
    classes = np.unique(y)
    best = -1.0
    for trial in study.suggest(count=24):
        model = SGDClassifier(alpha=trial.parameters["alpha"], eta0=trial.parameters["eta0"],
                              learning_rate="constant", random_state=0)
        acc = 0.0
        for epoch in range(1, 13):
            model.partial_fit(X[:420], y[:420], classes=classes)
            acc = model.score(X[420:], y[420:])
            trial.add_measurement(vz.Measurement({"val_acc": acc}, steps=epoch))
            if epoch == 4 and acc < best - 0.15:  # a hand-written median-style stop
                break
        best = max(best, acc)
        trial.complete(vz.Measurement({"val_acc": acc}, steps=epoch))
    return hpviz.experiment(study)


CASES = {
    "adapter_sklearn_halving_curves": ("sklearn", sklearn_halving, hpviz.plot.curves),
    "adapter_sklearn_grid_marginals": ("sklearn", sklearn_grid, hpviz.plot.marginals),
    "adapter_sklearn_random_parallel": ("sklearn", sklearn_random_pipeline, hpviz.plot.parallel),
    "adapter_dataframe_progress": ("pandas", dataframe_mlflow, hpviz.plot.progress),
    "adapter_smac_hyperband_curves": ("smac", smac_multi_fidelity, hpviz.plot.curves),
    "adapter_smac_multiobjective_pareto": ("smac", smac_multi_objective, hpviz.plot.pareto),
    "adapter_ax_constraint_parallel": ("ax", ax_constrained, hpviz.plot.parallel),
    "adapter_ax_few_trials_progress": ("ax", ax_few_trials, hpviz.plot.progress),
    "adapter_vizier_curves": ("vizier", vizier_curves, hpviz.plot.curves),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "gallery"))
    ap.add_argument("--dpi", type=int, default=80)
    ap.add_argument("--only", nargs="*", help="case names (default: all)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (module, build, view) in CASES.items():
        if args.only and name not in args.only:
            continue
        if importlib.util.find_spec(module) is None:
            print(f"{name:<34} skipped ({module} not installed)")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exp = build()
        size = save(view(exp), out / f"{name}.png", args.dpi)
        flag = "  (over 150 KB: do not commit)" if size > LIMIT else ""
        print(f"{name:<34} {size / 1000:6.1f} KB  {len(exp.trials)} trials {exp.count_by_state()}{flag}")


if __name__ == "__main__":
    main()
