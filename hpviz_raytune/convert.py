"""Ray Tune results -> :class:`hpviz.Experiment`.

Both the live :class:`~hpviz_raytune.HpvizCallback` and the offline converter
(``hpviz.experiment(result_grid)`` / ``hpviz.experiment("~/ray_results/exp")``)
reduce each Ray trial to a *record* (a plain, picklable dict) and build the
Experiment from the records with :func:`build_experiment`, so both give the
same trials for the same run.

States: ``ERROR`` -> FAIL; ``TERMINATED`` -> COMPLETE, or PRUNED when the
trial stopped early: its budget (the scheduler's ``time_attr``, by default
``training_iteration``) is below ``min(max_t, longest trial)`` -- Ray reports
scheduler-stopped trials as TERMINATED like finished ones, so this is the only
sign. With a ``FIFOScheduler`` (no early stopping) nothing is PRUNED.
``RUNNING``/``PAUSED``, and ``PENDING`` with results (an interrupted experiment)
-> RUNNING; ``PENDING`` without results -> WAITING.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import numbers
import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import hpviz
from hpviz_raytune.space import SEP, flatten, from_tune_with_notes, unflatten

__all__ = [
    "RAY_BOOKKEEPING",
    "is_experiment_dir",
    "numeric_metrics",
    "new_record",
    "infer_space",
    "build_experiment",
    "scheduler_info",
    "TunerState",
    "read_tuner_state",
    "read_saved_statuses",
    "experiment_from_dir",
    "experiment_from_result_grid",
]

logger = logging.getLogger("hpviz")

#: Result keys Ray adds to every report; not logged as metrics.
RAY_BOOKKEEPING = frozenset({
    "training_iteration", "timestamp", "time_this_iter_s", "time_since_restore", "iterations_since_restore",
    "timesteps_since_restore", "timesteps_total", "episodes_total", "done", "pid", "trial_id", "date", "hostname",
    "node_ip", "config", "experiment_tag", "checkpoint_dir_name", "should_checkpoint", "experiment_id",
    "warmup_time", "time_total_s",
})

_STATE_OF = {"ERROR": hpviz.TrialState.FAIL, "RUNNING": hpviz.TrialState.RUNNING,
             "PAUSED": hpviz.TrialState.RUNNING, "PENDING": hpviz.TrialState.WAITING}


# --------------------------------------------------------------------------- records


#: URI schemes taken for remote Ray experiment directories (Optuna storage URLs are not ours).
REMOTE_SCHEMES = ("s3://", "gs://", "gcs://", "hdfs://", "abfs://", "abfss://", "az://")


def is_experiment_dir(path: Any) -> bool:
    """Cheap check (no Ray import): a directory holding ``tuner.pkl`` or ``experiment_state-*.json``.

    A remote URI (``s3://...``, ``gs://...``) is taken on trust: it is checked when read.
    """
    if not isinstance(path, (str, os.PathLike)):
        return False
    if str(path).startswith(REMOTE_SCHEMES):
        return True
    p = Path(path).expanduser()
    if not p.is_dir():
        return False
    return (p / "tuner.pkl").is_file() or any(p.glob("experiment_state-*.json"))


def numeric_metrics(result: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Real-valued entries of a (nested) result dict, nested keys joined with ``/`` as Ray does."""
    out: dict[str, float] = {}
    for key, value in result.items():
        t = type(value)
        # exact-type fast paths first: ABC isinstance checks dominate the per-result cost
        if t is float or t is int:
            out[prefix + key] = float(value)
        elif t is str or t is bool or value is None:
            continue
        elif t is dict:
            if key != "config":
                out.update(numeric_metrics(value, f"{prefix}{key}/"))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):  # NumPy scalars
            out[prefix + key] = float(value)
        elif isinstance(value, Mapping) and key != "config":
            out.update(numeric_metrics(value, f"{prefix}{key}/"))
    return out


