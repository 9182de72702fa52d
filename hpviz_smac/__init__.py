"""hpviz adapter for SMAC3 (and the tools built on it, such as AutoPyTorch and auto-sklearn).

Importing this package imports neither SMAC nor ConfigSpace.

- :func:`folder_to_experiment` — a SMAC output folder, read as plain JSON (no SMAC needed)
- :func:`facade_to_experiment`, :func:`runhistory_to_experiment` — live SMAC objects
- :func:`from_configspace`, :func:`to_configspace`, :func:`space_code` — ConfigSpace <-> :class:`hpviz.SearchSpace`
- :func:`run_demo` — the bundled demo (``hpviz demo --framework smac``)
- :class:`HpvizCallback` — live recording, ``Facade(scenario, train, callbacks=[HpvizCallback(...)])``
  (imported on first use: it subclasses ``smac.Callback``)
"""

from typing import Any

from hpviz_smac.convert import facade_to_experiment, find_runs, folder_to_experiment, runhistory_to_experiment
from hpviz_smac.demo import run_demo
from hpviz_smac.space import conditions_of, from_configspace, space_code, to_configspace

__all__ = [
    "folder_to_experiment",
    "facade_to_experiment",
    "runhistory_to_experiment",
    "find_runs",
    "from_configspace",
    "to_configspace",
    "conditions_of",
    "space_code",
    "run_demo",
    "HpvizCallback",
]


def __getattr__(name: str) -> Any:
    if name == "HpvizCallback":  # imports SMAC: only when asked for
        from hpviz_smac.callback import HpvizCallback

        return HpvizCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
