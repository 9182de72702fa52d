"""Optuna studies -> :class:`hpviz.Experiment`.

Optuna is imported only inside the functions that need it, so importing this
module (which the plugin manager does for every installed adapter) is cheap.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import hpviz
from hpviz import Categorical, Experiment, Float, Int, ReservoirLog, SchemaError, SearchSpace, Trial, TrialState
from hpviz.convert import check_options
from hpviz.schema import choice_key
from hpviz_optuna._compat import open_rdb_storage, rdb_has_optuna_schema, sqlite_has_optuna_schema, trial_constraints

__all__ = [
    "study_to_experiment",
    "load_study_experiment",
    "objective_names",
    "param_from_distribution",
    "merge_params",
    "trial_from_frozen",
    "is_optuna_storage",
    "convert",
    "OPTIONS",
]

_DIRECTIONS = {"MINIMIZE": "min", "MAXIMIZE": "max"}
_STATES = {
    "COMPLETE": TrialState.COMPLETE,
    "PRUNED": TrialState.PRUNED,
    "FAIL": TrialState.FAIL,
    "RUNNING": TrialState.RUNNING,
    "WAITING": TrialState.WAITING,
}


# --------------------------------------------------------------------------- distributions


def param_from_distribution(dist: Any) -> hpviz.Float | hpviz.Int | hpviz.Categorical:
    """One Optuna distribution as an hpviz parameter.

    ``FloatDistribution`` -> :class:`hpviz.Float` (log, step kept),
    ``IntDistribution`` -> :class:`hpviz.Int`, ``CategoricalDistribution`` ->
    :class:`hpviz.Categorical` (choices kept in order, mixed types allowed).
    The deprecated ``Uniform``/``LogUniform``/``DiscreteUniform``/``IntUniform``/
    ``IntLogUniform`` classes are subclasses of those and convert the same way.
    A degenerate numeric range (``low == high``, which Optuna allows) becomes a
    one-choice :class:`hpviz.Categorical`, since hpviz needs ``low < high``.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return Categorical(tuple(dist.choices))
    if isinstance(dist, IntDistribution):
        if dist.low == dist.high:
            return Categorical((int(dist.low),))
        return Int(int(dist.low), int(dist.high), log=bool(dist.log), step=int(dist.step))
    if isinstance(dist, FloatDistribution):
        if dist.low == dist.high:
            return Categorical((float(dist.low),))
        return Float(float(dist.low), float(dist.high), log=bool(dist.log), step=dist.step)
    raise SchemaError(f"unsupported Optuna distribution {type(dist).__name__}: {dist!r}")


def merge_params(params: Sequence[Any], observed: Iterable[Any] = ()) -> hpviz.Float | hpviz.Int | hpviz.Categorical:
    """The smallest hpviz parameter covering several definitions of one parameter.

    Used when a study changed a parameter's distribution between trials (a
    widened range, a different step, a new choice): numeric ranges are joined
    (``log`` kept only if every definition was log, ``step`` kept only if all
    agree and the grid still lines up; an Int and a Float make a Float),
    categoricals take the union of their choices in first-seen order. A mix of
    numeric and categorical definitions becomes a Categorical of the declared
    choices plus the ``observed`` numeric values.
    """
    params = list(dict.fromkeys(params))  # unique, in order
    if len(params) == 1:
        return params[0]
    cats = [p for p in params if isinstance(p, Categorical)]
    nums = [p for p in params if not isinstance(p, Categorical)]
    points: list[float] = []  # one-value numeric "categoricals" (Optuna's low == high) join a numeric range
    if nums:
        for p in list(cats):
            if all(_is_number(c) for c in p.choices):
                points.extend(float(c) for c in p.choices)
                cats.remove(p)
    if cats and nums:
        choices = [c for p in cats for c in p.choices]
        return Categorical(_unique([*choices, *observed]))
    if cats:
        return Categorical(_unique(c for p in cats for c in p.choices))
    low = min([p.low for p in nums] + points)
    high = max([p.high for p in nums] + points)
    log = all(p.log for p in nums) and low > 0
    if all(isinstance(p, Int) for p in nums) and all(float(v).is_integer() for v in points):
        low, high = int(low), int(high)
        steps = {p.step for p in nums}
        step = steps.pop() if len(steps) == 1 else 1
        if step != 1 and any((v - low) % step for v in [p.low for p in nums] + points):
            step = 1
        if log and step != 1:  # cannot happen with Optuna's own distributions; stay valid
            step = 1
        return Int(low, high, log=log, step=step)
    steps = {p.step for p in nums if isinstance(p, Float)}
    step = steps.pop() if len(steps) == 1 and all(isinstance(p, Float) for p in nums) else None
    offsets = [p.low - low for p in nums] + [v - low for v in points]
    if step is not None and any(not _on_grid(off, step) for off in offsets):
        step = None
    return Float(low, high, log=log, step=step)


