"""Every public analysis on awkward experiments: a result or a clear hpviz error, never a stray traceback."""

import math
import warnings

import pytest

import hpviz
from hpviz import Categorical, Experiment, Float, HpvizError, Int, SearchSpace, Trial, TrialState
from hpviz.testing import make_experiment

SPACE = SearchSpace({"x": Float(0, 1), "lr": Float(1e-4, 1e-1, log=True), "n": Int(1, 8),
                     "act": Categorical(["relu", "tanh", None])})


def _exp(trials):
    return Experiment(SPACE, {"loss": "min"}, trials)


def _awkward():
    nan_trials = [Trial(i, {"x": 0.5, "lr": 1e-3, "n": 2, "act": "relu"}, {"loss": math.nan}) for i in range(30)]
    inf_mix = [Trial(i, {"x": i / 40, "lr": 1e-3, "n": 2, "act": None},
                     {"loss": math.inf if i % 3 else float(i)}) for i in range(40)]
    inactive = [Trial(i, {"x": i / 40} if i % 2 else {"x": i / 40, "lr": 1e-2, "act": "tanh"}, {"loss": (i % 7) / 7})
                for i in range(40)]
    outside = [Trial(i, {"x": 3.0 * i, "lr": 5.0, "n": 99, "act": "gelu"}, {"loss": float(i % 5)}) for i in range(40)]
    constant = [Trial(i, {"x": i / 40, "lr": 1e-3, "n": 1 + i % 8, "act": "relu"}, {"loss": 1.0}) for i in range(40)]
    states = [Trial(i, {"x": i / 10, "lr": 1e-3, "n": 2, "act": "relu"}, {}, s)
              for i, s in enumerate([TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL, TrialState.PRUNED])]
    return {
        "empty": _exp([]),
        "one-trial": _exp([Trial(0, {"x": 0.5, "lr": 1e-3, "n": 2, "act": "relu"}, {"loss": 1.0})]),
        "all-failed": _exp([Trial(i, {"x": 0.5}, {}, TrialState.FAIL) for i in range(25)]),
        "all-nan": _exp(nan_trials),
        "inf-mix": _exp(inf_mix),
        "inactive": _exp(inactive),
        "out-of-space": _exp(outside),
        "constant": _exp(constant),
        "unfinished": _exp(states),
        "no-params": Experiment({}, {"loss": "min"}, [Trial(i, {}, {"loss": float(i)}) for i in range(30)]),
        "regular": make_experiment(40, log_steps=5, fail_rate=0.1, prune_rate=0.1),
    }


ANALYSES = {
    "diagnose": lambda e: hpviz.diagnose(e),
    "importance": lambda e: hpviz.importance(e, n_trees=8),
    "suggest_space": lambda e: hpviz.suggest_space(e),
    "top_k": lambda e: hpviz.top_k(e, k=5),
    "expected_best": lambda e: hpviz.expected_best(e),
    "compare_rounds": lambda e: hpviz.compare_rounds(e),
    "to_dataframe": lambda e: e.to_dataframe(),
    "flags": lambda e: e.flags(),
}


# enough usable trials here: every analysis must answer (inactive, out-of-space and constant are defined cases)
MUST_ANSWER = {"inactive", "out-of-space", "constant", "regular"}


@pytest.mark.parametrize("case", list(_awkward()))
@pytest.mark.parametrize("analysis", list(ANALYSES))
def test_result_or_hpviz_error(case, analysis):
    exp = _awkward()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant objective warns; that is its defined behaviour
        try:
            result = ANALYSES[analysis](exp)
        except HpvizError as exc:
            assert case not in MUST_ANSWER, f"{analysis} refused {case}: {exc}"
            assert analysis not in ("diagnose", "to_dataframe", "flags"), f"{analysis} must always answer: {exc}"
            # a clear error names what is missing, with numbers where it counts trials
            assert str(exc) and not str(exc).startswith("Traceback")
            return
    assert result is not None


def test_too_few_trials_is_a_finding_not_an_error():
    for case in ("empty", "one-trial", "all-failed", "unfinished"):
        assert "too-few-trials" in hpviz.diagnose(_awkward()[case]).codes, case


@pytest.mark.parametrize("case", ["empty", "one-trial", "all-failed", "all-nan", "constant", "no-params"])
def test_report_renders_awkward_experiments(case, tmp_path):
    path = hpviz.report(_awkward()[case], tmp_path / "r.html")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and "</html>" in text


@pytest.mark.parametrize("call", [
    lambda e: hpviz.diagnose(e, sed=1),
    lambda e: hpviz.importance(e, ntrees=8),
    lambda e: hpviz.suggest_space(e, levle="bold"),
    lambda e: hpviz.compare_rounds(e, objetive="value"),
    lambda e: hpviz.top_k(e, kk=3),
    lambda e: hpviz.pareto_front(e, objective=None),
    lambda e: hpviz.expected_best(e, bands=0.9),
    lambda e: hpviz.compare(e, e, band_level=0.9),
    lambda e: hpviz.from_dataframe(e.to_dataframe(), e.space, objective={"value": "min"}),
])
def test_unknown_keywords_are_type_errors_listing_the_allowed_ones(call):
    exp = hpviz.testing.make_experiment(30, seed=0)
    with pytest.raises(TypeError, match=r"got unexpected keyword argument '\w+'; allowed: "):
        call(exp)
