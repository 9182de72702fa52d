"""hpviz adapter for Optuna: live callback, study converter, space export, demo.

Importing this package does not import Optuna; the functions do, when called.

- :class:`HpvizCallback` — ``study.optimize(objective, callbacks=[cb])``
- :func:`study_to_experiment` — what ``hpviz.experiment(study)`` uses
- :func:`to_optuna`, :func:`from_optuna`, :func:`suggest` — search spaces
- :func:`run_demo` — the bundled demo (``hpviz demo``)
"""

from hpviz_optuna.callback import HpvizCallback
from hpviz_optuna.convert import load_study_experiment, study_to_experiment
from hpviz_optuna.demo import run_demo
from hpviz_optuna.space import from_optuna, suggest, to_optuna

__all__ = [
    "HpvizCallback",
    "study_to_experiment",
    "load_study_experiment",
    "to_optuna",
    "from_optuna",
    "suggest",
    "run_demo",
]
