"""``HpvizCallback``: record an OSS Vizier study live, from the user's suggest/complete loop, and write reports.

Vizier's ``clients.Study`` has no callback hook: the user owns the loop
(``study.suggest(count=...)``, ``trial.add_measurement(...)``,
``trial.complete(...)``). The recorder therefore *pulls*: ``cb.update(study)``
after completing trials records every trial that is new or changed since the
last call. It reads only those trials (new ids, and the ones not yet
completed), one ``get_trial`` each, so a call costs the same on the 1,000th
trial as on the first, and converts them with the offline reader's own
:func:`hpviz_vizier.convert.study_to_experiment`, so the live record equals
``hpviz.experiment(study)`` trial for trial. Validation, numbering across
studies, rounds, snapshots, the ``every=`` schedule, background reports and
the never-fatal guard live in :class:`hpviz.recording.Recorder`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hpviz import Experiment, SchemaError, SearchSpace
from hpviz.recording import Recorder
from hpviz_vizier.convert import study_to_experiment
from hpviz_vizier.space import from_vizier

__all__ = ["HpvizCallback"]


@dataclass
class _Study:
    """What the recorder keeps of one Vizier study: plain data, picklable."""

    resource: str
    offset: int  # hpviz number = offset + trial id - 1
    index: int  # order in which the recorder met the study
    max_id: int = 0  # every trial id up to this one has been seen
    open: set[int] = field(default_factory=set)  # ids not yet COMPLETED
    done: set[int] = field(default_factory=set)  # ids recorded COMPLETED (counted once)
    rounds: dict[int, int] = field(default_factory=dict)  # trial id -> round it was first seen in
    last_steps: dict[int, float] = field(default_factory=dict)  # COMPLETED trial id -> its last measurement's step
    full: float | None = None  # the full budget the completed trials were judged against


class HpvizCallback(Recorder):
    """Records a Vizier study as your loop runs; call ``cb.update(study)`` after completing trials.

    .. code-block:: python

        cb = hpviz_vizier.HpvizCallback(report_path="report.html", every=5)
        for _ in range(30):
            for trial in study.suggest(count=1):
                trial.complete(vz.Measurement({"loss": train(trial.parameters)}))
            cb.update(study)
        cb.report()

    ``update`` records every trial that is new or changed since the last
    call (completed, infeasible, still running with new intermediate
    measurements), so one call per loop iteration is enough, also with
    several workers suggesting from the same study. ``cb.experiment`` and
    ``cb.report()`` catch up with the last study passed to ``update`` first.
    Vizier has no end-of-run signal: call ``cb.report()`` for the final report.

    Trials are what ``hpviz.experiment(study)`` makes of them (numbered by
    trial id; INTEGER values as ints; infeasible trials and safety metrics as
    feasibility; intermediate measurements as learning curves; a completed
    trial whose last step is below the full budget is PRUNED, judged again
    when a later trial reaches a larger step, as the offline reader does).

    Parameters
    ----------
    report_path, every, log_capacity, name, report_options, live:
        See :class:`hpviz.recording.Recorder` (checked at construction;
        ``every`` counts completed trials). ``name`` defaults to the
        study's resource name.
    max_steps:
        The full budget in measurement steps (as for ``hpviz.experiment``):
        default the largest last step of a completed trial; ``0`` never
        marks a trial PRUNED.
    space:
        The declared space of round 0 (an :class:`hpviz.SearchSpace`, or a
        Vizier ``SearchSpace`` / ``ProblemStatement``); by default the study's.

    Notes
    -----
    One recorder may follow several studies one after the other (one study
    per round, after ``cb.next_round(space)``): the trials of each later
    study are numbered after the ones recorded before and carry
    ``attrs["vizier_study"]`` (its resource name).
    """

    framework = "vizier"

    def __init__(
        self,
        report_path: str | os.PathLike | None = None,
        every: int | None = None,
        log_capacity: int = 512,
        *,
        max_steps: float | None = None,
        space: Any = None,
        name: str | None = None,
        report_options: Mapping[str, Any] | None = None,
        live: bool = False,
        **unknown: Any,
    ):
        super().__init__(report_path=report_path, every=every, log_capacity=log_capacity, name=name,
                         report_options=report_options, space=None if space is None else self._as_space(space),
                         live=live, unknown=unknown)
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, (int, float))
                                      or max_steps < 0):
            raise SchemaError(f"HpvizCallback(max_steps=...) must be a number >= 0 or None, got {max_steps!r}")
        self.max_steps = max_steps
        self._studies: dict[str, _Study] = {}
        self._last: str | None = None  # resource name of the study update() saw last, for _catch_up

    def _init_runtime(self) -> None:
        super()._init_runtime()
        self._configs: dict[str, Any] = {}  # resource name -> StudyConfig (re-read after unpickling)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_configs", None)
        return state

    # ------------------------------------------------------------------ the user's call
    def update(self, study: Any) -> int:
        """Record the trials of ``study`` that are new or changed since the last call; returns how many completed.

        ``study`` is a ``vizier.service.clients.Study``. Never fatal: a
        failure inside hpviz is logged as a warning and your loop goes on
        (only passing something that is not a Vizier study raises, at once).
        """
        if not (type(study).__module__.startswith("vizier.") and hasattr(study, "get_trial")
                and hasattr(study, "materialize_study_config")):
            raise TypeError(f"HpvizCallback.update() takes a vizier.service.clients.Study, got {type(study).__name__}")
        return self._pull("recording the Vizier study", lambda: self._update(study))

    def _update(self, study: Any) -> int:
        """Caller holds the lock."""
        source = self._source_of(study)
        self._last = source.resource
        changed = []
        for trial_id in sorted(source.open):
            try:
                changed.append(study.get_trial(trial_id).materialize())
            except LookupError:  # deleted since: nothing to record
                source.open.discard(trial_id)
        while True:  # new trials: ids are consecutive from 1
            try:
                trial = study.get_trial(source.max_id + 1).materialize()
            except LookupError:
                break
            source.max_id = trial.id
            source.rounds[trial.id] = len(self._rounds) - 1
            self._take_number(source.offset + trial.id - 1)
            changed.append(trial)
        if not changed:
            return 0
        for trial in changed:
            if trial.status.name == "COMPLETED":
                steps = [m.steps for m in trial.measurements]
                if steps:
                    source.last_steps[trial.id] = max(steps)
        full = self.max_steps
        if full is None:
            full = max(source.last_steps.values(), default=None)
        if full != source.full:  # the full budget grew: completed trials below it are judged again
            ids = {t.id for t in changed}
            again = [i for i, s in source.last_steps.items() if i not in ids and s < (full or 0)]
            changed += [study.get_trial(i).materialize() for i in sorted(again)]
            source.full = full
        converted = study_to_experiment(self._config(study, source.resource), changed, max_steps=full or 0,
                                        log_capacity=self.log_capacity)
        assert self._exp is not None
        for t in converted.trials:
            trial_id = t.attrs["trial_id"]
            attrs = t.attrs if source.index == 0 else {**t.attrs, "vizier_study": source.resource}
            self._exp.add(replace(t, number=source.offset + t.number, round=source.rounds[trial_id], attrs=attrs),
                          replace=True)
        finished = 0
        for trial in changed:
            if trial.status.name != "COMPLETED":
                source.open.add(trial.id)
            elif trial.id not in source.done:
                source.done.add(trial.id)
                source.open.discard(trial.id)
                finished += 1
        return finished

    def _config(self, study: Any, resource: str) -> Any:
        config = self._configs.get(resource)
        if config is None:
            config = self._configs[resource] = study.materialize_study_config()
        return config

    def _source_of(self, study: Any) -> _Study:
        resource = study.resource_name
        source = self._studies.get(resource)
        if source is not None:
            return source
        base = study_to_experiment(self._config(study, resource), [], name=self.name or resource, source=resource)
        source = _Study(resource, self._offset_for(("vizier-study", resource), 0), len(self._studies))
        if self._exp is None:
            if not self._declared:
                self._rounds[0] = (base.space, (), None)
            self._exp = self._rounds_into(Experiment(self._rounds[0][0], base.objectives, name=base.name,
                                                     source="vizier", framework=self.framework))
        self._studies[resource] = source
        return source

    # ------------------------------------------------------------------ Recorder hooks
    def _catch_up(self) -> None:
        if self._last is None:
            return

        def read() -> int:
            from vizier.service import clients

            return self._update(clients.Study.from_resource_name(self._last))

        self._pull("catching up with the Vizier study", read, catching_up=True)

    def _as_space(self, space: Any) -> SearchSpace:
        if isinstance(space, (SearchSpace, Mapping)):
            return super()._as_space(space)
        return from_vizier(getattr(space, "search_space", space))