def new_record(trial_id: str, number: int, config: Mapping[str, Any], *,
               searched: Mapping[str, Any] | Iterable[str] | None = None,
               round_index: int = 0, capacity: int = 512) -> dict[str, Any]:
    """An empty record for one Ray trial (plain data: picklable, cheap to copy).

    ``searched`` is ``trial.evaluated_params`` (the sampled keys, nested with
    ``/``); its values win over the flattened config, so a choice among
    dicts stays one parameter instead of being flattened into its keys.
    """
    flat = flatten(config or {})
    keys = None
    if searched:
        keys = [k.replace("/", SEP) for k in searched]
        if isinstance(searched, Mapping):
            for k, name in zip(searched, keys):
                if isinstance(searched[k], Mapping):
                    flat = {n: v for n, v in flat.items() if not n.startswith(name + SEP)}
                flat[name] = searched[k]
    return {
        "trial_id": str(trial_id),
        "number": int(number),
        "round": int(round_index),
        "config": flat,
        # keys Ray actually sampled
        "searched": keys,
        "status": "PENDING",
        "log": hpviz.ReservoirLog(capacity=capacity, seed=int(number)),
        "last": {},
        "started": None,
        "finished": None,
        "attrs": {"trial_id": str(trial_id)},
    }


def log_result(rec: dict[str, Any], result: Mapping[str, Any], capacity: int) -> None:
    """Append one reported result to the record (every numeric metric, keyed by ``training_iteration``)."""
    metrics = numeric_metrics(result)
    if not metrics:
        return
    step: Any = metrics.get("training_iteration")
    if step is not None and step.is_integer():
        step = int(step)
    last_step = rec["last"].get("training_iteration")
    if step is not None and last_step is not None and step <= last_step:
        # The trial restarted from scratch (recovery without a checkpoint): its new curve supersedes the old.
        rec["log"] = hpviz.ReservoirLog(capacity=capacity, seed=rec["number"])
        rec["attrs"]["restarts"] = rec["attrs"].get("restarts", 0) + 1
    rec["last"] = metrics
    logged = {k: v for k, v in metrics.items() if k not in RAY_BOOKKEEPING}
    if "time_total_s" in metrics:
        logged["time_total_s"] = metrics["time_total_s"]
    if logged:
        rec["log"].append(step if step is not None else rec["log"].seen + 1, **logged)


# --------------------------------------------------------------------------- spaces


def infer_space(records: Iterable[Mapping[str, Any]]) -> hpviz.SearchSpace:
    """A space spanning the observed values of the searched keys (``inferred=True``).

    Numbers -> Float/Int over their observed range (log scale when positive and
    spanning at least two decades); anything else, or a single value -> Categorical.
    """
    values: dict[str, list[Any]] = {}
    for rec in records:
        for name in _searched_keys(rec):
            if name in rec["config"]:
                values.setdefault(name, []).append(rec["config"][name])
    params: dict[str, Any] = {}
    for name, vals in values.items():
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vals)
        finite = numeric and all(math.isfinite(float(v)) for v in vals)
        if finite and len({float(v) for v in vals}) > 1:
            lo, hi = min(vals), max(vals)
            log = lo > 0 and hi / lo >= 100
            if all(isinstance(v, numbers.Integral) for v in vals):
                params[name] = hpviz.Int(int(lo), int(hi), log=log)
            else:
                params[name] = hpviz.Float(float(lo), float(hi), log=log)
        else:
            uniq: list[Any] = []
            for v in vals:
                if not any(_same(v, u) for u in uniq):
                    uniq.append(v)
            params[name] = hpviz.Categorical(uniq)
    return hpviz.SearchSpace(params, inferred=True)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _searched_keys(rec: Mapping[str, Any]) -> list[str]:
    if rec.get("searched"):
        return list(rec["searched"])
    return [k for k, v in rec["config"].items() if isinstance(v, (numbers.Real, str)) or v is None]


