"""The static report: every view as HTML (self-contained), PDF (multi-page) or a folder of PNGs.

The report composes the Displays of :data:`hpviz.plot.DISPLAYS` through one
interface: each analysis runs once (cached per report), each Display draws
its result with ``from_result`` and the report reads its ``figure_`` (and,
for text panels, its ``_repr_html_``, which the HTML outputs show as text).
It knows nothing of a view's internals or return types.

The module is ``hpviz.reporting``; its one public function is ``hpviz.report``
(the report's own option names: ``hpviz.report.OPTIONS``).

Each view is drawn in isolation: an analysis that is missing, has too little
data, or fails is shown as a note in the report (and logged), never as a
crash of the whole report. Files are written atomically.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpviz.errors import InsufficientDataError, SchemaError
from hpviz.schema import Experiment

__all__ = ["report"]

log = logging.getLogger(__name__)

class _Skip(Exception):
    """A view that does not apply (or whose analysis is not installed): a note, not a failure."""


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    exp: Experiment
    objective: str
    top_k: int = 10
    max_params: int = 12
    seed: int = 0
    max_points: int = 2000
    n_trees: int = 16
    cache: dict[str, Any] = field(default_factory=dict)

    def analysis(self, key: str) -> Any:
        """Run (once) and return an analysis result; raises what the analysis raised, every time."""
        if key not in self.cache:
            try:
                self.cache[key] = (True, _ANALYSES[key](self))
            except Exception as exc:  # noqa: BLE001 - remembered and re-raised to each view that needs it
                self.cache[key] = (False, exc)
        ok, value = self.cache[key]
        if not ok:
            raise value
        return value

    def optional(self, key: str) -> Any:
        """An analysis result if it is available and succeeds, else None (for views that only use it to rank)."""
        try:
            return self.analysis(key)
        except Exception:  # noqa: BLE001 - the view falls back to drawing without it
            return None

    def view_options(self, display: Any) -> dict[str, Any]:
        """The report's shared options that ``display`` accepts, within the view's report caps."""
        shared = {"top_k": self.top_k, "max_params": self.max_params, "seed": self.seed,
                  "max_points": self.max_points, "objective": self.objective}
        out = {k: v for k, v in shared.items() if k in display.options}
        for k, cap in display.report_caps.items():
            if k in out:
                out[k] = min(out[k], cap)
        return out


def _public(name: str) -> Any:
    """A public analysis function; one whose module is missing from this installation skips its views."""
    import hpviz

    try:
        return getattr(hpviz, name)
    except ImportError as exc:
        raise _Skip(f"analysis {name} is not available in this installation ({exc})") from exc


def _an_diagnosis(ctx: _Context) -> Any:
    diagnose = _public("diagnose")
    return diagnose(ctx.exp, objective=ctx.objective)


#: The report computes pairwise interactions among at most this many parameters (the most important ones
#: alone): 12 parameters make 66 pairs, 500 would make 124,750.
PAIR_SCREEN = 12


def _an_importance(ctx: _Context) -> Any:
    importance = _public("importance")
    kwargs: dict[str, Any] = {"objective": ctx.objective, "n_trees": ctx.n_trees, "seed": ctx.seed}
    if len(ctx.exp.all_params()) <= PAIR_SCREEN:
        return importance(ctx.exp, pairs=True, **kwargs)
    try:
        return importance(ctx.exp, pairs=f"top:{PAIR_SCREEN}", **kwargs)
    except SchemaError:  # an importance without pair screening: no pairs rather than all of them
        return importance(ctx.exp, pairs=False, **kwargs)


def _an_suggestion(ctx: _Context) -> Any:
    suggest_space = _public("suggest_space")
    # reuse the forest of the importance view instead of fitting another one
    return suggest_space(ctx.exp, objective=ctx.objective, seed=ctx.seed, importance=ctx.optional("importance"))


def _an_rounds(ctx: _Context) -> Any:
    compare_rounds = _public("compare_rounds")
    try:
        return compare_rounds(ctx.exp, objective=ctx.objective)
    except InsufficientDataError:
        return None  # the rounds view still shows what each round has


def _an_expected(ctx: _Context) -> Any:
    expected_best = _public("expected_best")
    return expected_best(ctx.exp, objective=ctx.objective)


def _an_pareto(ctx: _Context) -> Any:
    pareto_front = _public("pareto_front")
    return pareto_front(ctx.exp)


def _an_replay(ctx: _Context) -> Any:
    return _public("replay")(ctx.exp, objective=ctx.objective)


def _an_budget_importance(ctx: _Context) -> Any:
    _public("budget_importance")
    from hpviz.analysis.rungs import _budget_importance

    # the level the COMPLETE trials alone reached is the report's importance: not fitted twice
    return _budget_importance(ctx.exp, ctx.objective, None, ctx.n_trees, ctx.seed, known=ctx.optional("importance"))


def _an_local_importance(ctx: _Context) -> Any:
    local_importance = _public("local_importance")
    glob = ctx.optional("importance")
    if glob is None:
        return local_importance(ctx.exp, objective=ctx.objective, n_trees=ctx.n_trees, seed=ctx.seed)
    from hpviz.analysis.local import DEFAULT_Q, _local

    # the global importance beside the local one is the report's own (the same forest settings)
    return _local(ctx.exp, ctx.objective, glob, DEFAULT_Q, ctx.n_trees, ctx.seed)


def _an_lineage(ctx: _Context) -> Any:
    return _public("lineage")(ctx.exp, objective=ctx.objective)


def _an_coverage(ctx: _Context) -> Any:
    return _public("coverage")(ctx.exp, seed=ctx.seed)


#: Analyses that reuse another analysis's result (computed after it; in the forked renderers it is sent to them).
_DEPENDS: dict[str, tuple[str, ...]] = {"suggestion": ("importance",), "local_importance": ("importance",),
                                        "budget_importance": ("importance",)}

_ANALYSES: dict[str, Callable[[_Context], Any]] = {
    "replay": _an_replay,
    "budget_importance": _an_budget_importance,
    "local_importance": _an_local_importance,
    "lineage": _an_lineage,
    "coverage": _an_coverage,
    "diagnosis": _an_diagnosis,
    "importance": _an_importance,
    "suggestion": _an_suggestion,
    "rounds": _an_rounds,
    "expected_best": _an_expected,
    "pareto": _an_pareto,
}


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class _View:
    key: str
    title: str
    about: str


def _displays() -> tuple[Any, ...]:
    from hpviz.plot import DISPLAYS

    return DISPLAYS


def _views() -> tuple[_View, ...]:
    return tuple(_View(d.key, d.title, d.about) for d in _displays())


def __getattr__(name: str) -> Any:
    """``VIEWS``: the views in report order (key, title, about), from :data:`hpviz.plot.DISPLAYS`.

    Built on first access so that importing ``hpviz.reporting`` does not import Matplotlib.
    """
    if name == "VIEWS":
        return _views()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class _Rendered:
    key: str
    title: str
    about: str
    png: bytes | None = None
    figure: Any = None
    note: str | None = None
    kind: str = "ok"  # ok | skipped | insufficient | failed
    text: str | None = None  # code drawn on the PDF cover
    html: str | None = None  # a text panel as HTML (shown instead of its image in HTML)
    trace: str | None = None  # traceback of a failed view (logged by the process that writes the report)
    details: str | None = None  # HTML shown under the image (e.g. every parameter ranked, when the view cut some)


def _draw(ctx: _Context, display: Any) -> Any:
    """Draw one Display from the cached analyses; raises _Skip when the view does not apply."""
    reason = display.applies(ctx.exp)
    if reason:
        raise _Skip(reason)
    result = ctx.analysis(display.result_key) if display.result_key else ctx.exp
    extras = {k: ctx.optional(k) for k in display.uses}
    return display.from_result(result, experiment=ctx.exp, **extras, **ctx.view_options(display))


# --------------------------------------------------------------------------- rendering


def _render_all(ctx: _Context, *, keep_figures: bool, dpi: int, views: Any,
                progress: Callable[[str, int, int], None] | None, panels: bool = False) -> list[_Rendered]:
    """Every selected view; ``panels``: the output shows a text panel's HTML instead of its image (no PNG)."""
    from hpviz.analysis._steps import shared

    selected = [d for d in _displays() if views is None or d.key in views]
    total = len(selected)
    workers = 1 if keep_figures else _render_workers(len(selected))
    with shared():  # the analyses that read the learning curves read them once
        if workers > 1:
            out = _render_forked(ctx, selected, dpi, panels, workers, progress)
        else:
            out = []
            for i, display in enumerate(selected):
                if progress is not None:
                    progress(display.title, i, total)
                out.append(_render_one(ctx, display, keep_figures, dpi, panels))
    for r in out:
        if r.kind == "failed":
            log.warning("hpviz report: view %r failed: %s\n%s", r.key, r.note, r.trace)
    if progress is not None:
        progress("done", total, total)
    return out


