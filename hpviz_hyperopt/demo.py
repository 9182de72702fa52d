"""The bundled demo with Hyperopt: tune an MLP on digits for a few steering rounds.

Round 1 searches :data:`hpviz.demo.DEMO_SPACE` (exported with
:func:`hpviz_hyperopt.to_hyperopt`) with TPE; every later round searches the
space :func:`hpviz.suggest_space` refined from the trials so far, in a fresh
``Trials`` object (the choice indices of the old trials would mean other options
in the new space), all recorded by one :class:`HpvizCallback`.

Hyperopt has no intermediate-value API and no pruning: each trial trains for
every epoch and returns its per-epoch validation accuracies in
``result["curve"]``, which the callback puts into the trial's ReservoirLog.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

import hpviz
from hpviz.demo import start_next_round
from hpviz_hyperopt.callback import HpvizCallback
from hpviz_hyperopt.space import to_hyperopt

__all__ = ["run_demo"]



def run_demo(n_trials: int = 30, rounds: int = 2, seed: int = 0, workdir: str | os.PathLike | None = None,
             *, n_epochs: int | None = None, model: str | None = None) -> hpviz.Experiment:
    """Tune the demo model (default the MLP) for ``rounds`` rounds of ``n_trials`` trials; return the Experiment.

    Parameters
    ----------
    n_trials:
        Trials per round.
    rounds:
        Steering rounds; round ``k > 1`` searches ``hpviz.suggest_space``'s refined
        space (if the suggestion fails, the round keeps the previous space and says
        why in its note).
    seed:
        Seeds the data split, TPE (``rstate=np.random.default_rng(seed + round)``) and the models.
    workdir:
        Accepted for the ``hpviz demo`` hook; the trials are kept in memory.
    n_epochs:
        Epochs per trial (default: :data:`hpviz.demo.DEMO_EPOCHS`).
    model:
        Demo model family, a key of :data:`hpviz.demo.MODELS` (default ``"mlp"``).
    """
    from hyperopt import STATUS_OK, Trials, fmin, tpe

    from hpviz import demo

    task, epochs, data = demo.prepare(n_trials, rounds, seed, model, n_epochs)
    space = task.space
    cb = HpvizCallback(space, objective=demo.DEMO_OBJECTIVE, direction="max", name=task.title("Hyperopt"))

    def objective(params: dict[str, Any]) -> dict[str, Any]:
        curve = list(task.train_epochs(params, data, n_epochs=epochs, seed=seed))
        acc = curve[-1][1]
        # hyperopt minimizes "loss"; hpviz records val_accuracy (maximized) and the curve
        return {"loss": -acc, "status": STATUS_OK, demo.DEMO_OBJECTIVE: acc, "curve": curve}

    algo = functools.partial(tpe.suggest, n_startup_jobs=max(3, min(20, n_trials // 3)))
    for rnd in range(rounds):
        if rnd > 0:
            space = start_next_round(cb, space, check=to_hyperopt)
        trials = Trials()
        fmin(objective, to_hyperopt(space), algo=algo, max_evals=n_trials, trials=trials,
             rstate=np.random.default_rng(seed + rnd), early_stop_fn=cb, show_progressbar=False)
        cb.update(trials)
        demo.log_round_done(cb, rnd)
    return cb.experiment
