"""hpviz adapter for Hyperopt: early_stop_fn callback, Trials converter, space export, demo.

Importing this package does not import Hyperopt; the functions do, when called.

- :class:`HpvizCallback` — ``fmin(..., trials=trials, early_stop_fn=cb)``
- :func:`from_trials` — what ``hpviz.experiment(trials, space=space)`` uses
- :func:`from_hyperopt`, :func:`to_hyperopt`, :func:`describe` — search spaces
- :func:`run_demo` — the bundled demo (``hpviz demo --framework hyperopt``)
"""

from hpviz_hyperopt.callback import HpvizCallback
from hpviz_hyperopt.convert import from_trials
from hpviz_hyperopt.demo import run_demo
from hpviz_hyperopt.space import HyperoptParam, describe, from_hyperopt, to_hyperopt

__all__ = [
    "HpvizCallback",
    "from_trials",
    "from_hyperopt",
    "to_hyperopt",
    "describe",
    "HyperoptParam",
    "run_demo",
]
