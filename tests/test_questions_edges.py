"""Every new analysis answers or raises an hpviz error on awkward experiments (never a numpy/sklearn traceback)."""

from __future__ import annotations

import warnings

import pytest
from test_edge_cases import _awkward

import hpviz
from hpviz import HpvizError

ANALYSES = {
    "replay": lambda e: hpviz.replay(e),
    "budget_importance": lambda e: hpviz.budget_importance(e, n_trees=8),
    "local_importance": lambda e: hpviz.local_importance(e, n_trees=8),
    "coverage": lambda e: hpviz.coverage(e),
    "lineage": lambda e: hpviz.lineage(e),
    "compare_models": lambda e: hpviz.compare_models([e, e]),
}
# enough data for each: these must answer
MUST_ANSWER = {
    "replay": {"regular"},
    "budget_importance": {"regular"},
    "local_importance": {"inactive", "out-of-space", "constant", "regular"},
    "coverage": {"inactive", "out-of-space", "constant", "regular", "all-nan", "inf-mix", "unfinished",
                 "all-failed"},
    "lineage": set(),
    "compare_models": {"regular"},
}


@pytest.mark.parametrize("case", list(_awkward()))
@pytest.mark.parametrize("analysis", list(ANALYSES))
def test_result_or_hpviz_error(case, analysis):
    exp = _awkward()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = ANALYSES[analysis](exp)
        except HpvizError as exc:
            assert case not in MUST_ANSWER[analysis], f"{analysis} refused {case}: {exc}"
            assert str(exc)
            return
    assert result is not None and len(result.to_dataframe()) >= 0
