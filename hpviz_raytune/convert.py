"""Ray Tune results -> :class:`hpviz.Experiment`.

Both the live :class:`~hpviz_raytune.HpvizCallback` and the offline converter
(``hpviz.experiment(result_grid)`` / ``hpviz.experiment("ray_results/exp")``)
reduce each Ray trial to a *record* (a plain, picklable dict) and build the
Experiment from the records with :func:`build_experiment`, so both give the
same trials for the same run.

Numbering: trials are numbered in the order they started (Ray's
``start_time``; the live callback sees them start in that order). Trial ids
are random with most search algorithms, so they are never the order.

States: ``ERROR`` -> FAIL; ``TERMINATED`` -> COMPLETE, or PRUNED when the
trial stopped early: its budget (the scheduler's ``time_attr``, by default
``training_iteration``) is below ``min(max_t, longest trial)`` -- Ray reports
scheduler-stopped trials as TERMINATED like finished ones, so this is the only
sign. With a ``FIFOScheduler`` or PBT (no early stopping) nothing is PRUNED.
``RUNNING``/``PAUSED``, and ``PENDING`` with results (an interrupted experiment)
-> RUNNING; ``PENDING`` without results -> WAITING.

Changing configurations (population based training): every reported result
carries the config it was produced with. A trial's ``params`` and values are
those of its **final** result, Ray's ``trial.last_result`` (saved in
``experiment_state-*.json``; not always the last row of ``result.json``, see
:func:`settle_last_result`); ``attrs["pbt_exploits"]`` lists ``{"step",
"donor", "donor_step", "config"}`` per exploit (``donor`` is the trial id whose
checkpoint was cloned, read from PBT's ``pbt_global.txt``, a JSON-lines file);
when the config changed during the trial, ``attrs["config_history"]`` lists
``{"step": s, "config": {name: value}}`` for each config in use, ``step`` being
its first step (0 for the initial config), cut from the exploits when there is
an exploit log (:func:`pbt_config_history`), else from the reported configs.
The live callback applies the same two rules when the experiment ends.

No code runs from data: an experiment folder is read as JSON/CSV
(``experiment_state-*.json`` parsed with :mod:`json`, never Ray's decoder of
embedded pickles; each trial's ``result.json``/``progress.csv``). The pickles
Ray writes (``tuner.pkl``: TuneConfig, metric, mode, scheduler, searcher;
``basic-variant-state-*``: the exact ``param_space``) are unpickled only with
``trust=True``; remote URIs need ``trust=True`` too.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import logging
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import hpviz
from hpviz_raytune import _compat
from hpviz_raytune.space import SEP, flatten, from_tune_with_notes, space_from_native, unflatten

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


def _flat_config(config: Mapping[str, Any], searched: Mapping[str, Any] | Iterable[str] | None
                 ) -> tuple[dict[str, Any], list[str] | None]:
    """The flattened config and the searched keys (``/`` paths turned into dotted names).

    A searched value that is a dict (a choice among dicts) stays one parameter
    instead of being flattened into its keys. Other values come from
    ``config`` (the current config: PBT changes it), else from ``searched``.
    """
    flat = flatten(config or {})
    if not searched:
        return flat, None
    keys = [k.replace("/", SEP) for k in searched]
    if isinstance(searched, Mapping):
        for k, name in zip(searched, keys):
            value = searched[k]
            if isinstance(value, Mapping):
                sub = {n[len(name) + 1:]: v for n, v in flat.items() if n.startswith(name + SEP)}
                flat = {n: v for n, v in flat.items() if not n.startswith(name + SEP)}
                flat[name] = unflatten(sub) if sub else value
            elif name not in flat:
                flat[name] = value
    return flat, keys


def new_record(trial_id: str, number: int, config: Mapping[str, Any], *,
               searched: Mapping[str, Any] | Iterable[str] | None = None,
               round_index: int = 0, capacity: int = 512, tag: str | None = None,
               started: float | None = None) -> dict[str, Any]:
    """An empty record for one Ray trial (plain data: picklable, cheap to copy).

    ``searched`` is ``trial.evaluated_params`` (the sampled keys, nested with
    ``/``). ``tag`` is the trial's ``experiment_tag`` when it started (PBT's
    log names trials by it); ``started`` its start time (epoch seconds).
    """
    searched_map = dict(searched) if isinstance(searched, Mapping) else searched
    flat, keys = _flat_config(config, searched_map)
    return {
        "trial_id": str(trial_id),
        "number": int(number),
        "round": int(round_index),
        "config": flat,
        # keys Ray actually sampled
        "searched": keys,
        "searched_values": searched_map if isinstance(searched_map, Mapping) else None,
        "raw_config": dict(config or {}),
        "tag": None if tag is None else _orig_tag(str(tag)),
        "status": "PENDING",
        "log": hpviz.ReservoirLog(capacity=capacity, seed=int(number)),
        "last": {},
        "started": started,
        "finished": None,
        "attrs": {"trial_id": str(trial_id)},
    }


def _orig_tag(tag: str) -> str:
    """PBT appends ``@perturbed[...]`` to a trial's tag on each exploit; its log uses the original tag."""
    return tag.split("@perturbed", 1)[0]


