"""``HpvizCallback``: record an Optuna study live, as it runs, and write reports."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import hpviz
from hpviz import Change, Experiment, InsufficientDataError, SearchSpace, Trial

__all__ = ["HpvizCallback"]

logger = logging.getLogger("hpviz")


class HpvizCallback:
    """Optuna callback that records each finished trial into :attr:`experiment`.

    ``study.optimize(objective, callbacks=[cb])``. Optuna calls it after each
    trial that finished (COMPLETE, PRUNED, or FAIL when the objective returned
    NaN/None or raised an exception listed in ``catch``).

    Parameters
    ----------
    report_path:
        Where :meth:`report` writes (``.html``, ``.pdf`` or a directory); also the
        target of the periodic reports.
    every:
        Write the report to ``report_path`` after every ``every`` recorded
        trials. ``None`` (default): only when :meth:`report` is called — Optuna
        has no end-of-optimize hook, so call ``cb.report()`` after ``optimize``.
    log_capacity:
        Points kept per trial of its intermediate values (:class:`hpviz.ReservoirLog`).
    space:
        The declared space of round 0. By default the space is the union of the
        distributions the recorded trials used, widened as new ones appear.
    name:
        Experiment name (default: the study name).
    report_options:
        Keyword arguments passed on to :func:`hpviz.report`.

    Notes
    -----
    Thread-safe: with ``n_jobs > 1`` Optuna calls it from several threads at
    once; recording is serialized by a lock, so no trial is lost or doubled.
    Nothing raised inside the callback reaches ``optimize``: failures (e.g. an
    unwritable report path) are logged as warnings on the ``"hpviz"`` logger
    and the next report attempt retries.

    One callback may follow several studies one after the other (Optuna
    cannot change a categorical's choices or a parameter's log scale within
    a study, so a refined round usually needs a new study): the trials of
    each new study are numbered after the ones recorded before, and keep
    their Optuna number and study name in ``attrs["optuna_number"]`` and
    ``attrs["optuna_study"]``.
    """

    def __init__(
        self,
        report_path: str | os.PathLike | None = None,
        every: int | None = None,
        log_capacity: int = 512,
        *,
        space: SearchSpace | Mapping[str, Any] | None = None,
        name: str | None = None,
        report_options: Mapping[str, Any] | None = None,
    ):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise hpviz.SchemaError(f"HpvizCallback.every must be a positive integer or None, got {every!r}")
        if isinstance(log_capacity, bool) or not isinstance(log_capacity, int) or log_capacity < 2:
            raise hpviz.SchemaError(f"HpvizCallback.log_capacity must be an integer >= 2, got {log_capacity!r}")
        self.report_path = None if report_path is None else Path(report_path)
        self.every = every
        self.log_capacity = log_capacity
        self.name = name
        self.report_options = dict(report_options or {})
        self._declared = space is not None
        # One entry per round: (space or None while inferred, changes, note).
        self._rounds: list[tuple[SearchSpace | None, tuple[Change, ...], str | None]] = [
            (SearchSpace(space) if space is not None and not isinstance(space, SearchSpace) else space, (), None)
        ]
        self._inferred: dict[str, list[Any]] = {}  # round-0 parameter -> hpviz params seen (inferred space)
        self._seen_dists: set[Any] = set()
        self._experiment: Experiment | None = None
        self._study: tuple[dict[str, str], str | None] | None = None  # (objectives, study name)
        self._pending: list[tuple[int, int, Any, Any]] = []  # (round, number offset, study, trial) to convert
        self._offsets: dict[Any, int] = {}  # study name -> offset added to its trial numbers
        self._current: tuple[Any, int] = (object(), 0)  # (study name, offset) of the last call
        self._max_number = -1  # largest hpviz trial number recorded so far
        self._recorded = 0
        self._lock = threading.Lock()  # guards everything above
        self._report_lock = threading.Lock()  # one report written at a time

    # ------------------------------------------------------------------ state
    @property
    def experiment(self) -> Experiment | None:
        """The trials recorded so far (``None`` until the first one).

        Reading it converts the trials recorded since the last read: the
        callback itself only stores Optuna's (private) copy of each trial, so
        it costs the optimization next to nothing.
        """
        with self._lock:
            return self._flush()

    @property
    def n_recorded(self) -> int:
        """Trials handed to the callback so far."""
        return self._recorded

    @property
    def round(self) -> int:
        """Index of the current round (trials recorded now get it)."""
        return len(self._rounds) - 1

    def next_round(self, space: SearchSpace | Mapping[str, Any], changes: Iterable[Change] = (),
                   note: str | None = None) -> int:
        """Start a new steering round: trials recorded from now on carry its number.

        ``space`` is the space the next trials search (e.g. ``suggest_space(...).space``
        sampled with :func:`hpviz_optuna.suggest`); ``changes`` how it was derived.
        Returns the new round's index. Called before any trial was recorded
        (and without ``space=`` in the constructor), it declares round 0's space.
        """
        if not isinstance(space, SearchSpace):
            space = SearchSpace(space)
        changes = tuple(changes)
        for change in changes:
            if not isinstance(change, Change):
                raise hpviz.SchemaError(f"next_round changes must be hpviz.Change objects, got {type(change).__name__}")
        with self._lock:
            if self._recorded == 0 and len(self._rounds) == 1 and not self._declared:
                self._rounds = [(space, (), note)]
                self._declared = True
                return 0
            self._flush()  # trials recorded so far belong to the previous round's space
            if self._experiment is not None:
                self._experiment.next_round(space, changes, note)
            self._rounds.append((space, changes, note))
            return len(self._rounds) - 1

    # ------------------------------------------------------------------ callback
    def __call__(self, study: Any, frozen_trial: Any) -> None:
        try:
            with self._lock:
                key = getattr(study, "study_name", None)
                if key != self._current[0]:
                    self._current = (key, self._offset_for(study, key, frozen_trial.number))
                offset = self._current[1]
                number = offset + frozen_trial.number
                if number > self._max_number:
                    self._max_number = number
                # Optuna hands each callback its own deep copy of the trial: keep it as is.
                self._pending.append((len(self._rounds) - 1, offset, key, frozen_trial))
                self._recorded += 1
                due = self.every is not None and self.report_path is not None and self._recorded % self.every == 0
                snapshot = None
                if due:
                    exp = self._flush()
                    snapshot = exp.copy() if exp is not None else None
        except Exception as exc:  # noqa: BLE001 - never break the user's optimization
            number = getattr(frozen_trial, "number", "?")
            logger.warning("hpviz: could not record Optuna trial %s: %s: %s", number, type(exc).__name__, exc)
            return
        if snapshot is not None:
            try:
                self._write(snapshot, self.report_path)
            except Exception as exc:  # noqa: BLE001 - never break the user's optimization
                logger.warning("hpviz: could not write the report to %s (the study continues; the next report "
                               "retries): %s: %s", self.report_path, type(exc).__name__, exc)

    def _offset_for(self, study: Any, key: Any, number: int) -> int:
        """Trials of a later study (e.g. one study per round) are numbered after those seen so far."""
        from hpviz_optuna.convert import objective_names

        if key in self._offsets:
            return self._offsets[key]
        objectives = objective_names(study)
        if self._study is None:
            self._study = (objectives, key)
        elif list(objectives.values()) != list(self._study[0].values()):
            logger.warning("hpviz: study %r optimizes %s, unlike the first study recorded (%s); its values are "
                           "recorded under the first study's objectives", key, objectives, self._study[0])
        offset = 0
        if self._offsets:
            # Continue after the trials seen so far, from the lowest number this study may still
            # report (a trial still running in another thread may finish after this one).
            from optuna.trial import TrialState as OptunaState

            active = study.get_trials(deepcopy=False, states=(OptunaState.RUNNING, OptunaState.WAITING))
            base = min([number, *(t.number for t in active)])
            offset = self._max_number + 1 - base
        self._offsets[key] = offset
        return offset

    def _flush(self) -> Experiment | None:
        """Convert the pending trials into the experiment. Caller holds the lock; never raises."""
        if not self._pending:
            return self._experiment
        from hpviz_optuna.convert import param_from_distribution, trial_from_frozen

        pending, self._pending = self._pending, []
        if self._experiment is None:
            assert self._study is not None
            objectives, study_name = self._study
            self._experiment = Experiment(
                self._rounds[0][0] or SearchSpace({}), objectives,
                name=self.name or study_name, source="optuna",
            )
            for space, changes, note in self._rounds[1:]:
                self._experiment.next_round(space, changes, note)
        names = list(self._experiment.objectives)
        new = False
        trials = []
        first_study = self._study[1] if self._study is not None else None
        for rnd, offset, key, ft in pending:
            try:
                if rnd == 0 and not self._declared:
                    for pname, dist in ft.distributions.items():
                        dkey = (pname, dist)
                        try:
                            if dkey in self._seen_dists:  # the common case: one set lookup per parameter
                                continue
                            self._seen_dists.add(dkey)
                        except TypeError:  # unhashable choices: compare below
                            pass
                        param = param_from_distribution(dist)
                        known = self._inferred.setdefault(pname, [])
                        if param not in known:
                            known.append(param)
                            new = True
                trial = trial_from_frozen(ft, names, log_capacity=self.log_capacity, round=rnd)
                if key != first_study:
                    attrs = {**trial.attrs, "optuna_study": key, "optuna_number": ft.number}
                    trial = replace(trial, number=offset + ft.number, attrs=attrs)
                trials.append(trial)
            except Exception as exc:  # noqa: BLE001 - skip one bad trial, keep the rest
                logger.warning("hpviz: could not convert Optuna trial %s: %s: %s",
                               getattr(ft, "number", "?"), type(exc).__name__, exc)
        if new:
            try:
                self._widen_round0(trials)
            except Exception as exc:  # noqa: BLE001 - keep the previous space; values are then flagged
                logger.warning("hpviz: could not widen the inferred search space: %s: %s", type(exc).__name__, exc)
        for trial in trials:
            try:
                self._experiment.add(trial)
            except Exception as exc:  # noqa: BLE001 - e.g. a trial number already taken
                logger.warning("hpviz: could not record Optuna trial %s: %s: %s", trial.number,
                               type(exc).__name__, exc)
        return self._experiment

    def _widen_round0(self, incoming: list[Trial]) -> None:
        # Rounds are frozen in the Experiment: rebuild it with the wider round-0 space (rare:
        # only when a parameter or a distribution appears for the first time).
        from hpviz_optuna.convert import merge_params

        old = self._experiment
        assert old is not None
        trials = old.trials + incoming

        def observed(name: str) -> list[Any]:
            if len(self._inferred[name]) < 2:
                return []
            return [t.params[name] for t in trials if name in t.params]

        space = SearchSpace({n: merge_params(ps, observed(n)) for n, ps in self._inferred.items()})
        self._rounds[0] = (space, (), None)
        exp = Experiment(space, old.objectives, name=old.name, source=old.source)
        for rspace, changes, note in self._rounds[1:]:
            exp.next_round(rspace, changes, note)
        for t in old.trials:
            exp.add(t)
        self._experiment = exp

    # ------------------------------------------------------------------ reports
    def _write(self, exp: Experiment, path: Path | None) -> Path:
        with self._report_lock:
            if path is None:
                return hpviz.report(exp, **self.report_options)
            # Fail fast, before rendering every view, when the folder cannot exist.
            path.parent.mkdir(parents=True, exist_ok=True)
            return hpviz.report(exp, path, **self.report_options)

    def report(self, path: str | os.PathLike | None = None) -> Path:
        """Write the report now (to ``path``, else ``report_path``, else hpviz's default).

        Unlike the periodic reports, errors propagate: you asked for it.

        Raises
        ------
        hpviz.InsufficientDataError
            No trial has been recorded yet.
        """
        with self._lock:
            exp = self._flush()
            if exp is None or len(exp) == 0:
                raise InsufficientDataError("HpvizCallback has recorded no trial yet; nothing to report",
                                            have=0, need=1)
            snapshot = exp.copy()
        target = Path(path) if path is not None else self.report_path
        return self._write(snapshot, target)

    def __repr__(self) -> str:
        return (f"HpvizCallback(report_path={self.report_path!r}, every={self.every!r}, "
                f"recorded={self._recorded}, round={self.round})")
