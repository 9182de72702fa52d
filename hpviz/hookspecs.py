"""Hook specifications: the contract between the hpviz core and its adapters.

Adapters implement these with ``@hpviz.hookimpl`` in a module named by an
entry point of the group ``hpviz.adapters``. pluggy calls hooks with keyword
arguments only; each docstring states the dispatch rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from hpviz.schema import Experiment, SearchSpace

hookspec = pluggy.HookspecMarker("hpviz")


@hookspec(firstresult=True)
def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> Experiment | None:
    """Convert ``obj`` (a study, result grid, trials object, path...) to an Experiment.

    Dispatch: firstresult. Return ``None`` when ``obj`` is not yours, so the
    next adapter is asked. ``options`` are the keyword arguments given to
    :func:`hpviz.experiment` (for example ``space=`` for Hyperopt, or
    ``optuna_storage=``/``study=`` from the command line).
    """


@hookspec(firstresult=True)
def hpviz_export_space(space: SearchSpace, framework: str) -> Any:
    """Export ``space`` to ``framework``'s native form (``"optuna"``, ``"ray"``, ``"hyperopt"``).

    Dispatch: firstresult; return ``None`` for a framework that is not yours.
    """


@hookspec(firstresult=True)
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> Experiment | None:
    """Run the bundled demo tuning job with ``framework``; return its Experiment.

    Dispatch: firstresult; return ``None`` for a framework that is not yours.
    ``options`` holds ``n_trials``, ``rounds``, ``seed`` and ``workdir``.
    """


@hookspec
def hpviz_adapter_info() -> dict[str, Any]:
    """Describe the adapter: ``{"name", "framework", "version"}``.

    Dispatch: collected (every adapter answers); used by ``hpviz.plugins.status()``.
    """
