"""Search-space suggestions and round-over-round comparison (the steering loop).

:func:`suggest_space` reads the trials of an experiment and proposes a refined
:class:`~hpviz.SearchSpace` for the next round, as a list of
:class:`~hpviz.Change` objects (``shrink``, ``expand``, ``fix``,
``drop-choices``, ``use-log``), each with a reason quoting the evidence.
:func:`compare_rounds` tells whether a refined round did better than the one
before it, at equal trial counts.

Every numeric decision is taken on the parameter's *search scale* (``log10``
for log parameters), where the sampler was uniform. A change is proposed only
when a statistical test and an effect-size rule both agree (see
:class:`SuggestThresholds`; ``docs/suggestions.md``), so the default level is
conservative. Whatever the data, the refined space is valid: every new
parameter goes through the schema constructors, and one that would be invalid
is not proposed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpviz.convert import experiment as _to_experiment
from hpviz.errors import HpvizError, InsufficientDataError, SchemaError
from hpviz.schema import Categorical, Change, Experiment, Float, Int, Param, Round, SearchSpace

__all__ = [
    "SuggestThresholds",
    "CONSERVATIVE",
    "BOLD",
    "SpaceSuggestion",
    "suggest_space",
    "RoundDelta",
    "RoundComparison",
    "compare_rounds",
]

ACTIONS = ("shrink", "expand", "fix", "drop-choices", "use-log")

#: Trees of the forest :func:`suggest_space` fits when it computes importance itself.
IMPORTANCE_TREES = 32


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class SuggestThresholds:
    """Evidence a suggestion needs. ``CONSERVATIVE`` is the default; ``BOLD`` asks for less.

    Attributes
    ----------
    min_trials:
        Usable trials (COMPLETE, finite objective) below which
        :func:`suggest_space` raises :class:`~hpviz.InsufficientDataError`.
    top_quantile, min_good:
        The "good" trials are the best ``max(min_good, ceil(top_quantile * n))``.
    alpha:
        Significance level of the tests (Bonferroni-corrected over the
        parameters tested, and over the choices of a categorical).
    min_importance:
        A parameter whose fANOVA importance is below this is neither shrunk
        nor expanded (the test on where its good values are is then likely
        a fluke).
    shrink_pad, shrink_min_pad, shrink_max_keep:
        ``shrink`` keeps the span of the good trials padded by
        ``max(shrink_pad * span, shrink_min_pad * range)`` on each side, and
        only when the result keeps at most ``shrink_max_keep`` of the range.
    edge_band, edge_share, expand_by:
        ``expand`` needs the best trial and at least ``edge_share`` of the
        good trials within ``edge_band * range`` of one bound; that side is
        widened by ``expand_by * range``.
    fix_max_importance, fix_min_trials:
        ``fix`` needs ``importance + 2 * std < fix_max_importance`` with at
        least ``fix_min_trials`` usable trials, and another parameter with an
        importance of at least ``min_importance``.
    drop_min_count:
        A choice is judged (and dropped) only with at least this many trials.
    log_min_ratio, log_band, log_share, log_min_decades:
        ``use-log`` needs ``high / low >= log_min_ratio``, the best trial and
        at least ``log_share`` of the good trials in the lowest ``log_band``
        of the linear range, and the good values spread over at least
        ``log_min_decades`` decades.
    """

    min_trials: int = 20
    top_quantile: float = 0.2
    min_good: int = 5
    alpha: float = 0.01
    min_importance: float = 0.05
    shrink_pad: float = 0.5
    shrink_min_pad: float = 0.05
    shrink_max_keep: float = 0.75
    edge_band: float = 0.1
    edge_share: float = 0.25
    expand_by: float = 0.5
    fix_max_importance: float = 0.03
    fix_min_trials: int = 30
    drop_min_count: int = 5
    log_min_ratio: float = 100.0
    log_band: float = 0.25
    log_share: float = 0.8
    log_min_decades: float = 1.0

    def __post_init__(self) -> None:
        for name in ("min_trials", "min_good", "fix_min_trials", "drop_min_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
                raise SchemaError(f"SuggestThresholds.{name} must be an integer >= 2, got {value!r}")
        for name in ("top_quantile", "alpha", "edge_band", "edge_share", "log_band", "log_share",
                     "shrink_max_keep"):
            value = getattr(self, name)
            closed = name in ("edge_share", "log_share")  # a share of 1 ("all of them") is meaningful
            if not isinstance(value, numbers.Real) or not (0 < value < 1 or (closed and value == 1)):
                raise SchemaError(f"SuggestThresholds.{name} must be in (0, 1), got {value!r}")
        for name in ("min_importance", "shrink_pad", "shrink_min_pad", "expand_by", "fix_max_importance",
                     "log_min_decades"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value >= 0 or not math.isfinite(value):
                raise SchemaError(f"SuggestThresholds.{name} must be a finite number >= 0, got {value!r}")
        if not isinstance(self.log_min_ratio, numbers.Real) or not self.log_min_ratio > 1:
            raise SchemaError(f"SuggestThresholds.log_min_ratio must be > 1, got {self.log_min_ratio!r}")
        if self.min_trials < 2 * self.min_good:
            raise SchemaError(
                f"SuggestThresholds.min_trials ({self.min_trials}) must be at least 2 * min_good ({self.min_good})"
            )


CONSERVATIVE = SuggestThresholds()
BOLD = SuggestThresholds(
    min_trials=10, top_quantile=0.25, min_good=4, alpha=0.05, min_importance=0.02,
    shrink_pad=0.25, shrink_min_pad=0.02, shrink_max_keep=0.9, edge_share=0.15, expand_by=1.0,
    fix_max_importance=0.08, fix_min_trials=15, drop_min_count=3,
    log_min_ratio=20.0, log_share=0.6, log_min_decades=0.7,
)
_LEVELS = {"conservative": CONSERVATIVE, "bold": BOLD}


def _resolve_level(level: Any) -> SuggestThresholds:
    if isinstance(level, SuggestThresholds):
        return level
    if isinstance(level, str) and level in _LEVELS:
        return _LEVELS[level]
    raise SchemaError(f"level must be 'conservative', 'bold' or a SuggestThresholds, got {level!r}")


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class SpaceSuggestion:
    """Result of :func:`suggest_space`.

    Attributes
    ----------
    changes:
        The proposed edits, at most one per parameter, in search-space order.
    space:
        The refined space: ``parent`` with every change applied. Same
        parameter names and order as ``parent``; a fixed parameter becomes a
        single-choice :class:`~hpviz.Categorical`.
    parent:
        The space the suggestion refines (the experiment's latest round).
    objective, direction:
        The objective analysed and whether it is minimized or maximized.
    n_used, n_excluded:
        Trials analysed (COMPLETE with a finite objective) and trials left out
        (failed, pruned, running, NaN/inf).
    n_good, good_threshold:
        How many trials count as "good" and the objective value of the worst of them.
    level:
        The :class:`SuggestThresholds` applied.
    importance:
        The :class:`~hpviz.Importance` used (``None`` when it could not be computed).
    notes:
        Suggestions considered but not made, and why (e.g. an ``expand``
        blocked by a hard limit).
    signal_p:
        ``param -> p-value`` that the parameter is associated with the
        objective at all (Kruskal-Wallis across choices; KS of the good
        trials' values against the others'), uncorrected.
    """

    changes: tuple[Change, ...]
    space: SearchSpace
    parent: SearchSpace
    objective: str
    direction: str
    n_used: int
    n_excluded: int
    n_good: int
    good_threshold: float
    level: SuggestThresholds
    importance: Any = None
    notes: tuple[str, ...] = field(default=())
    signal_p: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.changes)

    def by_param(self) -> dict[str, Change]:
        """``param -> Change`` for the parameters that change."""
        return {c.param: c for c in self.changes}

    def actions(self) -> dict[str, str]:
        """``param -> action`` for the parameters that change."""
        return {c.param: c.action for c in self.changes}

    def to_dataframe(self) -> Any:
        """One row per change: ``param, action, before, after, reason``."""
        import pandas as pd

        return pd.DataFrame(
            [{"param": c.param, "action": c.action, "before": c.before, "after": c.after, "reason": c.reason}
             for c in self.changes],
            columns=["param", "action", "before", "after", "reason"],
        )

    def summary(self) -> str:
        """Human-readable list of the changes (and notes)."""
        if not self.changes:
            lines = [f"no change suggested ({self.n_used} trials analysed)"]
        else:
            lines = [f"{c.param}: {c.action} — {c.reason}" for c in self.changes]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def apply(self, exp: Experiment, note: str | None = None) -> Round:
        """Start the next round of ``exp`` with the refined space and these changes.

        Calls ``exp.next_round(self.space, self.changes, note)`` and returns
        the new :class:`~hpviz.Round`. ``exp`` must be the experiment the
        suggestion was computed from (its current space equals ``parent``).
        """
        if not isinstance(exp, Experiment):
            raise SchemaError(
                f"SpaceSuggestion.apply needs an hpviz.Experiment, got {type(exp).__name__}; "
                "convert with hpviz.experiment(obj), keep that object, and suggest from it"
            )
        if exp.space != self.parent:
            raise SchemaError(
                "SpaceSuggestion.apply: the experiment's current space is not the one this suggestion refines "
                "(was another round started since?)"
            )
        return exp.next_round(self.space, self.changes, note)


# --------------------------------------------------------------------------- helpers


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return repr(value) if isinstance(value, str) else str(value)


def _pfmt(p: float) -> str:
    return f"{p:.2g}"


def _clean(value: float) -> float:
    """Drop binary-fraction noise (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.12g}")


def _round_sig(value: float, up: bool, digits: int = 3) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    q = 10.0 ** (math.floor(math.log10(abs(value))) - (digits - 1))
    n = math.ceil(value / q - 1e-9) if up else math.floor(value / q + 1e-9)
    return _clean(n * q)


def _nice_outward(param: Float | Int, lo: float, hi: float) -> tuple[float, float]:
    """Round ``[lo, hi]`` outward to readable numbers (3 significant digits of the width, or of each bound for log)."""
    if isinstance(param, Int):
        return float(math.floor(lo + 1e-9)), float(math.ceil(hi - 1e-9))
    if param.log:
        return _round_sig(lo, up=False), _round_sig(hi, up=True)
    width = hi - lo
    if not width > 0:
        return lo, hi
    q = 10.0 ** (math.floor(math.log10(width)) - 2)
    return _clean(math.floor(lo / q + 1e-9) * q), _clean(math.ceil(hi / q - 1e-9) * q)


def _build(param: Float | Int, lo: float, hi: float, bound_lo: float, bound_hi: float,
           *, keep_low: bool = False, keep_high: bool = False) -> Float | Int | None:
    """A parameter like ``param`` on about ``[lo, hi]`` (value scale), rounded outward,
    kept within ``[bound_lo, bound_hi]`` and on ``param``'s step grid; ``keep_low``/``keep_high``
    keep that bound exactly as it is. ``None`` if invalid."""
    log = param.log
    lo, hi = _nice_outward(param, lo, hi)
    step = param.step
    if step is not None:
        anchor = param.low
        lo = anchor + math.floor((lo - anchor) / step + 1e-9) * step
        hi = anchor + math.ceil((hi - anchor) / step - 1e-9) * step
        if lo < bound_lo:
            lo += step * math.ceil((bound_lo - lo) / step - 1e-9)
        if hi > bound_hi:
            hi -= step * math.ceil((hi - bound_hi) / step - 1e-9)
        lo, hi = _clean(lo), _clean(hi)
    else:
        lo, hi = max(lo, bound_lo), min(hi, bound_hi)
    if keep_low:
        lo = param.low
    if keep_high:
        hi = param.high
    if isinstance(param, Int):
        lo, hi = int(round(lo)), int(round(hi))
        if log:
            lo = max(lo, 1)
    if not lo < hi or (log and lo <= 0):
        return None
    try:
        return type(param)(lo, hi, log=log, step=step) if isinstance(param, Int) else Float(lo, hi, log=log, step=step)
    except SchemaError:  # never propose an invalid parameter
        return None


def _check_limits(limits: Any, space: SearchSpace) -> dict[str, tuple[float, float]]:
    if limits is None:
        return {}
    if not isinstance(limits, Mapping):
        raise SchemaError(f"limits must be a mapping param -> (low, high), got {type(limits).__name__}")
    out = {}
    for name, pair in limits.items():
        if name not in space:
            raise SchemaError(f"limits names unknown parameter {name!r}; the space has {list(space)}")
        if isinstance(space[name], Categorical):
            raise SchemaError(f"limits[{name!r}]: {name!r} is categorical; limits apply to numeric parameters")
        try:
            lo, hi = pair
        except (TypeError, ValueError):
            raise SchemaError(f"limits[{name!r}] must be a (low, high) pair, got {pair!r}") from None
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
        for v in (lo, hi):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v):
                raise SchemaError(f"limits[{name!r}] bounds must be numbers or None, got {pair!r}")
        if not lo < hi:
            raise SchemaError(f"limits[{name!r}]: low ({lo}) must be < high ({hi})")
        out[name] = (float(lo), float(hi))
    return out


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan
    return float(value)


