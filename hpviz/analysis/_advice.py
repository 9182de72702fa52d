"""Framework advice for a finding, from the adapter of the experiment's framework (``hpviz_finding_advice``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def framework_advice(code: str, evidence: Mapping[str, Any], framework: str | None) -> str | None:
    """The adapter's wording for ``code`` (``None`` without a framework or when no adapter answers).

    A broken adapter never takes the analysis down: its failure is a warning.
    """
    if framework is None:
        return None
    from hpviz._warn import warn
    from hpviz.errors import HpvizWarning
    from hpviz.plugins import get_plugin_manager

    try:
        advice = get_plugin_manager().hook.hpviz_finding_advice(code=code, evidence=dict(evidence),
                                                                 framework=framework)
    except Exception as exc:  # noqa: BLE001 - a broken adapter must not take the analysis down
        warn(f"the {framework!r} adapter failed to advise on {code} ({type(exc).__name__}: {exc}); "
             "shown without framework advice", HpvizWarning)
        return None
    return str(advice) if advice else None
