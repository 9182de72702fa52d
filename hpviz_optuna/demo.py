"""The bundled demo with Optuna: tune an MLP on digits for a few steering rounds.

Round 1 searches :data:`hpviz.demo.DEMO_SPACE` with TPE and a MedianPruner
(validation accuracy reported each epoch); every later round searches the
space :func:`hpviz.suggest_space` refined from the trials so far, sampled
through :func:`hpviz_optuna.suggest` in a new study (Optuna fixes categorical
choices and log scales per study), all recorded by one :class:`HpvizCallback`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import hpviz
from hpviz.demo import start_next_round
from hpviz_optuna.callback import HpvizCallback
from hpviz_optuna.space import suggest, to_optuna

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
        space (if the suggestion fails, the round keeps the previous space and
        says why in its note).
    seed:
        Seeds the data split, the sampler and the models.
    workdir:
        Accepted for the ``hpviz demo`` hook; the study is kept in memory.
    n_epochs:
        Epochs per trial (default: :data:`hpviz.demo.DEMO_EPOCHS`).
    model:
        Demo model family, a key of :data:`hpviz.demo.MODELS` (default ``"mlp"``).
    """
    import optuna

    from hpviz import demo

    task, epochs, data = demo.prepare(n_trials, rounds, seed, model, n_epochs)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return _tune(optuna, demo, task, data, n_trials, rounds, seed, epochs)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _tune(optuna: Any, demo: Any, task: Any, data: Any, n_trials: int, rounds: int, seed: int,
          epochs: int) -> hpviz.Experiment:
    cb = HpvizCallback(space=task.space, name=task.title("Optuna"))
    space = task.space

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, space)
        acc = float("nan")
        for epoch, acc in task.train_epochs(params, data, n_epochs=epochs, seed=seed):
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return acc

    previous: list[Any] = []
    for rnd in range(rounds):
        if rnd > 0:
            space = start_next_round(cb, space)
        # One study per round: Optuna cannot change a categorical's choices or a parameter's
        # log scale within a study, and refined spaces may do both.
        study = optuna.create_study(
            study_name=f"hpviz-demo-optuna-{task.key}-round{rnd + 1}",
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed + rnd),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([demo.DEMO_OBJECTIVE])
        study.add_trials(_warm_start(optuna, previous, space))
        study.optimize(objective, n_trials=n_trials, callbacks=[cb])
        previous += [t for t in study.get_trials(deepcopy=False) if t.number >= len(study.trials) - n_trials]
        demo.log_round_done(cb, rnd)
    return cb.experiment


def _warm_start(optuna: Any, trials: list[Any], space: hpviz.SearchSpace) -> list[Any]:
    """Earlier rounds' finished trials that lie in ``space``, re-declared on its distributions.

    Added to the new round's study (``study.add_trials`` calls no callback, so
    they are not recorded twice) to give TPE and the pruner a head start.
    """
    dists = to_optuna(space, drop_log_step=True)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    out = []
    for t in trials:
        if t.state not in states or set(t.params) != set(space):
            continue
        if not all(space[k].contains(v) for k, v in t.params.items()):
            continue
        out.append(optuna.trial.create_trial(
            params=dict(t.params), distributions=dists, values=t.values, state=t.state,
            intermediate_values=dict(t.intermediate_values), user_attrs={"hpviz_warm_start": True},
        ))
    return out
