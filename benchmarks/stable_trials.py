"""Ray Tune's and SMAC's callbacks keep the Trial objects of unchanged trials: what a periodic report sends, and
what a refresh costs, against the same callback rebuilding every trial (the reference, measured in the same run).

Ray Tune: real ``ray.tune.experiment.Trial`` objects (``stub=True``, no running Ray) fed to the callback as
Tune's driver would, like an ASHA run: ``--concurrency`` trials run at a time, each reporting one result per
iteration (user metrics and Tune's bookkeeping keys) until it stops, after 1, 2, 4 ... ``--max-t``
iterations (most trials stopped early, as ASHA stops them; ``max_t`` unknown to the callback, so a trial's
COMPLETE/PRUNED state follows the longest trial so far); the callback infers the space from the configs on
each refresh unless ``--param-space`` gives it the ``param_space``. SMAC: a real ``RandomFacade`` driven by ask and tell.

Every ``--every`` finished trials a "report": the snapshot a periodic report takes (``Recorder._snapshot``,
timed: the refresh plus the copy of running trials' logs), and the trials its hand-over would send (the ones
that are new or another object than in the previous report's snapshot, ``hpviz.recording._changed_trials``).
Two callbacks receive the same hooks: the callback as it is, and the reference, which drops its kept trials
before each refresh (what every refresh did before). Printed per framework: trials sent per report (median,
and the total over the run) and the median snapshot time, each with the reference's, and the load average.

    python benchmarks/stable_trials.py [--trials 2000] [--every 5] [--concurrency 4] [--max-t 50]
        [--smac-trials 1000] [--only ray|smac] [--param-space]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from hpviz.recording import _changed_trials


def _reference(cls):
    """The callback rebuilding every trial on each refresh, as before (it forgets the trials it kept)."""

    class Rebuilding(cls):
        def _refresh(self):
            getattr(self, "_built", {}).clear()
            super()._refresh()

    return Rebuilding


class Reports:
    """The periodic reports of one callback: snapshot times and trials sent."""

    def __init__(self, cb) -> None:
        self.cb, self.held, self.sent, self.seconds = cb, None, [], []

    def report(self) -> None:
        with self.cb._lock:
            t0 = time.perf_counter()
            snap = self.cb._snapshot()
            self.seconds.append(time.perf_counter() - t0)
        changed = _changed_trials(snap, self.held)
        self.sent.append(len(snap) if changed is None else len(changed))
        self.held = {t.number: t for t in snap.trials}


def ray_run(args) -> list[Reports]:
    from ray import tune
    from ray.tune.experiment import Trial

    from hpviz_raytune.callback import HpvizCallback

    space = {"lr": tune.loguniform(1e-4, 1.0), "model": {"depth": tune.randint(1, 5)}} if args.param_space else None
    cbs = [cls(param_space=space, metric="loss", mode="min") for cls in (HpvizCallback, _reference(HpvizCallback))]
    reports = [Reports(cb) for cb in cbs]
    lengths = [min(args.max_t, 2 ** (k % 7)) if k % 5 else args.max_t for k in range(args.trials)]
    trials = [Trial("bench", config={"lr": 1e-4 * (k + 1), "model": {"depth": k % 4 + 1}}, stub=True)
              for k in range(args.trials)]
    running: dict[int, int] = {}  # trial index -> iterations done
    started = finished = 0
    step = 0
    while finished < args.trials:
        while len(running) < args.concurrency and started < args.trials:
            for cb in cbs:
                cb.on_trial_start(iteration=step, trials=trials, trial=trials[started])
            running[started] = 0
            started += 1
        for k in list(running):
            running[k] = it = running[k] + 1
            step += 1
            result = {"loss": 1.0 / it + k * 1e-4, "acc": 1.0 - 1.0 / (it + 1), "training_iteration": it,
                      "time_total_s": 0.01 * it, "timestamp": 1_700_000_000 + step, "done": False,
                      "trial_id": trials[k].trial_id, "config": trials[k].config}
            for cb in cbs:
                cb.on_trial_result(iteration=step, trials=trials, trial=trials[k], result=result)
            if it >= lengths[k]:
                del running[k]
                finished += 1
                for cb in cbs:
                    cb.on_trial_complete(iteration=step, trials=trials, trial=trials[k])
                if finished % args.every == 0:
                    for r in reports:
                        r.report()
    return reports


def smac_run(args, out: Path) -> list[Reports]:
    from ConfigSpace import ConfigurationSpace
    from smac import RandomFacade, Scenario
    from smac.runhistory import TrialValue

    from hpviz_smac import HpvizCallback

    cbs = [HpvizCallback(), _reference(HpvizCallback)()]
    reports = [Reports(cb) for cb in cbs]
    cs = ConfigurationSpace({"x": (-5.0, 5.0), "y": (0.0, 1.0)}, seed=0)
    sc = Scenario(cs, deterministic=True, n_trials=args.smac_trials + 10, output_directory=out, crash_cost=1e6,
                  seed=0)
    facade = RandomFacade(sc, lambda config, seed=0: 0.0, callbacks=cbs, overwrite=True, logging_level=False)
    pending = [facade.ask() for _ in range(args.concurrency)]
    for n in range(1, args.smac_trials + 1):
        info = pending.pop(0)
        facade.tell(info, TrialValue(cost=(info.config["x"] - 1) ** 2 + info.config["y"]))
        pending.append(facade.ask())
        if n % args.every == 0:
            for r in reports:
                r.report()
    return reports


def _summary(name: str, n: int, reports: list[Reports]) -> None:
    new, ref = reports
    assert new.sent[-1] <= ref.sent[-1]
    print(f"{name}: {n} trials, {len(new.sent)} reports")
    print(f"  trials sent per report  median {statistics.median(new.sent):7.1f}  (rebuilding: "
          f"{statistics.median(ref.sent):7.1f})   over the run {sum(new.sent):7d}  (rebuilding: {sum(ref.sent):7d})")
    print(f"  snapshot per report     median {1e3 * statistics.median(new.seconds):7.2f} ms  (rebuilding: "
          f"{1e3 * statistics.median(ref.seconds):7.2f} ms)   ratio {statistics.median(new.seconds) / statistics.median(ref.seconds):.2f}"
          f"   last report {1e3 * new.seconds[-1]:.1f} ms / {1e3 * ref.seconds[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-t", type=int, default=50)
    parser.add_argument("--smac-trials", type=int, default=1000)
    parser.add_argument("--only", choices=("ray", "smac"))
    parser.add_argument("--param-space", action="store_true",
                        help="give the Ray callback the param_space (else it infers the space on each refresh)")
    args = parser.parse_args()
    logging.getLogger("hpviz").setLevel(logging.ERROR)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.only != "smac":
        _summary("Ray Tune", args.trials, ray_run(args))
    if args.only != "ray":
        with tempfile.TemporaryDirectory() as tmp:
            _summary("SMAC", args.smac_trials, smac_run(args, Path(tmp) / "smac"))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
