"""``HpvizCallback``: record a SMAC3 run live, as it runs, and write reports.

A thin adapter on :class:`hpviz.recording.Recorder` and ``smac.Callback``:
SMAC calls ``on_ask_end`` / ``on_tell_end`` for every trial (in
``optimize()`` and in the ask-and-tell interface alike), and the callback
keeps a normalized copy of each run (the rows the offline reader builds from
a ``RunHistory``). Trials are built from those rows by the offline reader's
own :func:`hpviz_smac.convert.build_trials`, so the live record equals
``hpviz.experiment(facade)`` trial for trial; a configuration whose rows did
not change keeps its Trial object from one snapshot to the next (so periodic
reports hand over only the trials that changed). Validation, numbering across
runs, rounds, snapshots, the ``every=`` schedule, background reports and the
never-fatal guard live in the Recorder.

Importing this module imports SMAC (``smac.Callback`` is its base class).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from smac import Callback

from hpviz import Experiment, SchemaError, SearchSpace, Trial
from hpviz.recording import Recorder
from hpviz_smac._compat import smbo_scenario
from hpviz_smac.convert import _directions, _rows_from_runhistory, build_trials, run_row, scenario_info
from hpviz_smac.space import from_configspace

__all__ = ["HpvizCallback"]


@dataclass
class _Run:
    """What the callback keeps of one SMAC run (one facade / ``RunHistory``): plain data, picklable."""

    index: int  # order in which the callback met the run
    offset: int  # hpviz number = offset + the config's rank in the run
    scenario: dict[str, Any]
    name: str
    space: SearchSpace
    rows: dict[tuple, dict[str, Any]] = field(default_factory=dict)  # (config_id, instance, seed, budget) -> row
    configs: dict[int, dict[str, Any]] = field(default_factory=dict)
    origins: dict[int, Any] = field(default_factory=dict)
    rounds: dict[int, int] = field(default_factory=dict)  # config_id -> round it was first seen in
    finished: set[int] = field(default_factory=set)  # configs with a finished run (counted once)


def _key(config_id: int, info: Any) -> tuple:
    return (config_id, info.instance, info.seed, info.budget)


class HpvizCallback(Recorder, Callback):
    """SMAC callback that records every trial; ``Facade(scenario, train, callbacks=[cb])``.

    SMAC calls it when a trial is asked for and when its result is told,
    both in ``optimize()`` and in the ask-and-tell interface
    (``facade.ask()`` / ``facade.tell(info, value)``), and at the end of
    ``optimize()``, where it writes the final report to ``report_path`` (and
    waits for it). With ask-and-tell, call ``cb.report()`` when you are done.

    One hpviz trial per configuration, as the offline reader makes them
    (:func:`hpviz_smac.facade_to_experiment`): the mean cost over its
    instances/seeds at the highest budget it reached, the costs per budget as
    its learning curve, PRUNED when it stopped below the maximum budget, FAIL
    for crashed/timed-out runs. A configuration that was asked for but not
    yet told is RUNNING.

    Parameters
    ----------
    report_path, every, log_capacity, name, report_options, live:
        See :class:`hpviz.recording.Recorder` (checked at construction).
        ``every`` counts configurations that finished their first run; later
        runs of a configuration (other seeds, higher budgets) update its
        trial without counting again. ``name`` defaults to the scenario's name.
    direction:
        ``"max"`` (or ``{objective: "max"}``) when a cost is a negated metric:
        SMAC only minimizes and cannot tell (as for :func:`hpviz.experiment`).
    space:
        The declared space of round 0 (an :class:`hpviz.SearchSpace` or a
        ``ConfigurationSpace``); by default the scenario's configuration space.

    Notes
    -----
    SMAC's default ``crash_cost=inf`` makes one crashing trial abort
    ``optimize()`` (an upstream bug): give the scenario a finite ``crash_cost``.
    The callback never reports the crash cost as a value.

    One callback may follow several SMAC runs one after the other (one
    facade per round, e.g. on a refined space after ``cb.next_round(space)``):
    the trials of each later run are numbered after the ones recorded
    before and carry ``attrs["smac_run"]`` (the scenario's name). A run that
    resumes from its output folder brings its earlier trials along: they
    are read from its run history when the callback first meets it.
    """

    framework = "smac"

    def __init__(
        self,
        report_path: str | os.PathLike | None = None,
        every: int | None = None,
        log_capacity: int = 512,
        *,
        direction: str | Mapping[str, str] | None = None,
        space: Any = None,
        name: str | None = None,
        report_options: Mapping[str, Any] | None = None,
        live: bool = False,
        **unknown: Any,
    ):
        if not unknown:
            self._check_direction(direction)
        super().__init__(report_path=report_path, every=every, log_capacity=log_capacity, name=name,
                         report_options=report_options, space=None if space is None else self._as_space(space),
                         live=live, unknown=unknown)
        self.direction = direction
        self._runs: list[_Run] = []
        self._dirty = False

    @staticmethod
    def _check_direction(direction: Any) -> None:
        if direction is None or direction in ("min", "max"):
            return
        if isinstance(direction, Mapping) and all(d in ("min", "max") for d in direction.values()):
            return
        raise SchemaError(f"HpvizCallback(direction=...) must be 'min', 'max' or a mapping objective -> 'min'/'max', "
                          f"got {direction!r}")

    def _init_runtime(self) -> None:
        super()._init_runtime()
        self._live_runs: dict[int, tuple[weakref.ref, _Run]] = {}  # id(RunHistory) -> (its weakref, its run)
        # Per run (by index), the trial built last time per configuration (config id -> (key, trial), see
        # convert.build_trials), kept while its rows are unchanged: a hook that changes them drops it.
        self._built: dict[int, dict[int, tuple[tuple, Trial]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_live_runs", None)
        state.pop("_built", None)
        return state

    # ------------------------------------------------------------------ SMAC's hooks
    def on_start(self, smbo: Any) -> None:
        try:
            with self._lock:
                self._run_of(smbo)
        except Exception as exc:  # noqa: BLE001 - never break the user's optimization
            self._warn_failure("reading the SMAC run", exc)

    def on_ask_end(self, smbo: Any, info: Any) -> None:
        try:
            with self._lock:
                run = self._run_of(smbo)
                config_id = self._config(run, smbo, info)
                key = _key(config_id, info)
                if key not in run.rows:
                    self._built.get(run.index, {}).pop(config_id, None)
                    run.rows[key] = {"config_id": config_id, "instance": info.instance, "seed": info.seed,
                                     "budget": info.budget, "cost": None, "status": "RUNNING", "starttime": None,
                                     "endtime": None}
                    self._dirty = True
        except Exception as exc:  # noqa: BLE001 - never break the user's optimization
            self._warn_failure("recording a SMAC trial", exc)

    def on_tell_end(self, smbo: Any, info: Any, value: Any) -> None:
        new = 0
        try:
            with self._lock:
                run = self._run_of(smbo)
                config_id = self._config(run, smbo, info)
                row = run_row(config_id, info, value)
                self._built.get(run.index, {}).pop(config_id, None)
                run.rows[_key(config_id, info)] = row
                run.origins[config_id] = info.config.origin
                if row["status"] != "RUNNING" and config_id not in run.finished:
                    run.finished.add(config_id)
                    new = 1
                self._dirty = True
        except Exception as exc:  # noqa: BLE001 - never break the user's optimization
            self._warn_failure(f"recording SMAC trial {getattr(info, 'config', '?')!s:.80}", exc)
            return None
        self._trials_recorded(new)
        return None  # never asks SMAC to stop

    def on_end(self, smbo: Any) -> None:
        self._end_of_run_report()

    # ------------------------------------------------------------------ bookkeeping (caller holds the lock)
    def _run_of(self, smbo: Any) -> _Run:
        """The run of ``smbo``'s run history; met for the first time, its existing runs are read."""
        rh = smbo.runhistory
        known = self._live_runs.get(id(rh))
        if known is not None and known[0]() is rh:
            return known[1]
        scenario = smbo_scenario(smbo)
        info = scenario_info(scenario)
        space = from_configspace(scenario.configspace)
        offset = self._offset_for(("smac-run", len(self._runs)), 0)
        run = _Run(len(self._runs), offset, info, str(info.get("name") or ""), space)
        if not self._runs:
            _directions(list(self._objective_names(info)), self.direction)  # a wrong name fails loudly once
            if not self._declared:
                self._rounds[0] = (space, (), None)
        self._runs.append(run)
        self._live_runs[id(rh)] = (weakref.ref(rh), run)
        rows, configs, origins = _rows_from_runhistory(rh)  # a resumed run's earlier trials
        for row in rows:
            key = (row["config_id"], row["instance"], row["seed"], row["budget"])
            if key not in run.rows or row["status"] != "RUNNING":
                run.rows[key] = row
            if row["status"] != "RUNNING":
                run.finished.add(row["config_id"])
        for config_id in sorted(configs):
            self._note_config(run, config_id, configs[config_id], origins.get(config_id))
        if rows:
            self._dirty = True
            self._recorded += len(run.finished)
        return run

    @staticmethod
    def _objective_names(info: Mapping[str, Any]) -> list[str]:
        names = info.get("objectives") or ["cost"]
        return [names] if isinstance(names, str) else list(names)

    def _config(self, run: _Run, smbo: Any, info: Any) -> int:
        config_id = int(smbo.runhistory.get_config_id(info.config))
        if config_id not in run.configs:
            self._note_config(run, config_id, dict(info.config), info.config.origin)
        return config_id

    def _note_config(self, run: _Run, config_id: int, params: dict[str, Any], origin: Any) -> None:
        if config_id in run.configs:
            return
        run.configs[config_id] = params
        run.origins[config_id] = origin
        run.rounds[config_id] = len(self._rounds) - 1
        self._take_number(run.offset + len(run.configs) - 1)

    # ------------------------------------------------------------------ Recorder hooks
    @property
    def default_objectives(self) -> dict[str, str]:  # type: ignore[override]
        if self._runs:
            return _directions(self._objective_names(self._runs[0].scenario), self.direction)
        return {"cost": self.direction if isinstance(self.direction, str) else "min"}

    def _as_space(self, space: Any) -> SearchSpace:
        if isinstance(space, SearchSpace):
            return space
        if type(space).__module__.startswith("ConfigSpace"):
            return from_configspace(space)
        return SearchSpace(space)

    def _refresh(self) -> None:
        """Rebuild the trials from the recorded rows when something changed (one pass over the rows)."""
        if not self._dirty or not self._runs:
            return
        first = self._runs[0]
        exp = self._rounds_into(Experiment(self._rounds[0][0] or first.space, self.default_objectives,
                                           name=self.name or first.name or None, source="smac",
                                           framework=self.framework))
        for run in self._runs:
            if not run.rows:
                continue

            def finish(config_id: int, trial: Trial, run: _Run = run) -> Trial:
                attrs = trial.attrs if run.index == 0 else {**trial.attrs, "smac_run": run.name}
                return replace(trial, number=run.offset + trial.number, round=run.rounds.get(config_id, 0),
                               attrs=attrs)

            for trial in build_trials(list(run.rows.values()), run.configs, scenario=run.scenario,
                                      origins=run.origins, direction=self.direction, log_capacity=self.log_capacity,
                                      reuse=self._built.setdefault(run.index, {}), finish=finish):
                exp.add(trial)
        self._exp = exp
        self._dirty = False
