"""Local (top-quantile) importance beside global importance, and its veto on wrong fixes."""

from __future__ import annotations

import warnings

import pytest
from families import good_region_only, halving_run

import hpviz
from hpviz.analysis.local import DEFAULT_Q, LocalImportance, local_importance


@pytest.mark.parametrize("seed", [0, 1])
def test_a_parameter_that_matters_only_among_good_trials(seed):
    exp = good_region_only(seed)
    li = local_importance(exp)
    assert isinstance(li, LocalImportance) and li.q == DEFAULT_Q and li.n_top == 30
    g, loc = li.global_.individual, li.local.individual
    assert g.index[0] == "gate" and g["fine"] < 0.05  # globally fine looks negligible
    assert loc["fine"] > 0.1 and loc["fine"] > 3 * g["fine"] and loc["fine"] > loc["idle"]
    df = li.to_dataframe()
    assert list(df.columns) == ["param", "global", "global_std", "local", "local_std"]
    assert "fine matter(s) much more among good configurations" in li.message
    assert "<b>LocalImportance" in li._repr_html_() and "among the best (local)" in li._repr_html_()


def test_q_and_budget_fallback():
    exp = good_region_only(0)
    assert local_importance(exp, q=0.5).n_top == 60
    with pytest.raises(hpviz.SchemaError, match=r"q must be a number in \(0, 1\), got 1.5"):
        local_importance(exp, q=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        li = local_importance(halving_run(0))  # 3 COMPLETE trials: both at the highest budget level
    assert li.global_.budget == 3.0 and li.local.budget == 3.0 and li.n_top == 10
