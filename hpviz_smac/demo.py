"""The bundled demo with SMAC3: the demo MLP on digits, epochs as the budget, in steering rounds.

Each round runs SMAC's ``MultiFidelityFacade`` (Hyperband over 2..12 epochs)
on :data:`hpviz.demo.DEMO_SPACE` (round 1) or the space
:func:`hpviz.suggest_space` refined from all trials so far, exported with
:func:`hpviz_smac.to_configspace`. The cost is minus the validation accuracy,
read back with ``direction="max"``. Output folders go to ``workdir``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import hpviz
from hpviz_sklearn.demo import Rounds
from hpviz_smac.convert import facade_to_experiment
from hpviz_smac.space import to_configspace

__all__ = ["run_demo"]


def run_demo(n_trials: int = 30, rounds: int = 2, seed: int = 0, workdir: str | os.PathLike | None = None,
             *, n_epochs: int | None = None, model: str | None = None) -> hpviz.Experiment:
    """Tune the demo model (``model``, a key of :data:`hpviz.demo.MODELS`; default the MLP) with SMAC for ``rounds`` rounds of 1.5 ``n_trials`` runs (see below); return the Experiment."""
    from smac import MultiFidelityFacade, Scenario

    from hpviz import demo

    task, epochs, data = demo.prepare(n_trials, rounds, seed, model, n_epochs)
    out = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="hpviz-smac-demo-"))
    holder = Rounds()
    space = task.space

    run_prefix = "" if task.key == "mlp" else f"{task.key}-"  # the MLP's runs keep their names

    def train(config, seed: int = 0, budget: float = epochs) -> float:
        curve = list(task.train_epochs(dict(config), data, n_epochs=max(1, round(budget)), seed=seed))
        return -curve[-1][1]

    # SMAC counts every (configuration, budget) run as a trial and Hyperband stops most configurations
    # early: with n_trials runs round 1 finished 15 of 25 configurations, too few for suggest_space
    # (20), and round 2 kept the space. 1.5 runs per requested trial finish enough (measured: 38
    # configurations, round 2 refined).
    runs = n_trials + n_trials // 2
    for rnd in range(rounds):
        if rnd > 0:
            space = demo.start_next_round(holder, space, check=to_configspace)
        scenario = Scenario(to_configspace(space, seed=seed + rnd), name=f"hpviz-demo-{run_prefix}round{rnd + 1}",
                            deterministic=True, n_trials=runs, min_budget=2, max_budget=epochs,
                            objectives=demo.DEMO_OBJECTIVE, crash_cost=0.0, output_directory=out / "smac3_output", seed=seed + rnd)
        facade = MultiFidelityFacade(scenario, train, overwrite=True, logging_level=False)  # 40 would set the root logger and hide the user's warnings
        facade.optimize()
        holder.add(facade_to_experiment(facade, direction="max",
                                        name=task.title("SMAC3")))
        demo.log_round_done(holder, rnd)
    return holder.experiment
