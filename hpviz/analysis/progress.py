"""Import alias: the diagnosis lives in :mod:`hpviz.analysis.diagnose` (one module per finding rule).

Kept so that code importing ``hpviz.analysis.progress`` (the report and the
findings view, until they import the new path) keeps working; it holds no logic.
"""

from hpviz.analysis.diagnose import *  # noqa: F403
from hpviz.analysis.diagnose import __all__  # noqa: F401
