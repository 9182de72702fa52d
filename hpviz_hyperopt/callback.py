"""``HpvizCallback``: record a Hyperopt ``fmin`` run live, through ``early_stop_fn``.

A thin adapter on :class:`hpviz.recording.Recorder`: it only reads the new
trial documents of a ``Trials`` object (by ``tid``) and decodes them;
validation, numbering, rounds, snapshots, the ``every=`` schedule,
background reports and the never-fatal guard live in the Recorder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpviz import Experiment, SchemaError, SearchSpace
from hpviz.recording import Recorder
from hpviz_hyperopt._compat import dynamic_trials, exp_key
from hpviz_hyperopt.convert import CURVE_KEY, FINISHED_STATES, trial_from_doc
from hpviz_hyperopt.space import HyperoptParam, describe, to_hyperopt

__all__ = ["HpvizCallback"]


@dataclass
class _Source:
    """Bookkeeping for one Hyperopt experiment (a ``Trials`` object, and its pickled-and-reloaded copies)."""

    trials: Any  # the last object seen for it
    offset: int  # hpviz trial number = offset + tid
    recorded: set[Any] = field(default_factory=set)
    scan_from: int = 0  # every document before this index is recorded


def _source_key(trials: Any, docs: list) -> tuple | None:
    """What identifies a ``Trials`` across pickling: its experiment key and its first document.

    A ``Trials`` reloaded from a pickle is a new Python object holding the same
    documents; a fresh ``Trials`` (e.g. for a new round) has a first document
    booked at another time.
    """
    if not docs:
        return None
    first = docs[0]
    return (str(exp_key(trials)), first.get("tid"), str(first.get("book_time")), str(first.get("misc", {}).get("vals")))


class HpvizCallback(Recorder):
    """Records Hyperopt trials; plug it in as ``fmin``'s ``early_stop_fn``.

    ``fmin(fn, space, algo=tpe.suggest, max_evals=N, trials=trials, early_stop_fn=cb)``.
    Hyperopt calls it after every evaluation (failed ones included) with the
    ``Trials`` object; the callback records the trials that finished since the
    last call (tracked by ``tid``) and never stops the search itself: it
    returns ``(False, args)`` (or your own rule's answer, see ``early_stop_fn``).

    Parameters
    ----------
    space:
        The Hyperopt space passed to ``fmin`` (needed to decode ``choice``
        indices), or an hpviz ``SearchSpace`` that you export with
        :func:`hpviz_hyperopt.to_hyperopt`.
    report_path, every, log_capacity, name, report_options, live:
        See :class:`hpviz.recording.Recorder` (checked at construction;
        ``every`` counts recorded trials). Hyperopt has no end-of-run hook:
        call ``cb.report()`` after ``fmin`` for the final report.
    objective, direction:
        Result key holding the objective (default ``"loss"``) and ``"min"``/``"max"``.
    early_stop_fn:
        An early-stopping rule of your own (e.g. ``hyperopt.early_stop.no_progress_loss(10)``);
        the callback records the trials, then returns that rule's answer.
    curve_key:
        Result key holding the per-trial learning curve.

    Notes
    -----
    One callback may follow several ``fmin`` calls. On the same ``Trials``
    object, or on a copy of it pickled and reloaded between calls (the
    pattern Hyperopt's docs show for resuming), each evaluation is recorded
    once: documents are tracked by ``tid`` per Hyperopt experiment. A fresh
    ``Trials`` (e.g. one per round) is numbered after the trials recorded before.
    """

    framework = "hyperopt"

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
        live: bool = False,
        **unknown: Any,
    ):
        if space is None and not unknown:
            raise SchemaError("HpvizCallback needs the Hyperopt space given to fmin")
        if direction not in ("min", "max"):
            raise SchemaError(f"HpvizCallback(direction=...) must be 'min' or 'max', got {direction!r}")
        if early_stop_fn is not None and not callable(early_stop_fn):
            raise SchemaError(f"HpvizCallback(early_stop_fn=...) must be callable, got {type(early_stop_fn).__name__}")
        hp_space, self._desc = self._describe(space) if space is not None else (None, {})
        super().__init__(report_path=report_path, every=every, log_capacity=log_capacity, name=name,
                         report_options=report_options, space=hp_space, live=live, unknown=unknown)
        self.objective = objective
        self.early_stop_fn = early_stop_fn
        self.curve_key = curve_key
        self._exp = Experiment(hp_space, {objective: direction}, name=name, source="hyperopt",
                               framework=self.framework)
        self._sources: dict[Any, _Source] = {}
        self._next_desc: dict[str, HyperoptParam] = self._desc

    @staticmethod
    def _describe(space: Any) -> tuple[SearchSpace, dict[str, HyperoptParam]]:
        native = to_hyperopt(space) if isinstance(space, SearchSpace) else space
        desc = describe(native)
        return SearchSpace({label: d.param for label, d in desc.items()}), desc

    # ------------------------------------------------------------------ Recorder hooks
    def _as_space(self, space: Any) -> SearchSpace:
        hp_space, self._next_desc = self._describe(space)
        return hp_space

    def _on_round(self, index: int, space: SearchSpace) -> None:
        self._desc = self._next_desc

    # ------------------------------------------------------------------ early_stop_fn
    def __call__(self, trials: Any, *args: Any) -> tuple[bool, Any]:
        with self._guard("recording Hyperopt trials"):
            self.update(trials)
        if self.early_stop_fn is not None:
            return self.early_stop_fn(trials, *args)  # the user's own rule: its answer (and errors) are theirs
        return False, list(args)

    def update(self, trials: Any) -> int:
        """Record the trials of ``trials`` that finished since the last call; returns how many.

        ``fmin`` calls this through the callback; call it yourself to catch up
        (e.g. with trials run without the callback).
        """
        with self._lock:
            new = self._update(trials)
        self._trials_recorded(new)
        return new

    def _update(self, trials: Any) -> int:
        docs = dynamic_trials(trials)
        if docs is None:
            docs = list(trials.trials)
        key = _source_key(trials, docs)
        if key is None:
            return 0
        src = self._sources.get(key)
        if src is None:
            tids = [int(d["tid"]) for d in docs if "tid" in d]
            src = self._sources[key] = _Source(trials, self._offset_for(key, min(tids, default=0)))
        if src.trials is not trials or dynamic_trials(trials) is None:
            src.trials = trials
            src.scan_from = 0  # another object (reloaded) or not append-only: rescan (cheap set lookups)
        own_key = exp_key(trials)
        new = 0
        advancing = True
        for i in range(src.scan_from, len(docs)):
            doc = docs[i]
            tid = doc.get("tid")
            if tid in src.recorded:
                if advancing:
                    src.scan_from = i + 1
                continue
            if own_key is not None and doc.get("exp_key") != own_key:
                src.recorded.add(tid)  # another experiment's trial (shared Mongo store): skip for good
                if advancing:
                    src.scan_from = i + 1
                continue
            if doc.get("state") not in FINISHED_STATES:
                advancing = False
                continue
            number = self._take_number(src.offset + int(tid))
            trial = trial_from_doc(doc, self._desc, objective=self.objective, number=number,
                                   round=self.round, log_capacity=self.log_capacity, curve_key=self.curve_key)
            self._exp.add(trial)
            src.recorded.add(tid)
            new += 1
            if advancing:
                src.scan_from = i + 1
        return new

    def _catch_up(self) -> None:
        """Catch up with trials finished since the last ``fmin`` callback (e.g. before ``report()``)."""
        for src in list(self._sources.values()):
            with self._guard("catching up with Hyperopt trials"):
                self._recorded += self._update(src.trials)
