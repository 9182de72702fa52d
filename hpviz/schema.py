"""The framework-neutral trial schema: search spaces, trials, experiments, rounds.

Adapters convert each framework's results into these objects; every analysis
reads only these. Validation errors are :class:`hpviz.SchemaError` and name
the field at fault. Values outside the declared space and inactive
(absent) parameters are *representable*: they are reported by
:meth:`Experiment.flags`, never rejected, because real studies contain them
(a widened space in a later round, a conditional parameter, a hand-enqueued
trial).
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from hpviz._numbers import is_real
from hpviz._richrepr import RichResult
from hpviz._validate import check, check_int, check_real
from hpviz.errors import SchemaError
from hpviz.reservoir import ReservoirLog

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Float",
    "Int",
    "Categorical",
    "Param",
    "SearchSpace",
    "TrialState",
    "Trial",
    "Change",
    "Round",
    "Flag",
    "Experiment",
    "DIRECTIONS",
    "choice_key",
]

DIRECTIONS = ("min", "max")


def _finite_number(value: Any, field_name: str) -> float:
    return check_real(field_name, value)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Float:
    """A real-valued parameter on ``[low, high]``.

    ``log=True`` means it was searched log-uniformly: analyses work on
    ``log10(value)``. ``step`` quantizes the values (``log`` and ``step``
    together describe a quantized log-uniform distribution).
    """

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        low = _finite_number(self.low, "Float.low")
        high = _finite_number(self.high, "Float.high")
        if low >= high:
            raise SchemaError(f"Float.low ({low}) must be < Float.high ({high})")
        if self.log and low <= 0:
            raise SchemaError(f"Float.low must be > 0 when log=True, got {low}")
        if self.step is not None:
            step = _finite_number(self.step, "Float.step")
            if step <= 0:
                raise SchemaError(f"Float.step must be > 0, got {step}")
            object.__setattr__(self, "step", step)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(self.log))

    kind = "float"

    def contains(self, value: Any) -> bool:
        """True when ``value`` is a number within ``[low, high]``."""
        return is_real(value) and self.low <= float(value) <= self.high

    def to_search_scale(self, values: Any) -> np.ndarray:
        """Map values to the scale the search was uniform in (log10 for log params)."""
        arr = np.asarray(values, dtype=float)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log10(arr)
        return arr

    def from_search_scale(self, values: Any) -> np.ndarray:
        arr = np.asarray(values, dtype=float)
        return np.power(10.0, arr) if self.log else arr

    @property
    def search_bounds(self) -> tuple[float, float]:
        """``(low, high)`` on the search scale."""
        lo, hi = self.to_search_scale([self.low, self.high])
        return float(lo), float(hi)


@dataclass(frozen=True)
class Int:
    """An integer parameter on ``[low, high]`` (both inclusive), spaced by ``step``."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                if isinstance(value, numbers.Real) and float(value).is_integer():
                    value = int(value)
                else:
                    raise SchemaError(f"Int.{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.low >= self.high:
            raise SchemaError(f"Int.low ({self.low}) must be < Int.high ({self.high})")
        if self.log and self.low <= 0:
            raise SchemaError(f"Int.low must be > 0 when log=True, got {self.low}")
        if self.step <= 0:
            raise SchemaError(f"Int.step must be > 0, got {self.step}")
        object.__setattr__(self, "log", bool(self.log))

    kind = "int"

    def contains(self, value: Any) -> bool:
        """True when ``value`` is an integer-valued number within ``[low, high]``."""
        return Float.contains(self, value) and float(value).is_integer()

    to_search_scale = Float.to_search_scale
    from_search_scale = Float.from_search_scale
    search_bounds = Float.search_bounds


def choice_key(value: Any) -> tuple[str, Any]:
    """Type-aware identity of a choice: ``1``, ``1.0`` and ``True`` are different choices.

    Hashable; unhashable choices are identified by their ``repr``.
    """
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    try:
        hash(value)
    except TypeError:
        return (type(value).__name__, repr(value))
    return (type(value).__name__, value)


@dataclass(frozen=True)
class Categorical:
    """An unordered choice among ``choices`` (any mix of str, int, float, bool, None)."""

    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Iterable):
            raise SchemaError(f"Categorical.choices must be a sequence, got {self.choices!r}")
        choices = tuple(self.choices)
        if not choices:
            raise SchemaError("Categorical.choices must not be empty")
        keys = [choice_key(c) for c in choices]
        if len(set(keys)) != len(keys):
            raise SchemaError(f"Categorical.choices has duplicates: {choices!r}")
        object.__setattr__(self, "choices", choices)
        object.__setattr__(self, "_index", {k: i for i, k in enumerate(keys)})

    kind = "categorical"
    log = False

    def index(self, value: Any) -> int:
        """Position of ``value`` in ``choices``; ``-1`` when it is not a declared choice."""
        return self._index.get(choice_key(value), -1)  # type: ignore[attr-defined]

    def contains(self, value: Any) -> bool:
        return self.index(value) >= 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical):
            return NotImplemented
        return [choice_key(c) for c in self.choices] == [choice_key(c) for c in other.choices]

    def __hash__(self) -> int:
        return hash(tuple(choice_key(c) for c in self.choices))


