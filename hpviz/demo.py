"""The bundled demo tasks, shared by the adapters' ``hpviz demo`` runs.

Two model families on the digits dataset that ships with scikit-learn (no
download), each trained epoch by epoch so every framework can report
intermediate validation accuracy and prune:

* ``"mlp"`` (:data:`MLP`): a scikit-learn ``MLPClassifier``, the demo's main study;
* ``"logreg"`` (:data:`LOGREG`): logistic regression trained by stochastic
  gradient descent (``SGDClassifier(loss="log_loss")``), tuned in its own
  study beside the MLP, so ``hpviz demo`` also writes the multi-model report.

Framework-neutral: each adapter drives the chosen :class:`DemoModel`'s
``train_epochs`` from its own tuning loop (``run_demo(..., model="logreg")``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpviz.schema import Categorical, Float, Int, SearchSpace

__all__ = ["DEMO_SPACE", "DEMO_OBJECTIVE", "DemoData", "DemoModel", "MLP", "LOGREG", "MODELS", "demo_model",
           "load_data", "train_epochs", "start_next_round", "check_budget", "log_round_done"]

#: The space of round 1: deliberately wide, so round 2 has something to refine.
DEMO_SPACE = SearchSpace({
    "learning_rate_init": Float(1e-5, 1.0, log=True),
    "alpha": Float(1e-7, 1e-1, log=True),
    "hidden_units": Int(8, 256, log=True),
    "batch_size": Categorical([16, 32, 64, 128, 256]),
})
#: Validation accuracy, maximized.
DEMO_OBJECTIVE = "val_accuracy"
DEMO_EPOCHS = 12


@dataclass(frozen=True)
class DemoData:
    X_train: np.ndarray
    X_val: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray


def load_data(seed: int = 0) -> DemoData:
    """Digits, standardized, split 70/30 (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return DemoData(scaler.transform(X_train), scaler.transform(X_val), y_train, y_val)


def train_epochs(params: Mapping[str, Any], data: DemoData | None = None, *, n_epochs: int = DEMO_EPOCHS,
                 seed: int = 0) -> Iterator[tuple[int, float]]:
    """Train one MLP for ``n_epochs``, yielding ``(epoch, validation accuracy)`` after each epoch.

    The caller may stop iterating at any epoch (pruning).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data = data or load_data(seed)
    model = MLPClassifier(
        hidden_layer_sizes=(int(params["hidden_units"]),),
        learning_rate_init=float(params["learning_rate_init"]),
        alpha=float(params["alpha"]),
        batch_size=int(params["batch_size"]),
        random_state=seed,
    )
    classes = np.unique(data.y_train)
    for epoch in range(1, n_epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow with absurd learning rates
            model.partial_fit(data.X_train, data.y_train, classes=classes)
        yield epoch, float(model.score(data.X_val, data.y_val))


#: The logistic regression's round-1 space (``SGDClassifier``'s own parameter names).
LOGREG_SPACE = SearchSpace({
    "alpha": Float(1e-7, 1e-1, log=True),
    "eta0": Float(1e-5, 1.0, log=True),
    "learning_rate": Categorical(["constant", "invscaling"]),
    "penalty": Categorical(["l1", "l2"]),
})


def _logreg(params: Mapping[str, Any], n_epochs: int, seed: int) -> Any:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=float(params["alpha"]), eta0=float(params["eta0"]),
                         learning_rate=str(params["learning_rate"]), penalty=str(params["penalty"]),
                         max_iter=n_epochs, tol=None, random_state=seed)


def train_logreg_epochs(params: Mapping[str, Any], data: DemoData | None = None, *, n_epochs: int = DEMO_EPOCHS,
                        seed: int = 0) -> Iterator[tuple[int, float]]:
    """Train one logistic regression (SGD, one pass over the data per epoch) for ``n_epochs``, yielding
    ``(epoch, validation accuracy)`` after each epoch. The caller may stop iterating at any epoch."""
    data = data or load_data(seed)
    model = _logreg(params, n_epochs, seed)
    classes = np.unique(data.y_train)
    for epoch in range(1, n_epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow with absurd learning rates
            model.partial_fit(data.X_train, data.y_train, classes=classes)
        yield epoch, float(model.score(data.X_val, data.y_val))


def logreg_estimator(n_epochs: int = DEMO_EPOCHS, seed: int = 0) -> Any:
    """An unfitted logistic regression whose parameters are :data:`LOGREG_SPACE`'s (for a cross-validated search)."""
    return _logreg({"alpha": 1e-4, "eta0": 1e-2, "learning_rate": "constant", "penalty": "l2"}, n_epochs, seed)


@dataclass(frozen=True)
class DemoModel:
    """One model family of the demo.

    Attributes
    ----------
    key:
        ``"mlp"`` or ``"logreg"`` (``run_demo(model=key)``, ``hpviz demo --models``).
    name:
        The model's name in the multi-model report (``"MLP"``); the experiment is called
        ``"hpviz demo: <name> on digits (<framework>)"``.
    space:
        Round 1's search space.
    train_epochs:
        ``train_epochs(params, data, *, n_epochs, seed)`` yields ``(epoch, validation accuracy)``.
    estimator:
        ``estimator(n_epochs, seed)`` -> an unfitted scikit-learn classifier with the space's parameter
        names, for cross-validated searches; ``None`` when the adapter wraps the model itself (the MLP).
    """

    key: str
    name: str
    space: SearchSpace
    train_epochs: Callable[..., Iterator[tuple[int, float]]]
    estimator: Callable[[int, int], Any] | None = None

    def title(self, framework: str) -> str:
        """The demo experiment's name with ``framework`` (e.g. ``"Optuna"``)."""
        return f"hpviz demo: {self.name} on digits ({framework})"


MLP = DemoModel("mlp", "MLP", DEMO_SPACE, train_epochs)
LOGREG = DemoModel("logreg", "logistic regression", LOGREG_SPACE, train_logreg_epochs, logreg_estimator)
#: The demo's model families by key; ``hpviz demo`` tunes all of them (``--models`` picks).
MODELS = {m.key: m for m in (MLP, LOGREG)}


def demo_model(model: str | DemoModel | None) -> DemoModel:
    """The :class:`DemoModel` of a key (``None``: the MLP); an unknown key is a SchemaError listing the known."""
    from hpviz.errors import SchemaError

    if model is None:
        return MLP
    if isinstance(model, DemoModel):
        return model
    if model not in MODELS:
        raise SchemaError(f"unknown demo model {model!r}; known: {sorted(MODELS)}")
    return MODELS[model]


def start_next_round(callback: Any, space: SearchSpace,
                     check: Callable[[SearchSpace], Any] | None = None) -> SearchSpace:
    """Start the demo's next round on ``hpviz.suggest_space``'s refined space.

    ``callback`` is any adapter's ``HpvizCallback`` (it has ``.experiment`` and
    ``.next_round``). ``check`` is called on the refined space first (an
    adapter's export, say) so that a space the framework cannot take fails
    here. If suggesting fails, the round keeps ``space`` and its note says why:
    the demo goes on either way.
    """
    import logging

    import hpviz

    logger = logging.getLogger("hpviz")
    try:
        suggestion = hpviz.suggest_space(callback.experiment)
        if check is not None:
            check(suggestion.space)
        callback.next_round(suggestion.space, suggestion.changes)
        logger.info("hpviz demo: next round with %d change(s)", len(suggestion.changes))
        return suggestion.space
    except Exception as exc:  # noqa: BLE001 - the demo goes on with the current space
        logger.warning("hpviz: suggest_space failed (%s: %s); the next round keeps the current space",
                       type(exc).__name__, exc)
        callback.next_round(space, (), note=f"suggest_space failed: {type(exc).__name__}: {exc}")
        return space


def check_budget(n_trials: int, rounds: int) -> None:
    """Refuse a demo budget that cannot run (every adapter's ``run_demo``, through :func:`prepare`)."""
    from hpviz.errors import SchemaError

    if n_trials < 1 or rounds < 1:
        raise SchemaError(f"run_demo needs n_trials >= 1 and rounds >= 1, got {n_trials} and {rounds}")


def prepare(n_trials: int, rounds: int, seed: int, model: str | DemoModel | None,
            n_epochs: int | None) -> tuple[DemoModel, int, DemoData]:
    """What every adapter's ``run_demo`` starts with: the budget checked, then ``(model, epochs, data)``."""
    check_budget(n_trials, rounds)
    return demo_model(model), n_epochs or DEMO_EPOCHS, load_data(seed)


def log_round_done(callback: Any, round_index: int) -> None:
    """Log the best validation accuracy after demo round ``round_index`` (0-based)."""
    import logging

    best = callback.experiment.best()  # an empty experiment before the first trial, never None
    logging.getLogger("hpviz").info("hpviz demo: round %d done, best %s = %s", round_index + 1, DEMO_OBJECTIVE,
                                    None if best is None else round(best.values[DEMO_OBJECTIVE], 4))
