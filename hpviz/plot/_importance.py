"""Importance view: fANOVA individual fractions with error bars, the unexplained rest, pairwise heat map."""

from __future__ import annotations

import textwrap
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from hpviz._numbers import pct
from hpviz.plot._common import COLORS, message, new_figure, note, plain_log_labels, short
from hpviz.plot._display import Display

__all__ = ["ImportanceDisplay", "ImportanceBars", "importance_bars", "importance", "unexplained_share", "binned_marker"]


def pairwise_share(imp: Any) -> float:
    """Variance share of all pairwise interactions together."""
    return float(np.clip(imp.pairwise.sum(), 0, 1)) if len(imp.pairwise) else 0.0


def unexplained_share(imp: Any) -> float:
    """Variance share no individual effect or pair explains (higher order, noise): one definition."""
    given = getattr(imp, "unexplained", None)
    if given is not None:
        return float(given)
    return float(max(0.0, 1.0 - float(imp.individual.sum()) - pairwise_share(imp)))


class ImportanceBars(NamedTuple):
    """The bars of the importance view, top to bottom (pure data; tested without pixels)."""

    labels: list[str]
    values: list[float]  # fractions of variance
    errors: list[float]  # across-tree std (0 for the summary bars)
    kinds: list[str]  # "param", "others", "pairs" or "unexplained"


def importance_bars(imp: Any, max_params: int = 15) -> ImportanceBars:
    """Individual fractions of the ``max_params`` most important parameters, then the summed rest,
    all pairwise interactions together, and the unexplained share (higher order, noise)."""
    ind = imp.individual.sort_values(ascending=False)
    std = imp.individual_std.reindex(ind.index).fillna(0.0)
    shown = ind.iloc[:max_params]
    labels = [short(n, 24) for n in shown.index]
    values = [float(v) for v in shown.to_numpy(dtype=float)]
    errors = [float(e) for e in std.iloc[:max_params].to_numpy(dtype=float)]
    kinds = ["param"] * len(values)
    hidden = float(ind.iloc[max_params:].sum())
    if hidden > 0:
        labels.append(f"{len(ind) - max_params} other params")
        values.append(hidden)
        errors.append(0.0)
        kinds.append("others")
    if len(imp.pairwise):
        labels.append("all pairwise interactions")
        values.append(pairwise_share(imp))
        errors.append(0.0)
        kinds.append("pairs")
    labels.append("unexplained (higher order, noise)")
    values.append(unexplained_share(imp))
    errors.append(0.0)
    kinds.append("unexplained")
    return ImportanceBars(labels, values, errors, kinds)


def binned_marker(imp: Any) -> tuple[bool, str]:
    """Whether the bars show the binned estimate beside each forest share, and the line that says so or why not.

    The binned estimate assumes trials placed as random search places them; it is shown only when the
    placement test does not reject that (``Importance.placement_p`` at least ``PLACEMENT_ALPHA``). A sampler
    that concentrated its trials (model-based search) biases it, so it is hidden and the line says why.
    """
    from hpviz.analysis.importance import PLACEMENT_ALPHA

    if getattr(imp, "individual_binned", None) is None:
        return False, ""
    p = getattr(imp, "placement_p", None)
    if p is None:
        return False, "binned estimate not shown: the trials' placement was not tested"
    if p < PLACEMENT_ALPHA:
        return False, (f"binned estimate not shown: it assumes random placement, and the sampler concentrated\n"
                       f"the trials (placement vs random search: p = {p:.2g} < {PLACEMENT_ALPHA:g})")
    return True, "\u25c6 binned estimate: less biased when trials spread over the space (random search)"


_BAR_COLORS = {"param": COLORS["complete"], "others": "#8fb3d1", "pairs": "#CC79A7", "unexplained": "#cfcfcf"}


