"""The bundled demo with Ray Tune: tune an MLP on digits for a few steering rounds.

Each round is one ``Tuner.fit()`` with random search (seeded) and an ASHA
scheduler over the epochs; round 1 searches :data:`hpviz.demo.DEMO_SPACE`,
every later round the space :func:`hpviz.suggest_space` refined from the
trials so far (exported with :func:`hpviz_raytune.to_tune`). One
:class:`HpvizCallback` records all rounds.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import hpviz
from hpviz.demo import start_next_round
from hpviz_raytune.space import to_tune

__all__ = ["run_demo"]



def _trainable(config: dict[str, Any], data: Any = None, n_epochs: int = 12, seed: int = 0,
               model: str = "mlp") -> None:
    """One trial: train the demo model epoch by epoch, reporting validation accuracy (ASHA may stop it)."""
    from ray import tune

    from hpviz import demo

    for _epoch, acc in demo.demo_model(model).train_epochs(config, data, n_epochs=n_epochs, seed=seed):
        tune.report({demo.DEMO_OBJECTIVE: acc})


def run_demo(n_trials: int = 30, rounds: int = 2, seed: int = 0, workdir: str | os.PathLike | None = None,
             *, n_epochs: int | None = None, model: str | None = None) -> hpviz.Experiment:
    """Tune the demo model (default the MLP) with Ray Tune for ``rounds`` rounds of ``n_trials`` trials; return the Experiment.

    Parameters
    ----------
    n_trials:
        Trials per round.
    rounds:
        Steering rounds; round ``k > 1`` searches ``hpviz.suggest_space``'s refined
        space (if the suggestion fails, the round keeps the previous space and
        its note says why).
    seed:
        Seeds the data split, the random search and the models.
    workdir:
        Ray's ``storage_path`` is ``workdir/ray_results`` (default: a temporary directory).
    n_epochs:
        Epochs per trial, ASHA's ``max_t`` (default: :data:`hpviz.demo.DEMO_EPOCHS`).
    model:
        Demo model family, a key of :data:`hpviz.demo.MODELS` (default ``"mlp"``).

    Ray is started with ``num_cpus=2`` (no dashboard) if it is not running,
    and shut down again at the end in that case.
    """
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from hpviz import demo
    from hpviz_raytune.callback import HpvizCallback

    demo.check_budget(n_trials, rounds)
    task = demo.demo_model(model)
    epochs = int(n_epochs or demo.DEMO_EPOCHS)
    storage = Path(workdir).resolve() / "ray_results" if workdir else Path(tempfile.mkdtemp(prefix="hpviz-ray-demo-"))
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        data = demo.load_data(seed)
        cb = HpvizCallback(space=task.space, metric=demo.DEMO_OBJECTIVE, mode="max", name=task.title("Ray Tune"))
        space = task.space
        run_prefix = "" if task.key == "mlp" else f"{task.key}-"  # the MLP's runs keep their names
        for rnd in range(rounds):
            if rnd > 0:
                space = start_next_round(cb, space)
            tuner = tune.Tuner(
                tune.with_parameters(_trainable, data=data, n_epochs=epochs, seed=seed, model=task.key),
                param_space=to_tune(space),
                tune_config=tune.TuneConfig(
                    metric=demo.DEMO_OBJECTIVE, mode="max", num_samples=n_trials,
                    scheduler=ASHAScheduler(max_t=epochs, grace_period=min(2, epochs), reduction_factor=2),
                    search_alg=BasicVariantGenerator(random_state=seed + rnd), reuse_actors=True,
                ),
                run_config=tune.RunConfig(name=f"hpviz-demo-{run_prefix}round{rnd + 1}", storage_path=str(storage),
                                          callbacks=[cb], verbose=0),
            )
            tuner.fit()
            demo.log_round_done(cb, rnd)
        return cb.experiment
    finally:
        if started:
            ray.shutdown()
