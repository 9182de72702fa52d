"""Many parameters: the views draw the top ones in full, rank the rest compactly, and the report says what it cut."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import hpviz
from hpviz import Categorical, Float, Int, SearchSpace
from hpviz.plot._importance import ranked_rest
from hpviz.testing import make_experiment


def wide(n_trials: int, d: int) -> hpviz.Experiment:
    """``d`` parameters of every kind; the objective depends on the first two only."""
    kinds = [lambda: Float(1e-5, 1e-1, log=True), lambda: Float(-1, 1), lambda: Int(1, 64),
             lambda: Categorical(["a", "b", "c"])]
    space = SearchSpace({f"block{i // 4}.param_{i}": kinds[i % 4]() for i in range(d)})
    first, second = list(space)[:2]
    return make_experiment(n_trials, space, lambda p: (math.log10(p[first]) + 3) ** 2 + p[second] ** 2,
                           name=f"{d} parameters")


@pytest.fixture(scope="module")
def wide_imp():
    exp = wide(80, 200)
    return exp, hpviz.importance(exp, pairs=False, n_trees=4)


def test_importance_view_ranks_every_parameter_and_lists_the_next_ones(wide_imp):
    exp, imp = wide_imp
    d = hpviz.plot.importance(imp, max_params=12)
    shares, nxt = ranked_rest(imp, 12)
    assert shares.size == 200 and np.all(np.diff(shares) <= 0)  # every parameter, ranked
    assert [r for r, _, _ in nxt] == list(range(13, 29))  # the ranks just below the drawn ones, by name
    assert nxt[0][1] == imp.individual.sort_values(ascending=False).index[12]
    assert d.strip_ is not None and len(d.strip_.containers[0]) == 200
    assert "All 200 parameters ranked" in d.strip_.get_title(loc="left")
    assert d.details_html_.count("<tr>") == 201  # header + every parameter in the HTML table
    assert len(d.bars_.patches) == 12 + 2  # 12 drawn in full, the summed rest, the unexplained share
    # few parameters: no strip, no table
    small = hpviz.plot.importance(hpviz.importance(make_experiment(40), n_trees=4))
    assert small.strip_ is None and small.details_html_ is None


def test_no_label_overlaps_in_the_many_parameter_views(wide_imp):
    exp, imp = wide_imp
    for d in (hpviz.plot.importance(imp), hpviz.plot.parallel(exp, importance=imp),
              hpviz.plot.tendrils(exp, importance=imp)):
        fig, checked = d.figure_, 0
        FigureCanvasAgg(fig).draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            labels = [t for t in ax.get_yticklabels() + ax.get_xticklabels() + ax.texts
                      if t.get_visible() and t.get_text() and not t.get_rotation()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            checked += len(boxes)
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    assert not a.overlaps(b) or a.width == 0 or b.width == 0, (type(d).__name__, ax.get_title())
        assert checked >= 12  # the parameter labels were there to check


def test_report_says_what_it_cut_and_carries_the_full_ranking(tmp_path):
    exp = wide(60, 200)
    out = hpviz.report(exp, tmp_path / "r.html", views=["importance", "parallel"], n_trees=4)
    text = out.read_text()
    assert "200 parameters: each view draws the 12 most important ones in full" in text
    assert "Pairwise interactions" in text  # screened, or not computed: said either way
    assert "All 200 parameters ranked by importance" in text and text.count("<tr><td>") >= 200
    assert "showing 12 of 200 parameters" in text or "<img" in text
