"""Reservoir log: append throughput and peak memory against a plain Python list.

Usage: python benchmarks/reservoir.py [--max 10000000]

For each size n it appends n (step, value) points to one trial's
ReservoirLog(capacity=512) and, in the same run, to a plain list
(``list.append((step, value))``), and prints appends per second, the time
ratio (target: reservoir at most 2x a list append) and the peak memory
traced by tracemalloc (target: flat in n for the reservoir).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from hpviz import ReservoirLog


def _time_reservoir(n: int) -> float:
    log = ReservoirLog(capacity=512, seed=0)
    append = log.append
    t0 = time.perf_counter()
    for i in range(n):
        append(i, 0.5)
    return time.perf_counter() - t0


def _time_list(n: int) -> float:
    points: list = []
    append = points.append
    t0 = time.perf_counter()
    for i in range(n):
        append((i, 0.5))
    return time.perf_counter() - t0


def _peak(fn, n: int) -> int:
    gc.collect()
    tracemalloc.start()
    fn(n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _fill_reservoir(n: int) -> ReservoirLog:
    log = ReservoirLog(capacity=512, seed=0)
    for i in range(n):
        log.append(i, 0.5)
    return log


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max", type=int, default=10_000_000)
    args = parser.parse_args()
    sizes = [n for n in (10_000, 1_000_000, 10_000_000) if n <= args.max]
    print(f"{'appends':>12} {'reservoir/s':>14} {'list/s':>14} {'time ratio':>10} {'reservoir peak':>15} {'list peak':>12}")
    for n in sizes:
        t_res = min(_time_reservoir(n) for _ in range(3 if n < 10**7 else 1))
        t_list = min(_time_list(n) for _ in range(3 if n < 10**7 else 1))
        mem_res = _peak(_fill_reservoir, n)
        mem_list = _peak(lambda k: [(i, 0.5) for i in range(k)], n) if n <= 1_000_000 else float("nan")
        print(f"{n:>12,} {n / t_res:>14,.0f} {n / t_list:>14,.0f} {t_res / t_list:>10.2f}"
              f" {mem_res / 1024:>12,.0f} KiB {mem_list / 1024:>9,.0f} KiB")
    print("target: time ratio <= 2.0; reservoir peak flat in n (list peak shown up to 1e6 only)")


if __name__ == "__main__":
    main()