def _bars(ax: Axes, imp: Any, max_params: int) -> Any:
    info = importance_bars(imp, max_params)
    labels, vals, errs = info.labels, info.values, info.errors
    colors = [_BAR_COLORS[k] for k in info.kinds]
    y = np.arange(len(vals))
    bars = ax.barh(y, vals, xerr=errs, color=colors, height=0.7, error_kw=dict(ecolor="0.25", lw=0.9, capsize=2.5))
    for yi, v, e in zip(y, vals, errs):
        # right of the error bar, on a white patch so grid lines do not cross the digits
        ax.text(v + e + 0.012, yi, f"{100 * v:.1f}%", va="center", ha="left", fontsize=7.5, color="0.2",
                bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none"))
    show, why = binned_marker(imp)
    if show:  # the less biased estimate beside each forest share (docs/importance.md, bias)
        shown = imp.individual.sort_values(ascending=False).index[:max_params]
        ax.scatter(imp.individual_binned.reindex(shown).fillna(0.0).to_numpy(dtype=float), y[:len(shown)],
                   marker="D", s=16, color="#D55E00", zorder=3, label="binned estimate")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    reach = max([v + e for v, e in zip(vals, errs)] + [0.05])
    ax.set_xlim(0, min(1.2, reach * 1.1 + 0.1))  # room for the % labels
    ax.set_xlabel("fraction of variance explained" + (f"\n{why}" if why else ""))
    ax.set_ylabel("hyperparameter")
    ax.set_title("Individual importance (fANOVA; bars: across-tree std)", loc="left")
    ax.grid(False, axis="y")
    return bars


def _heat(ax: Axes, imp: Any, fig: Figure, max_params: int) -> None:
    pw = imp.pairwise
    total = len({n for pair in pw.index for n in pair})
    ax.set_xlabel("hyperparameter")
    ax.set_ylabel("hyperparameter")
    if not len(pw):
        message(ax, "pairwise interactions not computed\n(or fewer than two parameters)")
        return
    # the parameters taking part in the strongest pairs, by first appearance
    names: list[str] = []
    for a, b in pw.sort_values(ascending=False).index:
        for n in (a, b):
            if n not in names:
                names.append(n)
        if len(names) >= max_params:
            break
    names = names[:max_params]
    k = len(names)
    pos = {n: i for i, n in enumerate(names)}
    mat = np.full((k, k), np.nan)
    for (a, b), v in pw.items():
        if a in pos and b in pos:
            mat[pos[a], pos[b]] = mat[pos[b], pos[a]] = v
    mat = 100 * mat  # in percent
    vmax = float(np.nanmax(mat)) if np.isfinite(mat).any() else 1.0
    # aspect auto: with few parameters an equal-aspect map is a small square beside a wide gap
    im = ax.imshow(mat, cmap="Purples", vmin=0, vmax=max(vmax, 1e-9), aspect="auto")
    if k <= 10:
        digits = 1 if vmax >= 1 else 2
        for i in range(k):
            for j in range(k):
                v = mat[i, j]
                if np.isfinite(v) and round(v, digits) > 0:  # blank cells read faster than 0.00
                    ax.text(j, i, f"{v:.{digits}f}", ha="center", va="center", fontsize=7,
                            color="white" if v > 0.6 * vmax else "0.15")
    from hpviz.analysis._importance_stats import PAIR_ALPHA  # lazy: scipy

    pvals = getattr(imp, "pairwise_p", None)
    if pvals is not None:
        cells = [Rectangle((j - 0.5, i - 0.5), 1, 1) for (a, b), p in pvals.items()
                 if a in pos and b in pos and not p <= PAIR_ALPHA  # not significant: hatched
                 for i, j in ((pos[a], pos[b]), (pos[b], pos[a]))]
        if cells:  # one collection: the pixels of one hatched patch per cell, without an artist each
            ax.add_collection(PatchCollection(cells, facecolors="none", edgecolors="0.55", linewidths=0,
                                              hatch="///"), autolim=False)
    labels = [short(n, 18) for n in names]
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="% of variance (pair interaction)", shrink=0.85)
    ax.set_title("Strongest pairwise interactions" + (f" ({k} of {total} params)" if k < total else "")
                 + "\n" + heat_note(imp), loc="left", fontsize=8)


def heat_note(imp: Any) -> str:
    """One line under the heat map's title: what the hatching means, or that the pairs were not tested."""
    from hpviz.analysis._importance_stats import PAIR_TEST_NOTE  # lazy: scipy

    if getattr(imp, "pairwise_p", None) is None:
        return "significance not tested (pair_test=0):\na pair of a few % can be noise"
    return "\n".join(textwrap.wrap(f"hatched: not significant at {PAIR_TEST_NOTE}", 58))


def ranked_rest(imp: Any, max_params: int, listed: int = 16) -> tuple[np.ndarray, list[tuple[int, str, float]]]:
    """Every parameter's share by rank (for the strip), and the ranks just below the ``max_params`` shown:
    ``(rank, name, share)`` for the next ``listed`` (pure data)."""
    ind = imp.individual.sort_values(ascending=False)
    shares = ind.to_numpy(dtype=float)
    nxt = [(max_params + i + 1, str(n), float(v)) for i, (n, v) in enumerate(ind.iloc[max_params:max_params + listed].items())]
    return shares, nxt


