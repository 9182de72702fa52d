"""SMAC3 run histories -> :class:`hpviz.Experiment`.

Three sources, one reader: a SMAC facade (``HyperparameterOptimizationFacade``
and friends, after ``optimize()``), a bare ``RunHistory`` (with ``configspace=``
or not), and a SMAC output folder read as plain JSON (``runhistory.json``,
``configspace.json``, ``scenario.json``), which needs no SMAC installed. SMAC
1.x folders (what AutoPyTorch and auto-sklearn leave in
``<tmp_dir>/smac3-output/run_<seed>/``) are read too.

SMAC minimizes costs and does not record whether a cost is a negated metric:
objectives are ``"min"`` unless ``direction="max"`` (or a mapping per
objective) says the cost is a negated metric, which is then reported negated
back, as a maximized objective. One trial per configuration: its value is
the mean cost over its instances/seeds at the highest budget it reached;
with budgets (multi-fidelity), the mean cost per budget is its learning
curve and a configuration that stopped below the maximum budget is PRUNED.
Crashed, timed-out and memory-out runs are FAIL (SMAC's ``crash_cost`` is
not reported as a value), with the error SMAC recorded.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hpviz import Experiment, ReservoirLog, SchemaError, SearchSpace, Trial, TrialState
from hpviz.convert import check_options
from hpviz_smac.space import from_configspace

__all__ = ["facade_to_experiment", "runhistory_to_experiment", "folder_to_experiment", "find_runs", "convert",
           "OPTIONS"]

#: Options ``hpviz.experiment`` accepts for a SMAC source.
OPTIONS = ("direction", "space", "configspace", "name", "log_capacity")  # trust (the core option) is accepted by check_options
_V2_STATUS = {0: "RUNNING", 1: "SUCCESS", 2: "CRASHED", 3: "TIMEOUT", 4: "MEMORYOUT"}
_OK = {"SUCCESS", "DONOTADVANCE"}  # DONOTADVANCE (SMAC 1.x): evaluated, not promoted to a higher budget



def _status_name(status: Any) -> str:
    if isinstance(status, Mapping):  # SMAC 1.x: {"__enum__": "StatusType.SUCCESS"}
        status = str(status.get("__enum__", "")).rsplit(".", 1)[-1]
    if isinstance(status, int):
        return _V2_STATUS.get(status, str(status))
    return str(getattr(status, "name", status))


def _rows_from_json(data: Any) -> list[dict[str, Any]]:
    rows = []
    for entry in data:
        if isinstance(entry, Mapping):  # SMAC 2.x
            row = dict(entry)
        else:  # SMAC 1.x: [[config_id, instance, seed, budget], [cost, time, status, start, end, info]]
            (config_id, instance, seed, budget), value = entry
            cost, time, status, start, end, info = (list(value) + [None] * 6)[:6]
            row = {"config_id": config_id, "instance": instance, "seed": seed, "budget": budget, "cost": cost,
                   "time": time, "status": status, "starttime": start, "endtime": end, "additional_info": info}
        row["status"] = _status_name(row.get("status"))
        rows.append(row)
    return rows


def _objective_names(scenario: Mapping[str, Any] | None, rows: list[dict[str, Any]]) -> list[str]:
    names = (scenario or {}).get("objectives")
    if isinstance(names, str):
        names = [names]
    n = max((len(r["cost"]) for r in rows if isinstance(r.get("cost"), list)), default=1)
    if not names or len(names) != n:
        names = ["cost"] if n == 1 else [f"cost_{i}" for i in range(n)]
    return [str(x) for x in names]


def _directions(names: list[str], direction: Any) -> dict[str, str]:
    if direction is None:
        return {n: "min" for n in names}
    if isinstance(direction, str):
        direction = {n: direction for n in names}
    if not isinstance(direction, Mapping):
        raise SchemaError(f"direction must be 'min', 'max' or a mapping objective -> direction, got {direction!r}")
    unknown = sorted(set(direction) - set(names))
    if unknown:
        raise SchemaError(f"direction names objective(s) {unknown} this SMAC run does not have; objectives: {names}")
    for n, d in direction.items():
        if d not in ("min", "max"):
            raise SchemaError(f"direction[{n!r}] must be 'min' or 'max', got {d!r}")
    return {n: direction.get(n, "min") for n in names}


def _costs(row: Mapping[str, Any], n: int) -> list[float]:
    cost = row.get("cost")
    values = cost if isinstance(cost, list) else [cost]
    out = [math.nan if v is None else float(v) for v in values]
    return (out + [math.nan] * n)[:n]


def _plain(value: Any) -> Any:
    """NumPy scalars (ConfigSpace hands them out) as Python scalars."""
    return value.item() if hasattr(value, "item") and getattr(value, "shape", None) == () else value


def _utc(seconds: Any) -> _dt.datetime | None:
    if seconds is None or not math.isfinite(float(seconds)) or float(seconds) <= 0:
        return None
    return _dt.datetime.fromtimestamp(float(seconds), tz=_dt.timezone.utc)


def _budget(row: Mapping[str, Any]) -> float | None:
    b = row.get("budget")
    return None if b in (None, 0, 0.0) else float(b)  # SMAC 1.x writes 0.0 for "no budget"


def build_experiment(rows: list[dict[str, Any]], configs: Mapping[Any, Mapping[str, Any]], *,
                     space: SearchSpace | None, scenario: Mapping[str, Any] | None = None,
                     origins: Mapping[Any, Any] | None = None, direction: Any = None, name: str | None = None,
                     source: str | None = None, log_capacity: int = 512) -> Experiment:
    """The Experiment of normalized run-history rows (one dict per SMAC run, see :func:`_rows_from_json`)."""
    objectives = _directions(_objective_names(scenario, rows), direction)
    if space is None:
        from hpviz_sklearn.space import infer_space

        space = infer_space([dict(c) for c in configs.values()])
    exp = Experiment(space, objectives, name=name, source=source, framework="smac")
    for trial in build_trials(rows, configs, scenario=scenario, origins=origins, direction=direction,
                              log_capacity=log_capacity):
        exp.add(trial)
    return exp


def build_trials(rows: list[dict[str, Any]], configs: Mapping[Any, Mapping[str, Any]], *,
                 scenario: Mapping[str, Any] | None = None, origins: Mapping[Any, Any] | None = None,
                 direction: Any = None, log_capacity: int = 512,
                 reuse: dict[int, tuple[tuple, Trial]] | None = None,
                 finish: Callable[[int, Trial], Trial] | None = None) -> list[Trial]:
    """One trial per configuration of the rows, numbered in config-id order (see :func:`build_experiment`).

    For the live callback: ``finish(config_id, trial)`` turns each trial built into the one returned, and
    ``reuse`` (config id -> (key, trial) of an earlier call, updated here) keeps the trial of a
    configuration whose entry is still there and whose key is the same: its number, whether it stopped
    below the maximum budget (which may be the largest budget seen) and the objectives. The caller drops
    the entry of a configuration whose rows changed.
    """
    names = _objective_names(scenario, rows)
    objectives = _directions(names, direction)
    sign = {n: (-1.0 if d == "max" else 1.0) for n, d in objectives.items()}
    by_config: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_config.setdefault(int(row["config_id"]), []).append(row)
    budgets = [b for r in rows if (b := _budget(r)) is not None]
    max_budget = (scenario or {}).get("max_budget") or (max(budgets) if budgets else None)
    shared = (tuple(objectives.items()), bool(budgets))
    trials = []
    for number, config_id in enumerate(sorted(by_config)):
        runs = by_config[config_id]
        finished = [r for r in runs if r["status"] != "RUNNING"]
        top = max((_budget(r) for r in finished), key=lambda b: -math.inf if b is None else b) if finished else None
        below = top is not None and max_budget is not None and top < float(max_budget)
        key = (number, below, shared)
        kept = None if reuse is None else reuse.get(config_id)
        if kept is not None and kept[0] == key:
            trials.append(kept[1])
            continue
        params = {k: _plain(v) for k, v in configs.get(str(config_id), configs.get(config_id, {})).items()}
        origin = (origins or {}).get(str(config_id), (origins or {}).get(config_id))
        trial = _config_trial(number, params, runs, finished, top, below, origin, names, sign,
                              log_capacity if budgets else None)
        if finish is not None:
            trial = finish(config_id, trial)
        if reuse is not None:
            reuse[config_id] = (key, trial)
        trials.append(trial)
    return trials


def _config_trial(number: int, params: dict[str, Any], runs: list[dict[str, Any]], finished: list[dict[str, Any]],
                  top: float | None, below: bool, origin: Any, names: list[str], sign: Mapping[str, float],
                  log_capacity: int | None) -> Trial:
    """The trial of one configuration (its runs; ``top``: the highest budget it finished at; ``below``: that is
    below the maximum budget; ``log_capacity``: ``None`` without budgets, no learning curve then)."""
    config_id = int(runs[0]["config_id"])
    attrs: dict[str, Any] = {"config_id": config_id, "runs": len(runs)}
    if origin:
        attrs["origin"] = str(origin)
    starts = [s for r in runs if (s := _utc(r.get("starttime"))) is not None]
    ends = [e for r in finished if (e := _utc(r.get("endtime"))) is not None]
    started, ended = (min(starts) if starts else None), (max(ends) if ends else None)
    if not finished:
        return Trial(number, params, {}, TrialState.RUNNING, started=started, attrs=attrs)
    per_budget: dict[float | None, list[list[float]]] = {}
    for r in finished:
        if r["status"] in _OK:
            per_budget.setdefault(_budget(r), []).append(_costs(r, len(names)))
    log = None
    if log_capacity is not None:
        log = ReservoirLog(capacity=max(2, log_capacity), seed=number)
        for b in sorted(k for k in per_budget if k is not None):
            means = [sum(c[i] for c in per_budget[b]) / len(per_budget[b]) for i in range(len(names))]
            log.append(b, **{n: sign[n] * m for n, m in zip(names, means)})
    ok = per_budget.get(top)
    values: dict[str, float] = {}
    if ok:
        state = TrialState.PRUNED if below else TrialState.COMPLETE
        values = {n: sign[n] * sum(c[i] for c in ok) / len(ok) for i, n in enumerate(names)}
    else:
        state = TrialState.FAIL
        bad = [r for r in finished if _budget(r) == top]
        attrs["status"] = bad[-1]["status"]
        info = bad[-1].get("additional_info") or {}
        attrs["error"] = str(info.get("error") or info.get("traceback") or f"SMAC status {bad[-1]['status']}")
    return Trial(number, params, values, state, log=log, started=started, finished=ended, budget=top, attrs=attrs)


# --------------------------------------------------------------------------- sources


def find_runs(path: str | os.PathLike) -> list[Path]:
    """The SMAC run folders (holding ``runhistory.json``) at or below ``path`` (three levels at most)."""
    root = Path(path)
    if root.is_file() and root.name == "runhistory.json":
        return [root.parent]
    if not root.is_dir():
        return []
    found = []
    for depth in range(4):
        found += [p.parent for p in root.glob("/".join(["*"] * depth + ["runhistory.json"]))]
    return sorted(set(found))


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc


def folder_to_experiment(path: str | os.PathLike, *, space: SearchSpace | None = None, direction: Any = None,
                         name: str | None = None, log_capacity: int = 512) -> Experiment:
    """A SMAC output folder (the run folder, or a folder above it holding exactly one run) as an Experiment.

    Reads ``runhistory.json``, ``configspace.json`` (else the space is
    inferred from the configurations and marked so) and ``scenario.json``
    (objective names, ``max_budget``); SMAC need not be installed.
    """
    runs = find_runs(path)
    if not runs:
        raise SchemaError(f"{path}: no SMAC runhistory.json at or below it")
    if len(runs) > 1:
        listed = ", ".join(str(r) for r in runs[:10])
        raise SchemaError(f"{path} holds {len(runs)} SMAC runs ({listed}); pass one run folder")
    run = runs[0]
    history = _read_json(run / "runhistory.json")
    if not isinstance(history, Mapping) or "data" not in history or "configs" not in history:
        raise SchemaError(f"{run / 'runhistory.json'} is not a SMAC run history (no 'data'/'configs')")
    if space is None and (run / "configspace.json").is_file():
        space = from_configspace(_read_json(run / "configspace.json"))
    scenario = _read_json(run / "scenario.json") if (run / "scenario.json").is_file() else None
    return build_experiment(_rows_from_json(history["data"]), history["configs"], space=space, scenario=scenario,
                            origins=history.get("config_origins"), direction=direction,
                            name=name or (scenario or {}).get("name") or run.name, source=str(run),
                            log_capacity=log_capacity)


def run_row(config_id: int, key: Any, value: Any) -> dict[str, Any]:
    """One normalized row of a SMAC run: ``key`` has ``instance``/``seed``/``budget`` (a ``TrialKey`` or
    ``TrialInfo``), ``value`` is its ``TrialValue`` (used by the live callback too)."""
    return {"config_id": config_id, "instance": key.instance, "seed": key.seed, "budget": key.budget,
            "cost": value.cost, "time": value.time, "status": _status_name(value.status),
            "starttime": value.starttime, "endtime": value.endtime, "additional_info": value.additional_info}


def _rows_from_runhistory(rh: Any) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]], dict[int, Any]]:
    rows = [run_row(key.config_id, key, value) for key, value in rh.items()]
    for key in rh.get_running_trials() if hasattr(rh, "get_running_trials") else ():
        rows.append({"config_id": rh.get_config_id(key.config), "instance": key.instance, "seed": key.seed,
                     "budget": key.budget, "cost": None, "status": "RUNNING", "starttime": None, "endtime": None})
    ids = sorted({r["config_id"] for r in rows})
    configs = {i: dict(rh.get_config(i)) for i in ids}
    origins = {i: getattr(rh.get_config(i), "origin", None) for i in ids}
    return rows, configs, origins


def scenario_info(scenario: Any) -> dict[str, Any]:
    """What the reader uses of a SMAC ``Scenario``: objective names, maximum budget, name."""
    return {"objectives": scenario.objectives, "max_budget": scenario.max_budget, "name": scenario.name}


def runhistory_to_experiment(rh: Any, *, configspace: Any = None, scenario: Any = None, space: SearchSpace | None = None,
                             direction: Any = None, name: str | None = None, log_capacity: int = 512) -> Experiment:
    """A SMAC ``RunHistory`` as an Experiment (the space from ``configspace`` or from its configurations)."""
    rows, configs, origins = _rows_from_runhistory(rh)
    if space is None:
        if configspace is None and configs:
            configspace = getattr(rh.get_config(next(iter(configs))), "config_space", None)
        space = from_configspace(configspace) if configspace is not None else None
    scen = None if scenario is None else scenario_info(scenario)
    return build_experiment(rows, configs, space=space, scenario=scen, origins=origins, direction=direction,
                            name=name or (scen or {}).get("name"), source=type(rh).__name__,
                            log_capacity=log_capacity)


def facade_to_experiment(facade: Any, **options: Any) -> Experiment:
    """A SMAC facade (after ``optimize()``, or ask/tell) as an Experiment."""
    scenario = facade.scenario
    return runhistory_to_experiment(facade.runhistory, configspace=scenario.configspace, scenario=scenario, **options)


def convert(obj: Any, options: Mapping[str, Any]) -> Experiment | None:
    """The ``hpviz_to_experiment`` implementation: ``None`` when ``obj`` is not SMAC's."""
    kwargs = {k: options[k] for k in ("direction", "space", "name") if options.get(k) is not None}
    kwargs["log_capacity"] = int(options.get("log_capacity", 512))
    if isinstance(obj, (str, os.PathLike)):
        if not find_runs(obj):
            return None
        check_options(options, OPTIONS, "a SMAC run")
        return folder_to_experiment(obj, **kwargs)
    module = type(obj).__module__
    if not module.startswith("smac."):
        return None
    check_options(options, OPTIONS, "a SMAC run")
    if hasattr(obj, "runhistory") and hasattr(obj, "scenario"):
        return facade_to_experiment(obj, **kwargs)
    if hasattr(obj, "get_config") and hasattr(obj, "items"):
        return runhistory_to_experiment(obj, configspace=options.get("configspace"), **kwargs)
    return None