def _fisher_greater(a_in: int, a_n: int, b_in: int, b_n: int) -> float:
    """One-sided Fisher exact p-value that group a has a larger in-share than group b."""
    from scipy.stats import fisher_exact

    return float(fisher_exact([[a_in, a_n - a_in], [b_in, b_n - b_in]], alternative="greater").pvalue)


@dataclass
class _Ctx:
    """What every per-parameter rule reads."""

    trials: list
    y: np.ndarray  # sign-adjusted: lower is better
    good: np.ndarray  # bool per trial
    best: int  # index of the best trial
    order: np.ndarray  # trial indices, best first
    th: SuggestThresholds
    alpha: float  # Bonferroni-corrected over parameters
    objective: str
    sign: float
    imp: Any
    limits: dict[str, tuple[float, float]]
    notes: list[str]
    signal: dict[str, float] = field(default_factory=dict)

    def importance_of(self, name: str) -> tuple[float, float] | None:
        if self.imp is None or name not in self.imp.individual.index:
            return None
        return float(self.imp.individual[name]), float(self.imp.individual_std[name])

    def value(self, i: int) -> float:
        return float(self.sign * self.y[i])


# --------------------------------------------------------------------------- rules


def _search_values(name: str, param: Float | Int, ctx: _Ctx) -> np.ndarray:
    """The trials' values of ``param`` on its search scale; NaN when inactive or not a usable number."""
    vals = np.array([_as_float(t.params.get(name)) for t in ctx.trials])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = param.to_search_scale(vals)
    return np.where(np.isfinite(s), s, np.nan)


