"""Paste-able Optuna code for a (refined) search space, keeping the user's if/else branches.

Optuna has no declared search space: conditional parameters are ``if``
statements in the user's objective. :func:`branches` recovers them from the
trials of the experiment the space was refined from (a parameter that is
suggested exactly when a categorical parameter takes some of its values is
nested under that choice), and :func:`space_code` writes a
``suggest_params(trial)`` function with the same nesting. A parameter fixed
by a suggestion is fixed only inside its own branch, and a branch whose
choices were all dropped disappears with its parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import hpviz
from hpviz import Categorical, Float, Int, SearchSpace, TrialState

__all__ = ["Branch", "Node", "branches", "plan", "space_code", "suggest_line"]


@dataclass(frozen=True)
class Branch:
    """``param`` is suggested only when ``parent`` takes one of ``values``."""

    param: str
    parent: str
    values: tuple[Any, ...]


def _r(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def suggest_line(name: str, p: Any) -> str:
    """The ``trial.suggest_*`` call sampling ``p`` (log+step, which Optuna lacks, drops the step)."""
    n = repr(name)
    if isinstance(p, Categorical):
        return f"trial.suggest_categorical({n}, {[c.item() if hasattr(c, 'item') else c for c in p.choices]!r})"
    kind = "int" if isinstance(p, Int) else "float"
    args = f"{n}, {_r(p.low)}, {_r(p.high)}"
    stepped = (isinstance(p, Int) and p.step != 1) or (isinstance(p, Float) and p.step is not None)
    if p.log:
        args += ", log=True"
    elif stepped:
        args += f", step={_r(p.step)}"
    return f"trial.suggest_{kind}({args})"


def _key(v: Any) -> Any:
    return (type(v).__name__, v)


def branches(experiment: hpviz.Experiment) -> dict[str, Branch]:
    """The if/else structure of ``experiment``'s space, read from which trials used which parameter.

    A parameter absent from some trials is nested under the categorical
    parameter ``c`` for which it is present exactly when ``c`` takes a value in
    a proper subset of ``c``'s observed values (the most specific such ``c``
    when several qualify, e.g. in nested branches); a parameter present
    whenever ``c`` is, whatever its value, is ``c``'s sibling, not its child.
    Only COMPLETE and PRUNED trials are read: a failed trial may have stopped
    before its branch.
    """
    trials = [t for t in experiment.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if not trials:
        return {}
    space = experiment.space
    names = list(space)
    present = {n: np.fromiter((n in t.params for t in trials), bool, len(trials)) for n in names}
    codes: dict[str, tuple[np.ndarray, list[Any]]] = {}  # categorical -> (value code per trial, -1 absent; values)
    for c in names:
        if isinstance(space[c], Categorical):
            seen: dict[Any, int] = {}
            values: list[Any] = []
            col = np.full(len(trials), -1)
            for i, t in enumerate(trials):
                if c in t.params:
                    v = t.params[c]
                    col[i] = seen.setdefault(_key(v), len(values))
                    if col[i] == len(values):
                        values.append(v)
            codes[c] = (col, values)
    out: dict[str, Branch] = {}
    for p in names:
        here = present[p]
        if here.all():
            continue
        best: tuple[int, Branch] | None = None
        for c, (col, values) in codes.items():
            if c == p or (here & (col < 0)).any():
                continue
            active = np.unique(col[here])
            inactive = np.unique(col[~here & (col >= 0)])
            if active.size == 0 or inactive.size == 0 or np.intersect1d(active, inactive).size:
                continue
            n_active = int(present[c].sum())
            if best is None or n_active < best[0]:
                best = (n_active, Branch(p, c, tuple(values[i] for i in active)))
        if best is not None and not _cycle(out, best[1]):
            out[p] = best[1]
    return out


def _cycle(found: Mapping[str, Branch], new: Branch) -> bool:
    node = new.parent
    while node in found:
        if node == new.param:
            return True
        node = found[node].parent
    return node == new.param


@dataclass(frozen=True)
class Node:
    """One parameter to sample, then the branches it opens: ``(values, nodes)`` sampled when it takes ``values``.

    ``values`` is ``None`` for parameters always sampled after this one (the
    branch is the only one left, e.g. its parent was fixed).
    """

    name: str
    branches: tuple[tuple[tuple[Any, ...] | None, tuple[Node, ...]], ...] = ()


def plan(space: SearchSpace, experiment: hpviz.Experiment | None = None) -> tuple[Node, ...]:
    """The order and nesting in which to sample ``space``, following ``experiment``'s branches.

    A branch keeps only the parent's choices still in ``space``; a branch left
    with no choice disappears with its parameters (a dropped option), and a
    branch covering every remaining choice is sampled unconditionally.
    """
    tree = branches(experiment) if experiment is not None else {}
    tree = {p: b for p, b in tree.items() if p in space and b.parent in space}
    children: dict[str, list[Branch]] = {}
    for b in tree.values():
        children.setdefault(b.parent, []).append(b)

    def node(name: str) -> Node:
        parent = space[name]
        kept = {_key(c) for c in parent.choices} if isinstance(parent, Categorical) else set()
        groups: dict[tuple, list[str]] = {}
        for b in children.get(name, []):
            values = tuple(v for v in b.values if _key(v) in kept)
            if values:
                groups.setdefault(values, []).append(b.param)
        out = []
        for values, params in groups.items():
            always = len(kept) == len({_key(v) for v in values})
            out.append((None if always else values, tuple(node(p) for p in params)))
        return Node(name, tuple(out))

    return tuple(node(name) for name in space if name not in tree)


def space_code(space: SearchSpace, experiment: hpviz.Experiment | None = None) -> str:
    """A ``suggest_params(trial)`` function sampling ``space``, nested like ``experiment``'s branches."""
    lines: list[str] = []

    def emit(n: Node, indent: str) -> None:
        lines.append(f"{indent}params[{n.name!r}] = {suggest_line(n.name, space[n.name])}")
        for values, kids in n.branches:
            inner = indent
            if values is not None:
                cond = (f"params[{n.name!r}] == {_r(values[0])}" if len(values) == 1
                        else f"params[{n.name!r}] in ({', '.join(_r(v) for v in values)},)")
                lines.append(f"{indent}if {cond}:")
                inner = indent + "    "
            for kid in kids:
                emit(kid, inner)

    for n in plan(space, experiment):
        emit(n, "    ")
    body = "\n".join(lines)
    return ("# Optuna: sample the refined space inside your objective\n"
            "def suggest_params(trial):\n"
            "    params = {}\n"
            f"{body}\n"
            "    return params\n")