def log_result(rec: dict[str, Any], result: Mapping[str, Any], capacity: int) -> None:
    """Append one reported result to the record (every numeric metric, keyed by ``training_iteration``).

    A result whose ``config`` differs from the record's (PBT) moves the record
    to that config and notes the change in ``attrs["config_history"]``.
    """
    metrics = numeric_metrics(result)
    if not metrics:
        return
    step: Any = metrics.get("training_iteration")
    if step is not None and step.is_integer():
        step = int(step)
    last_step = rec["last"].get("training_iteration")
    config = result.get("config")
    exploited = isinstance(config, Mapping) and _track_config(rec, config, step if step is not None
                                                              else rec["log"].seen + 1)
    if step is not None and last_step is not None and step <= last_step and not exploited:
        # The trial restarted from scratch (recovery without a checkpoint): its new curve supersedes the old.
        # (A PBT exploit also goes back to the donor's step, with a new config: its curve is kept.)
        rec["log"] = hpviz.ReservoirLog(capacity=capacity, seed=rec["number"])
        rec["attrs"]["restarts"] = rec["attrs"].get("restarts", 0) + 1
    rec["last"] = metrics
    logged = {k: v for k, v in metrics.items() if k not in RAY_BOOKKEEPING}
    if "time_total_s" in metrics:
        logged["time_total_s"] = metrics["time_total_s"]
    if logged:
        rec["log"].append(step if step is not None else rec["log"].seen + 1, **logged)


def _track_config(rec: dict[str, Any], config: Mapping[str, Any], step: Any) -> bool:
    """Move the record to ``config``; ``True`` when the searched values changed between two results."""
    if rec.get("raw_config") == config or repr(rec.get("raw_config")) == repr(config):
        return False
    keys = rec["searched"]
    flat, _ = _flat_config(config, rec.get("searched_values") or keys)
    changed = False
    # Offline, a record starts from the trial's final config and its first result says what the trial
    # started with: adopt it silently. A change between two results is a PBT exploit: note it.
    if rec["last"]:
        view = _searched_view(flat, keys)
        if view != _searched_view(rec["config"], keys):
            changed = True
            history = rec["attrs"].setdefault("config_history", [])
            if not history:
                history.append({"step": 0, "config": _searched_view(rec["config"], keys)})
            if history[-1]["step"] == step:
                # Replaced again before reaching the next step (two exploits in a row): it is not part of the
                # lineage. Ray may pass such a result to callbacks without persisting it, so dropping it
                # keeps the live and offline histories equal.
                history[-1] = {"step": step, "config": view}
            else:
                history.append({"step": step, "config": view})
    rec["raw_config"] = dict(config)
    rec["config"] = flat
    return changed


def _searched_view(flat: Mapping[str, Any], keys: Sequence[str] | None) -> dict[str, Any]:
    if not keys:
        return {k: v for k, v in flat.items() if isinstance(v, (numbers.Real, str)) or v is None}
    return {k: flat[k] for k in keys if k in flat}


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
    """``{"time_attr", "max_t", "early_stopping", "kind"}`` read from a Ray trial scheduler (``None`` = unknown)."""
    return _compat.scheduler_settings(scheduler)


# --------------------------------------------------------------------------- building


def guess_metric(records: Iterable[Mapping[str, Any]]) -> str | None:
    """The first user metric reported (not one of Ray's bookkeeping keys)."""
    for rec in records:
        for key in rec["last"]:
            if key not in RAY_BOOKKEEPING:
                return key
    return None


