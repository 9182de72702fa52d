"""The finding rules, one module each; importing this package registers them (in this order)."""

from hpviz.analysis.diagnose.rules import (  # noqa: F401 - imported to register
    boundary,
    collapsed,
    duplicates,
    failures,
    progress,
    pruning,
    random_order,
    too_few,
)
