"""hpviz.recording.Recorder on its own: a framework-free sink built on it (no framework, no mocks of one)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pickle
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hpviz
import hpviz.io
from hpviz import Float, ReservoirLog, SearchSpace, Trial, TrialState
from hpviz.recording import (
    EMPTY_REPORT_MESSAGE,
    Recorder,
    _changed_trials,
    _Receiver,
    _RenderWorker,
    check_report_path,
    utc,
)

SPACE = SearchSpace({"x": Float(-1.0, 1.0)})


@pytest.fixture(autouse=True)
def _no_first_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first periodic report may start at once: these tests drive the renderer, not the run's pacing
    (``test_the_first_periodic_report_waits_until_the_run_has_lasted`` sets the delay itself)."""
    import hpviz.recording as recording

    monkeypatch.setattr(recording, "RENDER_FIRST_DELAY", 0.0)


class ListRecorder(Recorder):
    """The smallest adapter: it is handed hpviz trials (a real adapter translates native ones)."""

    framework = "list"

    def __init__(self, report_path: Any = None, every: int | None = None, *, name: str | None = None,
                 report_options: Any = None, **unknown: Any):
        super().__init__(report_path=report_path, every=every, name=name, report_options=report_options,
                         space=SPACE, unknown=unknown)
        self._exp = hpviz.Experiment(SPACE, {"loss": "min"}, name=name, framework=self.framework)

    def record(self, x: float, state: TrialState = TrialState.COMPLETE, log: ReservoirLog | None = None,
               number: int | None = None) -> int:
        """Record a trial; with ``number``, the new state of a trial recorded before (e.g. a running one)."""
        with self._lock:
            before = {t.number: t for t in self._exp.trials}.get(number)
            number = self._take_number(number)
            values = {"loss": x * x} if state is TrialState.COMPLETE else {}
            round = self.round if before is None else before.round
            self._exp.add(Trial(number, {"x": x}, values, state, log=log, round=round), replace=True)
        if state.finished:
            self._trials_recorded(1)
        return number


class SlowWriter(ListRecorder):
    """Records what each report saw and how many reports ran at once (renders take ``delay`` s)."""

    delay = 0.15

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.writes: list[tuple[int, float, float, bool]] = []  # (trials, start, end, background)
        self.active = 0
        self.max_active = 0

    def _write(self, exp: hpviz.Experiment, target: Path | None, *, background: bool = False) -> Path:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        start = time.perf_counter()
        time.sleep(self.delay)
        self.active -= 1
        self.writes.append((len(exp), start, time.perf_counter(), background))
        return Path(target) if target is not None else Path("hpviz-report.html")


def test_utc_conversions() -> None:
    aware = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc(aware) == dt.datetime(2026, 1, 1, 10, tzinfo=dt.timezone.utc)
    assert utc(dt.datetime(2026, 1, 1, 12)) == dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
    naive_local = dt.datetime(2026, 1, 1, 12)
    assert utc(naive_local, naive="local") == naive_local.astimezone(dt.timezone.utc)
    assert utc(0.0) == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    assert utc(None) is None and utc(float("nan")) is None and utc(True) is None


def test_report_paths_are_checked_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_report_path(tmp_path / "new" / "deeper" / "r.pdf") == tmp_path / "new" / "deeper" / "r.pdf"
    assert check_report_path(tmp_path / "pngs") == tmp_path / "pngs"  # a folder of PNGs
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for bad, why in ((tmp_path / "r.txt", "suffix"), (blocker / "r.html", "is a file"), (blocker, "without suffix"),
                     ("", "empty"), (3, "must be a path")):
        with pytest.raises(hpviz.SchemaError, match=why) as info:
            check_report_path(bad)
        if isinstance(bad, Path):
            assert str(bad) in str(info.value)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_report_path("~/r.html") == tmp_path / "r.html"


def test_unknown_options_name_the_allowed_ones() -> None:
    with pytest.raises(TypeError, match=r"'evrey'.*allowed: report_path, every, name, report_options"):
        ListRecorder(evrey=5)
    assert ListRecorder.allowed_options() == ["report_path", "every", "name", "report_options"]
    with pytest.raises(TypeError, match=r"'dpi_'.*dpi"):
        ListRecorder(report_options={"dpi_": 50})
    with pytest.raises(hpviz.SchemaError, match="every"):
        ListRecorder(every=True)


