"""The hpviz error and warning hierarchies.

Every error hpviz raises on purpose derives from :class:`HpvizError`, and the
ones caused by bad input also derive from the built-in type a caller would
catch (``ValueError``/``TypeError``), so ``except ValueError`` keeps working.
Every warning derives from :class:`HpvizWarning` (a ``UserWarning``).
"""

from __future__ import annotations


class HpvizError(Exception):
    """Base class of every error raised by hpviz."""


class SchemaError(HpvizError, ValueError):
    """Malformed search space, trial, experiment or saved file.

    The message names the offending field (for example ``Float.low``).
    """


class InsufficientDataError(HpvizError, ValueError):
    """Too few usable trials for an analysis.

    Attributes
    ----------
    have, need:
        How many usable trials there are and how many the analysis needs.
    """

    def __init__(self, message: str, *, have: int | None = None, need: int | None = None):
        super().__init__(message)
        self.have = have
        self.need = need


class UnsupportedObjectError(HpvizError, TypeError):
    """``hpviz.experiment`` was given an object no installed adapter converts."""


# --------------------------------------------------------------------------- warnings


class HpvizWarning(UserWarning):
    """Base class of every warning hpviz issues.

    A warning is a condition of *this call* the caller should see (too few
    trials for a reliable answer, a space inferred from observed values); it
    is issued with the caller's stack level, so it points at the user's line.
    Filter them all with ``warnings.simplefilter("ignore", hpviz.HpvizWarning)``.
    """


class InsufficientDataWarning(HpvizWarning):
    """The analysis ran, but the data cannot support it fully (e.g. a constant objective: every importance 0)."""


class InferredSpaceWarning(HpvizWarning):
    """The search space was inferred from the observed values, not declared: its bounds are only the observed range."""