def _render_one(ctx: _Context, display: Any, keep_figures: bool, dpi: int, panels: bool = False) -> _Rendered:
    """Draw one view (PNG bytes, or the figure with ``keep_figures``); failures become notes.

    With ``panels`` a view that has an HTML text panel gets no PNG (the HTML output shows the panel).
    """
    from hpviz.plot._common import style

    r = _Rendered(display.key, display.title, display.about)
    try:
        drawn = _draw(ctx, display)
        fig = drawn.figure_
        if hasattr(drawn, "_repr_html_"):
            r.html = drawn._repr_html_()
        if keep_figures:
            r.figure = fig
        elif not (panels and r.html is not None):
            r.png = _png(fig, dpi, style)
        r.text = getattr(drawn, "code_", None)
        r.details = getattr(drawn, "details_html_", None)
        r.note = getattr(drawn, "note_", None)
    except _Skip as exc:
        r.kind, r.note = "skipped", str(exc)
    except InsufficientDataError as exc:
        r.kind, r.note = "insufficient", f"not enough data: {exc}"
    except Exception as exc:  # noqa: BLE001 - one broken view must not take the report down
        import traceback

        r.kind, r.note = "failed", f"this view failed: {type(exc).__name__}: {exc}"
        r.trace = traceback.format_exc()
    return r


