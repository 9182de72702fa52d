"""fANOVA importance: hpviz against Optuna's FanovaImportanceEvaluator, speed and accuracy.

Usage: python benchmarks/importance.py [--quick] [--optuna-budget 120]

Ishigami function f = sin(x1) + 7 sin^2(x2) + 0.1 x3^4 sin(x1) on [-pi, pi]^3,
plus d - 3 pure-noise parameters (cycling float, int, categorical), sampled
uniformly. The same trials go to ``hpviz.importance`` (64 trees, with and
without pairs) and to Optuna's ``FanovaImportanceEvaluator`` (its defaults:
64 trees, max_depth 64, individual importances only; read with
``normalize=False`` so both report fractions of variance). Analytic values:
S1 = 0.3139, S2 = 0.4424, S3 = 0, S13 = 0.2437, everything else 0.

Everything in one table is measured in the same run. Optuna cases whose
run time, extrapolated from the smaller n at the same d (time ~ n^2), would
exceed ``--optuna-budget`` seconds are skipped and marked as such.
Targets: hpviz with pairs >= 20x faster than Optuna at n=1000, d=10; under
10 s at n=4000, d=10; under 60 s at n=10000, d=30.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import optuna

import hpviz
from hpviz import Categorical, Experiment, Float, Int, SearchSpace, Trial

TRUTH = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0, "S13": 0.2437}


def make_trials(n: int, d: int, seed: int = 0) -> tuple[Experiment, optuna.Study]:
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
    rows = [{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in cols.items()} for i in range(n)]
    exp = Experiment(SearchSpace(space), {"value": "min"},
                     [Trial(i, rows[i], {"value": float(y[i])}) for i in range(n)], source="benchmark")
    study = optuna.create_study()
    study.add_trials([optuna.trial.create_trial(params=rows[i], distributions=dists, value=float(y[i]))
                      for i in range(n)])
    return exp, study


def run_hpviz(exp: Experiment, pairs: bool) -> tuple[float, dict]:
    t0 = time.perf_counter()
    imp = hpviz.importance(exp, pairs=pairs, n_trees=64, seed=0)
    dt = time.perf_counter() - t0
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n in 250/1000, d in 3/10, plus the hpviz-only targets")
    ap.add_argument("--optuna-budget", type=float, default=120.0, help="skip Optuna runs predicted to exceed this")
    ap.add_argument("--bias", action="store_true", help="only the bias study of first-order shares (issue 15)")
    ap.add_argument("--bias-reps", type=int, default=3, help="repetitions per cell of the bias study")
    ap.add_argument("--bias-optuna", action="store_true", help="include Optuna's evaluator in the bias study")
    ap.add_argument("--bias-cases", default="", help="comma-separated subset of: " + ",".join(CASES))
    args = ap.parse_args()
    if args.bias:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        bias_study(args.bias_reps, args.bias_optuna, [c for c in args.bias_cases.split(",") if c])
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sizes = (250, 1000) if args.quick else (250, 1000, 4000)
    dims = (3, 10) if args.quick else (3, 10, 30)

    run_hpviz(make_trials(50, 3)[0], pairs=True)  # warm-up: imports scikit-learn outside the timings
    print(f"truth: x1 {TRUTH['x1']:.3f}  x2 {TRUTH['x2']:.3f}  x3 0  S13 {TRUTH['S13']:.3f}  S12 = S23 = noise = 0")
    head = (f"{'n':>6} {'d':>3} | {'hpviz pairs':>11} {'hpviz ind':>9} {'optuna':>9} {'ratio':>7} | "
            f"{'hp x1':>6} {'hp x2':>6} {'hp x3':>6} {'hp S13':>6} {'hp S23':>6} {'hp noi':>6} | "
            f"{'op x1':>6} {'op x2':>6} {'op x3':>6} {'op noi':>6}")
    print(head)
    print("-" * len(head))
    for d in dims:
        last_optuna: tuple[int, float] | None = None
        for n in sizes:
            exp, study = make_trials(n, d)
            t_pairs, acc = run_hpviz(exp, pairs=True)
            t_ind, _ = run_hpviz(exp, pairs=False)
            predicted = None if last_optuna is None else last_optuna[1] * (n / last_optuna[0]) ** 2
            if predicted is not None and predicted > args.optuna_budget:
                op = f"{'skip':>9} {'':>7}"
                op_acc = f"skipped: predicted {predicted:.0f} s > budget {args.optuna_budget:.0f} s"
            else:
                t_op, oacc = run_optuna(study)
                last_optuna = (n, t_op)
                op = f"{t_op:>8.2f}s {t_op / t_pairs:>6.1f}x"
                op_acc = " ".join(f"{oacc[k]:>6.3f}" for k in ("x1", "x2", "x3", "noise"))
            hp_acc = " ".join(f"{acc[k]:>6.3f}" for k in ("x1", "x2", "x3", "S13", "S23", "noise"))
            print(f"{n:>6} {d:>3} | {t_pairs:>10.2f}s {t_ind:>8.2f}s {op} | {hp_acc} | {op_acc}", flush=True)

    print("\nhpviz-only speed targets (64 trees, pairs=True):")
    # (n=4000, d=10 is also a row of the full table.)
    targets = [(4000, 10, 10.0)] if args.quick else [(4000, 10, 10.0), (10000, 30, 60.0)]
    for n, d, limit in targets:
        exp, _ = make_trials(n, d)
        t_pairs, acc = run_hpviz(exp, pairs=True)
        verdict = "ok" if t_pairs < limit else "MISSED"
        print(f"  n={n:>6} d={d:>3}: {t_pairs:6.2f} s (target < {limit:.0f} s: {verdict}); "
              f"x1 {acc['x1']:.3f} x2 {acc['x2']:.3f} S13 {acc['S13']:.3f} S23 {acc['S23']:.3f}")


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


def bias_study(reps: int, with_optuna: bool, cases: list[str] | None = None) -> None:
    print("\nBias of first-order shares: mean over reps of (estimate - truth), by case, n and dummies.")
    print("forest = hpviz.importance (64 trees); screen = the same with screen=True; binned = noise-corrected variance of bin means on the raw")
    print("trials; resid = the same on the objective minus the forest's other main effects; optuna = FanovaImportanceEvaluator (n <= 1000).")
    head = f"{'case':9s} {'n':>5} {'dum':>3} | {'param':5s} {'truth':>6} | {'forest':>7} {'screen':>7} {'binned':>7} {'resid':>7} {'optuna':>7}"
    print(head)
    print("-" * len(head))
    for name, (d, fn, truth, pair) in CASES.items():
        if cases and name not in cases:
            continue
        for n in (250, 1000, 4000):
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
