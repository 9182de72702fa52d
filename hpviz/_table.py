"""Tables in: :func:`from_dataframe` reads a pandas DataFrame of trials, and the built-in DataFrame adapter.

Column conventions recognised (one table need not follow only one):

======================  ==========================================  =======================================
what                    columns                                     from
======================  ==========================================  =======================================
objective ``o``         ``values_o``, ``metrics.o``, ``summary.o``,  hpviz / Optuna, MLflow, W&B, any
                        ``o``; ``value`` (one objective)             Optuna's single-objective ``value``
parameters              ``params_<name>``, ``params.<name>``,        hpviz / Optuna, MLflow, W&B
                        ``config.<name>``; else ``params=[...]``;
                        else every column not recognised here
state                   ``state`` or ``status``                      hpviz / Optuna, MLflow, W&B
trial number            ``number``; else by start time; else rows    hpviz / Optuna
start / finish          ``started``/``finished``,                   hpviz, Optuna, MLflow
                        ``datetime_start``/``datetime_complete``,
                        ``start_time``/``end_time``
attributes              ``attrs_<k>``, ``user_attrs_<k>``,          hpviz, Optuna, MLflow;
                        ``tags.<k>``; other ``metrics.``/            other metrics become attributes
                        ``summary.``/``values_`` columns             (usable by ``pareto_front``/``top_k``)
feasibility, round,     ``feasible``, ``round``, ``budget``;         hpviz; Optuna (a trial is feasible
budget                  ``system_attrs_constraints[:<name>]``        when every constraint value is <= 0)
======================  ==========================================  =======================================

MLflow stores parameters as strings: a column whose every value parses as a
number is read as numbers. Without ``space=`` the space is inferred from the
values (numeric range -> ``Float``/``Int``, else ``Categorical``), flagged
``SearchSpace.inferred`` and announced with :class:`hpviz.InferredSpaceWarning`.

The module also is the built-in adapter (``hpviz_to_experiment``) that makes
``hpviz.experiment(df, objectives=...)`` work; it is registered in every
plugin manager (:mod:`hpviz.plugins`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpviz._numbers import MISSING
from hpviz._validate import check_options, keywords_checked
from hpviz._warn import warn
from hpviz.errors import InferredSpaceWarning, SchemaError
from hpviz.plugins import hookimpl
from hpviz.schema import DIRECTIONS, Categorical, Experiment, Float, Int, SearchSpace, Trial, TrialState

__all__ = ["from_dataframe", "OPTIONS", "STATE_ALIASES"]

#: Keyword options of :func:`from_dataframe` (and of ``hpviz.experiment(df, ...)``).
OPTIONS = ("space", "objectives", "params", "name", "source")
_OBJECTIVE_PREFIXES = ("values_", "metrics.", "summary.")
_PARAM_PREFIXES = ("params_", "params.", "config.")
_ATTR_PREFIXES = ("attrs_", "user_attrs_", "tags.")
_IGNORED_PREFIXES = ("system_attrs_", "datetime_", "intermediate_values_")
_CONSTRAINT_PREFIX = "system_attrs_constraints"
_START = ("started", "datetime_start", "start_time")
_FINISH = ("finished", "datetime_complete", "end_time")
_STATE = ("state", "status")
_KNOWN = {"number", "round", "feasible", "budget", "duration", "run_id", "experiment_id", "artifact_uri",
          "trial_id", "_runtime", "_timestamp", "_step", "id", "name"}
#: Spellings of trial states in exported tables (compared case-insensitively).
STATE_ALIASES = {
    "COMPLETE": ("complete", "completed", "finished", "success", "succeeded", "terminated", "trialstate.complete"),
    "PRUNED": ("pruned", "early_stopped", "early-stopped", "stopped", "trialstate.pruned"),
    "FAIL": ("fail", "failed", "crashed", "error", "errored", "killed", "trialstate.fail"),
    "RUNNING": ("running", "trialstate.running"),
    "WAITING": ("waiting", "pending", "queued", "scheduled", "trialstate.waiting"),
}
_STATES = {alias: state for state, aliases in STATE_ALIASES.items() for alias in aliases}


def _objectives(objectives: Any, columns: Sequence[str]) -> dict[str, str]:
    if not isinstance(objectives, Mapping) or not objectives:
        guess = [c for c in columns if c == "value" or c.startswith(_OBJECTIVE_PREFIXES)]
        raise SchemaError(
            f"from_dataframe needs objectives= as a mapping column -> 'min' | 'max' (the direction cannot be "
            f"read from a table), got {objectives!r}; candidate columns: {guess or list(columns)}"
        )
    for name, direction in objectives.items():
        if direction not in DIRECTIONS:
            raise SchemaError(f"objectives[{name!r}] must be 'min' or 'max', got {direction!r}")
    return {str(k): v for k, v in objectives.items()}


def _objective_column(name: str, columns: Sequence[str], n_objectives: int) -> str:
    for col in (*(p + name for p in _OBJECTIVE_PREFIXES), name):
        if col in columns:
            return col
    if n_objectives == 1 and "value" in columns:
        return "value"
    numeric_like = [c for c in columns if c == "value" or c.startswith(_OBJECTIVE_PREFIXES)]
    raise SchemaError(f"objective {name!r}: no column {name!r}, 'values_{name}', 'metrics.{name}' or "
                      f"'summary.{name}' in the table; metric columns: {numeric_like or list(columns)}")


def _as_numbers(df: Any, col: str) -> np.ndarray:
    """A column as floats (NaN for missing); SchemaError naming the column when a value is not a number."""
    import pandas as pd

    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna()
    if bad.any():
        example = df[col][bad].iloc[0]
        raise SchemaError(f"column {col!r} must hold numbers, got {example!r} (row {int(np.flatnonzero(bad)[0])})")
    return values.to_numpy(dtype=float)


def _parse_strings(values: np.ndarray) -> np.ndarray:
    """Parameter values stored as text (MLflow): numbers when every value parses, else as they are."""
    present = [v for v in values if isinstance(v, str)]
    if not present or len(present) != sum(v is not MISSING for v in values):
        return values
    try:
        nums = [float(v) for v in present]
    except ValueError:
        return values
    integral = all(n.is_integer() and "." not in v and "e" not in v.lower() for n, v in zip(nums, present))
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v if v is MISSING else (int(float(v)) if integral else float(v))
    return out


def _param_columns(columns: Sequence[str], params: Any, used: set[str]) -> dict[str, str]:
    """``column -> parameter name``."""
    if params is not None:
        if isinstance(params, str) or not all(isinstance(p, str) for p in params):
            raise SchemaError(f"params must be a list of column names, got {params!r}")
        missing = [p for p in params if p not in columns]
        if missing:
            raise SchemaError(f"params names columns that are not in the table: {missing}; columns: {list(columns)}")
        out = {}
        for p in params:
            prefix = next((x for x in _PARAM_PREFIXES if p.startswith(x)), "")
            out[p] = p[len(prefix):]
        return out
    prefixed = {c: c[len(p):] for c in columns for p in _PARAM_PREFIXES if c.startswith(p)}
    if prefixed:
        return prefixed
    return {c: c for c in columns if c not in used and c not in _KNOWN and c not in _START + _FINISH + _STATE
            and not c.startswith(_OBJECTIVE_PREFIXES + _ATTR_PREFIXES + _IGNORED_PREFIXES) and c != "value"}


def _column_values(df: Any, col: str) -> np.ndarray:
    out = np.empty(len(df), dtype=object)
    for i, v in enumerate(df[col].tolist()):
        out[i] = MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else _plain(v)
    return _parse_strings(out)


def _plain(v: Any) -> Any:
    """NumPy scalars as Python numbers (the schema and JSON want plain values)."""
    return v.item() if isinstance(v, np.generic) else v


def _infer_space(names: Sequence[str], columns: Mapping[str, np.ndarray]) -> SearchSpace:
    params: dict[str, Any] = {}
    for name in names:
        vals = [v for v in columns[name] if v is not MISSING]
        numeric = vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        if numeric and min(vals) < max(vals):
            if all(float(v).is_integer() for v in vals):
                params[name] = Int(int(min(vals)), int(max(vals)))
            else:
                params[name] = Float(float(min(vals)), float(max(vals)))
        else:
            choices: list[Any] = []
            for v in vals:
                if not any(type(v) is type(c) and v == c for c in choices):
                    choices.append(v)
            params[name] = Categorical(choices or [None])
    return SearchSpace(params, inferred=True)


def _states(df: Any) -> list[TrialState]:
    col = next((c for c in _STATE if c in df.columns), None)
    if col is None:
        return [TrialState.COMPLETE] * len(df)
    out = []
    for v in df[col].tolist():
        key = str(getattr(v, "name", v)).strip().lower()
        if key not in _STATES:
            raise SchemaError(f"column {col!r}: unknown trial state {v!r}; known: "
                              f"{', '.join(sorted(_STATES))}")
        out.append(TrialState(_STATES[key]))
    return out


def _times(df: Any, names: Sequence[str]) -> list[Any]:
    import pandas as pd

    col = next((c for c in names if c in df.columns), None)
    if col is None:
        return [None] * len(df)
    raw = df[col]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        unit = "ms" if raw.dropna().abs().median() > 1e11 else "s"  # MLflow, W&B export milliseconds
        parsed = pd.to_datetime(raw, unit=unit, utc=True)
    else:
        try:  # naive times stay naive (taken as given, e.g. Optuna's local time); mixed zones go to UTC
            parsed = pd.to_datetime(raw)
        except (TypeError, ValueError):
            try:
                parsed = pd.to_datetime(raw, utc=True)
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"column {col!r} must hold dates or epoch times: {exc}") from None
    return [None if pd.isna(t) else t.to_pydatetime() for t in parsed]


def _feasibility(df: Any) -> tuple[list[bool], list[dict[str, float] | None]]:
    """``feasible`` column, else Optuna's constraint values (``> 0`` violated), else every trial feasible."""
    n = len(df)
    if "feasible" in df.columns:
        return [True if v is None or (isinstance(v, float) and math.isnan(v)) else bool(v)
                for v in df["feasible"].tolist()], [None] * n
    named = [c for c in df.columns if c.startswith(_CONSTRAINT_PREFIX + ":")]  # Optuna 5: trial.set_constraint
    listed = _CONSTRAINT_PREFIX in df.columns  # a sampler's constraints_func: one tuple per trial
    if not named and not listed:
        return [True] * n, [None] * n
    feasible, constraints = [], []
    for i in range(n):
        amounts: dict[str, float] = {}
        v = df[_CONSTRAINT_PREFIX].iloc[i] if listed else None
        if isinstance(v, (list, tuple, np.ndarray)):
            amounts.update((f"c{j}", float(a)) for j, a in enumerate(v))
        for c in named:
            a = df[c].iloc[i]
            if a is not None and not (isinstance(a, float) and math.isnan(a)):
                amounts[c[len(_CONSTRAINT_PREFIX) + 1:]] = float(a)
        # no value (e.g. a failed trial): nothing says it is infeasible
        feasible.append(all(a <= 0 for a in amounts.values()))
        constraints.append(amounts or None)
    return feasible, constraints


