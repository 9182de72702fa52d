"""Saving and loading experiments as versioned JSON.

File layout (``schema_version`` 2)::

    {"format": "hpviz-experiment", "schema_version": 2, "hpviz_version": "...",
     "name": ..., "source": ..., "framework": ..., "objectives": [[name, "min"|"max"], ...],
     "rounds": [{"index", "space", "parent_space", "changes", "note"}, ...],
     "trials": [{"number", "params", "values", "state", "round", "log",
                 "started", "finished", "budget", "attrs", "feasible", "constraints"}, ...]}

A trial's ``log`` is stored by columns (:meth:`ReservoirLog.to_state`):
``{"capacity", "seed", "seen", "next", "w", "rng": [seed, draws], "ends",
"steps": [...], "scalar", "columns": {metric: [...]}, "absent"}``, one list per
metric instead of one object per point: smaller, and read and written several
times faster. Version 1 files (one ``[step, {metric: value}, scalar]`` row per
point) are still read (:func:`migrate`).

Plain JSON carries str, int, float, bool and None with their types intact
(``1``, ``1.0`` and ``true`` stay distinct). What JSON cannot carry is tagged:
non-finite floats as ``{"$float": "nan" | "inf" | "-inf"}``, tuples as
``{"$tuple": [...]}``, datetimes as ``{"$datetime": iso}``. Any other object
(a class instance used as a Hyperopt choice, say) is stored as
``{"$repr": repr(obj)}`` and loads back as that string: the one lossy case.

Loading checks every field against a bound (docs/schema.md, "Loader limits"):
a malformed file is a :class:`~hpviz.SchemaError` naming the file, the trial
and the field, and loading a file of size S takes time O(S).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpviz._output import atomic_write, check_file_path
from hpviz.errors import SchemaError
from hpviz.reservoir import ReservoirLog, _short
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
    "migrate",
    "atomic_write",
    "space_to_dict",
    "space_from_dict",
    "experiment_to_dict",
    "experiment_from_dict",
]

SCHEMA_VERSION = 2
FORMAT = "hpviz-experiment"

# Loader limits (docs/schema.md). Far above anything a real run produces; they bound the work a file can ask for.
#: Nesting depth of a stored value (params, attrs...): deeper is refused, not a RecursionError.
MAX_DEPTH = 64
#: Integers in stored values: beyond this they would overflow every float conversion downstream.
MAX_INT = 2**1023
#: Trial numbers, rounds, counts.
MAX_INDEX = 2**63 - 1
#: Epoch seconds a timestamp may hold (up to the end of year 9999).
MAX_EPOCH = 253_402_300_799.0
#: Characters of a timestamp string.
MAX_TIMESTAMP_CHARS = 64


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


def _encode_column(values: list) -> list:
    """``_encode`` of each value; a column of finite floats, ints or strings (the usual log) is kept as is."""
    types = set(map(type, values))
    if types <= _PLAIN:
        if float not in types:
            return values
        try:
            if all(map(math.isfinite, values)):
                return values
        except (OverflowError, TypeError):  # a huge int, or strings among the numbers
            pass
    isfinite = math.isfinite
    return [v if (type(v) is float and isfinite(v)) or type(v) is int or type(v) is str else _encode(v)
            for v in values]


_PLAIN = frozenset({float, int, str, bool, type(None)})


_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _decode(value: Any, where: str = "value", depth: int = 0) -> Any:
    """Inverse of :func:`_encode`, checking depth, integer size and every tag."""
    t = type(value)
    if t is float or t is str or t is bool or value is None:
        return value
    if t is int:
        if -MAX_INT <= value <= MAX_INT:
            return value
        raise SchemaError(f"{where}: integer of {len(str(abs(value)))} digits is out of range")
    if depth >= MAX_DEPTH:
        raise SchemaError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if t is list:
        return [_decode(v, where, depth + 1) for v in value]
    if t is not dict:
        raise SchemaError(f"{where}: unexpected {t.__name__}")
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == "$float":
            if type(inner) is not str or inner not in _FLOATS:
                raise SchemaError(f"{where}: $float must be 'nan', 'inf' or '-inf', got {_short(inner)}")
            return _FLOATS[inner]
        if tag == "$tuple":
            return tuple(_decode(v, where, depth + 1) for v in _list(inner, f"{where} ($tuple)"))
        if tag == "$dict":
            out = {}
            for pair in _list(inner, f"{where} ($dict)"):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise SchemaError(f"{where}: $dict items must be [key, value] pairs, got {_short(pair)}")
                key = _decode(pair[0], where, depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise SchemaError(f"{where}: $dict key {_short(key)} is not hashable") from None
                out[key] = _decode(pair[1], where, depth + 1)
            return out
        if tag == "$datetime":
            return _timestamp(inner, where, numbers=False)
        if tag == "$repr":
            if not isinstance(inner, str):
                raise SchemaError(f"{where}: $repr must be a string")
            return inner
    return {k: _decode(v, where, depth + 1) for k, v in value.items()}


def _decode_column(values: Any, where: str) -> list:
    """A log column: checked and decoded in one pass, left as is when it holds only plain scalars."""
    values = _list(values, where)
    types = set(map(type, values))  # C-speed screening of the usual all-float / all-int columns
    if types <= _PLAIN:
        if int not in types:
            return values
        ints = values if len(types) == 1 else [v for v in values if type(v) is int]
        if -MAX_INT <= min(ints) and max(ints) <= MAX_INT:
            return values
    for i, v in enumerate(values):
        t = type(v)
        if t is float or t is str or v is None or t is bool or (t is int and -MAX_INT <= v <= MAX_INT):
            continue
        return values[:i] + [_decode(x, f"{where}[{i + j}]") for j, x in enumerate(values[i:])]
    return values


# --------------------------------------------------------------------------- checked access


_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true or false", type(None): "null",
          int: "an integer", float: "a number"}


def _kind(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


def _typed(value: Any, where: str, cls: type, *, none: bool = False) -> Any:
    """``value`` if it is a ``cls`` (or None when allowed), else a SchemaError naming ``where``."""
    if (none and value is None) or isinstance(value, cls):
        return value
    raise SchemaError(f"{where} must be {_NAMES[cls]}{' or null' if none else ''}, got {_kind(value)}")


def _obj(value: Any, where: str) -> dict:
    return _typed(value, where, dict)


def _list(value: Any, where: str) -> list:
    return _typed(value, where, list)


def _int(value: Any, where: str, low: int = 0, high: int = MAX_INDEX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SchemaError(f"{where} must be an integer in [{low}, {high}], got {_short(value)}")
    return value


def _number(value: Any, where: str, *, none: bool = False) -> Any:
    if none and value is None:
        return None
    if isinstance(value, dict) and len(value) == 1 and "$float" in value:
        return _decode(value, where)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, int) and not -MAX_INT <= value <= MAX_INT):
        raise SchemaError(f"{where} must be a number{' or null' if none else ''}, got {_short(value)}")
    return value


def _timestamp(value: Any, where: str, *, numbers: bool = True) -> Any:
    if value is None and numbers:
        return None
    if isinstance(value, str):
        if len(value) > MAX_TIMESTAMP_CHARS:
            raise SchemaError(f"{where} is not an ISO timestamp (over {MAX_TIMESTAMP_CHARS} characters)")
        try:
            return _dt.datetime.fromisoformat(value)
        except ValueError:
            raise SchemaError(f"{where} is not an ISO timestamp: {_short(value)}") from None
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and -62_135_596_800 <= value <= MAX_EPOCH):
            raise SchemaError(f"{where}: {_short(value)} epoch seconds is outside the years 1..9999")
        return _dt.datetime.fromtimestamp(float(value), tz=_dt.timezone.utc)
    raise SchemaError(f"{where} must be an ISO timestamp string{', epoch seconds or null' if numbers else ''}, "
                      f"got {_short(value)}")


# --------------------------------------------------------------------------- spaces


def _param_to_dict(param: Param) -> dict[str, Any]:
    if isinstance(param, Float):
        return {"type": "float", "low": param.low, "high": param.high, "log": param.log, "step": param.step}
    if isinstance(param, Int):
        return {"type": "int", "low": param.low, "high": param.high, "log": param.log, "step": param.step}
    return {"type": "categorical", "choices": [_encode(c) for c in param.choices]}


def _param_from_dict(data: Any, where: str) -> Param:
    data = _obj(data, where)
    kind = data.get("type")
    try:
        if kind == "float":
            return Float(_number(data.get("low"), f"{where}.low"), _number(data.get("high"), f"{where}.high"),
                         log=_typed(data.get("log", False), f"{where}.log", bool),
                         step=_number(data.get("step"), f"{where}.step", none=True))
        if kind == "int":
            return Int(_int(data.get("low"), f"{where}.low", -MAX_INDEX),
                       _int(data.get("high"), f"{where}.high", -MAX_INDEX),
                       log=_typed(data.get("log", False), f"{where}.log", bool),
                       step=_int(data.get("step", 1), f"{where}.step", 1))
        if kind == "categorical":
            choices = _list(data.get("choices"), f"{where}.choices")
            return Categorical(tuple(_decode(c, f"{where}.choices") for c in choices))
    except SchemaError as exc:
        if str(exc).startswith(where):
            raise
        raise SchemaError(f"{where}: {exc}") from None
    raise SchemaError(f"{where}: unknown parameter type {_short(kind)}")


def space_to_dict(space: SearchSpace) -> dict[str, Any]:
    """JSON-able form of a search space (order preserved)."""
    return {"params": [[name, _param_to_dict(p)] for name, p in space.items()], "inferred": space.inferred}


def space_from_dict(data: Any, where: str = "space") -> SearchSpace:
    """Inverse of :func:`space_to_dict`; a malformed space is a SchemaError naming the field."""
    data = _obj(data, where)
    params = {}
    for i, item in enumerate(_list(data.get("params"), f"{where}.params")):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise SchemaError(f"{where}.params[{i}] must be [name, definition], got {_short(item)}")
        name = item[0]
        if name in params:
            raise SchemaError(f"{where}: parameter {name!r} appears twice")
        params[name] = _param_from_dict(item[1], f"{where}[{name!r}]")
    return SearchSpace(params, inferred=_typed(data.get("inferred", False), f"{where}.inferred", bool))


# --------------------------------------------------------------------------- logs


def _log_to_dict(log: ReservoirLog) -> dict[str, Any]:
    state = log.to_state()
    state["w"] = _encode(state["w"])
    state["steps"] = _encode_column(state["steps"])
    state["columns"] = {k: _encode_column(v) for k, v in state["columns"].items()}
    return state


def _log_from_dict(data: Any, where: str, version: int) -> ReservoirLog:
    try:
        if version == 1:
            return ReservoirLog._from_state_v1(_decode(data, where))
        data = dict(_obj(data, where))
        data["w"] = _number(data.get("w"), f"{where}.w")
        data["steps"] = _decode_column(data.get("steps"), f"{where}.steps")
        columns = _obj(data.get("columns"), f"{where}.columns")
        data["columns"] = {k: _decode_column(v, f"{where}.columns[{k!r}]") for k, v in columns.items()}
        return ReservoirLog.from_state(data)
    except SchemaError as exc:
        if str(exc).startswith(where):
            raise
        raise SchemaError(f"{where}: {exc}") from None


# --------------------------------------------------------------------------- experiments


def _trial_to_dict(t: Trial) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.value,
        "round": t.round,
        "params": {k: _encode(v) for k, v in t.params.items()},
        "values": {k: _encode(v) for k, v in t.values.items()},
        "log": None if t.log is None else _log_to_dict(t.log),
        "started": None if t.started is None else t.started.isoformat(),
        "finished": None if t.finished is None else t.finished.isoformat(),
        "budget": t.budget,
        "attrs": _encode(dict(t.attrs or {})),
        "feasible": t.feasible,
        "constraints": _encode(t.constraints) if t.constraints is not None else None,
    }


def _named(data: Any, where: str, decode: Any) -> dict:
    return {k: decode(v, f"{where}[{k!r}]") for k, v in _obj(data, where).items()}


def _trial_from_dict(d: Any, i: int, version: int) -> Trial:
    d = _obj(d, f"trials[{i}]")
    number = _int(d.get("number"), f"trials[{i}].number")
    where = f"trial {number} (trials[{i}])"
    log = d.get("log")
    try:
        return Trial(
            number=number,
            params=_named(d.get("params", {}), f"{where}: params", _decode),
            values=_named(d.get("values", {}), f"{where}: values", lambda v, w: _number(v, w, none=True)),
            state=_typed(d.get("state"), f"{where}: state", str),
            log=None if log is None else _log_from_dict(log, f"{where}: log", version),
            started=_timestamp(d.get("started"), f"{where}: started"),
            finished=_timestamp(d.get("finished"), f"{where}: finished"),
            budget=_number(d.get("budget"), f"{where}: budget", none=True),
            attrs=_named(d.get("attrs") or {}, f"{where}: attrs", _decode),
            feasible=_typed(d.get("feasible", True), f"{where}: feasible", bool),
            constraints=None if d.get("constraints") is None else _named(
                d["constraints"], f"{where}: constraints", _number),
            round=_int(d.get("round", 0), f"{where}: round"),
        )
    except SchemaError as exc:
        if str(exc).startswith(where):
            raise
        raise SchemaError(f"{where}: {exc}") from None


def _change_to_dict(c: Change) -> dict[str, Any]:
    return {
        "param": c.param,
        "action": c.action,
        "before": None if c.before is None else _param_to_dict(c.before),
        "after": None if c.after is None else _param_to_dict(c.after),
        "reason": c.reason,
    }


def _change_from_dict(d: Any, where: str) -> Change:
    d = _obj(d, where)
    return Change(
        _typed(d.get("param"), f"{where}.param", str),
        _typed(d.get("action"), f"{where}.action", str),
        None if d.get("before") is None else _param_from_dict(d["before"], f"{where}.before"),
        None if d.get("after") is None else _param_from_dict(d["after"], f"{where}.after"),
        _typed(d.get("reason", ""), f"{where}.reason", str),
    )


def _round_from_dict(r: Any, i: int) -> Round:
    where = f"rounds[{i}]"
    r = _obj(r, where)
    if r.get("index", i) != i:
        raise SchemaError(f"{where}.index must be {i}, got {_short(r.get('index'))}")
    return Round(
        i,
        space_from_dict(r.get("space"), f"{where}.space"),
        None if r.get("parent_space") is None else space_from_dict(r["parent_space"], f"{where}.parent_space"),
        tuple(_change_from_dict(c, f"{where}.changes[{j}]")
              for j, c in enumerate(_list(r.get("changes", []), f"{where}.changes"))),
        _typed(r.get("note"), f"{where}.note", str, none=True),
    )


def experiment_to_dict(exp: Experiment, *, trials: bool = True) -> dict[str, Any]:
    """The JSON-able dict of ``exp`` in the current schema version (``trials=False``: without its trials)."""
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
        "trials": [_trial_to_dict(t) for t in exp.trials] if trials else [],
    }


def _version(data: Any, where: str) -> int:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise SchemaError(f"{where} is not an hpviz experiment file (missing 'format': {FORMAT!r})")
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaError(f"{where} has no positive integer 'schema_version'")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} was written with schema version {version} by hpviz {_short(data.get('hpviz_version'))}; "
            f"this hpviz reads up to version {SCHEMA_VERSION}: upgrade hpviz"
        )
    return version


def _notes(value: Any) -> tuple[str, ...]:
    notes = _typed(value, "notes", list, none=True) or []
    return tuple(_typed(n, f"notes[{i}]", str) for i, n in enumerate(notes))


def experiment_from_dict(data: Any, where: str = "data") -> Experiment:
    """Build an experiment from the dict form of any supported schema version (1 or 2).

    Raises
    ------
    SchemaError
        Naming ``where`` (the file), the trial and the field at fault.
    """
    version = _version(data, where)
    try:
        rounds = [_round_from_dict(r, i) for i, r in enumerate(_list(data.get("rounds"), "rounds"))]
        if not rounds:
            raise SchemaError("rounds must hold at least one round")
        objectives = {}
        for i, item in enumerate(_list(data.get("objectives"), "objectives")):
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                raise SchemaError(f"objectives[{i}] must be [name, 'min' | 'max'], got {_short(item)}")
            objectives[item[0]] = item[1]
        exp = Experiment(rounds[0].space, objectives, name=_typed(data.get("name"), "name", str, none=True),
                         source=_typed(data.get("source"), "source", str, none=True),
                         framework=_typed(data.get("framework"), "framework", str, none=True),
                         notes=_notes(data.get("notes")))
        exp._restore_rounds(rounds)
        for i, t in enumerate(_list(data.get("trials"), "trials")):
            exp.add(_trial_from_dict(t, i, version))
    except SchemaError as exc:
        raise SchemaError(f"{where}: {exc}") from None
    return exp


def migrate(data: Any, where: str = "data") -> dict[str, Any]:
    """The dict form of a saved experiment of any supported version, rewritten as the current version."""
    return experiment_to_dict(experiment_from_dict(data, where))


def save(exp: Experiment, path: str | os.PathLike) -> Path:
    """Write ``exp`` to ``path`` as versioned JSON, atomically (``~`` expanded; the folder must exist)."""
    path = check_file_path(path)  # before the work: a bad path fails at once, naming it
    return atomic_write(path, _json_chunks(exp))


def _json_chunks(exp: Experiment, size: int = 1 << 20):
    """The JSON text of ``exp`` in pieces of about ``size`` characters, one trial encoded at a time.

    The same text as ``json.dumps(experiment_to_dict(exp))``, but memory holds one trial's dict and
    one piece of text at a time, not the whole file twice over.
    """
    def dumps(obj: Any) -> str:
        return json.dumps(obj, allow_nan=False, separators=(",", ":"))

    head = experiment_to_dict(exp, trials=False)
    head["trials"] = []
    text = dumps(head)
    assert text.endswith('"trials":[]}')
    parts, length = [text[:-2]], 0
    with _no_gc():
        for i, trial in enumerate(exp.trials):
            piece = dumps(_trial_to_dict(trial))
            parts.append("," + piece if i else piece)
            length += len(piece)
            if length >= size:
                yield "".join(parts)
                parts, length = [], 0
    parts.append("]}")
    yield "".join(parts)


def load(path: str | os.PathLike) -> Experiment:
    """Read an experiment written by :func:`save` (any schema version up to :data:`SCHEMA_VERSION`).

    Raises
    ------
    SchemaError
        The file is not valid JSON, not an hpviz file, from a newer schema version, or malformed:
        the message names the file, the trial and the field.
    """
    path = Path(os.path.expanduser(os.fspath(path)))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path} is not a UTF-8 hpviz JSON file (byte {exc.start})") from None
    try:
        with _no_gc():
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path} is corrupted: invalid JSON at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise SchemaError(f"{path} is corrupted: values nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal of thousands of digits
        raise SchemaError(f"{path} is corrupted: {exc}") from None
    del text
    with _no_gc():
        return experiment_from_dict(data, where=str(path))


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while millions of small acyclic objects are built or encoded.

    Collections triggered by the allocations would rescan the growing heap again and again (more
    than half of the time of a large load); nothing built here forms cycles. The previous state is
    restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