def test_empty_recorder_contract() -> None:
    rec = ListRecorder()
    exp = rec.experiment
    assert len(exp) == 0 and exp.framework == "list" and exp.space == SPACE
    with pytest.raises(hpviz.InsufficientDataError, match=EMPTY_REPORT_MESSAGE) as info:
        rec.report()
    assert (info.value.have, info.value.need) == (0, 1)


def test_snapshot_is_independent_and_copies_growing_logs() -> None:
    rec = ListRecorder()
    log = ReservoirLog(capacity=8)
    log.append(1, loss=1.0)
    rec.record(0.5)
    rec.record(0.1, TrialState.RUNNING, log=log)
    snap = rec.experiment
    log.append(2, loss=0.5)  # the running trial reports again
    assert snap.trials[1].log.seen == 1 and rec.experiment.trials[1].log.seen == 2
    assert snap.trials[0] is rec.experiment.trials[0]  # finished trials are shared, not copied
    snap.next_round(SPACE)
    assert len(rec.experiment.rounds) == 1 and rec.n_recorded == 1


def test_next_round_returns_the_index_and_rounds_number_on() -> None:
    rec = ListRecorder()
    rec.record(0.5)
    narrow = SearchSpace({"x": Float(0.0, 1.0)})
    change = hpviz.Change("x", "shrink", SPACE["x"], narrow["x"], "test")
    assert rec.next_round(narrow, [change]) == 1 == rec.round
    rec.record(0.25)
    exp = rec.experiment
    assert [(t.number, t.round) for t in exp.trials] == [(0, 0), (1, 1)]
    assert exp.rounds[1].changes == (change,) and exp.rounds[1].parent_space == SPACE
    with pytest.raises(hpviz.SchemaError, match="Change"):
        rec.next_round(narrow, ["shrink x"])


def test_periodic_reports_coalesce_never_overlap_and_never_block(tmp_path: Path) -> None:
    rec = SlowWriter(tmp_path / "r.html", every=1)
    t0 = time.perf_counter()
    for i in range(30):
        rec.record(i / 30)
    recording = time.perf_counter() - t0
    rec.wait()
    assert recording < rec.delay  # 30 due reports, and the trials never waited for one
    assert rec.max_active == 1  # never more than one report in flight
    assert 1 <= len(rec.writes) <= 3  # requests that arrive while one renders collapse into one
    assert rec.writes[-1][0] == 30  # the last report saw every trial
    assert all(background for *_, background in rec.writes)


def test_periodic_reports_are_spaced_by_their_own_duration(tmp_path: Path) -> None:
    from hpviz.recording import RENDER_SPACING

    rec = SlowWriter(tmp_path / "r.html", every=1)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 6 * rec.delay:  # trials keep coming while reports render
        rec.record(0.1)
        time.sleep(0.005)
    rec.wait()
    assert len(rec.writes) >= 2
    for (_, start, end, _), (_, nxt, _, _) in zip(rec.writes, rec.writes[1:]):
        assert nxt - end >= RENDER_SPACING * (end - start) * 0.99  # idle at least as long as the last render
    assert rec.writes[-1][0] == rec.n_recorded  # the last report still saw every trial


def test_a_final_report_cancels_a_spaced_pending_one(tmp_path: Path) -> None:
    rec = SlowWriter(tmp_path / "r.html", every=1)
    rec.record(0.1)
    time.sleep(rec.delay / 3)
    rec.record(0.2)  # pending behind the one in flight, then spaced
    rec.report()  # waits for the one in flight, replaces the pending one
    time.sleep(3 * rec.delay)
    assert [bg for *_, bg in rec.writes] == [True, False]


def test_the_first_periodic_report_waits_until_the_run_has_lasted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hpviz.recording as recording

    monkeypatch.setattr(recording, "RENDER_FIRST_DELAY", 0.5)
    rec = SlowWriter(tmp_path / "r.html", every=1)
    first = time.perf_counter()
    for i in range(3):
        rec.record(i / 3)  # three due reports in the run's first moments
    assert rec.writes == [] and rec._renderer.busy  # held back, not dropped
    rec.wait()
    ((trials, start, _, background),) = rec.writes  # one report, of every trial so far
    assert trials == 3 and background and start - first >= 0.5


