"""``hpviz.experiment``: turn anything hpviz understands into an Experiment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hpviz.errors import UnsupportedObjectError
from hpviz.schema import Experiment

__all__ = ["experiment"]


def experiment(obj: Any, *, plugin_manager: Any = None, **options: Any) -> Experiment:
    """Convert ``obj`` to an :class:`Experiment`.

    Accepts an ``Experiment`` (returned as is), the path of a file saved by
    :meth:`Experiment.save`, or whatever an installed adapter converts: an
    ``optuna.Study``, a Ray Tune ``ResultGrid`` or experiment directory, a
    Hyperopt ``Trials`` (pass ``space=``).

    Raises
    ------
    UnsupportedObjectError
        Nobody converts ``obj``; the message names its type and the adapters.
    """
    if isinstance(obj, Experiment):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        if path.is_file() and path.suffix.lower() == ".json":
            from hpviz.io import load

            return load(path)
    from hpviz.plugins import get_plugin_manager, status

    pm = plugin_manager or get_plugin_manager()
    result = pm.hook.hpviz_to_experiment(obj=obj, options=dict(options))
    if result is not None:
        return result
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