# --------------------------------------------------------------------------- schedulers


def scheduler_info(scheduler: Any) -> dict[str, Any]:
    """``{"time_attr", "max_t", "early_stopping"}`` read from a Ray trial scheduler (``None`` = unknown)."""
    if scheduler is None:  # Tune's default is FIFO: nothing is stopped early
        return {"time_attr": "training_iteration", "max_t": None, "early_stopping": False}
    name = type(scheduler).__name__
    if name in ("FIFOScheduler", "PopulationBasedTraining", "PopulationBasedTrainingReplay", "PB2"):
        return {"time_attr": getattr(scheduler, "_time_attr", "training_iteration"), "max_t": None,
                "early_stopping": False}
    max_t = getattr(scheduler, "_max_t", None)
    if max_t is None:
        max_t = getattr(scheduler, "_max_t_attr", None)
    if not isinstance(max_t, numbers.Real) or not math.isfinite(float(max_t)):
        max_t = None
    return {"time_attr": getattr(scheduler, "_time_attr", None) or "training_iteration",
            "max_t": None if max_t is None else float(max_t), "early_stopping": True}


# --------------------------------------------------------------------------- building


def guess_metric(records: Iterable[Mapping[str, Any]]) -> str | None:
    """The first user metric reported (not one of Ray's bookkeeping keys)."""
    for rec in records:
        for key in rec["last"]:
            if key not in RAY_BOOKKEEPING:
                return key
    return None


def build_experiment(
    records: Iterable[Mapping[str, Any]],
    *,
    space: hpviz.SearchSpace | None,
    metric: str | None,
    mode: str | None,
    rounds: Iterable[tuple[hpviz.SearchSpace, tuple, str | None]] = (),
    scheduler: Mapping[str, Any] | None = None,
    name: str | None = None,
    source: str = "ray",
) -> hpviz.Experiment:
    """Build the Experiment from trial records (see :func:`new_record`).

    ``space=None`` infers the space from the observed configs (marked
    ``inferred``). ``metric=None`` uses the first reported user metric.
    ``rounds`` are the later steering rounds ``(space, changes, note)``.
    """
    records = sorted(records, key=lambda r: r["number"])
    if space is None:
        space = infer_space(records)
    if metric is None:
        metric = guess_metric(records) or "value"
    direction = mode if mode in ("min", "max") else "min"
    exp = hpviz.Experiment(space, {metric: direction}, name=name, source=source)
    for rnd_space, changes, note in rounds:
        exp.next_round(rnd_space, changes, note)

    sched = dict(scheduler or {"time_attr": "training_iteration", "max_t": None, "early_stopping": None})
    time_attr = sched.get("time_attr") or "training_iteration"
    budgets = [r["last"].get(time_attr) for r in records]
    known = [b for b in budgets if b is not None and math.isfinite(b)]
    threshold = max(known, default=None)
    if threshold is not None and sched.get("max_t") is not None:
        threshold = min(threshold, sched["max_t"])

    for rec, budget in zip(records, budgets):
        rnd = min(rec["round"], len(exp.rounds) - 1)
        rspace = exp.rounds[rnd].space
        keys = list(rspace) if rspace else _searched_keys(rec)
        params = _params(rec["config"], keys)
        status = rec["status"]
        if status == "TERMINATED":
            early = (sched.get("early_stopping") is not False and budget is not None and threshold is not None
                     and budget < threshold)
            state = hpviz.TrialState.PRUNED if early else hpviz.TrialState.COMPLETE
        elif status == "PENDING" and rec["last"]:
            state = hpviz.TrialState.RUNNING  # interrupted mid-way: it has results and will resume
        else:
            state = _STATE_OF.get(status, hpviz.TrialState.RUNNING)
        value = rec["last"].get(metric)
        values = {} if state is hpviz.TrialState.FAIL or value is None else {metric: value}
        attrs = dict(rec["attrs"])
        other = {k: v for k, v in rec["config"].items()
                 if k not in params and k.split(SEP, 1)[0] not in params and not any(
                     k.startswith(p + SEP) for p in params)}
        if other:
            attrs["config"] = other
        log = rec["log"] if rec["log"].seen else None
        exp.add(hpviz.Trial(
            rec["number"], params, values, state, log=log,
            started=_when(rec["started"]), finished=_when(rec["finished"]),
            budget=budget if budget is not None and math.isfinite(budget) else None,
            attrs=attrs, round=rnd,
        ))
    return exp


