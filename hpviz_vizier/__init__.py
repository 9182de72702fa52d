"""hpviz adapter for OSS Vizier (the open-source version of Google's Vizier service).

Importing this package imports neither Vizier nor jax.

- :func:`study_to_experiment`, :func:`datastore_to_experiment` — what ``hpviz.experiment``
  uses for a ``clients.Study`` or a Vizier SQLite datastore path
- :func:`from_vizier`, :func:`to_vizier`, :func:`space_code` — Vizier search spaces <-> :class:`hpviz.SearchSpace`
- :func:`run_demo` — the bundled demo (``hpviz demo --framework vizier``)
- :class:`HpvizCallback` — live recording: ``cb.update(study)`` in your suggest/complete loop
"""

from hpviz_vizier.callback import HpvizCallback
from hpviz_vizier.convert import datastore_to_experiment, study_to_experiment
from hpviz_vizier.demo import run_demo
from hpviz_vizier.space import from_vizier, space_code, to_vizier

__all__ = ["HpvizCallback", "study_to_experiment", "datastore_to_experiment", "from_vizier", "to_vizier", "space_code", "run_demo"]
