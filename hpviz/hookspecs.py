"""Hook specifications: the contract between the hpviz core and its adapters.

Adapters implement these with ``@hpviz.hookimpl`` in a module named by an
entry point of the group ``hpviz.adapters``. pluggy calls hooks with keyword
arguments only; each docstring states the dispatch rule.
"""

from __future__ import annotations

import argparse
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
    """Export ``space`` to ``framework``'s native form.

    ``framework`` is an adapter's framework id (the value adapters put in
    ``Experiment.framework``). Dispatch: firstresult; return ``None`` for a
    framework that is not yours.
    """


@hookspec(firstresult=True)
def hpviz_run_demo(framework: str, options: dict[str, Any]) -> Experiment | None:
    """Run the bundled demo tuning job with ``framework``; return its Experiment.

    Dispatch: firstresult; return ``None`` for a framework that is not yours.
    ``options`` holds ``n_trials``, ``rounds``, ``seed``, ``workdir`` and ``model`` (a key of
    ``hpviz.demo.MODELS``: ``"mlp"`` or ``"logreg"``, the demo's model families, each tuned in its
    own study; the returned experiment's space is that model's, which ``hpviz demo`` checks).
    """


@hookspec
def hpviz_adapter_info() -> dict[str, Any]:
    """Describe the adapter: ``{"name", "framework", "version"}``, optionally ``"demo": True``,
    ``"note"`` (why something is unavailable) and ``"live"`` (how to record a run live, in the
    framework's idiom; shown by ``hpviz adapters``).

    Dispatch: collected (every adapter answers); used by ``hpviz.plugins.status()``.
    """


# --------------------------------------------------------------------------- framework knowledge
# The core never names a framework. Everything a report or a finding says in a
# framework's own terms comes from the adapter whose id is ``Experiment.framework``.


@hookspec(firstresult=True)
def hpviz_space_code(space: SearchSpace, framework: str, experiment: Experiment | None) -> str | None:
    """Paste-able native code that searches ``space`` in ``framework``.

    Used for a refined space in the suggestions panel. ``experiment`` is the
    experiment the space was refined from (its ``framework`` and original
    structure, e.g. conditional branches), or ``None``. Dispatch: firstresult;
    return ``None`` for a framework that is not yours. The core falls back to
    hpviz's own ``SearchSpace`` code when no adapter answers.
    """


@hookspec(firstresult=True)
def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
    """What a refined space must respect to export to ``framework``.

    Keys (all optional, default ``True`` = allowed): ``"log_with_step"``
    (a log-scaled parameter on a step grid), ``"change_kind"`` (a parameter
    changing kind between rounds). ``suggest_space`` reads these so it never
    proposes a space the user's framework cannot take. Dispatch: firstresult;
    return ``None`` for a framework that is not yours.
    """


@hookspec(firstresult=True)
def hpviz_finding_advice(code: str, evidence: dict[str, Any], framework: str) -> str | None:
    """Framework-specific advice for a finding, in the framework's own terms.

    ``code`` is a stable finding code (``"pruner-misranks"``, ...),
    ``evidence`` its numeric evidence (e.g. ``{"reliable_step": 12}``), and
    ``framework`` the experiment's framework id. The core's finding message
    stays framework-neutral; this text is shown after it (e.g. the pruner
    or scheduler setting to change, by its native name). Dispatch: firstresult; return ``None``
    for a framework that is not yours or a code you have nothing to add to.
    """


@hookspec
def hpviz_add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the adapter's own options to the ``hpviz report`` command.

    After pytest's ``pytest_addoption``: call ``parser.add_argument(...)`` with
    option names prefixed by your framework id (``--<framework>-storage``). Dispatch:
    collected (every adapter is called).
    """


@hookspec(firstresult=True)
def hpviz_cli_source(args: argparse.Namespace) -> Any:
    """Build the object to report on from the adapter's own CLI options.

    Return ``None`` when none of your options were given (the positional
    SOURCE is then converted as usual, with ``trust=True`` when the core
    ``--trust`` flag is set). When your options qualify the positional
    ``args.source`` (e.g. a metric name for a results folder), read it
    yourself and set ``args.source = None`` so the CLI does not read it again. Raise ``hpviz.HpvizError`` with the
    fix when your options are incomplete. Dispatch: firstresult.
    """
