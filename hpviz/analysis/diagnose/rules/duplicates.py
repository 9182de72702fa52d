"""``duplicate-configs``: the same configuration was evaluated again.

"Same configuration" is the rule of :mod:`hpviz._configs` (step grid,
categorical identity, 1e-9 of a continuous range). Fires from
DUPLICATE_MIN_EXTRA repeated evaluations; a warning when at least
DUPLICATE_WARN_FRACTION of the sampled trials were repeats.
"""

from __future__ import annotations

import numpy as np

from hpviz._configs import config_codes
from hpviz._numbers import pct
from hpviz.analysis.diagnose._space import levels
from hpviz.analysis.diagnose.registry import Context, rule
from hpviz.analysis.diagnose.result import Finding
from hpviz.analysis.diagnose.thresholds import DUPLICATE_MIN_EXTRA, DUPLICATE_WARN_FRACTION
from hpviz.schema import Categorical, SearchSpace


def _space_size(space: SearchSpace) -> int:
    """Distinct configurations of a fully discrete space; 0 when a parameter is continuous."""
    size = 1
    for p in space.values():
        n = len(p.choices) if isinstance(p, Categorical) else levels(p)
        if n is None:
            return 0
        size *= n
    return size


@rule("duplicate-configs")
def duplicates(ctx: Context) -> list[Finding]:
    cols = ctx.cols
    space = cols.exp.space
    if not space or not cols.trials:
        return []
    K = config_codes(space, cols.column, cols.numeric, len(cols.trials))
    rows = np.flatnonzero(cols.sampled)
    if rows.size < 2:
        return []
    _, inverse, counts = np.unique(K[rows], axis=0, return_inverse=True, return_counts=True)
    extra = int(rows.size - counts.size)
    if extra < DUPLICATE_MIN_EXTRA:
        return []
    repeated = int(np.sum(counts > 1))
    most = int(counts.max())
    frac = extra / rows.size
    example = rows[np.flatnonzero(inverse.ravel() == int(np.argmax(counts)))]
    ex_numbers = ", ".join(str(int(cols.numbers[i])) for i in example[:5]) + (", ..." if example.size > 5 else "")
    size = _space_size(space)
    space_note = ""
    if size:
        space_note = (f" The space has only {size} distinct configurations: search it exhaustively "
                      f"(a grid search) or stop at {size} trials.")
    msg = (f"{extra} of {rows.size} trials ({pct(frac)}) repeated a configuration already evaluated "
           f"({repeated} configurations were evaluated more than once, one of them {most} times: trials "
           f"{ex_numbers}).{space_note} Unless the objective is noisy and repeats are intended, this wastes "
           f"budget: make discrete parameters finer or continuous, or skip configurations already evaluated.")
    evidence = {"n_duplicate_trials": float(extra), "fraction": frac, "n_repeated_configs": float(repeated),
                "max_repeats": float(most)}
    if size:
        evidence["n_distinct_possible"] = float(size)
    return [Finding("duplicate-configs", "warning" if frac >= DUPLICATE_WARN_FRACTION else "info", msg, (),
                    evidence)]
