"""Calibration of the split-noise rules of ``compare`` and ``suggest_space`` against a known truth.

Usage: python benchmarks/split_noise.py [--reps-factor 1.0] [--only compare,suggest]

Each trial has a known true value; its K split scores are the true value
plus Gaussian noise, and its recorded value is their mean (a cross-validated
search). Every case runs twice on the same draws: with the per-split scores
(``attrs["split_test_<objective>"]``, the rule applies) and without them
(the analyses as before). Rates are printed next to their targets with 95%
Wilson intervals. ``--reps-factor 5`` multiplies every repetition count.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibration import reps, wilson  # noqa: E402

import hpviz  # noqa: E402
from hpviz import Categorical, Experiment, Float, Trial  # noqa: E402


def experiment(true: np.ndarray, split_sd: float, k: int, rng: np.random.Generator, name: str,
               params: list[dict] | None = None, space: dict | None = None) -> tuple[Experiment, Experiment]:
    """The same trials with and without their split scores (value = mean of k noisy splits)."""
    space = space or {"x": Float(0.0, 1e9)}
    with_splits = Experiment(space, {"accuracy": "max"}, name=name)
    plain = Experiment(space, {"accuracy": "max"}, name=name)
    for i, t in enumerate(true):
        s = t + rng.normal(0.0, split_sd, k)
        p = params[i] if params is not None else {"x": float(i)}
        with_splits.add(Trial(i, p, {"accuracy": float(s.mean())}, attrs={"split_test_accuracy": s.tolist()}))
        plain.add(Trial(i, p, {"accuracy": float(s.mean())}))
    return with_splits, plain


def _winners(res) -> set[str]:
    return {s.winner for s in res.segments if s.winner is not None}


def compare_cases(factor: float) -> list[tuple]:
    rng = np.random.default_rng(16)
    R = reps(150, factor)
    rows = []
    # (label, true SD, A: shift, split SD, K; B: shift, split SD, K; what counts, target)
    cases = [
        ("null, equal noise (trial SD 0.5 x true SD), 40 vs 40", (0.0, 1.1, 5), (0.0, 1.1, 5), 40, "any", 0.05),
        ("null, A noisier (3 splits, trial SD 1.2) vs B (10 splits, 0.09), 50 vs 50", (0.0, 2.0, 3), (0.0, 0.3, 10),
         50, "any", 0.05),
        ("null, A noisier, 20 vs 60 trials", (0.0, 2.0, 3), (0.0, 0.3, 10), (20, 60), "any", 0.05),
        ("power: B +1 true SD, equal noise (trial SD 0.5), 40 vs 40", (0.0, 1.1, 5), (1.0, 1.1, 5), 40, "B", None),
        ("power: B +1 true SD, A noisier, 40 vs 40", (0.0, 2.0, 3), (1.0, 0.3, 10), 40, "B", None),
    ]
    for label, a, b, n, what, target in cases:
        na, nb = (n, n) if isinstance(n, int) else n
        hit = {True: 0, False: 0}
        for r in range(R):
            ea = experiment(rng.normal(a[0], 1.0, na), a[1], a[2], rng, "A")
            eb = experiment(rng.normal(b[0], 1.0, nb), b[1], b[2], rng, "B")
            for rule in (True, False):
                res = hpviz.compare(ea[0 if rule else 1], eb[0 if rule else 1], seed=r)
                hit[rule] += bool(_winners(res)) if what == "any" else res.winner == what
        for rule in (True, False):
            rate = hit[rule] / R
            lo, hi = wilson(hit[rule], R)
            tgt = f"<= {target}" if target is not None else "power (no target)"
            ok = "" if target is None else ("ok" if rate <= target or lo <= target else "MISSED")
            rows.append((f"compare {label} [{'split-noise rule' if rule else 'without split scores'}]",
                         rate, lo, hi, R, tgt if rule else "(before)", ok if rule else ""))
    return rows


def _unimodal(rng: np.random.Generator, n: int, split_sd: float):
    xs = float(rng.uniform(0.1, 0.9))
    X = rng.random((n, 2))
    true = 0.9 - 0.1 * np.abs(X[:, 0] - xs) - 0.02 * X[:, 1]
    params = [{"x1": float(u), "x2": float(v)} for u, v in X]
    return xs, true, params


def _two_basins(rng: np.random.Generator, n: int, split_sd: float):
    """A broad basin around 0.7 (a plateau of 30% of the trials at 0.90) and the true optimum, a narrow
    basin at 0.15 peaking at 0.91: higher by 0.01, less than the noise of a trial's score."""
    X = rng.random((n, 2))
    broad = 0.90 - 1.0 * np.maximum(0.0, np.abs(X[:, 0] - 0.7) - 0.15)
    narrow = 0.91 - 2.0 * np.abs(X[:, 0] - 0.15)
    true = np.maximum(broad, narrow) - 0.02 * X[:, 1]
    params = [{"x1": float(u), "x2": float(v)} for u, v in X]
    return 0.15, true, params


