"""Search spaces: Ray Tune ``param_space`` <-> :class:`hpviz.SearchSpace`.

Nested ``param_space`` dicts become dotted parameter names (``{"nested":
{"depth": ...}}`` -> ``"nested.depth"``) and :func:`to_tune` nests them back.

Mapping (Ray -> hpviz):

==========================================  ======================================
``tune.uniform(a, b)``                      ``Float(a, b)``
``tune.loguniform(a, b)``                   ``Float(a, b, log=True)``
``tune.quniform(a, b, q)``                  ``Float(a, b, step=q)``
``tune.qloguniform(a, b, q)``               ``Float(a, b, log=True, step=q)``
``tune.randint(a, b)`` (``b`` exclusive)    ``Int(a, b - 1)``
``tune.lograndint(a, b)`` (exclusive)       ``Int(a, b - 1, log=True)``
``tune.qrandint(a, b, q)`` (inclusive)      ``Int(a, b, step=q)`` (``q=1``: exclusive, like randint)
``tune.qlograndint(a, b, q)``               ``Int(a, b, log=True, step=q)``
``tune.choice(c)``, ``tune.grid_search(c)`` ``Categorical(c)``
constants                                   skipped (not searched)
``tune.sample_from``, ``tune.randn``        skipped, with a note (no bounded equivalent)
==========================================  ======================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hpviz

__all__ = ["from_tune", "from_tune_with_notes", "space_from_native", "to_tune", "flatten", "unflatten"]

SEP = "."


def flatten(config: Mapping[str, Any], prefix: str = "", sep: str = SEP) -> dict[str, Any]:
    """Flatten nested dicts to ``{"a.b": value}`` (a ``grid_search`` dict is a leaf)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not _is_grid(value):
            out.update(flatten(value, name + sep, sep))
        else:
            out[name] = value
    return out


