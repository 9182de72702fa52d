"""Do periodic reports stall the optimization? Optuna, ``n_jobs=4``, ``every=5``.

The same study (200 trials, RandomSampler, 4 worker threads; each trial
does ``--work-ms`` milliseconds of NumPy work (one BLAS thread) that releases
the GIL, like a real training step, so the workers use both cores; ``--work-ms 0``:
the trivial objective of ``callback_overhead.py``) runs with ``HpvizCallback()``
(no reports: the reference) and with ``HpvizCallback(report_path=..., every=5)``.

What is measured. Trial throughput is ``trials / wall time of study.optimize``,
from the call to its return: everything the optimization experiences while
periodic reports are requested, started and rendered beside it (the snapshot
and JSON handed to the renderer, starting the render process, its CPU use on
the same two cores, the threads' locks). Not in it: the final ``cb.report()``
after ``optimize`` returns, a separate cost the user asks for (complete,
awaited; it supersedes a periodic report still in flight): timed apart. Target
(issue 19): throughput with periodic reports >= 0.8x the throughput without,
the same run (the first version: 0.7 s vs 159 s, i.e. 0.004x).

Periodic reports render in the Recorder's background renderer (one report in
flight, requests coalesced) in a separate process at the lowest CPU priority,
paced: the first one waits until the run has lasted ``RENDER_FIRST_DELAY``
(2 s), later ones are spaced by their own duration. So whether the run renders
at all depends on its length: 200 trials of 5 ms (0.5-1 s, the issue's case)
end before the first report may start and measure the cost of requesting one;
``--trials 1000 --work-ms 5`` (~4 s) or ``--work-ms 50`` (~6-10 s) measure a
render process working beside the optimization. The script prints, per run
with reports, how many periodic reports started and finished during the run
and the render process's CPU seconds in it (Linux), so it is clear which of
the two a run measured.

Configurations alternate in pairs (in alternating order); the headline is the
median over pairs of the ratio within a pair, which cancels slow drifts in the
machine's load; the best-of-each ratio is printed too, with the load average.
The noise of a shared machine shows: use several repeats.

The hand-over (``--only handover``, also part of the default run): what one
periodic report costs the user's process before the render process takes over.
A callback holding ``--handover-trials`` (5,000) finished trials with
``--handover-steps`` (50) intermediate values each receives ``every`` new trials
between reports; each report's hand-over (snapshot, the JSON file, the request,
on the renderer thread; waiting for the reply costs no CPU) is timed with
``time.thread_time``. Reports alternate between the whole snapshot (the
render process told it holds nothing: the reference, what every report cost
before) and the incremental hand-over (only the trials that changed since the
last request). Printed: the median CPU seconds of each and their ratio, and
the render process's CPU per report (loading and merging the file, and a
one-view report).

    .venv/bin/python benchmarks/callback_reports.py [--trials 200] [--every 5] [--repeats 11] [--work-ms 5]
        [--only throughput|handover] [--handover-trials 5000] [--handover-steps 50] [--handover-repeats 8]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from callback_overhead import objective as cheap_objective  # this folder is on sys.path

from hpviz_optuna import HpvizCallback


def working_objective(ms: float):
    """The cheap objective plus about ``ms`` milliseconds of matrix products (NumPy releases the GIL)."""
    a = np.random.default_rng(0).standard_normal((120, 120))
    reps = [0]

    def calibrate() -> None:
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.2:
            a @ a
            n += 1
        reps[0] = max(1, round(n * ms / 200.0))

    calibrate()

    def objective(trial: optuna.Trial) -> float:
        for _ in range(reps[0]):
            a @ a
        return cheap_objective(trial)

    return objective


def run(n_trials: int, cb: HpvizCallback, seed: int) -> float:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    gc.collect()  # the previous pair's report leaves garbage: do not bill it to this run
    t0 = time.perf_counter()
    study.optimize(OBJECTIVE, n_trials=n_trials, n_jobs=4, callbacks=[cb])
    elapsed = time.perf_counter() - t0
    assert cb.n_recorded == n_trials, "the callback lost trials"
    return elapsed


def render_cpu(cb: HpvizCallback) -> float:
    """CPU seconds the callback's render process has used so far (0 without one; Linux's /proc)."""
    proc = cb._worker._proc
    if proc is None:
        return 0.0
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handover(n_trials: int, steps: int, every: int, repeats: int) -> None:
    """CPU time of the user's process per periodic report hand-over: the whole snapshot vs what changed."""
    study = optuna.create_study(study_name="handover")
    dists = {"x": optuna.distributions.FloatDistribution(-3.0, 3.0),
             "lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
             "units": optuna.distributions.IntDistribution(4, 256, log=True),
             "model": optuna.distributions.CategoricalDistribution(["linear", "tree"])}
    rng = np.random.default_rng(0)

    def trial(number: int) -> optuna.trial.FrozenTrial:
        params = {"x": float(rng.uniform(-3, 3)), "lr": float(10 ** rng.uniform(-5, -1)),
                  "units": int(rng.integers(4, 257)), "model": str(rng.choice(["linear", "tree"]))}
        value = params["x"] ** 2 + params["units"] / 256
        curve = {step: value + 1.0 / (step + 1) + 0.01 * float(rng.standard_normal()) for step in range(steps)}
        ft = optuna.trial.create_trial(params=params, distributions=dists, value=value, intermediate_values=curve)
        ft.number = number
        return ft

    with tempfile.TemporaryDirectory() as tmp:
        cb = HpvizCallback(report_path=Path(tmp) / "handover.html", report_options={"views": ["progress"]})
        for number in range(n_trials):
            cb(study, trial(number))
        cb._render_periodic()  # the render process starts and imports; it holds the experiment now
        cpu: dict[str, list[float]] = {"whole snapshot (reference)": [], "what changed": []}
        process: dict[str, list[float]] = {key: [] for key in cpu}
        sent: dict[str, set] = {key: set() for key in cpu}
        for r in range(2 * repeats):
            for _ in range(every):
                cb(study, trial(n_trials + r * every + _))
            key = list(cpu)[(r + r // 2) % 2]  # alternate, in alternating order within pairs
            if key.startswith("whole"):
                cb._worker._held = None  # the process is told it holds nothing: every trial goes
            before = render_cpu(cb)
            t0 = time.thread_time()
            cb._render_periodic()  # what the renderer thread runs for one periodic report
            cpu[key].append(time.thread_time() - t0)
            process[key].append(render_cpu(cb) - before)
            sent[key].add(cb._worker.last_handover[0])
        cb._worker.close()
    print(f"hand-over of one periodic report, {n_trials:,} trials x {steps}-step logs, {every} new trials per "
          f"report, {repeats} of each, alternating; load average {os.getloadavg()[0]:.2f} (2 cores)")
    for key, times in cpu.items():
        print(f"  {key:28s} user-process CPU median {statistics.median(times) * 1e3:7.1f} ms "
              f"(min {min(times) * 1e3:.1f}); trials sent {sorted(sent[key])}; render process CPU median "
              f"{statistics.median(process[key]):.2f} s")
    whole, changed = (statistics.median(times) for times in cpu.values())
    print(f"user-process CPU per hand-over, what changed / whole snapshot: {changed / whole:.3f} "
          f"({whole / changed:.0f}x less)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--work-ms", type=float, default=5.0, help="NumPy work per trial (0: trivial objective)")
    parser.add_argument("--only", choices=["throughput", "handover"], default=None)
    parser.add_argument("--handover-trials", type=int, default=5000)
    parser.add_argument("--handover-steps", type=int, default=50)
    parser.add_argument("--handover-repeats", type=int, default=8)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.only != "throughput":
        handover(args.handover_trials, args.handover_steps, args.every, args.handover_repeats)
        if args.only == "handover":
            return
    global OBJECTIVE
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # one core per worker thread, as a training step in a worker would
    OBJECTIVE = working_objective(args.work_ms) if args.work_ms > 0 else cheap_objective
    run(20, HpvizCallback(), 0)  # warm up imports and caches
    plain: list[float] = []
    with_reports: list[float] = []
    final: list[float] = []
    written: list[int] = []
    started: list[int] = []
    periodic: list[int] = []
    cpu: list[float] = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            path = Path(tmp) / f"report-{r}.html"
            cb = HpvizCallback(report_path=path, every=args.every)
            count = [0, 0]  # periodic reports started, finished
            write = cb._write

            def counting_write(exp, target, *, background=False, count=count, write=write):
                count[0] += background
                out = write(exp, target, background=background)
                count[1] += background
                return out

            cb._write = counting_write  # counts the periodic reports started and written during the run
            if r % 2:  # alternate the order within a pair
                with_reports.append(run(args.trials, cb, r))
                seen = (*count, render_cpu(cb))
                plain.append(run(args.trials, HpvizCallback(), r))
            else:
                plain.append(run(args.trials, HpvizCallback(), r))
                with_reports.append(run(args.trials, cb, r))
                seen = (*count, render_cpu(cb))
            written.append(int(path.exists()))
            started.append(seen[0])
            periodic.append(seen[1])
            cpu.append(seen[2])
            t0 = time.perf_counter()
            cb.report()  # supersedes the periodic report in flight, writes the complete one
            final.append(time.perf_counter() - t0)
    n = args.trials
    pairs = sorted(p / r for p, r in zip(plain, with_reports))
    print(f"optuna {optuna.__version__}, RandomSampler, n_jobs=4, {n} trials, every={args.every}, "
          f"{args.work_ms:g} ms of work per trial, {args.repeats} pairs; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after (2 cores)")
    for label, times in (("no reports (reference)", plain), ("periodic reports", with_reports)):
        best, med = min(times), statistics.median(times)
        print(f"  {label:24s} best {best:.3f} s ({n / best:.0f} trials/s), median {med:.3f} s")
    print(f"  ratio of the best runs: {min(plain) / min(with_reports):.3f}; "
          f"pair ratios from {pairs[0]:.2f} to {pairs[-1]:.2f}")
    print(f"  periodic reports during a run: started median {statistics.median(started):g} (max {max(started)}), "
          f"finished median {statistics.median(periodic):g} (max {max(periodic)}); a report on disk when optimize "
          f"returned: {sum(written)}/{len(written)} runs; render process CPU in a run: median "
          f"{statistics.median(cpu):.2f} s, max {max(cpu):.2f} s")
    print(f"  final cb.report() afterwards (awaited, complete): median {statistics.median(final):.2f} s")
    ratio = statistics.median(pairs)
    print(f"throughput ratio periodic / none (median over pairs): {ratio:.3f} (target >= 0.80) -> "
          f"{'OK' if ratio >= 0.8 else 'BELOW TARGET'}")

OBJECTIVE = cheap_objective


if __name__ == "__main__":
    main()
