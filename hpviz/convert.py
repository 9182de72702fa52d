"""``hpviz.experiment``: turn anything hpviz understands into an Experiment."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hpviz.errors import SchemaError, UnsupportedObjectError
from hpviz.schema import Experiment

__all__ = ["experiment", "check_options"]


def check_options(options: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    """Raise ``TypeError`` when ``options`` holds a name not in ``allowed``.

    Adapters call it in ``hpviz_to_experiment`` once they claim an object, so
    ``hpviz.experiment(study, spcae=...)`` fails instead of silently ignoring
    the typo. ``what`` names the object (``"a study"``). ``trust`` is the
    core's own option (allow unpickling from the source; see
    :func:`experiment`): every converter accepts it, and one that never
    runs code from its source simply has nothing to do with it.
    """
    allowed = sorted(set(allowed) | {"trust"})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        names = ", ".join(map(repr, unknown))
        takes = ", ".join(allowed) if allowed else "no options"
        close = [a for u in unknown for a in difflib.get_close_matches(u, allowed, n=1)]
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise TypeError(f"hpviz.experiment() got unexpected keyword option(s) {names} for {what}{hint}; "
                        f"it takes: {takes}")


def local_file(obj: Any, suffix: str) -> Path | None:
    """``obj`` as a :class:`~pathlib.Path` when it names an existing file ending in ``suffix`` (any case), else None.

    The first test of the adapters that sniff a saved file (an Ax snapshot, a ``cv_results_`` CSV).
    """
    if not isinstance(obj, (str, os.PathLike)):
        return None
    path = Path(obj)
    return path if path.suffix.lower() == suffix and path.is_file() else None


def experiment(obj: Any, *, plugin_manager: Any = None, **options: Any) -> Experiment:
    """Convert ``obj`` to an :class:`Experiment`.

    Accepts an ``Experiment`` (returned as is), the path of a file saved by
    :meth:`Experiment.save`, or whatever an installed adapter converts: an
    ``optuna.Study``, a Ray Tune ``ResultGrid`` or experiment directory, a
    Hyperopt ``Trials`` (pass ``space=``).

    ``options`` are the converting adapter's own (e.g. the search space
    for a trials object that does not hold it); the adapter that claims ``obj`` checks them.

    Raises
    ------
    TypeError
        An option the converter of ``obj`` does not take (the message lists those it takes).
    UnsupportedObjectError
        Nobody converts ``obj``; the message names its type and the adapters.
    """
    if not isinstance(options.get("trust", False), bool):
        raise TypeError(f"trust= must be True or False, got {options['trust']!r}")
    if isinstance(obj, Experiment):
        check_options(options, (), "an Experiment")
        return obj
    not_ours: SchemaError | None = None
    path = local_file(obj, ".json")
    if path is not None:
        from hpviz.io import load

        try:
            saved = load(path)
        except SchemaError as exc:  # maybe another tool's JSON (an Ax snapshot...): ask the adapters
            not_ours = exc
        else:
            check_options(options, (), "a saved experiment")  # JSON never runs code: trust changes nothing
            return saved
    from hpviz.plugins import get_plugin_manager, status

    pm = plugin_manager or get_plugin_manager()
    result = pm.hook.hpviz_to_experiment(obj=obj, options=dict(options))
    if result is not None:
        return result
    if not_ours is not None:
        raise not_ours
    adapters = status(pm)
    ok = ", ".join(a.name for a in adapters if a.available) or "none"
    missing = "; ".join(f"{a.name} ({a.error})" for a in adapters if not a.available) or "none"
    what = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if isinstance(obj, (str, os.PathLike)):
        what += f" {str(obj)!r} (not a saved .json experiment, nor a source an adapter recognises"
        what += "; does it exist?)" if not Path(obj).exists() else ")"
    raise UnsupportedObjectError(
        f"hpviz cannot convert {what}. Available adapters: {ok}. Unavailable adapters: {missing}."
    )
