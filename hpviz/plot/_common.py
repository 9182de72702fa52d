"""Shared drawing helpers: style, figures, parameter axes, downsampling.

Trial columns, running best and number formatting are the shared ones of
:mod:`hpviz._columns` and :mod:`hpviz._numbers`. Everything here works on an :class:`hpviz.Experiment`; nothing changes global
Matplotlib state (styles are applied with ``matplotlib.rc_context``, figures
are built with :class:`matplotlib.figure.Figure`, never with pyplot).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, Normalize
from matplotlib.figure import Figure

from hpviz._numbers import MISSING, fmt_tick, numeric_column
from hpviz._severity import SEVERITY_COLORS  # noqa: F401 - re-exported for the views
from hpviz.schema import Categorical, Experiment, Param

#: House style, applied inside ``rc_context`` only.
STYLE: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.titlesize": 11,
    "figure.titleweight": "bold",
    # user names are text, never mathtext: ``lr_$x$``, ``a$b`` and ``\\frac{`` show as typed
    "text.parse_math": False,
}

#: Colours by trial state (colour-blind friendly Okabe-Ito picks).
COLORS = {
    "complete": "#0072B2",
    "pruned": "#E69F00",
    "fail": "#D55E00",
    "best": "#000000",
    "highlight": "#D55E00",
    "muted": "#9a9a9a",
    "infeasible": "#7f7f7f",
}
#: Colours for series in a sequence (rounds, compared runs): the Okabe-Ito palette, colour-blind safe.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

DEFAULT_MAX_POINTS = 2000

#: Monospace text with a fallback for scripts the monospace font lacks (Hebrew, Arabic, ... in user names);
#: both fonts ship with Matplotlib.
MONOSPACE = ["DejaVu Sans Mono", "DejaVu Sans"]


#: rc keys a style never resets (Matplotlib's own style blacklist: session and backend settings), and fonts
_SESSION_KEYS = ("backend", "interactive", "toolbar", "timezone", "date.epoch", "figure.max_open_warning",
                 "figure.raise_window", "savefig.directory", "tk.", "webagg.", "docstring.", "font.")


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The hpviz style, for the duration of a ``with`` block only.

    Built on Matplotlib's defaults, not on the session's settings: a global style set earlier
    (Optuna's Matplotlib plots set ggplot's grey panels, say) does not leak into the views. The
    user's ``font.*`` settings are kept: they pick the fonts that can draw the parameter names.
    A character no installed font has (an emoji in a parameter name) is drawn as a box; the
    per-glyph warning Matplotlib would print for it is silenced here, once per character and draw.
    """
    base = {k: v for k, v in matplotlib.rcParamsDefault.items() if not k.startswith(_SESSION_KEYS)}
    # keys first: reading rcParams["backend"] would resolve the backend and import pyplot
    fonts = {k: matplotlib.rcParams[k] for k in list(matplotlib.rcParams.keys()) if k.startswith("font.")}
    with matplotlib.rc_context({**base, **fonts, **STYLE}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        yield


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free figure with constrained layout (so labels never overlap)."""
    return Figure(figsize=(width, height), layout="constrained")


def axes_or_new(ax: Axes | None, width: float = 8.0, height: float = 4.0) -> Axes:
    if ax is not None:
        return ax
    return new_figure(width, height).add_subplot()


def as_experiment(obj: Any) -> Experiment:
    from hpviz.convert import experiment

    return experiment(obj)


def one_line(text: Any) -> str:
    """User text on one line: newlines, tabs and other control characters become spaces."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else " " for c in text)


def short(text: Any, width: int = 18) -> str:
    """At most ``width`` characters on one line; dotted/slashed names (``optimizer.learning_rate``,
    ``train_loop_config/lr``) keep their head and tail, which is where such names differ."""
    text = one_line(text)
    if len(text) <= width:
        return text
    if width >= 8 and any(sep in text for sep in "./:"):
        head = (width - 1) * 2 // 5
        return text[:head] + "…" + text[len(text) - (width - 1 - head):]
    return text[: width - 1] + "…"


def footnote(fig: Figure, text: str) -> None:
    """A grey remark under all panels of a figure (inside the constrained layout)."""
    if text:
        fig.supxlabel(text, fontsize=8, color="0.35", fontweight="normal")


def note(ax: Axes, text: str) -> None:
    """A small grey remark at the top right of the Axes (sampling, caps, what cannot be shown)."""
    ax.set_title(text, loc="right", fontsize=7.5, color="0.35", fontweight="normal")


def message(ax: Axes, text: str, clear: bool = True) -> None:
    """Centered text on an Axes with nothing (or little) to draw."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3")
    if clear:
        ax.set_xticks([])
        ax.set_yticks([])


def score_norm(values: np.ndarray, direction: str) -> tuple[Normalize, Any]:
    """Colour scale by deciles of the objective (robust to skew and outliers), best end dark.

    Objective values are usually skewed (a few terrible trials); a linear
    scale would paint nearly every point the same colour.
    """
    finite = values[np.isfinite(values)]
    cmap = matplotlib.colormaps["viridis" if direction == "min" else "viridis_r"]
    if finite.size >= 20:
        bounds = np.unique(np.percentile(finite, np.linspace(0, 100, 11)))
        if bounds.size >= 4:
            return BoundaryNorm(bounds, cmap.N, clip=True), cmap
    if finite.size == 0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
    return Normalize(vmin=lo, vmax=hi, clip=True), cmap


def score_colorbar(fig: Any, norm: Normalize, cmap: Any, ax: Any, label: str, **kwargs: Any) -> Any:
    """Colorbar for :func:`score_norm` (decile boundaries labelled with their values)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.ticker import FuncFormatter

    cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, **kwargs)
    if isinstance(norm, BoundaryNorm):
        cb.set_ticks(norm.boundaries)
        label += " — deciles"
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
    cb.set_label(label)
    cb.ax.tick_params(labelsize=7)
    return cb


