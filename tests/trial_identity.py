"""Following a live callback's Trial objects from one refresh to the next (Ray Tune and SMAC tests).

A callback that rebuilds its trials must give back the very same object for a trial whose content did not
change, and a new object when anything in it changed: the incremental hand-over of periodic reports sends
the trials that are another object than the ones the render process holds (``hpviz.recording._changed_trials``).
The content is compared as the render process receives it: the trial's hpviz JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_recording import InProcessWorker, _handover

import hpviz
from hpviz.io import _trial_to_dict


def encoded(trial: hpviz.Trial) -> str:
    """Everything a trial holds, typed (1, 1.0 and true differ; NaN is NaN), as the render process reads it."""
    return json.dumps(_trial_to_dict(trial), sort_keys=True)


class Identity:
    """Looks at a callback's trials after each framework hook and checks, trial by trial against the previous
    look, that a trial is the same object exactly when its content is the same; counts what it saw."""

    def __init__(self, cb: Any) -> None:
        self.cb = cb
        self.seen: dict[int, tuple[hpviz.Trial, str]] = {}
        self.kept = 0  # unchanged trials that were the same object
        self.changed = 0  # changed trials that were a new object
        self.rederived: list[tuple[int, str, str]] = []  # (number, state before, after) of trials no hook touched
        self.looks = 0

    def look(self, touched: int | None = None) -> dict[int, hpviz.Trial]:
        """Refresh the callback (as a snapshot does) and check its trials; ``touched``: the trial number the hook
        was about (any other trial that changed was re-derived from the run's other trials)."""
        with self.cb._lock:
            self.cb._refresh()
            exp = self.cb._exp
        now: dict[int, tuple[hpviz.Trial, str]] = {}
        for trial in exp.trials if exp is not None else ():
            enc = encoded(trial)
            before = self.seen.get(trial.number)
            if before is not None:
                if before[1] == enc:
                    assert trial is before[0], f"trial {trial.number} is unchanged but a new object"
                    self.kept += 1
                else:
                    assert trial is not before[0], f"trial {trial.number} changed but is the same object"
                    self.changed += 1
                    if trial.number != touched:
                        self.rederived.append((trial.number, before[0].state.value, trial.state.value))
            now[trial.number] = (trial, enc)
        self.seen = now
        self.looks += 1
        return {n: t for n, (t, _) in now.items()}


class Handovers:
    """Periodic hand-overs of a callback's snapshots to the render process's own receiver (in this process):
    each sends exactly the trials that are new or changed since the previous one, plus the running trials
    with a curve (their logs are copied into each snapshot), and the receiver then holds the full snapshot
    byte for byte (``test_recording._handover``)."""

    def __init__(self, cb: Any, folder: Path) -> None:
        self.cb, self.folder, self.worker = cb, folder, InProcessWorker()
        self.sent: list[tuple[int, int]] = []
        self._held: dict[int, str] = {}

    def handover(self) -> tuple[int, int]:
        with self.cb._lock:
            snap = self.cb._snapshot()
        copied = {t.number for t in snap.trials if t.log is not None and not t.state.finished}
        expected = sum(1 for t in snap.trials if t.number in copied or self._held.get(t.number) != encoded(t))
        if not self._held:
            expected = len(snap)
        # _handover takes its own snapshot: the same trials (the lock is re-entrant; no hook runs meanwhile)
        sent = _handover(self.cb, self.worker, self.folder)
        assert sent == (expected, len(snap)), (sent, expected, len(snap))
        self._held = {t.number: encoded(t) for t in snap.trials}
        self.sent.append(sent)
        return sent
