"""Fitted scikit-learn searches (and their saved ``cv_results_`` tables) -> :class:`hpviz.Experiment`.

One trial per candidate. The objective is the refit scorer (maximized, as
scikit-learn scores are: losses appear negated, ``neg_log_loss``); with
several scorers each becomes an objective. Per-split test scores are kept in
``attrs`` (``split_test_<scorer>``, with ``std_test_<scorer>``) as the
candidate's noise estimate. scikit-learn records no timestamps: each trial
lasts its ``mean_fit_time`` (one fold's fit) and trials are laid end to end
from 1970-01-01 UTC in candidate order, so "over time" views show cumulative
per-fold fit time, not wall-clock time (``attrs["duration_source"]`` says so).
A NaN mean test score (a fit or score that failed, with ``error_score=nan``)
makes the trial FAIL. Successive-halving searches give one trial per
candidate with its score per iteration as a learning curve over
``n_resources``; candidates eliminated before the last iteration are PRUNED.
"""

from __future__ import annotations

import ast
import datetime as _dt
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpviz import Experiment, ReservoirLog, SchemaError, SearchSpace, Trial, TrialState
from hpviz.convert import check_options, local_file
from hpviz_sklearn.space import _plain, from_sklearn, infer_space

__all__ = ["search_to_experiment", "cv_results_to_experiment", "read_cv_results", "convert", "OPTIONS"]

#: Options ``hpviz.experiment`` accepts for a scikit-learn search or a saved ``cv_results_`` table.
OPTIONS = ("space", "metric", "name", "log_capacity")  # trust (the core option) is accepted by check_options
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_FAILED = "mean test score is NaN: a fit or a score failed (scikit-learn's error_score=nan; see its FitFailedWarning)"



def _scorers(columns: Sequence[str]) -> list[str]:
    return [c[len("mean_test_"):] for c in columns if c.startswith("mean_test_")]


def _objectives(scorers: list[str], refit: Any, metric: str | None) -> dict[str, str]:
    if not scorers:
        raise SchemaError("cv_results has no mean_test_<scorer> column: is it a scikit-learn search's cv_results_?")
    if metric is not None:
        if metric not in scorers:
            raise SchemaError(f"metric {metric!r} is not a scorer of this search; scorers: {scorers}")
        primary = metric
    elif isinstance(refit, str) and refit in scorers:
        primary = refit
    else:
        primary = scorers[0]
    return {primary: "max", **{s: "max" for s in scorers if s != primary}}


def _column(results: Mapping[str, Any], key: str) -> list[Any] | None:
    if key not in results:
        return None
    col = results[key]
    mask = getattr(col, "mask", None)
    values = list(col.tolist() if hasattr(col, "tolist") else col)
    if mask is not None and getattr(mask, "shape", ()) != ():
        values = [None if m else v for v, m in zip(values, mask.tolist())]
    return values


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, repr(_plain(v))) for k, v in params.items()))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def cv_results_to_experiment(
    results: Mapping[str, Any],
    *,
    space: SearchSpace | None = None,
    refit: Any = None,
    metric: str | None = None,
    name: str | None = None,
    source: str | None = None,
    log_capacity: int = 512,
) -> Experiment:
    """A ``cv_results_`` mapping (or a DataFrame of it) as an Experiment.

    ``space`` defaults to the space inferred from the candidates (marked
    inferred); ``refit`` names the primary scorer of a multi-metric search
    (``metric`` overrides it).
    """
    if hasattr(results, "to_dict") and hasattr(results, "columns"):  # a DataFrame
        results = {c: results[c].to_numpy() for c in results.columns}
    columns = list(results)
    if "params" not in results:
        raise SchemaError(f"cv_results has no 'params' column; columns: {columns}")
    objectives = _objectives(_scorers(columns), refit, metric)
    primary = next(iter(objectives))
    params_col = [dict(p) for p in _column(results, "params")]
    n = len(params_col)
    iters = _column(results, "iter")
    resources = _column(results, "n_resources")
    fit_time = _column(results, "mean_fit_time") or [None] * n
    splits = {s: sorted((c for c in columns if c.startswith("split") and c.endswith(f"_test_{s}")),
                        key=lambda c: int(c[len("split"):c.index("_")])) for s in objectives}
    # candidates: one per distinct params (halving searches list a candidate once per iteration)
    rows: dict[tuple, list[int]] = {}
    for i, p in enumerate(params_col):
        rows.setdefault(_key(p) if iters is not None else (i,), []).append(i)
    last_iter = max(int(v) for v in iters) if iters else None
    if space is None:
        space = infer_space([{k: _plain(v) for k, v in p.items()} for p in params_col])
    exp = Experiment(space, objectives, name=name, source=source, framework="sklearn")
    clock = _EPOCH
    for number, idx in enumerate(rows.values()):
        last = idx[-1]
        values = {s: _number(results[f"mean_test_{s}"][last]) for s in objectives}
        attrs: dict[str, Any] = {"duration_source": "mean_fit_time"}
        for s in objectives:
            attrs[f"split_test_{s}"] = [_number(results[c][last]) for c in splits[s]]
            for stat in ("std_test", "rank_test", "mean_train"):
                if f"{stat}_{s}" in results:
                    attrs[f"{stat}_{s}"] = _number(results[f"{stat}_{s}"][last])
        if "mean_score_time" in results:
            attrs["mean_score_time"] = _number(results["mean_score_time"][last])
        log = None
        budget = None
        state = TrialState.COMPLETE
        if iters is not None:
            log = ReservoirLog(capacity=max(2, log_capacity), seed=number)
            for i in idx:
                log.append(int(resources[i]) if resources else int(iters[i]),
                           **{s: _number(results[f"mean_test_{s}"][i]) for s in objectives})
            budget = float(resources[last]) if resources else None
            attrs["iterations"] = len(idx)
            if int(iters[last]) < last_iter:
                state = TrialState.PRUNED
        if math.isnan(values[primary]):
            state = TrialState.FAIL
            attrs["error"] = _FAILED
        seconds = _number(fit_time[last])
        seconds = seconds if math.isfinite(seconds) and seconds >= 0 else 0.0
        started, clock = clock, clock + _dt.timedelta(seconds=seconds)
        active = {k: _plain(v) for k, v in params_col[last].items()}
        exp.add(Trial(number, active, values, state, log=log, budget=budget, attrs=attrs,
                      started=started, finished=clock))
    return exp


