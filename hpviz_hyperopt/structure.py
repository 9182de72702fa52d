"""Refined Hyperopt spaces that keep the user's structure, as objects and as code.

A Hyperopt space is a pyll graph: dicts, lists and tuples holding ``hp``
expressions, with ``hp.choice`` options that may be whole sub-spaces
(``hp.choice("model", [{"type": "svm", "C": ...}, {"type": "rf", ...}])``).
hpviz analyses it flat (one parameter per label), so exporting a refined
space must put each refined distribution back *where it was*:

- :func:`refine` clones the user's graph and swaps, label by label, the
  expression of every parameter whose distribution changed. Dict keys, list
  positions, constants and the options of a choice stay as they were; a
  choice keeps its surviving options (sub-spaces included) in order, so a
  parameter fixed inside one option is fixed only there, and the parameters
  of a dropped option disappear with it.
- :func:`space_code` prints such a graph as paste-able Python.

Where the user's space comes from: :func:`hpviz_hyperopt.from_trials` (and
``hpviz.experiment(trials, space=...)``) remembers it for the Experiment it
builds (:func:`remember_native` / :func:`native_space`), in memory only: a
Hyperopt space may hold arbitrary Python objects and functions, which the
saved JSON must not carry (and hpviz never unpickles). An experiment loaded
from JSON therefore exports flat (one ``hp`` expression per label).
"""

from __future__ import annotations

import ast
import math
import weakref
from collections.abc import Mapping
from typing import Any

from hpviz import Categorical, SchemaError, SearchSpace

__all__ = ["refine", "space_code", "remember_native", "native_space", "UNPRINTABLE"]

_NATIVE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def remember_native(experiment: Any, native: Any) -> None:
    """Keep ``native`` (the space given to ``fmin``) for ``experiment``, in memory only."""
    _NATIVE[experiment] = native


def native_space(experiment: Any) -> Any:
    """The Hyperopt space ``experiment`` was converted with, or ``None`` (built by hand, loaded from JSON)."""
    try:
        return _NATIVE.get(experiment)
    except TypeError:  # not weak-referenceable
        return None


# --------------------------------------------------------------------------- graph helpers


def _label(node: Any) -> str:
    from hpviz_hyperopt.space import _literal

    return str(_literal(node.pos_args[0], "?", "label"))


def _tops(root: Any) -> dict[int, tuple[str, Any]]:
    """``id(top node) -> (label, hyperopt_param node)`` for every parameter occurrence.

    The top node is what a ``hp.*`` call returned: the ``switch`` of a choice,
    or the outermost ``float``/``int`` wrapper around a ``hyperopt_param``.
    """
    from hyperopt import pyll

    nodes = pyll.dfs(root)
    parents: dict[int, list[Any]] = {}
    for node in nodes:
        for child in node.inputs():
            parents.setdefault(id(child), []).append(node)
    tops: dict[int, tuple[str, Any]] = {}
    for node in nodes:
        if node.name != "hyperopt_param":
            continue
        label = _label(node)
        ups = parents.get(id(node), [])
        switches = [u for u in ups if u.name == "switch" and u.pos_args and u.pos_args[0] is node]
        if switches:
            for sw in switches:
                tops[id(sw)] = (label, node)
            continue
        frontier = [node]
        while True:
            wrappers = [u for n in frontier for u in parents.get(id(n), [])
                        if u.name in ("float", "int") and u.pos_args and u.pos_args[0] is n]
            if not wrappers:
                break
            frontier = wrappers
        for top in frontier:
            tops[id(top)] = (label, node)
    return tops


def _choice_options(d: Any, param: Any) -> list[int] | None:
    """Indices of the original options a refined choice keeps; ``None`` when it is not a subset."""
    if not isinstance(param, Categorical):
        return None
    from hpviz.schema import choice_key

    if d.options is None:  # options are sub-spaces: the hpviz parameter holds their indices
        original = list(range(int(d.args.get("n", len(d.param.choices)))))
    else:
        original = list(d.options)
    keys = [choice_key(v) for v in original]
    picked = []
    for c in param.choices:
        k = choice_key(c)
        if k not in keys:
            return None
        picked.append(keys.index(k))
    return picked


def refine(native: Any, space: SearchSpace | Mapping[str, Any]) -> Any:
    """``native`` with each label's distribution replaced by the one in ``space``.

    Labels whose hpviz parameter is unchanged keep their native expression
    (``randint``, ``normal``, ``pchoice`` probabilities...). A refined choice
    keeps the surviving original options, sub-spaces included, in their
    original order (``pchoice`` probabilities renormalised). Labels of
    ``space`` that are not in ``native`` are added at the top level when
    ``native`` is a dict. Returns a pyll expression usable as ``fmin``'s space.

    Raises
    ------
    hpviz.SchemaError
        ``space`` adds a label to a native space that is not a dict.
    """
    from hyperopt import hp, pyll

    from hpviz_hyperopt.space import _export_param, describe

    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    desc = describe(native)
    root = pyll.as_apply(native)
    tops = _tops(root)
    memo: dict[Any, Any] = {}
    for node in pyll.dfs(root):
        top = tops.get(id(node))
        if top is None or top[0] not in space or desc[top[0]].param == space[top[0]]:
            memo[node] = node.clone_from_inputs([memo[a] for a in node.inputs()])
            continue
        label = top[0]
        d, p = desc[label], space[label]
        picked = _choice_options(d, p) if d.kind in ("choice", "pchoice") else None
        if picked is not None:
            options = [memo[o] for o in node.pos_args[1:]]
            kept = [options[i] for i in picked]
            if d.kind == "pchoice":
                probs = [d.args["p"][i] for i in picked]
                total = sum(probs) or 1.0
                memo[node] = pyll.as_apply(hp.pchoice(label, [(w / total, o) for w, o in zip(probs, kept)]))
            else:
                memo[node] = pyll.as_apply(hp.choice(label, kept))
        else:
            memo[node] = pyll.as_apply(_export_param(label, p))
    out = memo[root]
    extra = [name for name in space if name not in desc]
    if extra:
        if out.name != "dict":
            raise SchemaError(f"cannot add parameters {extra} to a Hyperopt space that is not a dict "
                              f"({type(native).__name__}); add them to your space by hand")
        named = dict(out.named_args)
        for name in extra:
            named[name] = pyll.as_apply(_export_param(name, space[name]))
        out = pyll.as_apply({k: v for k, v in named.items()})
    return out


