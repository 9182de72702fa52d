"""Each view states in one line what its bands and verdicts mean (issue 15, acceptance)."""

from __future__ import annotations

import numpy as np

import hpviz
from hpviz import Experiment, Float, Trial
from hpviz.plot._findings import FINDINGS_NOTE, FindingsDisplay
from hpviz.plot._rounds import _comparison_text


def _exp(rounds: int = 1) -> Experiment:
    rng = np.random.default_rng(0)
    exp = Experiment({"x": Float(0, 1)}, {"loss": "min"})
    for r in range(rounds):
        if r:
            exp.next_round(hpviz.SearchSpace({"x": Float(0, 1)}))
        for i in range(30):
            exp.add(Trial(30 * r + i, {"x": float(rng.random())}, {"loss": float(rng.normal())}, round=r))
    return exp


def test_findings_state_their_levels_and_correction() -> None:
    view = FindingsDisplay(hpviz.diagnose(_exp()))
    assert FINDINGS_NOTE in view._repr_html_() and "no correction across rules" in FINDINGS_NOTE
    texts = [t.get_text() for t in view.plot().figure_.texts]
    assert any("Each finding names its test" in t for t in texts)


def test_round_verdicts_state_test_level_and_correction() -> None:
    text = _comparison_text(hpviz.compare_rounds(_exp(rounds=2)))
    assert "permutation test at level 0.05, uncorrected over the consecutive pairs" in text