def search_to_experiment(search: Any, *, space: SearchSpace | None = None, metric: str | None = None,
                         name: str | None = None, log_capacity: int = 512) -> Experiment:
    """A fitted ``GridSearchCV`` / ``RandomizedSearchCV`` / ``Halving*SearchCV`` as an Experiment.

    The space is read from ``param_grid`` / ``param_distributions`` (see
    :func:`hpviz_sklearn.from_sklearn`) unless ``space`` is given.
    """
    if not hasattr(search, "cv_results_"):
        raise SchemaError(f"{type(search).__name__} is not fitted (no cv_results_): call .fit(X, y) first")
    if space is None:
        spec = getattr(search, "param_grid", None)
        if spec is None:
            spec = getattr(search, "param_distributions", None)
        space = from_sklearn(spec) if spec is not None else None
    estimator = getattr(search, "estimator", None)
    label = name or f"{type(search).__name__}({type(estimator).__name__})"
    return cv_results_to_experiment(search.cv_results_, space=space, refit=getattr(search, "refit", None),
                                    metric=metric, name=label, source=type(search).__name__,
                                    log_capacity=log_capacity)


# --------------------------------------------------------------------------- saved tables


_SAFE_CALLS = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32",
               "uint64", "bool_", "str_", "float", "int", "bool", "str"}


def _literal(node: ast.AST) -> Any:
    """A ``repr`` of a params dict, read without evaluating code: literals, and
    ``np.float64(0.1)``-style NumPy scalar reprs. Anything else (an estimator
    repr) stays its source text."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if fname in _SAFE_CALLS:
            return _literal(node.args[0])
    if isinstance(node, ast.Name) and node.id in ("nan", "inf"):
        return float(node.id)
    raise ValueError(ast.unparse(node))


def _parse_params(text: str) -> dict[str, Any]:
    tree = ast.parse(text, mode="eval").body
    if not isinstance(tree, ast.Dict):
        raise SchemaError(f"the 'params' cell {text[:80]!r} is not a dict")
    out: dict[str, Any] = {}
    for k, v in zip(tree.keys, tree.values):
        key = _literal(k)
        try:
            out[str(key)] = _literal(v)
        except ValueError:
            out[str(key)] = ast.unparse(v)
    return out


def read_cv_results(path: str | os.PathLike) -> dict[str, Any]:
    """A ``cv_results_`` table saved with ``pd.DataFrame(search.cv_results_).to_csv(path)``.

    The ``params`` column (the repr of each candidate's dict) is parsed
    without evaluating code; values that are not literals (estimators) keep
    their repr text.
    """
    import pandas as pd

    df = pd.read_csv(path)
    df = df.drop(columns=[c for c in df.columns if c.startswith("Unnamed: ")])
    if "params" not in df.columns:
        raise SchemaError(f"{path}: no 'params' column; is it pd.DataFrame(search.cv_results_).to_csv(path)?")
    results = {c: df[c].to_numpy() for c in df.columns}
    results["params"] = [_parse_params(str(t)) for t in df["params"]]
    return results


def _is_cv_results_csv(obj: Any) -> bool:
    path = local_file(obj, ".csv")
    if path is None:
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    return "params" in header and "mean_test_" in header


def convert(obj: Any, options: Mapping[str, Any]) -> Experiment | None:
    """The ``hpviz_to_experiment`` implementation: ``None`` when ``obj`` is not scikit-learn's."""
    if _is_cv_results_csv(obj):
        check_options(options, OPTIONS, "a scikit-learn search")
        results = read_cv_results(obj)
        return cv_results_to_experiment(results, space=options.get("space"), metric=options.get("metric"),
                                        name=options.get("name") or Path(obj).stem, source=str(obj),
                                        log_capacity=int(options.get("log_capacity", 512)))
    is_search = (type(obj).__module__.startswith("sklearn.")
                 and (hasattr(obj, "param_grid") or hasattr(obj, "param_distributions")))
    if not is_search:
        return None
    check_options(options, OPTIONS, "a scikit-learn search")
    return search_to_experiment(obj, space=options.get("space"), metric=options.get("metric"),
                                name=options.get("name"), log_capacity=int(options.get("log_capacity", 512)))
