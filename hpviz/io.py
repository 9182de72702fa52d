"""Saving and loading experiments as versioned JSON, and atomic file writes.

File layout (``schema_version`` 1)::

    {"format": "hpviz-experiment", "schema_version": 1, "hpviz_version": "...",
     "name": ..., "source": ..., "objectives": [[name, "min"|"max"], ...],
     "rounds": [{"index", "space", "parent_space", "changes", "note"}, ...],
     "trials": [{"number", "params", "values", "state", "round", "log",
                 "started", "finished", "budget", "attrs"}, ...]}

Plain JSON carries str, int, float, bool and None with their types intact
(``1``, ``1.0`` and ``true`` stay distinct). What JSON cannot carry is tagged:
non-finite floats as ``{"$float": "nan" | "inf" | "-inf"}``, tuples as
``{"$tuple": [...]}``, datetimes as ``{"$datetime": iso}``. Any other object
(a class instance used as a Hyperopt choice, say) is stored as
``{"$repr": repr(obj)}`` and loads back as that string: the one lossy case.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpviz._output import atomic_write
from hpviz.errors import SchemaError
from hpviz.reservoir import ReservoirLog
from hpviz.schema import (
    Categorical,
    Change,
    Experiment,
    Float,
    Int,
    Param,
    Round,
    SearchSpace,
    Trial,
)

__all__ = [
    "SCHEMA_VERSION",
    "save",
    "load",
    "atomic_write",
    "space_to_dict",
    "space_from_dict",
    "experiment_to_dict",
    "experiment_from_dict",
]

SCHEMA_VERSION = 1
FORMAT = "hpviz-experiment"


# --------------------------------------------------------------------------- value encoding


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, _dt.datetime):
        return {"$datetime": value.isoformat()}
    # NumPy scalars and the like
    if hasattr(value, "item") and callable(value.item):
        try:
            return _encode(value.item())
        except (TypeError, ValueError):
            pass
    return {"$repr": repr(value)}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, inner), = value.items()
            if tag == "$float":
                return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[inner]
            if tag == "$tuple":
                return tuple(_decode(v) for v in inner)
            if tag == "$dict":
                return {_decode(k): _decode(v) for k, v in inner}
            if tag == "$datetime":
                return _dt.datetime.fromisoformat(inner)
            if tag == "$repr":
                return inner
        return {k: _decode(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- spaces


def _param_to_dict(param: Param) -> dict[str, Any]:
    if isinstance(param, Float):
        return {"type": "float", "low": param.low, "high": param.high, "log": param.log, "step": param.step}
    if isinstance(param, Int):
        return {"type": "int", "low": param.low, "high": param.high, "log": param.log, "step": param.step}
    return {"type": "categorical", "choices": [_encode(c) for c in param.choices]}


def _param_from_dict(data: Mapping[str, Any], where: str) -> Param:
    kind = data.get("type")
    if kind == "float":
        return Float(data["low"], data["high"], log=data.get("log", False), step=data.get("step"))
    if kind == "int":
        return Int(data["low"], data["high"], log=data.get("log", False), step=data.get("step", 1))
    if kind == "categorical":
        return Categorical(tuple(_decode(c) for c in data["choices"]))
    raise SchemaError(f"{where}: unknown parameter type {kind!r}")


def space_to_dict(space: SearchSpace) -> dict[str, Any]:
    """JSON-able form of a search space (order preserved)."""
    return {"params": [[name, _param_to_dict(p)] for name, p in space.items()], "inferred": space.inferred}


def space_from_dict(data: Mapping[str, Any]) -> SearchSpace:
    return SearchSpace(
        {name: _param_from_dict(p, f"space[{name!r}]") for name, p in data["params"]},
        inferred=bool(data.get("inferred", False)),
    )


# --------------------------------------------------------------------------- experiments


def _trial_to_dict(t: Trial) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.value,
        "round": t.round,
        "params": {k: _encode(v) for k, v in t.params.items()},
        "values": {k: _encode(v) for k, v in t.values.items()},
        "log": None if t.log is None else _encode(t.log.to_state()),
        "started": None if t.started is None else t.started.isoformat(),
        "finished": None if t.finished is None else t.finished.isoformat(),
        "budget": t.budget,
        "attrs": _encode(dict(t.attrs or {})),
        "feasible": t.feasible,
        "constraints": _encode(t.constraints) if t.constraints is not None else None,
    }


def _trial_from_dict(d: Mapping[str, Any]) -> Trial:
    log = d.get("log")
    return Trial(
        number=d["number"],
        params={k: _decode(v) for k, v in d.get("params", {}).items()},
        values={k: _decode(v) for k, v in d.get("values", {}).items()},
        state=d["state"],
        log=None if log is None else ReservoirLog.from_state(_decode(log)),
        started=d.get("started"),
        finished=d.get("finished"),
        budget=d.get("budget"),
        attrs=_decode(d.get("attrs") or {}),
        feasible=d.get("feasible", True),
        constraints=_decode(d["constraints"]) if d.get("constraints") is not None else None,
        round=d.get("round", 0),
    )


def _change_to_dict(c: Change) -> dict[str, Any]:
    return {
        "param": c.param,
        "action": c.action,
        "before": None if c.before is None else _param_to_dict(c.before),
        "after": None if c.after is None else _param_to_dict(c.after),
        "reason": c.reason,
    }


def _change_from_dict(d: Mapping[str, Any]) -> Change:
    return Change(
        d["param"],
        d["action"],
        None if d["before"] is None else _param_from_dict(d["before"], "change.before"),
        None if d["after"] is None else _param_from_dict(d["after"], "change.after"),
        d["reason"],
    )


def experiment_to_dict(exp: Experiment) -> dict[str, Any]:
    from hpviz import __version__

    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "hpviz_version": __version__,
        "name": exp.name,
        "source": exp.source,
        "framework": exp.framework,
        "notes": list(exp.notes),
        "objectives": [[k, v] for k, v in exp.objectives.items()],
        "rounds": [
            {
                "index": r.index,
                "space": space_to_dict(r.space),
                "parent_space": None if r.parent_space is None else space_to_dict(r.parent_space),
                "changes": [_change_to_dict(c) for c in r.changes],
                "note": r.note,
            }
            for r in exp.rounds
        ],
        "trials": [_trial_to_dict(t) for t in exp.trials],
    }


def experiment_from_dict(data: Any, where: str = "data") -> Experiment:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise SchemaError(f"{where} is not an hpviz experiment file (missing 'format': {FORMAT!r})")
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise SchemaError(f"{where} has no integer 'schema_version'")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} was written with schema version {version} by hpviz {data.get('hpviz_version')}; "
            f"this hpviz reads up to version {SCHEMA_VERSION}: upgrade hpviz"
        )
    try:
        rounds = [
            Round(
                r["index"],
                space_from_dict(r["space"]),
                None if r.get("parent_space") is None else space_from_dict(r["parent_space"]),
                tuple(_change_from_dict(c) for c in r.get("changes", ())),
                r.get("note"),
            )
            for r in data["rounds"]
        ]
        exp = Experiment(rounds[0].space, dict(data["objectives"]), name=data.get("name"), source=data.get("source"),
                         framework=data.get("framework"), notes=data.get("notes") or ())
        exp._restore_rounds(rounds)
        for t in data["trials"]:
            exp.add(_trial_from_dict(t))
    except SchemaError as exc:
        raise SchemaError(f"{where}: {exc}") from exc
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SchemaError(f"{where} is corrupted: {type(exc).__name__}: {exc}") from exc
    return exp


def save(exp: Experiment, path: str | os.PathLike) -> Path:
    """Write ``exp`` to ``path`` as versioned JSON, atomically."""
    text = json.dumps(experiment_to_dict(exp), allow_nan=False, separators=(",", ":"))
    return atomic_write(path, text)


def load(path: str | os.PathLike) -> Experiment:
    """Read an experiment written by :func:`save`.

    Raises
    ------
    SchemaError
        The file is not valid JSON, not an hpviz file, or from a newer schema version.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path} is not a UTF-8 hpviz JSON file") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path} is corrupted: invalid JSON at line {exc.lineno}, column {exc.colno}") from exc
    return experiment_from_dict(data, where=str(path))
