"""hpviz adapter for Ax (Meta's adaptive experimentation platform, BoTorch inside).

Importing this package imports neither Ax nor torch.

- :func:`ax_to_experiment` — what ``hpviz.experiment(client)`` uses (``ax.api.Client``,
  ``ax.core.Experiment``, ``AxClient``, or a JSON snapshot path)
- :func:`from_ax`, :func:`to_ax`, :func:`space_code` — Ax parameters <-> :class:`hpviz.SearchSpace`
- :func:`run_demo` — the bundled demo (``hpviz demo --framework ax``)
- :class:`HpvizCallback` — live recording: ``cb.update(client)`` in your trial loop
"""

from hpviz_ax.callback import HpvizCallback
from hpviz_ax.convert import ax_to_experiment
from hpviz_ax.demo import run_demo
from hpviz_ax.space import from_ax, space_code, to_ax

__all__ = ["HpvizCallback", "ax_to_experiment", "from_ax", "to_ax", "space_code", "run_demo"]