def suggest_cases(factor: float) -> list[tuple]:
    rng = np.random.default_rng(17)
    R = reps(60, factor)
    rows = []
    space = {"x1": Float(0.0, 1.0), "x2": Float(0.0, 1.0)}
    for name, make, n, level, split_sd in [("unimodal optimum", _unimodal, 60, "conservative", 0.03),
                                           ("unimodal optimum", _unimodal, 30, "bold", 0.06),
                                           ("two basins, optimum 0.01 higher", _two_basins, 80, "conservative", 0.02),
                                           ("two basins, optimum 0.01 higher", _two_basins, 80, "conservative", 0.04),
                                           ("two basins, optimum 0.01 higher", _two_basins, 40, "bold", 0.04)]:
        counts = {True: [0, 0, 0], False: [0, 0, 0]}
        seen = 0
        for r in range(R):
            xs, true, params = make(rng, n, split_sd)
            # The data hold the optimum: a trial near it is better in truth than the best trial elsewhere.
            near = np.abs(np.array([p["x1"] for p in params]) - xs) < 0.1
            sampled = bool(near.any() and (~near).any() and true[near].max() > true[~near].max())
            seen += sampled
            pair = experiment(true, split_sd, 5, rng, "s", params, space)
            for rule in (True, False):
                sug = hpviz.suggest_space(pair[0 if rule else 1], level=level, seed=r)
                ch = {c.param: c for c in sug.changes}
                if "x1" in ch and ch["x1"].action == "shrink":
                    counts[rule][0] += 1
                    miss = not (ch["x1"].after.low <= xs <= ch["x1"].after.high)
                    counts[rule][1] += miss
                    counts[rule][2] += miss and sampled
        for rule in (True, False):
            tag = "split-noise rule" if rule else "without split scores"
            label = f"suggest [{level}] {name}, {n} trials, split SD {split_sd} (trial SD {split_sd / math.sqrt(5):.2g})"
            shrunk, missed, missed_seen = counts[rule]
            rows.append((f"{label}: true optimum shrunk away [{tag}]", missed / R, *wilson(missed, R), R,
                         "-" if rule else "(before)", ""))
            rows.append((f"{label}: ... of the runs whose trials sampled it (a trial near it best in truth) [{tag}]",
                         missed_seen / max(seen, 1), *wilson(missed_seen, max(seen, 1)), seen,
                         "<= 0.05" if rule else "(before)",
                         ("ok" if wilson(missed_seen, max(seen, 1))[0] <= 0.05 else "MISSED") if rule else ""))
            rows.append((f"{label}: x1 shrunk (power) [{tag}]", shrunk / R, *wilson(shrunk, R), R, "-", ""))
    # drop-choices: a choice worse by 0.5 x the noise SD of a trial's score, many trials: real, but below the noise.
    dropped = {True: 0, False: 0}
    Rd = reps(30, factor)
    split_sd = 0.06
    for r in range(Rd):
        n = 300
        c = rng.integers(0, 3, n)
        x = rng.random(n)
        true = 0.9 - 0.05 * np.abs(x - 0.5) - np.where(c == 2, 0.5 * split_sd / math.sqrt(5), 0.0)
        params = [{"x": float(u), "c": "abc"[k]} for u, k in zip(x, c)]
        pair = experiment(true, split_sd, 5, rng, "d", params, {"x": Float(0.0, 1.0), "c": Categorical(["a", "b", "c"])})
        for rule in (True, False):
            sug = hpviz.suggest_space(pair[0 if rule else 1], level="bold", seed=r)
            dropped[rule] += any(ch.param == "c" and ch.action == "drop-choices" for ch in sug.changes)
    for rule in (True, False):
        rows.append((f"suggest [bold] choice worse by 0.5 x a trial's noise SD dropped, 300 trials "
                     f"[{'split-noise rule' if rule else 'without split scores'}]", dropped[rule] / Rd,
                     *wilson(dropped[rule], Rd), Rd, "0" if rule else "(before)",
                     ("ok" if dropped[rule] == 0 else "MISSED") if rule else ""))
    return rows


SECTIONS = {"compare": compare_cases, "suggest": suggest_cases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps-factor", type=float, default=1.0)
    ap.add_argument("--only", default=",".join(SECTIONS))
    args = ap.parse_args()
    for name in args.only.split(","):
        t0 = time.perf_counter()
        print(f"\n== {name}")
        for label, rate, lo, hi, n, target, ok in SECTIONS[name](args.reps_factor):
            print(f"{label}\n    {rate:.3f} [{lo:.2f}, {hi:.2f}] of {n} runs; target {target} {ok}", flush=True)
        print(f"   ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
