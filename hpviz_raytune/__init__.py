"""hpviz adapter for Ray Tune: live callback, result converter, space export, demo.

Importing this package does not import Ray; :class:`HpvizCallback` (which
subclasses ``ray.tune.Callback``) is imported on first access, and the space
functions import Ray when called.

- :class:`HpvizCallback` — ``tune.RunConfig(callbacks=[HpvizCallback(...)])``
- :func:`experiment_from_dir`, :func:`experiment_from_result_grid` — what
  ``hpviz.experiment(path_or_result_grid)`` uses; they read Ray's JSON/CSV
  files and unpickle nothing unless ``trust=True``
- :func:`to_tune`, :func:`from_tune` — search spaces
- :func:`run_demo` — the bundled demo (``hpviz demo --framework ray``)
"""

from __future__ import annotations

import importlib
from typing import Any

from hpviz_raytune.convert import experiment_from_dir, experiment_from_result_grid
from hpviz_raytune.space import from_tune, to_tune

__all__ = [
    "HpvizCallback",
    "experiment_from_dir",
    "experiment_from_result_grid",
    "to_tune",
    "from_tune",
    "run_demo",
]

_LAZY = {"HpvizCallback": "hpviz_raytune.callback", "run_demo": "hpviz_raytune.demo"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hpviz_raytune' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