Param = Union[Float, Int, Categorical]
_PARAM_TYPES = (Float, Int, Categorical)


class SearchSpace(Mapping[str, Param]):
    """An ordered mapping ``name -> Float | Int | Categorical``.

    ``inferred=True`` marks a space reconstructed from observed values rather
    than declared by the user (its bounds are only the observed range).
    """

    __slots__ = ("_params", "inferred")

    def __init__(self, params: Mapping[str, Param] | None = None, *, inferred: bool = False):
        params = dict(params or {})
        for name, param in params.items():
            if not isinstance(name, str) or not name:
                raise SchemaError(f"SearchSpace parameter names must be non-empty strings, got {name!r}")
            if not isinstance(param, _PARAM_TYPES):
                raise SchemaError(
                    f"SearchSpace[{name!r}] must be hpviz.Float, Int or Categorical, got {type(param).__name__}"
                )
        self._params = params
        self.inferred = bool(inferred)

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SearchSpace):
            return self._params == other._params
        if isinstance(other, Mapping):
            return self._params == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {v!r}" for k, v in self._params.items())
        extra = ", inferred=True" if self.inferred else ""
        return f"SearchSpace({{{inner}}}{extra})"

    def replace(self, **params: Param) -> SearchSpace:
        """A copy with some parameters replaced or added."""
        merged = dict(self._params)
        merged.update(params)
        return SearchSpace(merged, inferred=self.inferred)

    def without(self, *names: str) -> SearchSpace:
        return SearchSpace({k: v for k, v in self._params.items() if k not in names}, inferred=self.inferred)


# --------------------------------------------------------------------------- trials


class TrialState(str, enum.Enum):
    """Life-cycle state of a trial, common to every framework.

    ``WAITING`` (queued or pending, not started) extends the public four states.
    """

    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"
    RUNNING = "RUNNING"
    WAITING = "WAITING"

    @property
    def finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _as_datetime(value: Any, field_name: str) -> _dt.datetime | None:
    if value is None or isinstance(value, _dt.datetime):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return _dt.datetime.fromtimestamp(float(value), tz=_dt.timezone.utc)
        except (OverflowError, OSError, ValueError):  # 1e20, NaN, beyond year 9999
            raise SchemaError(f"{field_name} must be epoch seconds within the years 1..9999, got {value!r}") from None
    if isinstance(value, str):
        try:
            return _dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise SchemaError(f"{field_name} is not an ISO timestamp: {value!r}") from exc
    raise SchemaError(f"{field_name} must be a datetime, epoch seconds or None, got {type(value).__name__}")


