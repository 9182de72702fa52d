"""Overhead of ``hpviz_optuna.HpvizCallback`` on a fast Optuna study.

2,000 trials of a trivial objective with RandomSampler, in memory, run with
and without the callback (no report writing); prints the times and their
ratio. Target: HpvizCallback <= 1.10x a no-op callback (hpviz adds at most
10% over what any Optuna callback costs).

    .venv/bin/python benchmarks/callback_overhead.py [--trials 2000] [--repeats 5]

Also printed, to tell hpviz's cost from Optuna's: the same study with a
no-op callback (Optuna re-reads and deep-copies each trial for *any*
callback, a fixed cost no callback can avoid), and the one-off time to
convert the recorded trials when ``cb.experiment`` is first read (the
callback only stores Optuna's copy during the run and converts on read).
Configurations alternate; the best of ``repeats`` runs of each is compared,
the one least disturbed by other processes on the machine.
"""

from __future__ import annotations

import argparse
import time

import optuna

from hpviz_optuna import HpvizCallback


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    units = trial.suggest_int("units", 8, 256, log=True)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    return (x - 1.0) ** 2 + lr * units + (0.0 if act == "relu" else 0.5)


def _noop(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    return None


def run(n_trials: int, callback, seed: int) -> float:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, callbacks=[callback] if callback else None)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run(50, HpvizCallback(), 0)  # warm up imports and caches
    times: dict[str, list[float]] = {"none": [], "noop": [], "hpviz": []}
    convert: list[float] = []
    for r in range(args.repeats):
        times["none"].append(run(args.trials, None, r))
        times["noop"].append(run(args.trials, _noop, r))
        cb = HpvizCallback()
        times["hpviz"].append(run(args.trials, cb, r))
        t0 = time.perf_counter()
        exp = cb.experiment
        convert.append(time.perf_counter() - t0)
        assert len(exp) == args.trials, "the callback lost trials"
    none, noop, hp = (min(times[k]) for k in ("none", "noop", "hpviz"))
    n = args.trials
    print(f"optuna {optuna.__version__}, RandomSampler, in-memory, {n} trials, best of {args.repeats}")
    print(f"  no callback:        {none:.3f} s ({1e6 * none / n:.0f} us/trial)")
    print(f"  no-op callback:     {noop:.3f} s ({1e6 * noop / n:.0f} us/trial)  <- Optuna's per-callback copy")
    print(f"  HpvizCallback:      {hp:.3f} s ({1e6 * hp / n:.0f} us/trial)")
    print(f"  reading cb.experiment afterwards (converts {n} trials): {min(convert):.3f} s")
    ratio = hp / noop
    print(f"ratio HpvizCallback / no callback: {hp / none:.3f}")
    print(f"ratio HpvizCallback / no-op callback: {ratio:.3f} (target <= 1.10) -> "
          f"{'OK' if ratio <= 1.10 else 'ABOVE TARGET'}")


if __name__ == "__main__":
    main()