def _signal_p(name: str, param: Param, ctx: _Ctx) -> float:
    """p-value that the parameter is associated with the objective at all.

    Categorical: Kruskal-Wallis of the objective across choices. Numeric:
    two-sample Kolmogorov-Smirnov of the good trials' values against the others'.
    """
    from scipy.stats import kruskal, ks_2samp

    if isinstance(param, Categorical):
        codes = np.array([param.index(t.params[name]) if name in t.params else -1 for t in ctx.trials])
        groups = [ctx.y[codes == c] for c in range(len(param.choices)) if int((codes == c).sum()) >= 2]
        if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:
            return 1.0
        return float(kruskal(*groups).pvalue)
    s = _search_values(name, param, ctx)
    active = np.isfinite(s)
    g, r = s[ctx.good & active], s[~ctx.good & active]
    if g.size < 3 or r.size < 3:
        return 1.0
    return float(ks_2samp(g, r).pvalue)


def _rule_fix(name: str, param: Param, ctx: _Ctx) -> Change | None:
    th = ctx.th
    imp = ctx.importance_of(name)
    if imp is None or len(ctx.trials) < th.fix_min_trials:
        return None
    ind, std = imp
    upper = ind + 2.0 * std
    if not upper < th.fix_max_importance:
        return None
    # Only when some other parameter demonstrably matters (important, and a significant test):
    # on a noise objective every importance is a fluke, and fixing would only hide that.
    others = ctx.imp.individual.drop(name)
    others = others[[o for o in others.index if o in ctx.signal and ctx.signal[o] < ctx.alpha
                     and others[o] >= th.min_importance]]
    if others.empty:
        return None
    top_name, top = str(others.idxmax()), float(others.max())
    for i in ctx.order:
        raw = ctx.trials[i].params.get(name, _MISSING)
        if raw is not _MISSING and param.contains(raw):
            break
    else:
        return None
    if isinstance(param, Int):
        value: Any = int(raw)
    elif isinstance(param, Float):
        value = float(raw)
    else:
        value = param.choices[param.index(raw)]
    trial = ctx.trials[i]
    reason = (f"importance {ind:.2g} ± {std:.2g} (mean + 2 std = {upper:.2g} < {th.fix_max_importance:g}; "
              f"{top_name!r} has {top:.2g}, test p={_pfmt(ctx.signal[top_name])}); fixed to {_fmt(value)}, its value in the best trial "
              f"#{trial.number} ({ctx.objective}={_fmt(ctx.value(i))})")
    return Change(name, "fix", param, Categorical([value]), reason)