def robust_ylim(ax: Axes, values: np.ndarray, direction: str) -> int:
    """Keep extreme bad values from flattening the plot; returns how many points were cut off."""
    finite = values[np.isfinite(values)]
    if finite.size < 10:
        return 0
    q05, q50, q95 = np.percentile(finite, [5, 50, 95])
    spread = max(q95 - q05, 1e-12)
    if direction == "min":
        hi = q95 + 0.5 * spread
        if finite.max() > q50 + 6 * spread:
            lo = finite.min() - 0.05 * (hi - finite.min())
            ax.set_ylim(lo, hi)
            return int((finite > hi).sum())
    else:
        lo = q05 - 0.5 * spread
        if finite.min() < q50 - 6 * spread:
            hi = finite.max() + 0.05 * (finite.max() - lo)
            ax.set_ylim(lo, hi)
            return int((finite < lo).sum())
    return 0


# --------------------------------------------------------------------------- parameters


def param_column(trials: Sequence, name: str, param: Param | None) -> np.ndarray:
    """Values of one parameter as floats: numbers as is, categoricals as choice index; NaN if inactive/unknown."""
    out = np.full(len(trials), np.nan)
    if isinstance(param, Categorical):
        for i, t in enumerate(trials):
            if name in t.params:
                idx = param.index(t.params[name])
                if idx >= 0:
                    out[i] = idx
        return out
    out = numeric_column([t.params.get(name, MISSING) for t in trials])
    if param is not None and param.log:
        out[out <= 0] = np.nan
    return out


def setup_param_axis(ax: Axes, param: Param | None, axis: str = "y", max_labels: int = 12) -> None:
    """Search scale on one axis: log for log params, spaced levels for categoricals."""
    if isinstance(param, Categorical):
        n = len(param.choices)
        step = max(1, math.ceil(n / max_labels))
        ticks = list(range(0, n, step))
        labels = [short(param.choices[i], 14) for i in ticks]
        if axis == "y":
            ax.set_yticks(ticks, labels)
            ax.set_ylim(-0.6, n - 0.4)
            ax.grid(False, axis="y")
        else:
            ax.set_xticks(ticks, labels)
            ax.set_xlim(-0.6, n - 0.4)
            ax.grid(False, axis="x")
    elif param is not None and param.log:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        plain_log_labels(ax, axis)


def jitter(values: np.ndarray, param: Param | None, rng: np.random.Generator, width: float = 0.18) -> np.ndarray:
    """Spread categorical levels a little so stacked points stay visible."""
    if isinstance(param, Categorical):
        return values + rng.uniform(-width, width, size=values.shape)
    return values


