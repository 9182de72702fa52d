"""Ray Tune adapter: cost of ``HpvizCallback.on_trial_result`` per reported result.

Usage: python benchmarks/raytune_overhead.py [--results 10000] [--trials 10]

Builds real ``ray.tune.experiment.Trial`` objects offline (``stub=True``: no
registered trainable and no running Ray needed) and feeds the callback
``--results`` synthetic results shaped like Tune's (user metrics, a nested
metric dict, and Tune's bookkeeping keys: ``training_iteration``,
``timestamp``, ``time_total_s``, ``config``...), round-robin over
``--trials`` trials, exactly as the Tune driver would call the hook. Prints
the cost per result in microseconds, next to a no-op ``ray.tune.Callback``
measured in the same run (the floor: a Python method call), and the time
to build ``cb.experiment`` afterwards.
"""

from __future__ import annotations

import argparse
import gc
import logging
import time

from ray.tune import Callback
from ray.tune.experiment import Trial

from hpviz_raytune.callback import HpvizCallback


def _results(trials: list[Trial], n: int) -> list[tuple[Trial, dict]]:
    out = []
    for i in range(n):
        trial = trials[i % len(trials)]
        it = i // len(trials) + 1
        out.append((trial, {
            "loss": 1.0 / it, "accuracy": 1.0 - 1.0 / (it + 1), "lr": 1e-3, "val": {"f1": 0.5, "auc": 0.7},
            "training_iteration": it, "timestamp": 1_700_000_000 + i, "time_this_iter_s": 0.01,
            "time_total_s": 0.01 * it, "time_since_restore": 0.01 * it, "iterations_since_restore": it,
            "done": False, "trial_id": trial.trial_id, "date": "2026-01-01_00-00-00", "pid": 1234,
            "hostname": "node", "node_ip": "10.0.0.1", "config": trial.config, "checkpoint_dir_name": None,
        }))
    return out


def _time(cb: Callback, trials: list[Trial], results: list[tuple[Trial, dict]]) -> float:
    for trial in trials:
        cb.on_trial_start(iteration=0, trials=trials, trial=trial)
    hook = cb.on_trial_result
    gc.collect()
    t0 = time.perf_counter()
    for i, (trial, result) in enumerate(results):
        hook(iteration=i, trials=trials, trial=trial, result=result)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("hpviz").setLevel(logging.ERROR)  # no 'metric unknown' warning in the timing

    trials = [Trial("bench", config={"lr": 1e-3 * (k + 1), "model": {"depth": k % 4 + 1}}, stub=True)
              for k in range(args.trials)]
    results = _results(trials, args.results)

    noop = _time(Callback(), trials, results)
    cb = HpvizCallback(metric="loss", mode="min")
    hpviz_s = _time(cb, trials, results)
    t0 = time.perf_counter()
    exp = cb.experiment
    build_s = time.perf_counter() - t0

    per = hpviz_s / args.results * 1e6
    print(f"Trial objects: real ray.tune.experiment.Trial (stub=True), {args.trials} trials")
    print(f"{args.results} on_trial_result calls")
    print(f"  HpvizCallback   : {per:8.2f} us/result   ({hpviz_s * 1e3:.1f} ms total)")
    print(f"  no-op Callback  : {noop / args.results * 1e6:8.2f} us/result")
    print(f"  overhead        : {per - noop / args.results * 1e6:8.2f} us/result")
    print(f"cb.experiment ({len(exp.trials)} trials, {sum(t.log.seen for t in exp.trials)} points seen): "
          f"{build_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
