"""OSS Vizier search spaces <-> :class:`hpviz.SearchSpace`.

DOUBLE -> :class:`hpviz.Float` (``ScaleType.LOG`` -> ``log=True``); INTEGER ->
:class:`hpviz.Int`; DISCRETE -> a stepped Float/Int when its values are
evenly spaced, else a Categorical of the numbers; CATEGORICAL ->
:class:`hpviz.Categorical`. Vizier stores categorical and discrete values
sorted, so a space read back from a study lists its choices in sorted order
whatever order they were declared in (compare choices as sets). Conditional
subspaces are flattened (a child parameter is simply inactive in the trials
that did not use it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpviz import Categorical, Experiment, Float, Int, SchemaError, SearchSpace

__all__ = ["from_vizier", "to_vizier", "space_code"]


def _evenly_spaced(values: list[float]) -> float | None:
    if len(values) < 3:
        return None
    step = values[1] - values[0]
    if step <= 0 or any(abs((b - a) - step) > 1e-9 * max(1.0, abs(step)) for a, b in zip(values, values[1:])):
        return None
    return step


def _param(pc: Any) -> Float | Int | Categorical:
    from vizier.service import pyvizier as vz

    kind = pc.type
    if kind == vz.ParameterType.DOUBLE:
        low, high = pc.bounds
        return Float(float(low), float(high), log=pc.scale_type == vz.ScaleType.LOG)
    if kind == vz.ParameterType.INTEGER:
        low, high = pc.bounds
        return Int(int(low), int(high), log=pc.scale_type == vz.ScaleType.LOG)
    if kind == vz.ParameterType.DISCRETE:
        values = [float(v) for v in pc.feasible_values]
        step = _evenly_spaced(values)
        ints = all(v.is_integer() for v in values)
        if step is not None:
            if ints and float(step).is_integer():
                return Int(int(values[0]), int(values[-1]), step=int(step))
            return Float(values[0], values[-1], step=step)
        return Categorical(tuple(int(v) if ints else v for v in values))
    if kind == vz.ParameterType.CATEGORICAL:
        return Categorical(tuple(pc.feasible_values))
    raise SchemaError(f"unsupported Vizier parameter type {kind} for {pc.name!r}")


def from_vizier(space: Any) -> SearchSpace:
    """A Vizier ``SearchSpace``, ``ProblemStatement`` or ``StudyConfig`` as a SearchSpace (subspaces flattened)."""
    space = getattr(space, "search_space", space)
    params: dict[str, Float | Int | Categorical] = {}
    for pc in space.parameters:
        stack = [pc]
        while stack:
            p = stack.pop(0)
            params.setdefault(p.name, _param(p))
            stack.extend(p.child_parameter_configs)
    return SearchSpace(params)


def _add(root: Any, name: str, p: Float | Int | Categorical) -> None:
    from vizier.service import pyvizier as vz

    if isinstance(p, Categorical):
        if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p.choices):
            root.add_discrete_param(name, sorted(float(c) for c in p.choices))
        elif all(isinstance(c, str) for c in p.choices):
            root.add_categorical_param(name, list(p.choices))
        else:
            raise SchemaError(f"Vizier categorical values must be strings (or all numbers), got {name!r}: {p.choices!r}")
    elif isinstance(p, Int) and p.step != 1:
        root.add_discrete_param(name, [float(v) for v in range(p.low, p.high + 1, p.step)])
    elif isinstance(p, Float) and p.step is not None:
        n = int((p.high - p.low) / p.step + 1e-9)
        root.add_discrete_param(name, [p.low + i * p.step for i in range(n + 1)])
    else:
        scale = vz.ScaleType.LOG if p.log else vz.ScaleType.LINEAR
        if isinstance(p, Int):
            root.add_int_param(name, p.low, p.high, scale_type=scale)
        else:
            root.add_float_param(name, p.low, p.high, scale_type=scale)


def to_vizier(space: SearchSpace | Mapping[str, Any], objectives: Mapping[str, str] | None = None) -> Any:
    """A Vizier ``ProblemStatement`` searching ``space`` (with ``objectives``: ``name -> "min" | "max"``).

    Numeric categoricals and stepped ranges become DISCRETE; other categoricals must be strings.
    """
    from vizier.service import pyvizier as vz

    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    problem = vz.ProblemStatement()
    for name, p in space.items():
        _add(problem.search_space.root, name, p)
    goals = {"min": vz.ObjectiveMetricGoal.MINIMIZE, "max": vz.ObjectiveMetricGoal.MAXIMIZE}
    for metric, direction in (objectives or {}).items():
        problem.metric_information.append(vz.MetricInformation(metric, goal=goals[direction]))
    return problem


def space_code(space: SearchSpace, experiment: Experiment | None = None) -> str:
    """Paste-able OSS Vizier code creating a study over ``space`` (objectives from ``experiment``)."""
    lines = ["from vizier.service import clients", "from vizier.service import pyvizier as vz", "",
             "problem = vz.ProblemStatement()", "root = problem.search_space.root"]
    for name, p in space.items():
        if isinstance(p, Categorical):
            if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p.choices):
                lines.append(f"root.add_discrete_param({name!r}, {sorted(float(c) for c in p.choices)!r})")
            else:
                lines.append(f"root.add_categorical_param({name!r}, {[str(c) for c in p.choices]!r})")
        elif isinstance(p, Int) and p.step != 1:
            lines.append(f"root.add_discrete_param({name!r}, {[float(v) for v in range(p.low, p.high + 1, p.step)]!r})")
        elif isinstance(p, Float) and p.step is not None:
            n = int((p.high - p.low) / p.step + 1e-9)
            lines.append(f"root.add_discrete_param({name!r}, {[p.low + i * p.step for i in range(n + 1)]!r})")
        else:
            method = "add_int_param" if isinstance(p, Int) else "add_float_param"
            scale = ", scale_type=vz.ScaleType.LOG" if p.log else ""
            lines.append(f"root.{method}({name!r}, {p.low!r}, {p.high!r}{scale})")
    goals = {"min": "MINIMIZE", "max": "MAXIMIZE"}
    for metric, direction in (experiment.objectives if experiment is not None else {"objective": "max"}).items():
        lines.append(f"problem.metric_information.append(vz.MetricInformation({metric!r}, "
                     f"goal=vz.ObjectiveMetricGoal.{goals[direction]}))")
    lines += ["study_config = vz.StudyConfig.from_problem(problem)",
              "study_config.algorithm = 'DEFAULT'",
              "# give the datastore a path: its default lies inside site-packages",
              "clients.environment_variables.servicer_kwargs['database_url'] = 'sqlite:///vizier.db'",
              "study = clients.Study.from_study_config(study_config, owner='me', study_id='next-round')"]
    return "\n".join(lines) + "\n"
