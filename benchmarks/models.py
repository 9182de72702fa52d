"""Benchmark: the verdict of hpviz.compare_models by trials, seconds and steps.

False "X is best" statements: 2 or 3 models whose (score, trial time, steps) come from one distribution
(``tests/families.py``'s ``model_family``, same level and spread, different seeds), 20-40 trials each; a rep
counts if the verdict supports a best model on *any* of the three axes. Target <= 5% (the verdict's level
holds for all axes together: each axis at 1 - 0.05/3, Holm over the pairs). Beside it, the same data
judged by three uncorrected ``hpviz.compare`` calls at 95% each, the rate that correction avoids.

Power: a better model (0.95 vs 0.90 at the optimum, same cost) named best by trials; and a cheaper model
(a twentieth of the time and steps per trial, 0.92 vs 0.95 at the optimum but easy to hit) named best by
seconds while trials show no single best. Run ``python benchmarks/models.py [reps]``.

``python benchmarks/models.py --demo``: what the second model family adds to ``hpviz demo`` (Optuna), wall
time of each part and the ratio of the additions to the MLP-only demo (tuning + report) measured in the
same run; target: the whole demo under 60 s on two idle cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from families import model_family  # noqa: E402

import hpviz  # noqa: E402


def _null(seed: int) -> list[hpviz.Experiment]:
    k, n = 2 + seed % 2, (20, 40)[seed // 2 % 2]
    return [model_family(f"m{j}", 1000 * seed + j, n=n, level=0.9, spread=0.4, split_sd=0.01, timed=True, steps=10)
            for j in range(k)]


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100
    false = naive = 0
    for seed in range(reps):
        exps = _null(seed)
        mc = hpviz.compare_models(exps, seed=seed)
        false += any(mc.by_axis["winner"].map(lambda w: isinstance(w, str)))
        naive += any(hpviz.compare(*exps, axis=a, seed=seed).winner is not None for a in ("trials", "seconds", "steps"))
    print(f"null: a best model supported on some axis   {false / reps:6.1%} (target <= 5%)  [{reps} runs]")
    print(f"      three uncorrected compare() at 95%     {naive / reps:6.1%} (what the axis correction avoids)")
    better = cheap_s = cheap_t = 0
    for seed in range(reps):
        a = model_family("better", 2 * seed, n=30, level=0.95, spread=0.4, timed=True, steps=10)
        b = model_family("worse", 2 * seed + 1, n=30, level=0.90, spread=0.4, timed=True, steps=10)
        better += hpviz.compare_models([a, b], seed=seed).comparisons["trials"].winner == "better"
        slow = model_family("slow", 2 * seed, n=30, level=0.95, spread=4.0, fit_time=2.0, timed=True, steps=100)
        fast = model_family("fast", 2 * seed + 1, n=200, level=0.92, spread=0.4, fit_time=0.05, timed=True, steps=5)
        mc = hpviz.compare_models([slow, fast], seed=seed)
        w = mc.by_axis.set_index("axis")["winner"]
        cheap_s += w["seconds"] == "fast"
        cheap_t += not isinstance(w["trials"], str)
    print(f"power: the better model best by trials       {better / reps:6.1%} (target >= 90%)")
    print(f"       the cheaper model best by seconds      {cheap_s / reps:6.1%} (target >= 90%)")
    print(f"       ... while trials name no single best   {cheap_t / reps:6.1%} (informative, no target)")


def demo() -> None:
    import time

    from hpviz_optuna.demo import run_demo

    def timed(label: str, f: object) -> tuple[object, float]:
        start = time.perf_counter()
        out = f()  # type: ignore[operator]
        took = time.perf_counter() - start
        print(f"  {label:30s} {took:6.1f} s")
        return out, took

    a, t1 = timed("tune the MLP (reference)", lambda: run_demo(model="mlp"))
    ra, t2 = timed("report of the MLP (reference)", lambda: hpviz.report(a, "/tmp/hpviz-bench-mlp.html"))
    b, t3 = timed("tune the logistic regression", lambda: run_demo(model="logreg"))
    rb, t4 = timed("report of the logistic regr.", lambda: hpviz.report(b, "/tmp/hpviz-bench-logreg.html"))
    _, t5 = timed("multi-model page", lambda: hpviz.report(
        [a, b], "/tmp/hpviz-bench-models.html", names=["MLP", "logistic regression"],
        metrics={"val_accuracy": "max", "duration": "min"}, reports=[ra, rb]))
    print(f"demo with both models: {t1 + t2 + t3 + t4 + t5:.1f} s, {(t1 + t2 + t3 + t4 + t5) / (t1 + t2):.2f}x the "
          f"MLP-only demo ({t1 + t2:.1f} s) measured in this run (target: whole demo under 60 s on two idle cores)")


if __name__ == "__main__":
    demo() if "--demo" in sys.argv else main()
