"""OSS Vizier search spaces <-> :class:`hpviz.SearchSpace`.

DOUBLE -> :class:`hpviz.Float` (``ScaleType.LOG`` -> ``log=True``); INTEGER ->
:class:`hpviz.Int`; DISCRETE -> a stepped Float/Int when its values are
evenly spaced, else a Categorical of the numbers; CATEGORICAL ->
:class:`hpviz.Categorical`. Vizier stores categorical and discrete values
sorted, so a space read back from a study lists its choices in sorted order
whatever order they were declared in (compare choices as sets). Conditional
subspaces read back flat (a child parameter is simply inactive in the trials
that did not use it); a conditional space exports back to them (see
:func:`to_vizier`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpviz import Categorical, Experiment, Float, Int, SchemaError, SearchSpace
from hpviz._branches import Node, conditions, plan, prune

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


def _spec(name: str, p: Float | Int | Categorical) -> tuple[str, tuple[Any, ...], str | None]:
    """``(method, args, log)``: the ``SearchSpaceSelector.add_*_param`` call declaring ``p`` (``log``: scale or None)."""
    if isinstance(p, Categorical):
        if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p.choices):
            return "add_discrete_param", (name, sorted(float(c) for c in p.choices)), None
        if all(isinstance(c, str) for c in p.choices):
            return "add_categorical_param", (name, list(p.choices)), None
        raise SchemaError(f"Vizier categorical values must be strings (or all numbers), got {name!r}: {p.choices!r}")
    if isinstance(p, Int) and p.step != 1:
        return "add_discrete_param", (name, [float(v) for v in range(p.low, p.high + 1, p.step)]), None
    if isinstance(p, Float) and p.step is not None:
        n = int((p.high - p.low) / p.step + 1e-9)
        return "add_discrete_param", (name, [p.low + i * p.step for i in range(n + 1)]), None
    method = "add_int_param" if isinstance(p, Int) else "add_float_param"
    return method, (name, p.low, p.high), "LOG" if p.log else "LINEAR"


def _selected(p: Float | Int | Categorical, values: tuple[Any, ...]) -> list[Any]:
    """Parent values as Vizier holds them (DISCRETE values are floats)."""
    return [float(v) if _spec("", p)[0] == "add_discrete_param" else v for v in values]


def _walk(space: SearchSpace, experiment: Experiment | None, visit: Any) -> None:
    """Call ``visit(name, path)`` parent first, ``path`` the ``(parent, values)`` selection ``name`` goes under.

    One level of subspaces only: OSS Vizier 0.1.24 drops a subspace nested in
    a subspace when it stores a study (its proto converter copies the child
    spec before filling in the grandchildren), so a parameter conditioned on a
    conditional parameter goes into the subspace of that parameter's own
    top-level condition (active in more trials than it was; see :func:`space_code`).
    """

    def walk(node: Node, path: tuple[tuple[str, list[Any]], ...]) -> None:
        visit(node.name, path)
        for values, kids in node.branches:
            below = path if values is None or path else ((node.name, _selected(space[node.name], values)),)
            for kid in kids:
                walk(kid, below)

    for node in plan(space, experiment):
        walk(node, ())


def to_vizier(space: SearchSpace | Mapping[str, Any], objectives: Mapping[str, str] | None = None,
              experiment: Experiment | None = None) -> Any:
    """A Vizier ``ProblemStatement`` searching ``space`` (with ``objectives``: ``name -> "min" | "max"``).

    Numeric categoricals and stepped ranges become DISCRETE; other categoricals must be strings.

    With ``experiment`` (the one ``space`` was refined from), a conditional
    parameter (absent from the trials where a categorical parameter took
    other values, see :func:`hpviz._branches.conditions`) goes into that
    choice's conditional subspace (``root.add_categorical_param(...)
    .select_values([...]).add_float_param(...)``). OSS Vizier (0.1.24) stores
    such a study and serves trials you ``study.request(...)``, but none of its
    bundled algorithms (RANDOM_SEARCH and DEFAULT included) suggests in a
    conditional space: search it with Google Cloud Vizier or your own policy,
    or leave ``experiment`` out for a flat space every algorithm takes. A
    parameter used only with choices ``space`` drops is left out.
    """
    from vizier.service import pyvizier as vz

    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    problem = vz.ProblemStatement()
    added: dict[str, Any] = {}

    def add(name: str, path: tuple[tuple[str, list[Any]], ...]) -> None:
        selector = problem.search_space.root if not path else added[path[-1][0]].select_values(path[-1][1])
        method, args, log = _spec(name, space[name])
        added[name] = getattr(selector, method)(*args, **({} if log is None else {"scale_type": vz.ScaleType[log]}))

    _walk(space, experiment, add)
    goals = {"min": vz.ObjectiveMetricGoal.MINIMIZE, "max": vz.ObjectiveMetricGoal.MAXIMIZE}
    for metric, direction in (objectives or {}).items():
        problem.metric_information.append(vz.MetricInformation(metric, goal=goals[direction]))
    return problem


def space_code(space: SearchSpace, experiment: Experiment | None = None) -> str:
    """Paste-able OSS Vizier code creating a study over ``space`` (objectives from ``experiment``).

    ``experiment`` (the one ``space`` was refined from) also gives the
    conditional structure, written as conditional subspaces (see :func:`to_vizier`).
    """
    lines = ["from vizier.service import clients", "from vizier.service import pyvizier as vz", "",
             *prune(space, experiment)[1], "problem = vz.ProblemStatement()", "root = problem.search_space.root"]
    parents: set[str] = set()
    lifted = []

    def note(name: str, path: tuple[tuple[str, list[Any]], ...]) -> None:
        if path:
            parents.add(path[0][0])

    _walk(space, experiment, note)
    for child, parent, values in conditions(space, experiment):
        if parent not in parents:
            lifted.append(f"# {child} was used only when {parent} in {list(values)!r}: OSS Vizier drops nested "
                          "subspaces when it stores a study, so it sits in the subspace above (ignore it elsewhere)")
    if parents:
        lines += [*lifted, "parents = {}  # the parameters that open conditional subspaces"]

    def add(name: str, path: tuple[tuple[str, list[Any]], ...]) -> None:
        method, args, log = _spec(name, space[name])
        scale = ", scale_type=vz.ScaleType.LOG" if log == "LOG" else ""
        where = "root" if not path else f"parents[{path[-1][0]!r}].select_values({path[-1][1]!r})"
        target = f"parents[{name!r}] = " if name in parents else ""
        lines.append(f"{target}{where}.{method}({', '.join(repr(a) for a in args)}{scale})")

    _walk(space, experiment, add)
    goals = {"min": "MINIMIZE", "max": "MAXIMIZE"}
    for metric, direction in (experiment.objectives if experiment is not None else {"objective": "max"}).items():
        lines.append(f"problem.metric_information.append(vz.MetricInformation({metric!r}, "
                     f"goal=vz.ObjectiveMetricGoal.{goals[direction]}))")
    lines += ["study_config = vz.StudyConfig.from_problem(problem)"]
    if parents:
        lines += ["# a conditional space: OSS Vizier's bundled algorithms do not suggest in one (they raise);",
                  "# study.request(vz.TrialSuggestion(parameters=...)) queues your own trials, or run your policy"]
    lines += ["study_config.algorithm = 'DEFAULT'",
              "# give the datastore a path: its default lies inside site-packages",
              "clients.environment_variables.servicer_kwargs['database_url'] = 'sqlite:///vizier.db'",
              "study = clients.Study.from_study_config(study_config, owner='me', study_id='next-round')"]
    return "\n".join(lines) + "\n"
