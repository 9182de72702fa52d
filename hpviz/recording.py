"""Recorder: the one base every framework callback builds on.

A framework callback (``hpviz_optuna.HpvizCallback``, ``hpviz_raytune.HpvizCallback``,
``hpviz_hyperopt.HpvizCallback``, ...) subclasses :class:`Recorder` and only
translates the framework's native trials and hook methods (after Ray Tune's
``LoggerCallback``, whose sinks implement ``log_trial_start/result/end`` on
shared bookkeeping). The Recorder owns everything else, so it behaves the
same in every framework:

- option validation at construction (``report_path``, ``every``,
  ``log_capacity``, ``report_options``; unknown keyword arguments are a
  ``TypeError`` listing the allowed ones);
- the never-fatal guard: a failure inside hpviz during a run is logged as a
  warning with its cause, the run continues, the next report retries;
- ``cb.experiment`` (a snapshot, never ``None``), ``cb.report(path=None)``,
  ``cb.next_round(space, changes)`` (returns the new round's index),
  ``cb.round``, ``cb.n_recorded``;
- trial numbering across several studies / ``Trials`` objects / tuners;
- the ``every=`` schedule, rendered in the background by one renderer that
  coalesces requests (never more than one report in flight), in a separate
  process so the optimization keeps its interpreter, sent only what changed
  since its last report;
- ``live=True``: one display in a Jupyter cell, updated at most
  :data:`LIVE_MAX_PER_SECOND` times a second, ending with the report link;
- UTC timestamps for the times a callback takes itself (:func:`utc`, :func:`now`);
- ``Experiment.framework`` set to the adapter's id.

The core names no framework: adapters pass their id as the ``framework``
class attribute.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import html
import inspect
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from hpviz._validate import Interval, check, check_int, check_options
from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Change, Experiment, SearchSpace, Trial, TrialState

__all__ = ["Recorder", "utc", "now", "check_report_path", "live_view", "EMPTY_REPORT_MESSAGE", "LIVE_MAX_PER_SECOND"]

logger = logging.getLogger(__name__)

#: Message of the ``InsufficientDataError`` that ``report()`` raises before the first trial (every adapter).
EMPTY_REPORT_MESSAGE = "the callback has recorded no trial yet; nothing to report"

#: Report suffixes a callback accepts (no suffix: a folder of PNGs).
REPORT_SUFFIXES = (".html", ".htm", ".pdf")

#: Live view: updates per second at most (each takes a snapshot: cheap, but not free).
LIVE_MAX_PER_SECOND = 2.0

#: Niceness of the render process, set before its first import. Where the platform has it (Linux),
#: the process also runs under the idle scheduling policy (:data:`RENDER_IDLE_POLICY`).
RENDER_NICENESS = 19

#: Run the render process under Linux's ``SCHED_IDLE`` policy: it gets a core only when no other
#: thread of the session wants one and yields it at once when one does (niceness alone still gives it
#: a share: at 10, a ninth of a busy worker thread's). On a machine shared with other jobs its CPU time
#: still counts against the session's share of the cores, hence :data:`RENDER_FIRST_DELAY`.
#: Elsewhere: the niceness above (Windows: the idle priority class).
RENDER_IDLE_POLICY = True

#: Seconds the background render process waits for work before it exits (it restarts on demand).
RENDER_IDLE_SECONDS = 60.0

#: A periodic report that took ``d`` seconds is followed by at least ``RENDER_SPACING * d`` seconds
#: without one (requests meanwhile coalesce): background reports use at most ``1 / (1 + RENDER_SPACING)``
#: of one core, however small ``every`` is and however long a report takes.
RENDER_SPACING = 1.0

#: Seconds after the first recorded trial before the first periodic report may start. A report takes
#: about a second or more to render (longer on a busy machine): one started in the first moments of a run
#: would show a handful of trials and be outdated before it is written, and in a run shorter than this the
#: final report supersedes it. Runs whose ``every`` trials take longer than this are not delayed.
RENDER_FIRST_DELAY = 2.0


# --------------------------------------------------------------------------- small helpers


def utc(value: Any, *, naive: str = "utc") -> _dt.datetime | None:
    """An aware UTC datetime from a datetime or an epoch in seconds (``None`` stays ``None``).

    ``naive`` says what a naive datetime means: ``"utc"`` or ``"local"`` (the
    machine's local time, as some frameworks store it).
    """
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            if naive == "local":
                return value.astimezone(_dt.timezone.utc)
            return value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return _dt.datetime.fromtimestamp(float(value), tz=_dt.timezone.utc)
    return None


def now() -> _dt.datetime:
    """The current time, aware UTC."""
    return _dt.datetime.now(_dt.timezone.utc)


def check_report_path(path: str | os.PathLike, what: str = "report_path") -> Path:
    """Validate an output path for a report before any work; returns it with ``~`` expanded.

    Accepts ``.html``/``.htm``/``.pdf`` files and folders (no suffix: one PNG
    per view). Missing folders are fine when they can be created (the nearest
    existing one is a writable folder). Raises :class:`hpviz.SchemaError`
    naming the user's path and the fix; checks only the file system metadata
    (milliseconds).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise SchemaError(f"{what} must be a path (str or os.PathLike), got {type(path).__name__}")
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if not raw.strip():
        raise SchemaError(f"{what} is empty: give a .html or .pdf file, or a folder for PNGs")
    target = Path(raw).expanduser()
    suffix = target.suffix.lower()
    if suffix and suffix not in REPORT_SUFFIXES and not target.is_dir():
        raise SchemaError(f"{what} {raw!r}: the suffix {target.suffix!r} is not a report format; "
                          "use a .html or .pdf file, or a folder (no suffix) for one PNG per view")
    if target.exists():
        if not suffix and not target.is_dir():
            raise SchemaError(f"{what} {raw!r} is an existing file without suffix: use .html, .pdf or a folder")
        if suffix and target.is_dir() and suffix in REPORT_SUFFIXES:
            raise SchemaError(f"{what} {raw!r} is an existing folder; give a file path inside it")
        writable_dir = target if target.is_dir() else target.parent
        if not os.access(target, os.W_OK) or not os.access(writable_dir, os.W_OK):
            raise SchemaError(f"{what} {raw!r} is not writable (check its permissions or pick another path)")
        return target
    parent = target.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise SchemaError(f"{what} {raw!r}: {str(parent)!r} is a file, not a folder; pick another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SchemaError(f"{what} {raw!r}: the folder {str(parent)!r} is not writable; pick another path")
    return target


def _report_keywords() -> tuple[str, ...]:
    """Keyword options :func:`hpviz.report` takes (``hpviz.report.OPTIONS``, held to its signature)."""
    from hpviz.reporting import OPTIONS

    return tuple(OPTIONS)


# --------------------------------------------------------------------------- background rendering


class _Renderer:
    """One background thread that renders the latest requested report; requests coalesce.

    ``request()`` never blocks. While a report renders, any number of new
    requests collapse into one pending render, which starts from the newest
    state when the current one is done and :data:`RENDER_SPACING` times its
    duration has passed: at most one report is in flight, and reports keep a
    bounded share of the CPU. ``abort`` (optional) stops the render in flight
    when a final report supersedes it.
    """

    def __init__(self, render: Any, on_idle: Any = None, abort: Any = None):
        self._render = render
        self._on_idle = on_idle
        self._abort = abort
        self._cond = threading.Condition()
        self._pending = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self._not_before = -math.inf  # monotonic time before which the next render does not start

    def hold(self, seconds: float) -> None:
        """No render starts in the next ``seconds`` (unless one is held back longer already)."""
        with self._cond:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def request(self) -> None:
        with self._cond:
            self._pending = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hpviz-report-renderer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._cond.wait(timeout=RENDER_IDLE_SECONDS)
                    if not self._pending:
                        self._thread = None
                        break
                delay = self._not_before - time.monotonic()
                if delay > 0:  # spacing after the previous report; a cancel or more requests meanwhile
                    self._cond.wait(timeout=delay)
                    continue
                self._pending = False
                self._busy = True
            start = time.monotonic()
            try:
                self._render()
            finally:
                with self._cond:
                    end = time.monotonic()
                    self._not_before = end + RENDER_SPACING * (end - start)
                    self._busy = False
                    self._cond.notify_all()
        if self._on_idle is not None:
            with contextlib.suppress(Exception):
                self._on_idle()

    def wait(self, *, cancel_pending: bool = False, abort: bool = False) -> None:
        """Block until no render is in flight (and none pending unless cancelled; ``abort``: stop the one in flight)."""
        with self._cond:
            if cancel_pending:
                self._pending = False
            if abort and self._busy and self._abort is not None:
                with contextlib.suppress(Exception):
                    self._abort()
            while self._busy or (self._pending and self._thread is not None and self._thread.is_alive()):
                self._cond.wait()

    @property
    def busy(self) -> bool:
        return self._busy or self._pending


def _render_in_process(exp: Experiment, target: Path | None, options: Mapping[str, Any]) -> Path:
    import hpviz

    if target is None:
        return hpviz.report(exp, **options)
    if target.suffix:
        target.parent.mkdir(parents=True, exist_ok=True)
    return hpviz.report(exp, target, **options)


def _changed_trials(exp: Experiment, held: Mapping[int, Trial] | None) -> list[Trial] | None:
    """The trials of ``exp`` that a holder of ``held`` (number -> trial) lacks; ``None``: send them all.

    A trial is sent when it is new or is another object than the one held: trials are frozen, so a
    change of state (RUNNING to COMPLETE) is a new object, and a running trial's growing log is
    copied into each snapshot (:meth:`Recorder._snapshot`). Everything when nothing is held, when
    nothing held is still current, or when a held trial is gone from ``exp``. O(trials), no encoding.
    """
    if not held:
        return None
    trials = exp.trials
    changed = [t for t in trials if held.get(t.number) is not t]
    kept = len(trials) - len(changed)
    if kept == 0 or kept + sum(t.number in held for t in changed) < len(held):
        return None
    return changed


def _merge(held: Experiment, part: Experiment) -> Experiment:
    """``part`` (the current space, rounds, objectives, name, notes and the changed trials) completed
    with the trials of ``held`` it does not replace, in number order as a loaded file has them."""
    trials = {t.number: t for t in held.trials}
    trials.update((t.number, t) for t in part.trials)
    return part.with_trials(trials[number] for number in sorted(trials))


class _Aborted(Exception):
    """The periodic report in flight was stopped: a final report to the same path supersedes it."""


class _RenderWorker:
    """A long-lived render process (started on the first periodic report, stopped when idle).

    It keeps the optimization's interpreter free and pays the imports once.
    One request at a time: one JSON line in (the experiment as an hpviz JSON
    file, never a pickle), one JSON line out.

    The hand-over is incremental: the process keeps the experiment of its last
    request, and each later request's file holds only the trials that are new
    or changed since (see :func:`_changed_trials`) with the rest of the
    experiment (space, rounds, objectives, name, notes: small), which the
    process merges into what it holds (:func:`_merge`). The first request of a
    process, and any request after a failure or an :meth:`abort`, sends the
    whole snapshot.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._stderr: Any = None
        self._lock = threading.Lock()  # render() and close() never overlap
        self._cancel = False  # set by abort(): the render in flight, or the one about to start, stops
        self._killed = False  # set by abort() when it stopped the process
        # What the process holds after the last request it answered: the trials by number (the very
        # objects sent) and the request's id. None: nothing (send everything); a process stopped or
        # started anew (``_close``) holds nothing.
        self._held: dict[int, Trial] | None = None
        self._held_id = 0
        self._requests = 0
        #: (trials in the last request's file, trials in its snapshot): for tests and benchmarks.
        self.last_handover: tuple[int, int] | None = None

    def _ensure(self) -> Any:
        if self._proc is None or self._proc.poll() is not None:
            self._close()
            root = str(Path(__file__).resolve().parent.parent)
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in sys.path if p], env.get("PYTHONPATH", "")])
            env.setdefault("MPLBACKEND", "Agg")
            self._stderr = tempfile.TemporaryFile(mode="w+", prefix="hpviz-render-")
            boot = _BOOT.format(niceness=RENDER_NICENESS, idle=RENDER_IDLE_POLICY)
            self._proc = subprocess.Popen([sys.executable, "-c", boot], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr, text=True, env=env,
                                          creationflags=getattr(subprocess, "IDLE_PRIORITY_CLASS", 0))
        return self._proc

    def _failure(self, what: str) -> RuntimeError:
        tail = ""
        if self._stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                self._stderr.seek(0)
                lines = [ln for ln in self._stderr.read().splitlines() if ln.strip()]
                tail = f": {lines[-1]}" if lines else ""
        self._close()
        return RuntimeError(f"{what}{tail}")

    def render(self, exp: Experiment, target: Path, options: Mapping[str, Any]) -> Path:
        with self._lock:
            try:
                return self._render(exp, target, options)
            except Exception:
                self._held = None  # whatever the process holds now, the next request sends everything
                if self._cancel:
                    if self._killed:  # stopped with its process: the next report starts a new one
                        self._close()
                    raise _Aborted() from None
                raise
            finally:
                self._cancel = self._killed = False

    def abort(self) -> None:
        """Stop the render in flight, or the one about to start (it raises :class:`_Aborted`).

        A render that has sent its request is stopped with its process (the next one starts a new
        process, sent the whole snapshot); the report file is written atomically, so the previous
        report stays in place. Call :meth:`clear_abort` once the caller no longer waits for that render.
        """
        self._cancel = True
        self._held = None  # the next request sends everything
        proc = self._proc
        if proc is not None and self._lock.locked():
            self._killed = True
            with contextlib.suppress(OSError):
                proc.kill()

    def clear_abort(self) -> None:
        self._cancel = False

    def _render(self, exp: Experiment, target: Path, options: Mapping[str, Any]) -> Path:
        proc = self._ensure()
        with tempfile.TemporaryDirectory(prefix="hpviz-render-") as tmp:
            held = self._held
            reply = self._send(proc, exp, held, target, options, Path(tmp))
            if reply.get("rebase") and held is not None:  # the process holds another base: send everything
                reply = self._send(proc, exp, None, target, options, Path(tmp))
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error") or "the report process failed")
        self._held, self._held_id = {t.number: t for t in exp.trials}, self._requests
        return target

    def _send(self, proc: Any, exp: Experiment, held: Mapping[int, Trial] | None, target: Path,
              options: Mapping[str, Any], folder: Path) -> dict[str, Any]:
        """One request: ``exp``'s trials that the process (holding ``held``) lacks, or all; its reply."""
        from hpviz.io import save

        changed = _changed_trials(exp, held)
        part = exp if changed is None else exp.with_trials(changed)
        self._requests += 1
        self._held = None  # until the reply says what the process holds
        data = save(part, folder / f"experiment-{self._requests}.json")
        self.last_handover = (len(part), len(exp))
        request = {"experiment": str(data), "path": str(target), "options": dict(options), "id": self._requests,
                   "base": None if changed is None else self._held_id}
        if self._cancel:  # stopped while the snapshot was saved or the process started
            raise _Aborted()
        return self._exchange(proc, request)

    def _exchange(self, proc: Any, request: dict[str, Any]) -> dict[str, Any]:
        """Write ``request`` to the render process, return its reply."""
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except (OSError, ValueError) as exc:
            raise self._failure(f"the report process stopped ({exc})") from None
        if not line:
            raise self._failure("the report process exited")
        return json.loads(line)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        proc, self._proc = self._proc, None
        self._held = None  # the next process starts with nothing
        if proc is not None:
            with contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.close()  # the process exits at the end of its input
            try:
                proc.wait(timeout=30)  # niced: on a loaded machine even its exit waits for a core
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout,):
                with contextlib.suppress(OSError, ValueError):
                    if stream is not None:
                        stream.close()
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.close()
            self._stderr = None


#: The render process's program: its priority drops first, before any import (importing hpviz,
#: NumPy and the report's modules is most of its start-up), then it serves requests.
_BOOT = """\
import os
try:
    os.nice({niceness})
except (AttributeError, OSError):
    pass
if {idle} and hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        pass
from hpviz.recording import _main
_main()
"""


def _main() -> None:
    """Entry of the render process: serve, flush, and exit without the interpreter's teardown."""
    code = _serve()
    for stream in (sys.stderr, sys.__stdout__):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    # every reply is written: skip the interpreter's teardown (seconds for a niced process on a busy machine)
    os._exit(code)


def _serve() -> int:
    """The render process: one JSON request per input line, one JSON reply per output line."""
    replies = sys.stdout
    sys.stdout = sys.stderr  # nothing the report prints may mix with the replies
    import hpviz
    import hpviz.reporting  # pay the imports before the first request

    hpviz.reporting.MAX_WORKERS = 1  # a background report: one niced process, not one per core

    receiver = _Receiver()
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = receiver.handle(line)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    return 0


class _Receiver:
    """The render process's side of a request: the experiment it holds, merged with each request.

    A request ``{"experiment": file, "path", "options", "id", "base"}``: ``base`` is ``None`` when
    the file holds the whole experiment, else the id of the request whose experiment the file
    updates (the reply is ``{"ok": false, "rebase": true}`` when that is not the one held: the
    parent then sends everything). After a failure nothing is held.
    """

    def __init__(self, render: Any = _render_in_process) -> None:
        self._render = render
        self.held: Experiment | None = None
        self._held_id: Any = None

    def handle(self, line: str) -> dict[str, Any]:
        import hpviz

        try:
            request = json.loads(line)
            base = request.get("base")
            if base is not None and (self.held is None or base != self._held_id):
                return {"ok": False, "rebase": True}
            exp = hpviz.load(request["experiment"])
            if base is not None:
                exp = _merge(self.held, exp)
            self.held, self._held_id = exp, request["id"]
            self._render(exp, Path(request["path"]), request["options"])
            return {"ok": True}
        except Exception as exc:  # noqa: BLE001 - the parent logs it as a warning
            self.held = self._held_id = None
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


# --------------------------------------------------------------------------- live view


def _best_so_far(exp: Experiment) -> list[float]:
    """The running best of the primary objective over the finished trials with a finite value."""
    sign = 1.0 if exp.objectives[exp.primary] == "min" else -1.0
    values = [sign * t.values[exp.primary] for t in exp.completed()]
    out: list[float] = []
    for v in values:
        out.append(v if not out else min(out[-1], v))
    return [sign * v for v in out]


def _sparkline(points: list[float], width: int = 240, height: int = 40) -> str:
    if len(points) < 2:
        return ""
    lo, hi = min(points), max(points)
    span = (hi - lo) or 1.0
    xy = " ".join(f"{width * i / (len(points) - 1):.1f},{height - 2 - (height - 4) * (p - lo) / span:.1f}"
                  for i, p in enumerate(points))
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="best so far">'
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{xy}"/></svg>')


def live_view(exp: Experiment, *, updates: int = 0, report: Path | None = None) -> dict[str, str]:
    """The live view's MIME bundle (``text/html`` and ``text/plain``) for an experiment so far."""
    counts = {k: v for k, v in exp.count_by_state().items() if v}
    best = exp.best()
    name = exp.name or "experiment"
    states = ", ".join(f"{v} {k.lower()}" for k, v in counts.items()) or "no trial yet"
    obj = exp.primary
    best_text = (f"best {obj} = {best.values[obj]:.6g} (trial {best.number})" if best is not None
                 else f"no finished trial with a finite {obj} yet")
    text = f"hpviz: {name}: {len(exp)} trials ({states}), round {len(exp.rounds) - 1}; {best_text}"
    parts = [f'<div class="hpviz-live" data-hpviz-updates="{updates}" data-hpviz-trials="{len(exp)}">',
             f"<b>hpviz</b> &mdash; {html.escape(name)}: {len(exp)} trials ({html.escape(states)}), "
             f"round {len(exp.rounds) - 1}<br>{html.escape(best_text)}"]
    line = _sparkline(_best_so_far(exp))
    if line:
        parts.append(f"<br>{line}")
    if report is not None:
        uri = html.escape(Path(report).resolve().as_uri(), quote=True)
        parts.append(f'<br>Report: <a href="{uri}" target="_blank">{html.escape(str(report))}</a>')
        text += f"; report: {report}"
    parts.append("</div>")
    return {"text/html": "".join(parts), "text/plain": text}


# --------------------------------------------------------------------------- the Recorder


class Recorder:
    """Shared bookkeeping of every hpviz framework callback (subclass it in an adapter).

    Parameters
    ----------
    report_path:
        Where reports go: a ``.html`` or ``.pdf`` file, or a folder (one PNG
        per view). ``~`` is expanded. Checked at construction: a wrong suffix
        or a location that cannot be written raises :class:`hpviz.SchemaError`
        naming the path. Missing folders are created when the report is written.
    every:
        Request a report to ``report_path`` after every ``every`` recorded
        (finished) trials; ``None``: no periodic reports. Periodic reports
        render in the background (see Notes).
    log_capacity:
        Points kept per trial in its :class:`hpviz.ReservoirLog`.
    name:
        Name of the experiment (default: the framework's name for the run).
    report_options:
        Keyword options of :func:`hpviz.report` (checked at construction).
    live:
        Keep one display in the Jupyter cell updated during the run (trial
        counts, best so far and its curve), at most :data:`LIVE_MAX_PER_SECOND`
        times a second, ending with a link to the report when one is written.
        Needs IPython (outside a notebook it prints the text summary).

    Notes
    -----
    **Never fatal.** Nothing hpviz does during a run reaches the framework:
    a failure is logged as a warning on the ``"hpviz.recording"`` logger
    (messages start with ``"hpviz:"`` and give the cause), the run goes on,
    and the next report retries. Only what you call yourself
    (:meth:`report`, :meth:`next_round`, the constructor) raises.

    **Background reports.** A due periodic report is a request to one
    renderer thread; requests that arrive while it renders collapse into one,
    so at most one report is in flight and the optimization never waits for
    one. The renderer writes from a snapshot in one long-lived render process
    (the experiment passed as hpviz JSON, never pickled; the process pays the
    imports once and ends after :data:`RENDER_IDLE_SECONDS` without work), so
    rendering does not compete with the optimization for the interpreter lock.
    The process keeps the experiment it was last sent: later reports send it
    only the trials that are new or changed since (and the small rest: space,
    rounds, objectives, name), so a report costs the optimization a few
    milliseconds however long the run (docs/callbacks.md).
    That process runs at the lowest CPU priority from its first instruction
    (:data:`RENDER_IDLE_POLICY`, :data:`RENDER_NICENESS`): it renders on the
    CPU time the optimization leaves free. Reports are paced: the first one
    waits until the run has lasted :data:`RENDER_FIRST_DELAY` seconds (in a
    shorter run only the final report is written), and each one is followed
    by :data:`RENDER_SPACING` times its duration without one. :meth:`report`
    writes the complete final report itself, at the caller's priority; to
    ``report_path`` it supersedes the periodic report in flight (stopped; the
    file is written atomically, so the previous report stays until the new
    one replaces it), to another path it waits for it.

    **Thread safety.** Recording and snapshots are serialized by one lock.
    The lock, the renderer and its thread are dropped when the callback is
    pickled (some frameworks pickle callbacks) and rebuilt when unpickled.
    """

    #: The adapter's framework id, stored as ``Experiment.framework``.
    framework: ClassVar[str | None] = None
    #: Default objectives before the framework tells (e.g. before the first trial).
    default_objectives: ClassVar[Mapping[str, str]] = {"value": "min"}

    def __init__(
        self,
        *,
        report_path: str | os.PathLike | None = None,
        every: int | None = None,
        log_capacity: int = 512,
        name: str | None = None,
        report_options: Mapping[str, Any] | None = None,
        space: SearchSpace | None = None,
        live: bool = False,
        unknown: Mapping[str, Any] | None = None,
    ):
        where = f"{type(self).__name__}()"
        check_options(where, unknown or {}, self.allowed_options())
        self.report_path: Path | None = None if report_path is None else check_report_path(report_path)
        self.every = check(f"{where} every", every, Interval(int, 1), None)
        self.log_capacity = check_int(f"{where} log_capacity", log_capacity, 2)
        self.name = check(f"{where} name", name, str, None)
        self.report_options = self._check_report_options(report_options)
        self.live = check(f"{where} live", live, bool)
        if live:
            import importlib.util

            if importlib.util.find_spec("IPython") is None:
                raise SchemaError(f"{type(self).__name__}(live=True) shows the run in a Jupyter cell and needs "
                                  "IPython: pip install ipython (or run it in Jupyter)")
        if space is not None and not isinstance(space, SearchSpace):
            space = SearchSpace(space)
        # One entry per round: (space or None while still inferred, changes, note).
        self._rounds: list[tuple[SearchSpace | None, tuple[Change, ...], str | None]] = [(space, (), None)]
        self._declared = space is not None
        self._offsets: dict[Hashable, int] = {}
        self._max_number = -1
        self._recorded = 0
        self._since_report = 0
        self._exp: Experiment | None = None  # live experiment, kept up to date by the adapter
        self._init_runtime()

    def _init_runtime(self) -> None:
        """State that is never pickled: the lock and the renderer."""
        self._lock = threading.RLock()
        self._render_lock = threading.Lock()  # one report written at a time
        self._worker = _RenderWorker()
        self._renderer = _Renderer(self._render_periodic, on_idle=self._worker.close, abort=self._worker.abort)
        self._subprocess_ok = True
        self._live_lock = threading.Lock()
        self._live_handle: Any = None
        self._live_last = -math.inf
        self._live_updates = 0

    @classmethod
    def allowed_options(cls) -> list[str]:
        """Keyword arguments the callback's constructor takes."""
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.name not in ("self", "unknown")
                and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    @staticmethod
    def _check_report_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
        if options is None:
            return {}
        if not isinstance(options, Mapping):
            raise TypeError(f"report_options must be a dict of hpviz.report options, got {type(options).__name__}")
        check_options("report_options (hpviz.report)", options, _report_keywords())
        return dict(options)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_lock", "_render_lock", "_renderer", "_worker", "_live_lock", "_live_handle"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    # ------------------------------------------------------------------ adapter hooks
    def _refresh(self) -> None:
        """Bring ``self._exp`` up to date (caller holds the lock). Adapters override it."""

    def _catch_up(self) -> None:
        """Read trials the framework finished without calling the callback (caller holds the lock).

        Called only on the user's own reads (:attr:`experiment`, :meth:`report`), never from the
        background renderer, so an adapter may read the framework's objects here.
        """

    def _as_space(self, space: Any) -> SearchSpace:
        """A round's space from what the user passed (adapters also accept native spaces)."""
        return space if isinstance(space, SearchSpace) else SearchSpace(space)

    def _on_round(self, index: int, space: SearchSpace) -> None:
        """Called (under the lock) after round ``index`` started; adapters may update their state."""

    # ------------------------------------------------------------------ adapter helpers
    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Never fatal: log an hpviz failure as a warning with its cause and carry on."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - a visualization bug must never stop the user's run
            self._warn_failure(what, exc)

    @staticmethod
    def _warn_failure(what: str, exc: BaseException) -> None:
        """The never-fatal guard's warning: what failed and why; the run goes on."""
        logger.warning("hpviz: %s failed (%s: %s); the run continues", what, type(exc).__name__, exc,
                       exc_info=logger.isEnabledFor(logging.DEBUG))

    def _offset_for(self, source: Hashable, lowest: int) -> int:
        """Number offset of a source of trials (a study, a ``Trials`` object...). Caller holds the lock.

        The first source keeps its own numbers; a later one is numbered after
        every trial seen so far, from ``lowest`` (the lowest native number it
        may still report).
        """
        offset = self._offsets.get(source)
        if offset is None:
            offset = 0 if not self._offsets else self._max_number + 1 - lowest
            self._offsets[source] = offset
        return offset

    def _take_number(self, number: int | None = None) -> int:
        """Note that trial ``number`` exists (default: the next free one) and return it. Caller holds the lock."""
        if number is None:
            number = self._max_number + 1
        self._max_number = max(self._max_number, number)
        return number

    def _rounds_into(self, exp: Experiment) -> Experiment:
        """Add rounds 1.. of the recorder to a freshly built experiment (round 0 is its space)."""
        for space, changes, note in self._rounds[1:]:
            exp.next_round(space if space is not None else exp.space, changes, note)
        return exp

    def _pull(self, what: str, read: Any, *, catching_up: bool = False) -> int:
        """For frameworks without a callback hook, whose adapter reads changes when the user calls
        ``cb.update(...)`` (or from :meth:`_catch_up`, with ``catching_up=True``): run ``read()``
        (it returns the number of newly finished trials) under the lock and the never-fatal guard,
        and count what it recorded. Returns that number (0 when ``read`` failed)."""
        finished = 0
        with self._guard(what):
            with self._lock:
                finished = read()
        if catching_up:  # a read of the user's (report(), experiment): no periodic report for it
            with self._lock:
                self._recorded += finished
        else:
            self._trials_recorded(finished)
        return finished

    def _trials_recorded(self, n: int = 1) -> None:
        """Count ``n`` newly finished trials and request a periodic report when one is due."""
        if n <= 0:
            return
        with self._lock:
            if self._recorded == 0 and self.every is not None:
                self._renderer.hold(RENDER_FIRST_DELAY)
            self._recorded += n
            if self.every is None or self.report_path is None:
                due = False
            else:
                self._since_report += n
                due = self._since_report >= self.every
                if due:
                    self._since_report = 0
        if due:
            self._renderer.request()
        if self.live:
            self._live_update()

    def _live_update(self, *, report: Path | None = None) -> None:
        """Refresh the live display: throttled, skipped while another thread updates it, never fatal."""
        final = report is not None
        if not self._live_lock.acquire(blocking=final):
            return
        try:
            moment = time.monotonic()
            if not final and moment - self._live_last < 1.0 / LIVE_MAX_PER_SECOND:
                return
            self._live_last = moment
            with self._guard("updating the live view"):
                with self._lock:
                    snap = self._snapshot()
                self._live_updates += 1
                bundle = live_view(snap, updates=self._live_updates, report=report)
                if self._live_handle is None:
                    from IPython.display import display

                    self._live_handle = display(bundle, raw=True, display_id=True)
                else:
                    self._live_handle.update(bundle, raw=True)
        finally:
            self._live_lock.release()

    # ------------------------------------------------------------------ public state
    @property
    def n_recorded(self) -> int:
        """Finished trials recorded so far."""
        return self._recorded

    @property
    def round(self) -> int:
        """Index of the current round (trials recorded from now on get it)."""
        return len(self._rounds) - 1

    @property
    def experiment(self) -> Experiment:
        """A snapshot of what has been recorded, as an :class:`hpviz.Experiment`.

        A new object on each access (never ``None``: before the first trial
        it is an empty experiment over the declared space, if any, with the
        objectives known so far). It shares the recorded (frozen) trials, so
        taking it is cheap, and it does not change as the run goes on:
        read ``cb.experiment`` again for newer trials. Changing it never
        changes what the callback records.
        """
        with self._lock:
            self._catch_up()
            return self._snapshot()

    def _snapshot(self) -> Experiment:
        """Caller holds the lock."""
        self._refresh()
        exp = self._exp
        if exp is None:
            space = self._rounds[0][0] or SearchSpace({})
            exp = self._rounds_into(Experiment(space, dict(self.default_objectives), name=self.name,
                                               framework=self.framework))
            return exp
        trials = []
        for t in exp.trials:
            if t.log is not None and t.state in (TrialState.RUNNING, TrialState.WAITING):
                # a running trial's log still grows: give the snapshot its own copy
                t = replace(t, log=type(t.log).from_state(t.log.to_state()))
            trials.append(t)
        snap = exp.with_trials(trials)
        snap.framework = self.framework
        if self.name is not None:
            snap.name = self.name
        return snap

    def next_round(self, space: Any, changes: Iterable[Change] = (), note: str | None = None) -> int:
        """Start a new steering round: trials recorded from now on carry its index.

        ``space`` is the space the next trials search (an :class:`hpviz.SearchSpace`,
        e.g. ``suggest_space(cb.experiment).space``, or the framework's native
        space); ``changes`` how it was derived (:class:`hpviz.Change` objects).
        Returns the index of the round that trials recorded next belong to.
        Called before any trial and without a declared space, it declares
        round 0's space (and returns 0).
        """
        space = self._as_space(space)
        changes = tuple(changes)
        for change in changes:
            if not isinstance(change, Change):
                raise SchemaError(f"next_round changes must be hpviz.Change objects, got {type(change).__name__}")
        if note is not None and not isinstance(note, str):
            raise SchemaError(f"next_round note must be a string, got {type(note).__name__}")
        with self._lock:
            if self._recorded == 0 and self._exp is None and len(self._rounds) == 1 and not self._declared:
                self._rounds = [(space, (), note)]
                self._declared = True
                self._on_round(0, space)
                return 0
            self._refresh()  # trials recorded so far belong to the previous round
            if self._exp is not None:
                self._exp.next_round(space, changes, note)
            self._rounds.append((space, changes, note))
            index = len(self._rounds) - 1
            self._on_round(index, space)
            return index

    # ------------------------------------------------------------------ reports
    def _render_periodic(self) -> None:
        """Renderer thread: write the report of the current state; never raises."""
        with self._guard(f"writing the report to {self.report_path}"):
            with self._lock:
                snap = self._snapshot()
            if len(snap) == 0 or self.report_path is None:
                return
            with self._render_lock, contextlib.suppress(_Aborted):  # stopped: a final report supersedes it
                self._write(snap, self.report_path, background=True)

    def _write(self, exp: Experiment, target: Path | None, *, background: bool = False) -> Path:
        if background and self._subprocess_ok and target is not None and sys.executable:
            try:
                json.dumps(self.report_options)
            except (TypeError, ValueError):
                pass  # e.g. a progress callable: render in this process
            else:
                try:
                    return self._worker.render(exp, target, self.report_options)
                except OSError as exc:  # no interpreter to start: render here from now on
                    logger.info("hpviz: cannot start a render process (%s); rendering in-process", exc)
                    self._subprocess_ok = False
        return _render_in_process(exp, target, self.report_options)

    def report(self, path: str | os.PathLike | None = None) -> Path:
        """Write the complete report now and return its path.

        Writes to ``path``, else ``report_path``, else hpviz's default
        (``hpviz-report.html``). A periodic report to the same path, in
        flight or pending, is superseded (stopped); one to another path is
        awaited first. Unlike periodic reports, errors propagate: you asked
        for it.

        Raises
        ------
        hpviz.InsufficientDataError
            No trial has been recorded yet (the same error in every adapter).
        hpviz.SchemaError
            ``path`` is not a report path that can be written.
        """
        target = check_report_path(path, "report(path=...)") if path is not None else self.report_path
        with self._lock:
            self._catch_up()
            snap = self._snapshot()
        if len(snap) == 0:
            raise InsufficientDataError(EMPTY_REPORT_MESSAGE, have=0, need=1)
        return self._write_final(snap, target)

    def _write_final(self, snap: Experiment, target: Path | None) -> Path:
        """Write ``snap`` here, after the periodic report in flight: to the same path, the final report
        supersedes it (and a pending one): the render process stops it; otherwise it is awaited."""
        same = target == self.report_path
        self._renderer.wait(cancel_pending=same, abort=same)
        self._worker.clear_abort()
        with self._render_lock:
            written = self._write(snap, target)
        if self.live:
            self._live_update(report=written)
        return written

    def _end_of_run_report(self) -> None:
        """For adapters whose framework signals the end of the run: the final report, awaited, never fatal."""
        if self.report_path is None:
            return
        with self._guard(f"writing the report to {self.report_path}"):
            with self._lock:
                snap = self._snapshot()
            if len(snap):
                self._write_final(snap, self.report_path)

    def wait(self) -> None:
        """Block until no periodic report is in flight or pending."""
        self._renderer.wait()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(report_path={self.report_path!r}, every={self.every!r}, "
                f"recorded={self._recorded}, round={self.round})")
