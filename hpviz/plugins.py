"""The plugin manager: finds adapters through the ``hpviz.adapters`` entry points.

Entry points are loaded one at a time, on first use, so that one adapter
whose framework is missing (or whose import is broken) is recorded as
unavailable with its error instead of breaking ``import hpviz`` or the other
adapters. Adapters check cheaply (``importlib.util.find_spec``) for their
framework when loaded and import it only when actually converting.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from hpviz import hookspecs

__all__ = ["ENTRY_POINT_GROUP", "AdapterStatus", "make_plugin_manager", "get_plugin_manager", "status", "framework_hooks"]

ENTRY_POINT_GROUP = "hpviz.adapters"
hookimpl = pluggy.HookimplMarker("hpviz")


@dataclass(frozen=True)
class AdapterStatus:
    """One entry point of the ``hpviz.adapters`` group and whether it loaded."""

    name: str
    module: str
    available: bool
    error: str | None = None


class _Manager(pluggy.PluginManager):
    """A PluginManager that remembers which adapters failed to load, and why."""

    def __init__(self) -> None:
        super().__init__("hpviz")
        self.add_hookspecs(hookspecs)
        self.adapter_status: list[AdapterStatus] = []
        from hpviz import _table  # the built-in DataFrame adapter (pandas is a core dependency)

        self.register(_table, name="hpviz.dataframe")

    def load_adapters(self, group: str = ENTRY_POINT_GROUP) -> None:
        for ep in importlib.metadata.entry_points(group=group):
            if self.is_blocked(ep.name) or self.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)
            except Exception as exc:  # noqa: BLE001 - one broken adapter must not break the rest
                self.adapter_status.append(AdapterStatus(ep.name, ep.value, False, f"{type(exc).__name__}: {exc}"))
            else:
                self.adapter_status.append(AdapterStatus(ep.name, ep.value, True))
        self.check_pending()


def make_plugin_manager(load_entry_points: bool = True) -> _Manager:
    """A fresh plugin manager with the hpviz hook specs (and the installed adapters)."""
    pm = _Manager()
    if load_entry_points:
        pm.load_adapters()
    return pm


_GLOBAL: _Manager | None = None
_LOCK = threading.Lock()


def get_plugin_manager() -> _Manager:
    """The process-wide plugin manager, created (and adapters loaded) on first use."""
    global _GLOBAL
    if _GLOBAL is None:
        with _LOCK:
            if _GLOBAL is None:
                _GLOBAL = make_plugin_manager()
    return _GLOBAL


def status(pm: _Manager | None = None) -> list[AdapterStatus]:
    """Which adapters loaded and which did not (with the import error)."""
    return list((pm or get_plugin_manager()).adapter_status)


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def framework_hooks(framework: str, *, export: str, code: str, demo: str, advice: str,
                    before_demo: Callable[[], None] | None = None) -> tuple[Callable[..., Any], ...]:
    """The hooks an adapter answers only for its own framework id, imported lazily.

    Returns ``(hpviz_export_space, hpviz_space_code, hpviz_run_demo,
    hpviz_finding_advice)`` implementations to bind in the adapter's plugin
    module. ``export`` (``space -> native``), ``code`` (``(space, experiment) ->
    str``), ``demo`` (``run_demo(n_trials=, rounds=, seed=, workdir=)``) and
    ``advice`` (``(code, evidence) -> str | None``) are ``"module:function"``
    targets, imported on first call so that loading the plugin stays cheap;
    ``before_demo`` may raise a clear error (a missing optional dependency)
    before the demo starts.
    """

    @hookimpl
    def hpviz_export_space(space: Any, framework: str) -> Any:
        return _resolve(export)(space) if framework == framework_id else None

    @hookimpl
    def hpviz_space_code(space: Any, framework: str, experiment: Any) -> str | None:
        return _resolve(code)(space, experiment) if framework == framework_id else None

    @hookimpl
    def hpviz_run_demo(framework: str, options: dict[str, Any]) -> Any:
        if framework != framework_id:
            return None
        if before_demo is not None:
            before_demo()
        keys = ("n_trials", "rounds", "seed", "workdir")
        return _resolve(demo)(**{k: options[k] for k in keys if options.get(k) is not None})

    @hookimpl
    def hpviz_finding_advice(code: str, evidence: dict[str, Any], framework: str) -> str | None:
        return _resolve(advice)(code, evidence) if framework == framework_id else None

    framework_id = framework
    return hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice
