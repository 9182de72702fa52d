"""scikit-learn search spaces (``param_grid`` / ``param_distributions``) <-> :class:`hpviz.SearchSpace`.

scikit-learn has no space object of its own: a search takes a dict (or a
list of dicts, one per conditional branch) mapping ``name -> list of values``
(grids) or ``name -> list | scipy.stats distribution`` (random searches).
Pipeline parameters keep their ``step__param`` names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hpviz import Categorical, Experiment, Float, Int, SchemaError, SearchSpace
from hpviz._branches import conditions
from hpviz.schema import choice_key

__all__ = ["from_sklearn", "to_sklearn", "param_from_sklearn", "space_code", "branches"]

#: Quantiles that bound a distribution with unbounded support (normal, ...).
TAIL_QUANTILES = (0.001, 0.999)
#: How many log-spaced integers stand for a log-scaled Int (scipy has no log-uniform integer distribution).
LOG_INT_POINTS = 16
_LOG_NAMES = {"loguniform", "reciprocal"}


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    seen: set = set()
    out = []
    for v in values:
        v = _plain(v)
        k = choice_key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return tuple(out)


def _plain(value: Any) -> Any:
    """NumPy scalars as Python scalars (``np.float64(0.1)`` -> ``0.1``)."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        return item()
    return value


def param_from_sklearn(name: str, spec: Any) -> Float | Int | Categorical:
    """One entry of a grid or of ``param_distributions`` as an hpviz parameter.

    A list (or any non-string sequence) -> :class:`hpviz.Categorical` of its
    values; a frozen ``scipy.stats`` distribution: ``loguniform`` -> log
    :class:`hpviz.Float` with its bounds, a continuous one -> :class:`hpviz.Float`
    over its support (bounded at :data:`TAIL_QUANTILES` when unbounded), a
    discrete one (``randint(low, high)``) -> :class:`hpviz.Int` with the
    inclusive bounds ``low`` .. ``high - 1``.
    """
    dist = getattr(spec, "dist", None)
    if dist is not None and hasattr(spec, "support"):
        import scipy.stats

        lo, hi = (float(v) for v in spec.support())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            qlo, qhi = (float(spec.ppf(q)) for q in TAIL_QUANTILES)
            lo = lo if math.isfinite(lo) else qlo
            hi = hi if math.isfinite(hi) else qhi
        if isinstance(dist, scipy.stats.rv_discrete):
            if lo == hi:
                return Categorical((int(lo),))
            return Int(int(lo), int(hi))
        if lo == hi:
            return Categorical((lo,))
        return Float(lo, hi, log=getattr(dist, "name", "") in _LOG_NAMES)
    if hasattr(spec, "rvs"):
        raise SchemaError(f"parameter {name!r}: cannot read the distribution {type(spec).__name__} "
                          "(not a frozen scipy.stats distribution); pass space= to hpviz.experiment")
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable):
        raise SchemaError(f"parameter {name!r}: expected a list of values or a scipy.stats distribution, got {spec!r}")
    choices = _unique(spec)
    if not choices:
        raise SchemaError(f"parameter {name!r}: empty list of values")
    return Categorical(choices)


def _merge(a: Float | Int | Categorical, b: Float | Int | Categorical) -> Float | Int | Categorical:
    """One parameter defined in two branches of a list-of-dicts space."""
    if a == b:
        return a
    if isinstance(a, Categorical) and isinstance(b, Categorical):
        return Categorical(_unique([*a.choices, *b.choices]))
    if not isinstance(a, Categorical) and not isinstance(b, Categorical):
        low, high = min(a.low, b.low), max(a.high, b.high)
        if isinstance(a, Int) and isinstance(b, Int):
            return Int(low, high, log=a.log and b.log)
        return Float(low, high, log=a.log and b.log)
    cat, num = (a, b) if isinstance(a, Categorical) else (b, a)
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cat.choices):
        low, high = min(num.low, *cat.choices), max(num.high, *cat.choices)
        if isinstance(num, Int) and all(float(c).is_integer() for c in cat.choices):
            return Int(int(low), int(high))
        return Float(float(low), float(high))
    raise SchemaError(f"a parameter is a list of non-numbers in one branch and a distribution in another: {a} / {b}")