def _on_grid(offset: float, step: float) -> bool:
    k = offset / step
    return math.isclose(k, round(k), abs_tol=1e-9)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unique(choices: Iterable[Any]) -> tuple[Any, ...]:
    """Choices without type-aware duplicates (``1``, ``1.0`` and ``True`` stay distinct), in order."""
    seen: set[tuple[str, Any]] = set()
    out: list[Any] = []
    for c in choices:
        k = choice_key(c)
        if k not in seen:
            seen.add(k)
            out.append(c)
    return tuple(out)


def _space_from_trials(trials: Sequence[Any]) -> SearchSpace:
    """Union of the trials' distributions, parameters in first-seen order."""
    seen: dict[str, dict[Any, None]] = {}
    for ft in trials:
        for name, dist in ft.distributions.items():
            bucket = seen.setdefault(name, {})
            try:
                bucket.setdefault(dist, None)
            except TypeError:  # unhashable choices: compare by value
                if all(dist != d for d in bucket):
                    bucket[_Unhashable(dist)] = None
    space: dict[str, Any] = {}
    for name, bucket in seen.items():
        params = [param_from_distribution(getattr(d, "dist", d)) for d in bucket]
        observed = () if len(params) == 1 else (ft.params[name] for ft in trials if name in ft.params)
        space[name] = merge_params(params, observed)
    return SearchSpace(space)


class _Unhashable:
    __slots__ = ("dist",)

    def __init__(self, dist: Any):
        self.dist = dist

    def __hash__(self) -> int:
        return id(self)


# --------------------------------------------------------------------------- trials


def objective_names(study: Any) -> dict[str, str]:
    """``name -> "min" | "max"`` from ``study.directions`` and ``study.metric_names``.

    Names are the study's metric names when set (and unique), else ``"value"``
    for a single objective and ``"value_0"``, ``"value_1"``... for several.
    """
    directions = [_DIRECTIONS.get(d.name, "min") for d in study.directions]
    try:
        names = study.metric_names
    except Exception:  # noqa: BLE001 - experimental API; fall back to default names
        names = None
    if not names or len(names) != len(directions) or len(set(map(str, names))) != len(names):
        names = ["value"] if len(directions) == 1 else [f"value_{i}" for i in range(len(directions))]
    return {str(n): d for n, d in zip(names, directions)}


def _utc(value: _dt.datetime | None) -> _dt.datetime | None:
    # Optuna stores naive local time; astimezone() reads a naive datetime as local time.
    if value is None:
        return None
    return value.astimezone(_dt.timezone.utc)