# --------------------------------------------------------------------------- code


def _num(x: Any) -> str:
    return repr(x.item() if hasattr(x, "item") else x)


def _log_bound(x: float) -> str:
    """``math.log(v)`` when that gives ``x`` exactly (readable), else the log-space number."""
    from hpviz_hyperopt.space import _exp

    v = _exp(float(x))
    raw = _num(x)
    return f"math.log({v!r})" if math.log(v) == x and len(raw) > len(repr(v)) + 10 else raw


#: Marks a constant of the user's space that has no Python literal (a function, a class...).
UNPRINTABLE = "<put back: "


def _literal_code(obj: Any) -> str:
    """``repr(obj)`` when it reads back as ``obj`` (``ast.literal_eval``), else a visible placeholder string."""
    obj = obj.item() if hasattr(obj, "item") else obj
    text = repr(obj)
    try:
        ok = ast.literal_eval(text) == obj
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        ok = False
    return text if ok else repr(f"{UNPRINTABLE}{text}>")


def _dist_code(label: str, hparam: Any, is_int: bool) -> str:
    from hyperopt.pyll.base import MissingArgument

    dist = hparam.pos_args[1]
    args = {k: v for k, v in dist.arg.items() if k not in ("rng", "size") and v is not MissingArgument}
    vals = {k: v.obj if hasattr(v, "obj") else v for k, v in args.items()}
    name = dist.name
    if name == "randint":
        bounds = ", ".join(_num(vals[k]) for k in ("low", "high") if k in vals)
        return f"hp.randint({label!r}, {bounds})"
    if name in ("loguniform", "qloguniform"):
        parts = [_log_bound(vals["low"]), _log_bound(vals["high"])] + ([_num(vals["q"])] if "q" in vals else [])
    elif "normal" in name:
        parts = [_num(vals[k]) for k in ("mu", "sigma", "q") if k in vals]
    else:
        parts = [_num(vals[k]) for k in ("low", "high", "q") if k in vals]
    code = f"hp.{name}({label!r}, {', '.join(parts)})"
    return f"scope.int({code})" if is_int else code


def _code(node: Any, tops: Mapping[int, tuple[str, Any]], indent: str) -> str:
    from hyperopt import pyll

    inner = indent + "    "
    top = tops.get(id(node))
    if top is not None:
        label, hparam = top
        if node.name == "switch":
            opts = [_code(o, tops, inner) for o in node.pos_args[1:]]
            dist = hparam.pos_args[1]
            if dist.name == "categorical":
                probs = pyll.rec_eval(dist.pos_args[0])
                opts = [f"({_num(float(w))}, {o})" for w, o in zip(probs, opts)]
            fn = "pchoice" if dist.name == "categorical" else "choice"
            if all("\n" not in o for o in opts) and sum(len(o) for o in opts) < 80:
                return f"hp.{fn}({label!r}, [{', '.join(opts)}])"
            items = "".join(f"{inner}{o},\n" for o in opts)
            return f"hp.{fn}({label!r}, [\n{items}{indent}])"
        return _dist_code(label, hparam, node.name == "int" and hparam.pos_args[1].name != "randint")
    if isinstance(node, pyll.Literal):
        return _literal_code(node.obj)
    if node.name == "dict":
        if not node.named_args:
            return "{}"
        items = "".join(f"{inner}{k!r}: {_code(v, tops, inner)},\n" for k, v in node.named_args)
        return "{\n" + items + indent + "}"
    if node.name == "pos_args":
        items = "".join(f"{inner}{_code(v, tops, inner)},\n" for v in node.pos_args)
        return "(\n" + items + indent + ")"
    args = [_code(a, tops, inner) for a in node.pos_args] + [f"{k}={_code(v, tops, inner)}" for k, v in node.named_args]
    return f"scope.{node.name}({', '.join(args)})"


def space_code(space: SearchSpace, native: Any = None) -> str:
    """Python code building the refined space for ``fmin``, in ``native``'s structure when given.

    Without ``native`` (an experiment loaded from JSON, or built by hand) the
    code is a flat ``{label: hp expression}`` dict.
    """
    from hyperopt import pyll

    from hpviz_hyperopt.space import to_hyperopt

    graph = refine(native, space) if native is not None else pyll.as_apply(to_hyperopt(space))
    body = _code(graph, _tops(graph), "")
    note = (f"# Constants shown as '{UNPRINTABLE}...>' strings have no Python literal: put yours back.\n"
            if UNPRINTABLE in body else "")
    return ("# Hyperopt: the refined space for fmin(fn, space, ...)\n" + note +
            "import math\n\nfrom hyperopt import hp\nfrom hyperopt.pyll import scope\n\n"
            f"space = {body}\n")