@dataclass(frozen=True)
class Trial:
    """One evaluated (or running) configuration.

    Parameters
    ----------
    number:
        Unique, non-negative identifier within the experiment (trial order).
    params:
        ``name -> value``. A parameter absent here was inactive.
    values:
        ``objective name -> float``; NaN/inf are allowed and kept.
    state:
        A :class:`TrialState` (or its name).
    log:
        Optional :class:`ReservoirLog` of intermediate metrics.
    started, finished:
        Datetimes (or epoch seconds); naive datetimes are taken as given.
    budget:
        Resources the trial consumed (epochs, steps...), when known.
    attrs:
        Other recorded metrics and metadata (``user_attrs``, extra result keys).
    round:
        Which steering round produced it (see :meth:`Experiment.next_round`).
    feasible:
        ``False`` when the trial violates the user's constraints (a sampler's
        constraint function, outcome constraints, trials a service reports
        infeasible...). Infeasible trials are kept and shown, but "best", Pareto
        fronts, top-k and suggestions consider feasible trials only.
    constraints:
        Optional ``name -> violation`` amounts as the framework reported them
        (``> 0`` violated, ``<= 0`` satisfied).
    """

    number: int
    params: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, float] = field(default_factory=dict)
    state: TrialState = TrialState.COMPLETE
    log: ReservoirLog | None = None
    started: _dt.datetime | None = None
    finished: _dt.datetime | None = None
    budget: float | None = None
    attrs: Mapping[str, Any] | None = None
    round: int = 0
    feasible: bool = True
    constraints: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", check_int("Trial.number", self.number, 0))
        try:
            object.__setattr__(self, "state", TrialState(self.state))
        except ValueError:
            names = ", ".join(s.value for s in TrialState)
            raise SchemaError(f"Trial.state must be one of {names}, got {self.state!r}") from None
        if not isinstance(self.params, Mapping):
            raise SchemaError(f"Trial.params must be a mapping, got {type(self.params).__name__}")
        if not isinstance(self.values, Mapping):
            raise SchemaError(f"Trial.values must be a mapping, got {type(self.values).__name__}")
        values = {}
        for name, value in self.values.items():
            if value is None:
                value = math.nan
            if not is_real(value):  # NaN and inf are kept: a failed or diverged evaluation
                raise SchemaError(f"Trial.values[{name!r}] must be a number (NaN and inf allowed), got {value!r}")
            values[str(name)] = float(value)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "params", dict(self.params))
        if self.log is not None and not isinstance(self.log, ReservoirLog):
            raise SchemaError(f"Trial.log must be a ReservoirLog or None, got {type(self.log).__name__}")
        object.__setattr__(self, "started", _as_datetime(self.started, "Trial.started"))
        object.__setattr__(self, "finished", _as_datetime(self.finished, "Trial.finished"))
        if self.budget is not None:
            object.__setattr__(self, "budget", _finite_number(self.budget, "Trial.budget"))
        if self.attrs is not None and not isinstance(self.attrs, Mapping):
            raise SchemaError(f"Trial.attrs must be a mapping or None, got {type(self.attrs).__name__}")
        object.__setattr__(self, "attrs", dict(self.attrs or {}))
        check_int("Trial.round", self.round, 0)
        check("Trial.feasible", self.feasible, bool)
        if self.constraints is not None:
            if not isinstance(self.constraints, Mapping):
                raise SchemaError(f"Trial.constraints must be a mapping name -> float or None, "
                                  f"got {type(self.constraints).__name__}")
            checked = {}
            for cname, amount in self.constraints.items():
                if not is_real(amount):
                    raise SchemaError(f"Trial.constraints[{cname!r}] must be a number, got {amount!r}")
                checked[str(cname)] = float(amount)
            object.__setattr__(self, "constraints", checked)

    @property
    def duration(self) -> float | None:
        """Wall-clock seconds from start to finish, when both are known."""
        if self.started is None or self.finished is None:
            return None
        try:
            return (self.finished - self.started).total_seconds()
        except TypeError:  # one naive, one aware
            return None

    def value(self, objective: str) -> float:
        """The objective value, NaN when missing."""
        return self.values.get(objective, math.nan)


# --------------------------------------------------------------------------- rounds


@dataclass(frozen=True)
class Change:
    """One edit of a search space, as suggested by :func:`hpviz.suggest_space`.

    ``action`` is one of ``shrink``, ``expand``, ``fix``, ``drop-choices``,
    ``use-log``; ``before``/``after`` are the parameter definitions (``after``
    is ``None`` when the parameter is removed).
    """

    param: str
    action: str
    before: Param | None
    after: Param | None
    reason: str


