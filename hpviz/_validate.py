"""Argument validation: declared constraints and one validator (after scikit-learn's ``utils/_param_validation``).

Every public function checks its arguments here, before any work, so every
message has one shape: it names the parameter, says what is allowed and
shows what was given::

    k must be an integer in [1, inf), got 0
    estimator must be one of 'v', 'u', got 'w'

Bad values are :class:`hpviz.SchemaError` (a ``ValueError``); unknown
keyword options are a ``TypeError`` listing the allowed ones
(:func:`check_options`).

Constraints: :class:`Interval` (integers or reals within bounds),
:class:`Options` (one of a set), ``None`` (the value may be None),
``callable``, ``str``, ``bool`` and other types (``isinstance``).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hpviz.errors import SchemaError

__all__ = ["Interval", "Options", "check", "check_int", "check_real", "check_options", "describe", "keywords_checked"]


@dataclass(frozen=True)
class Interval:
    """Numbers of ``kind`` (``int`` or ``float``) in ``[left, right]``; ``closed`` says which ends are included.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``; a ``None`` bound is open (infinite).
    Booleans are never numbers here; NaN never passes; an ``int`` interval
    accepts only integral values (NumPy integers included).
    """

    kind: type
    left: float | None = None
    right: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        v = float(value)
        if math.isnan(v) or (self.left is None and v == -math.inf) or (self.right is None and v == math.inf):
            return False  # an open infinite end excludes infinity itself
        if self.left is not None and (v < self.left or (v == self.left and self.closed in ("right", "neither"))):
            return False
        if self.right is not None and (v > self.right or (v == self.right and self.closed in ("left", "neither"))):
            return False
        return True

    def __str__(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        lo = "-inf" if self.left is None else _num(self.left)
        hi = "inf" if self.right is None else _num(self.right)
        lb = "[" if self.left is not None and self.closed in ("both", "left") else "("
        rb = "]" if self.right is not None and self.closed in ("both", "right") else ")"
        return f"{what} in {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class Options:
    """One of the given values (compared with ``==``; strings case-sensitively)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        try:
            return any(value == v and type(value) is type(v) for v in self.values)
        except Exception:  # noqa: BLE001 - an odd __eq__ is simply not one of the options
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _accepts(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint is callable:
        return callable(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint) and not (constraint is not bool and isinstance(value, bool)
                                                      and constraint in (int, float))
    return constraint.accepts(value)


def describe(constraint: Any) -> str:
    """Words for one constraint, as used in the messages."""
    if constraint is None:
        return "None"
    if constraint is callable:
        return "a callable"
    if isinstance(constraint, type):
        return {str: "a string", bool: "True or False", dict: "a dict"}.get(constraint, f"a {constraint.__name__}")
    return str(constraint)


def check(name: str, value: Any, *constraints: Any) -> Any:
    """Return ``value`` if it meets one of ``constraints``, else raise :class:`SchemaError` naming ``name``."""
    for c in constraints:
        if _accepts(c, value):
            return value
    allowed = " or ".join(describe(c) for c in constraints)
    raise SchemaError(f"{name} must be {allowed}, got {value!r}")


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer in ``[low, high]`` (``None``: unbounded), returned as ``int``."""
    return int(check(name, value, Interval(int, low, high)))


def check_real(name: str, value: Any, low: float | None = None, high: float | None = None,
               closed: str = "both") -> float:
    """A real number within the bounds (``closed`` as in :class:`Interval`), returned as ``float``."""
    return float(check(name, value, Interval(float, low, high, closed)))


def check_options(where: str, given: Mapping[str, Any] | Iterable[str], allowed: Iterable[str]) -> None:
    """Unknown keyword options are a ``TypeError`` naming them and listing the allowed ones."""
    allowed = list(allowed)
    unknown = [k for k in given if k not in allowed]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise TypeError(f"{where} got unexpected keyword argument{'s' if len(unknown) > 1 else ''} {names}; "
                        f"allowed: {', '.join(allowed) or 'none'}")


def keywords_checked(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a public function so an unknown keyword is a TypeError that lists the allowed ones.

    (Python's own message names the bad keyword but not the choices.)
    """
    params = inspect.signature(func).parameters.values()
    allowed = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_options(f"{func.__name__}()", kwargs, allowed)
        return func(*args, **kwargs)

    return wrapper
