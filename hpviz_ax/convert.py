"""Ax experiments -> :class:`hpviz.Experiment`.

Accepts an ``ax.api.Client``, an ``ax.core.Experiment``, an ``AxClient``
(while Ax still ships it), or the path of a JSON snapshot written by
``Client.save_to_json_file``. One trial per arm (Ax trials have one arm
unless they are batch trials; batch arms are numbered in order, with
``attrs["trial_index"]``). Objectives and their directions come from the
optimization config (a scalarized objective lists each metric with the sign
of its weight); tracking metrics go to ``attrs``. Outcome constraints decide
feasibility: ``Trial.constraints[name]`` is the violation (``> 0`` violated)
of each absolute constraint (relative constraints need the status-quo arm
and are skipped). Per-step data (``progression``) become learning curves;
the final value is the data without a step, else the last step's.
``attrs["generation_method"]`` says how Ax proposed the trial (``Sobol``,
``BoTorch``, ``Manual``...), so initialization and model-based trials can be
told apart.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

from hpviz import Experiment, ReservoirLog, SchemaError, Trial, TrialState
from hpviz.convert import check_options, local_file
from hpviz_ax._compat import client_experiment
from hpviz_ax.space import from_ax

__all__ = ["ax_to_experiment", "arm_trials", "data_groups", "convert", "OPTIONS", "is_snapshot"]

#: Options ``hpviz.experiment`` accepts for an Ax source.
OPTIONS = ("name", "log_capacity")  # trust (the core option) is accepted by check_options
_STATES = {
    "COMPLETED": TrialState.COMPLETE,
    "EARLY_STOPPED": TrialState.PRUNED,
    "FAILED": TrialState.FAIL,
    "ABANDONED": TrialState.FAIL,
    "STALE": TrialState.FAIL,
    "RUNNING": TrialState.RUNNING,
    "DISPATCHED": TrialState.RUNNING,
    "STAGED": TrialState.WAITING,
    "CANDIDATE": TrialState.WAITING,
}



def _objectives(opt: Any) -> dict[str, str]:
    if opt is None:
        raise SchemaError("this Ax experiment has no optimization config: call client.configure_optimization(...)")
    return {str(name): ("min" if weight < 0 else "max") for name, weight in opt.objective.metric_weights}


def _constraints(opt: Any) -> list[tuple[str, str, bool, float]]:
    """``(label, metric, is_upper_bound, bound)`` of each absolute outcome constraint."""
    from ax.core.types import ComparisonOp

    out = []
    for oc in getattr(opt, "outcome_constraints", None) or ():
        if oc.relative or len(oc.metric_names) != 1:
            continue
        upper = oc.op == ComparisonOp.LEQ
        out.append((str(oc.expression), oc.metric_names[0], upper, float(oc.bound)))
    return out


def _utc(value: _dt.datetime | None) -> _dt.datetime | None:
    return None if value is None else value.astimezone(_dt.timezone.utc)  # Ax stores naive local time


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and getattr(value, "shape", None) == () else value


def ax_to_experiment(ax_experiment: Any, *, name: str | None = None, log_capacity: int = 512) -> Experiment:
    """An ``ax.core.Experiment`` as an Experiment (see the module docstring for the mapping)."""
    opt = ax_experiment.optimization_config
    objectives = _objectives(opt)
    constraints = _constraints(opt)
    space = from_ax(ax_experiment.search_space)
    groups = data_groups(ax_experiment)
    if name is None:
        try:
            name = ax_experiment.name
        except ValueError:  # "Experiment's name is None" (AxClient without a name)
            name = None
    exp = Experiment(space, objectives, name=name, source="ax", framework="ax")
    number = 0
    for index in sorted(ax_experiment.trials):
        for trial in arm_trials(ax_experiment.trials[index], groups, list(objectives), constraints, number,
                                log_capacity):
            exp.add(trial)
            number += 1
    return exp


def data_groups(ax_experiment: Any, trial_indices: list[int] | None = None) -> dict[tuple[int, str], Any]:
    """The experiment's data rows (of ``trial_indices``, default all) grouped by ``(trial index, arm name)``.

    Filters the experiment's own table (which Ax caches until new data arrives, and builds
    itself in ``complete_trial``) rather than asking Ax for a filtered copy, which rebuilds it.
    """
    data = ax_experiment.lookup_data()
    df = data.full_df if hasattr(data, "full_df") else data.df
    if trial_indices is not None:
        df = df[df["trial_index"].isin(list(trial_indices))]
    if "step" not in df.columns:
        df = df.assign(step=math.nan)
    return {key: g for key, g in df.groupby(["trial_index", "arm_name"], sort=False)}


def arm_trials(trial: Any, groups: Mapping[tuple[int, str], Any], objectives: list[str],
               constraints: list[tuple[str, str, bool, float]], number: int, log_capacity: int) -> list[Trial]:
    """The hpviz trials of one Ax trial (one per arm), numbered from ``number`` (the live recorder uses it too)."""
    index = trial.index
    status = trial.status.name
    arms = list(getattr(trial, "arms", None) or ([trial.arm] if trial.arm is not None else []))
    out = []
    for arm in arms:
        rows = groups.get((index, arm.name))
        values, extra, log = _metrics(rows, objectives, number, log_capacity)
        state = _STATES.get(status, TrialState.FAIL)
        if state is TrialState.COMPLETE and any(math.isnan(values.get(o, math.nan)) for o in objectives):
            state = TrialState.FAIL
        attrs: dict[str, Any] = {"status": status, "trial_index": index, "arm_name": arm.name,
                                 "generation_method": trial.generation_method_str, **extra}
        if trial.status_reason:
            attrs["status_reason"] = str(trial.status_reason)
        amounts = {}
        for label, metric, upper, bound in constraints:
            value = values.get(metric, extra.get(metric, math.nan))
            if not math.isnan(value):
                amounts[label] = value - bound if upper else bound - value
        out.append(Trial(
            number, {k: _plain(v) for k, v in arm.parameters.items() if v is not None},
            {} if state is TrialState.FAIL else values, state, log=log,
            started=_utc(trial.time_run_started or trial.time_created), finished=_utc(trial.time_completed),
            budget=None if log is None else float(max(s for s, _ in log.points())), attrs=attrs,
            feasible=all(a <= 0 for a in amounts.values()), constraints=amounts or None,
        ))
        number += 1
    return out


def _metrics(rows: Any, objectives: list[str], seed: int, capacity: int) -> tuple[dict[str, float], dict[str, Any], Any]:
    """Objective values, other metrics (and standard errors) and the learning curve of one arm's data rows."""
    if rows is None or rows.empty:
        return {}, {}, None
    finals: dict[str, float] = {}
    extra: dict[str, Any] = {}
    stepped = rows[rows["step"].notna()]
    for metric, g in rows.groupby("metric_name", sort=False):
        final = g[g["step"].isna()]
        pick = final.iloc[-1] if len(final) else g.sort_values("step").iloc[-1]
        value = float(pick["mean"])
        if metric in objectives:
            finals[metric] = value
        else:
            extra[metric] = value
        if "sem" in pick and pick["sem"] is not None and math.isfinite(float(pick["sem"])):
            extra[f"sem_{metric}"] = float(pick["sem"])
    log = None
    if len(stepped):
        log = ReservoirLog(capacity=max(2, capacity), seed=seed)
        for step, g in stepped.groupby("step", sort=True):
            log.append(float(step), **{str(m): float(v) for m, v in zip(g["metric_name"], g["mean"])})
    return finals, extra, log


