"""Generate docs/gallery/*.png: one image of every hpviz view, from synthetic tuning runs.

Usage: python docs/make_gallery.py [--out docs/gallery] [--dpi 80]

The runs are synthetic (``hpviz.testing.make_experiment``) and seeded, so the
images are reproducible. Images are palette-quantized PNGs so each stays
small enough to commit (the script reports any above 150 KB).
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np

import hpviz
import hpviz.plot
from hpviz import Categorical, Experiment, Float, Int, SearchSpace, Trial
from hpviz.testing import make_experiment, sample_params

LIMIT = 150_000

SPACE = SearchSpace({
    "learning_rate": Float(1e-5, 1.0, log=True),
    "weight_decay": Float(1e-7, 1e-1, log=True),
    "hidden_units": Int(8, 256, log=True),
    "dropout": Float(0.0, 0.6),
    "batch_size": Categorical([16, 32, 64, 128, 256]),
    "optimizer": Categorical(["adam", "sgd", "rmsprop"]),
})


def loss(p: dict) -> float:
    """A made-up validation loss: best near lr=1e-2, some dropout, adam; weight decay barely matters."""
    lr = math.log10(p["learning_rate"])
    value = 0.15 + 0.08 * (lr + 2.0) ** 2 + 0.3 * (p["dropout"] - 0.25) ** 2
    value += 0.02 * abs(math.log2(p["hidden_units"]) - 6) + (0.0 if p["optimizer"] == "adam" else 0.06)
    value += 0.01 * (lr + 2.0) * (math.log2(p["batch_size"]) - 6)  # an interaction
    return value + 0.001 * abs(math.log10(p["weight_decay"]) + 4)


def two_rounds() -> tuple[Experiment, object]:
    exp = make_experiment(80, SPACE, loss, log_steps=30, prune_rate=0.15, fail_rate=0.04, seed=1,
                          name="mlp-digits (synthetic)")
    exp.framework = "optuna"  # the suggestions panel asks the installed Optuna adapter for native code
    suggestion = hpviz.suggest_space(exp)
    suggestion.apply(exp, note="refined by hpviz.suggest_space")
    rng = np.random.default_rng(2)
    t0 = exp.trials[-1].finished
    import datetime as dt

    for i in range(80, 140):
        p = sample_params(exp.space, rng)
        exp.add(Trial(i, p, {"value": loss(p)}, round=1, started=t0 + dt.timedelta(seconds=i - 80),
                      finished=t0 + dt.timedelta(seconds=i - 79.1)))
    return exp, suggestion


def two_objectives() -> Experiment:
    rng = np.random.default_rng(3)
    exp = Experiment(SPACE, {"error": "min", "latency_ms": "min"}, name="accuracy vs latency (synthetic)")
    for i in range(300):
        p = sample_params(SPACE, rng)
        err = loss(p) + 0.05 * rng.random()
        latency = 2.0 + 0.05 * p["hidden_units"] + 3.0 * rng.random()
        exp.add(Trial(i, p, {"error": err, "latency_ms": latency}))
    return exp


def question_views() -> dict:
    """The views of docs/questions.md, on the constructed runs of the tests (known answers)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from families import good_region_only, halving_run, late_bloomers, model_family, pbt_run

    models = [model_family("gbm", 0, level=0.95, spread=2.0, fit_time=3, timed=True, steps=100),
              model_family("svm", 1, level=0.9, spread=0.4, split_sd=0.03, fit_time=0.3, timed=True, steps=1),
              model_family("logreg", 2, n=120, level=0.88, spread=0.2, lo=0.4, hi=0.6, fit_time=0.05, timed=True,
                           steps=10)]
    return {
        "replay": lambda: hpviz.plot.replay(late_bloomers(0, framework="optuna")[0]),
        "budget_importance": lambda: hpviz.plot.budget_importance(halving_run(0)),
        "local_importance": lambda: hpviz.plot.local_importance(good_region_only(0)),
        "lineage": lambda: hpviz.plot.lineage(pbt_run(0, n=6, quantile=0.5, interval=4)),
        "coverage": lambda: hpviz.plot.coverage(good_region_only(0)),
        "models": lambda: hpviz.plot.models(models, metrics={"acc": "max", "fit_time": "min"}),
    }


def save(display, path: Path, dpi: int) -> int:
    from PIL import Image

    fig = display.figure_
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    img.save(path, format="PNG", optimize=True)
    return path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "gallery"))
    ap.add_argument("--dpi", type=int, default=80)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    exp, suggestion = two_rounds()
    imp = hpviz.importance(exp, n_trees=32, seed=0)
    views = {
        "progress": lambda: hpviz.plot.progress(exp, diagnosis=hpviz.diagnose(exp)),
        "tendrils": lambda: hpviz.plot.tendrils(exp, importance=imp),
        "importance": lambda: hpviz.plot.importance(imp),
        "marginals": lambda: hpviz.plot.marginals(imp, experiment=exp),
        "parallel": lambda: hpviz.plot.parallel(exp, importance=imp),
        "curves": lambda: hpviz.plot.curves(exp),
        "pareto": lambda: hpviz.plot.pareto(hpviz.pareto_front(two_objectives())),
        "expected_best": lambda: hpviz.plot.expected_best(hpviz.expected_best(exp)),
        "compare": lambda: hpviz.plot.compare(hpviz.compare(
            make_experiment(60, SPACE, loss, seed=4, name="random search"),
            make_experiment(30, SPACE.replace(learning_rate=Float(1e-3, 1e-1, log=True)), loss, seed=5,
                            name="narrowed lr"))),
        "findings": lambda: hpviz.plot.findings(hpviz.diagnose(make_experiment(60, SPACE, loss, fail_rate=0.3,
                                                                               seed=6))),
        "suggestions": lambda: hpviz.plot.suggestions(suggestion, experiment=exp),
        "rounds": lambda: hpviz.plot.rounds(exp, comparison=hpviz.compare_rounds(exp)),
        **question_views(),
    }
    for name, draw in views.items():
        size = save(draw(), out / f"{name}.png", args.dpi)
        flag = "  (over 150 KB: do not commit)" if size > LIMIT else ""
        print(f"{name:<14} {size / 1000:6.1f} KB{flag}")


if __name__ == "__main__":
    main()