def reported_metrics(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every numeric metric some trial reported (user metrics first, then Ray's bookkeeping)."""
    seen: dict[str, None] = {}
    for rec in records:
        seen.update(dict.fromkeys(rec["last"]))
    return [k for k in seen if k not in RAY_BOOKKEEPING] + [k for k in seen if k in RAY_BOOKKEEPING]


def objectives(metric: str | Sequence[str] | None, mode: str | Sequence[str] | None, *,
               where: str = "hpviz.experiment") -> dict[str, str] | None:
    """``{metric: mode}`` from Ray's ``metric``/``mode`` (a string or a list each, as Tune takes them).

    ``None`` when either is unknown. A mode other than ``"min"``/``"max"`` or
    lists of different lengths are a :class:`hpviz.SchemaError`.
    """
    if metric is None or mode is None:
        return None
    metrics = [metric] if isinstance(metric, str) else list(metric)
    modes = [mode] * len(metrics) if isinstance(mode, str) else list(mode)
    if not metrics or not all(isinstance(m, str) and m for m in metrics):
        raise hpviz.SchemaError(f"{where}: metric must be a metric name or a list of names, got {metric!r}")
    if len(modes) != len(metrics):
        raise hpviz.SchemaError(f"{where}: {len(metrics)} metrics {metrics} but {len(modes)} modes {modes}: "
                                "give one mode per metric")
    for m in modes:
        if m not in ("min", "max"):
            raise hpviz.SchemaError(f"{where}: mode must be 'min' or 'max' (as Ray Tune spells it), got {m!r}")
    if len(set(metrics)) != len(metrics):
        raise hpviz.SchemaError(f"{where}: metric {metrics} names a metric twice")
    return dict(zip(metrics, modes))


def check_reported(records: Iterable[Mapping[str, Any]], objs: Iterable[str]) -> None:
    """A metric no trial reported is a :class:`hpviz.SchemaError` listing the reported ones (a typo, usually)."""
    reported = reported_metrics(records)
    missing = [m for m in objs if m not in reported]
    if reported and missing:
        raise hpviz.SchemaError(f"metric {missing[0]!r} was not reported by any trial; reported metrics: "
                                f"{reported}. Pass metric= one of them.")


def build_experiment(
    records: Iterable[Mapping[str, Any]],
    *,
    space: hpviz.SearchSpace | None,
    metric: str | Sequence[str] | None,
    mode: str | Sequence[str] | None,
    rounds: Iterable[tuple[hpviz.SearchSpace, tuple, str | None]] = (),
    scheduler: Mapping[str, Any] | None = None,
    name: str | None = None,
    source: str = "ray",
    notes: Iterable[str] = (),
    reuse: dict[str, tuple[tuple, hpviz.Trial]] | None = None,
) -> hpviz.Experiment:
    """Build the Experiment from trial records (see :func:`new_record`).

    ``space=None`` infers the space from the observed configs (marked
    ``inferred``). ``metric``/``mode`` are Ray's (a string or a list each;
    ``metric=None`` uses the first reported user metric, ``mode=None`` means
    "min"). A metric no trial reported is a :class:`hpviz.SchemaError` listing
    the reported ones. ``rounds`` are the later steering rounds ``(space,
    changes, note)``. The experiment's ``notes`` (a list of strings, also
    ``notes`` passed here) say what the report must warn about: an inferred
    or empty search space, a fallback trial order.

    ``reuse`` (the live callback's: trial id -> (key, trial) of an earlier build, updated here) keeps
    the Trial object of a record whose entry is still there and whose key is the same: its number,
    round, state (re-derived each time: it depends on the longest trial) and what every trial depends
    on (objectives, budget attribute, the parameter names of its round). The caller drops the entry of a
    record it changed; a record's trial is rebuilt from it otherwise.
    """
    records = sorted(records, key=lambda r: r["number"])
    notes = list(notes)
    if space is None:
        space = infer_space(records)
    if space.inferred:
        notes.append("The search space was inferred from the observed configs: its bounds are only the observed "
                     "range (pass param_space=... for the exact space).")
    if not len(space):
        notes.append("The search space is empty: no searched parameter was found, so there is nothing to analyse "
                     "per parameter.")
    if metric is None:
        metric = guess_metric(records) or "value"
    objs = objectives(metric, mode if mode is not None else "min")
    assert objs is not None
    check_reported(records, objs)
    exp = hpviz.Experiment(space, objs, name=name, source=source, framework="ray", notes=notes)
    for rnd_space, changes, note in rounds:
        exp.next_round(rnd_space, changes, note)

    sched = dict(scheduler or {"time_attr": "training_iteration", "max_t": None, "early_stopping": None})
    time_attr = sched.get("time_attr") or "training_iteration"
    budgets = [r["last"].get(time_attr) for r in records]
    known = [b for b in budgets if b is not None and math.isfinite(b)]
    threshold = max(known, default=None)
    if threshold is not None and sched.get("max_t") is not None:
        threshold = min(threshold, sched["max_t"])

    shared = (tuple(objs.items()), time_attr)
    names = [tuple(r.space) for r in exp.rounds]
    for rec, budget in zip(records, budgets):
        rnd = min(rec["round"], len(exp.rounds) - 1)
        status = rec["status"]
        if status == "TERMINATED":
            early = (sched.get("early_stopping") is not False and budget is not None and threshold is not None
                     and budget < threshold)
            state = hpviz.TrialState.PRUNED if early else hpviz.TrialState.COMPLETE
        elif status == "PENDING" and rec["last"]:
            state = hpviz.TrialState.RUNNING  # interrupted mid-way: it has results and will resume
        else:
            state = _STATE_OF.get(status, hpviz.TrialState.RUNNING)
        if reuse is not None:
            key = (rec["number"], rnd, state, names[rnd], shared)
            kept = reuse.get(rec["trial_id"])
            if kept is not None and kept[0] == key:
                exp.add(kept[1])
                continue
        rspace = exp.rounds[rnd].space
        keys = list(rspace) if rspace else _searched_keys(rec)
        params = _params(rec["config"], keys)
        values = {}
        if state is not hpviz.TrialState.FAIL:
            values = {m: rec["last"][m] for m in objs if rec["last"].get(m) is not None}
        attrs = dict(rec["attrs"])
        other = {k: v for k, v in rec["config"].items()
                 if k not in params and k.split(SEP, 1)[0] not in params and not any(
                     k.startswith(p + SEP) for p in params)}
        if other:
            attrs["config"] = other
        log = rec["log"] if rec["log"].seen else None
        trial = exp.add(hpviz.Trial(
            rec["number"], params, values, state, log=log,
            started=_when(rec["started"]), finished=_when(rec["finished"]),
            budget=budget if budget is not None and math.isfinite(budget) else None,
            attrs=attrs, round=rnd,
        ))
        if reuse is not None:
            reuse[rec["trial_id"]] = (key, trial)
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


# --------------------------------------------------------------------------- reading an experiment folder

#: Keyword options :func:`experiment_from_dir` takes (``hpviz.experiment(path, **options)``).
ALLOWED_OPTIONS = ("metric", "mode", "param_space", "space", "name", "log_capacity", "trust")

#: What ``trust=True`` adds, said in every message that asks for it.
TRUST_ADDS = ("trust=True (CLI --trust) unpickles tuner.pkl and the searcher state, which hold the exact "
              "param_space, the TuneConfig/searcher metric and mode and the scheduler settings (e.g. ASHA's "
              "max_t); unpickling runs code from the files, so use it only for folders you trust")

_PICKLED = "<pickled object, not loaded without trust=True>"


def check_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options as a dict; an unknown one is a TypeError listing the allowed names."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(ALLOWED_OPTIONS))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown} for a Ray Tune experiment; allowed: {list(ALLOWED_OPTIONS)}")
    if not isinstance(options.get("trust", False), bool):
        raise TypeError(f"trust= must be True or False, got {options['trust']!r}")
    return options


class TunerState:
    """What an experiment directory says about the run (each field ``None`` when unknown)."""

    def __init__(self) -> None:
        self.metric: Any = None
        self.mode: Any = None
        self.scheduler: dict[str, Any] | None = None
        self.space: hpviz.SearchSpace | None = None
        self.space_source: str | None = None
        self.notes: list[str] = []


def _is_local(fs: Any) -> bool:
    return fs is None or type(fs).__name__ == "LocalFileSystem"


def _list_files(directory: str, fs: Any = None) -> list[str]:
    if _is_local(fs):
        p = Path(directory)
        return sorted(str(c) for c in p.iterdir()) if p.is_dir() else []
    import pyarrow.fs

    infos = fs.get_file_info(pyarrow.fs.FileSelector(directory, allow_not_found=True))
    return sorted(i.path for i in infos)


def _read(path: str, fs: Any = None) -> bytes:
    if _is_local(fs):
        return Path(path).read_bytes()
    with fs.open_input_file(path) as fh:
        return fh.readall()


def _names(locations: Iterable[tuple[str, Any]], notes: list[str]) -> dict[str, tuple[str, Any]]:
    names: dict[str, tuple[str, Any]] = {}
    for d, fs in locations:
        if not d:
            continue
        try:
            for f in _list_files(str(d), fs):
                names.setdefault(os.path.basename(f), (f, fs))
        except Exception as exc:  # noqa: BLE001 - best effort
            notes.append(f"cannot list {d}: {type(exc).__name__}: {exc}")
    return names


def read_tuner_state(locations: Iterable[tuple[str, Any]], *, want_space: bool = True,
                     trust: bool = True) -> TunerState:
    """Read metric, mode, scheduler and search space from an experiment's pickled state.

    ``tuner.pkl`` (written at ``Tuner()`` construction) holds the ``TuneConfig``
    (metric, mode, scheduler, search algorithm) and the ``RunConfig`` with a
    pickled copy of the callbacks; Ray drops the ``param_space`` itself from
    it. The search space is recovered from an :class:`HpvizCallback` copy
    constructed with ``param_space``, from the search algorithm's own space
    (``OptunaSearch(space)``/``HyperOptSearch(space)``), else from the default
    searcher's saved state (``basic-variant-state-*.json``, a pickle holding
    the unresolved spec). ``locations`` are ``(directory, pyarrow filesystem
    or None)`` pairs, searched in order. Every step is best-effort: failures
    become notes.

    Unpickling runs code from the files: with ``trust=False`` nothing is read
    and the state is empty. The live callback reads the state its own run
    has just written (``trust=True``); the offline converter passes the
    user's ``trust=`` option.
    """
    state = TunerState()
    if not trust:
        return state
    names = _names(locations, state.notes)
    if "tuner.pkl" in names:
        try:
            tc, rc = _compat.saved_tuner_configs(_compat.load_pickle(_read(*names["tuner.pkl"])))
            if tc is not None:
                state.metric = getattr(tc, "metric", None)
                state.mode = getattr(tc, "mode", None)
                scheduler = getattr(tc, "scheduler", None)
                state.scheduler = scheduler_info(scheduler)
                alg = getattr(tc, "search_alg", None)
                for m, md in (_compat.searcher_metric_mode(alg), _compat.scheduler_metric_mode(scheduler)):
                    if state.metric is None and m is not None:
                        state.metric, state.mode = m, state.mode or md
                native = _compat.searcher_space(alg) if want_space else None
                if native:
                    state.space, notes = space_from_native(native)
                    state.space_source = f"the search algorithm {type(alg).__name__}"
                    state.notes.extend(notes)
            for cb in getattr(rc, "callbacks", None) or ():
                if type(cb).__name__ == "HpvizCallback" and type(cb).__module__.startswith("hpviz_raytune"):
                    state.metric = state.metric or cb.metric
                    state.mode = state.mode or cb.mode
                    declared = getattr(cb, "_declared_space", None)
                    if declared is not None and state.space is None:
                        state.space, state.space_source = declared, "HpvizCallback(param_space=...)"
        except Exception as exc:  # noqa: BLE001 - unpicklable user classes, other Ray versions...
            state.notes.append(f"cannot read tuner.pkl: {type(exc).__name__}: {exc}")
    for fname in sorted((f for f in names if f.startswith("searcher-state-")), reverse=True)[:1]:
        try:
            native, s_metric, s_mode = _compat.saved_searcher_settings(_compat.load_pickle(_read(*names[fname])))
            if state.metric is None and s_metric is not None:
                state.metric, state.mode = s_metric, state.mode or s_mode
            if want_space and state.space is None and native is not None:
                state.space, notes = space_from_native(native)
                state.space_source = f"the searcher state {fname}"
                state.notes.extend(notes)
        except Exception as exc:  # noqa: BLE001
            state.notes.append(f"cannot read {fname}: {type(exc).__name__}: {exc}")
    if want_space and state.space is None:
        spec_files = sorted((f for f in names if f.startswith("basic-variant-state-")), reverse=True)
        for fname in spec_files:
            try:
                config = _compat.saved_searcher_spec(_compat.load_pickle(_read(*names[fname])))
                if config is not None:
                    space, notes = from_tune_with_notes(config)
                    state.space, state.space_source = space, f"the searcher state {fname}"
                    state.notes.extend(notes)
            except Exception as exc:  # noqa: BLE001
                state.notes.append(f"cannot read {fname}: {type(exc).__name__}: {exc}")
            if state.space is not None:
                break
    return state


def _latest_state(locations: Iterable[tuple[str, Any]]) -> dict[str, Any] | None:
    """The latest ``experiment_state-*.json``, parsed as plain JSON (embedded pickles stay opaque dicts)."""
    for d, fs in locations:
        try:
            files = [f for f in _list_files(str(d), fs) if os.path.basename(f).startswith("experiment_state-")
                     and f.endswith(".json")]
            if not files:
                continue
            data = json.loads(_read(max(files, key=os.path.basename), fs))
            if isinstance(data, dict):
                return data
        except Exception:  # noqa: BLE001 - best effort
            continue
    return None


def _entries(data: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for entry in data.get("trial_data", ()) or ():
        try:
            trial = json.loads(entry[0]) if isinstance(entry[0], str) else entry[0]
            meta = json.loads(entry[1]) if len(entry) > 1 and isinstance(entry[1], str) else {}
        except Exception:  # noqa: BLE001 - a damaged entry is skipped, the rest is read
            continue
        if isinstance(trial, dict) and "trial_id" in trial:
            out.append((_scrub(trial), _scrub(meta) if isinstance(meta, dict) else {}))
    return out


def read_saved_statuses(locations: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """``trial_id -> status`` from the latest ``experiment_state-*.json`` (empty if none is readable).

    This is what a restore resumes from: when a run is interrupted, Ray stops the
    unfinished trials' actors (live status TERMINATED, ``on_trial_complete``
    called) but saves them as PENDING, to be resumed.
    """
    data = _latest_state(locations)
    if data is None:
        return {}
    return {str(t["trial_id"]): str(t["status"]) for t, _ in _entries(data) if "status" in t}


def _scrub(obj: Any, depth: int = 0) -> Any:
    """Replace Ray's embedded pickles (``{"_type": "CLOUDPICKLE_FALLBACK", ...}``) by a placeholder string."""
    if depth > 50:
        return None
    if isinstance(obj, dict):
        if obj.get("_type") == "CLOUDPICKLE_FALLBACK":
            return _PICKLED
        return {k: _scrub(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_scrub(v, depth + 1) for v in obj]
    return obj


def _trial_results(trial_dir: str, fs: Any) -> list[dict[str, Any]]:
    """Every result a trial reported: ``result.json`` (JSON lines), else ``progress.csv``."""
    try:
        text = _read(os.path.join(trial_dir, "result.json"), fs).decode("utf-8", errors="replace")
        out = []
        for line in text.splitlines():
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:  # a line cut by a crash: skip it
                    continue
                if isinstance(row, dict):
                    out.append(_scrub(row))
        if out:
            return out
    except OSError:
        pass
    try:
        text = _read(os.path.join(trial_dir, "progress.csv"), fs).decode("utf-8", errors="replace")
    except OSError:
        return []
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        result: dict[str, Any] = {}
        config: dict[str, Any] = {}
        for key, cell in row.items():
            if key is None or cell in (None, ""):
                continue
            value = _cell(cell)
            if key.startswith("config/"):
                config[key[len("config/"):]] = value
            else:
                result[key] = value
        if config:
            result["config"] = unflatten(config, sep="/")
        rows.append(result)
    return rows


def _cell(cell: str) -> Any:
    if cell in ("True", "False"):
        return cell == "True"
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def read_pbt_exploits(locations: Iterable[tuple[str, Any]]) -> list[list[Any]]:
    """PBT's exploit log ``pbt_global.txt`` (JSON lines: target tag, donor tag, target step, donor step,
    donor config, new config), in the order the exploits happened; empty when there is none."""
    for d, fs in locations:
        try:
            text = _read(os.path.join(str(d), "pbt_global.txt"), fs).decode("utf-8", errors="replace")
        except Exception:  # noqa: BLE001 - no PBT, or not synced
            continue
        rows = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, list) and len(row) >= 6:
                rows.append(_scrub(row))
        return rows
    return []


def settle_last_result(rec: dict[str, Any], last: Mapping[str, Any] | None, capacity: int) -> None:
    """Make Ray's ``trial.last_result`` the record's final result (its value and its config).

    The one rule, live and offline: a trial's final result is the one Ray kept as its last result
    (``trial.last_result``, saved in ``experiment_state-*.json``). ``result.json``/``progress.csv`` may
    lack the last rows: when a trial restarts from a checkpoint (a PBT exploit, or PBT pausing a trial
    to time-share the CPUs), Ray's logger callbacks copy the files back from the storage folder, which is
    synced only now and then, over the newer local copies, so the results reported since the last sync
    are lost from them (under load, often). The live callback saw every result.
    """
    if not isinstance(last, Mapping) or not numeric_metrics(last):
        return
    metrics = numeric_metrics(last)
    if metrics == rec["last"]:
        return
    step = metrics.get("training_iteration")
    last_step = rec["last"].get("training_iteration")
    if step is None or last_step is None or step > last_step:
        log_result(rec, last, capacity)
        return
    # Not after the logged rows (their files were rewritten): take its value and config, keep the curve.
    config = last.get("config")
    if isinstance(config, Mapping):
        _track_config(rec, config, step)
    rec["last"] = metrics


def pbt_config_history(rec: dict[str, Any]) -> None:
    """Cut ``attrs["config_history"]`` from the exploit log (``attrs["pbt_exploits"]``), the same live and offline.

    The reported rows cannot tell (see :func:`settle_last_result`: rows are lost from the saved files, and
    a result may reach callbacks after the exploit that replaced its config). With an exploit log: the
    first segment is the trial's initial config from step 0; each exploit starts a segment at
    ``donor_step + 1`` (the first step reported from the donor's checkpoint) with its new config; of
    exploits at the same step only the last counts (replaced before it reported anything); trailing
    exploits whose config is not the final result's (the trial ended before using them) are dropped; when
    the final result is a donor's result restored by the last exploit (no entry has its config), that
    exploit is dropped and the final config holds from the final result's step.
    Without an exploit log the history from the reported configs stays.
    """
    exploits = [e for e in rec["attrs"].get("pbt_exploits") or [] if isinstance(e, Mapping)]
    if not exploits:
        return
    keys = rec["searched"]
    old = rec["attrs"].get("config_history") or []
    initial = old[0]["config"] if old else _initial_view(rec)
    final = _searched_view(rec["config"], keys)
    hist = [{"step": 0, "config": initial}]
    for e in exploits:
        d = e.get("donor_step")
        step = int(d) + 1 if isinstance(d, numbers.Real) and float(d).is_integer() else e.get("step")
        entry = {"step": step, "config": dict(e.get("config") or {})}
        if len(hist) > 1 and hist[-1]["step"] == step:
            hist[-1] = entry
        else:
            hist.append(entry)
    if any(h["config"] == final for h in hist):
        while hist[-1]["config"] != final:
            hist.pop()
    elif len(hist) > 1:
        # The final result is a donor's result restored by the last exploit, the trial reporting nothing
        # after it (Ray's last_result then is the donor's, with the donor's config): that exploit's config
        # produced nothing; the final config holds from the final result's step.
        hist.pop()
        step = rec["last"].get("training_iteration")
        step = int(step) if isinstance(step, float) and step.is_integer() else step
        hist.append({"step": step if step is not None else hist[-1]["step"], "config": final})
    hist = [h for i, h in enumerate(hist) if i == 0 or h["config"] != hist[i - 1]["config"]]
    if len(hist) > 1:
        rec["attrs"]["config_history"] = hist
    else:
        rec["attrs"].pop("config_history", None)


def _initial_view(rec: Mapping[str, Any]) -> dict[str, Any]:
    values = rec.get("searched_values")
    if isinstance(values, Mapping) and values:
        flat, _ = _flat_config({}, values)
        return _searched_view(flat, rec["searched"])
    return _searched_view(rec["config"], rec["searched"])


def apply_pbt_exploits(records: Iterable[dict[str, Any]], rows: Iterable[Sequence[Any]]) -> None:
    """Put each exploit into its trial's ``attrs["pbt_exploits"]`` (see the module docstring) and cut its
    ``attrs["config_history"]`` from them (:func:`pbt_config_history`). Called by both the offline
    converter and the live callback (at the end of the experiment), with the records' final results
    settled by :func:`settle_last_result`."""
    records = list(records)
    by_tag = {rec["tag"]: rec for rec in records if rec.get("tag")}
    for rec in records:
        rec["attrs"].pop("pbt_exploits", None)
    for row in rows:
        target, donor = by_tag.get(str(row[0])), by_tag.get(str(row[1]))
        if target is None:
            continue
        new = row[5] if isinstance(row[5], Mapping) else {}
        flat, _ = _flat_config(new, target.get("searched_values") or target["searched"])
        target["attrs"].setdefault("pbt_exploits", []).append({
            "step": row[2], "donor": None if donor is None else donor["trial_id"], "donor_step": row[3],
            "config": _searched_view(flat, target["searched"]),
        })
    for rec in records:
        pbt_config_history(rec)


_TAG_COUNTER = re.compile(r"^(\d+)")


def number_by_start(records: list[dict[str, Any]], reported: Any = None) -> list[str]:
    """Number the records 0..n-1 in the order the trials started; return notes on any fallback.

    Trials without a start time that never reported (not started yet) go last;
    a trial that reported but has no start time is ordered by the searcher's
    trial counter (the number leading Ray's ``experiment_tag``), and a note
    says so.
    """
    def counter(rec: Mapping[str, Any]) -> float:
        m = _TAG_COUNTER.match(rec.get("tag") or "")
        return float(m.group(1)) if m else math.inf

    reported = reported or (lambda r: bool(r["last"]))
    missing = [r for r in records if r["started"] is None and reported(r)]
    records.sort(key=lambda r: (r["started"] is None, r["started"] or 0.0, counter(r), r["trial_id"]))
    for number, rec in enumerate(records):
        rec["number"] = number
    if missing:
        return [f"{len(missing)} trial(s) have no saved start time; they are numbered by the searcher's trial "
                "counter (Ray's experiment_tag), after the trials with a start time, so the trial order of "
                "those is approximate."]
    return []


def _resolve(path: str | os.PathLike, filesystem: Any, trust: bool) -> tuple[str, Any, str]:
    """``(path, filesystem, display name)``; a remote URI needs ``trust=True``."""
    text = str(path)
    if "://" in text and filesystem is None:
        if not trust:
            raise hpviz.HpvizError(
                f"{text!r} is a remote URI: hpviz reads remote experiment folders only with trust=True "
                f"(hpviz.experiment(uri, trust=True), CLI --ray-experiment URI --trust), since it then fetches files from that "
                f"location; {TRUST_ADDS}.")
        import pyarrow.fs

        fs, fs_path = pyarrow.fs.FileSystem.from_uri(text)
        return fs_path, fs, text
    if filesystem is not None and not _is_local(filesystem):
        return text, filesystem, text
    local = Path(text).expanduser().resolve()
    if not local.is_dir():
        raise hpviz.SchemaError(f"Ray Tune experiment folder {text!r} does not exist or is not a folder "
                                f"(resolved to {str(local)!r})")
    return str(local), None, str(local)


def records_from_dir(path: str, fs: Any = None, capacity: int = 512) -> tuple[list[dict[str, Any]], list[str], dict]:
    """Trial records of an experiment folder, numbered by start time, read as JSON/CSV only.

    Returns ``(records, notes, runner_data)``.
    """
    data = _latest_state([(path, fs)])
    if data is None:
        raise hpviz.SchemaError(f"no readable experiment_state-*.json in {path!r}: Ray has not saved this "
                                "experiment's state (yet), or the folder is not a Ray Tune experiment")
    records = []
    for trial, meta in _entries(data):
        config = trial.get("config") if isinstance(trial.get("config"), dict) else {}
        searched = trial.get("evaluated_params") if isinstance(trial.get("evaluated_params"), dict) else None
        started = meta.get("start_time")
        rec = new_record(str(trial["trial_id"]), 0, config, searched=searched or None, capacity=capacity,
                         tag=trial.get("experiment_tag"),
                         started=float(started) if isinstance(started, (int, float)) else None)
        rec["status"] = str(trial.get("status", "PENDING"))
        trial_dir = os.path.join(path, str(trial.get("relative_logdir") or ""))
        results = _trial_results(trial_dir, fs) if trial.get("relative_logdir") else []
        last = meta.get("last_result") if isinstance(meta.get("last_result"), dict) else {}
        rec["_pending"] = (trial_dir, meta, results or ([last] if last else []))
        records.append(rec)
    notes = number_by_start(records, lambda r: bool(r["_pending"][2]))
    for rec in records:
        trial_dir, meta, results = rec.pop("_pending")
        # the number seeds the reservoir, as in the live callback: both keep the same points
        rec["log"] = hpviz.ReservoirLog(capacity=capacity, seed=rec["number"])
        for result in results:
            log_result(rec, result, capacity)
        settle_last_result(rec, meta.get("last_result"), capacity)
        if rec["last"] and rec["status"] in ("TERMINATED", "ERROR"):
            t = meta.get("last_result_time") or rec["last"].get("timestamp")
            rec["finished"] = float(t) if isinstance(t, (int, float)) else None
        info = results[-1] if results else {}
        for key in ("hostname", "node_ip"):
            if info.get(key) is not None:
                rec["attrs"][key] = info[key]
        if rec["status"] == "ERROR":
            msg = _error_message(trial_dir, fs)
            if msg:
                rec["attrs"]["error"] = msg
    apply_pbt_exploits(records, read_pbt_exploits([(path, fs)]))
    runner = data.get("runner_data") if isinstance(data.get("runner_data"), dict) else {}
    return records, notes, runner


def _error_message(trial_dir: str, fs: Any) -> str | None:
    try:
        text = _read(os.path.join(trial_dir, "error.txt"), fs).decode("utf-8", errors="replace").strip()
    except Exception:  # noqa: BLE001 - no file
        return None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][:500] if lines else None


# --------------------------------------------------------------------------- offline conversion


def _space_option(options: Mapping[str, Any]) -> tuple[hpviz.SearchSpace | None, str | None]:
    if options.get("param_space") is not None:
        space, notes = space_from_native(options["param_space"])
        for note in notes:
            logger.info("hpviz: %s", note)
        return space, "param_space="
    if options.get("space") is not None:
        space = options["space"]
        return (space if isinstance(space, hpviz.SearchSpace) else hpviz.SearchSpace(space)), "space="
    return None, None


def experiment_from_dir(path: str | os.PathLike, options: Mapping[str, Any] | None = None,
                        *, filesystem: Any = None, defaults: Mapping[str, Any] | None = None) -> hpviz.Experiment:
    """Convert a Ray Tune experiment directory (finished or interrupted) to an Experiment.

    Works offline (no running Ray needed) and runs no code from the folder: it
    reads ``experiment_state-*.json`` and each trial's ``result.json`` (or
    ``progress.csv``) as plain JSON/CSV. Trials are numbered by start time.

    Parameters
    ----------
    path:
        The experiment directory (``storage_path/name``), absolute or relative
        to the working directory, or a URI (``s3://...``, needs ``trust=True``).
    options:
        ``metric`` and ``mode`` (a string or a list each, as Ray takes them;
        a list gives several objectives), ``param_space`` (Tune domains,
        Optuna distributions or a Hyperopt space) or ``space`` (hpviz) for the
        exact space, ``name``, ``log_capacity``, and ``trust``: with
        ``trust=True`` the pickled Tuner and searcher state is also read (the
        exact param_space, metric/mode of the TuneConfig or search algorithm,
        scheduler settings). Unpickling runs code from the files: only for
        folders you trust.
    defaults:
        Metric and mode known from elsewhere (a ``ResultGrid``), used after
        ``options`` and the trusted state.

    Raises
    ------
    TypeError
        An unknown option.
    hpviz.SchemaError
        Metric or mode unknown (the message lists the reported metrics and
        what to pass), a metric no trial reported, a mode other than min/max.
    hpviz.HpvizError
        A remote URI without ``trust=True``.
    """
    options = check_options(options)
    trust = options.get("trust", False)
    if options.get("mode") is not None:  # bad input fails before any reading
        objectives(options.get("metric") or "metric", options["mode"])
    space, _ = _space_option(options)
    fs_path, fs, shown = _resolve(path, filesystem, trust)
    capacity = int(options.get("log_capacity", 512))
    records, notes, runner = records_from_dir(fs_path, fs, capacity)
    tstate = read_tuner_state([(fs_path, fs)], want_space=space is None, trust=trust)
    defaults = dict(defaults or {})
    metric = options.get("metric") or tstate.metric or defaults.get("metric") or runner.get("_metric")
    mode = options.get("mode") or tstate.mode or defaults.get("mode")
    if metric is None or mode is None:
        reported = reported_metrics(records)
        example = reported[0] if reported and reported[0] not in RAY_BOOKKEEPING else "loss"
        what = "metric and mode" if metric is None and mode is None else ("mode" if mode is None else "metric")
        trust_hint = "" if trust else f" Or: {TRUST_ADDS}."
        raise hpviz.SchemaError(
            f"hpviz does not know which {what} to optimize for the Ray Tune experiment at {shown!r}: its JSON "
            f"state does not say. Pass hpviz.experiment(path, metric={example!r}, mode='min'|'max') (CLI: "
            f"hpviz report --ray-experiment DIR --ray-metric {example} --ray-mode min|max).{trust_hint} "
            f"Reported metrics: {reported}.")
    check_reported(records, objectives(metric, mode) or ())
    for note in notes:
        logger.warning("hpviz: %s", note)
    if space is None and tstate.space is not None:
        space = tstate.space
    if space is None:
        why = ("; ".join(tstate.notes) or "no space in the saved Tuner or searcher state") if trust else TRUST_ADDS
        logger.warning("hpviz: the Ray experiment's search space is inferred from the observed configs (bounds "
                       "are only the observed range). Pass param_space=... for the exact space (%s).", why)
    name = options.get("name") or os.path.basename(shown.rstrip("/"))
    return build_experiment(records, space=space, metric=metric, mode=mode, scheduler=tstate.scheduler,
                            name=name, source=shown, notes=notes)


def experiment_from_result_grid(grid: Any, options: Mapping[str, Any] | None = None) -> hpviz.Experiment:
    """Convert a ``ResultGrid`` (from ``Tuner.fit()`` / ``Tuner.get_results()``) to an Experiment.

    The grid's metric and mode (``TuneConfig``) are used unless ``options``
    give others. Its folder is read like :func:`experiment_from_dir`.
    """
    metric, mode = _compat.result_grid_metric_mode(grid)
    return experiment_from_dir(grid.experiment_path, options, filesystem=getattr(grid, "filesystem", None),
                               defaults={"metric": metric, "mode": mode})