def declared_param(exp: Experiment, name: str) -> Param | None:
    """The parameter as declared over every round: the union of ranges/choices (latest log flag).

    ``Experiment.all_params`` keeps the latest round's definition; after a shrinking round the earlier
    trials fall outside it, and the axis ends would show data extremes (0.0989) instead of declared bounds.
    """
    found = [rnd.space[name] for rnd in exp.rounds if name in rnd.space]
    if not found:
        return None
    last = found[-1]
    try:
        if isinstance(last, Categorical):
            choices: list[Any] = []
            for p in found:
                if isinstance(p, Categorical):
                    choices += [c for c in p.choices if c not in choices]
            return last if len(choices) == len(last.choices) else Categorical(choices)
        same = [p for p in found if type(p) is type(last) and p.log == last.log]
        low, high = min(p.low for p in same), max(p.high for p in same)
        return last if (low, high) == (last.low, last.high) else dataclasses.replace(last, low=low, high=high)
    except Exception:  # an exotic definition: the latest one is still a valid axis
        return last


def to_unit(values: np.ndarray, param: Param | None,
            bounds: tuple[float, float] | None = None) -> np.ndarray:
    """Map parameter values to [0, 1] on their search scale (categoricals as evenly spaced levels).

    ``bounds`` (on the search scale) fixes the range, so that a sample of trials maps like the whole set.
    """
    if isinstance(param, Categorical):
        n = len(param.choices)
        return values / (n - 1) if n > 1 else np.where(np.isfinite(values), 0.5, np.nan)
    if bounds is not None:
        lo, hi = bounds
        if param is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                values = param.to_search_scale(values)
    elif param is None:
        finite = values[np.isfinite(values)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = param.to_search_scale(values)
        lo, hi = param.search_bounds
        finite = values[np.isfinite(values)]
        if finite.size:  # values outside the declared space still get drawn
            lo, hi = min(lo, finite.min()), max(hi, finite.max())
    span = hi - lo if hi > lo else 1.0
    return (values - lo) / span


def ordered_params(exp: Experiment, importance: Any = None) -> tuple[list[str], bool]:
    """Parameter names, most important first when an Importance result is given."""
    names = list(exp.all_params())
    if importance is not None:
        try:
            ranked = [str(n) for n in importance.individual.index if n in names]
            return ranked + [n for n in names if n not in ranked], True
        except AttributeError:
            pass
    return names, False


def effective_k(k: int, n_complete: int) -> int:
    """How many trials to highlight: at most a third of the completed ones, so the highlight stands out."""
    return int(min(k, max(1, n_complete // 3))) if n_complete else 0


def integer_ticks(ax: Axes, axis: str = "x") -> None:
    from matplotlib.ticker import MaxNLocator

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(nbins=6, integer=True, min_n_ticks=1))


def plain_log_labels(ax: Axes, axis: str = "y", subs: tuple[float, ...] = (1.0,)) -> None:
    """Log axis labelled 0.001, 0.01, 8, 64 ... instead of 10^-3 or 6x10^1."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(subs=subs, numticks=12 if len(subs) > 1 else 6))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tick(v)))
    target.set_minor_locator(NullLocator())  # minor log ticks cost most of the drawing time and add nothing here


def cap_note(shown: int, total: int, what: str = "parameters", how: str = "") -> str:
    if shown >= total:
        return ""
    return f"showing {shown} of {total} {what}" + (f" ({how})" if how else "")


def sample_indices(n: int, max_n: int, keep: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_n`` of ``n`` items: everything in ``keep`` plus a uniform sample."""
    if n <= max_n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep = np.unique(keep) if keep is not None and len(keep) else np.array([], dtype=int)
    rest = np.setdiff1d(np.arange(n), keep, assume_unique=True)
    extra = rng.choice(rest, size=max(0, max_n - keep.size), replace=False)
    return np.sort(np.concatenate([keep, extra]).astype(int))


def shade_rounds(ax: Axes, x: np.ndarray, rnd: np.ndarray) -> None:
    """Alternate light bands for steering rounds, labelled at the top."""
    rounds = np.unique(rnd[np.isfinite(rnd) & np.isfinite(x)])
    if rounds.size < 2:
        return
    import matplotlib.transforms as mtransforms

    trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    for i, r in enumerate(rounds):
        xs = x[(rnd == r) & np.isfinite(x)]
        lo, hi = xs.min(), xs.max()
        if i % 2 == 1:
            ax.axvspan(lo - 0.5, hi + 0.5, color="#e8f0f8", zorder=0, lw=0)
        ax.text((lo + hi) / 2, 0.98, f"round {int(r) + 1}", transform=trans, ha="center", va="top",
                fontsize=7.5, color="0.35")