def _strip(fig: Figure, grid: Any, imp: Any, max_params: int) -> Axes:
    """All parameters ranked as one thin bar strip (the top ``max_params`` shaded: drawn in full above),
    and the next ranks listed by name in columns; no label overlaps whatever the number of parameters."""
    shares, nxt = ranked_rest(imp, max_params)
    n = shares.size
    ax = fig.add_subplot(grid[0])
    ranks = np.arange(1, n + 1)
    percent = 100 * np.clip(shares, 0.0, None)
    top = float(percent.max()) if percent.size else 0.0
    floor = top / 1e4 if top > 0 else 1e-6  # four decades: a share below it reads as "none"
    ax.bar(ranks, np.maximum(percent, floor), width=1.0, bottom=0 if top <= 0 else None, lw=0,
           color=np.where(ranks <= max_params, COLORS["complete"], "#8fb3d1"))
    ax.axvspan(0.5, max_params + 0.5, color="#e8f0f8", zorder=0, lw=0)
    ax.set_xlim(0.5, n + 0.5)
    if top > 0:
        ax.set_yscale("log")
        ax.set_ylim(floor, top * 1.5)
        plain_log_labels(ax, "y")
    ax.set_xlabel(f"rank of all {n} parameters (the first {max_params} drawn in full above)")
    ax.set_ylabel("% of variance (log)")
    ax.set_title(f"All {n} parameters ranked; ranks {max_params + 1}-{n} explain "
                 f"{pct(float(shares[max_params:].sum()))} together", loc="left", fontsize=9)
    ax.grid(False, axis="x")
    if nxt:
        tax = fig.add_subplot(grid[1])
        tax.set_axis_off()
        cols = 4
        rows = int(np.ceil(len(nxt) / cols))
        for i, (rank, name, v) in enumerate(nxt):
            c, r = divmod(i, rows)
            tax.text(c / cols, 1 - (r + 0.5) / max(rows, 1), f"{rank}. {short(name, 26)}  {pct(v)}",
                     transform=tax.transAxes, fontsize=7.5, va="center", ha="left", color="0.2")
        more = n - max_params - len(nxt)
        tax.set_title("next ranks" + (f" ({more} more in the HTML report's table)" if more > 0 else ""),
                      loc="left", fontsize=8, color="0.35", fontweight="normal")
    return ax


def ranked_table_html(imp: Any, max_params: int) -> str:
    """Every parameter with its share, ranked, as a compact HTML table (the report shows it under the view)."""
    import html as _html

    ind = imp.individual.sort_values(ascending=False)
    std = imp.individual_std.reindex(ind.index).fillna(0.0)
    rows = "".join(f"<tr><td>{i + 1}</td><td>{_html.escape(str(n))}</td><td>{pct(float(v))}</td>"
                   f"<td>± {pct(float(std[n]))}</td></tr>" for i, (n, v) in enumerate(ind.items()))
    return (f"<details><summary>All {len(ind)} parameters ranked by importance (the view draws the first "
            f"{max_params})</summary><table class=\"ranked\"><tr><th>rank</th><th>parameter</th><th>share</th>"
            f"<th>across trees</th></tr>{rows}</table></details>")


class ImportanceDisplay(Display):
    """fANOVA importance: individual bars with error, the unexplained rest, and the pairwise heat map.

    The result is an :class:`hpviz.Importance`. Without ``ax``: bars and heat map (``ax_`` an array of
    both, or the bars alone without pairs); with ``ax``: the bars only. ``bars_``: the bar container
    (individual fractions first, in the order drawn). At most ``max_params`` bars; the rest summed.
    """

    key = "importance"
    title = "Importance"
    about = "fANOVA: the share of the objective's variance each hyperparameter (and pair) explains."
    result_key = "importance"
    result_attrs = ("individual", "pairwise")
    compute_options = ("n_trees", "seed")
    options = {"max_params": 15, "pairs": True}

    @classmethod
    def _compute(cls, experiment: Any, objective: str | None = None, **kwargs: Any) -> Any:
        from hpviz import importance as compute

        return compute(experiment, objective=objective, **kwargs)

    def _draw(self, ax: Axes | None) -> Axes | Figure:
        imp = self.result
        max_params = max(1, int(self.options["max_params"]))
        if ax is not None:
            self.bars_ = _bars(ax, imp, max_params)
            return ax
        n_bars = min(len(imp.individual), max_params) + 3
        show_heat = self.options["pairs"] and len(imp.pairwise) > 0
        cut = len(imp.individual) > max_params
        height = max(4.2 if show_heat else 3.2, 0.8 + 0.3 * n_bars)
        fig = new_figure(12 if show_heat or cut else 8, height + (3.2 if cut else 0.0))
        grid = fig.add_gridspec(3 if cut else 1, 2 if show_heat else 1, height_ratios=[height, 1.9, 1.1] if cut else None,
                                width_ratios=[1.15, 1] if show_heat else None)
        self.bars_ = _bars(fig.add_subplot(grid[0, 0]), imp, max_params)
        if show_heat:
            heat = fig.add_subplot(grid[0, 1])
            _heat(heat, imp, fig, min(max_params, 10))
            screened = getattr(imp, "pair_params", ())
            if screened and len(screened) < len(imp.individual):
                note(heat, f"pairs among the top {len(screened)} parameters only")
        self.strip_ = _strip(fig, (grid[1, :], grid[2, :]), imp, max_params) if cut else None
        self.details_html_ = ranked_table_html(imp, max_params) if cut else None
        fig.suptitle(f"Importance of each hyperparameter for {short(imp.objective, 40)} "
                     f"({imp.n_used} trials, {imp.n_trees} trees)")
        return fig


def importance(obj: Any, ax: Axes | None = None, **options: Any) -> ImportanceDisplay:
    """One call: :class:`ImportanceDisplay` of an :class:`hpviz.Importance`, or of anything
    :func:`hpviz.importance` accepts (computed with ``objective``, ``n_trees``, ``seed``)."""
    return ImportanceDisplay.shortcut(obj, ax, **options)