def _rule_drop(name: str, param: Categorical, ctx: _Ctx) -> Change | None:
    from scipy.stats import mannwhitneyu

    th = ctx.th
    codes = np.array([param.index(t.params[name]) if name in t.params else -1 for t in ctx.trials])
    counts = np.bincount(codes[codes >= 0], minlength=len(param.choices))
    judged = [c for c in range(len(param.choices)) if counts[c] >= th.drop_min_count]
    if len(judged) < 2:
        return None
    medians = {c: float(np.median(ctx.y[codes == c])) for c in judged}
    ref = min(judged, key=lambda c: (medians[c], c))
    alpha = ctx.alpha / (len(judged) - 1)
    ref_y = ctx.y[codes == ref]
    dropped, parts = [], []
    for c in judged:
        if c == ref:
            continue
        mask = codes == c
        n_good = int(ctx.good[mask].sum())
        if n_good:
            continue
        p = float(mannwhitneyu(ctx.y[mask], ref_y, alternative="greater").pvalue)
        if p < alpha:
            dropped.append(c)
            parts.append(
                f"{_fmt(param.choices[c])}: none of its {int(counts[c])} trials among the best {int(ctx.good.sum())}; "
                f"median {ctx.objective} {_fmt(ctx.sign * medians[c])} vs {_fmt(ctx.sign * medians[ref])} for "
                f"{_fmt(param.choices[ref])} (n={int(counts[ref])}), Mann-Whitney p={_pfmt(p)}"
            )
    if not dropped:
        return None
    keep = [ch for c, ch in enumerate(param.choices) if c not in dropped]
    return Change(name, "drop-choices", param, Categorical(keep), "; ".join(parts))


