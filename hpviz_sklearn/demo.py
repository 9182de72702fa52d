"""The bundled demo with scikit-learn: ``RandomizedSearchCV`` over the demo MLP on digits, in steering rounds.

Round 1 searches :data:`hpviz.demo.DEMO_SPACE` exported with
:func:`hpviz_sklearn.to_sklearn`; every later round searches the space
:func:`hpviz.suggest_space` refined from all trials so far. Each candidate is
scored by 3-fold cross-validated accuracy on the training split.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import hpviz
from hpviz_sklearn.convert import search_to_experiment
from hpviz_sklearn.space import to_sklearn

__all__ = ["run_demo", "Rounds"]


def _estimator(epochs: int, seed: int) -> Any:
    from sklearn.base import BaseEstimator, ClassifierMixin

    class DemoMLP(ClassifierMixin, BaseEstimator):
        """The demo MLP, with the demo space's parameter names."""

        def __init__(self, learning_rate_init=1e-3, alpha=1e-4, hidden_units=64, batch_size=64):
            self.learning_rate_init = learning_rate_init
            self.alpha = alpha
            self.hidden_units = hidden_units
            self.batch_size = batch_size

        def fit(self, X, y):
            from sklearn.exceptions import ConvergenceWarning
            from sklearn.neural_network import MLPClassifier

            self.model_ = MLPClassifier(hidden_layer_sizes=(int(self.hidden_units),), alpha=float(self.alpha),
                                        learning_rate_init=float(self.learning_rate_init),
                                        batch_size=int(self.batch_size), max_iter=epochs, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", RuntimeWarning)  # overflow with absurd learning rates
                self.model_.fit(X, y)
            self.classes_ = self.model_.classes_
            return self

        def predict(self, X):
            return self.model_.predict(X)

    return DemoMLP()


class Rounds:
    """Steering rounds for demos that convert each round's finished run (no live callback).

    Has what :func:`hpviz.demo.start_next_round` needs (``.experiment``,
    ``.next_round``); :meth:`add` appends a converted round's trials.
    """

    def __init__(self) -> None:
        self.experiment: hpviz.Experiment | None = None

    def next_round(self, space: hpviz.SearchSpace, changes: Any = (), note: str | None = None) -> None:
        self.experiment.next_round(space, changes, note=note)

    def add(self, found: hpviz.Experiment) -> None:
        """Append ``found``'s trials to the current round, numbered after the trials so far."""
        if self.experiment is None:
            self.experiment = found
            return
        exp = self.experiment
        first = exp.next_trial_number()
        for t in found.trials:
            exp.add(hpviz.Trial(first + t.number, t.params, t.values, t.state, log=t.log, started=t.started,
                                finished=t.finished, budget=t.budget, attrs=t.attrs, round=exp.rounds[-1].index,
                                feasible=t.feasible, constraints=t.constraints))


def run_demo(n_trials: int = 30, rounds: int = 2, seed: int = 0, workdir: str | os.PathLike | None = None,
             *, n_epochs: int | None = None, model: str | None = None) -> hpviz.Experiment:
    """Tune the demo model (``model``, a key of :data:`hpviz.demo.MODELS`; default the MLP) with
    ``RandomizedSearchCV`` for ``rounds`` rounds of ``n_trials`` candidates.

    ``workdir`` is accepted for the ``hpviz demo`` hook (nothing is written there).
    """
    from sklearn.model_selection import RandomizedSearchCV

    from hpviz import demo

    task, epochs, data = demo.prepare(n_trials, rounds, seed, model, n_epochs)
    holder = Rounds()
    space = task.space
    for rnd in range(rounds):
        if rnd > 0:
            space = demo.start_next_round(holder, space, check=to_sklearn)
        estimator = _estimator(epochs, seed) if task.estimator is None else task.estimator(epochs, seed)
        search = RandomizedSearchCV(estimator, to_sklearn(space), n_iter=n_trials, cv=3,
                                    scoring={demo.DEMO_OBJECTIVE: "accuracy"}, refit=demo.DEMO_OBJECTIVE,
                                    random_state=seed + rnd)
        search.fit(data.X_train, data.y_train)
        holder.add(search_to_experiment(search, space=space, name=task.title("scikit-learn")))
        demo.log_round_done(holder, rnd)
    return holder.experiment
