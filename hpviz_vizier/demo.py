"""The bundled demo with OSS Vizier: the demo MLP on digits, in steering rounds.

Each round is a new study (``RANDOM_SEARCH``: Vizier's default GP bandit
needs minutes on a small CPU) over :data:`hpviz.demo.DEMO_SPACE` (round 1)
or the space :func:`hpviz.suggest_space` refined from all trials so far,
exported with :func:`hpviz_vizier.to_vizier`. Validation accuracy is added
as a measurement per epoch. The datastore is ``workdir/vizier.db`` unless
this process already started Vizier's local servicer (it is created once per
process, with the first database path set).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import hpviz
from hpviz_sklearn.demo import Rounds
from hpviz_vizier.convert import param_value, study_to_experiment
from hpviz_vizier.space import to_vizier

__all__ = ["run_demo"]


def run_demo(n_trials: int = 30, rounds: int = 2, seed: int = 0, workdir: str | os.PathLike | None = None,
             *, n_epochs: int | None = None, model: str | None = None) -> hpviz.Experiment:
    """Tune the demo model (``model``, a key of :data:`hpviz.demo.MODELS`; default the MLP) with Vizier (random search) for ``rounds`` rounds of ``n_trials`` trials."""
    from vizier.service import clients
    from vizier.service import pyvizier as vz

    from hpviz import demo

    task, epochs, data = demo.prepare(n_trials, rounds, seed, model, n_epochs)
    out = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="hpviz-vizier-demo-"))
    clients.environment_variables.servicer_kwargs.setdefault("database_url", f"sqlite:///{out / 'vizier.db'}")
    clients.environment_variables.new_suggestion_polling_secs = 0.0
    holder = Rounds()
    space = task.space
    objectives = {demo.DEMO_OBJECTIVE: "max"}
    run_id = uuid.uuid4().hex[:8]
    for rnd in range(rounds):
        if rnd > 0:
            space = demo.start_next_round(holder, space, check=to_vizier)
        config = vz.StudyConfig.from_problem(to_vizier(space, objectives))
        config.algorithm = "RANDOM_SEARCH"
        study = clients.Study.from_study_config(config, owner="hpviz-demo", study_id=f"{run_id}-{task.key}-round{rnd + 1}")
        for _ in range(n_trials):
            for trial in study.suggest(count=1):
                params = {k: param_value(space, k, v) for k, v in trial.parameters.items()}
                acc = float("nan")
                for epoch, acc in task.train_epochs(params, data, n_epochs=epochs, seed=seed):
                    trial.add_measurement(vz.Measurement({demo.DEMO_OBJECTIVE: acc}, steps=epoch))
                trial.complete(vz.Measurement({demo.DEMO_OBJECTIVE: acc}, steps=epochs))
        holder.add(study_to_experiment(study.materialize_study_config(), list(study.trials().get()),
                                       name=task.title("OSS Vizier"), source=study.resource_name))
        demo.log_round_done(holder, rnd)
    return holder.experiment