def unflatten(flat: Mapping[str, Any], sep: str = SEP) -> dict[str, Any]:
    """Inverse of :func:`flatten`: ``{"a.b": v}`` -> ``{"a": {"b": v}}``."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        parts = name.split(sep)
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise hpviz.SchemaError(f"parameter {name!r} clashes with parameter {part!r}: cannot nest it")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise hpviz.SchemaError(f"parameter {name!r} clashes with the nested parameters under it")
        node[parts[-1]] = value
    return out


def _is_grid(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and "grid_search" in value


def from_tune_with_notes(param_space: Mapping[str, Any]) -> tuple[hpviz.SearchSpace, list[str]]:
    """Like :func:`from_tune`, also returning notes on what was skipped and why."""
    from ray.tune.search import sample

    if not isinstance(param_space, Mapping):
        raise hpviz.SchemaError(f"param_space must be a dict, got {type(param_space).__name__}")
    params: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in flatten(param_space).items():
        if _is_grid(value):
            grid = value["grid_search"]
            if isinstance(grid, (str, bytes)) or not hasattr(grid, "__iter__"):
                raise hpviz.SchemaError(f"param_space[{name!r}]: grid_search needs a list, got {grid!r}")
            params[name] = hpviz.Categorical(list(grid))
        elif isinstance(value, sample.Function):
            notes.append(f"{name}: tune.sample_from(...) has no declared range; skipped (its values stay in "
                         "each trial's attrs['config'])")
        elif isinstance(value, sample.Domain):
            param, note = _domain(name, value, sample)
            if param is not None:
                params[name] = param
            if note:
                notes.append(note)
        # anything else is a constant: not searched
    return hpviz.SearchSpace(params), notes


def from_tune(param_space: Mapping[str, Any]) -> hpviz.SearchSpace:
    """Convert a Ray Tune ``param_space`` (nested dict of sample objects) to a :class:`hpviz.SearchSpace`.

    Parameters
    ----------
    param_space:
        What you pass to ``tune.Tuner(param_space=...)``.

    Returns
    -------
    SearchSpace
        One parameter per searched leaf, named by its dotted path. Constants
        are skipped; ``sample_from`` and normal (``randn``) domains, which have
        no bounded hpviz equivalent, are skipped too (see
        :func:`from_tune_with_notes` for the notes).

    Raises
    ------
    hpviz.SchemaError
        ``param_space`` is not a dict or a domain is malformed.
    """
    return from_tune_with_notes(param_space)[0]


def _module(value: Any) -> str:
    return type(value).__module__ or ""


def space_from_native(space: Any) -> tuple[hpviz.SearchSpace, list[str]]:
    """A :class:`hpviz.SearchSpace` from any space a Ray Tune run is given, with notes.

    Accepts a Tune ``param_space`` (``tune.*`` domains), what
    ``OptunaSearch(space)`` takes (a dict of Optuna distributions, read with
    the Optuna adapter's ``from_optuna``), what ``HyperOptSearch(space)``
    takes (``hp.*`` expressions, read with the Hyperopt adapter's
    ``from_hyperopt``), or an :class:`hpviz.SearchSpace`.
    """
    if isinstance(space, hpviz.SearchSpace):
        return space, []
    values = list(space.values()) if isinstance(space, Mapping) else []
    if values and all(isinstance(v, (hpviz.Float, hpviz.Int, hpviz.Categorical)) for v in values):
        return hpviz.SearchSpace(space), []
    if values and all(_module(v).startswith("optuna.distributions") for v in values):
        from hpviz_optuna.space import from_optuna

        return from_optuna({str(k).replace("/", SEP): v for k, v in space.items()}), []
    if _module(space).startswith("hyperopt") or any(_module(v).startswith("hyperopt") for v in values):
        from hpviz_hyperopt.space import from_hyperopt

        return from_hyperopt(space), []
    if not isinstance(space, Mapping):
        raise hpviz.SchemaError(f"param_space must be a dict of Tune domains, Optuna distributions or Hyperopt "
                                f"expressions, got {type(space).__name__}")
    return from_tune_with_notes(space)


def _domain(name: str, dom: Any, sample: Any) -> tuple[Any, str | None]:
    sampler = dom.get_sampler()
    q = None
    if isinstance(sampler, sample.Quantized):
        q = sampler.q
        sampler = sampler.get_sampler()
    if isinstance(dom, sample.Categorical):
        return hpviz.Categorical(list(dom.categories)), None
    if isinstance(sampler, sample.Normal):
        return None, f"{name}: normal distribution (tune.randn) has no bounds; skipped"
    log = isinstance(sampler, sample.LogUniform)
    if not log and not isinstance(sampler, sample.Uniform):
        return None, f"{name}: sampler {type(sampler).__name__} is not supported; skipped"
    try:
        if isinstance(dom, sample.Integer):
            low, high = int(dom.lower), int(dom.upper)
            if q is None or int(q) == 1:
                # randint/lograndint (and qrandint with q=1): the upper bound is exclusive
                return hpviz.Int(low, high - 1, log=log), None
            return hpviz.Int(low, high, log=log, step=int(q)), None
        if isinstance(dom, sample.Float):
            return hpviz.Float(dom.lower, dom.upper, log=log, step=None if q is None else float(q)), None
    except hpviz.SchemaError as exc:
        raise hpviz.SchemaError(f"param_space[{name!r}]: {exc}") from None
    return None, f"{name}: domain {type(dom).__name__} is not supported; skipped"


def to_tune(space: hpviz.SearchSpace | Mapping[str, Any]) -> dict[str, Any]:
    """Export a :class:`hpviz.SearchSpace` as a Ray Tune ``param_space`` (dotted names nested back).

    ``Float`` -> ``uniform``/``loguniform``/``quniform``/``qloguniform``;
    ``Int`` -> ``randint``/``lograndint`` (upper bound made exclusive) or
    ``qrandint``/``qlograndint`` when ``step > 1``; ``Categorical`` -> ``choice``.

    Examples
    --------
    >>> param_space = to_tune(suggestion.space)  # doctest: +SKIP
    >>> tune.Tuner(trainable, param_space=param_space)  # doctest: +SKIP
    """
    from ray import tune

    if not isinstance(space, hpviz.SearchSpace):
        space = hpviz.SearchSpace(space)
    flat: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, hpviz.Categorical):
            flat[name] = tune.choice(list(p.choices))
        elif isinstance(p, hpviz.Int):
            if p.step == 1:
                flat[name] = (tune.lograndint if p.log else tune.randint)(p.low, p.high + 1)
            else:
                flat[name] = (tune.qlograndint if p.log else tune.qrandint)(p.low, p.high, p.step)
        elif p.step is not None:
            flat[name] = (tune.qloguniform if p.log else tune.quniform)(p.low, p.high, p.step)
        else:
            flat[name] = (tune.loguniform if p.log else tune.uniform)(p.low, p.high)
    return unflatten(flat)
