"""``HpvizCallback``: record a Ray Tune run live and write the hpviz report when it ends.

A thin adapter on :class:`hpviz.recording.Recorder`: the Tune hooks only
update one plain-data record per trial. Ray runs callbacks in the driver
process, on the main thread, one at a time; it pickles the callback when the
``Tuner`` is constructed, which the Recorder allows (its lock and renderer are
dropped when pickled and rebuilt when unpickled). Every hook is wrapped in the
Recorder's never-fatal guard: an exception inside hpviz is logged as a warning
and never reaches Tune, where it would abort ``fit()``.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray.tune import Callback

import hpviz
from hpviz.recording import Recorder
from hpviz_raytune._compat import trial_storage, tuner_callbacks
from hpviz_raytune.convert import (
    TunerState,
    apply_pbt_exploits,
    build_experiment,
    guess_metric,
    log_result,
    new_record,
    read_pbt_exploits,
    read_saved_statuses,
    read_tuner_state,
    settle_last_result,
)
from hpviz_raytune.space import from_tune_with_notes

__all__ = ["HpvizCallback"]

logger = logging.getLogger("hpviz")


def _safe(method: Any) -> Any:
    """Run a Tune hook in the Recorder's guard (nothing it raises reaches Tune: it would abort ``fit()``),
    holding the Recorder's lock (the background renderer reads the records)."""

    @functools.wraps(method)
    def wrapper(self: HpvizCallback, *args: Any, **kwargs: Any) -> Any:
        with self._guard(f"HpvizCallback.{method.__name__}"), self._lock:
            return method(self, *args, **kwargs)
        return None

    return wrapper


