"""The if/else structure of a conditional space, read from the trials that used it.

hpviz's :class:`hpviz.SearchSpace` is flat: a conditional parameter is simply
absent from the trials where it was inactive. Exporting a refined space to a
framework that declares conditions (nested choices, dependent parameters,
conditional subspaces, ``if`` statements in an objective) needs those
conditions back. :func:`branches` recovers them from the trials of the
experiment the space was refined from (a parameter present exactly when a
categorical parameter takes some of its values is nested under that choice),
:func:`plan` orders and nests a (refined) space by them, and
:func:`conditions` lists them flat as ``(child, parent, values)``. Adapters
use these to write native code; the core never needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpviz.schema import Categorical, Experiment, SearchSpace, TrialState

__all__ = ["Branch", "Node", "branches", "plan", "conditions", "dropped", "prune"]


@dataclass(frozen=True)
class Branch:
    """``param`` is suggested only when ``parent`` takes one of ``values``."""

    param: str
    parent: str
    values: tuple[Any, ...]


def _key(v: Any) -> Any:
    return (type(v).__name__, v)


def branches(experiment: Experiment) -> dict[str, Branch]:
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


def plan(space: SearchSpace, experiment: Experiment | None = None) -> tuple[Node, ...]:
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


def conditions(space: SearchSpace, experiment: Experiment | None = None) -> list[tuple[str, str, tuple[Any, ...]]]:
    """``(child, parent, parent values)`` for each parameter of ``space`` active only under some parent values.

    Read from :func:`plan`: values are those of the parent still in ``space``
    (in the parent's declared order), a branch left with no value drops out
    with its parameters, and one covering every remaining value is no
    condition. Parents come before their children.
    """
    out: list[tuple[str, str, tuple[Any, ...]]] = []

    def walk(n: Node) -> None:
        parent = space[n.name]
        for values, kids in n.branches:
            for kid in kids:
                if values is not None and isinstance(parent, Categorical):
                    keys = {_key(v) for v in values}
                    out.append((kid.name, n.name, tuple(c for c in parent.choices if _key(c) in keys)))
                walk(kid)

    for node in plan(space, experiment):
        walk(node)
    return out


def dropped(space: SearchSpace, experiment: Experiment | None = None) -> list[str]:
    """Parameters of ``space`` that :func:`plan` leaves out: their branch lost every parent value (a dropped choice)."""
    kept: set[str] = set()

    def walk(n: Node) -> None:
        kept.add(n.name)
        for _, kids in n.branches:
            for kid in kids:
                walk(kid)

    for node in plan(space, experiment):
        walk(node)
    return [name for name in space if name not in kept]


def prune(space: SearchSpace, experiment: Experiment | None = None) -> tuple[SearchSpace, list[str]]:
    """``space`` without its :func:`dropped` parameters, and a code comment line for each one left out."""
    gone = dropped(space, experiment)
    notes = [f"# {name} is left out: it was used only with choices this space drops" for name in gone]
    return (space.without(*gone) if gone else space), notes
