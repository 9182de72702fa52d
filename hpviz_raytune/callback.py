"""``HpvizCallback``: record a Ray Tune run live and write the hpviz report when it ends.

Ray runs callbacks in the driver process, on the main thread, one at a time,
so no lock is needed (and none may be held: Ray pickles the callback when the
``Tuner`` is constructed). Every hook is wrapped: an exception inside hpviz is
logged as a warning on the ``"hpviz"`` logger and never reaches Tune, where it
would abort ``fit()``.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ray.tune import Callback

import hpviz
from hpviz_raytune.convert import (
    TunerState,
    build_experiment,
    guess_metric,
    log_result,
    new_record,
    read_saved_statuses,
    read_tuner_state,
)
from hpviz_raytune.space import from_tune_with_notes

__all__ = ["HpvizCallback"]

logger = logging.getLogger("hpviz")


def _safe(method: Any) -> Any:
    """Run a Tune hook so that nothing it raises reaches Tune (it would abort ``fit()``)."""

    @functools.wraps(method)
    def wrapper(self: HpvizCallback, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a visualization bug must never kill a tuning run
            logger.warning("hpviz: HpvizCallback.%s failed (%s: %s); the Tune run continues",
                           method.__name__, type(exc).__name__, exc, exc_info=logger.isEnabledFor(logging.DEBUG))
            return None

    return wrapper


class HpvizCallback(Callback):
    """Record a Ray Tune run into an :class:`hpviz.Experiment` and write the report at the end.

    Use it as ``tune.RunConfig(callbacks=[HpvizCallback(...)])``.

    Parameters
    ----------
    param_space:
        The ``param_space`` given to the ``Tuner`` (nested dict of ``tune.*``
        sample objects). With it the search space is exact; without it, it is
        recovered from the experiment's saved searcher state when the run
        ends, else inferred from the observed configs (marked ``inferred``).
    report_path:
        Where to write the report (``.html``, ``.pdf`` or a directory) when
        the experiment ends (and every ``every`` results). ``None``: no report.
    metric, mode:
        The objective and ``"min"``/``"max"``. Default: the Tuner's
        ``TuneConfig(metric=..., mode=...)``, read from the experiment
        directory; if neither is known, a warning says what to pass.
    log_capacity:
        Points kept per trial in its :class:`hpviz.ReservoirLog`.
    every:
        Also write the report every this many results (``None``: only at the end).
    name:
        Name of the experiment (default: the Ray experiment's name).
    space:
        An :class:`hpviz.SearchSpace` instead of ``param_space``.

    Attributes
    ----------
    experiment:
        The run so far as an :class:`hpviz.Experiment` (built on access).
    """

    def __init__(
        self,
        param_space: Mapping[str, Any] | None = None,
        report_path: str | os.PathLike | None = None,
        metric: str | None = None,
        mode: str | None = None,
        log_capacity: int = 512,
        every: int | None = None,
        *,
        name: str | None = None,
        space: hpviz.SearchSpace | None = None,
    ):
        if mode not in (None, "min", "max"):
            raise hpviz.SchemaError(f"HpvizCallback(mode=...) must be 'min' or 'max', got {mode!r}")
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise hpviz.SchemaError(f"HpvizCallback(every=...) must be a positive integer or None, got {every!r}")
        if isinstance(log_capacity, bool) or not isinstance(log_capacity, int) or log_capacity < 2:
            raise hpviz.SchemaError(f"HpvizCallback(log_capacity=...) must be an integer >= 2, got {log_capacity!r}")
        self.metric = metric
        self.mode = mode
        self.report_path = None if report_path is None else str(report_path)
        self.log_capacity = log_capacity
        self.every = every
        self.name = name
        self._declared_space: hpviz.SearchSpace | None = None
        self._space_notes: list[str] = []
        if space is not None:
            self._declared_space = space if isinstance(space, hpviz.SearchSpace) else hpviz.SearchSpace(space)
        elif param_space is not None:
            try:
                self._declared_space, self._space_notes = from_tune_with_notes(param_space)
            except Exception as exc:  # noqa: BLE001 - fall back to recovery/inference, say why
                logger.warning("hpviz: cannot convert param_space (%s: %s); the space will be recovered from the "
                               "experiment directory or inferred", type(exc).__name__, exc)
        self._init_state()

    def _init_state(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self._next_number = 0
        self._rounds: list[tuple[hpviz.SearchSpace, tuple, str | None]] = []
        self._round = 0
        # What the experiment directory said (metric, mode, scheduler, space), plain data only.
        self._saved = TunerState()
        self._read_dirs: list[str] = []
        self._locations: list[tuple[str, Any]] = []
        self._since_report = 0
        self._warned: set[str] = set()
        self._saved_name: str | None = None

    # ------------------------------------------------------------------ public
    @property
    def experiment(self) -> hpviz.Experiment:
        """The recorded trials as an :class:`hpviz.Experiment` (a new object on each access)."""
        return build_experiment(
            self._records.values(), space=self._space(), metric=self._metric(), mode=self._mode(),
            rounds=self._rounds, scheduler=self._saved.scheduler, name=self.name or self._default_name(),
        )

    def report(self, path: str | os.PathLike | None = None, **options: Any) -> Path:
        """Write the report now (to ``path`` or ``report_path``); errors propagate here."""
        target = path if path is not None else self.report_path
        if target is None:
            raise hpviz.SchemaError("HpvizCallback.report needs a path (none given and no report_path set)")
        return hpviz.report(self.experiment, target, **options)

    def next_round(self, space: hpviz.SearchSpace | Mapping[str, Any], changes: Iterable[Any] = (),
                   note: str | None = None) -> None:
        """Start a steering round: trials started from now on belong to it.

        ``space`` is an :class:`hpviz.SearchSpace` (e.g. ``suggest_space(...).space``)
        or a native ``param_space``. Use the same callback for the next
        ``Tuner`` (with ``param_space=to_tune(space)``).
        """
        if not isinstance(space, hpviz.SearchSpace):
            values = list(space.values()) if isinstance(space, Mapping) else []
            if values and all(isinstance(v, (hpviz.Float, hpviz.Int, hpviz.Categorical)) for v in values):
                space = hpviz.SearchSpace(space)
            else:
                space = from_tune_with_notes(space)[0]
        self._rounds.append((space, tuple(changes), note))
        self._round = len(self._rounds)

    @classmethod
    def from_tuner(cls, tuner: Any) -> HpvizCallback | None:
        """The HpvizCallback a ``Tuner`` runs (after ``Tuner.restore`` it is a copy, not your object).

        Reads the Tuner's run config (a private Ray attribute; ``None`` if that changes).
        """
        try:
            callbacks = tuner._local_tuner.get_run_config().callbacks or ()
        except Exception:  # noqa: BLE001 - Ray internals moved
            return None
        return next((cb for cb in callbacks if isinstance(cb, cls)), None)

    # ------------------------------------------------------------------ Tune hooks
    @_safe
    def setup(self, stop: Any = None, num_samples: Any = None, total_num_samples: Any = None, **info: Any) -> None:
        self._since_report = 0

    @_safe
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        rec = self._record(trial)
        rec["status"] = "RUNNING"
        if rec["started"] is None:
            rec["started"] = time.time()
        self._read_saved_state(trial)

    @_safe
    def on_trial_restore(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._record(trial)["status"] = "RUNNING"

    @_safe
    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        rec = self._record(trial)
        rec["status"] = "PENDING"
        rec["attrs"]["recoveries"] = rec["attrs"].get("recoveries", 0) + 1

    @_safe
    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        rec = self._records.get(trial.trial_id) or self._record(trial)
        log_result(rec, result, self.log_capacity)
        if self.every is not None and self.report_path is not None:
            self._since_report += 1
            if self._since_report >= self.every:
                self._since_report = 0
                self._write_report()

    @_safe
    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        rec = self._record(trial)
        rec["status"] = "TERMINATED"
        rec["finished"] = time.time()

    @_safe
    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        rec = self._record(trial)
        rec["status"] = "ERROR"
        rec["finished"] = time.time()
        try:  # trial.get_error() is still None here; the error file is already written
            lines = [ln for ln in Path(trial.error_file).read_text(errors="replace").splitlines() if ln.strip()]
            if lines:
                rec["attrs"]["error"] = lines[-1][:500]
        except Exception:  # noqa: BLE001 - the message is a nicety
            pass

    @_safe
    def on_experiment_end(self, trials: list, **info: Any) -> None:
        # When a run is interrupted, Ray stops the unfinished trials (live status TERMINATED,
        # on_trial_complete called) but saves them as PENDING to resume them: the saved state, written
        # right before this hook, is the truth the offline converter sees too.
        saved = read_saved_statuses(self._locations) if self._locations else {}
        for trial in trials:
            rec = self._records.get(trial.trial_id)
            if rec is None:  # never started (interrupted run, or fit() stopped early): WAITING
                rec = self._record(trial)
            status = saved.get(trial.trial_id, str(trial.status))
            rec["status"] = status
            if status not in ("TERMINATED", "ERROR"):
                rec["finished"] = None
        if self._declared_space is None and self._saved.space is None and self._locations:
            # The searcher state is on disk now (Tune checkpoints right before calling this hook).
            found = read_tuner_state(self._locations)
            if found.space is not None:
                self._saved.space, self._saved.space_source = found.space, found.space_source
        if self.report_path is not None:
            self._write_report()

    # ------------------------------------------------------------------ checkpointing (Tuner.restore)
    @_safe
    def get_state(self) -> dict[str, Any] | None:
        """Recorded trials, for Tune's experiment checkpoints (restored by :meth:`set_state`)."""
        if not self._records:
            return None
        return {
            "version": 1,
            "records": {k: dict(v) for k, v in self._records.items()},
            "next_number": self._next_number,
            "rounds": list(self._rounds),
            "round": self._round,
        }

    @_safe
    def set_state(self, state: dict[str, Any]) -> None:
        if not state or state.get("version") != 1:
            return
        self._records = dict(state["records"])
        self._next_number = int(state["next_number"])
        self._rounds = list(state["rounds"])
        self._round = int(state["round"])

    # ------------------------------------------------------------------ internals
    def _record(self, trial: Any) -> dict[str, Any]:
        rec = self._records.get(trial.trial_id)
        if rec is None:
            rec = new_record(trial.trial_id, self._next_number, trial.config or {},
                             searched=dict(getattr(trial, "evaluated_params", None) or {}) or None,
                             round_index=self._round, capacity=self.log_capacity)
            self._next_number += 1
            try:
                rec["attrs"]["resources"] = dict(trial.placement_group_factory.required_resources)
            except Exception:  # noqa: BLE001
                pass
            self._records[trial.trial_id] = rec
        return rec

    def _read_saved_state(self, trial: Any) -> None:
        """Once per experiment: metric, mode and scheduler from the Tuner's saved ``tuner.pkl``."""
        storage = getattr(trial, "storage", None)
        if storage is None:
            return
        fs_path = storage.experiment_fs_path
        if fs_path in self._read_dirs:
            return
        self._read_dirs.append(fs_path)
        locations = [(fs_path, storage.storage_filesystem)]
        try:
            locations.insert(0, (storage.experiment_driver_staging_path, None))
        except Exception:  # noqa: BLE001
            pass
        self._locations = locations
        if self._saved_name is None:
            self._saved_name = storage.experiment_dir_name
        found = read_tuner_state(locations, want_space=False)
        self._saved.metric, self._saved.mode = found.metric, found.mode
        self._saved.scheduler = found.scheduler
        if found.metric is None and self.metric is None:
            self._warn_once("metric", "hpviz: HpvizCallback does not know the metric to optimize (no metric in "
                                      "the TuneConfig nor in the callback); pass HpvizCallback(metric='...', "
                                      "mode='min'|'max'). Recording everything; the first reported metric is "
                                      "used meanwhile.")

    def _default_name(self) -> str | None:
        return self._saved_name

    def _metric(self) -> str | None:
        metric = self.metric or self._saved.metric
        if metric is None and self._records:
            metric = guess_metric(self._records.values())
        return metric

    def _mode(self) -> str | None:
        return self.mode or self._saved.mode

    def _space(self) -> hpviz.SearchSpace | None:
        if self._declared_space is not None:
            return self._declared_space
        if self._saved.space is not None:
            return self._saved.space
        if self._records:
            self._warn_once("space", "hpviz: no param_space given to HpvizCallback and none recovered from the "
                                     "experiment directory; the search space is inferred from the observed "
                                     "configs (pass HpvizCallback(param_space=...) for the exact space)")
        return None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message)

    def _write_report(self) -> None:
        try:
            hpviz.report(self.experiment, self.report_path)
        except Exception as exc:  # noqa: BLE001 - retried at the next report point
            logger.warning("hpviz: writing the report to %s failed (%s: %s); the Tune run continues",
                           self.report_path, type(exc).__name__, exc)
