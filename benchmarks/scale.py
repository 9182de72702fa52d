"""Scale: the cost of each analysis in trials (n) and parameters (d), peak memory, the report against Optuna's plots.

Usage: python benchmarks/scale.py [--quick] [--optuna-budget 300]

Every measurement runs in a fresh Python process (``resource`` peak RSS of
that process is the memory figure; the time excludes building the data).
Data: ``hpviz.testing.make_experiment`` random search over ``d`` parameters
(float / log-float / log-int / categorical, cycling), objective
``(x0 - 1)^2 + 0.5 (log10 lr1 + 3)^2 + 0.4 [act3 != relu] + 0.2 x4 log10 lr5``
(as ``benchmarks/report.py``), no logs; 5% failed, 10% pruned.

Sections (issue 19):
1. cost curves: ``importance`` (defaults), ``suggest_space``, ``diagnose`` over n at d = 10 and over d at
   n = 5,000 (time and peak RSS);
2. the full report with default options at 100,000 x 10 and 5,000 x 200 against Optuna's four Matplotlib
   plots on the same study (Optuna in a subprocess stopped after ``--optuna-budget`` s): target ratio <= 1,
   peak RSS < 2 GB;
3. ``importance`` at 5,000 x 500 (default pairs: screened to the top 24 parameters): peak RSS < 2 GB;
4. the stratified sample (``max_trials``): Ishigami + 7 noise parameters at n = 40,000, shares with all
   trials against the default sample of 10,000 and a sample of 2,500 (3 seeds);
5. cold start: ``import hpviz`` (and which heavy modules it pulls in), then the first
   ``hpviz.importance`` call including its imports;
6. the binned-share bootstrap behind ``suggest_space``'s ``fix`` (``share_upper_bound``: resampled by cell,
   normal sums in cells of >= ``NORMAL_CELL`` trials) against the trial-by-trial bootstrap on the same data
   (difference of the upper bounds as a fraction of the bound's distance to the estimate, next to the
   seed-to-seed difference of the trial bootstrap itself), and the ``fix`` rates of ``benchmarks/calibration.py``
   (4.4% share fixed, nothing suggested on pure noise) at 20,000 trials, where the normal sums are used.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SETUP = textwrap.dedent("""
    import json, resource, sys, time, warnings
    sys.path.insert(0, {here!r})
    warnings.simplefilter("ignore")
    import hpviz
    from hpviz.testing import make_experiment
    from report import make_space, objective
    exp = make_experiment({n}, make_space({d}), objective, fail_rate=0.05, prune_rate=0.10, seed=0, name="scale")
    import sklearn.ensemble, scipy.stats  # noqa: F401, E401 - imports outside the timings (cold start: section 5)
""")


def run(code: str, timeout: float | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last. Adds the process's peak RSS."""
    tail = "\nprint(json.dumps(dict(out, rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))\n"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run([sys.executable, "-c", code + tail], capture_output=True, text=True, timeout=timeout,
                              env=env)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def timed(n: int, d: int, call: str, timeout: float | None = None) -> dict:
    code = SETUP.format(here=HERE, n=n, d=d) + textwrap.dedent(f"""
        t0 = time.perf_counter()
        {call}
        out = {{"s": time.perf_counter() - t0}}
    """)
    return run(code, timeout)


def show(r: dict) -> str:
    if "timeout" in r:
        return f"> {r['timeout']:.0f} s (stopped)"
    if "error" in r:
        return f"error: {r['error']}"
    return f"{r['s']:7.2f} s {r['rss_mb']:6.0f} MB"


OPTUNA_PLOTS = """
import io, math
import matplotlib
matplotlib.use("Agg")
import optuna
from optuna.visualization import matplotlib as omp
from report import to_optuna
study = to_optuna(exp)
t0 = time.perf_counter()
for name in ("plot_optimization_history", "plot_param_importances", "plot_slice", "plot_parallel_coordinate"):
    ax = getattr(omp, name)(study)
    import numpy as np
    ax = np.ravel(ax)[0] if isinstance(ax, np.ndarray) else ax
    ax.figure.savefig(io.BytesIO(), format="png", dpi=100)
    matplotlib.pyplot.close(ax.figure)
"""


def section_curves(quick: bool) -> None:
    print("1. cost curves (fresh process each; time of the call, peak RSS of the process)")
    calls = {"importance": "hpviz.importance(exp)", "suggest_space": "hpviz.suggest_space(exp)",
             "diagnose": "hpviz.diagnose(exp)"}
    grid = [(1000, 10), (4000, 10), (16000, 10), (100000, 10), (5000, 50), (5000, 200)]
    if quick:
        grid = [(1000, 10), (16000, 10), (5000, 50)]
    print(f"   {'n':>7} {'d':>4} | " + " | ".join(f"{k:^20}" for k in calls))
    for n, d in grid:
        cells = [show(timed(n, d, call, timeout=900)) for call in calls.values()]
        print(f"   {n:>7} {d:>4} | " + " | ".join(f"{c:^20}" for c in cells), flush=True)