def _rule_log(name: str, param: Float | Int, vals: np.ndarray, ctx: _Ctx) -> Change | None:
    th = ctx.th
    if param.log or param.low <= 0 or param.high / param.low < th.log_min_ratio:
        return None
    if (isinstance(param, Int) and param.step != 1) or (isinstance(param, Float) and param.step is not None):
        return None  # a log scale with a step grid does not export to Optuna
    active = np.isfinite(vals) & (vals > 0)
    g = ctx.good & active
    n_g, n_r = int(g.sum()), int((~ctx.good & active).sum())
    if n_g < ctx.th.min_good or n_r < 1 or not active[ctx.best]:
        return None
    band_hi = param.low + th.log_band * (param.high - param.low)
    in_band = vals <= band_hi
    g_in, r_in = int((in_band & g).sum()), int((in_band & ~ctx.good & active).sum())
    share = g_in / n_g
    gv = vals[g]
    decades = float(np.log10(gv.max() / gv.min()))
    if share < th.log_share or not in_band[ctx.best] or decades < th.log_min_decades:
        return None
    p = _fisher_greater(g_in, n_g, r_in, n_r)
    if not p < ctx.alpha:
        return None
    after = type(param)(param.low, param.high, log=True)
    reason = (f"[{_fmt(param.low)}, {_fmt(param.high)}] spans {math.log10(param.high / param.low):.1f} decades and "
              f"{g_in} of the {n_g} best trials lie in its lowest {th.log_band:.0%} (<= {_fmt(band_hi)}; "
              f"{r_in} of {n_r} others, Fisher p={_pfmt(p)}), spread over {decades:.1f} decades "
              f"({_fmt(float(gv.min()))} to {_fmt(float(gv.max()))}): search it log-uniformly")
    return Change(name, "use-log", param, after, reason)


def _effective_limits(name: str, param: Float | Int, ctx: _Ctx) -> tuple[float, float, bool]:
    """Hard limits on the value scale, and whether the lower one is the implicit 0."""
    implicit = False
    if name in ctx.limits:
        lo, hi = ctx.limits[name]
    else:
        lo, hi = -math.inf, math.inf
        if param.low >= 0:  # a non-negative parameter stays non-negative unless limits say otherwise
            lo, implicit = 0.0, True
    if param.log:
        lo = max(lo, 1.0 if isinstance(param, Int) else 0.0)
    return lo, hi, implicit


def _importance_gate(name: str, ctx: _Ctx, what: str) -> bool:
    imp = ctx.importance_of(name)
    if imp is not None and imp[0] < ctx.th.min_importance:
        ctx.notes.append(f"{name}: {what}, but its importance {imp[0]:.2g} is below {ctx.th.min_importance:g}; "
                         "left unchanged")
        return False
    return True


def _rule_expand(name: str, param: Float | Int, s: np.ndarray, ctx: _Ctx) -> Change | None:
    th = ctx.th
    active = np.isfinite(s)
    g = ctx.good & active
    r = ~ctx.good & active
    n_g, n_r = int(g.sum()), int(r.sum())
    if n_g < th.min_good or n_r < 1 or not active[ctx.best]:
        return None
    lo, hi = param.search_bounds
    width = hi - lo
    band = th.edge_band * width
    sides = []
    for side, in_band in (("upper", s >= hi - band), ("lower", s <= lo + band)):
        g_in, r_in = int((in_band & g).sum()), int((in_band & r).sum())
        if in_band[ctx.best] and g_in >= 2 and g_in / n_g >= th.edge_share:
            sides.append((g_in / n_g, side, g_in, r_in))
    if not sides:
        return None
    share, side, g_in, r_in = max(sides)
    # Location test: are the good trials shifted toward that bound, compared with the others?
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(s[g], s[r], alternative="greater" if side == "upper" else "less").pvalue)
    if not p < ctx.alpha:
        return None
    bound = param.high if side == "upper" else param.low
    what = f"the best trials sit at the {side} bound {_fmt(bound)}"
    if not _importance_gate(name, ctx, what):
        return None
    lim_lo, lim_hi, implicit = _effective_limits(name, param, ctx)
    if side == "upper":
        target = float(param.from_search_scale(hi + th.expand_by * width))
        after = _build(param, param.low, target, param.low, lim_hi, keep_low=True)
        limit = lim_hi
    else:
        target = float(param.from_search_scale(lo - th.expand_by * width))
        after = _build(param, target, param.high, lim_lo, param.high, keep_high=True)
        limit = lim_lo
    grown = after is not None and (after.high > param.high if side == "upper" else after.low < param.low)
    if not grown:
        src = "the implicit limit 0 of a non-negative parameter (pass limits= to allow more)" if implicit \
            else f"the limit {_fmt(limit)}"
        ctx.notes.append(f"{name}: {what}, but it is already at {src}; not expanded")
        return None
    new = after.high if side == "upper" else after.low
    best_v = ctx.trials[ctx.best].params[name]
    scale = " (in log space)" if param.log else ""
    capped = f", capped by the limit {_fmt(limit)}" if math.isfinite(limit) and new == limit else ""
    reason = (f"{g_in} of the {n_g} best trials (and the best, {name}={_fmt(best_v)}) lie within "
              f"{th.edge_band:.0%} of the range of the {side} bound {_fmt(bound)} ({r_in} of {n_r} others; "
              f"shifted toward it: Mann-Whitney p={_pfmt(p)}); {side} bound moved by {th.expand_by:.0%} of the range{scale} to "
              f"{_fmt(new)}{capped}")
    return Change(name, "expand", param, after, reason)


