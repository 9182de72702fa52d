"""Search-space suggestions: what the next round should search (the steering loop).

:func:`suggest_space` reads the trials of an experiment and proposes a refined
:class:`~hpviz.SearchSpace` for the next round, as a list of
:class:`~hpviz.Change` objects (``shrink``, ``expand``, ``fix``,
``drop-choices``, ``use-log``), each with a reason quoting the evidence.
:func:`hpviz.compare_rounds` (:mod:`hpviz.analysis.rounds`) then tells whether
the refined round did better.

Every numeric decision is taken on the parameter's *search scale* (``log10``
for log parameters), where the sampler was uniform. A change is proposed only
when a statistical test and an effect-size rule both agree (see
:class:`SuggestThresholds`; ``docs/suggestions.md``), so the default level is
conservative. Whatever the data, the refined space is valid: every new
parameter goes through the schema constructors, and one that would be invalid
is not proposed.

With per-split scores (``attrs["split_test_<objective>"]``, a cross-validated
search) nothing is decided on a difference below their noise: every trial
statistically tied with the best counts as good, and a choice worse by less
than the noise of a trial's score is not dropped (``docs/suggestions.md``).

Only rankable trials (COMPLETE, finite, feasible) are evidence: a suggestion
never moves toward trials that violated the user's constraints. A change the
experiment's framework cannot take (``hpviz_export_constraints`` of the
adapter whose id is ``Experiment.framework``) is not proposed; the notes say so.

A parameter inside a branch of a conditional space (absent from some trials)
is judged on the trials where it is active only (:func:`_branch_context`):
its good trials, its importance and a value it is fixed to all come from
them; the reason of its change says so.

Layout: ``thresholds`` (evidence levels), ``result`` (:class:`SpaceSuggestion`),
``context`` (what the rules read and the tests they share), ``ranges``
(readable, valid new ranges), ``rules/<action>`` (one module per action).
:func:`suggest_space` runs the named steps below in order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hpviz._columns import rankable_trials
from hpviz._splits import SplitNoise, split_noise
from hpviz._validate import keywords_checked
from hpviz._warn import warn
from hpviz.analysis.suggest.context import Context, search_values, signal_p
from hpviz.analysis.suggest.ranges import check_limits
from hpviz.analysis.suggest.result import SpaceSuggestion
from hpviz.analysis.suggest.rules.drop import rule_drop
from hpviz.analysis.suggest.rules.expand import rule_expand
from hpviz.analysis.suggest.rules.fix import rule_fix
from hpviz.analysis.suggest.rules.log import rule_log
from hpviz.analysis.suggest.rules.shrink import rule_shrink
from hpviz.analysis.suggest.thresholds import (
    ACTIONS,
    BOLD,
    CONSERVATIVE,
    IMPORTANCE_TREES,
    SuggestThresholds,
    resolve_level,
)
from hpviz.convert import experiment as _to_experiment
from hpviz.errors import HpvizError, HpvizWarning, InsufficientDataError, SchemaError
from hpviz.schema import Categorical, Change, Experiment, Param, SearchSpace, Trial

__all__ = ["SuggestThresholds", "CONSERVATIVE", "BOLD", "ACTIONS", "SpaceSuggestion", "suggest_space"]



# --------------------------------------------------------------------------- named steps


@dataclass(frozen=True)
class _Evidence:
    """The trials a suggestion learns from, oriented so that lower is better, and the "good" ones."""

    trials: list[Trial]
    y: np.ndarray
    order: np.ndarray  # trial indices, best first (ties by trial number)
    good: np.ndarray
    n_excluded: int
    threshold: float
    noise: SplitNoise | None = None


def _evidence(exp: Experiment, objective: str, th: SuggestThresholds) -> _Evidence:
    """Rankable trials, with enough of them, ordered best first; the best ``k`` are "good"."""
    trials = rankable_trials(exp, objective)
    n = len(trials)
    n_excluded = len(exp) - n
    if n < th.min_trials:
        bold = "" if th.min_trials <= BOLD.min_trials else f"; level='bold' needs {BOLD.min_trials}"
        raise InsufficientDataError(
            f"suggest_space needs at least {th.min_trials} COMPLETE, feasible trials with a finite {objective!r}; "
            f"have {n} ({n_excluded} failed, pruned, running, infeasible or non-finite excluded){bold}",
            have=n, need=th.min_trials,
        )
    sign = 1.0 if exp.objectives[objective] == "min" else -1.0
    y = sign * np.array([t.values[objective] for t in trials])
    noise = split_noise(trials, objective)
    order, good = _good(trials, y, th, noise)
    return _Evidence(trials, y, order, good, n_excluded, float(sign * y[order[int(good.sum()) - 1]]), noise)


def _tie_band(noise: SplitNoise, th: SuggestThresholds) -> float:
    """How far below the best a trial is still statistically tied with it: one-sided ``z(1 - alpha)`` times
    the SD of the difference of two trials' values, ``sqrt(2) * value_sd``."""
    from scipy.stats import norm

    return float(norm.ppf(1.0 - th.alpha) * math.sqrt(2.0) * noise.value_sd)