def section_report(quick: bool, budget: float) -> None:
    print(f"2. full report (default options) vs Optuna's four Matplotlib plots (stopped after {budget:.0f} s)")
    cases = [(100000, 10), (5000, 200)] if not quick else [(20000, 10)]
    for n, d in cases:
        code = SETUP.format(here=HERE, n=n, d=d) + textwrap.dedent("""
            import tempfile, pathlib
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                hpviz.report(exp, pathlib.Path(tmp) / "r.html")
            out = {"s": time.perf_counter() - t0}
        """)
        h = run(code, timeout=1800)
        o = run(SETUP.format(here=HERE, n=n, d=d) + OPTUNA_PLOTS + "\nout = {'s': time.perf_counter() - t0}\n",
                timeout=budget)
        if "s" in h and "s" in o:
            ratio = f"{h['s'] / o['s']:.2f}"
        elif "s" in h and "timeout" in o:
            ratio = f"< {h['s'] / budget:.2f}"
        else:
            ratio = "n/a"
        rss_ok = "s" in h and h["rss_mb"] < 2048
        print(f"   {n:>7} x {d:<4} hpviz {show(h)} | optuna {show(o)} | ratio hpviz/optuna {ratio} (target <= 1); "
              f"hpviz peak RSS < 2 GB: {'met' if rss_ok else 'NOT met'}", flush=True)


def section_wide(quick: bool) -> None:
    n, d = (5000, 500) if not quick else (2000, 200)
    r = timed(n, d, "imp = hpviz.importance(exp); out_pairs = len(imp.pairwise)", timeout=1800)
    print(f"3. importance at {n} x {d} (default pairs: top 24 parameters): {show(r)}; "
          f"peak RSS < 2 GB: {'met' if 'rss_mb' in r and r['rss_mb'] < 2048 else 'NOT met'}", flush=True)


def section_sample(quick: bool) -> None:
    n = 40000 if not quick else 12000
    print(f"4. stratified sample: Ishigami + 7 noise at n = {n} (64 trees), shares by max_trials (mean over seeds)")
    code = textwrap.dedent(f"""
        import json, resource, sys, time, warnings
        sys.path.insert(0, {HERE!r})
        import numpy as np, hpviz
        from importance import make_trials
        res = {{}}
        for m in (None, 10000, 2500):
            rows = []
            t = 0.0
            for seed in range({1 if quick else 3}):
                exp, _ = make_trials({n}, 10, seed=seed)
                t0 = time.perf_counter()
                imp = hpviz.importance(exp, max_trials=m)
                t += time.perf_counter() - t0
                ind = imp.individual
                rows.append([ind["x1"], ind["x2"], ind["x3"], imp.pairwise[("x1", "x3")],
                             float(ind.drop(["x1", "x2", "x3"]).max())])
            res[str(m)] = [np.mean(rows, axis=0).tolist(), t / len(rows)]
        out = {{"res": res}}
    """)
    r = run(code, timeout=3600)
    if "res" not in r:
        print(f"   {show(r)}")
        return
    full = r["res"]["None"][0]
    for m, (v, t) in r["res"].items():
        diff = max(abs(a - b) for a, b in zip(v, full))
        print(f"   max_trials={m:>6}: x1 {v[0]:.3f} x2 {v[1]:.3f} x3 {v[2]:.3f} S13 {v[3]:.3f} noise {v[4]:.3f} "
              f"| {t:6.2f} s | largest difference from all trials {diff:.3f}  (truth 0.314 0.442 0 0.244 0)",
              flush=True)


def section_cold() -> None:
    code = textwrap.dedent("""
        import json, resource, sys, time
        t0 = time.perf_counter()
        import hpviz
        t_import = time.perf_counter() - t0
        heavy = sorted(m for m in ("optuna", "ray", "hyperopt", "sklearn", "matplotlib", "scipy", "torch")
                       if m in sys.modules)
        from hpviz.testing import make_experiment
        exp = make_experiment(200, seed=0)
        t0 = time.perf_counter()
        hpviz.importance(exp)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        hpviz.importance(exp)
        out = {"import": t_import, "heavy": heavy, "first": t_first, "second": time.perf_counter() - t0}
    """)
    r = run(code, timeout=600)
    if "import" not in r:
        print(f"5. cold start: {show(r)}")
        return
    print(f"5. cold start: import hpviz {r['import']:.2f} s (heavy modules imported: {r['heavy'] or 'none'}); "
          f"first hpviz.importance (200 x 4, imports included) {r['first']:.2f} s, second {r['second']:.2f} s")


