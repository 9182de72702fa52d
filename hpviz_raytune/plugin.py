"""Entry point of the hpviz ray adapter (group ``hpviz.adapters``).

Loading this module only checks that ray is installed; ray itself is
imported when something is actually converted or exported.
"""

from __future__ import annotations

import importlib.util

import hpviz

if importlib.util.find_spec("ray") is None:
    raise ImportError("ray is not installed: pip install 'hpviz[ray]'")


@hpviz.hookimpl
def hpviz_adapter_info():
    import importlib.metadata

    return {"name": "raytune", "framework": "ray", "version": importlib.metadata.version("ray")}
