"""Issuing hpviz warnings at the caller's line: :func:`warn`.

``warnings.warn(..., stacklevel=2)`` points at the hpviz function that
called it when the condition is found a few calls deep. :func:`warn` walks
the stack to the first frame outside the ``hpviz`` package (pandas'
``find_stack_level`` does the same), so the warning names the user's line.
Conditions of a call are warnings; log lines are for what happens outside a
call (a live callback during the user's run).
"""

from __future__ import annotations

import inspect
import os
import warnings

import hpviz

__all__ = ["warn", "caller_stacklevel"]

_PACKAGE_DIR = os.path.dirname(hpviz.__file__)


def caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside the hpviz package (tests count as outside)."""
    frame = inspect.currentframe()
    level = 0
    try:
        while frame is not None:
            filename = frame.f_code.co_filename
            if not filename.startswith(_PACKAGE_DIR + os.sep) and level > 0:
                break
            frame = frame.f_back
            level += 1
    finally:
        del frame
    return level


def warn(message: str, category: type[Warning]) -> None:
    """Issue ``message`` as ``category`` at the user's line."""
    warnings.warn(message, category, stacklevel=caller_stacklevel())