def is_snapshot(obj: Any) -> bool:
    """``obj`` is the path of an Ax JSON snapshot (``Client.save_to_json_file``)."""
    path = local_file(obj, ".json")
    if path is None:
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.read(4096)
    return '"__type": "Experiment"' in head or ('"experiment"' in head and '"generation_strategy"' in head)


def convert(obj: Any, options: Mapping[str, Any]) -> Experiment | None:
    """The ``hpviz_to_experiment`` implementation: ``None`` when ``obj`` is not Ax's."""
    kwargs = {"name": options.get("name"), "log_capacity": int(options.get("log_capacity", 512))}
    if is_snapshot(obj):
        check_options(options, OPTIONS, "an Ax experiment")
        from ax.api import Client

        return ax_to_experiment(client_experiment(Client.load_from_json_file(str(obj))), **kwargs)
    if not type(obj).__module__.startswith("ax."):
        return None
    check_options(options, OPTIONS, "an Ax experiment")
    kind = type(obj).__name__
    if kind == "Client":
        return ax_to_experiment(client_experiment(obj), **kwargs)
    if kind == "AxClient":
        return ax_to_experiment(obj.experiment, **kwargs)
    from ax.core.experiment import Experiment as AxExperiment

    if isinstance(obj, AxExperiment):
        return ax_to_experiment(obj, **kwargs)
    return None
