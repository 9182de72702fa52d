"""One function per view: each takes its result (or an experiment) and ``ax=None``, returns the Axes.

Views that need several panels return the Figure. Nothing here touches global
Matplotlib state: styles apply in ``rc_context`` and figures are built with
:class:`matplotlib.figure.Figure` (no pyplot), so they render with any backend.

The functions are imported eagerly on purpose: a function shares its module's
name (``hpviz.plot.progress`` is the function, ``hpviz.plot.progress`` the
module would shadow it if imported later).
"""

from hpviz.plot.budget import compare, expected_best
from hpviz.plot.curves import curves
from hpviz.plot.findings import findings, space_code, suggestions
from hpviz.plot.importance import importance
from hpviz.plot.marginals import marginals
from hpviz.plot.parallel import parallel
from hpviz.plot.progress import progress
from hpviz.plot.rounds import rounds
from hpviz.plot.select import pareto
from hpviz.plot.tendrils import tendrils

__all__ = [
    "progress",
    "tendrils",
    "importance",
    "marginals",
    "parallel",
    "curves",
    "pareto",
    "expected_best",
    "compare",
    "findings",
    "suggestions",
    "space_code",
    "rounds",
]
