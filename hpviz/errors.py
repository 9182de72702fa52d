"""The hpviz error hierarchy.

Every error hpviz raises on purpose derives from :class:`HpvizError`, and the
ones caused by bad input also derive from the built-in type a caller would
catch (``ValueError``/``TypeError``), so ``except ValueError`` keeps working.
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