def _render_workers(n_views: int) -> int:
    """Processes to compute and draw in, this one included: one per core (at most :data:`MAX_WORKERS`)
    when forking is safe, else 1.

    Forking copies only the calling thread; a lock another thread holds at
    that moment (a logging handler, an optimizer's storage) would stay locked
    in the child. So the views are drawn in forked processes only when the
    report is made from the main thread of a process with no other Python
    thread (a callback's or a background renderer's report stays serial).
    """
    import threading

    if (n_views < 2 or not hasattr(os, "fork") or threading.current_thread() is not threading.main_thread()
            or threading.active_count() > 1):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_WORKERS, cores))


#: Processes a report computes and draws in at most, its own included (the recorders' background render
#: process sets 1: everything in that one process).
MAX_WORKERS = 2


#: Garbage-collection thresholds while the forked report runs (in this process and its workers): drawing
#: allocates so many objects that the default (700, 10, 10) collected about 300 times a report, three of
#: them full collections (0.10-0.13 s of CPU at 5,000 trials x 20 parameters with 50-step logs, of ~4 s);
#: with these, a few young collections still free each view's figure, and the objects that outlive them
#: wait for the collections after the report (a few tens of MB more at the peak).
_REPORT_GC_THRESHOLDS = (10_000, 50, 1_000)

_FORKED: Any = None  # (context, displays, dpi, panels) inherited by the forked renderers
#: Analyses computed in the report's own process only: the one most others reuse (its result then
#: never travels back from a worker).
_LOCAL_ANALYSES = ("importance",)

#: Rough CPU seconds of each analysis and view at 5,000 trials x 20 parameters with 50-step logs (only their
#: order matters): whichever process is free starts the task with the longest chain of work behind it.
_ANALYSIS_COST = {"budget_importance": 0.8, "importance": 0.6, "replay": 0.3, "coverage": 0.25, "diagnosis": 0.2,
                  "local_importance": 0.2, "suggestion": 0.2, "expected_best": 0.05}
_VIEW_COST = {"tendrils": 0.5, "importance": 0.45, "parallel": 0.35, "marginals": 0.3, "curves": 0.2,
              "replay": 0.2, "progress": 0.2, "budget_importance": 0.2, "coverage": 0.15, "expected_best": 0.12,
              "local_importance": 0.1}
_OTHER_COST = 0.02


#: Analyses that read every learning curve (:func:`hpviz.analysis._steps.curves`; the pruning finding of the
#: diagnosis reads a sample only): when the report has one, the curves are read before forking.
_CURVE_READERS = frozenset({"replay", "budget_importance", "lineage"})


def _needs(display: Any) -> tuple[str, ...]:
    return tuple(k for k in (display.result_key, *display.uses) if k)


def _closure(keys: Any) -> list[str]:
    """``keys`` and the analyses they reuse (:data:`_DEPENDS`), each once, a dependency before its users."""
    out: dict[str, None] = {}

    def add(k: str) -> None:
        for d in _DEPENDS.get(k, ()):
            add(d)
        out.setdefault(k)

    for k in keys:
        add(k)
    return list(out)


#: A task of the forked report: ("analysis", key) or ("view", index into the selected displays).
_Task = tuple[str, Any]


def _plan(selected: list[Any]) -> tuple[dict[_Task, tuple[str, ...]], dict[_Task, float]]:
    """Every task with the analyses it needs, and its priority: its own cost plus the longest chain of
    tasks that wait for it (so the importance, then the importance by budget, start first)."""
    keys = _closure(k for d in selected for k in _needs(d))
    needs: dict[_Task, tuple[str, ...]] = {("analysis", k): _DEPENDS.get(k, ()) for k in keys}
    needs.update({("view", i): _needs(d) for i, d in enumerate(selected)})

    def cost(t: _Task) -> float:
        if t[0] == "analysis":
            return _ANALYSIS_COST.get(t[1], _OTHER_COST)
        return _VIEW_COST.get(selected[t[1]].key, _OTHER_COST)

    rank: dict[_Task, float] = {}

    def priority(t: _Task) -> float:
        if t not in rank:
            users = [u for u, n in needs.items() if t[0] == "analysis" and t[1] in n]
            rank[t] = cost(t) + max((priority(u) for u in users), default=0.0)
        return rank[t]

    for t in needs:
        priority(t)
    return needs, rank


