"""What live recording costs a SMAC, Ax or Vizier run: the same run with and without the recorder.

For each framework, its cheapest optimizer (SMAC RandomFacade, Ax Sobol, Vizier
RANDOM_SEARCH) minimizes the conformance objective for N trials, once without
hpviz and once with ``HpvizCallback`` (no periodic reports: this measures the
recording, not the rendering, which runs in another process). Prints each
wall time, the ratio (target: the recorded run takes <= 1.1x the plain one)
and what the first snapshot (``cb.experiment``, what a report takes) costs at
the end of the run.

    .venv/bin/python benchmarks/live_recorders.py [N]
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

from hpviz.testing import CONFORMANCE_SPACE, conformance_objective

TARGET = 1.1  # recorded / plain wall time
SHARE_TARGET = 0.05  # time inside the recorder / the recorded run's wall time


class Timed:
    """Adds up the time spent in the recorder's entry points (``update``; SMAC's ``on_*_end``)."""

    def __init__(self, cb):
        self.cb, self.seconds = cb, 0.0
        for name in ("update", "on_ask_end", "on_tell_end", "on_start", "on_end"):
            method = getattr(cb, name, None)
            if method is not None:
                setattr(cb, name, self._wrap(method))

    def _wrap(self, method):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
        return timed


def smac_run(n: int, cb, out: Path) -> float:
    from smac import RandomFacade, Scenario

    from hpviz_smac import to_configspace

    sc = Scenario(to_configspace(CONFORMANCE_SPACE, seed=0), deterministic=True, n_trials=n, output_directory=out,
                  crash_cost=1e6, seed=0)
    facade = RandomFacade(sc, lambda config, seed=0: conformance_objective(dict(config)),
                          callbacks=[cb] if cb is not None else [], overwrite=True, logging_level=False)
    t0 = time.perf_counter()
    facade.optimize()
    return time.perf_counter() - t0


def ax_run(n: int, cb, out: Path) -> float:
    from ax.api import Client

    from hpviz_ax import to_ax

    client = Client(random_seed=0)
    client.configure_experiment(parameters=to_ax(CONFORMANCE_SPACE), name="bench")
    client.configure_optimization(objective="-loss")
    client.configure_generation_strategy(method="random_search")
    t0 = time.perf_counter()
    for _ in range(n):
        ((index, params),) = client.get_next_trials(max_trials=1).items()
        client.complete_trial(index, {"loss": conformance_objective(params)})
        if cb is not None:
            cb.update(client)
    return time.perf_counter() - t0


def vizier_run(n: int, cb, out: Path) -> float:
    from vizier.service import clients
    from vizier.service import pyvizier as vz

    from hpviz_vizier import to_vizier

    clients.environment_variables.servicer_kwargs.setdefault("database_url", f"sqlite:///{out.parent / 'vizier.db'}")
    clients.environment_variables.new_suggestion_polling_secs = 0.0
    config = vz.StudyConfig.from_problem(to_vizier(CONFORMANCE_SPACE, {"loss": "min"}))
    config.algorithm = "RANDOM_SEARCH"
    study = clients.Study.from_study_config(config, owner="bench", study_id=uuid.uuid4().hex)
    t0 = time.perf_counter()
    for _ in range(n):
        (trial,) = study.suggest(count=1)
        params = {k: (int(v) if k == "layers" else v) for k, v in trial.parameters.items()}
        trial.complete(vz.Measurement({"loss": conformance_objective(params)}))
        if cb is not None:
            cb.update(study)
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    warnings.filterwarnings("ignore")
    logging.getLogger("ax").setLevel(logging.WARNING)
    logging.getLogger("absl").setLevel(logging.ERROR)
    import hpviz_ax
    import hpviz_smac
    import hpviz_vizier

    runs = {"smac": (smac_run, hpviz_smac), "ax": (ax_run, hpviz_ax), "vizier": (vizier_run, hpviz_vizier)}
    print(f"{n} trials per run; ratio = recorded / plain wall time (target <= {TARGET}x); "
          f"share = time in the recorder / recorded run (target <= {SHARE_TARGET:.0%})")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (run, module) in runs.items():
            try:
                plain = run(n, None, Path(tmp) / f"{name}-plain")
                cb = module.HpvizCallback()
                timer = Timed(cb)
                recorded = run(n, cb, Path(tmp) / f"{name}-recorded")
            except ImportError as exc:
                print(f"{name:<7} skipped ({exc})")
                continue
            t0 = time.perf_counter()
            exp = cb.experiment  # the first snapshot after the run (SMAC rebuilds its trials here)
            snap = 1000 * (time.perf_counter() - t0)
            assert len(exp) == n, (name, len(exp))
            ratio, share = recorded / plain, timer.seconds / recorded
            print(f"{name:<7} plain {plain:6.2f} s  recorded {recorded:6.2f} s  ratio {ratio:4.2f}x "
                  f"{'ok' if ratio <= TARGET else 'ABOVE TARGET'}  in the recorder {1000 * timer.seconds / n:5.2f} ms/trial "
                  f"= {share:6.2%} of the run {'ok' if share <= SHARE_TARGET else 'ABOVE TARGET'}  "
                  f"first snapshot at {n} trials {snap:6.1f} ms")


if __name__ == "__main__":
    main()
