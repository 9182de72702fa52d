"""Every use of a private Ray Tune attribute, and every unpickling of Ray's files, in one place.

Ray Tune has no public API for some things hpviz needs offline (the Tuner's
saved ``TuneConfig``, a scheduler's ``max_t``, a searcher's space). Each
access below is best effort (``None`` when Ray's internals moved) and each is
covered by a test in ``tests/test_raytune_convert.py`` so a Ray upgrade that
breaks one fails a test instead of silently degrading a report.

Unpickling runs code from the file: :func:`load_pickle` is the only place this
adapter calls ``pickle.loads``, and callers reach it only with an explicit
``trust=True`` from the user (see :mod:`hpviz_raytune.convert`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

__all__ = [
    "load_pickle",
    "tuner_callbacks",
    "saved_tuner_configs",
    "saved_searcher_spec",
    "scheduler_settings",
    "searcher_metric_mode",
    "searcher_space",
    "result_grid_metric_mode",
    "scheduler_metric_mode",
    "saved_searcher_settings",
    "trial_storage",
]


def load_pickle(data: bytes) -> Any:
    """Unpickle ``data``. Runs code from the file: call only after the user passed ``trust=True``."""
    import pickle

    return pickle.loads(data)  # noqa: S301 - reached only with the user's explicit trust=True


def tuner_callbacks(tuner: Any) -> list[Any] | None:
    """The callbacks a ``Tuner`` runs (``tuner._local_tuner``; after ``Tuner.restore`` they are copies)."""
    try:
        return list(tuner._local_tuner.get_run_config().callbacks or ())
    except Exception:  # noqa: BLE001 - Ray internals moved
        return None


def saved_tuner_configs(tuner_state: Any) -> tuple[Any, Any]:
    """``(TuneConfig, RunConfig)`` from an unpickled ``tuner.pkl`` (a dict of the Tuner's private fields)."""
    if not isinstance(tuner_state, Mapping):
        return None, None
    return tuner_state.get("_tune_config"), tuner_state.get("_run_config")


def saved_searcher_spec(searcher_state: Any) -> Mapping[str, Any] | None:
    """The unresolved ``param_space`` from an unpickled ``basic-variant-state-*.json`` (the default searcher)."""
    if not isinstance(searcher_state, Mapping):
        return None
    for it in searcher_state.get("_iterators", ()):
        spec = getattr(it, "unresolved_spec", None)
        config = spec.get("config") if isinstance(spec, Mapping) else None
        if isinstance(config, Mapping):
            return config
    return None


def scheduler_settings(scheduler: Any) -> dict[str, Any]:
    """``{"time_attr", "max_t", "early_stopping", "kind"}`` of a Ray trial scheduler (``None`` = unknown).

    Reads the private ``_time_attr`` and ``_max_t`` (``_max_t_attr`` for HyperBand).
    ``kind`` is the scheduler's class name.
    """
    if scheduler is None:  # Tune's default is FIFO: nothing is stopped early
        return {"time_attr": "training_iteration", "max_t": None, "early_stopping": False, "kind": "FIFOScheduler"}
    name = type(scheduler).__name__
    time_attr = getattr(scheduler, "_time_attr", None) or "training_iteration"
    if name in ("FIFOScheduler", "PopulationBasedTraining", "PopulationBasedTrainingReplay", "PB2"):
        return {"time_attr": time_attr, "max_t": None, "early_stopping": False, "kind": name}
    max_t = getattr(scheduler, "_max_t", None)
    if max_t is None:
        max_t = getattr(scheduler, "_max_t_attr", None)
    if not isinstance(max_t, numbers.Real) or not math.isfinite(float(max_t)):
        max_t = None
    return {"time_attr": time_attr, "max_t": None if max_t is None else float(max_t), "early_stopping": True,
            "kind": name}


def _unwrap(search_alg: Any) -> Any:
    """The user's searcher inside Tune's wrappers (``ConcurrencyLimiter.searcher``, ``SearchGenerator.searcher``)."""
    seen = 0
    while search_alg is not None and seen < 5:
        inner = getattr(search_alg, "searcher", None)
        if inner is None or inner is search_alg:
            break
        search_alg, seen = inner, seen + 1
    return search_alg


def searcher_metric_mode(search_alg: Any) -> tuple[Any, Any]:
    """``(metric, mode)`` a search algorithm was built with (``OptunaSearch(metric=..., mode=...)``)."""
    s = _unwrap(search_alg)
    if s is None:
        return None, None
    try:
        return getattr(s, "metric", None), getattr(s, "mode", None)
    except Exception:  # noqa: BLE001
        return None, None


def searcher_space(search_alg: Any) -> Any:
    """The space a searcher was built with (``OptunaSearch._space`` / ``HyperOptSearch._space``), or ``None``.

    A define-by-run function (callable) is not a space: ``None``.
    """
    space = getattr(_unwrap(search_alg), "_space", None)
    return None if space is None or callable(space) else space


def result_grid_metric_mode(grid: Any) -> tuple[Any, Any]:
    """``(metric, mode)`` a ``ResultGrid`` was created with (``grid._experiment_analysis.default_metric``)."""
    ea = getattr(grid, "_experiment_analysis", None)
    return getattr(ea, "default_metric", None), getattr(ea, "default_mode", None)


def scheduler_metric_mode(scheduler: Any) -> tuple[Any, Any]:
    """``(metric, mode)`` a scheduler was built with (``PopulationBasedTraining(metric=..., mode=...)``)."""
    return getattr(scheduler, "_metric", None), getattr(scheduler, "_mode", None)


def saved_searcher_settings(searcher_state: Any) -> tuple[Any, Any, Any]:
    """``(space, metric, mode)`` from an unpickled ``searcher-state-*.pkl``.

    ``OptunaSearch``/``HyperOptSearch`` save their ``__dict__``: ``_space``
    holds the space they searched (converted from the Tuner's ``param_space``),
    ``_metric``/``_mode`` their objective. A define-by-run function is not a space.
    """
    if not isinstance(searcher_state, Mapping):
        return None, None, None
    space = searcher_state.get("_space")
    if space is None or callable(space) or (isinstance(space, Mapping) and not space):
        space = None
    return space, searcher_state.get("_metric"), searcher_state.get("_mode")


def trial_storage(trial: Any) -> tuple[str, list[tuple[str, Any]], str | None] | None:
    """Where a live trial's experiment lives: ``(experiment path, locations to read, experiment name)``.

    Reads ``trial.storage`` (a ``StorageContext`` from a private Ray module):
    the experiment path on the storage filesystem, plus the driver's staging
    folder first when there is one (the freshest copy). ``None`` without storage.
    Tested in ``tests/test_raytune.py``.
    """
    storage = getattr(trial, "storage", None)
    if storage is None:
        return None
    fs_path = storage.experiment_fs_path
    locations: list[tuple[str, Any]] = [(fs_path, storage.storage_filesystem)]
    try:
        locations.insert(0, (storage.experiment_driver_staging_path, None))
    except Exception:  # noqa: BLE001 - no staging folder in this Ray version or setup
        pass
    return fs_path, locations, getattr(storage, "experiment_dir_name", None)