def _preload() -> None:
    """Import, before forking, the analysis modules and what they import on first use (SciPy, the forest):
    once here instead of once per worker (on a cold start each worker spent about 0.7 s of CPU on it)."""
    import importlib

    import hpviz

    for name in (*sorted(set(hpviz._LAZY.values())), "sklearn.ensemble"):
        with contextlib.suppress(ImportError):  # a missing analysis module: its views say so
            importlib.import_module(name)


def _one_blas_thread() -> Any:
    """BLAS on one thread until exit (a context manager): the report keeps every core busy with processes,
    and BLAS threads would only contend with them (a matrix product then costs several times the CPU)."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1, user_api="blas")
    except Exception:  # noqa: BLE001 - threadpoolctl missing: the library default
        return contextlib.nullcontext()


def _forked_init() -> None:
    """A renderer process: one BLAS thread (inherited from the parent's limit; set again to be sure)."""
    global _BLAS_LIMIT
    _BLAS_LIMIT = _one_blas_thread()


_BLAS_LIMIT: Any = None


def _render_forked_one(index: int, results: dict[str, Any]) -> _Rendered:
    ctx, displays, dpi, panels = _FORKED
    ctx.cache.update({k: (True, v) for k, v in results.items()})
    return _render_one(ctx, displays[index], False, dpi, panels)


def _analysis_forked(key: str, results: dict[str, Any]) -> dict[str, Any]:
    """One analysis in a worker, given the results it reuses: its result if it succeeded.

    A failure is not sent back (exceptions need not pickle): the parent reruns it.
    """
    ctx = _FORKED[0]
    ctx.cache.update({k: (True, v) for k, v in results.items()})
    try:
        return {key: ctx.analysis(key)}
    except Exception:  # noqa: BLE001 - the parent reruns it and caches the exception itself
        return {}


def _render_forked(ctx: _Context, selected: list[Any], dpi: int, panels: bool, processes: int,
                   progress: Callable[[str, int, int], None] | None) -> list[_Rendered]:
    """Analyses and views on ``processes - 1`` forked workers plus this process, views returned in order.

    Every analysis and every view is a task; a task is ready once the
    analyses it needs are settled. Whichever process is free takes the ready
    task with the most work behind it (:func:`_plan`); this process takes
    tasks too, and is the only one to compute the importance
    (:data:`_LOCAL_ANALYSES`). The workers are forked once and share the
    experiment's memory (it is never pickled); a task sent to a worker
    carries only the results it needs (pickled, milliseconds). A failed
    analysis is rerun here (failures are fast: too little data, a missing
    module), so exceptions never cross processes; a result that does not
    pickle, or a worker that dies, makes this process do that task itself.
    """
    import gc
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    global _FORKED
    needs, rank = _plan(selected)
    pending = set(needs)
    local_only: set[_Task] = {("analysis", k) for k in _LOCAL_ANALYSES}
    resolved: set[str] = set()
    rendered: dict[int, _Rendered] = {}
    finished: list[int] = []  # views in the order they were drawn (for ``progress``)
    cond = threading.Condition()
    state = {"in_flight": 0, "remote": processes - 1}

    def take(remote: bool) -> _Task | None:
        ready = [t for t in pending if resolved.issuperset(needs[t]) and not (remote and t in local_only)]
        if not ready:
            return None
        t = max(ready, key=lambda t: rank[t])
        pending.discard(t)
        return t

    def settle(t: _Task, value: Any) -> None:
        """Record a task's outcome (under ``cond``); ``None``: it failed in a worker, so it is redone here."""
        if value is None:
            local_only.add(t)
            pending.add(t)
        elif t[0] == "analysis":
            ctx.cache.update({k: (True, v) for k, v in value.items()})
            resolved.add(t[1])
        else:
            rendered[t[1]] = value
            finished.append(t[1])
        cond.notify_all()

    def dispatch() -> None:
        """Give every idle worker the best ready task (under ``cond``)."""
        while state["in_flight"] < state["remote"]:
            t = take(remote=True)
            if t is None:
                return
            results = {k: ctx.cache[k][1] for k in needs[t] if ctx.cache.get(k, (False,))[0]}
            fn = _analysis_forked if t[0] == "analysis" else _render_forked_one
            try:
                future = pool.submit(fn, t[1], results)
            except Exception:  # noqa: BLE001 - a broken pool: everything left is done here
                state["remote"] = 0
                pending.add(t)
                return
            state["in_flight"] += 1
            future.add_done_callback(lambda f, t=t: returned(t, f))

    def returned(t: _Task, future: Any) -> None:
        """A worker's task is done (in the pool's thread): record it, hand that worker the next one."""
        try:
            value = future.result()
        except BaseException:  # noqa: BLE001 - unpicklable result or dead worker: redone here
            value = None
        if t[0] == "analysis" and value is not None and t[1] not in value:
            value = None  # the analysis failed: rerun here, where its exception is cached
        with cond:
            state["in_flight"] -= 1
            settle(t, value)
            dispatch()

    def run_here(t: _Task) -> Any:
        if t[0] == "analysis":
            ctx.optional(t[1])  # caches the result, or the exception for the views that need it
            return {}
        return _render_one(ctx, selected[t[1]], False, dpi, panels)

    _FORKED = (ctx, selected, dpi, panels)
    _preload()
    if _CURVE_READERS.intersection(k for t, k in needs if t == "analysis"):
        from hpviz.analysis._steps import curves

        # read once here, before forking, for every process (the workers reuse them instead of reading
        # the logs again, which would also copy the logs' memory pages into each of them); a failure is the
        # analyses' to report
        with contextlib.suppress(Exception):
            curves(ctx.exp, ctx.objective)
    # Objects alive now stay out of the workers' garbage collections: a collection touches every object
    # it tracks, which would copy the experiment's memory pages into each forked worker.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*_REPORT_GC_THRESHOLDS)  # inherited by the workers (forked below)
    reported = 0
    try:
        with _one_blas_thread(), ProcessPoolExecutor(processes - 1, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_forked_init) as pool:
            while True:
                with cond:
                    dispatch()
                    while progress is not None and reported < len(finished):
                        i = finished[reported]
                        progress(selected[i].title, reported, len(selected))
                        reported += 1
                    if len(rendered) == len(selected):
                        break
                    t = take(remote=False)
                    if t is None:
                        cond.wait()
                        continue
                value = run_here(t)
                with cond:
                    if t[0] == "analysis":
                        resolved.add(t[1])
                        cond.notify_all()
                    else:
                        settle(t, value)
    finally:
        _FORKED = None
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return [rendered[i] for i in range(len(selected))]


def _fix_titles(fig: Any) -> list[Any]:
    """Axes whose titles stay where they are set, instead of Matplotlib placing them anew on every layout
    pass and draw (returned): the same pixels, at a tenth less CPU per view.

    Matplotlib's placement measures every y tick label once per title on every layout pass and draw, to
    raise a title above what could reach into it: x tick labels or an axis label at the top, twins, child
    Axes (those Axes are left alone) and the y axis's offset text ("1e6", "+0.95"): an Axes whose y axis
    shows one keeps the placement. Whether it does is read from its formatter before the layout, and
    checked again after the draw (:func:`_offset_shown`; should the tick count chosen after the layout
    differ, the figure is drawn again with the usual placement).
    """
    fixed = []
    for ax in fig.axes:
        if getattr(ax, "_autotitlepos", None) is not True or ax.child_axes:
            continue
        twins = getattr(ax, "_twinned_axes", None)
        if twins is None or len(twins.get_siblings(ax)) > 1 or ax.xaxis.get_label_position() == "top":
            continue
        if ax.axison and (ax.xaxis.get_major_ticks(1)[0].label2.get_visible() or _offset_shown(ax, predict=True)):
            continue  # (an Axes drawn without its axes, a text panel, shows neither)
        ax._autotitlepos = False
        fixed.append(ax)
    return fixed


def _offset_shown(ax: Any, predict: bool = False) -> bool:
    """Whether the y axis shows an offset text (a title is raised above it); ``predict``: before the layout,
    from the formatter at the current tick positions (the draw computes the same)."""
    text = ax.yaxis.offsetText
    if not text.get_visible():
        return False
    if predict:
        formatter = ax.yaxis.get_major_formatter()
        formatter.set_locs(ax.yaxis.get_majorticklocs())
        return bool(formatter.get_offset())
    return bool(text.get_text())


#: A view whose RGB PNG is larger than this (bytes: a dense scatter or many lines) is palette-quantized:
#: a third of the size, no visible loss.
QUANTIZE_ABOVE = 150_000


def _png(fig: Any, dpi: int, style: Callable) -> bytes:
    """PNG bytes of a figure, drawn once; dense ones are palette-quantized (:data:`QUANTIZE_ABOVE`).

    The pixels are those of ``fig.savefig(format="png", dpi=dpi)``, without its costs: savefig with a
    layout engine draws the whole figure twice (once to lay it out, once to render), writes an alpha
    channel every view leaves opaque, and a quantized image had to be decoded again. Here the layout
    runs once, the figure is drawn once and the RGB pixels are encoded (and quantized) from memory.
    The figure is left laid out for ``dpi`` with its layout engine removed (the report discards it).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    with style():
        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)
        engine = fig.get_layout_engine()
        fixed = _fix_titles(fig)
        placed = [(ax, ax.get_position(original=True).frozen(), ax.get_position().frozen()) for ax in fig.axes]
        if engine is not None:
            engine.execute(fig)
            fig.set_layout_engine("none")
        canvas.draw()
        moved = [ax for ax in fixed if _offset_shown(ax)]
        if moved:  # rare: a "1e6" above a y axis, which a title must clear: as Matplotlib would, from the start
            for ax in moved:
                ax._autotitlepos = True
            if engine is not None:  # the layout again from where it started (it depends on the start)
                for ax, original, active in placed:
                    ax._set_position(original, which="original")
                    ax._set_position(active, which="active")
                fig.set_layout_engine(engine)
                engine.execute(fig)
                fig.set_layout_engine("none")
            canvas.draw()
        img = Image.frombuffer("RGBA", canvas.get_width_height(physical=True), canvas.buffer_rgba(), "raw",
                               "RGBA", 0, 1).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    data = out.getvalue()
    if len(data) > QUANTIZE_ABOVE:
        out = io.BytesIO()
        img.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, format="PNG", optimize=False)
        if len(out.getvalue()) < len(data):
            data = out.getvalue()
    return data


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;
font-size:.92em}th{background:#f4f4f4}
img{max-width:100%;height:auto;border:1px solid #eee}
.about{color:#555;margin:.2em 0 .6em}.note{background:#fff7e0;border-left:4px solid #e69f00;padding:.4em .8em}
.failed{background:#fdecea;border-left-color:#d55e00}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.9em}
.badge{display:inline-block;color:#fff;font-weight:bold;font-size:.8em;padding:.05em .45em;border-radius:.3em;
text-transform:uppercase;white-space:nowrap}
td{overflow-wrap:anywhere;max-width:40em}
.meta{color:#555}
.advice{color:#444;font-size:.95em}
details{margin:.4em 0}summary{cursor:pointer;color:#0072B2}
table.ranked{columns:auto;font-size:.9em}
"""


def _summary_html(exp: Experiment, objective: str) -> str:
    esc = html.escape
    counts = {k: v for k, v in exp.count_by_state().items() if v}
    state_txt = ", ".join(f"{v} {k.lower()}" for k, v in counts.items()) or "none"
    objectives = ", ".join(f"{esc(k)} ({v})" for k, v in exp.objectives.items())
    rows = [
        ("Experiment", esc(exp.name or "(unnamed)")),
        ("Framework", esc(getattr(exp, "framework", None) or exp.source or "unknown")),
        ("Objectives", objectives),
        ("Trials", f"{len(exp)} ({esc(state_txt)})"),
        ("Parameters", f"{len(exp.all_params())}" + (" (space inferred from observed values)"
                                                      if exp.space.inferred else "")),
        ("Rounds", str(len(exp.rounds))),
    ]
    best = exp.best(objective)
    if best is not None:
        rows.append(("Best trial", f"#{best.number}: {esc(objective)} = {best.values[objective]:.6g}"))
    out = ["<table>"] + [f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows] + ["</table>"]
    out += [f'<p class="note"><b>Note:</b> {esc(n)}</p>' for n in exp.notes]
    if best is not None and best.params:
        out.append("<table><tr><th>Best parameters</th><th>value</th></tr>")
        items = list(best.params.items())
        for k, v in items[:40]:
            shown = f"{v:.6g}" if isinstance(v, float) else repr(v)
            out.append(f"<tr><td>{esc(str(k))}</td><td>{esc(shown)}</td></tr>")
        if len(items) > 40:
            out.append(f"<tr><td colspan=2>… and {len(items) - 40} more</td></tr>")
        out.append("</table>")
    elif best is None:
        out.append('<p class="note">No completed trial with a finite objective value yet.</p>')
    return "\n".join(out)


def _cut_note(ctx: _Context) -> str:
    """What the report leaves out with many parameters (said at the top, so no reader misses it)."""
    n = len(ctx.exp.all_params())
    if n <= ctx.max_params:
        return ""
    imp = ctx.cache.get("importance", (False, None))[1]
    paired = list(getattr(imp, "pair_params", ()) or ()) if getattr(imp, "pairwise", None) is not None else []
    if imp is None or not hasattr(imp, "pairwise"):
        pairs = ""
    elif not len(imp.pairwise):
        pairs = " Pairwise interactions were not computed (too many parameters to test every pair)."
    else:
        k = len(paired) or min(n, PAIR_SCREEN)
        pairs = f" Pairwise interactions were screened to the {k} most important parameters."
    return (f"{n} parameters: each view draws the {ctx.max_params} most important ones in full (max_params); "
            f"the importance view ranks all {n} (full table under it).{pairs}")


def _html(exp: Experiment, objective: str, rendered: list[_Rendered], image_src: Callable[[_Rendered], str],
          title: str | None, cut: str = "") -> str:
    esc = html.escape
    head = title or f"hpviz report: {exp.name or 'experiment'}"
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from hpviz import __version__

    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(head)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(head)}</h1>",
        f'<p class="meta">Generated by hpviz {esc(__version__)} on {now}. Objective analysed: '
        f"<b>{esc(objective)}</b> ({esc(exp.objectives[objective])}).</p>",
        _summary_html(exp, objective),
    ]
    if cut:
        parts.append(f'<p class="note">{esc(cut)}</p>')
    skipped = [r for r in rendered if r.kind == "skipped"]
    for r in rendered:
        if r.kind == "skipped":
            continue
        parts.append(f'<section id="{esc(r.key)}"><h2>{esc(r.title)}</h2><p class="about">{esc(r.about)}</p>')
        if r.html is not None:
            parts.append(f'<div class="panel">{r.html}</div>')  # built from escaped text by the Display
        elif r.png is not None:
            parts.append(f'<img src="{image_src(r)}" alt="{esc(r.title)}">')
        if r.details:
            parts.append(r.details)  # built from escaped text by the Display
        if r.note:
            cls = "note failed" if r.kind == "failed" else "note"
            parts.append(f'<p class="{cls}">{esc(r.note)}</p>')
        parts.append("</section>")
    if skipped:
        parts.append("<h2>Views not shown</h2><ul>")
        parts += [f"<li><b>{esc(r.title)}</b>: {esc(r.note or '')}</li>" for r in skipped]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _b64(r: _Rendered) -> str:
    return "data:image/png;base64," + base64.b64encode(r.png or b"").decode("ascii")