def _rule_shrink(name: str, param: Float | Int, s: np.ndarray, ctx: _Ctx) -> Change | None:
    from scipy.stats import mannwhitneyu

    th = ctx.th
    active = np.isfinite(s)
    g = ctx.good & active
    r = ~ctx.good & active
    if int(g.sum()) < th.min_good or int(r.sum()) < th.min_good:
        return None
    lo, hi = param.search_bounds
    width = hi - lo
    gs = s[g]
    # Concentration test: are the good trials closer to their own median than the others are?
    # (catches a narrow optimum in the middle, which a location test would miss)
    centre = float(np.median(gs))
    p = float(mannwhitneyu(np.abs(gs - centre), np.abs(s[r] - centre), alternative="less").pvalue)
    if not p < ctx.alpha:
        return None
    a, b = float(gs.min()), float(gs.max())
    pad = max(th.shrink_pad * (b - a), th.shrink_min_pad * width)
    new_lo, new_hi = max(a - pad, lo), min(b + pad, hi)
    after = _build(param, float(param.from_search_scale(new_lo)), float(param.from_search_scale(new_hi)),
                   param.low, param.high, keep_low=new_lo <= lo, keep_high=new_hi >= hi)
    if after is None:
        return None
    a2, b2 = after.search_bounds
    keep = (b2 - a2) / width
    if keep > th.shrink_max_keep:
        return None
    if not _importance_gate(name, ctx, f"the best trials concentrate in {keep:.0%} of its range"):
        return None
    imp = ctx.importance_of(name)
    imp_txt = f"; importance {imp[0]:.2g} ± {imp[1]:.2g}" if imp is not None else ""
    lo_v, hi_v = param.from_search_scale([a, b])
    scale = " (log scale)" if param.log else ""
    reason = (f"the {int(g.sum())} best trials ({ctx.objective} {'<=' if ctx.sign > 0 else '>='} "
              f"{_fmt(ctx.value(ctx.order[int(ctx.good.sum()) - 1]))}) span [{_fmt(float(lo_v))}, {_fmt(float(hi_v))}] "
              f"of [{_fmt(param.low)}, {_fmt(param.high)}]; padded, the new range keeps {keep:.0%} of the old"
              f"{scale}; concentration p={_pfmt(p)} (Mann-Whitney, distance to their median, best vs other trials){imp_txt}")
    return Change(name, "shrink", param, after, reason)


_MISSING = object()


# --------------------------------------------------------------------------- suggest_space