def trial_from_frozen(ft: Any, objectives: Sequence[str], *, log_capacity: int = 512, round: int = 0) -> Trial:
    """An Optuna ``FrozenTrial`` as an :class:`hpviz.Trial`.

    Intermediate values go into a :class:`hpviz.ReservoirLog` under the
    primary objective's name (``budget`` is the number of reported steps);
    timestamps become aware UTC datetimes; ``user_attrs`` become ``attrs``.
    Constraint values (a sampler's ``constraints_func``, named ``"0"``, ``"1"``...,
    or ``trial.set_constraint(name, value)``) become ``constraints``; the trial is
    ``feasible`` when every value is ``<= 0`` (Optuna's rule). RUNNING and WAITING
    trials (other workers still at work) keep their state and have no values.
    """
    state = _STATES.get(ft.state.name)
    if state is None:  # pragma: no cover - a future Optuna state
        raise SchemaError(f"unknown Optuna trial state {ft.state!r} in trial {ft.number}")
    values: dict[str, float] = {}
    if ft.values is not None:
        values = {name: (math.nan if v is None else float(v)) for name, v in zip(objectives, ft.values)}
    constraints = trial_constraints(ft)
    log = None
    budget = None
    inter = ft.intermediate_values
    if inter:
        log = ReservoirLog(capacity=log_capacity, seed=ft.number)
        primary = objectives[0]
        for step in sorted(inter):
            log.append(step, **{primary: float(inter[step])})
        budget = float(len(inter))
    return Trial(
        ft.number,
        dict(ft.params),
        values,
        state,
        log=log,
        started=_utc(ft.datetime_start),
        finished=_utc(ft.datetime_complete),
        budget=budget,
        attrs=dict(ft.user_attrs) if ft.user_attrs else None,
        round=round,
        feasible=all(v <= 0 for v in constraints.values()),
        constraints=constraints or None,
    )


def study_to_experiment(study: Any, *, log_capacity: int = 512, name: str | None = None) -> Experiment:
    """Convert an ``optuna.Study`` (any number of objectives, any trial states).

    The space is the union of the distributions used by the trials (see
    :func:`merge_params` for a parameter whose distribution changed).
    Conditional parameters are simply absent from the trials that did not
    use them (hpviz reads that as inactive). A study without trials (workers
    not started yet) gives an empty Experiment; ``framework`` is ``"optuna"``.
    """
    trials = study.get_trials(deepcopy=False)
    objectives = objective_names(study)
    names = list(objectives)
    exp = Experiment(_space_from_trials(trials), objectives, name=name or study.study_name, source="optuna",
                     framework="optuna")
    for ft in trials:
        exp.add(trial_from_frozen(ft, names, log_capacity=log_capacity))
    return exp


def _sqlite_path(storage: str) -> str | None:
    """The file of a ``sqlite:///f.db`` URL; ``None`` for another scheme or an in-memory database."""
    if not storage.lower().startswith("sqlite:///"):
        return None
    db = storage[len("sqlite:///"):].split("?", 1)[0]
    return None if not db or db == ":memory:" else db


def is_optuna_storage(storage: str) -> bool:
    """Whether ``storage`` is an existing Optuna RDB database, probed without writing to it.

    An SQLite file is opened read-only (``mode=ro``) and its table names read;
    another RDB URL is inspected through SQLAlchemy. Optuna itself would
    create its tables in whatever database it opens, so this runs first.

    Raises
    ------
    hpviz.SchemaError
        The SQLite file does not exist, or the server cannot be reached.
    """
    db = _sqlite_path(storage)
    if db is not None:
        if not Path(db).is_file():
            # SQLAlchemy would silently create a missing SQLite file: say it is missing instead.
            raise SchemaError(f"Optuna storage {storage!r}: no such SQLite file {db!r}")
        return sqlite_has_optuna_schema(db)
    if storage.lower().startswith("sqlite:"):
        return False  # in-memory: nothing stored there
    try:
        return rdb_has_optuna_schema(storage)
    except Exception as exc:  # noqa: BLE001 - bad URL, missing driver, unreachable server...
        raise SchemaError(f"cannot open Optuna storage {storage!r}: {type(exc).__name__}: {exc}") from exc


def load_study_experiment(storage: str, study_name: str | None, *, log_capacity: int = 512,
                          study_option: str = "study=") -> Experiment:
    """Load a study from an Optuna storage URL (``sqlite:///f.db``, ...) and convert it.

    Without ``study_name`` the storage must hold exactly one study. The
    database is probed read-only first (:func:`is_optuna_storage`); a database
    without Optuna's tables is a :class:`hpviz.SchemaError` and is left
    untouched. Trials still RUNNING or WAITING (workers at work) are kept as such.
    ``study_option`` is how the caller names the study (``"--optuna-study"`` on
    the command line), for the error messages.
    """
    import optuna

    if not is_optuna_storage(storage):
        raise SchemaError(f"{storage!r} is not an Optuna storage (it has no Optuna tables); hpviz left it untouched")
    try:
        rdb = open_rdb_storage(storage)
        available = [s.study_name for s in rdb.get_all_studies()]
    except Exception as exc:  # noqa: BLE001 - unreadable file, incompatible schema version...
        raise SchemaError(f"cannot open Optuna storage {storage!r}: {type(exc).__name__}: {exc}") from exc
    if study_name is None:
        if len(available) != 1:
            raise SchemaError(
                f"Optuna storage {storage!r} holds {len(available)} studies {available}; name one with {study_option}"
            )
        study_name = available[0]
    if study_name not in available:
        raise SchemaError(f"no study named {study_name!r} in Optuna storage {storage!r}; it holds {available}")
    study = optuna.load_study(study_name=study_name, storage=rdb)
    return study_to_experiment(study, log_capacity=log_capacity)