def _params(config: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    out = {}
    for k in keys:
        if k in config:
            out[k] = config[k]
        else:  # a dict-valued choice that got flattened: nest its keys back
            sub = {n[len(k) + 1:]: v for n, v in config.items() if n.startswith(k + SEP)}
            if sub:
                out[k] = unflatten(sub)
    return out


def _when(epoch: float | None) -> _dt.datetime | None:
    if epoch is None or not math.isfinite(epoch):
        return None
    return _dt.datetime.fromtimestamp(float(epoch), tz=_dt.timezone.utc)


# --------------------------------------------------------------------------- saved experiment state


class TunerState:
    """What an experiment directory says about the run (each field ``None`` when unknown)."""

    def __init__(self) -> None:
        self.metric: str | None = None
        self.mode: str | None = None
        self.scheduler: dict[str, Any] | None = None
        self.space: hpviz.SearchSpace | None = None
        self.space_source: str | None = None
        self.notes: list[str] = []


def _list_files(directory: str, fs: Any = None) -> list[str]:
    if fs is None or type(fs).__name__ == "LocalFileSystem":
        p = Path(directory)
        return sorted(str(c) for c in p.iterdir()) if p.is_dir() else []
    import pyarrow.fs

    infos = fs.get_file_info(pyarrow.fs.FileSelector(directory, allow_not_found=True))
    return sorted(i.path for i in infos)


def _read(path: str, fs: Any = None) -> bytes:
    if fs is None or type(fs).__name__ == "LocalFileSystem":
        return Path(path).read_bytes()
    with fs.open_input_file(path) as fh:
        return fh.readall()


def read_tuner_state(locations: Iterable[tuple[str, Any]], *, want_space: bool = True) -> TunerState:
    """Read metric, mode, scheduler and search space from an experiment's saved state.

    ``tuner.pkl`` (written at ``Tuner()`` construction) holds the ``TuneConfig``
    (metric, mode, scheduler) and the ``RunConfig`` with a pickled copy of the
    callbacks; Ray drops the ``param_space`` itself from it. The search space
    is recovered from an :class:`HpvizCallback` copy constructed with
    ``param_space``, else from the default searcher's saved state
    (``basic-variant-state-*.json``, a pickle holding the unresolved spec).
    ``locations`` are ``(directory, pyarrow filesystem or None)`` pairs, searched
    in order (the first file of a name wins). Every step is best-effort:
    failures become notes.
    """
    state = TunerState()
    names: dict[str, tuple[str, Any]] = {}
    for d, fs in locations:
        if not d:
            continue
        try:
            for f in _list_files(str(d), fs):
                names.setdefault(os.path.basename(f), (f, fs))
        except Exception as exc:  # noqa: BLE001 - best effort
            state.notes.append(f"cannot list {d}: {type(exc).__name__}: {exc}")
    if "tuner.pkl" in names:
        try:
            tuner = pickle.loads(_read(*names["tuner.pkl"]))
            tc = tuner.get("_tune_config")
            if tc is not None:
                state.metric = getattr(tc, "metric", None)
                state.mode = getattr(tc, "mode", None)
                state.scheduler = scheduler_info(getattr(tc, "scheduler", None))
            rc = tuner.get("_run_config")
            for cb in getattr(rc, "callbacks", None) or ():
                if type(cb).__name__ == "HpvizCallback" and type(cb).__module__.startswith("hpviz_raytune"):
                    state.metric = state.metric or cb.metric
                    state.mode = state.mode or cb.mode
                    if cb._declared_space is not None and state.space is None:
                        state.space, state.space_source = cb._declared_space, "HpvizCallback(param_space=...)"
        except Exception as exc:  # noqa: BLE001 - unpicklable user classes, other Ray versions...
            state.notes.append(f"cannot read tuner.pkl: {type(exc).__name__}: {exc}")
    if want_space and state.space is None:
        spec_files = sorted((f for f in names if f.startswith("basic-variant-state-")), reverse=True)
        for fname in spec_files:
            try:
                searcher = pickle.loads(_read(*names[fname]))
                for it in searcher.get("_iterators", ()):
                    config = getattr(it, "unresolved_spec", {}).get("config")
                    if isinstance(config, Mapping):
                        space, notes = from_tune_with_notes(config)
                        state.space, state.space_source = space, f"the searcher state {fname}"
                        state.notes.extend(notes)
                        break
            except Exception as exc:  # noqa: BLE001
                state.notes.append(f"cannot read {fname}: {type(exc).__name__}: {exc}")
            if state.space is not None:
                break
    return state


def read_saved_statuses(locations: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """``trial_id -> status`` from the latest ``experiment_state-*.json`` (empty if none is readable).

    This is what a restore resumes from: when a run is interrupted, Ray stops the
    unfinished trials' actors (live status TERMINATED, ``on_trial_complete``
    called) but saves them as PENDING, to be resumed.
    """
    import json

    for d, fs in locations:
        try:
            files = [f for f in _list_files(str(d), fs) if os.path.basename(f).startswith("experiment_state-")]
            if not files:
                continue
            data = json.loads(_read(max(files, key=os.path.basename), fs))
            out: dict[str, str] = {}
            for entry in data.get("trial_data", ()):
                first = json.loads(entry[0]) if isinstance(entry, list) and entry else {}
                if "trial_id" in first and "status" in first:
                    out[str(first["trial_id"])] = str(first["status"])
            return out
        except Exception:  # noqa: BLE001 - best effort
            continue
    return {}


# --------------------------------------------------------------------------- offline conversion


def _records_from_analysis(ea: Any, capacity: int = 512) -> list[dict[str, Any]]:
    import numpy as np

    trials = sorted(ea.trials, key=lambda t: str(t.trial_id))
    frames = ea.trial_dataframes
    records = []
    for number, trial in enumerate(trials):
        rec = new_record(trial.trial_id, number, trial.config or {}, searched=dict(trial.evaluated_params or {}),
                         capacity=capacity)
        rec["status"] = str(trial.status)
        df = frames.get(trial.trial_id)
        if df is not None and len(df):
            cols = [c for c in df.columns if not c.startswith("config/")
                    and df[c].dtype.kind in "fiu" and c != "done"]
            data = df[cols].to_numpy(dtype=float)
            for row in data:
                log_result(rec, {c: v for c, v in zip(cols, row) if not np.isnan(v) or c not in RAY_BOOKKEEPING},
                           capacity)
            first, last = data[0], data[-1]
            if "timestamp" in cols:
                i = cols.index("timestamp")
                dt = first[cols.index("time_this_iter_s")] if "time_this_iter_s" in cols else 0.0
                rec["started"] = float(first[i] - (dt if math.isfinite(dt) else 0.0))
                rec["finished"] = float(last[i])
        elif trial.last_result:
            log_result(rec, trial.last_result, capacity)
        try:
            rec["attrs"]["resources"] = dict(trial.placement_group_factory.required_resources)
        except Exception:  # noqa: BLE001
            pass
        lr = trial.last_result or {}
        for key in ("hostname", "node_ip"):
            if lr.get(key) is not None:
                rec["attrs"][key] = lr[key]
        if rec["status"] == "ERROR":
            msg = _error_message(trial)
            if msg:
                rec["attrs"]["error"] = msg
        records.append(rec)
    return records


def _error_message(trial: Any) -> str | None:
    try:
        text = Path(trial.path, "error.txt").read_text(errors="replace").strip()
    except Exception:  # noqa: BLE001 - remote storage or no file
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][:500] if lines else None


def _finish(records: list[dict[str, Any]], tstate: TunerState, options: Mapping[str, Any], *,
            name: str | None) -> hpviz.Experiment:
    metric = options.get("metric") or tstate.metric
    mode = options.get("mode") or tstate.mode
    space = None
    if options.get("param_space") is not None:
        space = options["param_space"]
        if not isinstance(space, hpviz.SearchSpace):
            space, notes = from_tune_with_notes(space)
            for note in notes:
                logger.info("hpviz: %s", note)
    elif options.get("space") is not None:
        space = options["space"]
        if not isinstance(space, hpviz.SearchSpace):
            space = hpviz.SearchSpace(space)
    elif tstate.space is not None:
        space = tstate.space
    else:
        logger.warning("hpviz: the Ray experiment's search space could not be recovered (%s); inferring it from "
                       "the observed configs (bounds are only the observed range). Pass param_space=... for the "
                       "exact space.", "; ".join(tstate.notes) or "no saved searcher state")
    if metric is None or mode is None:
        guessed = metric or guess_metric(records)
        logger.warning("hpviz: no metric/mode known for this Ray experiment (none in TuneConfig); using %r (%s). "
                       "Pass hpviz.experiment(obj, metric='...', mode='min'|'max') to choose.",
                       guessed, mode or "min")
    return build_experiment(records, space=space, metric=metric, mode=mode, scheduler=tstate.scheduler,
                            name=name)


def experiment_from_dir(path: str | os.PathLike, options: Mapping[str, Any] | None = None,
                        *, filesystem: Any = None) -> hpviz.Experiment:
    """Convert a Ray Tune experiment directory (finished or interrupted) to an Experiment.

    Works offline (no running Ray needed): it reads the directory with
    ``ray.tune.ExperimentAnalysis`` and the saved tuner/searcher state.

    Parameters
    ----------
    path:
        The experiment directory (``storage_path/name``), local or a URI.
    options:
        ``metric``, ``mode``, ``param_space`` (native) or ``space`` (hpviz) to
        override what the saved state says; ``name``.
    """
    from ray.tune import ExperimentAnalysis

    options = dict(options or {})
    path_str = str(Path(path).expanduser()) if "://" not in str(path) else str(path)
    try:
        ea = ExperimentAnalysis(path_str, storage_filesystem=filesystem)
    except Exception as exc:
        raise hpviz.SchemaError(f"cannot read the Ray Tune experiment at {path_str!r}: {type(exc).__name__}: {exc}") from exc
    records = _records_from_analysis(ea, int(options.get("log_capacity", 512)))
    state_fs, state_path = filesystem, path_str
    if "://" in path_str and filesystem is None:
        try:
            import pyarrow.fs

            state_fs, state_path = pyarrow.fs.FileSystem.from_uri(path_str)
        except Exception:  # noqa: BLE001 - the saved-state recovery is best effort
            pass
    tstate = read_tuner_state([(state_path, state_fs)], want_space=options.get("param_space") is None)
    name = options.get("name") or os.path.basename(path_str.rstrip("/"))
    return _finish(records, tstate, options, name=name)


def experiment_from_result_grid(grid: Any, options: Mapping[str, Any] | None = None) -> hpviz.Experiment:
    """Convert a ``ResultGrid`` (from ``Tuner.fit()`` / ``Tuner.get_results()``) to an Experiment."""
    return experiment_from_dir(grid.experiment_path, options, filesystem=getattr(grid, "filesystem", None))
