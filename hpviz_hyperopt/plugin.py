"""Entry point of the hpviz hyperopt adapter (group ``hpviz.adapters``).

Loading this module only checks that hyperopt is installed; hyperopt itself is
imported when something is actually converted or exported.
"""

from __future__ import annotations

import importlib.util

import hpviz

if importlib.util.find_spec("hyperopt") is None:
    raise ImportError("hyperopt is not installed: pip install 'hpviz[hyperopt]'")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": "hyperopt", "framework": "hyperopt", "version": importlib.metadata.version("hyperopt")}