_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


def _is_rdb_url(obj: Any) -> bool:
    """``sqlite:///f.db``, ``postgresql+psycopg2://...``: an Optuna RDB storage URL."""
    if not isinstance(obj, str) or "://" not in obj:
        return False
    scheme = obj.split("://", 1)[0].split("+", 1)[0].lower()
    return scheme in _RDB_SCHEMES


#: Options ``hpviz.experiment`` takes for an Optuna study or storage.
OPTIONS = ("optuna_storage", "study", "log_capacity", "name")


def _study_source(obj: Any) -> tuple[Any, str | None]:
    """``"study.db#name"`` / ``"sqlite:///study.db#name"`` -> (storage URL or ``obj``, ``"name"``).

    A path to an SQLite file holding Optuna's tables becomes its ``sqlite:///`` URL; ``#name`` picks a
    study in it (the form ``hpviz report a.json b.db#study`` takes). Anything else is returned unchanged.
    """
    if not isinstance(obj, (str, os.PathLike)):
        return obj, None
    text, name = os.fspath(obj), None
    if not Path(text).is_file() and "#" in text:
        text, name = text.rsplit("#", 1)
    if not _is_rdb_url(text):
        if not (Path(text).is_file() and Path(text).suffix.lower() != ".json" and sqlite_has_optuna_schema(text)):
            return obj, None
        text = f"sqlite:///{Path(text).resolve()}"
    return text, name or None


def convert(obj: Any, options: Mapping[str, Any]) -> Experiment | None:
    """The ``hpviz_to_experiment`` implementation: ``None`` when ``obj`` is not Optuna's.

    Converts an ``optuna.Study``; or, with ``optuna_storage=URL`` (and
    ``study=NAME`` unless the storage holds one study), the stored study. An
    RDB URL given as ``obj`` (``"sqlite:///study.db"``) or the path of an SQLite
    file (``"study.db"``) is claimed only when a read-only probe finds Optuna's
    tables in it, so other adapters can claim other databases; ``#NAME`` after
    either picks a study (``"study.db#mlp"``). Options other than
    :data:`OPTIONS` are a ``TypeError``.
    """
    obj, fragment = _study_source(obj)
    if fragment is not None:
        if options.get("study") not in (None, fragment):
            raise TypeError(f"hpviz.experiment(): the source names study {fragment!r} and study= names "
                            f"{options['study']!r}; give one")
        options = {**options, "study": fragment}
    storage = options.get("optuna_storage")
    if storage is None and _is_rdb_url(obj):
        db = _sqlite_path(obj)
        if db is not None and Path(db).is_file() and not sqlite_has_optuna_schema(db):
            return None  # another framework's database: not ours, and not touched
        storage = obj
    if storage is None:
        if not type(obj).__module__.startswith("optuna"):
            return None
        import optuna

        if not isinstance(obj, optuna.Study):
            return None
    check_options(options, OPTIONS, "an Optuna study")
    log_capacity = int(options.get("log_capacity", 512))
    if storage is not None:
        exp = load_study_experiment(str(storage), options.get("study"), log_capacity=log_capacity)
    else:
        if options.get("study") is not None:
            raise TypeError("hpviz.experiment(): study= names a study inside an Optuna storage URL; "
                            "it does not apply to an optuna.Study object")
        exp = study_to_experiment(obj, log_capacity=log_capacity)
    if options.get("name") is not None:
        exp.name = str(options["name"])
    return exp
