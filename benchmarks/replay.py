"""Benchmark: the early-stopping replay's sentinel step on curve families with known crossing points.

Target (issue 17): the recommended sentinel step is never before the last crossing of the top trials
(the step from which every one of the best trials' noise-free curves is at or better than the median of
all curves). Prints, per noise level, the rate of sentinels at or after the crossing (target 100%), how
often no sentinel is recommended, and the mean delay after the crossing (the price of the margin);
then the same with the bare median rule (SAFE_RANK_SHARE = 0.5) for reference.
Run with ``python benchmarks/replay.py [reps]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from families import late_bloomers  # noqa: E402

import hpviz.analysis.replay as rp  # noqa: E402

TARGET_RATE = 1.0


def measure(reps: int, noise: float) -> tuple[float, float, float]:
    ok, none, delay = 0, 0, []
    for seed in range(reps):
        exp, cross = late_bloomers(seed, noise=noise)
        r = rp.replay(exp)
        if r.sentinel_step is None:
            none += 1
            ok += 1
            continue
        ok += r.sentinel_step >= cross
        delay.append(r.sentinel_step - cross)
    return ok / reps, none / reps, float(np.mean(delay)) if delay else float("nan")


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    default = rp.SAFE_RANK_SHARE
    for share, label in ((default, f"SAFE_RANK_SHARE={default}"), (0.5, "bare median (reference)")):
        rp.SAFE_RANK_SHARE = share
        for noise in (0.01, 0.02, 0.05):
            rate, none, delay = measure(reps, noise)
            print(f"{label:28s} noise={noise:<5} sentinel >= crossing: {rate:6.1%} (target {TARGET_RATE:.0%})  "
                  f"no sentinel: {none:5.1%}  mean delay: {delay:5.2f} steps  [{reps} runs]")
    rp.SAFE_RANK_SHARE = default


if __name__ == "__main__":
    main()
