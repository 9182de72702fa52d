"""fANOVA importance: hpviz against Optuna's FanovaImportanceEvaluator, speed and accuracy, in one run.

Usage: python benchmarks/importance.py [--repeat 3]
       python benchmarks/importance.py --bias  (the bias study of first-order shares, issue 15)
       python benchmarks/importance.py --pairs-scale  (cost of the pairs in n, d = 10: flat beyond the leaf cap)
       python benchmarks/importance.py --memory 5000x500  (peak RSS of importance, default pairs and pairs=True)
       python benchmarks/importance.py --forests [--forest-seeds 10] [--forest-candidates a,b]
           (the forest study behind ``_forest_options``: accuracy and time of candidate forests)

Ishigami function f = sin(x1) + 7 sin^2(x2) + 0.1 x3^4 sin(x1) on [-pi, pi]^3,
plus d - 3 pure-noise parameters (cycling float, int, categorical), sampled
uniformly. The same trials go to ``hpviz.importance`` (64 trees, every pair:
``pairs=True``) and to Optuna's ``FanovaImportanceEvaluator`` (its defaults:
64 trees, max_depth 64, individual importances only; read with
``normalize=False`` so both report fractions of variance). Analytic values:
S1 = 0.3139, S2 = 0.4424, S3 = 0, S13 = 0.2437, everything else 0.

Each case runs ``--repeat`` times on fresh data (seeds 0, 1, ...), hpviz and
Optuna alternating so machine load hits both alike; the ratio is
Optuna time / hpviz time per repeat, printed as median [min - max]; hpviz's
time per repeat is the median of 3 calls (Optuna's one call takes seconds).
Targets (issue 19): >= 50x at n=1000, d=10; >= 20x at n=250, d=30; accuracy
(summed absolute error of x1, x2, x3 and the largest noise share, mean over
the repeats) no worse than Optuna's.
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import numpy as np
import optuna

import hpviz
from hpviz import Categorical, Experiment, Float, Int, SearchSpace, Trial

TRUTH = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0, "S13": 0.2437}


def make_trials(n: int, d: int, seed: int = 0, noise: float = 0.0) -> tuple[Experiment, optuna.Study]:
    """The benchmark's trials; ``noise``: standard deviation of Gaussian noise added to the objective (the
    parameters are the same as without)."""
    rng = np.random.default_rng(seed)
    space: dict = {f"x{i}": Float(-math.pi, math.pi) for i in (1, 2, 3)}
    dists: dict = {f"x{i}": optuna.distributions.FloatDistribution(-math.pi, math.pi) for i in (1, 2, 3)}
    cols: dict = {f"x{i}": rng.uniform(-math.pi, math.pi, n) for i in (1, 2, 3)}
    for k in range(d - 3):
        name = f"noise{k}"
        if k % 3 == 0:
            space[name], dists[name] = Float(0.0, 1.0), optuna.distributions.FloatDistribution(0.0, 1.0)
            cols[name] = rng.uniform(0.0, 1.0, n)
        elif k % 3 == 1:
            space[name], dists[name] = Int(1, 10), optuna.distributions.IntDistribution(1, 10)
            cols[name] = rng.integers(1, 11, n)
        else:
            choices = ("a", "b", "c")
            space[name], dists[name] = Categorical(choices), optuna.distributions.CategoricalDistribution(choices)
            cols[name] = np.array(choices, dtype=object)[rng.integers(0, 3, n)]
    x1, x2, x3 = cols["x1"], cols["x2"], cols["x3"]
    y = np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)
    if noise:
        y = y + np.random.default_rng([seed, 1]).normal(0.0, noise, n)
    rows = [{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in cols.items()} for i in range(n)]
    exp = Experiment(SearchSpace(space), {"value": "min"},
                     [Trial(i, rows[i], {"value": float(y[i])}) for i in range(n)], source="benchmark")
    study = optuna.create_study()
    study.add_trials([optuna.trial.create_trial(params=rows[i], distributions=dists, value=float(y[i]))
                      for i in range(n)])
    return exp, study


def run_hpviz(exp: Experiment, pairs: bool, calls: int = 1) -> tuple[float, dict]:
    """Median wall time of ``calls`` identical calls (one call is ~0.3 s: a single timing is at the mercy of
    the shared machine's load) and the accuracy of the result."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        imp = hpviz.importance(exp, pairs=pairs, n_trees=64, seed=0)
        times.append(time.perf_counter() - t0)
    dt = float(np.median(times))
    ind = imp.individual
    acc = {"x1": ind["x1"], "x2": ind["x2"], "x3": ind["x3"],
           "noise": float(ind.drop(["x1", "x2", "x3"]).max()) if len(ind) > 3 else 0.0}
    if pairs:
        acc["S13"] = imp.pairwise[("x1", "x3")]
        acc["S23"] = imp.pairwise[("x2", "x3")]
    return dt, acc


def run_optuna(study: optuna.Study) -> tuple[float, dict]:
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=False)
    dt = time.perf_counter() - t0
    noise = [v for k, v in imp.items() if k.startswith("noise")]
    return dt, {"x1": imp["x1"], "x2": imp["x2"], "x3": imp["x3"], "noise": max(noise, default=0.0)}


