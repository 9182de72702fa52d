"""Per-split scores as a noise estimate: hpviz._splits, and how compare and suggest_space use it.

Simulations from a known truth (fixed seeds); more repetitions in ``benchmarks/split_noise.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

import hpviz
from hpviz import Categorical, Experiment, Float, Trial
from hpviz._splits import split_noise

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def noisy(seed, n, shift, sd, k, name, splits=True):
    """x has an optimum at 0.3, choice c is worse by 0.03; each value is the mean of k splits of SD ``sd``."""
    rng = np.random.default_rng(seed)
    e = Experiment({"x": Float(0, 1), "c": Categorical(["a", "b", "c"])}, {"accuracy": "max"}, name=name)
    for i in range(n):
        x = rng.random()
        c = ["a", "b", "c"][i % 3]
        true = 0.9 + shift - 0.1 * abs(x - 0.3) - (0.03 if c == "c" else 0.0)
        s = true + rng.normal(0, sd, k)
        e.add(Trial(i, {"x": x, "c": c}, {"accuracy": float(s.mean())},
                    attrs={"split_test_accuracy": s.tolist()} if splits else {}))
    return e


def scores(true, split_sd, k, rng, name, splits=True):
    e = Experiment({"x": Float(0.0, 1e9)}, {"accuracy": "max"}, name=name)
    for i, t in enumerate(true):
        s = t + rng.normal(0.0, split_sd, k)
        e.add(Trial(i, {"x": float(i)}, {"accuracy": float(s.mean())},
                    attrs={"split_test_accuracy": s.tolist()} if splits else {}))
    return e


# --------------------------------------------------------------------------- the estimate


def test_split_noise_pools_the_within_trial_variance():
    e = Experiment({"x": Float(0, 1)}, {"accuracy": "max"})
    e.add(Trial(0, {"x": 0.1}, {"accuracy": 0.5}, attrs={"split_test_accuracy": [0.4, 0.5, 0.6]}))
    e.add(Trial(1, {"x": 0.2}, {"accuracy": 0.7}, attrs={"split_test_accuracy": [0.7, 0.7, 0.9, float("nan")]}))
    e.add(Trial(2, {"x": 0.3}, {"accuracy": 0.7}, attrs={"split_test_accuracy": [0.7]}))  # one split: no df
    e.add(Trial(3, {"x": 0.4}, {"accuracy": 0.7}, attrs={"split_test_accuracy": "0.7, 0.8"}))  # not a list
    e.add(Trial(4, {"x": 0.5}, {"accuracy": 0.7}))
    n = split_noise(e.trials, "accuracy")
    ss = 0.02 + (2 * (0.7 - 0.7667) ** 2 + (0.9 - 0.7667) ** 2)
    assert n.df == 4 and n.n_trials == 2 and n.n_splits == 3
    assert n.sd == pytest.approx(math.sqrt(ss / 4), rel=1e-3)
    assert n.value_sd == pytest.approx(n.sd / math.sqrt(3))
    assert "from 3 CV splits" in n.words()
    assert split_noise(e.trials, "loss") is None
    assert split_noise([e.trials[2], e.trials[4]], "accuracy") is None
    same = Trial(5, {"x": 0.6}, {"accuracy": 0.7}, attrs={"split_test_accuracy": [0.7, 0.7, 0.7]})
    assert split_noise([same], "accuracy") is None  # a deterministic score: no noise to act on


# --------------------------------------------------------------------------- identical without split scores

# Computed with the code before the split-noise rule (main at 68ef034) on the same data.
BEFORE_COMPARE = "A vs B: B beats A at 1 trial; no difference at 2-40 trials (adjusted p = 0.01). Equal-budget permutation test on trials, level 0.05."
BEFORE_P = 0.01
BEFORE_SUGGEST = [["x", "shrink", "Float(low=0.033, high=0.596, log=False, step=None)"], ["c", "drop-choices", "Categorical(choices=('a', 'b'))"]]
BEFORE_REASONS = ["the 15 best trials (accuracy >= 0.8832) span [0.1268, 0.5015] of [0, 1]; padded, the new range keeps 56% of the old; concentration p=0.00015 (Mann-Whitney, distance to their median, best vs other trials); importance 0.61 ± 0.07", "'c': 0 of its 20 trials among the best 15; median accuracy 0.8386 vs 0.8821 for 'b' (n=20); one of its trials beats one of 'b''s with probability 0.04 (<= 0.4), Mann-Whitney p=3e-07"]


def test_without_split_scores_compare_is_unchanged():
    a, b = noisy(1, 40, 0.0, 0.02, 5, "A", False), noisy(2, 40, 0.01, 0.02, 5, "B", False)
    res = hpviz.compare(a, b, permutations=199)
    assert res.statement == BEFORE_COMPARE
    assert res.p_values[("A", "B")] == BEFORE_P
    assert res.noise_rule == "" and dict(res.split_noise) == {}


def test_unusable_split_scores_change_nothing():
    """One split per trial (no within-trial spread) is the same as none."""
    a, b = noisy(1, 40, 0.0, 0.02, 1, "A"), noisy(2, 40, 0.01, 0.02, 1, "B")
    pa, pb = noisy(1, 40, 0.0, 0.02, 1, "A", False), noisy(2, 40, 0.01, 0.02, 1, "B", False)
    assert hpviz.compare(a, b, permutations=199).statement == hpviz.compare(pa, pb, permutations=199).statement


def test_without_split_scores_suggest_is_unchanged():
    sug = hpviz.suggest_space(noisy(3, 60, 0.0, 0.02, 5, "S", False), level="bold")
    assert [[c.param, c.action, repr(c.after)] for c in sug.changes] == BEFORE_SUGGEST
    assert [c.reason for c in sug.changes] == BEFORE_REASONS
    assert sug.notes == () and sug.n_good == 15


# --------------------------------------------------------------------------- compare


def test_compare_noisier_experiment_no_longer_wins_on_noise():
    """Null: both experiments' true values from N(0, 1); A's scores are means of 3 noisy splits (SD of a
    trial's score 1.2), B's of 10 precise ones. The best of n noisier scores is higher by luck."""
    rng = np.random.default_rng(7)
    with_rule = without = 0
    for r in range(20):
        ta, tb = rng.normal(size=50), rng.normal(size=50)
        sa, sb = rng.integers(1 << 30, size=2)
        a, b = scores(ta, 2.0, 3, np.random.default_rng(sa), "A"), scores(tb, 0.3, 10, np.random.default_rng(sb), "B")
        pa = scores(ta, 2.0, 3, np.random.default_rng(sa), "A", False)
        pb = scores(tb, 0.3, 10, np.random.default_rng(sb), "B", False)
        with_rule += hpviz.compare(a, b, permutations=299, seed=r).winner is not None
        without += hpviz.compare(pa, pb, permutations=299, seed=r).winner is not None
    assert without >= 4  # the plain test finds "A wins" on noise alone
    assert with_rule <= 1


def test_compare_power_and_the_rule_in_words():
    rng = np.random.default_rng(8)
    wins = 0
    for r in range(8):
        a = scores(rng.normal(0.0, 1.0, 40), 1.1, 5, rng, "A")
        b = scores(rng.normal(1.0, 1.0, 40), 1.1, 5, rng, "B")
        res = hpviz.compare(a, b, permutations=299, seed=r)
        wins += res.winner == "B"
    assert wins >= 6
    assert set(res.split_noise) == {"A", "B"}
    assert res.split_noise["A"].n_splits == 5
    assert "split noise SD" in res.statement and "from 5 CV splits" in res.statement
    assert "not called a win" in res.noise_rule and res.noise_rule in res.statement


def test_compare_difference_below_the_noise_is_not_a_win():
    """A true shift of 0.3 with 300 trials each is significant, but smaller than a trial's noise (0.49)."""
    rng = np.random.default_rng(9)
    ta, tb = rng.normal(0.0, 1.0, 300), rng.normal(0.3, 1.0, 300)
    sa, sb = rng.integers(1 << 30, size=2)
    a, b = scores(ta, 1.1, 5, np.random.default_rng(sa), "A"), scores(tb, 1.1, 5, np.random.default_rng(sb), "B")
    pa = scores(ta, 1.1, 5, np.random.default_rng(sa), "A", False)
    pb = scores(tb, 1.1, 5, np.random.default_rng(sb), "B", False)
    plain = hpviz.compare(pa, pb, permutations=299)
    assert plain.winner == "B"
    ruled = hpviz.compare(a, b, permutations=299)
    assert ruled.p_values[("A", "B")] <= 0.05  # the test still sees it ...
    assert ruled.winner is None  # ... but no budget's difference reaches the noise
    assert "but smaller than the split noise (0.5)" in ruled.statement


def test_compare_with_split_scores_for_one_experiment_only():
    rng = np.random.default_rng(10)
    a = scores(rng.normal(size=30), 1.0, 5, rng, "A")
    b = scores(rng.normal(size=30), 1.0, 5, rng, "B", splits=False)
    res = hpviz.compare(a, b, permutations=199)
    assert res.split_noise["B"] is None and res.split_noise["A"] is not None
    assert "cannot be equalized" in res.noise_rule


# --------------------------------------------------------------------------- suggest_space


def test_suggest_good_set_includes_trials_tied_with_the_best():
    exp = noisy(3, 60, 0.0, 0.15, 5, "S")
    sug = hpviz.suggest_space(exp, level="bold")
    plain = hpviz.suggest_space(noisy(3, 60, 0.0, 0.15, 5, "S", False), level="bold")
    noise = split_noise(exp.trials, "accuracy")
    band = 1.6448536 * math.sqrt(2) * noise.value_sd
    best = max(t.values["accuracy"] for t in exp.trials)
    tied = sum(t.values["accuracy"] >= best - band for t in exp.trials)
    assert sug.n_good == max(plain.n_good, tied) > plain.n_good
    assert sug.notes[0].startswith("split noise SD") and f"{tied} tied" in sug.notes[0]
    for c in sug.changes:
        assert c.reason.endswith("good trials include all tied with the best")


def test_suggest_does_not_drop_a_choice_worse_by_less_than_the_noise():
    """Choice c is truly worse by 0.5 x the SD of a trial's score; 300 trials make that significant."""
    rng = np.random.default_rng(12)
    n, sd = 300, 0.06
    space = {"x": Float(0.0, 1.0), "c": Categorical(["a", "b", "c"])}
    with_splits, plain = Experiment(space, {"accuracy": "max"}), Experiment(space, {"accuracy": "max"})
    for i in range(n):
        x, c = float(rng.random()), "abc"[i % 3]
        s = 0.9 - 0.05 * abs(x - 0.5) - (0.5 * sd / math.sqrt(5) if c == "c" else 0.0) + rng.normal(0, sd, 5)
        with_splits.add(Trial(i, {"x": x, "c": c}, {"accuracy": float(s.mean())},
                              attrs={"split_test_accuracy": s.tolist()}))
        plain.add(Trial(i, {"x": x, "c": c}, {"accuracy": float(s.mean())}))
    before = hpviz.suggest_space(plain, level="bold")
    assert any(c.param == "c" and c.action == "drop-choices" for c in before.changes)
    after = hpviz.suggest_space(with_splits, level="bold")
    assert not any(c.param == "c" for c in after.changes)
    assert any(note.startswith("c: 'c' is worse") and "not dropped" in note for note in after.notes)


# --------------------------------------------------------------------------- end to end from scikit-learn


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def test_sklearn_search_split_noise_flows_to_compare_and_suggest(digits):
    X, y = digits
    grid = GridSearchCV(RidgeClassifier(), {"alpha": list(np.logspace(-3, 3, 6))}, cv=5).fit(X, y)
    rand = RandomizedSearchCV(RidgeClassifier(), {"alpha": loguniform(1e-3, 1e3)}, n_iter=20, cv=3,
                              random_state=0).fit(X, y)
    res = hpviz.compare(grid, rand, names=["grid", "random"], permutations=199)
    assert res.split_noise["grid"].n_splits == 5 and res.split_noise["random"].n_splits == 3
    sd = np.array([[grid.cv_results_[f"split{k}_test_score"][i] for k in range(5)] for i in range(6)]).std(axis=1, ddof=1)
    assert res.split_noise["grid"].sd == pytest.approx(math.sqrt(np.mean(sd ** 2)))
    assert "from 5 CV splits" in res.statement and "from 3 CV splits" in res.statement
    sug = hpviz.suggest_space(rand)
    assert sug.notes[0].startswith("split noise SD") and "from 3 CV splits" in sug.notes[0]
    assert sug.n_good >= 5
