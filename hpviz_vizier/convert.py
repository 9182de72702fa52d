"""OSS Vizier studies -> :class:`hpviz.Experiment`.

Sources: a ``vizier.service.clients.Study``, or the path of a Vizier SQLite
datastore (``sqlite:///PATH`` given to the servicer; pass ``study=`` when it
holds several studies). Reading needs ``google-vizier`` only, not jax.

Metrics with a goal are objectives (MAXIMIZE -> ``"max"``); safety metrics
(``safety_threshold``) are constraints: ``Trial.constraints[name]`` is the
violation (``> 0`` unsafe). The final measurement gives the values;
intermediate measurements give the learning curve (over ``steps``). An
infeasible trial is kept with ``feasible=False`` (FAIL when it has no final
measurement, with its reason as ``attrs["error"]``). INTEGER values, which
Vizier hands back as floats, become ints. Vizier records an early-stopped
trial as COMPLETED, indistinguishable by state: hpviz marks a completed trial
PRUNED when its last intermediate step is below the full budget (``max_steps=``,
else the largest last step in the study; ``max_steps=0`` turns this off), and
says so in ``attrs["early_stopped"]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpviz import Categorical, Experiment, Int, ReservoirLog, SchemaError, SearchSpace, Trial, TrialState
from hpviz.convert import check_options
from hpviz_vizier._compat import is_datastore, read_datastore
from hpviz_vizier.space import from_vizier

__all__ = ["study_to_experiment", "datastore_to_experiment", "param_value", "convert", "OPTIONS"]

#: Options ``hpviz.experiment`` accepts for a Vizier source.
OPTIONS = ("study", "max_steps", "name", "log_capacity")  # trust (the core option) is accepted by check_options



def _metrics(config: Any) -> tuple[dict[str, str], dict[str, tuple[bool, float]]]:
    """Objectives ``name -> "min"|"max"`` and safety constraints ``name -> (maximize, threshold)``."""
    from vizier.service import pyvizier as vz

    objectives: dict[str, str] = {}
    safety: dict[str, tuple[bool, float]] = {}
    for info in config.metric_information:
        maximize = info.goal == vz.ObjectiveMetricGoal.MAXIMIZE
        if info.safety_threshold is not None:
            safety[info.name] = (maximize, float(info.safety_threshold))
        else:
            objectives[info.name] = "max" if maximize else "min"
    if not objectives:
        raise SchemaError("this Vizier study has no objective metric (only safety metrics)")
    return objectives, safety


def param_value(space: SearchSpace, name: str, value: Any) -> Any:
    """Vizier hands INTEGER and DISCRETE values back as floats: integers again where the space says so."""
    if name not in space or not isinstance(value, float) or not value.is_integer():
        return value
    p = space[name]
    if isinstance(p, Int) or (isinstance(p, Categorical) and p.contains(int(value)) and not p.contains(value)):
        return int(value)
    return value


def study_to_experiment(config: Any, trials: list[Any], *, name: str | None = None, source: str | None = None,
                        max_steps: float | None = None, log_capacity: int = 512) -> Experiment:
    """A Vizier ``StudyConfig`` (or ``ProblemStatement``) and its materialized trials as an Experiment."""
    from vizier.service import pyvizier as vz

    objectives, safety = _metrics(config)
    space = from_vizier(config.search_space)
    exp = Experiment(space, objectives, name=name, source=source, framework="vizier")
    last_steps = {t.id: max((m.steps for m in t.measurements), default=None) for t in trials}
    full = max_steps
    if full is None:
        done = [s for t in trials if t.status == vz.TrialStatus.COMPLETED and (s := last_steps[t.id]) is not None]
        full = max(done, default=None)
    for t in sorted(trials, key=lambda t: t.id):
        params = {k: param_value(space, k, v) for k, v in t.parameters.as_dict().items()}
        final = t.final_measurement
        metrics = {k: float(m.value) for k, m in final.metrics.items()} if final is not None else {}
        values = {o: metrics[o] for o in objectives if o in metrics}
        attrs: dict[str, Any] = {"vizier_status": t.status.name,
                                 **{k: v for k, v in metrics.items() if k not in objectives}}
        log = None
        if t.measurements:
            log = ReservoirLog(capacity=max(2, log_capacity), seed=t.id)
            for m in t.measurements:
                log.append(m.steps, **{k: float(x.value) for k, x in m.metrics.items()})
        if t.status == vz.TrialStatus.COMPLETED:
            state = TrialState.COMPLETE if values else TrialState.FAIL
            last = last_steps[t.id]
            if state is TrialState.COMPLETE and full and last is not None and last < full:
                state = TrialState.PRUNED
                attrs["early_stopped"] = f"inferred: last intermediate step {last} < full budget {full}"
        else:
            state = TrialState.RUNNING  # REQUESTED, ACTIVE, STOPPING
        if t.stopping_reason:
            attrs["stopping_reason"] = str(t.stopping_reason)
        if t.infeasible:
            attrs["infeasibility_reason"] = str(t.infeasibility_reason)
            if not values:
                state = TrialState.FAIL
                attrs["error"] = f"infeasible: {t.infeasibility_reason}"
        amounts = {}
        for metric, (maximize, threshold) in safety.items():
            if metric in metrics:
                amounts[metric] = threshold - metrics[metric] if maximize else metrics[metric] - threshold
        # OSS Vizier stores no end time (the trial proto's end_time stays unset; pyvizier then
        # reports the start time as completion time): leave it unknown rather than claim 0 s.
        finished = t.completion_time if t.completion_time != t.creation_time else None
        exp.add(Trial(t.id - 1, params, values, state, log=log, started=t.creation_time, finished=finished,
                      budget=None if log is None else float(max(s for s, _ in log.points())),
                      attrs={**attrs, "trial_id": t.id}, feasible=not t.infeasible and all(a <= 0 for a in amounts.values()),
                      constraints=amounts or None))
    return exp


def datastore_to_experiment(path: str | os.PathLike, *, study: str | None = None, **kwargs: Any) -> Experiment:
    """One study of a Vizier SQLite datastore (``study=``: its resource name, display name or id)."""
    studies = read_datastore(Path(path))
    if study is not None:
        studies = [s for s in studies if study in (s[0], s[1], s[0].rsplit("/", 1)[-1])]
    if len(studies) != 1:
        available = [s[0] for s in read_datastore(Path(path))]
        what = f"no study {study!r}" if study is not None else f"{len(available)} studies"
        raise SchemaError(f"Vizier datastore {path}: {what}; it holds {available}; pick one with study=")
    resource, display, config, trials = studies[0]
    kwargs.setdefault("name", display or resource)
    return study_to_experiment(config, trials, source=f"{path}#{resource}", **kwargs)


def convert(obj: Any, options: Mapping[str, Any]) -> Experiment | None:
    """The ``hpviz_to_experiment`` implementation: ``None`` when ``obj`` is not Vizier's."""
    kwargs = {"name": options.get("name"), "max_steps": options.get("max_steps"),
              "log_capacity": int(options.get("log_capacity", 512))}
    if isinstance(obj, (str, os.PathLike)):
        path = Path(str(obj)[len("sqlite:///"):] if str(obj).startswith("sqlite:///") else obj)
        if not path.is_file() or not is_datastore(path):
            return None
        check_options(options, OPTIONS, "a Vizier study")
        return datastore_to_experiment(path, study=options.get("study"), **kwargs)
    if not type(obj).__module__.startswith("vizier."):
        return None
    check_options(options, OPTIONS, "a Vizier study")
    if hasattr(obj, "materialize_study_config") and hasattr(obj, "trials"):
        kwargs["name"] = kwargs["name"] or obj.resource_name
        return study_to_experiment(obj.materialize_study_config(), list(obj.trials().get()),
                                   source=obj.resource_name, **kwargs)
    return None