def suggest_space(
    obj: Any,
    objective: str | None = None,
    *,
    level: str | SuggestThresholds = "conservative",
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    seed: int = 0,
    importance: Any = None,
) -> SpaceSuggestion:
    """Suggest a refined search space for the next round.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts. The space refined is the
        experiment's latest round; the evidence is every usable trial of
        every round.
    objective:
        Objective to optimize; default the primary. Its direction is used.
    level:
        ``"conservative"`` (default), ``"bold"``, or a :class:`SuggestThresholds`.
    limits:
        ``param -> (low, high)`` hard limits that ``expand`` never crosses
        (``None`` for an open side). Without one, a parameter declared with
        ``low >= 0`` is never expanded below 0.
    seed:
        Seed of the importance forest; equal seeds give equal suggestions.
    importance:
        A precomputed :class:`~hpviz.Importance` of the same experiment and
        objective to reuse (else one is computed with ``pairs=False``).

    Returns
    -------
    SpaceSuggestion
        ``.changes`` (at most one :class:`~hpviz.Change` per parameter) and
        ``.space`` (the refined space, always valid).

    Raises
    ------
    InsufficientDataError
        Fewer usable trials than ``level.min_trials``; the message says how many.
    SchemaError
        Unknown objective, bad ``level`` or ``limits``, or an ``importance``
        computed for another objective.
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    th = _resolve_level(level)
    parent = exp.space
    lims = _check_limits(limits, parent)
    trials = exp.completed(objective)
    n = len(trials)
    n_excluded = len(exp) - n
    if n < th.min_trials:
        bold = "" if th.min_trials <= BOLD.min_trials else f"; level='bold' needs {BOLD.min_trials}"
        raise InsufficientDataError(
            f"suggest_space needs at least {th.min_trials} COMPLETE trials with a finite {objective!r}; "
            f"have {n} ({n_excluded} failed, pruned, running or non-finite excluded){bold}",
            have=n, need=th.min_trials,
        )
    direction = exp.objectives[objective]
    sign = 1.0 if direction == "min" else -1.0
    y = sign * np.array([t.values[objective] for t in trials])
    numbers_ = np.array([t.number for t in trials])
    order = np.lexsort((numbers_, y))  # best first, ties by trial number
    k = min(max(th.min_good, math.ceil(th.top_quantile * n)), n // 2)
    good = np.zeros(n, dtype=bool)
    good[order[:k]] = True
    threshold = float(sign * y[order[k - 1]])
    notes: list[str] = []

    def result(changes: list[Change], space: SearchSpace, imp: Any, signal: dict[str, float]) -> SpaceSuggestion:
        return SpaceSuggestion(tuple(changes), space, parent, objective, direction, n, n_excluded, k,
                               threshold, th, imp, tuple(notes), dict(signal))

    if np.ptp(y) == 0:
        notes.append(f"{objective!r} is constant over the {n} usable trials: nothing to learn from")
        return result([], parent, None, {})

    imp = importance
    if imp is not None:
        if getattr(imp, "objective", objective) != objective:
            raise SchemaError(f"importance was computed for {imp.objective!r}, not {objective!r}")
    else:
        from hpviz.analysis.importance import importance as _importance

        try:
            imp = _importance(exp, objective, pairs=False, n_trees=IMPORTANCE_TREES, seed=seed)
        except HpvizError as exc:
            notes.append(f"importance unavailable ({exc}); no fix, and shrink/expand without the importance gate")
            imp = None

    tested = [name for name, p in parent.items() if not (isinstance(p, Categorical) and len(p.choices) < 2)]
    ctx = _Ctx(trials, y, good, int(order[0]), order, th, th.alpha / max(1, len(tested)), objective, sign, imp,
               lims, notes)
    ctx.signal = {name: _signal_p(name, parent[name], ctx) for name in tested}
    changes: list[Change] = []
    for name in tested:
        param = parent[name]
        change = _rule_fix(name, param, ctx)
        if change is None and isinstance(param, Categorical):
            change = _rule_drop(name, param, ctx)
        elif change is None:
            s = _search_values(name, param, ctx)
            vals = np.asarray(param.from_search_scale(s), dtype=float)
            change = (_rule_log(name, param, vals, ctx) or _rule_expand(name, param, s, ctx)
                      or _rule_shrink(name, param, s, ctx))
        if change is not None:
            changes.append(change)
    space = parent.replace(**{c.param: c.after for c in changes}) if changes else parent
    return result(changes, space, imp, ctx.signal)


# --------------------------------------------------------------------------- rounds


@dataclass(frozen=True)
class RoundDelta:
    """How round ``current`` compares with round ``previous`` at equal trial counts.

    Attributes
    ----------
    previous, current:
        Round indices.
    m:
        Trials compared from each round: ``min`` of their usable counts;
        each round's first ``m`` (by trial number).
    best_previous, best_current:
        Best objective value among those first ``m`` trials (NaN when ``m == 0``).
    expected_best_previous, expected_best_current:
        Expected best of ``m`` draws from each round's usable values
        (order statistics of the empirical distribution, all trials used).
    beats:
        ``best_current`` strictly better than ``best_previous``; ``None``
        when a round has no usable trial.
    improvement:
        ``best_previous - best_current`` for minimization (the other way for
        maximization): positive means round ``current`` did better.
    p_value:
        One-sided Mann-Whitney p-value that the current round's values are
        better than the previous round's (NaN when a round is empty).
    """

    previous: int
    current: int
    m: int
    best_previous: float
    best_current: float
    expected_best_previous: float
    expected_best_current: float
    beats: bool | None
    improvement: float
    p_value: float


@dataclass(frozen=True, eq=False)
class RoundComparison:
    """Result of :func:`compare_rounds`.

    Attributes
    ----------
    objective, direction:
        The objective compared and its direction.
    table:
        pandas DataFrame, one row per round: ``round, n_trials`` (all
        states), ``n_used`` (COMPLETE, finite), ``best, best_number, mean,
        q10, q25, median, q75, q90``.
    values:
        ``round -> numpy array`` of usable objective values, in trial order.
    deltas:
        One :class:`RoundDelta` per round after the first, against the round before it.
    """

    objective: str
    direction: str
    table: Any
    values: dict[int, np.ndarray]
    deltas: tuple[RoundDelta, ...]

    @property
    def best(self) -> Any:
        """Best objective value per round (pandas Series indexed by round)."""
        return self.table.set_index("round")["best"]

    @property
    def beats(self) -> dict[int, bool | None]:
        """``round -> whether it beats the round before it at equal trial counts``."""
        return {d.current: d.beats for d in self.deltas}


def _expected_best(values: np.ndarray, m: int) -> float:
    """E[min of m draws with replacement] from ``values`` (sign-adjusted: lower is better)."""
    v = np.sort(values)[::-1]  # worst first: P(best of m <= v_(i)) uses the rank from the worst
    n = v.size
    i = np.arange(1, n + 1)
    w = (i / n) ** m - ((i - 1) / n) ** m
    return float(np.sum(w * v))


def compare_rounds(obj: Any, objective: str | None = None) -> RoundComparison:
    """Compare the steering rounds of an experiment.

    Parameters
    ----------
    obj:
        Anything :func:`hpviz.experiment` accepts.
    objective:
        Objective to compare; default the primary.

    Returns
    -------
    RoundComparison
        Per-round best and quantiles, and per consecutive pair whether the
        later round beats the earlier at equal trial counts (best of the
        first ``m`` trials of each, ``m`` the smaller usable count), with the
        expected best of ``m`` and a one-sided Mann-Whitney p-value.

    Raises
    ------
    InsufficientDataError
        No usable trial (COMPLETE, finite objective) in any round.
    """
    import pandas as pd
    from scipy.stats import mannwhitneyu

    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    direction = exp.objectives[objective]
    sign = 1.0 if direction == "min" else -1.0
    usable = exp.completed(objective)
    if not usable:
        states = {k: v for k, v in exp.count_by_state().items() if v}
        raise InsufficientDataError(
            f"compare_rounds needs at least 1 COMPLETE trial with a finite {objective!r}; have 0 "
            f"(trials by state: {states or 'none'})", have=0, need=1,
        )
    n_rounds = len(exp.rounds)
    all_counts = np.bincount([t.round for t in exp.trials], minlength=n_rounds) if len(exp) else np.zeros(n_rounds)
    values: dict[int, np.ndarray] = {}
    numbers_: dict[int, list[int]] = {}
    for r in range(n_rounds):
        ts = [t for t in usable if t.round == r]
        values[r] = np.array([t.values[objective] for t in ts], dtype=float)
        numbers_[r] = [t.number for t in ts]
    rows = []
    for r in range(n_rounds):
        v = values[r]
        row: dict[str, Any] = {"round": r, "n_trials": int(all_counts[r]), "n_used": int(v.size)}
        if v.size:
            ib = int(np.argmin(sign * v))
            q = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9])
            row.update(best=float(v[ib]), best_number=numbers_[r][ib], mean=float(v.mean()),
                       q10=q[0], q25=q[1], median=q[2], q75=q[3], q90=q[4])
        else:
            row.update(best=math.nan, best_number=None, mean=math.nan,
                       q10=math.nan, q25=math.nan, median=math.nan, q75=math.nan, q90=math.nan)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["round", "n_trials", "n_used", "best", "best_number", "mean",
                                        "q10", "q25", "median", "q75", "q90"])
    deltas = []
    for r in range(1, n_rounds):
        a, b = sign * values[r - 1], sign * values[r]
        m = int(min(a.size, b.size))
        if m == 0:
            deltas.append(RoundDelta(r - 1, r, 0, math.nan, math.nan, math.nan, math.nan, None, math.nan, math.nan))
            continue
        best_a, best_b = float(a[:m].min()), float(b[:m].min())
        p = float(mannwhitneyu(b, a, alternative="less").pvalue) if a.size and b.size else math.nan
        deltas.append(RoundDelta(
            r - 1, r, m, sign * best_a, sign * best_b,
            sign * _expected_best(a, m), sign * _expected_best(b, m),
            bool(best_b < best_a), best_a - best_b, p,
        ))
    return RoundComparison(objective, direction, table, values, tuple(deltas))

