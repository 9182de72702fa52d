"""Every access to SMAC's private attributes, in one place (each use is tested in tests/test_smac_callback.py)."""

from __future__ import annotations

from typing import Any

__all__ = ["smbo_scenario"]


def smbo_scenario(smbo: Any) -> Any:
    """The ``Scenario`` of the ``SMBO`` object SMAC hands to its callbacks.

    SMAC 2.x keeps it private (``SMBO._scenario``); the facade's public
    ``scenario`` is not reachable from a callback.
    """
    return smbo._scenario
