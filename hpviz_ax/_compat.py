"""Every access to Ax's private attributes, in one place (each use is tested in tests/test_ax.py)."""

from __future__ import annotations

from typing import Any

__all__ = ["client_experiment"]


def client_experiment(client: Any) -> Any:
    """The ``ax.core.Experiment`` behind an ``ax.api.Client``.

    Ax 1.x keeps it private: ``_maybe_experiment`` (None before
    ``configure_experiment``); ``_experiment`` raises instead.
    """
    exp = client._maybe_experiment
    if exp is None:
        from hpviz import SchemaError

        raise SchemaError("this Ax Client has no experiment yet: call client.configure_experiment(...) first")
    return exp