def error(acc: dict) -> float:
    return sum(abs(acc[k] - TRUTH.get(k, 0.0)) for k in ("x1", "x2", "x3", "noise"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per case on fresh data (seeds 0, 1, ...)")
    ap.add_argument("--bias", action="store_true", help="only the bias study of first-order shares (issue 15)")
    ap.add_argument("--bias-reps", type=int, default=3, help="repetitions per cell of the bias study")
    ap.add_argument("--bias-optuna", action="store_true", help="include Optuna's evaluator in the bias study")
    ap.add_argument("--bias-cases", default="", help="comma-separated subset of: " + ",".join(CASES))
    ap.add_argument("--bias-n", default="250,1000,4000", help="comma-separated trial counts of the bias study "
                    "(Optuna's evaluator runs at n <= 1000 only: ~20 s per fit at 1000)")
    ap.add_argument("--pairs-scale", action="store_true", help="only the cost of the pairs against n (d = 10)")
    ap.add_argument("--memory", default="", help="NxD: only the peak RSS of importance at that size (subprocesses)")
    ap.add_argument("--forests", action="store_true", help="only the study of candidate forests (accuracy, time)")
    ap.add_argument("--forest-seeds", type=int, default=10, help="data seeds per case of the forest study")
    ap.add_argument("--forest-candidates", default="", help="comma-separated subset of: " + ",".join(FORESTS))
    ap.add_argument("--forest-cases", default="250x30,1000x10,100x5,4000x10,150x10,250x30+2,1000x10+2",
                    help="NxD[+SD] cases of the forest study (+SD: Gaussian noise of that standard deviation added "
                    "to the objective, whose variance is 13.8; the truth stays the function's shares)")
    ap.add_argument("--forest-optuna", action="store_true", help="add Optuna's evaluator to the forest study "
                    "(n <= 1000; ~10 s per fit at 1000 x 10)")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.forests:
        forest_study([c for c in args.forest_candidates.split(",") if c] or list(FORESTS), args.forest_seeds,
                     [_case(c) for c in args.forest_cases.split(",") if c],
                     args.forest_optuna)
        return
    if args.pairs_scale:
        pairs_scale()
        return
    if args.memory:
        memory(*(int(v) for v in args.memory.lower().split("x")))
        return
    if args.bias:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        bias_study(args.bias_reps, args.bias_optuna, [c for c in args.bias_cases.split(",") if c],
                   tuple(int(v) for v in args.bias_n.split(",") if v))
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_hpviz(make_trials(50, 3)[0], pairs=True)  # warm-up: imports scikit-learn outside the timings
    print(f"truth: x1 {TRUTH['x1']:.3f}  x2 {TRUTH['x2']:.3f}  x3 0  S13 {TRUTH['S13']:.3f}  S23 = noise = 0")
    for n, d, target in ((1000, 10, 50.0), (250, 30, 20.0)):
        ratios, t_h, t_o, err_h, err_o, s13 = [], [], [], [], [], []
        for seed in range(args.repeat):
            exp, study = make_trials(n, d, seed=seed)
            th, acc = run_hpviz(exp, pairs=True, calls=3)
            to, oacc = run_optuna(study)
            ratios.append(to / th)
            t_h.append(th)
            t_o.append(to)
            err_h.append(error(acc))
            err_o.append(error(oacc))
            s13.append(acc["S13"])
            print(f"  n={n} d={d} seed {seed}: hpviz {th:.2f} s (x1 {acc['x1']:.3f} x2 {acc['x2']:.3f} "
                  f"x3 {acc['x3']:.3f} S13 {acc['S13']:.3f} noise {acc['noise']:.3f}), optuna {to:.2f} s "
                  f"(x1 {oacc['x1']:.3f} x2 {oacc['x2']:.3f} x3 {oacc['x3']:.3f} noise {oacc['noise']:.3f})",
                  flush=True)
        med = float(np.median(ratios))
        print(f"n={n} d={d}: hpviz (pairs) {np.median(t_h):.2f} s, optuna (individual) {np.median(t_o):.2f} s; "
              f"ratio optuna/hpviz median {med:.1f}x [{min(ratios):.1f} - {max(ratios):.1f}] "
              f"(target >= {target:.0f}x: {'met' if med >= target else 'NOT met'}); "
              f"error hpviz {np.mean(err_h):.3f} vs optuna {np.mean(err_o):.3f} "
              f"({'no worse' if np.mean(err_h) <= np.mean(err_o) else 'WORSE'}); hpviz S13 {np.mean(s13):.3f}",
              flush=True)
    print(f"load average after the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")



# --------------------------------------------------------------------------- forest study (--forests, issue 19)


def _leaf_cap(n: int, cap: int = 512) -> int:
    return max(1, math.ceil(n / cap))


def _tree_options(splitter: str = "best", share: float = 0.7, leaf=lambda n, d: _leaf_cap(n), **extra):
    """A candidate ``_forest_options(n, d)``: bootstrap over all parameters when subsampling would leave
    fewer than 3 candidates (as the default does), else no bootstrap and ``share`` of the parameters."""

    def options(n: int, d: int) -> dict:
        k = max(2, int(share * d))
        base = {"splitter": splitter, "min_samples_leaf": int(leaf(n, d)), **extra}
        if k >= d:
            return {**base, "bootstrap": True, "max_features": 1.0}
        return {**base, "bootstrap": False, "max_features": k}

    return options


#: Candidate forests: name -> ``_forest_options(n, d)``. "default" is what hpviz uses.
FORESTS = {
    "default": None,
    "best leaf1": _tree_options(),  # hpviz before issue 19's forest study
    "best leaf min(3,n//50)": _tree_options(leaf=lambda n, d: max(1, min(3, n // 50), _leaf_cap(n))),
    "best leaf3 n>=150,d>=10": _tree_options(leaf=lambda n, d: max(3 if n >= 150 and d >= 10 else 1, _leaf_cap(n))),
    **{f"best leaf{k}": _tree_options(leaf=lambda n, d, k=k: max(k, _leaf_cap(n))) for k in (2, 3, 4, 5, 6, 8)},
    "best split4": _tree_options(min_samples_split=4),
    "best share.5": _tree_options(share=0.5),
    "best share1": _tree_options(share=1.0),
    "best cap128": _tree_options(leaf=lambda n, d: _leaf_cap(n, 128)),
    "best cap256": _tree_options(leaf=lambda n, d: _leaf_cap(n, 256)),
    "best depth12": _tree_options(max_depth=12),
    "random leaf1": _tree_options("random"),
    "random leaf2": _tree_options("random", leaf=lambda n, d: max(2, _leaf_cap(n))),
    "random leaf3": _tree_options("random", leaf=lambda n, d: max(3, _leaf_cap(n))),
    "random share1": _tree_options("random", share=1.0),
    "random share1 leaf2": _tree_options("random", share=1.0, leaf=lambda n, d: max(2, _leaf_cap(n))),
}


def _case(text: str) -> tuple[int, int, float]:
    size, _, sd = text.lower().partition("+")
    n, d = (int(v) for v in size.split("x"))
    return n, d, float(sd or 0.0)


def _spurious(imp) -> tuple[float, float]:
    """Sum and largest share of the pairs other than the true one (x1, x3)."""
    pw = imp.pairwise.drop([("x1", "x3"), ("x3", "x1")], errors="ignore")
    return float(pw.sum()), float(pw.max()) if len(pw) else 0.0


def _study_call(exp: Experiment) -> tuple[float, float, dict]:
    """Wall and CPU time of the benchmark's call and its accuracy."""
    t0, c0 = time.perf_counter(), time.process_time()
    imp = hpviz.importance(exp, pairs=True, n_trees=64, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ind = imp.individual
    noise = ind.drop(["x1", "x2", "x3"])
    spur_sum, spur_max = _spurious(imp)
    acc = {"x1": ind["x1"], "x2": ind["x2"], "x3": ind["x3"], "noise": float(noise.max()) if len(noise) else 0.0,
           "noise_sum": float(noise.sum()), "S13": float(imp.pairwise[("x1", "x3")]), "spur_sum": spur_sum,
           "spur_max": spur_max}
    return wall, cpu, acc


def forest_study(names: list[str], seeds: int, cases: list[tuple[int, int, float]], with_optuna: bool) -> None:
    """Accuracy and time of candidate forests on Ishigami + d - 3 noise parameters (the benchmark's data),
    ``seeds`` fresh data sets per case, the candidates interleaved per data set so machine load hits all
    alike. Accuracy: mean over seeds; err = the benchmark's summed absolute error (x1, x2, x3, largest noise
    share); S13 (truth 0.244); noise = summed noise shares; spur = summed and largest share of the pairs
    other than (x1, x3) (truth 0). Time: median wall and CPU of one default call (every pair, pair test)."""
    import hpviz.analysis.importance as mod

    unknown = set(names) - set(FORESTS)
    if unknown:
        raise SystemExit(f"unknown forests {sorted(unknown)}; choose from {', '.join(FORESTS)}")
    default = mod._forest_options
    run_hpviz(make_trials(50, 3)[0], pairs=True)  # warm-up
    print(f"forest study: {seeds} data seeds per case, forest seed 0, 64 trees; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"truth: x1 {TRUTH['x1']:.3f}  x2 {TRUTH['x2']:.3f}  x3 0  S13 {TRUTH['S13']:.3f}  noise = spur = 0")
    head = (f"{'case':>10} {'forest':20s} | {'err':>6} {'x1':>6} {'x2':>6} {'x3':>6} {'S13':>6} {'noise':>6} "
            f"{'spur':>6} {'spmax':>6} | {'leaves':>6} {'wall s':>6} {'CPU s':>6}")
    for n, d, sd in cases:
        label = f"{n}x{d}" + (f"+{sd:g}" if sd else "")
        rows: dict[str, list] = {k: [] for k in names}
        oacc = []
        for seed in range(seeds):
            exp, study = make_trials(n, d, seed=seed, noise=sd)
            for name in names:
                mod._forest_options = default if FORESTS[name] is None else FORESTS[name]
                try:
                    leaves = _mean_leaves(mod, exp, n, d)
                    wall, cpu, acc = _study_call(exp)
                finally:
                    mod._forest_options = default
                acc["leaves"] = leaves
                rows[name].append((wall, cpu, acc))
            if with_optuna and n <= 1000:
                oacc.append(run_optuna(study)[1])
        print(f"\n{head}\n{'-' * len(head)}")
        for name in names:
            accs = [a for _, _, a in rows[name]]
            m = {k: float(np.mean([a[k] for a in accs])) for k in accs[0]}
            err = float(np.mean([error(a) for a in accs]))
            print(f"{label:>10} {name:20s} | {err:6.3f} {m['x1']:6.3f} {m['x2']:6.3f} {m['x3']:6.3f} "
                  f"{m['S13']:6.3f} {m['noise_sum']:6.3f} {m['spur_sum']:6.3f} {m['spur_max']:6.3f} | "
                  f"{m['leaves']:6.0f} {np.median([w for w, _, _ in rows[name]]):6.3f} "
                  f"{np.median([c for _, c, _ in rows[name]]):6.3f}", flush=True)
        if oacc:
            m = {k: float(np.mean([a[k] for a in oacc])) for k in ("x1", "x2", "x3", "noise")}
            print(f"{label:>10} {'optuna (evaluator)':20s} | {np.mean([error(a) for a in oacc]):6.3f} "
                  f"{m['x1']:6.3f} {m['x2']:6.3f} {m['x3']:6.3f} {'-':>6} {'-':>6} {'-':>6} {'-':>6} | "
                  f"(largest noise share {m['noise']:.3f})", flush=True)
        # paired differences against the first candidate (same data), with their standard errors
        def paired(name: str, key, rows: dict = rows) -> str:
            diff = np.array([key(a) for _, _, a in rows[name]]) - [key(a) for _, _, a in rows[names[0]]]
            se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan
            return f"{diff.mean():+.3f} (se {se:.3f})"

        for name in names[1:]:
            print(f"{label:>10} {name:20s}   minus {names[0]}: err {paired(name, error)}, "
                  f"|S13 - truth| {paired(name, lambda a: abs(a['S13'] - TRUTH['S13']))}, "
                  f"spur {paired(name, lambda a: a['spur_sum'])}, spmax {paired(name, lambda a: a['spur_max'])}, "
                  f"x3 {paired(name, lambda a: a['x3'])}, noise {paired(name, lambda a: a['noise_sum'])}")
    print(f"load average after the study: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _mean_leaves(mod, exp: Experiment, n: int, d: int) -> float:
    """Mean leaves per tree of the forest the current options grow on ``exp`` (a few trees)."""
    enc = mod._encode(exp, exp.trials)
    y = np.array([t.values["value"] for t in exp.trials])
    forest = mod._fit_forest(enc.X, y, 4, 0)
    return float(np.mean([t.get_n_leaves() for t in forest.estimators_]))


# --------------------------------------------------------------------------- pairs in n, memory (issue 19)


def pairs_scale(sizes: tuple[int, ...] = (1000, 2000, 4000, 8000, 16000), d: int = 10) -> None:
    """Time of importance with and without pairs (and the pair test) against n: the pairs' share of the
    work stops growing once the leaf cap (512 leaves per tree) binds, whatever n."""
    print(f"pairs against n (d = {d}, 64 trees, best of 3, pairs and no pairs alternating):")
    run_hpviz(make_trials(50, 3)[0], pairs=True)
    for n in sizes:
        exp = make_trials(n, d, seed=0)[0]
        best = {"pairs": math.inf, "none": math.inf}
        for _ in range(3):
            for key, pairs in (("pairs", True), ("none", False)):
                t0 = time.perf_counter()
                hpviz.importance(exp, pairs=pairs, n_trees=64, seed=0, pair_test=0)
                best[key] = min(best[key], time.perf_counter() - t0)
        print(f"  n={n:>6}: with pairs {best['pairs']:.2f} s, without {best['none']:.2f} s, "
              f"pairs cost {best['pairs'] - best['none']:+.2f} s", flush=True)


_MEMORY_CHILD = """
import resource, sys, time
import numpy as np
import hpviz
from hpviz import Experiment, Float, SearchSpace, Trial
n, d, pairs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pairs = {"true": True, "auto": "auto"}[pairs]
rng = np.random.default_rng(0)
U = rng.random((n, d))
y = np.sin(6 * U[:, 0]) + U[:, 1] * U[:, 2] + 0.1 * rng.normal(size=n)
names = [f"p{j}" for j in range(d)]
exp = Experiment(SearchSpace({k: Float(0.0, 1.0) for k in names}), {"y": "min"},
                 [Trial(i, dict(zip(names, U[i].tolist())), {"y": float(y[i])}) for i in range(n)])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t, c = time.perf_counter(), time.process_time()
imp = hpviz.importance(exp, pairs=pairs)
print(f"{len(imp.pairwise)} pairs: {time.perf_counter() - t:.0f} s wall, {time.process_time() - c:.0f} s CPU, "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (data and imports "
      f"{before:.0f} MB); strongest pair {imp.pairwise.index[0]} {imp.pairwise.iloc[0]:.3f} (truth p1 x p2)")
"""


def memory(n: int, d: int) -> None:
    """Peak RSS of ``hpviz.importance`` at n x d (default pairs, then every pair), each in a fresh process."""
    import subprocess
    import sys

    for pairs in ("auto", "true"):
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(n), str(d), pairs], capture_output=True,
                             text=True, check=False)
        print(f"importance at {n} x {d}, pairs={pairs!r}: {(out.stdout or out.stderr).strip()} "
              f"(target < 2,000 MB)", flush=True)


# --------------------------------------------------------------------------- bias study (--bias, issue 15 item 10)


def _g_truth(a: np.ndarray) -> np.ndarray:
    v = 1.0 / (3.0 * (1.0 + a) ** 2)
    return v / (np.prod(1.0 + v) - 1.0)


G_A = np.array([0.0, 1.0, 4.5, 9.0, 99.0, 99.0])
LIN_C = np.sqrt(np.array([0.60, 0.33, 0.07]))  # shares 60%, 33%, 7%
CASES = {
    # name: (dimension, function of U in [0,1]^d, first-order truth, true pair (i, j, share) or None)
    "ishigami": (3, lambda U: (lambda X: np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2
                               + 0.1 * X[:, 2] ** 4 * np.sin(X[:, 0]))(-math.pi + 2 * math.pi * U),
                 np.array([0.3139, 0.4424, 0.0]), (0, 2, 0.2437)),
    "sobol-G": (6, lambda U: np.prod((np.abs(4 * U - 2) + G_A) / (1 + G_A), axis=1), _g_truth(G_A), None),
    "linear": (3, lambda U: (U - 0.5) @ LIN_C * math.sqrt(12), LIN_C**2, None),
    "product": (2, lambda U: (U[:, 0] - 0.5) * (U[:, 1] - 0.5), np.array([0.0, 0.0]), (0, 1, 1.0)),
}


def _binned(U: np.ndarray, y: np.ndarray) -> np.ndarray:
    from hpviz.analysis._importance_stats import bin_codes, binned_share, n_bins

    b = n_bins(len(y))
    return np.array([binned_share(bin_codes(U[:, j], b), y, b)[0] for j in range(U.shape[1])])


def _residual_binned(exp: Experiment, imp, U: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Binned share on the objective minus the forest's main effects of the other parameters."""
    from hpviz.analysis._importance_stats import bin_codes, binned_share, main_effect_at, n_bins

    b = n_bins(len(y))
    space = exp.all_params()
    effects = {k: main_effect_at(imp, k, space[k], exp.trials) for k in imp.params}
    total = sum(effects.values())
    out = []
    for j in range(U.shape[1]):
        resid = y - (total - effects[f"p{j}"])
        out.append(binned_share(bin_codes(U[:, j], b), resid, b)[0] * np.var(resid, ddof=1) / np.var(y, ddof=1))
    return np.array(out)


def bias_study(reps: int, with_optuna: bool, cases: list[str] | None = None,
               sizes: tuple[int, ...] = (250, 1000, 4000)) -> None:
    print("\nBias of first-order shares: mean over reps of (estimate - truth), by case, n and dummies.")
    print("forest = hpviz.importance (64 trees); screen = the same with screen=True; binned = noise-corrected variance of bin means on the raw")
    print("trials; resid = the same on the objective minus the forest's other main effects; optuna = FanovaImportanceEvaluator (n <= 1000).")
    head = f"{'case':9s} {'n':>5} {'dum':>3} | {'param':5s} {'truth':>6} | {'forest':>7} {'screen':>7} {'binned':>7} {'resid':>7} {'optuna':>7}"
    print(head)
    print("-" * len(head))
    for name, (d, fn, truth, pair) in CASES.items():
        if cases and name not in cases:
            continue
        for n in sizes:
            for dummies in (0, 20):
                est = {k: [] for k in ("forest", "screened", "binned", "resid", "optuna", "pair", "pair_s")}
                for r in range(reps):
                    rng = np.random.default_rng(1000 * r + n + dummies)
                    U = rng.random((n, d + dummies))
                    y = fn(U[:, :d])
                    exp = Experiment({f"p{j}": Float(0.0, 1.0) for j in range(d + dummies)}, {"y": "min"})
                    for i in range(n):
                        exp.add(Trial(i, {f"p{j}": float(U[i, j]) for j in range(d + dummies)}, {"y": float(y[i])}))
                    imp = hpviz.importance(exp, pairs=pair is not None, n_trees=64, seed=r)
                    est["forest"].append([imp.individual[f"p{j}"] for j in range(d)])
                    if pair is not None:
                        est["pair"].append(imp.pairwise[(f"p{pair[0]}", f"p{pair[1]}")])
                    scr = hpviz.importance(exp, pairs=pair is not None, n_trees=64, seed=r, screen=True)
                    est["screened"].append([scr.individual[f"p{j}"] for j in range(d)])
                    if pair is not None:
                        est["pair_s"].append(scr.pairwise[(f"p{pair[0]}", f"p{pair[1]}")])
                    est["binned"].append(_binned(U, y)[:d])
                    est["resid"].append(_residual_binned(exp, imp, U, y)[:d])
                    if with_optuna and n <= 1000:
                        est["optuna"].append(_optuna_shares(U, y, d))
                for j in range(d):
                    cells = []
                    for k in ("forest", "screened", "binned", "resid", "optuna"):
                        cells.append(f"{np.mean([e[j] for e in est[k]]) - truth[j]:>+7.3f}" if est[k] else f"{'-':>7}")
                    print(f"{name:9s} {n:>5} {dummies:>3} | p{j:<4d} {truth[j]:>6.3f} | " + " ".join(cells), flush=True)
                if pair is not None:
                    print(f"{name:9s} {n:>5} {dummies:>3} | S{pair[0]}{pair[1]}   {pair[2]:>6.3f} | "
                          f"{np.mean(est['pair']) - pair[2]:>+7.3f} {np.mean(est['pair_s']) - pair[2]:>+7.3f} "
                          f"(forest pair share, without and with screen=True)", flush=True)


def _optuna_shares(U: np.ndarray, y: np.ndarray, d: int) -> list[float]:
    dists = {f"p{j}": optuna.distributions.FloatDistribution(0.0, 1.0) for j in range(U.shape[1])}
    study = optuna.create_study()
    study.add_trials([optuna.trial.create_trial(params={f"p{j}": float(U[i, j]) for j in range(U.shape[1])},
                                                distributions=dists, value=float(y[i])) for i in range(len(y))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0), normalize=False)
    return [imp[f"p{j}"] for j in range(d)]


if __name__ == "__main__":
    main()
