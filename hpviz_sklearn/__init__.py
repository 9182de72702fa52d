"""hpviz adapter for scikit-learn searches: converter, space export, demo.

- :func:`search_to_experiment` — what ``hpviz.experiment(search)`` uses for a fitted
  ``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingGridSearchCV`` or ``HalvingRandomSearchCV``
- :func:`cv_results_to_experiment`, :func:`read_cv_results` — a saved ``cv_results_`` table
- :func:`from_sklearn`, :func:`to_sklearn`, :func:`space_code` — ``param_grid`` /
  ``param_distributions`` <-> :class:`hpviz.SearchSpace`
- :func:`run_demo` — the bundled demo (``hpviz demo --framework sklearn``)
"""

from hpviz_sklearn.convert import cv_results_to_experiment, read_cv_results, search_to_experiment
from hpviz_sklearn.demo import run_demo
from hpviz_sklearn.space import from_sklearn, infer_space, space_code, to_sklearn

__all__ = [
    "search_to_experiment",
    "cv_results_to_experiment",
    "read_cv_results",
    "from_sklearn",
    "to_sklearn",
    "infer_space",
    "space_code",
    "run_demo",
]
