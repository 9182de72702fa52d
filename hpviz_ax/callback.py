"""``HpvizCallback``: record an Ax experiment live, from the user's own trial loop, and write reports.

Ax's ``Client`` has no callback hook: the user owns the loop (``get_next_trials`` /
``complete_trial`` / ``mark_trial_*``, or ``run_trials``). The recorder therefore
*pulls*: ``cb.update(client)`` after telling Ax a result records every trial
that changed since the last call, whatever changed it (``complete_trial``,
``mark_trial_failed``, ``attach_data``, an orchestrated ``run_trials``...).
It converts each trial with the offline reader's own
:func:`hpviz_ax.convert.arm_trials`, so the live record equals
``hpviz.experiment(client)`` trial for trial. Validation, numbering across
experiments, rounds, snapshots, the ``every=`` schedule, background reports
and the never-fatal guard live in :class:`hpviz.recording.Recorder`.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hpviz import Experiment, SearchSpace
from hpviz.recording import Recorder
from hpviz_ax._compat import client_experiment
from hpviz_ax.convert import _constraints, _objectives, arm_trials, data_groups
from hpviz_ax.space import from_ax

__all__ = ["HpvizCallback"]


@dataclass
class _Source:
    """What the recorder keeps of one Ax experiment: plain data, picklable."""

    offset: int  # hpviz number = offset + the arm's number in the experiment
    objectives: list[str]
    constraints: list[tuple[str, str, bool, float]]
    first: dict[int, int] = field(default_factory=dict)  # trial index -> number of its first arm
    rounds: dict[int, int] = field(default_factory=dict)  # trial index -> round it was first seen in
    open: set[int] = field(default_factory=set)  # trial indices not yet in a terminal status
    next_number: int = 0
    index: int = 0  # order in which the recorder met the experiment
    name: str | None = None


def ax_experiment_of(obj: Any) -> Any:
    """The ``ax.core.Experiment`` of an ``ax.api.Client``, an ``AxClient`` or an experiment itself."""
    kind = type(obj).__name__
    if type(obj).__module__.startswith("ax.") and kind in ("Client", "AxClient", "Experiment"):
        return client_experiment(obj) if kind == "Client" else getattr(obj, "experiment", obj)
    raise TypeError(f"HpvizCallback.update() takes the ax.api.Client (or an AxClient, or an ax.core Experiment), "
                    f"got {type(obj).__name__}")


class HpvizCallback(Recorder):
    """Records an Ax experiment as your loop runs; call ``cb.update(client)`` after telling Ax a result.

    .. code-block:: python

        cb = hpviz_ax.HpvizCallback(report_path="report.html", every=5)
        for _ in range(30):
            for index, params in client.get_next_trials(max_trials=1).items():
                client.complete_trial(index, raw_data=train(params))
            cb.update(client)
        cb.report()

    ``update`` records every trial that changed since the last call
    (completed, failed, abandoned, early-stopped, or still running with new
    per-step data), so one call per loop iteration is enough, and one call
    after ``client.run_trials(...)`` records the whole orchestrated run.
    ``cb.experiment`` and ``cb.report()`` catch up with the last experiment
    passed to ``update`` first, so trials finished since then are not lost.
    Ax has no end-of-run signal: call ``cb.report()`` for the final report.

    Trials are what ``hpviz.experiment(client)`` makes of them (one per arm;
    RUNNING until Ax marks them terminal; outcome constraints as
    feasibility; per-step data as learning curves; ``attrs["generation_method"]``).

    Parameters
    ----------
    report_path, every, log_capacity, name, report_options, live:
        See :class:`hpviz.recording.Recorder` (checked at construction;
        ``every`` counts trials that reached a terminal status). ``name``
        defaults to the Ax experiment's name.
    space:
        The declared space of round 0 (an :class:`hpviz.SearchSpace` or Ax
        parameter configs); by default the experiment's search space.

    Notes
    -----
    One recorder may follow several Ax experiments one after the other (a
    new ``Client`` per round, after ``cb.next_round(space)``): the trials of
    each later experiment are numbered after the ones recorded before and
    carry ``attrs["ax_experiment"]`` (its name).
    """

    framework = "ax"

    def __init__(
        self,
        report_path: str | os.PathLike | None = None,
        every: int | None = None,
        log_capacity: int = 512,
        *,
        space: Any = None,
        name: str | None = None,
        report_options: Mapping[str, Any] | None = None,
        live: bool = False,
        **unknown: Any,
    ):
        super().__init__(report_path=report_path, every=every, log_capacity=log_capacity, name=name,
                         report_options=report_options, space=None if space is None else self._as_space(space),
                         live=live, unknown=unknown)
        self._sources: list[_Source] = []

    def _init_runtime(self) -> None:
        super()._init_runtime()
        self._live: dict[int, tuple[weakref.ref, _Source]] = {}  # id(ax Experiment) -> (its weakref, its source)
        self._last: weakref.ref | None = None  # the experiment update() saw last, for _catch_up

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_live", None)
        state.pop("_last", None)
        return state

    # ------------------------------------------------------------------ the user's call
    def update(self, client: Any) -> int:
        """Record the trials of ``client`` that changed since the last call; returns how many finished.

        ``client`` is the ``ax.api.Client`` (or an ``AxClient``, or an
        ``ax.core.Experiment``). Never fatal: a failure inside hpviz is
        logged as a warning and your loop goes on (only passing something
        that is not Ax's raises, at once).
        """
        ax_exp = ax_experiment_of(client)
        return self._pull("recording the Ax experiment", lambda: self._update(ax_exp))

    def _update(self, ax_exp: Any) -> int:
        """Caller holds the lock."""
        source = self._source_of(ax_exp)
        self._last = weakref.ref(ax_exp)
        trials = ax_exp.trials
        for index in sorted(i for i in trials if i not in source.first):
            trial = trials[index]
            arms = getattr(trial, "arms", None) or ([trial.arm] if trial.arm is not None else [])
            source.first[index] = source.next_number  # numbered as the offline reader does: arms in index order
            source.rounds[index] = len(self._rounds) - 1
            source.next_number += len(arms)
            source.open.add(index)
            self._take_number(source.offset + source.next_number - 1)
        check = sorted(source.open)
        if not check:
            return 0
        groups = data_groups(ax_exp, check)
        finished = 0
        assert self._exp is not None
        for index in check:
            trial = trials[index]
            for t in arm_trials(trial, groups, source.objectives, source.constraints, source.first[index],
                                self.log_capacity):
                attrs = t.attrs if source.index == 0 else {**t.attrs, "ax_experiment": source.name}
                self._exp.add(replace(t, number=source.offset + t.number, round=source.rounds[index], attrs=attrs),
                              replace=True)
                if trial.status.is_terminal:
                    finished += 1
            if trial.status.is_terminal:
                source.open.discard(index)
        return finished

    def _source_of(self, ax_exp: Any) -> _Source:
        known = self._live.get(id(ax_exp))
        if known is not None and known[0]() is ax_exp:
            return known[1]
        opt = ax_exp.optimization_config
        objectives = _objectives(opt)
        try:
            name = ax_exp.name
        except ValueError:  # "Experiment's name is None" (AxClient without a name)
            name = None
        source = _Source(self._offset_for(("ax-experiment", len(self._sources)), 0), list(objectives),
                         _constraints(opt), index=len(self._sources), name=name)
        if self._exp is None:
            if not self._declared:
                self._rounds[0] = (from_ax(ax_exp.search_space), (), None)
            self._exp = self._rounds_into(Experiment(self._rounds[0][0], objectives, name=self.name or name,
                                                     source="ax", framework=self.framework))
        self._sources.append(source)
        self._live[id(ax_exp)] = (weakref.ref(ax_exp), source)
        return source

    # ------------------------------------------------------------------ Recorder hooks
    def _catch_up(self) -> None:
        ax_exp = self._last() if self._last is not None else None
        if ax_exp is not None:
            self._pull("catching up with the Ax experiment", lambda: self._update(ax_exp), catching_up=True)

    def _as_space(self, space: Any) -> SearchSpace:
        return super()._as_space(space) if isinstance(space, (SearchSpace, Mapping)) else from_ax(space)