class HpvizCallback(Callback, Recorder):
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
        Where to write the report (``.html``, ``.pdf`` or a folder) when the
        experiment ends (the end waits for it) and, with ``every``, during
        the run. ``None``: no report. See :class:`hpviz.recording.Recorder`.
    metric, mode:
        The objective and ``"min"``/``"max"``. Default: the Tuner's
        ``TuneConfig(metric=..., mode=...)``, read from the experiment
        directory; if neither is known, a warning says what to pass.
    log_capacity, every, name, report_options, live:
        See :class:`hpviz.recording.Recorder`: ``every`` counts finished
        trials, as in every adapter. ``name`` defaults to the Ray experiment's name.
    space:
        An :class:`hpviz.SearchSpace` instead of ``param_space``.
    """

    framework = "ray"

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
        report_options: Mapping[str, Any] | None = None,
        live: bool = False,
        **unknown: Any,
    ):
        if mode not in (None, "min", "max") and not unknown:
            raise hpviz.SchemaError(f"HpvizCallback(mode=...) must be 'min' or 'max', got {mode!r}")
        if metric is not None and not isinstance(metric, str) and not unknown:
            raise hpviz.SchemaError(f"HpvizCallback(metric=...) must be a metric name, got {metric!r}")
        declared: hpviz.SearchSpace | None = None
        self._space_notes: list[str] = []
        if space is not None:
            declared = space if isinstance(space, hpviz.SearchSpace) else hpviz.SearchSpace(space)
        elif param_space is not None and not unknown:
            try:
                declared, self._space_notes = from_tune_with_notes(param_space)
            except Exception as exc:  # noqa: BLE001 - fall back to recovery/inference, say why
                logger.warning("hpviz: cannot convert param_space (%s: %s); the space will be recovered from the "
                               "experiment directory or inferred", type(exc).__name__, exc)
        super().__init__(report_path=report_path, every=every, log_capacity=log_capacity, name=name,
                         report_options=report_options, space=declared, live=live, unknown=unknown)
        self.metric = metric
        self.mode = mode
        self._init_state()

    def _init_runtime(self) -> None:
        super()._init_runtime()
        # The Trial built last time from each record, kept while the record is unchanged (trial id ->
        # (key, trial), see convert.build_experiment): a snapshot then shares it with the previous one, so a
        # periodic report hands over only the trials that changed. A hook that touches a record drops it.
        self._built: dict[str, tuple[tuple, hpviz.Trial]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_built", None)
        return state

    def _init_state(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        # What the experiment directory said (metric, mode, scheduler, space), plain data only.
        self._saved = TunerState()
        self._read_dirs: list[str] = []
        self._locations: list[tuple[str, Any]] = []
        self._warned: set[str] = set()
        self._saved_name: str | None = None

    # ------------------------------------------------------------------ Recorder hooks
    @property
    def default_objectives(self) -> dict[str, str]:  # type: ignore[override]
        return {self._metric() or "value": self._mode() or "min"}

    def _refresh(self) -> None:
        """Rebuild the experiment from the trial records (caller holds the lock)."""
        if not self._records:
            self._exp = None
            return
        self._exp = build_experiment(
            self._records.values(), space=self._space(), metric=self._metric(), mode=self._mode(),
            rounds=self._rounds[1:], scheduler=self._saved.scheduler, name=self.name or self._saved_name,
            reuse=self._built,
        )

    def _as_space(self, space: Any) -> hpviz.SearchSpace:
        """An :class:`hpviz.SearchSpace`, a mapping of hpviz params, or a native ``param_space``."""
        if isinstance(space, hpviz.SearchSpace):
            return space
        values = list(space.values()) if isinstance(space, Mapping) else []
        if values and all(isinstance(v, (hpviz.Float, hpviz.Int, hpviz.Categorical)) for v in values):
            return hpviz.SearchSpace(space)
        return from_tune_with_notes(space)[0]

    @property
    def _declared_space(self) -> hpviz.SearchSpace | None:
        return self._rounds[0][0]

    @classmethod
    def from_tuner(cls, tuner: Any) -> HpvizCallback | None:
        """The HpvizCallback a ``Tuner`` runs (after ``Tuner.restore`` it is a copy, not your object).

        Reads the Tuner's run config (a private Ray attribute; ``None`` if that changes).
        """
        callbacks = tuner_callbacks(tuner) or []  # None when Ray internals moved
        return next((cb for cb in callbacks if isinstance(cb, cls)), None)

    # ------------------------------------------------------------------ Tune hooks
    @_safe
    def setup(self, stop: Any = None, num_samples: Any = None, total_num_samples: Any = None, **info: Any) -> None:
        pass

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
        log_result(self._record(trial), result, self.log_capacity)

    @_safe
    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        rec = self._record(trial)
        rec["status"] = "TERMINATED"
        rec["finished"] = time.time()
        self._trials_recorded(1)

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
        self._trials_recorded(1)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        with self._guard("HpvizCallback.on_experiment_end"), self._lock:
            self._end_records(trials)
        self._end_of_run_report()  # awaited: complete when fit() returns

    def _end_records(self, trials: list) -> None:
        # When a run is interrupted, Ray stops the unfinished trials (live status TERMINATED,
        # on_trial_complete called) but saves them as PENDING to resume them: the saved state, written
        # right before this hook, is the truth the offline converter sees too.
        saved = read_saved_statuses(self._locations) if self._locations else {}
        for trial in trials:
            rec = self._records.get(trial.trial_id)
            if rec is None:  # never started (interrupted run, or fit() stopped early): WAITING
                rec = self._record(trial)
            before = (rec["status"], rec["finished"], rec["last"])
            status = saved.get(trial.trial_id, str(trial.status))
            rec["status"] = status
            if status not in ("TERMINATED", "ERROR"):
                rec["finished"] = None
            # The same rules as the offline converter: Ray's last result is the final one, and PBT's
            # exploit log cuts the config history (see convert.settle_last_result / pbt_config_history).
            settle_last_result(rec, getattr(trial, "last_result", None), self.log_capacity)
            # (settle_last_result changes a record only with a new "last" dict)
            if (rec["status"], rec["finished"]) != before[:2] or rec["last"] is not before[2]:
                self._built.pop(rec["trial_id"], None)
        if self._locations:
            self._drop_pbt_built()
            apply_pbt_exploits(self._records.values(), read_pbt_exploits(self._locations))
            self._drop_pbt_built()
        if self._declared_space is None and self._saved.space is None and self._locations:
            # The searcher state is on disk now (Tune checkpoints right before calling this hook).
            found = read_tuner_state(self._locations)
            if found.space is not None:
                self._saved.space, self._saved.space_source = found.space, found.space_source

    # ------------------------------------------------------------------ checkpointing (Tuner.restore)
    @_safe
    def get_state(self) -> dict[str, Any] | None:
        """Recorded trials, for Tune's experiment checkpoints (restored by :meth:`set_state`)."""
        if not self._records:
            return None
        return {
            "version": 2,
            "records": {k: dict(v) for k, v in self._records.items()},
            "max_number": self._max_number,
            "rounds": list(self._rounds),
            "recorded": self._recorded,
        }

    @_safe
    def set_state(self, state: dict[str, Any]) -> None:
        if not state or state.get("version") != 2:
            return
        self._records = dict(state["records"])
        self._built.clear()
        self._max_number = int(state["max_number"])
        self._rounds = list(state["rounds"])
        self._recorded = int(state["recorded"])

    # ------------------------------------------------------------------ internals
    def _drop_pbt_built(self) -> None:
        """Forget the trials built from records with PBT's exploits or config history (rewritten at the end)."""
        for tid, rec in self._records.items():
            if "pbt_exploits" in rec["attrs"] or "config_history" in rec["attrs"]:
                self._built.pop(tid, None)

    def _record(self, trial: Any) -> dict[str, Any]:
        """The record of ``trial`` (created on first sight), for a hook about to change it: the trial built
        from it last time is forgotten."""
        self._built.pop(trial.trial_id, None)
        rec = self._records.get(trial.trial_id)
        if rec is None:
            rec = new_record(trial.trial_id, self._take_number(), trial.config or {},
                             searched=dict(getattr(trial, "evaluated_params", None) or {}) or None,
                             round_index=self.round, capacity=self.log_capacity,
                             tag=getattr(trial, "experiment_tag", None))
            try:
                rec["attrs"]["resources"] = dict(trial.placement_group_factory.required_resources)
            except Exception:  # noqa: BLE001
                pass
            self._records[trial.trial_id] = rec
        return rec

    def _read_saved_state(self, trial: Any) -> None:
        """Once per experiment: metric, mode and scheduler from the Tuner's saved ``tuner.pkl``."""
        where = trial_storage(trial)
        if where is None:
            return
        fs_path, locations, dir_name = where
        if fs_path in self._read_dirs:
            return
        self._read_dirs.append(fs_path)
        self._locations = locations
        if self._saved_name is None:
            self._saved_name = dir_name
        found = read_tuner_state(locations, want_space=False)
        self._saved.metric, self._saved.mode = found.metric, found.mode
        self._saved.scheduler = found.scheduler
        if found.metric is None and self.metric is None:
            self._warn_once("metric", "hpviz: HpvizCallback does not know the metric to optimize (no metric in "
                                      "the TuneConfig nor in the callback); pass HpvizCallback(metric='...', "
                                      "mode='min'|'max'). Recording everything; the first reported metric is "
                                      "used meanwhile.")

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
