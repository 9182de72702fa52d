"""Entry point of the hpviz optuna adapter (group ``hpviz.adapters``).

Loading this module only checks that optuna is installed; optuna itself is
imported when something is actually converted or exported.
"""

from __future__ import annotations

import importlib.util

import hpviz

if importlib.util.find_spec("optuna") is None:
    raise ImportError("optuna is not installed: pip install 'hpviz[optuna]'")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": "optuna", "framework": "optuna", "version": importlib.metadata.version("optuna")}