def _write_html(ctx: _Context, path: Path, rendered: list[_Rendered], title: str | None) -> None:
    from hpviz.io import atomic_write

    atomic_write(path, _html(ctx.exp, ctx.objective, rendered, _b64, title, _cut_note(ctx)))


def _write_pdf(ctx: _Context, path: Path, rendered: list[_Rendered], title: str | None) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    from hpviz.io import atomic_write
    from hpviz.plot._common import new_figure, style

    buf = io.BytesIO()
    with style(), PdfPages(buf, metadata={"Title": title or f"hpviz report: {ctx.exp.name or 'experiment'}",
                                          "Creator": "hpviz"}) as pdf:
        pdf.savefig(_cover(ctx, rendered, title, new_figure))
        for r in rendered:
            if r.figure is not None:
                pdf.savefig(r.figure)
    atomic_write(path, buf.getvalue())


def _cover(ctx: _Context, rendered: list[_Rendered], title: str | None, new_figure: Callable) -> Any:
    """First PDF page: the summary header and the notes of views not drawn."""
    from hpviz.plot._common import MONOSPACE, short

    exp = ctx.exp
    fig = new_figure(8.27, 11.69)
    ax = fig.add_subplot()
    ax.set_axis_off()
    counts = ", ".join(f"{v} {k.lower()}" for k, v in exp.count_by_state().items() if v) or "none"
    lines = [f"Framework: {getattr(exp, 'framework', None) or exp.source or 'unknown'}",
             f"Objectives: {', '.join(f'{k} ({v})' for k, v in exp.objectives.items())}",
             f"Trials: {len(exp)} ({counts})", f"Rounds: {len(exp.rounds)}"]
    lines += [f"Note: {n}" for n in exp.notes]
    best = exp.best(ctx.objective)
    if best is not None:
        lines.append(f"Best trial #{best.number}: {ctx.objective} = {best.values[ctx.objective]:.6g}")
        for k, v in list(best.params.items())[:25]:
            k = short(k, 60)  # the full name is in the HTML report
            lines.append(f"    {k} = {v:.6g}" if isinstance(v, float) else f"    {k} = {v!r}")
    notes = [r for r in rendered if r.note]
    if notes:
        lines += ["", "Notes:"] + [f"  {r.title}: {r.note}" for r in notes]
    code = [r for r in rendered if r.text]
    for r in code:
        lines += ["", f"{r.title} (code):"] + ["  " + c for c in r.text.splitlines()]
    import textwrap

    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, 95, subsequent_indent="      ") or [""]
    fig.text(0.07, 0.95, title or f"hpviz report: {exp.name or 'experiment'}", fontsize=16, fontweight="bold",
             va="top", ha="left")
    fig.text(0.07, 0.925, f"generated {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; one view per page",
             fontsize=9, color="0.4", va="top", ha="left")
    ax.text(0.07, 0.88, "\n".join(wrapped[:75]), va="top", ha="left", family=MONOSPACE, fontsize=8.5,
            linespacing=1.4, transform=fig.transFigure)
    return fig


