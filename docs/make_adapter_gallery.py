"""Generate docs/gallery/adapter_*.png: views of real runs from the scikit-learn, SMAC3, Ax and Vizier adapters.

Usage: python docs/make_adapter_gallery.py [--out docs/gallery] [--dpi 80]

Each case is a small real run (seeded), converted by its adapter. Adapters
whose framework is not installed are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import warnings
from pathlib import Path

import hpviz
import hpviz.plot

sys.path.insert(0, str(Path(__file__).parent))
from make_gallery import LIMIT, save  # noqa: E402


def sklearn_halving() -> hpviz.Experiment:
    """HalvingRandomSearchCV on digits: learning curves over n_samples, eliminated candidates PRUNED."""
    from scipy.stats import loguniform
    from sklearn.datasets import load_digits
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    search = HalvingRandomSearchCV(SVC(), {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-5, 1e-1)},
                                   n_candidates=27, factor=3, min_resources=60, cv=3, random_state=0)
    return hpviz.experiment(search.fit(X / 16.0, y))


def smac_multi_fidelity() -> hpviz.Experiment:
    """SMAC's MultiFidelityFacade (Hyperband) on a toy loss: budgets as learning curves."""
    from ConfigSpace import ConfigurationSpace
    from smac import MultiFidelityFacade, Scenario

    cs = ConfigurationSpace({"x": (-5.0, 5.0), "lr": (1e-4, 1e-1)}, seed=0)
    out = Path(tempfile.mkdtemp(prefix="hpviz-gallery-smac-"))
    sc = Scenario(cs, deterministic=True, n_trials=60, min_budget=1, max_budget=27, crash_cost=1e6,
                  output_directory=out, seed=0)
    MultiFidelityFacade(sc, lambda c, seed=0, budget=1: (c["x"] - 1) ** 2 + 5.0 / budget, overwrite=True,
                        logging_level=40).optimize()
    return hpviz.experiment(out)


CASES = {
    "adapter_sklearn_halving_curves": ("sklearn", sklearn_halving, hpviz.plot.curves),
    "adapter_smac_hyperband_curves": ("smac", smac_multi_fidelity, hpviz.plot.curves),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "gallery"))
    ap.add_argument("--dpi", type=int, default=80)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (module, build, view) in CASES.items():
        if importlib.util.find_spec(module) is None:
            print(f"{name:<34} skipped ({module} not installed)")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exp = build()
        size = save(view(exp), out / f"{name}.png", args.dpi)
        flag = "  (over 150 KB: do not commit)" if size > LIMIT else ""
        print(f"{name:<34} {size / 1000:6.1f} KB  {len(exp.trials)} trials {exp.count_by_state()}{flag}")


if __name__ == "__main__":
    main()
