"""Budget-aware importance and suggestions on runs that stop most trials early."""

from __future__ import annotations

import warnings

import pytest
from families import halving_run, late_bloomers

import hpviz
from hpviz.analysis.rungs import MIN_LEVEL_TRIALS, at_highest_budget, budget_importance, budget_levels


def test_levels_are_the_rungs_enough_trials_reached():
    exp = halving_run(0)  # 81 trials: 81 reach 1, 27 reach 3, 9 reach 9, 3 reach 27
    assert budget_levels(exp) == [1.0, 3.0]
    assert budget_levels(exp, min_trials=9) == [1.0, 3.0, 9.0]


def test_importance_shifts_with_budget():
    exp = halving_run(0)
    bi = budget_importance(exp)
    assert bi.levels == (1.0, 3.0) and bi.n_trials == (81, 27)
    assert bi.at(1.0).individual.index[0] == "fast"  # early values: how fast a trial starts
    assert bi.at(3.0).individual.index[0] == "good"  # later: where it ends
    assert "changes with budget: fast at budget 1, good at budget 3" in bi.message
    df = bi.to_dataframe()
    assert set(df["budget"]) == {1.0, 3.0} and len(df) == 6
    assert bi.table().shape == (3, 2)
    assert "<b>BudgetImportance" in bi._repr_html_() and "budget levels" in bi._repr_html_()


def test_importance_and_suggestions_fall_back_to_the_highest_budget():
    exp = halving_run(1)
    assert len(exp.completed()) == 3
    with pytest.warns(UserWarning, match="analysed at budget 3"):
        imp = hpviz.importance(exp)
    assert imp.budget == 3.0 and imp.n_used == 27
    assert imp.individual.index[0] == "good"
    sug = hpviz.suggest_space(exp)
    assert sug.notes[0].startswith("only 3 COMPLETE trials: analysed at budget 3")
    assert sug.n_used == 27
    shrunk = {c.param: c for c in sug.changes}
    if "good" in shrunk:  # any change to the decisive parameter keeps its optimum 0.3
        assert shrunk["good"].after.low <= 0.3 <= shrunk["good"].after.high
    # an experiment with enough COMPLETE trials is analysed as before
    full, _ = late_bloomers(0)
    assert at_highest_budget(full, "loss", MIN_LEVEL_TRIALS) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hpviz.importance(full).budget is None


def test_bad_levels_are_clear_errors():
    exp = halving_run(0)
    with pytest.raises(hpviz.SchemaError, match="budget level 9 was reached by 9 trials"):
        budget_importance(exp, levels=[9])
    with pytest.raises(hpviz.SchemaError, match="levels must be finite numbers"):
        budget_importance(exp, levels=["a"])
    few = halving_run(0, n=9)
    with pytest.raises(hpviz.InsufficientDataError, match="at least 10 trials"):
        budget_importance(few)


def test_level_trials_equal_the_validated_copies():
    """The level experiment builds its trials without validating them again: field for field they are what
    ``dataclasses.replace`` (which validates) gives, and they share no mutable mapping with the originals."""
    from dataclasses import replace

    from hpviz.analysis._steps import curves
    from hpviz.analysis.rungs import _level_experiment
    from hpviz.schema import Trial, TrialState

    exp = halving_run(0)
    t0 = exp.trials[0]
    exp.add(Trial(1000, dict(t0.params), {"loss": 0.5}, state=TrialState.PRUNED, log=t0.log, attrs={"a": 1},
                  constraints={"c": -1.0}))
    cs = curves(exp, "loss")
    level = _level_experiment(exp, cs, 3.0)
    assert len(level) == 28
    vals = dict(zip((t.number for t in cs.trials), cs.final(3.0)))
    originals = {t.number: t for t in exp.trials}
    for t in level.trials:
        orig = originals[t.number]
        want = replace(orig, values={**orig.values, "loss": float(vals[t.number])}, state=TrialState.COMPLETE,
                       budget=3.0)
        assert t == want and type(t) is Trial
        assert t.params is not orig.params and t.values is not orig.values and t.attrs is not orig.attrs
        assert orig.constraints is None or t.constraints is not orig.constraints
    assert originals[1000].state is TrialState.PRUNED and originals[1000].values == {"loss": 0.5}


def test_curves_at_reads_every_curve_at_once_like_searchsorted_per_curve():
    """``Curves.at`` on all curves at once is, value for value, the last point at or before each grid step of
    each curve (ties in steps: the last of them), NaN before a curve starts and after it ends."""
    import numpy as np

    from hpviz.analysis._steps import Curves

    rng = np.random.default_rng(3)
    steps, values = [], []
    for _ in range(60):
        s = np.sort(rng.choice([0.5, 1, 2, 2, 3, 7.25, 9, 40, 41, 1e6], size=rng.integers(1, 9)))
        steps.append(s.astype(float))
        values.append(rng.normal(size=s.size))
    cs = Curves("loss", "min", tuple(range(60)), tuple(steps), tuple(values))
    grid = [-1.0, 0.5, 0.7, 2.0, 3.0, 8.0, 41.0, 1e6, 2e6, float("nan")]
    got = cs.at(grid)
    for r, (s, v) in enumerate(zip(steps, values)):
        for j, g in enumerate(grid):
            i = np.searchsorted(s, g, side="right") - 1
            want = v[i] if i >= 0 and g <= s[-1] else np.nan
            assert got[r, j] == want or (np.isnan(want) and np.isnan(got[r, j]))
    assert cs.at([]).shape == (60, 0)
    assert Curves("loss", "min", (), (), ()).at([1.0]).shape == (0, 1)
