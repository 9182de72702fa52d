"""hpviz search spaces <-> Optuna distributions, and sampling a space in an Optuna trial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hpviz
from hpviz import Categorical, Float, Int, SchemaError, SearchSpace
from hpviz_optuna._compat import is_incompatible_distribution_error

__all__ = ["to_optuna", "from_optuna", "suggest"]


def _check(space: Any) -> SearchSpace:
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, Mapping):
        return SearchSpace(space)
    raise SchemaError(f"expected an hpviz.SearchSpace, got {type(space).__name__}")


def _log_step(name: str, param: Float | Int, drop_log_step: bool) -> bool:
    """Whether ``param`` is log-scaled *and* stepped, which Optuna cannot express."""
    stepped = param.step is not None if isinstance(param, Float) else param.step != 1
    if not (param.log and stepped):
        return False
    if drop_log_step:
        return True
    kind = type(param).__name__
    raise SchemaError(
        f"parameter {name!r} is {kind}(log=True, step={param.step}): Optuna cannot sample a log-scaled "
        "parameter on a step grid. Pass drop_log_step=True to search it log-uniformly without the step, "
        f"or remove log/step from {name!r}"
    )


def to_optuna(space: hpviz.SearchSpace | Mapping[str, Any], *, drop_log_step: bool = False) -> dict[str, Any]:
    """Export an hpviz space as ``{name: optuna distribution}``.

    Parameters
    ----------
    space:
        An :class:`hpviz.SearchSpace` (or a mapping of hpviz parameters).
    drop_log_step:
        Optuna has no log-scaled stepped distribution (Hyperopt's ``qloguniform``).
        By default such a parameter raises :class:`hpviz.SchemaError`; with
        ``True`` it is exported log-scaled without its step.

    Returns
    -------
    dict
        ``FloatDistribution``/``IntDistribution``/``CategoricalDistribution`` by
        name, in the space's order. Note that Optuna snaps ``high`` down to the
        step grid when ``high - low`` is not a multiple of ``step``.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, p in _check(space).items():
        if isinstance(p, Categorical):
            out[name] = CategoricalDistribution(tuple(p.choices))
        elif isinstance(p, Int):
            step = 1 if _log_step(name, p, drop_log_step) else p.step
            out[name] = IntDistribution(p.low, p.high, log=p.log, step=step)
        else:
            step = None if _log_step(name, p, drop_log_step) else p.step
            out[name] = FloatDistribution(p.low, p.high, log=p.log, step=step)
    return out


def from_optuna(distributions: Mapping[str, Any]) -> hpviz.SearchSpace:
    """Import ``{name: optuna distribution}`` (e.g. ``trial.distributions``) as an hpviz space.

    A degenerate range (``low == high``) becomes a one-choice
    :class:`hpviz.Categorical`; see :func:`hpviz_optuna.convert.param_from_distribution`.
    """
    from hpviz_optuna.convert import param_from_distribution

    if not isinstance(distributions, Mapping):
        raise SchemaError(f"from_optuna expects a mapping name -> Optuna distribution, got {type(distributions).__name__}")
    return SearchSpace({str(name): param_from_distribution(d) for name, d in distributions.items()})


def suggest(trial: Any, space: hpviz.SearchSpace | Mapping[str, Any], *, drop_log_step: bool = False,
            experiment: hpviz.Experiment | None = None) -> dict[str, Any]:
    """Sample ``space`` in an Optuna trial (``trial.suggest_*``).

    Use it inside the objective to search an hpviz space, e.g. the refined
    space of :func:`hpviz.suggest_space` in the next round::

        def objective(trial):
            params = hpviz_optuna.suggest(trial, suggestion.space, experiment=previous)
            return train(**params)

    With ``experiment`` (the experiment the space was refined from), the
    if/else branches of a conditional space are kept: a parameter that was
    suggested only for some choices of a categorical parameter is sampled
    only when the trial takes one of those choices (see
    :func:`hpviz_optuna.code.branches`). Without it every parameter is sampled.

    Optuna keeps a parameter's kind, log scale and categorical choices fixed
    within a study (ranges and steps may change), so a space that drops
    choices, switches to log, or fixes a numeric parameter to a one-choice
    Categorical must be searched in a new study; a conflict raises
    :class:`hpviz.SchemaError` saying so.

    Returns
    -------
    dict
        ``name -> sampled value`` for the parameters active in this trial.
    """
    from hpviz_optuna.code import plan

    space = _check(space)
    values: dict[str, Any] = {}

    def sample(node: Any) -> None:
        values[node.name] = _suggest_one(trial, node.name, space[node.name], drop_log_step)
        for branch_values, kids in node.branches:
            if branch_values is None or any(_same(values[node.name], v) for v in branch_values):
                for kid in kids:
                    sample(kid)

    for node in plan(space, experiment):
        sample(node)
    return values


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _suggest_one(trial: Any, name: str, p: Any, drop_log_step: bool) -> Any:
    try:
        if isinstance(p, Categorical):
            return trial.suggest_categorical(name, list(p.choices))
        if isinstance(p, Int):
            step = 1 if _log_step(name, p, drop_log_step) else p.step
            return trial.suggest_int(name, p.low, p.high, step=step, log=p.log)
        step = None if _log_step(name, p, drop_log_step) else p.step
        return trial.suggest_float(name, p.low, p.high, step=step, log=p.log)
    except ValueError as exc:
        if isinstance(exc, SchemaError) or not is_incompatible_distribution_error(exc):
            raise
        raise SchemaError(
            f"parameter {name!r} cannot be sampled as {p!r} in this Optuna study: {exc} Optuna fixes a "
            "parameter's kind, log scale and categorical choices for the whole study, so search a refined "
            "space in a new study (HpvizCallback keeps numbering the trials across studies)"
        ) from exc
