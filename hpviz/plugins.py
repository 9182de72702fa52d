"""The plugin manager: finds adapters through the ``hpviz.adapters`` entry points.

Entry points are loaded one at a time, on first use, so that one adapter
whose framework is missing (or whose import is broken) is recorded as
unavailable with its error instead of breaking ``import hpviz`` or the other
adapters. Adapters check cheaply (``importlib.util.find_spec``) for their
framework when loaded and import it only when actually converting.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from hpviz import hookspecs

__all__ = ["ENTRY_POINT_GROUP", "AdapterStatus", "make_plugin_manager", "get_plugin_manager", "status", "framework_hooks",
           "info_hook", "converter_hook", "constraints_hook", "cli_hooks"]

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


def framework_hooks(framework: str, *, export: str, code: str | None = None, demo: str | None = None,
                    advice: str | None = None, package: str | None = None,
                    before_demo: Callable[[], None] | None = None) -> tuple[Callable[..., Any], ...]:
    """The hooks an adapter answers only for its own framework id, imported lazily.

    Returns ``(hpviz_export_space, hpviz_space_code, hpviz_run_demo,
    hpviz_finding_advice)`` implementations to bind in the adapter's plugin
    module. ``export`` (``space -> native``), ``code`` (``(space, experiment) ->
    str``), ``demo`` (``run_demo(n_trials=, rounds=, seed=, workdir=)``) and
    ``advice`` (``(code, evidence) -> str | None``) are ``"module:function"``
    targets, imported on first call so that loading the plugin stays cheap.
    With ``package``, a target without a module is a function of the
    adapter's usual module (``export="to_ax"`` is ``"hpviz_ax.space:to_ax"``)
    and a target left out is the usual one (``space:space_code``,
    ``demo:run_demo``, ``advice:advice``). ``before_demo`` may raise a clear
    error (a missing optional dependency) before the demo starts.
    """

    def target(given: str | None, module: str, function: str) -> str:
        if given is not None and ":" in given:
            return given
        if package is None:
            raise TypeError(f"framework_hooks needs package= or a 'module:function' target, got {given!r}")
        return f"{package}.{module}:{given or function}"

    export, code = target(export, "space", "to_native"), target(code, "space", "space_code")
    demo, advice = target(demo, "demo", "run_demo"), target(advice, "advice", "advice")

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
        keys = ("n_trials", "rounds", "seed", "workdir", "model")
        return _resolve(demo)(**{k: options[k] for k in keys if options.get(k) is not None})

    @hookimpl
    def hpviz_finding_advice(code: str, evidence: dict[str, Any], framework: str) -> str | None:
        return _resolve(advice)(code, evidence) if framework == framework_id else None

    framework_id = framework
    return hpviz_export_space, hpviz_space_code, hpviz_run_demo, hpviz_finding_advice


def info_hook(framework: str, distribution: str, *, demo: bool = True, live: str | None = None,
              missing: tuple[str, str] | None = None) -> Callable[[], dict[str, Any]]:
    """The ``hpviz_adapter_info`` implementation: name and framework id, the installed version of ``distribution``.

    ``demo`` says the adapter may be the command line's default demo; ``live``
    how to record a run live (shown by ``hpviz adapters``).
    ``missing=(module, note)``: an adapter that loads without its framework
    reports ``version None`` and ``note`` (no demo, no live) while ``module`` is not installed.
    """

    @hookimpl
    def hpviz_adapter_info() -> dict[str, Any]:
        if missing is not None and importlib.util.find_spec(missing[0]) is None:
            return {"name": framework, "framework": framework, "version": None, "note": missing[1]}
        return {"name": framework, "framework": framework, **({"demo": True} if demo else {}),
                "version": importlib.metadata.version(distribution), **({"live": live} if live else {})}

    return hpviz_adapter_info


def converter_hook(convert: str) -> Callable[..., Any]:
    """The ``hpviz_to_experiment`` implementation calling ``convert`` (``"module:function"``, ``(obj, options)``,
    ``None`` for objects not its own), imported on first call."""

    @hookimpl
    def hpviz_to_experiment(obj: Any, options: dict[str, Any]) -> Any:
        return _resolve(convert)(obj, options)

    return hpviz_to_experiment


def constraints_hook(framework: str, constraints: dict[str, Any]) -> Callable[..., Any]:
    """The ``hpviz_export_constraints`` implementation answering ``constraints`` (a copy) for ``framework``."""

    @hookimpl
    def hpviz_export_constraints(framework: str) -> dict[str, Any] | None:
        return dict(constraints) if framework == framework_id else None

    framework_id = framework
    return hpviz_export_constraints


def cli_hooks(source: tuple[str, str, str], option: tuple[str, str, str], read: str, keyword: str, *,
              choices: list[str] | None = None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(hpviz_add_cli_arguments, hpviz_cli_source)`` for an adapter's ``--x-source PATH [--x-option VALUE]``.

    ``source`` and ``option`` are ``(flag, metavar, help)``; ``choices``
    restricts the option's values. The source reads as
    ``read(PATH, **{keyword: VALUE})`` (``"module:function"``, imported on
    first use; VALUE is ``None`` when not given); the option without the
    source is an :class:`hpviz.HpvizError` naming the missing flag.
    """
    (flag, metavar, help_), (opt_flag, opt_metavar, opt_help) = source, option
    dest, opt_dest = flag.lstrip("-").replace("-", "_"), opt_flag.lstrip("-").replace("-", "_")

    @hookimpl
    def hpviz_add_cli_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(flag, metavar=metavar, help=help_)
        if choices is None:
            parser.add_argument(opt_flag, metavar=opt_metavar, help=opt_help)
        else:
            parser.add_argument(opt_flag, choices=choices, help=opt_help)

    @hookimpl
    def hpviz_cli_source(args: argparse.Namespace) -> Any:
        path, value = getattr(args, dest, None), getattr(args, opt_dest, None)
        if path is None:
            if value is not None:
                from hpviz.errors import HpvizError

                raise HpvizError(f"{opt_flag} needs {flag} {metavar}")
            return None
        return _resolve(read)(path, **{keyword: value})

    return hpviz_add_cli_arguments, hpviz_cli_source