def test_a_final_report_stops_the_periodic_one_in_flight(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # the render process is stopped (its report is superseded), the final one is complete; no warning
    rec = ListRecorder(tmp_path / "r.html", every=1, report_options={"views": ["progress"]})
    with caplog.at_level(logging.WARNING, logger="hpviz"):
        rec.record(0.1)
        deadline = time.monotonic() + 60
        while (rec._worker._proc is None or not rec._renderer._busy) and time.monotonic() < deadline:
            time.sleep(0.001)
        proc = rec._worker._proc
        assert proc is not None and rec._renderer._busy  # the render process starts: a report is in flight
        rec.record(0.2)
        final = rec.report()
    assert proc.wait(timeout=30) != 0 and rec._worker._proc is None  # stopped, not awaited
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    alone = rec.report(tmp_path / "alone.html")
    assert _images(final.read_text()) and _images(final.read_text()) == _images(alone.read_text())
    rec.record(0.3)  # the next periodic report starts a new render process, sent the whole snapshot
    rec.wait()
    assert rec._worker._proc is not None and rec._worker._proc is not proc
    assert rec._worker.last_handover == (3, 3)


def test_report_waits_for_the_report_in_flight(tmp_path: Path) -> None:
    rec = SlowWriter(tmp_path / "r.html", every=1)
    rec.record(0.3)
    time.sleep(0.02)  # the periodic report is rendering now
    rec.report()
    periodic, final = rec.writes
    assert periodic[3] and not final[3] and final[1] >= periodic[2]  # the final one started after
    assert rec.max_active == 1


def test_concurrent_recording_loses_nothing(tmp_path: Path) -> None:
    rec = SlowWriter(tmp_path / "r.html", every=3)
    rec.delay = 0.01
    threads = [threading.Thread(target=lambda k=k: [rec.record((k * 50 + i) / 200) for i in range(50)])
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.wait()
    assert [t.number for t in rec.experiment.trials] == list(range(200)) and rec.n_recorded == 200


def test_pickling_drops_the_lock_and_the_renderer(tmp_path: Path) -> None:
    rec = SlowWriter(tmp_path / "r.html", every=1)
    rec.record(0.5)  # the renderer thread is running now
    back = pickle.loads(pickle.dumps(rec))
    rec.wait()
    assert back._lock is not rec._lock and [t.params for t in back.experiment.trials] == [{"x": 0.5}]
    back.record(0.1)
    back.wait()
    assert back.writes[-1][0] == 2


def test_a_failing_report_is_a_warning_with_its_cause(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "out"
    rec = ListRecorder(folder / "r.html", every=1, report_options={"views": ["progress"]})
    folder.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="hpviz"):
        rec.record(0.5)
        rec.wait()
    (message,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert message.startswith("hpviz: writing the report to") and str(folder) in message
    assert "the run continues" in message
    folder.unlink()  # the next report retries, and works
    rec.record(0.2)
    rec.wait()
    assert (folder / "r.html").is_file()


def _images(html: str) -> list[str]:
    return re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", html)


def test_background_report_equals_the_final_report(tmp_path: Path) -> None:
    # the periodic report renders in a separate process from hpviz JSON; the same images come out
    rec = ListRecorder(tmp_path / "bg.html", every=4, report_options={"views": ["progress"]})
    for i in range(4):
        rec.record((i - 1.5) / 2)
    rec.wait()
    background = (tmp_path / "bg.html").read_text()
    final = rec.report(tmp_path / "final.html").read_text()
    assert _images(background) and _images(background) == _images(final)


def test_one_render_process_serves_the_periodic_reports_and_stops_when_idle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hpviz.recording as recording

    monkeypatch.setattr(recording, "RENDER_IDLE_SECONDS", 1.0)
    rec = ListRecorder(tmp_path / "r.html", every=2, report_options={"views": ["progress"]})
    rec.record(0.1)
    rec.record(0.2)
    rec.wait()
    proc = rec._worker._proc
    assert proc is not None and proc.poll() is None and (tmp_path / "r.html").is_file()
    if hasattr(os, "getpriority"):  # the lowest priority, so that it renders on the CPU time the run leaves
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == recording.RENDER_NICENESS == 19
    if hasattr(os, "SCHED_IDLE"):
        assert os.sched_getscheduler(proc.pid) == os.SCHED_IDLE
    assert rec._worker.last_handover == (2, 2)  # the first request sends every trial
    rec.record(0.3)
    rec.record(0.4)
    rec.wait()
    assert rec._worker._proc is proc  # the imports are paid once
    assert rec._worker.last_handover == (2, 4)  # the process holds the first two: only the new ones are sent
    deadline = time.monotonic() + 60
    while rec._worker._proc is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rec._worker._proc is None and proc.wait(timeout=30) == 0  # idle: the process ended cleanly


# --------------------------------------------------------------------------- incremental hand-over


class InProcessWorker(_RenderWorker):
    """The render worker with the render process's own receiver in this process (rendering nothing
    unless ``fail`` names the target): what the process holds after each request is ``receiver.held``."""

    def __init__(self) -> None:
        super().__init__()
        self.fail: Path | None = None
        self.receiver = _Receiver(render=self._render_nothing)
        self._token = object()  # the "process": it lives as long as the worker

    def _render_nothing(self, exp: hpviz.Experiment, target: Path, options: Any) -> Path:
        if target == self.fail:
            raise OSError(f"cannot write {target}")
        return target

    def _ensure(self) -> Any:
        return self._token

    def _exchange(self, proc: Any, request: dict[str, Any]) -> dict[str, Any]:
        return self.receiver.handle(json.dumps(request))


def _handover(rec: Recorder, worker: InProcessWorker, folder: Path) -> tuple[int, int]:
    """One periodic hand-over of ``rec``'s state; the process then holds exactly what a full snapshot gives."""
    with rec._lock:
        snap = rec._snapshot()
    worker.render(snap, folder / "r.html", {})
    held = worker.receiver.held
    full = hpviz.io.load(hpviz.io.save(snap, folder / "full.json"))
    assert held is not None and held is not full
    assert [t.number for t in held.trials] == [t.number for t in full.trials]
    assert held.trials == full.trials and held.rounds == full.rounds and held.space == full.space
    assert held.objectives == full.objectives and held.framework == full.framework and held.name == full.name
    # byte for byte: the file the process would write of what it holds is the full snapshot's file
    assert hpviz.io.save(held, folder / "held.json").read_bytes() == (folder / "full.json").read_bytes()
    assert worker.last_handover is not None
    return worker.last_handover


def _growing_log(*points: float) -> ReservoirLog:
    log = ReservoirLog(capacity=8, seed=0)
    for step, value in enumerate(points):
        log.append(step, loss=value)
    return log


def test_incremental_handover_holds_what_a_full_snapshot_gives(tmp_path: Path) -> None:
    rec = ListRecorder(tmp_path / "r.html", name="steps")
    worker = InProcessWorker()
    for x in (0.1, 0.2, 0.3):
        rec.record(x)
    logs = {rec.record(0.4 + i / 10, TrialState.RUNNING, _growing_log(1.0, 0.9)): None for i in range(3)}
    running = list(logs)
    logs = {n: t.log for n, t in ((t.number, t) for t in rec._exp.trials) if n in running}
    assert _handover(rec, worker, tmp_path) == (6, 6)  # the first request: everything

    for n in running[:2]:  # the running trials report more steps (more than the capacity: the sample moves)
        for step in range(2, 12):
            logs[n].append(step, loss=1.0 / step)
    rec.record(0.4, TrialState.COMPLETE, logs[running[0]], number=running[0])  # RUNNING -> COMPLETE
    rec.record(0.7)
    rec.record(0.8)
    # sent: the finished trial, the two still running (their logs are copied into each snapshot), two new ones
    assert _handover(rec, worker, tmp_path) == (5, 8)

    narrow = SearchSpace({"x": Float(0.0, 1.0)})
    rec.next_round(narrow, [hpviz.Change("x", "shrink", SPACE["x"], narrow["x"], "test")], note="second")
    rec.record(0.05)
    logs[running[1]].append(20, loss=0.01)
    rec.record(0.5, TrialState.PRUNED, logs[running[1]], number=running[1])  # RUNNING -> PRUNED
    rec.record(0.6, TrialState.FAIL, logs[running[2]], number=running[2])  # RUNNING -> FAIL
    assert _handover(rec, worker, tmp_path) == (3, 9)  # rounds and space are current in every request
    held = worker.receiver.held
    assert len(held.rounds) == 2 and held.rounds[1].note == "second" and held.space == narrow
    assert [t.state for t in held.trials if t.number in running] == [
        TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]
    assert [t.round for t in held.trials] == [0] * 8 + [1]

    assert _handover(rec, worker, tmp_path) == (0, 9)  # nothing changed: no trial sent
    rec.record(0.9)
    assert _handover(rec, worker, tmp_path) == (1, 10)


def test_the_handover_sends_everything_when_the_process_holds_nothing_or_failed(tmp_path: Path) -> None:
    rec = ListRecorder(tmp_path / "r.html")
    worker = InProcessWorker()
    for x in (0.1, 0.2):
        rec.record(x)
    assert _handover(rec, worker, tmp_path) == (2, 2)
    rec.record(0.3)
    worker.receiver.held = None  # e.g. a process that failed and dropped its experiment: it asks for a rebase
    assert _handover(rec, worker, tmp_path) == (3, 3)
    rec.record(0.4)
    worker.fail = tmp_path / "r.html"
    with pytest.raises(RuntimeError, match="cannot write"):
        worker.render(rec.experiment, tmp_path / "r.html", {})
    assert worker.receiver.held is None
    worker.fail = None
    assert _handover(rec, worker, tmp_path) == (4, 4)  # after a failure: everything
    rec.record(0.5)
    worker.abort()  # a final report stopped the process: the next request sends everything
    worker.clear_abort()
    assert _handover(rec, worker, tmp_path) == (5, 5)
    rec.record(0.6)
    assert _handover(rec, worker, tmp_path) == (1, 6)


def test_changed_trials_falls_back_to_everything_when_a_held_trial_is_gone() -> None:
    trials = [Trial(i, {"x": i / 10}, {"loss": i / 10}) for i in range(4)]
    exp = hpviz.Experiment(SPACE, {"loss": "min"}, trials)
    held = {t.number: t for t in trials}
    assert _changed_trials(exp, None) is None and _changed_trials(exp, {}) is None
    assert _changed_trials(exp, held) == []
    newer = Trial(2, {"x": 0.2}, {"loss": 0.5})
    assert _changed_trials(exp.with_trials([*trials[:2], newer, trials[3]]), held) == [newer]
    assert _changed_trials(exp.with_trials(trials[:3]), held) is None  # trial 3 is gone
    assert _changed_trials(exp.with_trials([Trial(i, {"x": 0.0}) for i in range(4)]), held) is None  # all new


def test_incremental_background_reports_equal_the_final_report(tmp_path: Path) -> None:
    # the render process merges each request into the experiment it holds; its report is the final one
    options = {"views": ["progress", "curves", "rounds"]}
    rec = ListRecorder(tmp_path / "bg.html", every=2, report_options=options)  # one request per step below
    running = [rec.record(0.5, TrialState.RUNNING, _growing_log(1.0, 0.8)) for _ in range(2)]
    logs = {t.number: t.log for t in rec._exp.trials}
    rec.record(0.1, log=_growing_log(1.0, 0.5, 0.2))
    rec.record(-0.3, log=_growing_log(1.0, 0.6, 0.3))
    rec.wait()
    assert rec._worker.last_handover == (4, 4)
    for step in range(2, 6):
        logs[running[0]].append(step, loss=0.5 / step)
    rec.record(0.2, log=logs[running[0]], number=running[0])
    rec.record(0.15, log=_growing_log(0.7, 0.4))
    rec.wait()
    assert rec._worker.last_handover == (3, 5)  # the finished trial, a new one and the one still running
    narrow = SearchSpace({"x": Float(-0.5, 0.5)})
    rec.next_round(narrow, [hpviz.Change("x", "shrink", SPACE["x"], narrow["x"], "test")])
    rec.record(0.05, log=_growing_log(0.9, 0.1))
    rec.record(0.3, TrialState.PRUNED, logs[running[1]], number=running[1])
    rec.wait()
    assert rec._worker.last_handover == (2, 6)
    background = (tmp_path / "bg.html").read_text()
    final = rec.report(tmp_path / "final.html").read_text()
    assert len(_images(background)) >= 3 and _images(background) == _images(final)