def _good(trials: list[Trial], y: np.ndarray, th: SuggestThresholds,
          noise: SplitNoise | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Trial indices best first (ties by trial number), and the "good" mask: the best ``k`` of them,
    and with split noise also every trial statistically tied with the best (:func:`_tie_band`)."""
    n = len(trials)
    order = np.lexsort((np.array([t.number for t in trials]), y))
    k = min(max(th.min_good, math.ceil(th.top_quantile * n)), n // 2)
    if noise is not None:
        k = max(k, int((y <= y[order[0]] + _tie_band(noise, th)).sum()))
    good = np.zeros(n, dtype=bool)
    good[order[:k]] = True
    return order, good


def _noise_note(ev: _Evidence, th: SuggestThresholds, objective: str, direction: str) -> str:
    """The split-noise rule in words, with its numbers."""
    band = _tie_band(ev.noise, th)
    best = float(ev.y[ev.order[0]])
    tied = int((ev.y <= best + band).sum())
    sign = 1.0 if direction == "min" else -1.0
    return (f"{ev.noise.words()}: a trial within {band:.2g} of the best ({objective} "
            f"{'<=' if sign > 0 else '>='} {sign * (best + band):.4g}; one-sided {1 - th.alpha:.0%} for the "
            f"difference of two trials' mean scores) is statistically tied with it and counts as good: {tied} "
            f"tied, {int(ev.good.sum())} good trials")


def _branch_context(exp: Experiment, name: str, ctx: Context, tested: list[str], seed: int) -> Context | None:
    """The context of a parameter inside a branch: only the trials where it is active.

    Its good trials are the best of those, its importance (for the gates and
    ``fix``) comes from a forest fitted on them, and the tests of the other
    parameters are re-run on them. ``None`` (with a note) when the branch has
    too few trials to learn from. A parameter active in every trial keeps ``ctx``.
    """
    keep = [i for i, t in enumerate(ctx.trials) if name in t.params]
    if len(keep) == len(ctx.trials):
        return ctx
    if len(keep) < ctx.th.min_trials:
        ctx.notes.append(f"{name}: active in {len(keep)} of the {len(ctx.trials)} trials, fewer than the "
                         f"{ctx.th.min_trials} a suggestion needs; left unchanged")
        return None
    key = "branch " + ",".join(map(str, keep))
    if key in ctx.cache:  # parameters active in the same trials share one branch context
        return ctx.cache[key]
    trials = [ctx.trials[i] for i in keep]
    y = ctx.y[keep]
    order, good = _good(trials, y, ctx.th, ctx.noise)
    notes: list[str] = []
    imp = _importance(exp.with_trials(trials), ctx.objective, None, seed, notes) if np.ptp(y) > 0 else None
    ctx.notes.extend(f"{name} (over the trials where it is active): {n}" for n in notes)
    sub = replace(ctx, trials=trials, y=y, good=good, best=int(order[0]), order=order, imp=imp, signal={}, cache={})
    sub.signal = {p: signal_p(p, sub.space[p], sub) for p in tested}
    ctx.cache[key] = sub
    return sub


def _in_branch(change: Change | None, name: str, ctx: Context) -> Change | None:
    """Say in the reason that a change was learnt from the trials where ``name`` is active."""
    if change is None:
        return None
    return replace(change, reason=f"over the {len(ctx.trials)} trials where {name} is active: {change.reason}")


def _importance(exp: Experiment, objective: str, given: Any, seed: int, notes: list[str]) -> Any:
    """The importance the rules gate on: the one given, else fANOVA over the feasible trials."""
    if given is not None:
        if getattr(given, "objective", objective) != objective:
            raise SchemaError(f"importance was computed for {given.objective!r}, not {objective!r}")
        return given
    from hpviz.analysis._conditional import whole_space
    from hpviz.analysis.importance import importance as _compute

    if not all(t.feasible for t in exp.trials):
        exp = exp.with_trials(t for t in exp.trials if t.feasible)
    try:
        with whole_space():  # the rules read the fractions only: no marginals restricted to branches
            return _compute(exp, objective, pairs=False, n_trees=IMPORTANCE_TREES, seed=seed)
    except HpvizError as exc:
        notes.append(f"importance unavailable ({exc}); no fix, and shrink/expand without the importance gate")
        return None


def _export_constraints(framework: str | None) -> dict[str, Any]:
    """What a refined space must respect to export to ``framework`` (``hpviz_export_constraints``)."""
    if framework is None:
        return {}
    from hpviz.plugins import get_plugin_manager

    try:
        answer = get_plugin_manager().hook.hpviz_export_constraints(framework=framework)
    except Exception as exc:  # noqa: BLE001 - a broken adapter must not break the suggestion
        warn(f"the {framework!r} adapter failed to give its export constraints ({type(exc).__name__}: {exc}); "
             "suggestions assume every change exports", HpvizWarning)
        return {}
    return dict(answer or {})


def _tested(parent: SearchSpace) -> list[str]:
    """Parameters a rule can change: all but single-choice categoricals."""
    return [name for name, p in parent.items() if not (isinstance(p, Categorical) and len(p.choices) < 2)]


def _change_for(name: str, param: Param, ctx: Context) -> Change | None:
    """The first rule that fires for one parameter: fix, then drop-choices or use-log / expand / shrink.

    ``ctx`` holds the trials the rules learn from (for a parameter inside a
    branch, those where it is active: :func:`_branch_context`).
    """
    change = rule_fix(name, param, ctx)
    if change is None and isinstance(param, Categorical):
        change = rule_drop(name, param, ctx)
    elif change is None:
        s = search_values(name, param, ctx)
        vals = np.asarray(param.from_search_scale(s), dtype=float)
        change = rule_log(name, param, vals, ctx) or rule_expand(name, param, s, ctx) or rule_shrink(name, param, s, ctx)
    return change


# --------------------------------------------------------------------------- suggest_space


@keywords_checked
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
        experiment's latest round; the evidence is every rankable trial
        (COMPLETE, finite, feasible) of every round, and for a parameter
        inside a branch (conditional), those where it is active.
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
        Fewer rankable trials than ``level.min_trials``, and no budget level that
        many trials reached; the message says how many.

    Notes
    -----
    Runs that stop most trials early (successive halving, bandit schedulers):
    with fewer COMPLETE trials than ``level.min_trials``, the suggestion is made
    from the values at the highest budget level (step) that at least
    ``level.min_trials`` trials reached (:func:`hpviz.analysis.rungs.at_highest_budget`),
    and the first note says so.
    SchemaError
        Unknown objective, bad ``level`` or ``limits``, or an ``importance``
        computed for another objective.
    """
    exp = _to_experiment(obj)
    objective = exp.objective(objective)
    th = resolve_level(level)
    parent = exp.space
    lims = check_limits(limits, parent)
    try:
        ev = _evidence(exp, objective, th)
    except InsufficientDataError:
        from hpviz.analysis.rungs import at_highest_budget  # early-stopped runs: the highest budget with enough trials

        rung = at_highest_budget(exp, objective, th.min_trials)
        if rung is None:
            raise
        found = suggest_space(rung.experiment, objective, level=th, limits=limits, seed=seed)
        return replace(found, notes=(rung.note, *found.notes))
    direction = exp.objectives[objective]
    notes: list[str] = []

    if ev.noise is not None:
        notes.append(_noise_note(ev, th, objective, direction))
        tag = f"{ev.noise.words()}: good trials include all tied with the best"

    def result(changes: list[Change], space: SearchSpace, imp: Any, signal: dict[str, float]) -> SpaceSuggestion:
        if ev.noise is not None:
            changes = [replace(c, reason=f"{c.reason}; {tag}") for c in changes]
        return SpaceSuggestion(tuple(changes), space, parent, objective, direction, len(ev.trials), ev.n_excluded,
                               int(ev.good.sum()), ev.threshold, th, imp, tuple(notes), dict(signal))

    if np.ptp(ev.y) == 0:
        notes.append(f"{objective!r} is constant over the {len(ev.trials)} usable trials: nothing to learn from")
        return result([], parent, None, {})
    imp = _importance(exp, objective, importance, seed, notes)
    tested = _tested(parent)
    ctx = Context(ev.trials, ev.y, ev.good, int(ev.order[0]), ev.order, th, th.alpha / max(1, len(tested)),
                  objective, 1.0 if direction == "min" else -1.0, imp, lims, notes,
                  export=_export_constraints(exp.framework), framework=exp.framework, noise=ev.noise)
    ctx.signal = {name: signal_p(name, parent[name], ctx) for name in tested}
    ctx.space = dict(parent.items())
    changes = []
    for name in tested:
        branch = _branch_context(exp, name, ctx, tested, seed)
        if branch is ctx:
            change = _change_for(name, parent[name], ctx)
        else:
            change = _in_branch(_change_for(name, parent[name], branch), name, branch) if branch else None
        if change is not None:
            changes.append(change)
    space = parent.replace(**{c.param: c.after for c in changes}) if changes else parent
    return result(changes, space, imp, ctx.signal)