def _numbers(df: Any, started: list[Any]) -> list[int]:
    if "number" in df.columns:
        numbers = _as_numbers(df, "number")
        if np.isnan(numbers).any() or (numbers < 0).any() or not np.all(numbers == np.round(numbers)):
            raise SchemaError("column 'number' must hold non-negative integers")
        if len(set(numbers.tolist())) != len(numbers):
            raise SchemaError("column 'number' has duplicates: each row must be one trial")
        return [int(n) for n in numbers]
    if any(t is not None for t in started):  # MLflow lists runs newest first: number by start time
        keys = [(t is None, t.timestamp() if t is not None else 0.0, i) for i, t in enumerate(started)]
        order = sorted(range(len(started)), key=keys.__getitem__)
        numbers = [0] * len(started)
        for n, i in enumerate(order):
            numbers[i] = n
        return numbers
    return list(range(len(df)))


@keywords_checked
def from_dataframe(df: Any, space: SearchSpace | Mapping[str, Any] | None = None, *,
                   objectives: Mapping[str, str] | None = None, params: Sequence[str] | None = None,
                   name: str | None = None, source: str | None = None) -> Experiment:
    """An :class:`~hpviz.Experiment` from a table of trials (one row per trial).

    Parameters
    ----------
    df:
        A pandas DataFrame: :meth:`Experiment.to_dataframe`'s table, Optuna's
        ``study.trials_dataframe()``, MLflow's ``mlflow.search_runs()``, a W&B
        runs export, or any table with a column per parameter and metric
        (conventions: the module docstring and ``docs/schema.md``).
    space:
        The search space; ``None`` infers it from the values (flagged
        ``inferred`` and warned about: bounds are then the observed range).
    objectives:
        ``column or metric name -> "min" | "max"`` (required: a table does not
        say whether a metric is minimized).
    params:
        Parameter columns, when no prefix (``params_``, ``params.``,
        ``config.``) marks them; default: every column not otherwise recognised.
    name, source:
        Stored on the Experiment.

    Raises
    ------
    SchemaError
        No ``objectives``, a missing or non-numeric metric column (named), an
        unknown state, duplicate trial numbers.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"from_dataframe needs a pandas DataFrame, got {type(df).__name__}")
    columns = [str(c) for c in df.columns]
    df = df.set_axis(columns, axis=1).reset_index(drop=True)
    objectives = _objectives(objectives, columns)
    obj_cols = {o: _objective_column(o, columns, len(objectives)) for o in objectives}
    values = {o: _as_numbers(df, col) for o, col in obj_cols.items()}
    param_cols = _param_columns(columns, params, set(obj_cols.values()))
    raw = {p: _column_values(df, c) for c, p in param_cols.items()}
    used = set(obj_cols.values()) | set(param_cols)
    attr_cols = {c: next((c[len(p):] for p in _ATTR_PREFIXES + _OBJECTIVE_PREFIXES if c.startswith(p)), c)
                 for c in columns if c not in used and c.startswith(_ATTR_PREFIXES + _OBJECTIVE_PREFIXES)}
    if space is None:
        space = _infer_space(list(raw), raw)
        warn(f"from_dataframe inferred the search space from the values ({', '.join(space) or 'no parameters'}): "
             "its bounds are only the observed range; pass space= for suggestions and boundary findings",
             InferredSpaceWarning)
    elif not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    started, finished = _times(df, _START), _times(df, _FINISH)
    states = _states(df)
    numbers = _numbers(df, started)
    feasible, constraints = _feasibility(df)
    rounds = [int(r) for r in _as_numbers(df, "round")] if "round" in columns else [0] * len(df)
    budgets = _as_numbers(df, "budget") if "budget" in columns else np.full(len(df), np.nan)
    exp = Experiment(space, objectives, name=name, source=source or "DataFrame")
    for _ in range(max(rounds, default=0)):
        exp.next_round(space)
    attr_values = {c: df[c].tolist() for c in attr_cols}
    for i in range(len(df)):
        attrs = {a: _plain(attr_values[c][i]) for c, a in attr_cols.items()
                 if not (isinstance(attr_values[c][i], float) and math.isnan(attr_values[c][i]))}
        exp.add(Trial(
            numbers[i], {p: col[i] for p, col in raw.items() if col[i] is not MISSING},
            {o: float(v[i]) for o, v in values.items() if not math.isnan(v[i])}, states[i],
            started=started[i], finished=finished[i],
            budget=None if math.isnan(budgets[i]) else float(budgets[i]), attrs=attrs, round=rounds[i],
            feasible=feasible[i], constraints=constraints[i],
        ))
    return exp


@hookimpl
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> Experiment | None:
    """A pandas DataFrame (``hpviz.experiment(df, objectives=...)``)."""
    import sys

    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(obj, pd.DataFrame):
        return None
    check_options("hpviz.experiment(DataFrame)", options, OPTIONS)
    return from_dataframe(obj, **options)
