"""Experiment.notes: what a converter wants every reader to see is saved and shown in every report."""

import pytest

import hpviz


def _exp(notes):
    exp = hpviz.Experiment({"x": hpviz.Float(0.0, 1.0)}, "v", notes=notes)
    for i in range(6):
        exp.add(hpviz.Trial(i, {"x": i / 6}, {"v": float(i)}))
    return exp


def test_notes_round_trip_and_show_escaped_in_html(tmp_path):
    exp = _exp(["The search space was inferred <from observed values>"])
    exp.save(tmp_path / "e.json")
    loaded = hpviz.load(tmp_path / "e.json")
    assert loaded.notes == exp.notes
    page = hpviz.report(loaded, tmp_path / "r.html").read_text()
    assert "The search space was inferred &lt;from observed values&gt;" in page
    assert "<from observed" not in page


def test_notes_must_be_strings():
    with pytest.raises(hpviz.SchemaError, match="notes"):
        _exp([1, 2])
    assert _exp("one sentence").notes == ["one sentence"]


def test_no_parameters_or_no_trials_report_says_not_enough_data(tmp_path, caplog):
    import logging

    empty = hpviz.Experiment({}, "v")
    no_params = hpviz.Experiment({}, "v", [hpviz.Trial(i, {}, {"v": float(i)}) for i in range(5)])
    for i, exp in enumerate((empty, no_params)):
        with pytest.raises(hpviz.InsufficientDataError, match="parameter"):
            hpviz.importance(exp)
        with caplog.at_level(logging.WARNING):
            page = hpviz.report(exp, tmp_path / f"r{i}.html").read_text()
        assert "view failed" not in page and "Traceback" not in caplog.text


def test_binned_share_never_exceeds_the_whole_variance():
    """With few trials the residualized binned share can overshoot; a share of variance stays in [0, 1]."""
    import numpy as np

    from hpviz.testing import make_experiment

    worst = 0.0
    for seed in range(6):
        exp = make_experiment(30, seed=seed, fn=lambda p: float(np.log10(p["lr"]) ** 2 + 5 * np.sin(p["x"])))
        binned = hpviz.importance(exp, n_trees=8, pair_test=0).individual_binned
        worst = max(worst, float(binned.max()))
        assert ((binned >= 0) & (binned <= 1)).all()
    assert worst > 0.1  # the estimate is informative, not clipped to nothing
