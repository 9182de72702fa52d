"""The bundled demo task, shared by the three adapters' ``hpviz demo`` runs.

A scikit-learn ``MLPClassifier`` on the digits dataset that ships with
scikit-learn (no download), trained epoch by epoch so every framework can
report intermediate validation accuracy and prune. Framework-neutral: each
adapter drives :func:`train_epochs` from its own tuning loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpviz.schema import Categorical, Float, Int, SearchSpace

__all__ = ["DEMO_SPACE", "DEMO_OBJECTIVE", "DemoData", "load_data", "train_epochs", "start_next_round", "check_budget", "log_round_done"]

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
    """Refuse a demo budget that cannot run (the three adapters' ``run_demo`` share it)."""
    from hpviz.errors import SchemaError

    if n_trials < 1 or rounds < 1:
        raise SchemaError(f"run_demo needs n_trials >= 1 and rounds >= 1, got {n_trials} and {rounds}")


def log_round_done(callback: Any, round_index: int) -> None:
    """Log the best validation accuracy after demo round ``round_index`` (0-based)."""
    import logging

    best = callback.experiment.best()  # an empty experiment before the first trial, never None
    logging.getLogger("hpviz").info("hpviz demo: round %d done, best %s = %s", round_index + 1, DEMO_OBJECTIVE,
                                    None if best is None else round(best.values[DEMO_OBJECTIVE], 4))
