"""Every access to Hyperopt internals, in one place.

Each function names the private Hyperopt detail it relies on and is covered
by a test in ``tests/test_hyperopt_space.py``, so a Hyperopt upgrade that
changes one of them breaks one file, loudly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["dynamic_trials", "exp_key"]


def dynamic_trials(trials: Any) -> list[Mapping[str, Any]] | None:
    """``trials._dynamic_trials``: every trial document, ERROR ones included.

    ``Trials.trials`` (``refresh()``) keeps only the non-ERROR documents of its
    own ``exp_key``; an objective that raised with ``catch_eval_exceptions=True``
    is kept only in this private list. ``None`` when the object has none
    (``MongoTrials``, look-alikes).
    """
    docs = getattr(trials, "_dynamic_trials", None)
    return docs if isinstance(docs, list) else None


def exp_key(trials: Any) -> Any:
    """``trials._exp_key``: the experiment key ``Trials.trials`` is filtered by (``None``: all)."""
    return getattr(trials, "_exp_key", None)
