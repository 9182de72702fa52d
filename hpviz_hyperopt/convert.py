"""Hyperopt ``Trials`` -> :class:`hpviz.Experiment`.

Works on anything with the structure of ``hyperopt.Trials``: a ``trials``
list of documents with ``tid``, ``state``, ``result``, ``misc`` (``vals``),
``book_time`` and ``refresh_time`` — ``MongoTrials`` and ``SparkTrials`` included.
Trials that raised with ``catch_eval_exceptions=True`` (state ERROR) are
dropped from ``trials.trials`` by Hyperopt; they are read from
``trials._dynamic_trials`` when it exists.

Semantics
---------
- ``status == "ok"`` with a finite (or infinite) value -> ``COMPLETE``.
- ``status == "ok"`` with a NaN (or missing/non-numeric) value -> ``FAIL``; the NaN is
  kept in ``values`` and ``attrs["fail_reason"]`` says why. Hyperopt itself
  ignores NaN losses when it picks the best, so hpviz counts them as failures.
- ``status == "fail"``, state ERROR (``attrs["error"]`` holds the exception) or
  CANCEL -> ``FAIL``; state NEW -> ``WAITING``; RUNNING -> ``RUNNING``.
- Every other result key goes to ``attrs`` (``loss`` too when the objective is
  another key); ``result["curve"]`` (Hyperopt has no intermediate-value API) is
  the learning curve: a list of values (steps 1, 2, ...), of ``(step, value)``
  pairs, or a ``{step: value}`` dict; it fills the trial's :class:`hpviz.ReservoirLog`
  and its last step is the trial's ``budget``.
- ``book_time``/``refresh_time`` (naive UTC) -> ``started``/``finished`` (aware UTC).
- ``params`` are the labels' values as ``space_eval`` decodes them; inactive
  conditional labels are absent.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from hpviz import (
    Categorical,
    Experiment,
    Float,
    Int,
    ReservoirLog,
    SchemaError,
    SearchSpace,
    Trial,
    TrialState,
)
from hpviz.convert import check_options
from hpviz_hyperopt._compat import dynamic_trials, exp_key
from hpviz_hyperopt.space import HyperoptParam, decode_vals, describe
from hpviz_hyperopt.structure import remember_native

__all__ = ["from_trials", "trial_from_doc", "trial_docs", "is_trials_like", "convert", "infer_space"]

logger = logging.getLogger("hpviz")

# hyperopt.base JOB_STATE_*
_NEW, _RUNNING, _DONE, _ERROR, _CANCEL = 0, 1, 2, 3, 4
FINISHED_STATES = (_DONE, _ERROR, _CANCEL)
CURVE_KEY = "curve"


def is_trials_like(obj: Any) -> bool:
    """A Hyperopt ``Trials`` (any subclass) or an object with the same structure."""
    if isinstance(obj, (str, bytes, Mapping)) or not hasattr(obj, "trials"):
        return False
    try:
        docs = obj.trials
        if type(obj).__module__.startswith("hyperopt"):
            return isinstance(docs, list)
        return (isinstance(docs, list) and bool(docs) and isinstance(docs[0], Mapping)
                and all(k in docs[0] for k in ("tid", "misc", "result")))
    except Exception:  # noqa: BLE001 - a property that raises: not ours
        return False


def trial_docs(trials: Any) -> list[Mapping[str, Any]]:
    """All trial documents sorted by tid, including ERROR ones kept only in ``_dynamic_trials``."""
    docs = list(getattr(trials, "trials", None) or [])
    dynamic = dynamic_trials(trials)
    if dynamic is not None and len(dynamic) != len(docs):
        tids = {d.get("tid") for d in docs}
        docs.extend(d for d in dynamic if isinstance(d, Mapping) and d.get("tid") not in tids
                    and _same_experiment(trials, d))
    for i, d in enumerate(docs):
        if not isinstance(d, Mapping) or "tid" not in d:
            raise SchemaError(f"Hyperopt trials[{i}] is not a trial document with a 'tid' (got {type(d).__name__})")
    return sorted(docs, key=lambda d: d["tid"])


def _same_experiment(trials: Any, doc: Mapping[str, Any]) -> bool:
    """``trials.trials`` keeps only its own ``exp_key``; so do the documents read from ``_dynamic_trials``."""
    key = exp_key(trials)
    return key is None or doc.get("exp_key") == key


def _utc(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_dt.timezone.utc) if value.tzinfo is None else value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _curve(points: Any) -> list[tuple[Any, float]] | None:
    """Normalize ``result['curve']`` to ``[(step, value)]``; None when it is not a curve."""
    if isinstance(points, Mapping):
        items = list(points.items())
    elif isinstance(points, (list, tuple)) or hasattr(points, "tolist"):
        seq = points.tolist() if hasattr(points, "tolist") else list(points)
        items = []
        for i, p in enumerate(seq):
            if isinstance(p, (list, tuple)) and len(p) == 2:
                items.append((p[0], p[1]))
            else:
                items.append((i + 1, p))
    else:
        return None
    out = []
    for step, value in items:
        v = _number(value)
        if v is None or _number(step) is None:
            return None
        out.append((step, v))
    return out


def trial_from_doc(doc: Mapping[str, Any], desc: Mapping[str, HyperoptParam], *, objective: str = "loss",
                   number: int | None = None, round: int = 0, log_capacity: int = 512,
                   curve_key: str = CURVE_KEY) -> Trial:
    """One Hyperopt trial document as a :class:`hpviz.Trial` (see the module notes)."""
    tid = doc.get("tid")
    misc = doc.get("misc") or {}
    params = decode_vals(desc, misc.get("vals") or {})
    result = dict(doc.get("result") or {})
    state_code = doc.get("state", _DONE)
    status = result.pop("status", None)
    attrs: dict[str, Any] = {"hyperopt_tid": tid}
    values: dict[str, float] = {}
    raw = result.pop(objective, None)
    value = _number(raw)
    if state_code == _NEW:
        state = TrialState.WAITING
    elif state_code == _RUNNING:
        state = TrialState.RUNNING
    elif state_code == _ERROR:
        state = TrialState.FAIL
        err = misc.get("error")
        attrs["error"] = ": ".join(str(e) for e in err) if isinstance(err, (list, tuple)) else str(err)
        attrs["fail_reason"] = "the objective raised an exception"
    elif state_code == _CANCEL:
        state = TrialState.FAIL
        attrs["fail_reason"] = "cancelled"
    elif status == "ok":
        if value is None or math.isnan(value):
            state = TrialState.FAIL
            attrs["fail_reason"] = f"{objective} is NaN" if value is not None else f"no numeric {objective!r} in result"
            values[objective] = math.nan
        else:
            state = TrialState.COMPLETE
            values[objective] = value
    elif status == "fail":
        state = TrialState.FAIL
        attrs["fail_reason"] = "status fail"
    elif status in ("new", "running", "suspended"):
        state = TrialState.RUNNING
    else:
        state = TrialState.FAIL
        attrs["fail_reason"] = f"unknown status {status!r}"
    if raw is not None and objective not in values:
        attrs[objective] = raw
    log = None
    budget = None
    curve = _curve(result.get(curve_key)) if curve_key in result else None
    if curve:
        result.pop(curve_key)
        log = ReservoirLog(capacity=log_capacity, seed=int(tid) if isinstance(tid, numbers.Integral) else None)
        for step, v in curve:
            log.append(step, **{objective: v})
        budget = _number(curve[-1][0])
    for key, v in result.items():
        attrs[str(key)] = v
    if number is None:
        number = int(tid)
    return Trial(number, params, values, state, log=log, started=_utc(doc.get("book_time")),
                 finished=_utc(doc.get("refresh_time")), budget=budget, attrs=attrs, round=round)


def infer_space(docs: Iterable[Mapping[str, Any]]) -> SearchSpace:
    """A space inferred from the observed ``misc['vals']`` (marked ``inferred=True``).

    Integer-valued labels become ``Int`` over the observed range, others ``Float``;
    a label with a single observed value becomes a one-choice ``Categorical``.
    ``choice`` labels keep their option indices (the options are unknown).
    """
    seen: dict[str, list[Any]] = {}
    for doc in docs:
        for label, entry in ((doc.get("misc") or {}).get("vals") or {}).items():
            if isinstance(entry, (list, tuple)) and entry:
                v = entry[0]
                seen.setdefault(label, []).append(v.item() if hasattr(v, "item") else v)
    params: dict[str, Any] = {}
    for label, vs in seen.items():
        nums = [float(v) for v in vs if _number(v) is not None and math.isfinite(float(v))]
        if not nums:
            continue
        lo, hi = min(nums), max(nums)
        if lo == hi:
            params[label] = Categorical([vs[0]])
        elif all(isinstance(v, numbers.Integral) for v in vs):
            params[label] = Int(int(lo), int(hi))
        else:
            params[label] = Float(lo, hi)
    return SearchSpace(params, inferred=True)


def from_trials(trials: Any, space: Any = None, *, objective: str = "loss", direction: str = "min",
                name: str | None = None, infer: bool = False, log_capacity: int = 512,
                curve_key: str = CURVE_KEY) -> Experiment:
    """Convert a Hyperopt ``Trials`` (or any object with its structure) to an Experiment.

    Parameters
    ----------
    trials:
        ``hyperopt.Trials``, ``MongoTrials``, ``SparkTrials``, or a look-alike.
    space:
        The Hyperopt space given to ``fmin`` (needed to decode ``choice`` indices and
        to know the distributions), or an hpviz ``SearchSpace`` exported with
        :func:`hpviz_hyperopt.to_hyperopt`.
    objective, direction:
        The result key holding the objective (default ``"loss"``) and whether it is
        minimized. Use e.g. ``objective="accuracy", direction="max"`` when the
        result dict carries it next to ``loss``.
    infer:
        Without ``space``, infer one from the observed values (marked
        ``inferred``; choices stay indices) instead of raising.
    log_capacity, curve_key:
        Capacity of the per-trial :class:`hpviz.ReservoirLog` filled from
        ``result[curve_key]``.

    Raises
    ------
    hpviz.SchemaError
        ``space`` missing (and ``infer`` false), a malformed space or trial document.
    """
    if direction not in ("min", "max"):
        raise SchemaError(f"direction must be 'min' or 'max', got {direction!r}")
    docs = trial_docs(trials)
    _check_objective(docs, objective)
    if space is None:
        if not infer:
            raise SchemaError("converting Hyperopt Trials needs the search space: "
                              "hpviz.experiment(trials, space=space) (the space given to fmin), "
                              "or infer=True to infer one from the observed values")
        logger.warning("hpviz: no space given for Hyperopt Trials; inferring it from the observed values "
                       "(bounds are the observed range, choice parameters keep their option indices)")
        hp_space = infer_space(docs)
        desc: dict[str, HyperoptParam] = {}
    else:
        native = _native(space)
        desc = describe(native)
        hp_space = SearchSpace({label: d.param for label, d in desc.items()})
    exp = Experiment(hp_space, {objective: direction}, name=name, source="hyperopt", framework="hyperopt")
    for doc in docs:
        exp.add(trial_from_doc(doc, desc, objective=objective, log_capacity=log_capacity, curve_key=curve_key))
    if space is not None:
        remember_native(exp, native)
    return exp


def _check_objective(docs: list[Mapping[str, Any]], objective: str) -> None:
    """``objective`` must be a numeric result key of some finished trial (when any finished)."""
    results = [d.get("result") or {} for d in docs if d.get("state", _DONE) == _DONE]
    results = [r for r in results if r.get("status") == "ok"]
    if not results or any(objective in r for r in results):
        return
    keys = sorted({str(k) for r in results for k, v in r.items() if _number(v) is not None})
    raise SchemaError(f"objective {objective!r} is in no trial's result; numeric result keys: "
                      f"{', '.join(map(repr, keys)) or 'none'}")


def _native(space: Any) -> Any:
    """A native space from either a Hyperopt space or an hpviz SearchSpace."""
    if isinstance(space, SearchSpace) or (isinstance(space, Mapping) and space
                                          and all(isinstance(v, (Float, Int, Categorical)) for v in space.values())):
        from hpviz_hyperopt.space import to_hyperopt

        return to_hyperopt(space)
    return space


#: Options ``hpviz.experiment`` takes for a Hyperopt ``Trials`` (those of :func:`from_trials`).
OPTIONS = ("space", "objective", "direction", "name", "infer", "log_capacity", "curve_key")


def convert(obj: Any, options: Mapping[str, Any]) -> Experiment | None:
    """The ``hpviz_to_experiment`` hook: ``None`` unless ``obj`` is a Trials-like object.

    Options other than :data:`OPTIONS` are a ``TypeError`` listing them.
    """
    if not is_trials_like(obj):
        return None
    check_options(options, OPTIONS, "a Hyperopt Trials")
    kwargs = {k: options[k] for k in OPTIONS if options.get(k) is not None}
    return from_trials(obj, **kwargs)