def from_sklearn(spec: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> SearchSpace:
    """``param_grid`` / ``param_distributions`` (a dict or a list of dicts) as a SearchSpace.

    With a list of dicts each dict is a branch: a parameter missing from a
    branch is inactive in that branch's candidates (conditional parameter).
    A parameter present in several branches is the union of its definitions.
    """
    branches_ = [spec] if isinstance(spec, Mapping) else list(spec)
    if not branches_ or not all(isinstance(b, Mapping) for b in branches_):
        raise SchemaError(f"expected a dict or a list of dicts of parameters, got {spec!r}")
    params: dict[str, Float | Int | Categorical] = {}
    for branch in branches_:
        for name, value in branch.items():
            p = param_from_sklearn(str(name), value)
            params[str(name)] = _merge(params[str(name)], p) if str(name) in params else p
    return SearchSpace(params)


def _export(p: Float | Int | Categorical) -> Any:
    import numpy as np
    import scipy.stats

    if isinstance(p, Categorical):
        return list(p.choices)
    if isinstance(p, Int):
        if p.log:
            return sorted({int(v) for v in np.round(np.geomspace(p.low, p.high, LOG_INT_POINTS))})
        if p.step != 1:
            return list(range(p.low, p.high + 1, p.step))
        return scipy.stats.randint(p.low, p.high + 1)
    if p.step is not None:
        n = int(math.floor((p.high - p.low) / p.step + 1e-9))
        return [p.low + i * p.step for i in range(n + 1)]
    if p.log:
        return scipy.stats.loguniform(p.low, p.high)
    return scipy.stats.uniform(p.low, p.high - p.low)


def to_sklearn(space: SearchSpace | Mapping[str, Any],
               branches: Sequence[Sequence[str] | Mapping[str, Any]] | None = None) -> Any:
    """``param_distributions`` for ``RandomizedSearchCV`` (or ``HalvingRandomSearchCV``).

    Float -> ``scipy.stats.loguniform(low, high)`` / ``uniform(low, high - low)``
    (a stepped Float -> its list of grid values); Int -> ``randint(low, high + 1)``
    (stepped -> ``range`` list; log-scaled -> :data:`LOG_INT_POINTS` log-spaced
    integers, since scipy has no log-uniform integer distribution); Categorical
    -> its list of choices. ``branches`` (from :func:`branches`: sub-spaces, or
    plain lists of parameter names) gives a list of dicts, one per conditional branch.
    """
    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    if branches:
        return [{n: _export(b[n] if isinstance(b, Mapping) else space[n]) for n in b if n in space} for b in branches]
    return {name: _export(p) for name, p in space.items()}


def branches(experiment: Experiment | None, space: SearchSpace) -> list[SearchSpace] | None:
    """The conditional branches of ``experiment`` as sub-spaces of ``space``, in first-seen order.

    One branch per distinct set of active parameters in the trials. In each,
    a categorical parameter that decides whether another one is active (see
    :func:`hpviz._branches.conditions`) keeps only the choices the branch's
    trials took, so ``classifier`` is ``["svm"]`` in the branch holding
    ``svm_C`` and sklearn never samples ``svm_C`` with another classifier. A
    branch whose deciding choices were all dropped from ``space`` (a refined
    space) is dropped. ``None`` when every trial used every parameter (one branch).
    """
    if experiment is None:
        return None
    seen: dict[tuple[str, ...], set[tuple[str, Any]]] = {}
    parents = {parent for _, parent, _ in conditions(space, experiment)}
    for t in experiment.trials:
        names = tuple(n for n in space if n in t.params)
        seen.setdefault(names, set()).update((n, choice_key(t.params[n])) for n in names if n in parents)
    if len([s for s in seen if s]) <= 1:
        return None
    sets = [list(s) for s in seen if s]
    covered = {n for s in sets for n in s}
    sets[-1] += [n for n in space if n not in covered]
    out = []
    for names in sets:
        taken = seen.get(tuple(n for n in names if n in covered), set())
        params: dict[str, Any] = {}
        for n in names:
            p = space[n]
            if n in parents and isinstance(p, Categorical):
                kept = tuple(c for c in p.choices if (n, choice_key(c)) in taken)
                if not kept:
                    break
                p = Categorical(kept)
            params[n] = p
        else:
            out.append(SearchSpace(params))
    return out if len(out) > 1 else (out or None)


def _code(value: Any) -> str:
    import scipy.stats

    if isinstance(value, list):
        return repr([_plain(v) for v in value])
    name = value.dist.name
    if isinstance(value.dist, scipy.stats.rv_discrete):
        lo, hi = value.support()
        return f"randint({int(lo)}, {int(hi) + 1})"
    lo, hi = (float(v) for v in value.support())
    if name in _LOG_NAMES:
        return f"loguniform({lo!r}, {hi!r})"
    return f"uniform({lo!r}, {hi - lo!r})"


def space_code(space: SearchSpace, experiment: Experiment | None = None) -> str:
    """Paste-able ``param_distributions`` for ``RandomizedSearchCV`` searching ``space``."""
    exported = to_sklearn(space, branches(experiment, space))
    dicts = exported if isinstance(exported, list) else [exported]
    body = []
    for d in dicts:
        items = "".join(f"    {name!r}: {_code(v)},\n" for name, v in d.items())
        body.append("{\n" + items + "}")
    joined = body[0] if len(body) == 1 else "[\n" + ",\n".join(body) + ",\n]"
    return ("from scipy.stats import loguniform, randint, uniform\n"
            "from sklearn.model_selection import RandomizedSearchCV\n\n"
            f"param_distributions = {joined}\n"
            "search = RandomizedSearchCV(estimator, param_distributions, n_iter=50)\n")


#: A parameter with at most this many distinct values, each seen at least twice, is read as a grid (Categorical).
GRID_MAX_VALUES = 12


def infer_space(candidates: Sequence[Mapping[str, Any]]) -> SearchSpace:
    """The space suggested by the candidates alone (a saved table has no ``param_grid``); marked inferred.

    A parameter whose values repeat (a grid: at most :data:`GRID_MAX_VALUES`
    distinct values, each used at least twice) or are not all numbers becomes
    a Categorical of the observed values; other numbers span their observed
    range (Int when all integers; log-scaled when positive and spanning more
    than two decades, as log-uniform draws do).
    """
    from collections import Counter

    names: dict[str, None] = {}
    for c in candidates:
        names.update(dict.fromkeys(c))
    params: dict[str, Float | Int | Categorical] = {}
    for name in names:
        values = [_plain(c[name]) for c in candidates if name in c and c[name] is not None]
        choices = _unique(values) or (None,)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
        counts = Counter(choice_key(v) for v in values)
        grid = len(choices) <= GRID_MAX_VALUES and min(counts.values(), default=0) >= 2
        if not numeric or grid or len(choices) < 2:
            params[name] = Categorical(choices)
            continue
        low, high = min(values), max(values)
        log = low > 0 and high / low > 100.0
        if all(float(v).is_integer() for v in values) and all(isinstance(v, int) for v in values):
            params[name] = Int(int(low), int(high), log=log)
        else:
            params[name] = Float(float(low), float(high), log=log)
    return SearchSpace(params, inferred=True)
