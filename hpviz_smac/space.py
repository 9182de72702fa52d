"""ConfigSpace spaces (what SMAC3 searches) <-> :class:`hpviz.SearchSpace`.

Reading works on ConfigSpace's JSON form (``configspace.json`` in a SMAC
output folder, or ``ConfigurationSpace.to_serialized_dict()``), so it needs
neither SMAC nor ConfigSpace installed. Conditions make parameters inactive
(absent from the trials that did not use them); forbidden clauses only
remove combinations, so they have no hpviz counterpart and are not kept.
Normal and beta distributions keep their bounds only (hpviz describes the
range searched, not the sampling prior); ordinal parameters become
categoricals in their declared order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpviz import Categorical, Experiment, Float, Int, SchemaError, SearchSpace
from hpviz._branches import conditions, prune

__all__ = ["from_configspace", "to_configspace", "conditions_of", "space_code"]

_FLOAT_TYPES = {"uniform_float", "normal_float", "beta_float"}
_INT_TYPES = {"uniform_int", "normal_int", "beta_int"}


def _param(hp: Mapping[str, Any]) -> Float | Int | Categorical:
    kind = hp.get("type")
    name = hp.get("name")
    if kind in _FLOAT_TYPES or kind in _INT_TYPES:
        if hp.get("lower") is None or hp.get("upper") is None:
            raise SchemaError(f"ConfigSpace parameter {name!r} ({kind}) has no bounds; pass space= to hpviz.experiment")
        cls = Int if kind in _INT_TYPES else Float
        lower, upper = hp["lower"], hp["upper"]
        if lower == upper:
            return Categorical((lower,))
        step = hp.get("q")
        if cls is Float:
            return Float(float(lower), float(upper), log=bool(hp.get("log")), step=None if hp.get("log") else step)
        return Int(int(lower), int(upper), log=bool(hp.get("log")))
    if kind == "categorical":
        return Categorical(tuple(hp["choices"]))
    if kind == "ordinal":
        return Categorical(tuple(hp["sequence"]))
    if kind == "constant":
        return Categorical((hp["value"],))
    raise SchemaError(f"unsupported ConfigSpace parameter type {kind!r} for {name!r}")


def from_configspace(cs: Any) -> SearchSpace:
    """A ConfigSpace ``ConfigurationSpace`` (or its JSON dict) as a SearchSpace."""
    data = cs.to_serialized_dict() if hasattr(cs, "to_serialized_dict") else cs  # a ConfigurationSpace is a Mapping too
    hps = data.get("hyperparameters")
    if not isinstance(hps, list):
        raise SchemaError("not a ConfigSpace JSON dict: no 'hyperparameters' list")
    return SearchSpace({str(hp["name"]): _param(hp) for hp in hps})


def conditions_of(experiment: Experiment | None, space: SearchSpace) -> list[tuple[str, str, list[Any]]]:
    """Conditions ``(child, parent, parent values)`` that explain which trials left a parameter inactive.

    Read from the trials (an Experiment does not keep ConfigSpace's conditions)
    by :func:`hpviz._branches.conditions`: a parameter absent from some trials
    is conditioned on the categorical parameter whose values in the trials
    that used it never occur in the trials that did not; values dropped from
    ``space`` (a refined space) drop out, and a parameter whose branch lost
    all its values is not in ``space`` to begin with.
    """
    return [(child, parent, list(values)) for child, parent, values in conditions(space, experiment)]


def to_configspace(space: SearchSpace | Mapping[str, Any],
                   conditions: Sequence[tuple[str, str, Sequence[Any]]] = (), seed: int | None = None) -> Any:
    """A ConfigSpace ``ConfigurationSpace`` searching ``space`` (needs ConfigSpace, which SMAC installs).

    ``conditions`` are ``(child, parent, parent values)`` (see :func:`conditions_of`).
    A stepped Float or Int becomes an ordinal of its grid values (ConfigSpace 1.x has no step).
    """
    import ConfigSpace as CS

    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    cs = CS.ConfigurationSpace(seed=seed)
    hps = []
    for name, p in space.items():
        if isinstance(p, Categorical):
            hps.append(CS.CategoricalHyperparameter(name, list(p.choices)))
        elif isinstance(p, Int) and p.step != 1:
            hps.append(CS.OrdinalHyperparameter(name, list(range(p.low, p.high + 1, p.step))))
        elif isinstance(p, Float) and p.step is not None:
            n = int((p.high - p.low) / p.step + 1e-9)
            hps.append(CS.OrdinalHyperparameter(name, [p.low + i * p.step for i in range(n + 1)]))
        elif isinstance(p, Int):
            hps.append(CS.UniformIntegerHyperparameter(name, p.low, p.high, log=p.log))
        else:
            hps.append(CS.UniformFloatHyperparameter(name, p.low, p.high, log=p.log))
    cs.add(hps)
    for child, parent, values in conditions:
        values = list(values)
        cond = (CS.EqualsCondition(cs[child], cs[parent], values[0]) if len(values) == 1
                else CS.InCondition(cs[child], cs[parent], values))
        cs.add(cond)
    return cs


def space_code(space: SearchSpace, experiment: Experiment | None = None) -> str:
    """Paste-able ConfigSpace code for a SMAC3 scenario searching ``space``.

    With ``experiment`` (the one ``space`` was refined from) the conditions read
    from its trials become ``EqualsCondition``/``InCondition``; a parameter used
    only with choices ``space`` drops is left out (said in a comment).
    """
    space, notes = prune(space, experiment)
    lines = ["from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, InCondition, Integer",
             "", *notes, "cs = ConfigurationSpace(seed=0)", "cs.add(["]
    for name, p in space.items():
        if isinstance(p, Categorical):
            lines.append(f"    Categorical({name!r}, {list(p.choices)!r}),")
        elif isinstance(p, Int) and p.step != 1:
            lines.append(f"    Categorical({name!r}, {list(range(p.low, p.high + 1, p.step))!r}, ordered=True),")
        elif isinstance(p, Float) and p.step is not None:
            n = int((p.high - p.low) / p.step + 1e-9)
            grid = [p.low + i * p.step for i in range(n + 1)]
            lines.append(f"    Categorical({name!r}, {grid!r}, ordered=True),")
        else:
            cls = "Integer" if isinstance(p, Int) else "Float"
            log = ", log=True" if p.log else ""
            lines.append(f"    {cls}({name!r}, ({p.low!r}, {p.high!r}){log}),")
    lines.append("])")
    for child, parent, values in conditions_of(experiment, space):
        if len(values) == 1:
            lines.append(f"cs.add(EqualsCondition(cs[{child!r}], cs[{parent!r}], {values[0]!r}))")
        else:
            lines.append(f"cs.add(InCondition(cs[{child!r}], cs[{parent!r}], {values!r}))")
    lines.append("# scenario = smac.Scenario(cs, deterministic=True, n_trials=100, crash_cost=1e9)")
    return "\n".join(lines) + "\n"