def _trial_bootstrap(codes, y, bins: int, seed: int) -> float:
    """The reference: FIX_BOOTSTRAP resamples of the trials themselves (what share_upper_bound did before)."""
    import numpy as np

    from hpviz.analysis._importance_stats import FIX_BOOTSTRAP, FIX_LEVEL, binned_share

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(FIX_BOOTSTRAP, len(y)))
    return float(np.quantile([binned_share(codes[i], y[i], bins)[0] for i in idx], FIX_LEVEL))


def section_bootstrap(quick: bool) -> None:
    import numpy as np

    from hpviz.analysis._importance_stats import NORMAL_CELL, bin_codes, n_bins, share_upper_bound

    reps = 40 if quick else 200
    print(f"6. binned-share upper bound: cell bootstrap vs trial bootstrap on the same data ({reps} data sets; "
          f"y = 0.2 sin(6u) + noise, 10% inactive; normal sums in cells >= {NORMAL_CELL} trials)")
    rng = np.random.default_rng(1)
    for n in (2700, 20000):
        for noise in ("normal", "lognormal", "t3"):
            diff, seed_diff, width, t_cell, t_trial = [], [], [], 0.0, 0.0
            for rep in range(reps):
                u = rng.random(n)
                b = n_bins(n)
                codes = bin_codes(u, b)
                codes[rng.random(n) < 0.1] = -1
                e = {"normal": rng.normal(size=n), "lognormal": rng.lognormal(size=n),
                     "t3": rng.standard_t(3, size=n)}[noise]
                y = 0.2 * np.sin(6 * u) + e
                t0 = time.perf_counter()
                est, upper = share_upper_bound(codes, y, b, seed=rep)
                t_cell += time.perf_counter() - t0
                t0 = time.perf_counter()
                ref = _trial_bootstrap(codes, y, b, seed=rep)
                t_trial += time.perf_counter() - t0
                diff.append(upper - ref)
                seed_diff.append(_trial_bootstrap(codes, y, b, seed=rep + 10_000) - ref)
                width.append(ref - est)
            w = float(np.mean(width))
            d, sd = np.array(diff) / w, np.array(seed_diff) / w
            print(f"   n={n:>6} {noise:>9}: cell - trial bound {d.mean():+.3f} +- {d.std() / np.sqrt(reps):.3f} "
                  f"(sd {d.std():.3f}) of the width {w:.4f} | trial(seed 2) - trial {sd.mean():+.3f} "
                  f"(sd {sd.std():.3f}) | time per bound: cell {1e3 * t_cell / reps:.1f} ms, "
                  f"trial {1e3 * t_trial / reps:.1f} ms ({t_trial / max(t_cell, 1e-9):.0f}x)", flush=True)
    code = textwrap.dedent(f"""
        import json, resource, sys, time, warnings
        sys.path.insert(0, {HERE!r})
        warnings.simplefilter("ignore")
        import numpy as np, hpviz
        from calibration import _suggest_case
        rng = np.random.default_rng(5)
        R, n = {4 if quick else 20}, 20000
        fixed = quiet = 0
        for _ in range(R):
            sug = hpviz.suggest_space(_suggest_case(rng, n), seed=int(rng.integers(1 << 30)))
            fixed += any(c.param == "x3" and c.action == "fix" for c in sug.changes)
            quiet += not hpviz.suggest_space(_suggest_case(rng, n, noise_only=True)).changes
        out = {{"fixed": fixed, "quiet": quiet, "R": R}}
    """)
    r = run(code, timeout=3600)
    if "R" in r:
        print(f"   suggest_space at 20,000 trials (conservative, {r['R']} runs each): 4.4% parameter fixed "
              f"{r['fixed'] / r['R']:.3f} (target <= 0.10), nothing suggested on pure noise "
              f"{r['quiet'] / r['R']:.3f} (target >= 0.95)", flush=True)
    else:
        print(f"   suggest_space at 20,000 trials: {show(r)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--optuna-budget", type=float, default=300.0)
    ap.add_argument("--only", default="123456", help="sections to run, e.g. 25")
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if "5" in args.only:
        section_cold()
    if "1" in args.only:
        section_curves(args.quick)
    if "3" in args.only:
        section_wide(args.quick)
    if "4" in args.only:
        section_sample(args.quick)
    if "6" in args.only:
        section_bootstrap(args.quick)
    if "2" in args.only:
        section_report(args.quick, args.optuna_budget)
    print(f"load average at end: {os.getloadavg()[0]:.1f}; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
