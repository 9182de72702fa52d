"""Ax search spaces <-> :class:`hpviz.SearchSpace`.

Ax ``RangeParameter`` (float or int, ``log_scale``) -> :class:`hpviz.Float` /
:class:`hpviz.Int`; ``ChoiceParameter`` -> :class:`hpviz.Categorical` (ordered or
not: hpviz keeps the order of the values); ``FixedParameter`` -> a one-choice
Categorical. Parameter constraints (``x1 + x2 <= 1``) restrict combinations and
have no hpviz counterpart. Ax stores a stepped range as an ordered choice of
its grid; such a choice (3+ evenly spaced numbers) reads back as the stepped
range. Exported as the ``RangeParameterConfig`` /
``ChoiceParameterConfig`` list that ``Client.configure_experiment(parameters=...)``
takes; a conditional space (read from the trials of the experiment it was
refined from) exports as Ax's hierarchical space (``dependent_parameters``).
A hierarchical Ax space reads back flat: its dependents are simply absent
from the trials that did not use them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpviz import Categorical, Experiment, Float, Int, SchemaError, SearchSpace
from hpviz._branches import conditions, prune

__all__ = ["from_ax", "to_ax", "space_code"]


def _param(p: Any) -> Float | Int | Categorical:
    from ax.core.parameter import ChoiceParameter, FixedParameter, ParameterType, RangeParameter

    if isinstance(p, RangeParameter):
        if p.parameter_type == ParameterType.INT:
            return Int(int(p.lower), int(p.upper), log=bool(p.log_scale))
        return Float(float(p.lower), float(p.upper), log=bool(p.log_scale))
    if isinstance(p, ChoiceParameter):
        return _grid(p) or Categorical(tuple(p.values))
    if isinstance(p, FixedParameter):
        return Categorical((p.value,))
    raise SchemaError(f"unsupported Ax parameter {type(p).__name__} {getattr(p, 'name', '')!r}")


def _grid(p: Any) -> Float | Int | None:
    """An ordered choice of 3+ evenly spaced numbers (Ax turns a stepped range into one) as a stepped range."""
    import numpy as np

    values = list(p.values)
    if not p.is_ordered or len(values) < 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       for v in values):
        return None
    diffs = np.diff(np.asarray(values, dtype=float))
    if diffs[0] <= 0 or not np.allclose(diffs, diffs[0], rtol=1e-9, atol=0.0):
        return None
    if all(isinstance(v, int) for v in values):
        return Int(values[0], values[-1], step=int(diffs[0]))
    return Float(float(values[0]), float(values[-1]), step=float(diffs[0]))


def _config_param(c: Any) -> Float | Int | Categorical:
    if hasattr(c, "bounds"):
        low, high = c.bounds
        log = c.scaling == "log"
        if c.parameter_type == "int":
            step = int(c.step_size) if c.step_size else 1
            return Int(int(low), int(high), log=log, step=step)
        return Float(float(low), float(high), log=log, step=c.step_size)
    return Categorical(tuple(c.values))


def from_ax(space: Any) -> SearchSpace:
    """An Ax ``SearchSpace``, an experiment, or a list of ``*ParameterConfig`` as a SearchSpace."""
    space = getattr(space, "search_space", space)
    if hasattr(space, "parameters") and isinstance(space.parameters, Mapping):
        return SearchSpace({name: _param(p) for name, p in space.parameters.items()})
    if isinstance(space, Sequence) and not isinstance(space, (str, bytes)):
        return SearchSpace({c.name: _config_param(c) for c in space})
    raise SchemaError(f"expected an Ax SearchSpace, Experiment or list of parameter configs, got {type(space).__name__}")


def _kind(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    raise SchemaError(f"Ax choices must be all bools, all numbers or all strings, got {list(values)!r}")


def _dependents(space: SearchSpace, experiment: Experiment | None) -> tuple[dict[str, dict[Any, list[str]]], list[str]]:
    """``parent -> {value: [children]}`` for Ax's hierarchical space, and the children left unconditional.

    Ax's tree lets a parameter hang under one value of one parent only (a
    parameter reachable from several values is rejected as "reached from
    multiple paths"), so a child active under several values of its parent is
    searched unconditionally instead.
    """
    dependents: dict[str, dict[Any, list[str]]] = {}
    flattened = []
    for child, parent, values in conditions(space, experiment):
        if len(values) == 1:
            dependents.setdefault(parent, {}).setdefault(values[0], []).append(child)
        else:
            flattened.append(child)
    return dependents, flattened


def to_ax(space: SearchSpace | Mapping[str, Any], experiment: Experiment | None = None) -> list[Any]:
    """``[RangeParameterConfig | ChoiceParameterConfig]`` for ``Client.configure_experiment(parameters=...)``.

    A log-scaled parameter with a step becomes log-scaled without its step (Ax
    has no such range). A one-choice Categorical becomes Ax's fixed parameter.

    With ``experiment`` (the one ``space`` was refined from), a conditional
    parameter (absent from the trials where a categorical parameter took
    other values, see :func:`hpviz._branches.conditions`) becomes a dependent
    of that choice (``ChoiceParameterConfig(dependent_parameters=...)``, Ax's
    hierarchical search space), so Ax proposes it only where it is active.
    Ax hangs a dependent under one value of one parent: a parameter active
    under several values of its parent is flattened (searched in every trial;
    :func:`space_code` says so in a comment). A parameter used only with
    choices ``space`` drops is left out. Without ``experiment`` the space is flat.
    """
    from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    space, _ = prune(space, experiment)
    dependents, _ = _dependents(space, experiment)
    out = []
    for name, p in space.items():
        if isinstance(p, Categorical):
            out.append(ChoiceParameterConfig(name=name, values=list(p.choices), parameter_type=_kind(p.choices),
                                             is_ordered=False, dependent_parameters=dependents.get(name)))
        else:
            kind = "int" if isinstance(p, Int) else "float"
            step = None if p.log or p.step in (None, 1) and kind == "int" else p.step
            out.append(RangeParameterConfig(name=name, parameter_type=kind, bounds=(p.low, p.high),
                                            step_size=step, scaling="log" if p.log else None))
    return out


def space_code(space: SearchSpace, experiment: Experiment | None = None) -> str:
    """Paste-able ``ax.api.Client`` code configuring an experiment over ``space``.

    ``experiment`` (the one ``space`` was refined from) gives the conditional
    structure, written as ``dependent_parameters`` (see :func:`to_ax`).
    """
    lines = ["from ax.api import Client",
             "from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig", ""]
    _, notes = prune(space, experiment)
    lines += notes
    _, flattened = _dependents(space, experiment)
    for child, parent, values in conditions(space, experiment):
        if child in flattened:
            lines.append(f"# {child} was used only when {parent} in {list(values)!r}: Ax hangs a dependent "
                         "under one value, so it is searched in every trial (ignore it in the others)")
    lines += ["client = Client()", "client.configure_experiment(parameters=["]
    for c in to_ax(space, experiment):
        if hasattr(c, "bounds"):
            extra = (f", step_size={c.step_size!r}" if c.step_size else "") + (", scaling='log'" if c.scaling == "log" else "")
            lines.append(f"    RangeParameterConfig(name={c.name!r}, parameter_type={c.parameter_type!r}, "
                         f"bounds=({c.bounds[0]!r}, {c.bounds[1]!r}){extra}),")
        else:
            ordered = "" if c.is_ordered is None else f", is_ordered={c.is_ordered!r}"
            deps = "" if not c.dependent_parameters else f",\n        dependent_parameters={c.dependent_parameters!r}"
            lines.append(f"    ChoiceParameterConfig(name={c.name!r}, parameter_type={c.parameter_type!r}, "
                         f"values={list(c.values)!r}{ordered}{deps}),")
    lines.append("])")
    return "\n".join(lines) + "\n"
