"""Hyperopt search spaces <-> :class:`hpviz.SearchSpace`.

Hyperopt spaces are pyll expression graphs. :func:`describe` walks the graph
itself (``hyperopt.pyll_utils.expr_to_config`` crashes on ``hp.pchoice``) and
recovers, for every label, its distribution, its arguments, whether the value
is wrapped in ``int(...)``, and the ``choice`` branches that activate it.

Mapping (``low``/``high`` of log distributions are in log space in Hyperopt,
exp'ed back here):

==========================  =====================================================
Hyperopt                    hpviz
==========================  =====================================================
``uniform(a, b)``           ``Float(a, b)``
``loguniform(a, b)``        ``Float(e^a, e^b, log=True)``
``quniform(a, b, q)``       ``Float(a, b, step=q)`` (values are floats)
``int(quniform(a, b, q))``  ``Int(a, b, step=q)`` (``uniformint``; integral a, b, q)
``qloguniform(a, b, q)``    ``Float(e^a, e^b, log=True, step=q)``
``int(qloguniform(...))``   ``Int(e^a, e^b, log=True, step=q)`` (integral bounds, q)
``randint(a, b)``           ``Int(a, b - 1)`` (``randint(n)``: ``Int(0, n - 1)``)
``choice``/``pchoice``      ``Categorical(option values)`` or option indices
``normal(mu, s)``           ``Float(mu - 3s, mu + 3s)`` (unbounded: see below)
``lognormal(mu, s)``        ``Float(e^(mu - 3s), e^(mu + 3s), log=True)``
``qnormal``/``qlognormal``  as above with ``step=q``
==========================  =====================================================

Normal and lognormal distributions have no bounds. hpviz represents them by
the interval holding 99.7 % of their mass (mean +- 3 standard deviations, in
log space for lognormal); the rare draw outside it is kept as sampled and
reported by :meth:`hpviz.Experiment.flags` as ``out-of-space``. Analyses see
an ordinary ``Float`` on that interval (linear scale for normal, log scale
for lognormal); :func:`describe` keeps the native distribution
(``HyperoptParam.bounded`` is False).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hpviz import Categorical, Float, Int, SchemaError, SearchSpace

__all__ = ["HyperoptParam", "describe", "from_hyperopt", "to_hyperopt", "decode_vals", "SIGMAS"]

#: Half-width, in standard deviations, of the interval representing a normal/lognormal.
SIGMAS = 3.0

_NUMERIC = {"uniform", "loguniform", "quniform", "qloguniform", "normal", "lognormal", "qnormal",
            "qlognormal", "randint"}


@dataclass(frozen=True)
class HyperoptParam:
    """What the pyll graph says about one label.

    Attributes
    ----------
    label:
        The Hyperopt label (the hpviz parameter name).
    kind:
        ``uniform``, ``loguniform``, ``quniform``, ``qloguniform``, ``uniformint``,
        ``randint``, ``normal``, ``qnormal``, ``lognormal``, ``qlognormal``,
        ``choice`` or ``pchoice``.
    args:
        The native arguments (``low``, ``high``, ``q``, ``mu``, ``sigma``; ``p`` for pchoice).
    param:
        The hpviz parameter.
    is_int:
        The value is wrapped in ``int(...)`` (``uniformint``, ``randint``...).
    options:
        For choices: the decoded option values, or ``None`` when the options are
        nested spaces (then the hpviz parameter holds option indices).
    conditions:
        Branches activating the parameter: a tuple of alternatives, each a tuple of
        ``(choice label, option index)``; ``()`` means always active.
    bounded:
        False for normal/lognormal, whose hpviz bounds are mean +- 3 sd.
    """

    label: str
    kind: str
    args: Mapping[str, Any]
    param: Any
    is_int: bool = False
    options: tuple[Any, ...] | None = None
    conditions: tuple[tuple[tuple[str, int], ...], ...] = field(default=())
    bounded: bool = True

    def decode(self, raw: Any) -> Any:
        """The value ``space_eval`` gives this label for the stored ``misc['vals']`` entry."""
        if self.kind in ("choice", "pchoice"):
            idx = int(raw)
            if self.options is not None and 0 <= idx < len(self.options):
                return self.options[idx]
            return idx
        if self.is_int:
            return int(raw)
        return float(raw)


# --------------------------------------------------------------------------- graph walking


def _exp(x: float) -> float:
    """``exp(x)`` snapped to the shortest decimal whose log is ``x`` again (exact round trips)."""
    value = math.exp(x)
    for digits in range(6, 18):
        candidate = float(f"{value:.{digits}g}")
        if candidate > 0 and math.log(candidate) == x:
            return candidate
    return value


def _literal(node: Any, label: str, what: str) -> Any:
    from hyperopt import pyll

    if isinstance(node, pyll.Literal):
        return node.obj
    if any(n.name == "hyperopt_param" for n in pyll.dfs(node)):
        raise SchemaError(f"hyperopt parameter {label!r}: its {what} depends on another hyperparameter; "
                          "hpviz supports only constant distribution arguments")
    return pyll.rec_eval(node)


def _dist_args(dist: Any, label: str) -> dict[str, Any]:
    from hyperopt.pyll.base import MissingArgument

    out = {}
    for name, node in dist.arg.items():
        if name in ("rng", "size") or node is MissingArgument:
            continue
        value = _literal(node, label, name)
        if name == "p":
            out[name] = tuple(float(v) for v in value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "item"):
                raise SchemaError(f"hyperopt parameter {label!r}: argument {name}={value!r} is not a number")
            out[name] = value.item() if hasattr(value, "item") else value
    return out


def _integral(*xs: float) -> bool:
    return all(float(x).is_integer() for x in xs)


def _numeric_param(label: str, kind: str, args: dict[str, Any], is_int: bool) -> tuple[str, Any, bool]:
    """``(kind, hpviz param, bounded)`` for a numeric distribution."""
    try:
        if kind == "uniform":
            return kind, Float(args["low"], args["high"]), True
        if kind == "loguniform":
            return kind, Float(_exp(args["low"]), _exp(args["high"]), log=True), True
        if kind == "quniform":
            lo, hi, q = args["low"], args["high"], args["q"]
            if is_int and _integral(lo, hi, q):
                return ("uniformint" if q == 1 else kind), Int(lo, hi, step=int(q)), True
            return kind, Float(lo, hi, step=q), True
        if kind == "qloguniform":
            lo, hi, q = _exp(args["low"]), _exp(args["high"]), args["q"]
            if is_int and _integral(lo, hi, q):
                return kind, Int(lo, hi, log=True, step=int(q)), True
            return kind, Float(lo, hi, log=True, step=q), True
        if kind == "randint":
            lo, hi = (0, args["low"]) if "high" not in args else (args["low"], args["high"])
            if hi - 1 == lo:
                return kind, Categorical([int(lo)]), True
            return kind, Int(lo, hi - 1), True
        if kind in ("normal", "qnormal", "lognormal", "qlognormal"):
            mu, sigma = float(args["mu"]), float(args["sigma"])
            lo, hi = mu - SIGMAS * sigma, mu + SIGMAS * sigma
            log = kind.endswith("lognormal")
            if log:
                lo, hi = _exp(lo), _exp(hi)
            return kind, Float(lo, hi, log=log, step=args.get("q")), False
    except KeyError as exc:
        raise SchemaError(f"hyperopt parameter {label!r}: {kind} is missing argument {exc}") from None
    except SchemaError as exc:
        raise SchemaError(f"hyperopt parameter {label!r} ({kind} {args}): {exc}") from None
    raise SchemaError(f"hyperopt parameter {label!r}: unsupported distribution {kind!r}")


def _choice_param(label: str, chooser: Any, options: list[Any]) -> tuple[str, dict[str, Any], Any, tuple | None]:
    from hyperopt import pyll

    dist = chooser.pos_args[1]
    args = _dist_args(dist, label)
    kind = "pchoice" if dist.name == "categorical" else "choice"
    if kind == "choice":
        args = {"n": len(options)}
    values: tuple | None = None
    if not any(n.name == "hyperopt_param" for opt in options for n in pyll.dfs(opt)):
        decoded = tuple(pyll.rec_eval(opt) for opt in options)
        try:
            param = Categorical(decoded)
            # the values must be usable as plain categories
            for v in decoded:
                hash(v)
            values = decoded
        except (SchemaError, TypeError):
            values = None
    if values is None:  # nested spaces (or unhashable/duplicate options): record the option index
        param = Categorical(tuple(range(len(options))))
    return kind, args, param, values


def describe(space: Any) -> dict[str, HyperoptParam]:
    """Every label of a Hyperopt space with its distribution, in graph order.

    Raises
    ------
    hpviz.SchemaError
        An unsupported distribution, or arguments depending on other hyperparameters.
    """
    from hyperopt import pyll

    try:
        root = pyll.as_apply(space)
    except Exception as exc:  # noqa: BLE001 - report what is wrong with the user's space
        raise SchemaError(f"not a Hyperopt search space ({type(space).__name__}): {exc}") from exc

    int_wrapped: set[int] = set()
    for node in pyll.dfs(root):
        if node.name == "int" and node.pos_args:
            inner = node.pos_args[0]
            while inner.name == "float" and inner.pos_args:
                inner = inner.pos_args[0]
            if inner.name == "hyperopt_param":
                int_wrapped.add(id(inner))

    found: dict[str, dict[str, Any]] = {}
    seen: set[tuple[int, tuple]] = set()

    def note(label: str, make: Any, cond: tuple) -> None:
        if label not in found:
            found[label] = make()
            found[label]["conds"] = []
        found[label]["conds"].append(cond)

    def visit(node: Any, cond: tuple) -> None:
        key = (id(node), cond)
        if key in seen:
            return
        seen.add(key)
        if node.name == "switch" and node.pos_args and node.pos_args[0].name == "hyperopt_param":
            chooser = node.pos_args[0]
            label = str(_literal(chooser.pos_args[0], "?", "label"))
            options = list(node.pos_args[1:])

            def make() -> dict[str, Any]:
                kind, args, param, values = _choice_param(label, chooser, options)
                return {"kind": kind, "args": args, "param": param, "options": values, "is_int": False,
                        "bounded": True}

            note(label, make, cond)
            for i, opt in enumerate(options):
                visit(opt, (*cond, (label, i)))
            return
        if node.name == "hyperopt_param":
            label = str(_literal(node.pos_args[0], "?", "label"))
            dist = node.pos_args[1]

            def make() -> dict[str, Any]:
                if dist.name not in _NUMERIC:
                    raise SchemaError(f"hyperopt parameter {label!r}: unsupported distribution {dist.name!r}")
                args = _dist_args(dist, label)
                is_int = id(node) in int_wrapped
                kind, param, bounded = _numeric_param(label, dist.name, args, is_int)
                if dist.name == "randint":
                    is_int = True
                return {"kind": kind, "args": args, "param": param, "options": None, "is_int": is_int,
                        "bounded": bounded}

            note(label, make, cond)
            return
        for child in node.inputs():
            visit(child, cond)

    visit(root, ())
    out = {}
    for label, info in found.items():
        conds = tuple(dict.fromkeys(info["conds"]))
        if () in conds:
            conds = ()
        out[label] = HyperoptParam(label, info["kind"], info["args"], info["param"], info["is_int"],
                                   info["options"], conds, info["bounded"])
    return out


def from_hyperopt(space: Any) -> SearchSpace:
    """The :class:`hpviz.SearchSpace` of a Hyperopt space (dict, list or pyll expression).

    Conditional parameters (inside a ``choice`` option) are included; a trial in
    which they were inactive simply lacks them. A ``choice`` whose options are
    nested spaces becomes a ``Categorical`` of option indices. See the module
    docstring for the full mapping and the treatment of normal/lognormal.
    """
    if isinstance(space, SearchSpace):
        return space
    return SearchSpace({label: d.param for label, d in describe(space).items()})


# --------------------------------------------------------------------------- export


def _export_param(name: str, p: Any) -> Any:
    from hyperopt import hp
    from hyperopt.pyll import scope

    if isinstance(p, Categorical):
        return hp.choice(name, list(p.choices))
    if isinstance(p, Int):
        if p.log:
            return scope.int(hp.qloguniform(name, math.log(p.low), math.log(p.high), p.step))
        if p.step == 1:
            return hp.uniformint(name, p.low, p.high)
        return scope.int(hp.quniform(name, p.low, p.high, p.step))
    if isinstance(p, Float):
        if p.log and p.step is not None:
            return hp.qloguniform(name, math.log(p.low), math.log(p.high), p.step)
        if p.log:
            return hp.loguniform(name, math.log(p.low), math.log(p.high))
        if p.step is not None:
            return hp.quniform(name, p.low, p.high, p.step)
        return hp.uniform(name, p.low, p.high)
    raise SchemaError(f"cannot export parameter {name!r} of type {type(p).__name__} to Hyperopt")


def to_hyperopt(space: SearchSpace | Mapping[str, Any], native: Any = None) -> Any:
    """The Hyperopt space sampling ``space`` (pass it to ``fmin``).

    Canonical exports: ``Float`` -> ``uniform``/``loguniform``/``quniform``/``qloguniform``;
    ``Int`` -> ``uniformint`` (``int(quniform)`` for step > 1, ``int(qloguniform)``
    when log); ``Categorical`` -> ``choice``.

    Parameters
    ----------
    space:
        The hpviz space (e.g. ``hpviz.suggest_space(exp).space``).
    native:
        Optional original Hyperopt space (the one given to ``fmin``). The result
        then keeps its structure (see :func:`hpviz_hyperopt.structure.refine`):
        dict keys, nesting, constants, and ``choice`` options that are whole
        sub-spaces; a parameter whose hpviz form is unchanged keeps its native
        distribution (``randint``, ``normal``, ``pchoice`` probabilities...),
        so native -> hpviz -> native is exact.

    Returns
    -------
    dict or pyll expression
        Without ``native``: a flat ``{name: hp expression}`` dict. With it: the
        same kind of object as ``native`` (a dict stays a dict of expressions).
    """
    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    if native is not None:
        from hpviz_hyperopt.structure import refine

        out = refine(native, space)
        if isinstance(native, Mapping) and out.name == "dict":
            return dict(out.named_args)
        return out
    return {name: _export_param(name, p) for name, p in space.items()}


def decode_vals(desc: Mapping[str, HyperoptParam], vals: Mapping[str, Any]) -> dict[str, Any]:
    """Trial params from ``misc['vals']`` (``{label: [value]}``; ``[]`` when inactive)."""
    params: dict[str, Any] = {}
    for label, entry in vals.items():
        if entry is None:
            continue
        if isinstance(entry, (list, tuple)):
            if not entry:
                continue  # inactive conditional parameter
            raw = entry[0]
        else:
            raw = entry
        d = desc.get(label)
        if d is not None:
            params[label] = d.decode(raw)
        else:
            params[label] = raw.item() if hasattr(raw, "item") else raw
    return params
