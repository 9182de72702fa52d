"""Paste-able Optuna code for a (refined) search space, keeping the user's if/else branches.

Optuna has no declared search space: conditional parameters are ``if``
statements in the user's objective. ``branches`` (:mod:`hpviz._branches`,
shared with the other adapters) recovers them from the trials of the
experiment the space was refined from (a parameter that is suggested exactly
when a categorical parameter takes some of its values is nested under that
choice), and :func:`space_code` writes a
``suggest_params(trial)`` function with the same nesting. A parameter fixed
by a suggestion is fixed only inside its own branch, and a branch whose
choices were all dropped disappears with its parameters.
"""

from __future__ import annotations

from typing import Any

import hpviz
from hpviz import Categorical, Float, Int, SearchSpace
from hpviz._branches import Branch, Node, branches, plan

__all__ = ["Branch", "Node", "branches", "plan", "space_code", "suggest_line"]


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