@dataclass(frozen=True)
class Round:
    """One steering round: the space searched and how it was derived from the previous one."""

    index: int
    space: SearchSpace
    parent_space: SearchSpace | None = None
    changes: tuple[Change, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Flag:
    """A trial value that does not fit the declared space (reported, never rejected).

    ``kind`` is ``out-of-space`` (value outside bounds or not a declared
    choice), ``inactive`` (declared parameter absent from the trial) or
    ``undeclared`` (parameter not in the space).
    """

    number: int
    param: str
    kind: str
    value: Any = None


# --------------------------------------------------------------------------- experiment


class Experiment(RichResult):
    """A set of trials over a search space, with named objectives and rounds.

    Parameters
    ----------
    space:
        The :class:`SearchSpace` (or a plain mapping of params) of round 0.
    objectives:
        ``name -> "min" | "max"``; the first is primary. A single string is
        taken as the name of one minimized objective.
    trials:
        Initial trials; numbers must be unique.
    name, source:
        Free text: what was tuned, and where the trials came from (a path,
        a URL, a study name).
    framework:
        The structured id of the adapter that produced the experiment
        (``Experiment.framework``), e.g. the value an adapter's hooks match
        on for space export, native code and advice; ``None`` for
        experiments built by hand or from a table.
    notes:
        Sentences the converter wants every reader to see (an inferred or
        empty search space, an order fallback, data it could not read). They
        are saved with the experiment and shown at the top of every report.
    """

    def __init__(
        self,
        space: SearchSpace | Mapping[str, Param],
        objectives: Mapping[str, str] | str,
        trials: Iterable[Trial] = (),
        name: str | None = None,
        source: str | None = None,
        framework: str | None = None,
        notes: Iterable[str] = (),
    ):
        if framework is not None and not isinstance(framework, str):
            raise SchemaError(f"Experiment.framework must be a string id or None, got {type(framework).__name__}")
        if not isinstance(space, SearchSpace):
            if not isinstance(space, Mapping):
                raise SchemaError(f"Experiment.space must be a SearchSpace, got {type(space).__name__}")
            space = SearchSpace(space)
        if isinstance(objectives, str):
            objectives = {objectives: "min"}
        if not isinstance(objectives, Mapping) or not objectives:
            raise SchemaError("Experiment.objectives must be a non-empty mapping name -> 'min'|'max'")
        checked = {}
        for obj_name, direction in objectives.items():
            if direction not in DIRECTIONS:
                raise SchemaError(
                    f"Experiment.objectives[{obj_name!r}] must be 'min' or 'max', got {direction!r}"
                )
            checked[str(obj_name)] = direction
        self.objectives: dict[str, str] = checked
        self.name = name
        self.source = source
        self.framework = framework
        notes = [notes] if isinstance(notes, str) else list(notes)
        if not all(isinstance(n, str) for n in notes):
            raise SchemaError("Experiment.notes must be a list of strings")
        self.notes: list[str] = notes
        self._rounds: list[Round] = [Round(0, space)]
        self._trials: dict[int, Trial] = {}
        for trial in trials:
            self.add(trial)

    # -- basic accessors
    @property
    def space(self) -> SearchSpace:
        """The space of the current (latest) round."""
        return self._rounds[-1].space

    @property
    def primary(self) -> str:
        """Name of the primary objective (the first one)."""
        return next(iter(self.objectives))

    @property
    def rounds(self) -> tuple[Round, ...]:
        return tuple(self._rounds)

    @property
    def trials(self) -> list[Trial]:
        """All trials, sorted by number."""
        return [self._trials[k] for k in sorted(self._trials)]

    def __len__(self) -> int:
        return len(self._trials)

    def __repr__(self) -> str:
        names = list(self.space)
        params = repr(names) if len(names) <= 12 else f"[{', '.join(map(repr, names[:12]))}, … {len(names) - 12} more]"
        return (
            f"Experiment(name={self.name!r}, framework={self.framework!r}, trials={len(self)}, "
            f"params={params}, objectives={self.objectives})"
        )


    def objective(self, objective: str | None = None) -> str:
        """Resolve an objective name (``None`` -> primary), raising SchemaError if unknown."""
        if objective is None:
            return self.primary
        if objective not in self.objectives:
            raise SchemaError(f"unknown objective {objective!r}; this experiment has {list(self.objectives)}")
        return objective

    def space_of(self, trial: Trial) -> SearchSpace:
        """The space the trial's round searched."""
        return self._rounds[min(trial.round, len(self._rounds) - 1)].space

    def all_params(self) -> dict[str, Param]:
        """Every parameter declared in any round (latest definition wins)."""
        merged: dict[str, Param] = {}
        for rnd in self._rounds:
            merged.update(rnd.space)
        return merged

    # -- mutation
    def add(self, trial: Trial, *, replace: bool = False) -> Trial:
        """Add a trial. Its ``round`` defaults to the current round.

        ``replace=True`` overwrites a trial with the same number (a RUNNING
        trial that has since finished); otherwise a duplicate number raises
        :class:`SchemaError`.
        """
        if not isinstance(trial, Trial):
            raise SchemaError(f"Experiment.add expects hpviz.Trial, got {type(trial).__name__}")
        if trial.number in self._trials and not replace:
            raise SchemaError(f"duplicate Trial.number {trial.number} in experiment {self.name!r}")
        if trial.round >= len(self._rounds):
            raise SchemaError(f"Trial.round {trial.round} does not exist (rounds: 0..{len(self._rounds) - 1})")
        self._trials[trial.number] = trial
        return trial

    def next_trial_number(self) -> int:
        return max(self._trials, default=-1) + 1

    def next_round(self, space: SearchSpace | Mapping[str, Param], changes: Iterable[Change] = (),
                   note: str | None = None) -> Round:
        """Start a new steering round searching ``space``.

        The round remembers its parent space and the changes applied; trials
        created afterwards should carry ``round=exp.rounds[-1].index`` (the
        adapters' callbacks do this).
        """
        if not isinstance(space, SearchSpace):
            space = SearchSpace(space)
        changes = tuple(changes)
        for change in changes:
            if not isinstance(change, Change):
                raise SchemaError(f"next_round changes must be hpviz Change objects, got {type(change).__name__}")
        rnd = Round(len(self._rounds), space, self.space, changes, note)
        self._rounds.append(rnd)
        return rnd

    def _restore_rounds(self, rounds: list[Round]) -> None:
        """Used by :mod:`hpviz.io` to load saved rounds."""
        self._rounds = list(rounds)

    # -- queries
    def completed(self, objective: str | None = None) -> list[Trial]:
        """COMPLETE trials whose ``objective`` value is finite."""
        objective = self.objective(objective)
        return [t for t in self.trials
                if t.state is TrialState.COMPLETE and math.isfinite(t.values.get(objective, math.nan))]

    def best(self, objective: str | None = None) -> Trial | None:
        """The best COMPLETE, feasible trial with a finite value of ``objective``; ``None`` if there is none.

        An infeasible trial (``feasible=False``) is never the best, whatever its value.
        """
        from hpviz._columns import rankable_trials

        objective = self.objective(objective)
        done = rankable_trials(self, objective)
        if not done:
            return None
        sign = 1.0 if self.objectives[objective] == "min" else -1.0
        return min(done, key=lambda t: (sign * t.values[objective], t.number))

    def count_by_state(self) -> dict[str, int]:
        counts = {s.value: 0 for s in TrialState}
        for t in self._trials.values():
            counts[t.state.value] += 1
        return counts

    def flags(self) -> list[Flag]:
        """Values that do not fit the space of their round: out of bounds, inactive, undeclared."""
        out: list[Flag] = []
        for trial in self.trials:
            space = self.space_of(trial)
            for name, param in space.items():
                if name not in trial.params:
                    out.append(Flag(trial.number, name, "inactive"))
                elif not param.contains(trial.params[name]):
                    out.append(Flag(trial.number, name, "out-of-space", trial.params[name]))
            for name in trial.params:
                if name not in space:
                    out.append(Flag(trial.number, name, "undeclared", trial.params[name]))
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """One row per trial; prefixed columns, so no name can collide.

        Columns: ``number, state, round, feasible``, then ``values_<objective>``
        for each objective, ``params_<name>`` for every parameter of any round
        (NaN where inactive), ``attrs_<key>`` for every attribute key, then
        ``duration`` (seconds), ``budget``, ``started``, ``finished``. A
        parameter named ``state`` is ``params_state`` and never overwrites the
        trial state. :func:`hpviz.from_dataframe` reads this table back.
        """
        import pandas as pd

        params = list(self.all_params())
        attrs: list[str] = []
        for trial in self.trials:
            params.extend(p for p in trial.params if p not in params)
            attrs.extend(a for a in trial.attrs if a not in attrs)
        columns = ["number", "state", "round", "feasible", *(f"values_{o}" for o in self.objectives),
                   *(f"params_{p}" for p in params), *(f"attrs_{a}" for a in attrs),
                   "duration", "budget", "started", "finished"]
        rows = []
        for t in self.trials:
            row: list[Any] = [t.number, t.state.value, t.round, t.feasible]
            row += [t.values.get(o, math.nan) for o in self.objectives]
            row += [t.params.get(p, math.nan) for p in params]
            row += [t.attrs.get(a, math.nan) for a in attrs]
            row += [math.nan if t.duration is None else t.duration, math.nan if t.budget is None else t.budget,
                    t.started, t.finished]
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)

    def save(self, path: Any) -> Any:
        """Write the experiment as versioned JSON, atomically. Returns the path."""
        from hpviz.io import save

        return save(self, path)

    def with_trials(self, trials: Iterable[Trial]) -> Experiment:
        """A copy with the same space, objectives and rounds but other trials."""
        exp = Experiment(self._rounds[0].space, self.objectives, name=self.name, source=self.source,
                         framework=self.framework, notes=self.notes)
        exp._restore_rounds(self._rounds)
        for t in trials:
            exp.add(t)
        return exp

    def copy(self) -> Experiment:
        return self.with_trials(replace(t) for t in self.trials)
