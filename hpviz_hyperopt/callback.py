"""``HpvizCallback``: record a Hyperopt ``fmin`` run live, through ``early_stop_fn``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hpviz
from hpviz import Change, Experiment, InsufficientDataError, SchemaError, SearchSpace
from hpviz_hyperopt.convert import CURVE_KEY, FINISHED_STATES, _same_experiment, trial_from_doc
from hpviz_hyperopt.space import HyperoptParam, describe, to_hyperopt

__all__ = ["HpvizCallback"]

logger = logging.getLogger("hpviz")


@dataclass
class _Source:
    """Bookkeeping for one ``Trials`` object seen by the callback."""

    trials: Any
    offset: int  # hpviz trial number = offset + tid
    recorded: set[Any] = field(default_factory=set)
    scan_from: int = 0  # every document before this index is recorded
    max_tid: int = -1


def _check_writable(path: Path) -> None:
    """Fail fast, before seconds of rendering, when ``path`` cannot be created."""
    parent = path if path.suffix == "" else path.parent
    while not parent.exists():
        if parent.parent == parent:
            return
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{parent} is not a directory")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"{parent} is not writable")


class HpvizCallback:
    """Records Hyperopt trials into :attr:`experiment`; plug it in as ``fmin``'s ``early_stop_fn``.

    ``fmin(fn, space, algo=tpe.suggest, max_evals=N, trials=trials, early_stop_fn=cb)``.
    Hyperopt calls it after every evaluation (failed ones included) with the
    ``Trials`` object; the callback records the trials that finished since the
    last call (tracked by ``tid``) and never stops the search itself.

    Parameters
    ----------
    space:
        The Hyperopt space passed to ``fmin`` (needed to decode ``choice``
        indices), or an hpviz ``SearchSpace`` that you export with
        :func:`hpviz_hyperopt.to_hyperopt`.
    report_path:
        Where :meth:`report` writes (``.html``, ``.pdf`` or a directory), and the
        target of the periodic reports.
    every:
        Write the report to ``report_path`` after every ``every`` recorded trials.
        ``None`` (default): only when :meth:`report` is called after ``fmin``.
    log_capacity:
        Points kept per trial of the learning curve returned in ``result["curve"]``.
    objective, direction:
        Result key holding the objective (default ``"loss"``) and ``"min"``/``"max"``.
    name:
        Experiment name.
    report_options:
        Keyword arguments passed on to :func:`hpviz.report`.
    early_stop_fn:
        An early-stopping rule of your own (e.g. ``hyperopt.early_stop.no_progress_loss(10)``);
        the callback records the trials, then returns that rule's answer.
    curve_key:
        Result key holding the per-trial learning curve.

    Notes
    -----
    Nothing hpviz does inside ``fmin`` can break it: recording or report errors
    are logged as warnings on the ``"hpviz"`` logger (messages start with
    ``"hpviz:"``), the search continues and the next report attempt retries.
    Several ``Trials`` objects may feed one callback (e.g. a fresh ``Trials`` per
    round); their trials are numbered one after the other.
    """

    def __init__(
        self,
        space: Any,
        report_path: str | os.PathLike | None = None,
        every: int | None = None,
        log_capacity: int = 512,
        *,
        objective: str = "loss",
        direction: str = "min",
        name: str | None = None,
        report_options: Mapping[str, Any] | None = None,
        early_stop_fn: Callable[..., Any] | None = None,
        curve_key: str = CURVE_KEY,
    ):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise SchemaError(f"HpvizCallback.every must be a positive integer or None, got {every!r}")
        if isinstance(log_capacity, bool) or not isinstance(log_capacity, int) or log_capacity < 2:
            raise SchemaError(f"HpvizCallback.log_capacity must be an integer >= 2, got {log_capacity!r}")
        if space is None:
            raise SchemaError("HpvizCallback needs the Hyperopt space given to fmin")
        self.report_path = None if report_path is None else Path(report_path)
        self.every = every
        self.log_capacity = log_capacity
        self.objective = objective
        self.report_options = dict(report_options or {})
        self.early_stop_fn = early_stop_fn
        self.curve_key = curve_key
        hp_space, self._desc = self._describe(space)
        self._experiment = Experiment(hp_space, {objective: direction}, name=name, source="hyperopt")
        self._sources: dict[int, _Source] = {}
        self._recorded = 0
        self._reported_at = 0  # value of _recorded at the last periodic report

    @staticmethod
    def _describe(space: Any) -> tuple[SearchSpace, dict[str, HyperoptParam]]:
        native = to_hyperopt(space) if isinstance(space, SearchSpace) else space
        desc = describe(native)
        return SearchSpace({label: d.param for label, d in desc.items()}), desc

    # ------------------------------------------------------------------ state
    @property
    def experiment(self) -> Experiment:
        """The trials recorded so far."""
        return self._experiment

    @property
    def round(self) -> int:
        """Index of the current round (trials recorded now get it)."""
        return len(self._experiment.rounds) - 1

    def next_round(self, space: Any, changes: Iterable[Change] = (), note: str | None = None) -> int:
        """Start a new steering round; trials recorded from now on carry its index.

        ``space`` is the space the next ``fmin`` searches: a Hyperopt space, or the
        hpviz space (e.g. ``hpviz.suggest_space(cb.experiment).space``) that you
        export with :func:`hpviz_hyperopt.to_hyperopt`. Record the trials of the
        previous round first (``fmin`` does, through this callback).
        Returns the new round's index.
        """
        hp_space, desc = self._describe(space)
        self._experiment.next_round(hp_space, changes, note)
        self._desc = desc
        return self.round

    # ------------------------------------------------------------------ early_stop_fn
    def __call__(self, trials: Any, *args: Any) -> tuple[bool, Any]:
        try:
            self.update(trials)
        except Exception as exc:  # noqa: BLE001 - never break the user's fmin
            logger.warning("hpviz: could not record Hyperopt trials (the search continues): %s: %s",
                           type(exc).__name__, exc)
        if self.every is not None and self.report_path is not None \
                and self._recorded - self._reported_at >= self.every:
            self._reported_at = self._recorded
            try:
                _check_writable(self.report_path)
                self._write(self.report_path)
            except Exception as exc:  # noqa: BLE001 - never break the user's fmin
                logger.warning("hpviz: could not write the report to %s (the search continues; the next report "
                               "retries): %s: %s", self.report_path, type(exc).__name__, exc)
        if self.early_stop_fn is not None:
            return self.early_stop_fn(trials, *args)
        return False, list(args)

    def update(self, trials: Any) -> int:
        """Record the trials of ``trials`` that finished since the last call; returns how many.

        ``fmin`` calls this through the callback; call it yourself to catch up
        (e.g. with trials run without the callback).
        """
        src = self._sources.get(id(trials))
        if src is None or src.trials is not trials:
            offset = max((s.offset + s.max_tid + 1 for s in self._sources.values()),
                         default=self._experiment.next_trial_number())
            src = self._sources[id(trials)] = _Source(trials, offset)
        docs = getattr(trials, "_dynamic_trials", None)
        if not isinstance(docs, list):
            docs = list(trials.trials)
            src.scan_from = 0  # not append-only: rescan (cheap set lookups)
        new = 0
        advancing = True
        for i in range(src.scan_from, len(docs)):
            doc = docs[i]
            tid = doc.get("tid")
            if tid in src.recorded:
                if advancing:
                    src.scan_from = i + 1
                continue
            if not _same_experiment(trials, doc):
                src.recorded.add(tid)  # another experiment's trial (shared Mongo store): skip for good
                if advancing:
                    src.scan_from = i + 1
                continue
            if doc.get("state") not in FINISHED_STATES:
                advancing = False
                continue
            trial = trial_from_doc(doc, self._desc, objective=self.objective, number=src.offset + int(tid),
                                   round=self.round, log_capacity=self.log_capacity, curve_key=self.curve_key)
            self._experiment.add(trial)
            src.recorded.add(tid)
            src.max_tid = max(src.max_tid, int(tid))
            new += 1
            if advancing:
                src.scan_from = i + 1
        self._recorded += new
        return new

    # ------------------------------------------------------------------ reports
    def _write(self, path: Path | None) -> Path:
        snapshot = self._experiment.copy()
        if path is None:
            return hpviz.report(snapshot, **self.report_options)
        return hpviz.report(snapshot, path, **self.report_options)

    def report(self, path: str | os.PathLike | None = None) -> Path:
        """Write the report now (to ``path``, else ``report_path``, else hpviz's default).

        First catches up with trials finished since the last ``fmin`` callback.
        Unlike the periodic reports, errors propagate: you asked for it.

        Raises
        ------
        hpviz.InsufficientDataError
            No trial has been recorded yet.
        """
        for src in list(self._sources.values()):
            self.update(src.trials)
        if not len(self._experiment):
            raise InsufficientDataError("HpvizCallback has recorded no trial yet; nothing to report",
                                        have=0, need=1)
        target = Path(path) if path is not None else self.report_path
        if target is not None:
            _check_writable(target)
        return self._write(target)

    def __repr__(self) -> str:
        return (f"HpvizCallback(report_path={self.report_path!r}, every={self.every!r}, "
                f"trials={len(self._experiment)}, round={self.round})")
