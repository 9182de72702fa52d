"""The views: one Display class per view, and a one-call shortcut per view returning it.

``hpviz.plot.ProgressDisplay.from_experiment(obj)`` computes the analysis and
draws it; ``.from_result(result, experiment=...)`` draws a result you already
have; ``.plot(ax=None, **options)`` redraws and returns the Display, which
keeps ``figure_`` and ``ax_`` (an array of Axes for a view with several
panels) and shows itself in Jupyter. ``hpviz.plot.progress(obj, ax=None, ...)``
and its siblings are the one-call shortcuts returning the Display.

Nothing here touches global Matplotlib state: styles apply in
``rc_context`` and figures are built with :class:`matplotlib.figure.Figure`
(no pyplot), so they render with any backend. The implementation lives in
private modules (``_progress.py``, ...) re-exported here.
"""

from hpviz.plot._budget import CompareDisplay, ExpectedBestDisplay, compare, expected_best
from hpviz.plot._coverage import CoverageDisplay, coverage
from hpviz.plot._curves import CurvesDisplay, curves
from hpviz.plot._display import Display
from hpviz.plot._findings import FindingsDisplay, SuggestionsDisplay, findings, space_code, suggestions
from hpviz.plot._importance import ImportanceDisplay, importance
from hpviz.plot._lineage import LineageDisplay, lineage
from hpviz.plot._local import LocalImportanceDisplay, local_importance
from hpviz.plot._marginals import MarginalsDisplay, marginals
from hpviz.plot._models import ModelsDisplay, models
from hpviz.plot._parallel import ParallelDisplay, parallel
from hpviz.plot._pareto import ParetoDisplay, pareto
from hpviz.plot._progress import ProgressDisplay, progress
from hpviz.plot._replay import ReplayDisplay, replay
from hpviz.plot._rounds import RoundsDisplay, rounds
from hpviz.plot._rungs import BudgetImportanceDisplay, budget_importance
from hpviz.plot._tendrils import TendrilsDisplay, tendrils

#: Every view in report order (``hpviz.report`` iterates these).
DISPLAYS: tuple[type[Display], ...] = (
    FindingsDisplay,
    ProgressDisplay,
    ImportanceDisplay,
    LocalImportanceDisplay,
    BudgetImportanceDisplay,
    MarginalsDisplay,
    TendrilsDisplay,
    ParallelDisplay,
    CurvesDisplay,
    ReplayDisplay,
    LineageDisplay,
    ParetoDisplay,
    ExpectedBestDisplay,
    CoverageDisplay,
    SuggestionsDisplay,
    RoundsDisplay,
)

__all__ = [
    "Display",
    "DISPLAYS",
    "ProgressDisplay",
    "TendrilsDisplay",
    "ImportanceDisplay",
    "MarginalsDisplay",
    "ParallelDisplay",
    "CurvesDisplay",
    "ParetoDisplay",
    "ExpectedBestDisplay",
    "CompareDisplay",
    "FindingsDisplay",
    "SuggestionsDisplay",
    "RoundsDisplay",
    "ReplayDisplay",
    "BudgetImportanceDisplay",
    "LocalImportanceDisplay",
    "LineageDisplay",
    "CoverageDisplay",
    "ModelsDisplay",
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
    "replay",
    "budget_importance",
    "local_importance",
    "lineage",
    "coverage",
    "models",
]