def _index_html(ctx: _Context, rendered: list[_Rendered], title: str | None) -> str:
    return _html(ctx.exp, ctx.objective, rendered, lambda r: f"{r.key}.png", title, _cut_note(ctx))


def _write_dir(ctx: _Context, path: Path, rendered: list[_Rendered], title: str | None) -> None:
    """One PNG per view plus index.html, by the folder rule of :mod:`hpviz._output`."""
    from hpviz._output import check_output_path, write_report_folder

    files = {f"{r.key}.png": r.png for r in rendered if r.png is not None}
    files["index.html"] = _index_html(ctx, rendered, title).encode("utf-8")
    write_report_folder(check_output_path(path, kinds=("dir",)), files)


#: The report's own keyword options (conversion options are checked by the converter); also
#: The report's own options, also ``hpviz.report.OPTIONS``: for callbacks that check their ``report_options`` at construction.
OPTIONS = ("objective", "progress", "max_params", "top_k", "seed", "views", "title", "dpi", "max_points",
           "n_trees")


def report(obj: Any, path: str | os.PathLike = "hpviz-report.html", *, objective: str | None = None,
           progress: Callable[[str, int, int], None] | None = None, max_params: int = 12, top_k: int = 10,
           seed: int = 0, views: Any = None, title: str | None = None, dpi: int = 100,
           max_points: int = 2000, n_trees: int = 16, **options: Any) -> Path:
    """Write the hpviz report for a tuning run.

    Parameters
    ----------
    obj:
        An Experiment or anything :func:`hpviz.experiment` accepts (a study, result grid, saved file...).
        A list of them (one per tuned model) writes the multi-model report: a comparison page
        (:func:`hpviz.compare_models`: verdict, each best with its interval, expected best at equal
        budgets by trials, seconds and steps (``axes=[...]`` to choose), the cross-model Pareto front
        with ``metrics={name: "min"|"max", ...}``; model names with ``names=[...]``) and one full report
        per model next to it, linked (HTML only); ``reports=[path or None, ...]`` links existing reports
        instead of writing them.
    path:
        ``.html`` (one self-contained file, images inline), ``.pdf`` (one page per view) or a
        directory (no suffix, or an existing directory: one PNG per view plus ``index.html``).
    objective:
        Objective to analyse (default: the primary one).
    progress:
        ``callable(label, done, total)`` called as views are drawn (the CLI's progress bar).
    max_params:
        Cap on parameters per view (the views say when they leave some out).
    top_k:
        How many of the best trials the views highlight.
    seed:
        Seed of the analyses and of the point sampling in large experiments.
    dpi, max_points:
        Image resolution; points drawn at most per scatter view (the rest sampled, and said so).
    n_trees:
        Trees of the fANOVA forest. 16 (the reference fANOVA implementation's default) keeps the
        report fast; ``hpviz.importance`` itself defaults to 64. More trees: steadier error bars.
    views:
        Keys of the views to include (default: all that apply); see :data:`VIEWS`.
    options:
        Passed to :func:`hpviz.experiment` when ``obj`` needs converting (e.g. ``space=``,
        ``metric=``). With an Experiment or a saved ``.json`` file nothing is converted, so any
        other keyword is a ``TypeError`` listing the report's own options.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from hpviz._output import check_output_path
    from hpviz.convert import experiment

    if isinstance(obj, (list, tuple)):  # several models: the comparison page and one report per model
        from hpviz._models_report import models_report

        multi = ("names", "metrics", "axes", "reports")
        extra = {k: options.pop(k) for k in multi if k in options}
        if options:
            from hpviz.plot._display import check_options

            check_options("hpviz.report (several models)", options, (*OPTIONS, *multi))
        return models_report(obj, check_output_path(path).path, objective=objective, seed=seed, title=title, dpi=dpi,
                             max_params=max_params, top_k=top_k, views=views, max_points=max_points,
                             n_trees=n_trees, **extra)
    if options and (isinstance(obj, Experiment) or str(obj).lower().endswith(".json")):
        from hpviz._validate import check_options

        check_options("hpviz.report", options, OPTIONS)
    target = check_output_path(path)  # before any work (docs/report.md, "Output paths")
    path, fmt = target.path, target.kind
    exp = experiment(obj, **options)
    objective = exp.objective(objective)
    if isinstance(views, str):
        views = [views]
    if views is not None:
        known = [v.key for v in _views()]
        unknown = set(views) - set(known)
        if unknown:
            raise SchemaError(f"report views: unknown {sorted(unknown)}; known: {known}")
    for name, value in (("max_params", max_params), ("top_k", top_k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SchemaError(f"report {name} must be a positive integer, got {value!r}")
    ctx = _Context(exp, objective, top_k=top_k, max_params=max_params, seed=seed, max_points=max_points,
                   n_trees=n_trees)
    rendered = _render_all(ctx, keep_figures=fmt == "pdf", dpi=dpi, views=views, progress=progress,
                           panels=fmt == "html")
    if fmt == "html":
        _write_html(ctx, path, rendered, title)
    elif fmt == "pdf":
        _write_pdf(ctx, path, rendered, title)
    else:
        _write_dir(ctx, path, rendered, title)
    return path


report.OPTIONS = OPTIONS  # type: ignore[attr-defined]  # reachable as ``hpviz.report.OPTIONS``

